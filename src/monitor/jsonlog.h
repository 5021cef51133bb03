/* The json-file log as Docker writes it: one {"log","stream","time"} object per line, Go's
 * HTML-safe string escaping, 16 KiB line pieces, max-size/max-file rotation, optional gzip of
 * the rotated files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_LOG_LINE_MAX 16384 /* moby's copier buffer: longer lines are split into partial pieces */
/* Room mon_log_format needs for a message of len bytes. */
#define MON_LOG_FORMAT_SIZE(len) ((len) * 6 + 128)

/* Formats one line (with the trailing newline) into buf; returns its length. */
size_t mon_log_format(char *buf, const char *msg, size_t len, const char *stream, int64_t ns);

typedef struct MonLog {
        char *path;
        int fd;
        int64_t size, max_size; /* max_size <= 0: unbounded */
        int max_file;
        bool compress; /* rotated files become name.N.gz, as Docker's json-file with compress=true */
        char *buf; /* MON_LOG_FORMAT_SIZE(MON_LOG_LINE_MAX) */
} MonLog;

int mon_log_open(MonLog *l, const char *path, int64_t max_size, int max_file, bool compress);
/* Writes src gzip-compressed to dst (via a temporary file and rename), then removes src. */
int mon_log_compress_file(const char *src, const char *dst);
int mon_log_write(MonLog *l, const char *stream, const char *msg, size_t len, int64_t ns);
void mon_log_close(MonLog *l);

/* Splits a byte stream into log messages like moby's copier. */
typedef struct MonLineBuf {
        const char *stream;
        size_t len;
        char buf[MON_LOG_LINE_MAX];
} MonLineBuf;

typedef void (*MonEmitFn)(void *userdata, const char *stream, const char *msg, size_t len);
void mon_lines_feed(MonLineBuf *b, const char *data, size_t n, MonEmitFn emit, void *userdata);
void mon_lines_flush(MonLineBuf *b, MonEmitFn emit, void *userdata);
