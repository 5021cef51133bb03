/* Registry client: one HTTP request over libcurl, response capture. See transport.h. */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "basic/version.h"

void reg_resp_clear(Resp *r)
{
        free(r->body);
        free(r->ctype);
        free(r->digest);
        free(r->location);
        free(r->www_auth);
        free(r->range);
        memset(r, 0, sizeof(*r));
        r->fd = -1;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *cls)
{
        Resp *r = cls;
        size_t n = sz * nm;
        if (r->fd >= 0 && r->status >= 200 && r->status < 300) {
                if (loop_write(r->fd, p, n) < 0) {
                        r->write_failed = true;
                        return 0;
                }
                if (r->sha)
                        sha256_update(r->sha, p, n);
                r->got += (int64_t) n;
                if (r->on_data)
                        r->on_data(r->cls, r->got);
                return n;
        }
        if (r->len + n > r->max) {
                r->too_big = true;
                return 0;
        }
        r->body = xrealloc(r->body, r->len + n + 1);
        memcpy(r->body + r->len, p, n);
        r->len += n;
        r->body[r->len] = 0;
        return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *cls)
{
        Resp *r = cls;
        size_t n = sz * nm;
        _cleanup_free_ char *line = xstrndup(p, n);
        char *c = strchr(line, ':');
        if (startswith(line, "HTTP/")) {
                /* a new response (redirect, 100): forget earlier headers */
                free(r->www_auth);
                r->www_auth = NULL;
                const char *sp = strchr(line, ' ');
                if (sp)
                        r->status = strtol(sp + 1, NULL, 10);
                return n;
        }
        if (!c)
                return n;
        *c = 0;
        char *v = c + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                v[--vl] = 0;
        char **dst = NULL;
        if (!strcasecmp(line, "content-type"))
                dst = &r->ctype;
        else if (!strcasecmp(line, "docker-content-digest"))
                dst = &r->digest;
        else if (!strcasecmp(line, "location"))
                dst = &r->location;
        else if (!strcasecmp(line, "www-authenticate"))
                dst = &r->www_auth;
        else if (!strcasecmp(line, "range"))
                dst = &r->range;
        else if (!strcasecmp(line, "content-length"))
                r->clen = strtoll(v, NULL, 10);
        if (dst) {
                free(*dst);
                *dst = xstrdup(v);
        }
        return n;
}

static size_t on_read(char *buf, size_t sz, size_t nm, void *cls)
{
        ReqBody *b = cls;
        size_t want = sz * nm;
        if (b->fd >= 0) {
                ssize_t n = read(b->fd, buf, want);
                if (n < 0)
                        return CURL_READFUNC_ABORT;
                b->sent += n;
                if (b->on_sent)
                        b->on_sent(b->cls, b->sent);
                return (size_t) n;
        }
        size_t left = b->len - (size_t) b->sent;
        size_t n = left < want ? left : want;
        memcpy(buf, b->mem + b->sent, n);
        b->sent += (int64_t) n;
        return n;
}

CURL *reg_easy_new(Resp *resp)
{
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "docker/20.10.24 berth/" BERTH_VERSION);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        return c;
}

int reg_send(Reg *g, Req *q, const char *url, Resp *r, BerthError **err)
{
        r->status = 0;
        r->len = 0;
        r->too_big = false;
        CURL *c = reg_easy_new(r);
        struct curl_slist *hl = NULL;
        for (size_t i = 0; q->headers && q->headers[i]; i++)
                hl = curl_slist_append(hl, q->headers[i]);
        _cleanup_free_ char *authz = NULL;
        if (g->token)
                authz = xasprintf("Authorization: Bearer %s", g->token);
        if (authz)
                hl = curl_slist_append(hl, authz);
        else if (g->basic && g->user) {
                curl_easy_setopt(c, CURLOPT_USERNAME, g->user);
                curl_easy_setopt(c, CURLOPT_PASSWORD, g->pass ?: "");
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (g->insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (q->head)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else if (q->body) {
                q->body->sent = 0;
                if (q->body->fd >= 0)
                        lseek(q->body->fd, 0, SEEK_SET);
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(c, CURLOPT_READDATA, q->body);
                curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                                 (curl_off_t) (q->body->fd >= 0 ? q->body->fsize : (int64_t) q->body->len));
                hl = curl_slist_append(hl, "Expect:");
        }
        if (q->method && !streq(q->method, "GET") && !streq(q->method, "HEAD"))
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
        else if (streq(q->method, "GET") && !q->body) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* blob storage may redirect */
                curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
                /* ... but never from https down to plain http */
                curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, startswith(url, "https://") ? "https" : "http,https");
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        curl_slist_free_all(hl);
        if (r->write_failed)
                return berr_set(err, EIO, "cannot write the download: %m");
        if (cc == CURLE_UNSUPPORTED_PROTOCOL && startswith(url, "https://"))
                return berr_set(err, EIO, "%s \"%s\": refusing a redirect from https to plain http", q->method, url);
        if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->too_big))
                return berr_set(err, EIO, "%s \"%s\": %s", q->method, url, curl_easy_strerror(cc));
        if (r->too_big)
                return berr_set(err, EINVAL, "%s \"%s\": response too large", q->method, url);
        return 0;
}

/* The registry's error text: "manifest unknown: manifest unknown" from {"errors":[{code,message,...}]}. */
char *reg_error_text(Resp *r)
{
        _cleanup_json_ json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        if (e0) {
                const char *code = json_str(e0, "code");
                const char *msg = json_str(e0, "message");
                _cleanup_free_ char *lc = code ? xstrdup(code) : NULL;
                for (char *p = lc; p && *p; p++)
                        *p = *p == '_' ? ' ' : (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                return xasprintf("%s: %s", lc ?: "error", msg ?: "");
        }
        return xasprintf("%ld", r->status);
}
