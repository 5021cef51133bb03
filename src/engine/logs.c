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
        ret->data = xmalloc(ret->len + 1);
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
        s = xmalloc(tl + 1 + en->len);
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
                                        out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
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
                        *buf = xrealloc(*buf, *bcap);
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

/* Where the history's entries go: straight to the client (tail = all), or into a ring of the last
 * `tail` ones, so a log of any size costs memory for at most that many entries, never the whole log. */
typedef struct {
        const LogOptions *o;
        LogWriteFn fn;
        void *arg;
        LogEntry *ring;
        size_t cap, n, head; /* ring: capacity (grown up to tail), count, oldest */
        int r;               /* the first error of fn */
} LogSink;

static void sink_put(LogSink *k, LogEntry *en)
{
        if (!wanted(k->o, en) || k->r < 0) {
                free(en->data);
                return;
        }
        if (k->o->tail < 0) {
                k->r = emit(k->o, en, k->fn, k->arg);
                free(en->data);
                return;
        }
        size_t tail = (size_t) k->o->tail;
        if (k->n < tail && k->n == k->cap) {
                /* grow (entries in order: head is 0 until the ring is full) */
                k->cap = k->cap ? k->cap * 2 : 64;
                if (k->cap > tail)
                        k->cap = tail;
                k->ring = xrealloc(k->ring, k->cap * sizeof(*k->ring));
        }
        if (k->n < tail) {
                k->ring[k->n++] = *en;
                return;
        }
        free(k->ring[k->head].data); /* full: the oldest goes */
        k->ring[k->head] = *en;
        k->head = (k->head + 1) % k->n;
}

static int sink_finish(LogSink *k)
{
        for (size_t i = 0; i < k->n; i++) {
                LogEntry *en = &k->ring[(k->head + i) % k->n];
                if (k->r >= 0)
                        k->r = emit(k->o, en, k->fn, k->arg);
                free(en->data);
        }
        free(k->ring);
        k->ring = NULL;
        k->n = k->cap = k->head = 0;
        return k->r;
}

/* Complete lines of buf into the sink; the incomplete rest stays in buf. */
static void sink_lines(LogSink *k, char *buf, size_t *blen)
{
        size_t start = 0;
        for (size_t i = 0; i < *blen; i++) {
                if (buf[i] != '\n')
                        continue;
                LogEntry en;
                if (i > start && parse_entry(buf + start, i - start, &en) == 0)
                        sink_put(k, &en);
                start = i + 1;
        }
        memmove(buf, buf + start, *blen - start);
        *blen -= start;
}

/* One file of the history (plain, or gzip when gz), read in pieces. A last line without its newline
 * (a rotated file cut short) still counts. */
static void sink_file(LogSink *k, int fd, gzFile gz)
{
        enum { CHUNK = 256 * 1024 };
        _cleanup_free_ char *buf = xmalloc(CHUNK + 1);
        size_t blen = 0;
        for (;;) {
                if (blen == CHUNK) /* one line longer than a chunk: not a json-file line, dropped */
                        blen = 0;
                ssize_t n = gz ? gzread(gz, buf + blen, (unsigned) (CHUNK - blen)) : read(fd, buf + blen, CHUNK - blen);
                if (n < 0 && !gz && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                blen += (size_t) n;
                sink_lines(k, buf, &blen);
                if (k->r < 0)
                        return;
        }
        if (blen > 0) {
                buf[blen++] = '\n';
                sink_lines(k, buf, &blen);
        }
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
        _cleanup_close_ int fd = -1;
        if (o->tail == 0) {
                /* no history: only what comes next */
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        (void) lseek(fd, 0, SEEK_END);
        } else {
                LogSink k = { .o = o, .fn = fn, .arg = arg };
                /* Rotated files first, oldest (highest number) to newest; compressed ones end in .gz,
                 * and name.1 may be plain for the moment the monitor compresses it. */
                for (int i = 32; i >= 1 && k.r >= 0; i--) {
                        _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
                        _cleanup_free_ char *pgz = xasprintf("%s.gz", p);
                        _cleanup_close_ int rfd = open(p, O_RDONLY | O_CLOEXEC);
                        if (rfd >= 0) {
                                sink_file(&k, rfd, NULL);
                        } else {
                                gzFile gz = gzopen(pgz, "rb");
                                if (gz) {
                                        sink_file(&k, -1, gz);
                                        gzclose(gz);
                                }
                        }
                }
                /* the current file: whole lines only, the rest is followed below */
                fd = open(path, O_RDONLY | O_CLOEXEC);
                while (fd >= 0 && k.r >= 0) {
                        if (bcap - blen < 65536) {
                                bcap = bcap * 2 + 65536;
                                buf = xrealloc(buf, bcap);
                        }
                        ssize_t n = read(fd, buf + blen, 65536);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        blen += (size_t) n;
                        sink_lines(&k, buf, &blen);
                }
                r = sink_finish(&k);
        }
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
