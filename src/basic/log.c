#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_level = LOG_LVL_INFO;
static const char *log_prefix = "berth";

/* Atomic: berthd changes the level on SIGHUP while other threads log. */
void log_set_level(int level) { __atomic_store_n(&log_level, level, __ATOMIC_RELAXED); }
int log_get_level(void) { return __atomic_load_n(&log_level, __ATOMIC_RELAXED); }
void log_set_prefix(const char *prefix) { log_prefix = prefix; }

int log_level_from_string(const char *s)
{
        static const char *names[] = { "error", "warn", "info", "debug" };
        if (strcasecmp(s, "fatal") == 0 || strcasecmp(s, "panic") == 0)
                return LOG_LVL_ERROR;
        if (strcasecmp(s, "warning") == 0)
                return LOG_LVL_WARN;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

void log_msg(int level, const char *fmt, ...)
{
        static const char *tags[] = { "error", "warning", "info", "debug" };
        if (level > log_get_level())
                return;
        int saved = errno;
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        char line[4096];
        va_list ap;
        va_start(ap, fmt);
        errno = saved;
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s.%06ldZ %s[%d] %s: %s\n", when, ts.tv_nsec / 1000, log_prefix, (int) getpid(),
                tags[level], line);
        errno = saved;
}
