#include "jsonlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "basic/macro.h"

/* Length of a valid UTF-8 sequence at s (Go's rules: no overlongs, no surrogates, <= U+10FFFF),
 * 0 if invalid; *cp gets the code point. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
        unsigned char c = s[0];
        size_t need;
        uint32_t v, min;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
                v = c & 0x1f;
                min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                v = c & 0x0f;
                min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                v = c & 0x07;
                min = 0x10000;
        } else
                return 0;
        if (n < need)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                v = (v << 6) | (s[i] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return 0;
        *cp = v;
        return need;
}

static size_t escape(char *o, const char *msg, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = (const unsigned char *) msg;
        size_t k = 0;
        for (size_t i = 0; i < len;) {
                unsigned char b = s[i];
                if (b < 0x80) {
                        if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&')
                                o[k++] = (char) b;
                        else if (b == '\\' || b == '"') {
                                o[k++] = '\\';
                                o[k++] = (char) b;
                        } else if (b == '\n') {
                                o[k++] = '\\';
                                o[k++] = 'n';
                        } else if (b == '\r') {
                                o[k++] = '\\';
                                o[k++] = 'r';
                        } else {
                                memcpy(o + k, "\\u00", 4);
                                k += 4;
                                o[k++] = hex[b >> 4];
                                o[k++] = hex[b & 0xf];
                        }
                        i++;
                        continue;
                }
                uint32_t cp;
                size_t n = utf8_decode(s + i, len - i, &cp);
                if (n == 0) {
                        memcpy(o + k, "\\ufffd", 6);
                        k += 6;
                        i++;
                        continue;
                }
                if (cp == 0x2028 || cp == 0x2029) {
                        memcpy(o + k, "\\u202", 5);
                        k += 5;
                        o[k++] = hex[cp & 0xf];
                } else {
                        memcpy(o + k, s + i, n);
                        k += n;
                }
                i += n;
        }
        return k;
}

/* Go's RFC3339Nano: UTC, fraction with trailing zeros trimmed. */
static size_t format_time(char *o, int64_t ns)
{
        time_t sec = (time_t) (ns / 1000000000LL);
        long frac = (long) (ns % 1000000000LL);
        struct tm tm;
        gmtime_r(&sec, &tm);
        size_t k = strftime(o, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        if (frac > 0) {
                char f[16];
                snprintf(f, sizeof(f), ".%09ld", frac);
                size_t l = strlen(f);
                while (f[l - 1] == '0')
                        f[--l] = 0;
                memcpy(o + k, f, l);
                k += l;
        }
        o[k++] = 'Z';
        return k;
}

size_t mon_log_format(char *buf, const char *msg, size_t len, const char *stream, int64_t ns)
{
        size_t k = 0;
        memcpy(buf, "{\"log\":\"", 8);
        k += 8;
        k += escape(buf + k, msg, len);
        k += (size_t) sprintf(buf + k, "\",\"stream\":\"%s\",\"time\":\"", stream);
        k += format_time(buf + k, ns);
        memcpy(buf + k, "\"}\n", 3);
        return k + 3;
}

static int log_reopen(MonLog *l, bool truncate)
{
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0640);
        if (l->fd < 0)
                return -errno;
        struct stat st;
        l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
        return 0;
}

int mon_log_open(MonLog *l, const char *path, int64_t max_size, int max_file, bool compress)
{
        *l = (MonLog){ .fd = -1, .max_size = max_size, .max_file = max_file < 1 ? 1 : max_file, .compress = compress };
        l->path = strdup(path);
        l->buf = malloc(MON_LOG_FORMAT_SIZE(MON_LOG_LINE_MAX));
        if (!l->path || !l->buf)
                return -ENOMEM;
        return log_reopen(l, false);
}

