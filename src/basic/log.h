/* Logging for entry points (daemon main, API dispatcher, monitor main).
 * Libraries return errors instead of logging. */
#pragma once

#include "macro.h"

enum { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(int level);
int log_get_level(void);
int log_level_from_string(const char *s);
void log_set_prefix(const char *prefix);
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
