/* etcd v3 JSON gateway client; see etcd.h. */
#include "etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/base64.h"
#include "basic/util.h"

struct Etcd {
        char **endpoints;
        size_t n;
        int current; /* index of the last endpoint that answered */
};

Etcd *etcd_new(char **endpoints)
{
        Etcd *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->endpoints = strv_copy(endpoints);
        c->n = strv_length(c->endpoints);
        return c;
}

void etcd_free(Etcd *c)
{
        if (!c)
                return;
        strv_free(c->endpoints);
        free(c);
}

char *etcd_prefix_end_b64(const char *prefix)
{
        _cleanup_free_ char *end = xstrdup(prefix);
        size_t n = strlen(end);
        if (n == 0)
                return base64_encode("\0", 1);
        end[n - 1]++;
        return base64_encode(end, n);
}

typedef struct {
        char *buf;
        size_t len, cap;
        /* streaming */
        int (*on_msg)(void *arg, json_t *msg);
        bool (*should_abort)(void *arg);
        void *arg;
        bool ended_by_cb;
} Buf;

static bool buf_add(Buf *b, const char *p, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *nb = realloc(b->buf, cap);
                if (!nb)
                        return false;
                b->buf = nb;
                b->cap = cap;
        }
        memcpy(b->buf + b->len, p, n);
        b->len += n;
        b->buf[b->len] = 0;
        return true;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
        Buf *b = arg;
        if (b->len + sz * nm > 4 * 1024 * 1024 || !buf_add(b, p, sz * nm))
                return 0;
        return sz * nm;
}

/* The gateway streams one JSON object per message, separated by newlines. */
static size_t on_stream(char *p, size_t sz, size_t nm, void *arg)
{
        Buf *b = arg;
        if (!buf_add(b, p, sz * nm))
                return 0;
        for (;;) {
                char *nl = memchr(b->buf, '\n', b->len);
                if (!nl)
                        break;
                size_t l = (size_t) (nl - b->buf);
                json_t *m = l ? json_loadb(b->buf, l, 0, NULL) : NULL;
                memmove(b->buf, nl + 1, b->len - l - 1);
                b->len -= l + 1;
                b->buf[b->len] = 0;
                if (m) {
                        int r = b->on_msg(b->arg, m);
                        json_decref(m);
                        if (r < 0) {
                                b->ended_by_cb = true;
                                return 0;
                        }
                }
        }
        if (b->len > 4 * 1024 * 1024)
                return 0;
        return sz * nm;
}

static int on_progress(void *arg, curl_off_t a _unused_, curl_off_t b_ _unused_, curl_off_t c _unused_,
                       curl_off_t d _unused_)
{
        Buf *b = arg;
        return b->should_abort && b->should_abort(b->arg) ? 1 : 0;
}

static CURL *easy(Etcd *c, int idx, const char *path, const char *body, struct curl_slist *hdrs)
{
        CURL *h = curl_easy_init();
        if (!h)
                return NULL;
        _cleanup_free_ char *url = xasprintf("http://%s%s", c->endpoints[idx], path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
        return h;
}

int etcd_call(Etcd *c, const char *path, json_t *req, json_t **ret, long timeout_ms)
{
        if (!c->n)
                return -EIO;
        _cleanup_free_ char *body = json_dumps(req, JSON_COMPACT);
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        int start = __atomic_load_n(&c->current, __ATOMIC_RELAXED);
        int r = -EIO;
        for (size_t i = 0; i < c->n; i++) {
                int idx = (int) ((start + (int) i) % (int) c->n);
                Buf b = { 0 };
                CURL *h = easy(c, idx, path, body, hdrs);
                if (!h)
                        break;
                curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
                CURLcode cr = curl_easy_perform(h);
                long status = 0;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_cleanup(h);
                if (cr != CURLE_OK) {
                        free(b.buf);
                        continue; /* next endpoint */
                }
                __atomic_store_n(&c->current, idx, __ATOMIC_RELAXED);
                json_t *j = b.buf ? json_loads(b.buf, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
                free(b.buf);
                if (status != 200 || !json_is_object(j)) {
                        json_decref(j);
                        r = -EPROTO;
                        break;
                }
                *ret = j;
                r = 0;
                break;
        }
        curl_slist_free_all(hdrs);
        return r;
}

int etcd_watch(Etcd *c, json_t *req, int (*on_msg)(void *arg, json_t *msg), bool (*should_abort)(void *arg),
               void *arg)
{
        if (!c->n)
                return -EIO;
        _cleanup_free_ char *body = json_dumps(req, JSON_COMPACT);
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        int r = -EIO;
        int start = __atomic_load_n(&c->current, __ATOMIC_RELAXED);
        for (size_t i = 0; i < c->n; i++) {
                int idx = (int) ((start + (int) i) % (int) c->n);
                Buf b = { .on_msg = on_msg, .should_abort = should_abort, .arg = arg };
                CURL *h = easy(c, idx, "/v3/watch", body, hdrs);
                if (!h)
                        break;
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, &b);
                CURLcode cr = curl_easy_perform(h);
                long status = 0;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_cleanup(h);
                free(b.buf);
                if (b.ended_by_cb) {
                        r = 0;
                        break;
                }
                if (status == 200 || cr == CURLE_ABORTED_BY_CALLBACK)
                        break; /* it was connected: the caller starts over (a new range) */
        }
        curl_slist_free_all(hdrs);
        return r;
}