int mon_log_compress_file(const char *src, const char *dst)
{
        int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        char tmp[PATH_MAX + 16];
        snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
        int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (out < 0) {
                int r = -errno;
                close(in);
                return r;
        }
        /* gzdopen takes out; the fastest level: the monitor compresses between two writes */
        gzFile gz = gzdopen(out, "wb1");
        if (!gz) {
                close(out);
                close(in);
                unlink(tmp);
                return -ENOMEM;
        }
        char buf[65536];
        int r = 0;
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                if (n <= 0)
                        break;
                if (gzwrite(gz, buf, (unsigned) n) != (int) n) {
                        r = -EIO;
                        break;
                }
        }
        close(in);
        if (gzclose(gz) != Z_OK && r == 0)
                r = -EIO;
        if (r == 0 && rename(tmp, dst) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        unlink(src);
        return 0;
}

/* moby's rotate: name.N-2 -> name.N-1, ..., name -> name.1; with one file, truncate. With
 * compress the rotated files carry .gz, and name.1 is compressed right away. */
static int log_rotate(MonLog *l)
{
        l->fd = safe_close(l->fd);
        if (l->max_file > 1) {
                const char *ext = l->compress ? ".gz" : "";
                char from[PATH_MAX + 16], to[PATH_MAX + 16];
                size_t pl = sizeof(from);
                for (int i = l->max_file - 1; i > 1; i--) {
                        snprintf(from, pl, "%s.%d%s", l->path, i - 1, ext);
                        snprintf(to, pl, "%s.%d%s", l->path, i, ext);
                        if (rename(from, to) < 0 && errno != ENOENT)
                                return -errno;
                }
                snprintf(to, pl, "%s.1", l->path);
                if (rename(l->path, to) < 0 && errno != ENOENT)
                        return -errno;
                if (l->compress) {
                        snprintf(from, pl, "%s.1.gz", l->path);
                        /* on failure the plain name.1 stays, which readers also take */
                        (void) mon_log_compress_file(to, from);
                }
        }
        return log_reopen(l, true);
}

int mon_log_write(MonLog *l, const char *stream, const char *msg, size_t len, int64_t ns)
{
        if (!l->path)
                return 0;
        if (len > MON_LOG_LINE_MAX)
                len = MON_LOG_LINE_MAX;
        if (l->max_size > 0 && l->size >= l->max_size) {
                int r = log_rotate(l);
                if (r < 0)
                        return r;
        }
        if (l->fd < 0)
                return -EBADF;
        size_t n = mon_log_format(l->buf, msg, len, stream, ns);
        const char *p = l->buf;
        while (n > 0) {
                ssize_t w = write(l->fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
                l->size += w;
        }
        return 0;
}

void mon_log_close(MonLog *l)
{
        l->fd = safe_close(l->fd);
        free(l->path);
        free(l->buf);
        l->path = l->buf = NULL;
}

void mon_lines_feed(MonLineBuf *b, const char *data, size_t n, MonEmitFn emit, void *userdata)
{
        while (n > 0) {
                size_t take = sizeof(b->buf) - b->len;
                if (take > n)
                        take = n;
                memcpy(b->buf + b->len, data, take);
                b->len += take;
                data += take;
                n -= take;
                size_t start = 0;
                for (;;) {
                        char *nl = memchr(b->buf + start, '\n', b->len - start);
                        if (!nl)
                                break;
                        size_t end = (size_t) (nl - b->buf) + 1;
                        emit(userdata, b->stream, b->buf + start, end - start);
                        start = end;
                }
                if (start == 0 && b->len == sizeof(b->buf)) {
                        /* a full buffer without a newline: a partial message */
                        emit(userdata, b->stream, b->buf, b->len);
                        start = b->len;
                }
                memmove(b->buf, b->buf + start, b->len - start);
                b->len -= start;
        }
}

void mon_lines_flush(MonLineBuf *b, MonEmitFn emit, void *userdata)
{
        if (b->len > 0)
                emit(userdata, b->stream, b->buf, b->len);
        b->len = 0;
}
