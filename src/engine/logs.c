/* logs: reads the json-file log the monitor writes (with rotated files) and
 * hands each entry to the caller, optionally following new output. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"

typedef struct {
        int stream;
        int64_t t;
        char *data;
        size_t len;
} LogEntry;

typedef struct {
        LogEntry *v;
        size_t n, cap;
} LogList;

static int parse_entry(const char *line, size_t len, LogEntry *ret)
{
        _cleanup_json_ json_t *j = json_loadb(line, len, 0, NULL);
        if (!json_is_object(j))
                return -EINVAL;
        json_t *l = json_object_get(j, "log");
        const char *stream = json_str(j, "stream");
        const char *t = json_str(j, "time");
        if (!json_is_string(l) || !stream)
                return -EINVAL;
        ret->stream = streq(stream, "stderr") ? 2 : 1;
        ret->t = 0;
        if (t)
                parse_rfc3339(t, &ret->t);
        ret->len = json_string_length(l);
        ret->data = malloc(ret->len + 1);
        if (!ret->data)
                return -ENOMEM;
        memcpy(ret->data, json_string_value(l), ret->len);
        ret->data[ret->len] = 0;
        return 0;
}

static bool wanted(const LogOptions *o, const LogEntry *en)
{
        if (en->stream == 1 && !o->stdout_)
                return false;
        if (en->stream == 2 && !o->stderr_)
                return false;
        if (o->since_ns && en->t < o->since_ns)
                return false;
        if (o->until_ns && en->t > o->until_ns)
                return false;
        return true;
}

static int emit(const LogOptions *o, LogEntry *en, LogWriteFn fn, void *arg)
{
        if (!o->timestamps)
                return fn(arg, en->stream, en->data, en->len);
        _cleanup_free_ char *ts = format_rfc3339(en->t, false);
        _cleanup_free_ char *s = NULL;
        size_t tl = strlen(ts);
        s = malloc(tl + 1 + en->len);
        if (!s)
                return -ENOMEM;
        memcpy(s, ts, tl);
        s[tl] = ' ';
        memcpy(s + tl + 1, en->data, en->len);
        return fn(arg, en->stream, s, tl + 1 + en->len);
}

/* Splits complete lines out of buf; the incomplete rest stays. */
static void take_lines(char **buf, size_t *blen, const LogOptions *o, LogList *out)
{
        size_t start = 0;
        for (size_t i = 0; i < *blen; i++) {
                if ((*buf)[i] != '\n')
                        continue;
                LogEntry en;
                if (i > start && parse_entry(*buf + start, i - start, &en) == 0) {
                        if (wanted(o, &en)) {
                                if (out->n == out->cap) {
                                        out->cap = out->cap ? out->cap * 2 : 64;
                                        out->v = realloc(out->v, out->cap * sizeof(*out->v));
                                }
                                out->v[out->n++] = en;
                        } else
                                free(en.data);
                }
                start = i + 1;
        }
        memmove(*buf, *buf + start, *blen - start);
        *blen -= start;
}

static int read_more(int fd, char **buf, size_t *blen, size_t *bcap)
{
        int total = 0;
        for (;;) {
                if (*bcap - *blen < 65536) {
                        *bcap = *bcap * 2 + 65536;
                        *buf = realloc(*buf, *bcap);
                }
                ssize_t n = read(fd, *buf + *blen, *bcap - *blen);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return total;
                *blen += (size_t) n;
                total += (int) n;
        }
}

/* A rotated file that the monitor compressed (name.N.gz), whole into buf. */
static void read_gz(const char *path, char **buf, size_t *blen, size_t *bcap)
{
        gzFile gz = gzopen(path, "rb");
        if (!gz)
                return;
        for (;;) {
                if (*bcap - *blen < 65536) {
                        *bcap = *bcap * 2 + 65536;
                        *buf = xrealloc(*buf, *bcap);
                }
                int n = gzread(gz, *buf + *blen, (unsigned) (*bcap - *blen));
                if (n <= 0)
                        break;
                *blen += (size_t) n;
        }
        gzclose(gz);
}

static void free_list(LogList *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].data);
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

static int flush_list(const LogOptions *o, LogList *l, size_t from, LogWriteFn fn, void *arg)
{
        int r = 0;
        for (size_t i = from; i < l->n && r >= 0; i++)
                r = emit(o, &l->v[i], fn, arg);
        free_list(l);
        return r;
}

int container_logs_readable(Container *c, BerthError **err)
{
        const char *type = json_str(json_object_get(container_hostcfg(c), "LogConfig"), "Type");
        if (type && streq(type, "none"))
                return berr_set(err, ENOTSUP, "configured logging driver does not support reading");
        return 0;
}

int container_logs(Engine *e, Container *c, const LogOptions *o, LogWriteFn fn, void *arg, bool (*gone)(void *),
                   void *gone_arg)
{
        _cleanup_free_ char *path = container_log_path(e, c->id);
        LogList list = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t blen = 0, bcap = 0;
        int r = 0;
        /* Rotated files first, oldest (highest number) to newest; compressed ones end in .gz, and
         * name.1 may be plain for the moment the monitor compresses it. */
        for (int i = 32; i >= 1; i--) {
                _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
                _cleanup_free_ char *pgz = xasprintf("%s.gz", p);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        read_more(fd, &buf, &blen, &bcap);
                else if (access(pgz, F_OK) == 0)
                        read_gz(pgz, &buf, &blen, &bcap);
                else
                        continue;
                if (blen && buf[blen - 1] != '\n') {
                        if (blen == bcap)
                                buf = realloc(buf, ++bcap);
                        buf[blen++] = '\n';
                }
                take_lines(&buf, &blen, o, &list);
                blen = 0;
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                read_more(fd, &buf, &blen, &bcap);
                take_lines(&buf, &blen, o, &list);
        }
        if (o->tail == 0)
                free_list(&list);
        size_t from = o->tail > 0 && (size_t) o->tail < list.n ? list.n - (size_t) o->tail : 0;
        r = flush_list(o, &list, from, fn, arg);
        if (r < 0 || !o->follow)
                return r;

        struct stat st0 = { 0 };
        if (fd >= 0)
                fstat(fd, &st0);
        for (;;) {
                pthread_mutex_lock(&e->lock);
                bool live = !c->removed && (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED ||
                                            c->status == CSTATUS_RESTARTING || c->starting);
                pthread_mutex_unlock(&e->lock);
                if (fd < 0)
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                int got = 0;
                if (fd >= 0) {
                        got = read_more(fd, &buf, &blen, &bcap);
                        take_lines(&buf, &blen, o, &list);
                        r = flush_list(o, &list, 0, fn, arg);
                        if (r < 0)
                                return r;
                        struct stat st;
                        if (stat(path, &st) == 0 && fstat(fd, &st0) == 0 && st.st_ino != st0.st_ino) {
                                /* Rotated: finish the old file, continue with the new one. */
                                read_more(fd, &buf, &blen, &bcap);
                                take_lines(&buf, &blen, o, &list);
                                r = flush_list(o, &list, 0, fn, arg);
                                if (r < 0)
                                        return r;
                                close(fd);
                                fd = open(path, O_RDONLY | O_CLOEXEC);
                                blen = 0;
                                continue;
                        }
                }
                if (!live && got == 0)
                        return 0;
                if (o->until_ns && now_ns() > o->until_ns)
                        return 0;
                if (gone && gone(gone_arg))
                        return -EPIPE;
                nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000000L }, NULL);
        }
}
