/* libcurl for plain requests, raw sockets for hijack and for the wait of run. */
#include "cli/client.h"

#include <curl/curl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/format.h"

void response_clear(Response *r)
{
        free(r->body);
        r->body = NULL;
        r->len = 0;
}

static void print_conn_error(Client *c)
{
        fprintf(stderr, "Cannot connect to the berth daemon at %s. Is berthd running?\n", c->host);
}

int client_new(const char *host, bool debug, Client **ret)
{
        Client *c = xcalloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->debug = debug;
        c->host = xstrdup(host);
        if (startswith(host, "unix://")) {
                c->sock_path = xstrdup(host + strlen("unix://"));
                c->base_url = xstrdup("http://api.moby.localhost");
        } else if (startswith(host, "tcp://") || startswith(host, "http://")) {
                const char *hp = strstr(host, "://") + 3;
                char *h = xstrndup(hp, strcspn(hp, "/"));
                char *colon = strrchr(h, ':');
                c->tcp_port = 2375;
                if (colon && !strchr(colon, ']')) {
                        c->tcp_port = atoi(colon + 1);
                        *colon = 0;
                }
                c->tcp_host = h;
                c->base_url = xasprintf("http://%s:%d", h, c->tcp_port);
        } else if (host[0] == '/') {
                c->sock_path = xstrdup(host);
                c->base_url = xstrdup("http://api.moby.localhost");
        } else {
                fprintf(stderr, "invalid host: %s (want unix:///path or tcp://host:port)\n", host);
                client_free(c);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

void client_free(Client *c)
{
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        free(c->host);
        free(c->sock_path);
        free(c->tcp_host);
        free(c->base_url);
        free(c->registry_auth);
        free(c);
}

char *client_escape(const char *s)
{
        return url_escape(s);
}

typedef struct Buf {
        char *data;
        size_t len;
} Buf;

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
        Buf *b = ud;
        size_t n = size * nmemb;
        char *d = xrealloc(b->data, b->len + n + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, ptr, n);
        b->data = d;
        b->len += n;
        d[b->len] = 0;
        return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
        char *ver = ud;
        size_t n = size * nmemb;
        if (n > 12 && strncasecmp(ptr, "Api-Version:", 12) == 0) {
                const char *v = ptr + 12;
                while (*v == ' ')
                        v++;
                size_t l = strcspn(v, "\r\n");
                if (l < 16) {
                        memcpy(ver, v, l);
                        ver[l] = 0;
                }
        }
        return n;
}

static CURL *get_curl(Client *c)
{
        if (!c->curl) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                c->curl = curl_easy_init();
        }
        CURL *h = c->curl;
        curl_easy_reset(h);
        if (c->sock_path)
                curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "berth-client/" "0.1.0" " (linux)");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        return h;
}

static int version_cmp(const char *a, const char *b)
{
        int am = 0, an = 0, bm = 0, bn = 0;
        sscanf(a, "%d.%d", &am, &an);
        sscanf(b, "%d.%d", &bm, &bn);
        if (am != bm)
                return am < bm ? -1 : 1;
        return an < bn ? -1 : an > bn;
}

static int ping(Client *c, bool head, long *status, char *ver)
{
        CURL *h = get_curl(c);
        _cleanup_free_ char *url = xasprintf("%s/_ping", c->base_url);
        Buf b = { 0 };
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (head)
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, ver);
        CURLcode cr = curl_easy_perform(h);
        if (cr != CURLE_OK && cr != CURLE_COULDNT_CONNECT) {
                /* a connection the daemon dropped before answering: once more */
                free(b.data);
                b = (Buf){ 0 };
                cr = curl_easy_perform(h);
        }
        free(b.data);
        if (cr == CURLE_COULDNT_CONNECT)
                return -ECONNREFUSED;
        if (cr != CURLE_OK) {
                fprintf(stderr, "error during connect: %s \"%s\": %s\n", head ? "Head" : "Get", url,
                        curl_easy_strerror(cr));
                return -EIO;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        return 0;
}

int client_negotiate(Client *c)
{
        if (c->negotiated)
                return 0;
        char ver[16] = "";
        long st = 0;
        int r = ping(c, true, &st, ver);
        if (r >= 0 && st != 200 && st != 500) {
                ver[0] = 0;
                r = ping(c, false, &st, ver);
        }
        if (r < 0) {
                if (r == -ECONNREFUSED)
                        print_conn_error(c);
                return r;
        }
        if (!ver[0])
                strcpy(ver, "1.24");
        snprintf(c->server_version, sizeof(c->server_version), "%s", ver);
        snprintf(c->version, sizeof(c->version), "%s", version_cmp(ver, CLIENT_MAX_API) < 0 ? ver : CLIENT_MAX_API);
        c->negotiated = true;
        return 0;
}

char *client_path(Client *c, const char *path)
{
        if (client_negotiate(c) < 0)
                return NULL;
        return xasprintf("/v%s%s", c->version, path);
}

static int perform(Client *c, const char *method, const char *path, struct curl_slist *hdrs, CURL *h, long *status)
{
        _cleanup_free_ char *vpath = client_path(c, path);
        if (!vpath)
                return -ECONNREFUSED;
        _cleanup_free_ char *url = xasprintf("%s%s", c->base_url, vpath);
        if (c->debug)
                fprintf(stderr, "DEBU[0000] %s %s\n", method, vpath);
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (streq(method, "HEAD"))
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        else if (!streq(method, "GET"))
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (c->registry_auth) { /* hdrs is never NULL here: the append keeps the caller's head */
                _cleanup_free_ char *ra = xasprintf("X-Registry-Auth: %s", c->registry_auth);
                curl_slist_append(hdrs, ra);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cr = curl_easy_perform(h);
        if (cr == CURLE_ABORTED_BY_CALLBACK || cr == CURLE_WRITE_ERROR) {
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
                return -ECANCELED;
        }
        if (cr != CURLE_OK) {
                if (cr == CURLE_COULDNT_CONNECT)
                        print_conn_error(c);
                else
                        fprintf(stderr, "error during connect: %s %s: %s\n", method, vpath, curl_easy_strerror(cr));
                return -EIO;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        return 0;
}

int client_request(Client *c, const char *method, const char *path, const char *ctype, const void *body,
                   size_t len, Response *ret)
{
        if (client_negotiate(c) < 0)
                return -ECONNREFUSED;
        CURL *h = get_curl(c);
        Buf b = { 0 };
        struct curl_slist *hdrs = NULL;
        hdrs = curl_slist_append(hdrs, "Expect:");
        if (body) {
                _cleanup_free_ char *ct = xasprintf("Content-Type: %s", ctype ?: "application/json");
                hdrs = curl_slist_append(hdrs, ct);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        } else if (streq(method, "POST") || streq(method, "PUT")) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
                hdrs = curl_slist_append(hdrs, "Content-Type:");
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        long status = 0;
        int r = perform(c, method, path, hdrs, h, &status);
        curl_slist_free_all(hdrs);
        if (r < 0) {
                free(b.data);
                return r;
        }
        if (!b.data)
                b.data = xstrdup("");
        if (ret) {
                ret->status = status;
                ret->body = b.data;
                ret->len = b.len;
        } else
                free(b.data);
        return (int) status;
}

int client_json(Client *c, const char *method, const char *path, json_t *body, json_t **ret_json,
                Response *ret)
{
        _cleanup_free_ char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
        Response resp = { 0 };
        int r = client_request(c, method, path, NULL, s, s ? strlen(s) : 0, &resp);
        if (r < 0)
                return r;
        if (ret_json) {
                *ret_json = NULL;
                if (r < 300 && resp.len > 0)
                        *ret_json = json_loadb(resp.body, resp.len, 0, NULL);
        }
        if (ret)
                *ret = resp;
        else
                response_clear(&resp);
        return r;
}

typedef struct StreamCtx {
        CURL *h;
        ClientDataCb cb;
        void *userdata;
        Buf err;
        bool checked;
        bool failed;
} StreamCtx;

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
        StreamCtx *s = ud;
        size_t n = size * nmemb;
        if (!s->checked) {
                long st = 0;
                curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &st);
                s->failed = st >= 400;
                s->checked = true;
        }
        if (s->failed)
                return buf_write(ptr, size, nmemb, &s->err);
        if (s->cb && s->cb(ptr, n, s->userdata) < 0)
                return 0;
        return n;
}

static size_t read_fd(char *ptr, size_t size, size_t nmemb, void *ud)
{
        int fd = *(int *) ud;
        ssize_t n;
        do
                n = read(fd, ptr, size * nmemb);
        while (n < 0 && errno == EINTR);
        return n < 0 ? CURL_READFUNC_ABORT : (size_t) n;
}

int client_stream(Client *c, const char *method, const char *path, const char *ctype, int upload_fd,
                  ClientDataCb cb, void *userdata, char **ret_err_body)
{
        if (client_negotiate(c) < 0)
                return -ECONNREFUSED;
        CURL *h = get_curl(c);
        StreamCtx s = { .h = h, .cb = cb, .userdata = userdata };
        struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
        if (upload_fd >= 0) {
                _cleanup_free_ char *ct = xasprintf("Content-Type: %s", ctype ?: "application/x-tar");
                hdrs = curl_slist_append(hdrs, ct);
                hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, read_fd);
                curl_easy_setopt(h, CURLOPT_READDATA, &upload_fd);
        } else if (streq(method, "POST")) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
                hdrs = curl_slist_append(hdrs, "Content-Type:");
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        long status = 0;
        int r = perform(c, method, path, hdrs, h, &status);
        curl_slist_free_all(hdrs);
        if (r < 0 && r != -ECANCELED) {
                free(s.err.data);
                return r;
        }
        if (status >= 400) {
                if (ret_err_body)
                        *ret_err_body = s.err.data ?: xstrdup("");
                else
                        free(s.err.data);
        } else
                free(s.err.data);
        return r == -ECANCELED && status < 400 ? r : (int) status;
}

char *client_error_message(const char *body)
{
        if (!body)
                return xstrdup("");
        _cleanup_json_ json_t *j = json_loads(body, 0, NULL);
        const char *m = j ? json_str(j, "message") : NULL;
        if (m)
                return xstrdup(m);
        size_t l = strlen(body);
        while (l > 0 && (body[l - 1] == '\n' || body[l - 1] == '\r'))
                l--;
        return xstrndup(body, l);
}

void client_print_error(const char *body)
{
        _cleanup_free_ char *m = client_error_message(body);
        fprintf(stderr, "Error response from daemon: %s\n", m);
}

/* ---- raw sockets ---- */

int client_raw_connect(Client *c)
{
        int fd = -1;
        if (c->sock_path) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                if (strlen(c->sock_path) >= sizeof(sa.sun_path))
                        return -ENAMETOOLONG;
                strcpy(sa.sun_path, c->sock_path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        int e = -errno;
                        close(fd);
                        print_conn_error(c);
                        return e;
                }
                return fd;
        }
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
        char port[16];
        snprintf(port, sizeof(port), "%d", c->tcp_port);
        if (getaddrinfo(c->tcp_host, port, &hints, &res) != 0) {
                print_conn_error(c);
                return -EHOSTUNREACH;
        }
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0)
                        continue;
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                        break;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        if (fd < 0) {
                print_conn_error(c);
                return -ECONNREFUSED;
        }
        return fd;
}

int client_raw_send(Client *c, int fd, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, bool upgrade)
{
        _cleanup_free_ char *vpath = client_path(c, path);
        if (!vpath)
                return -ECONNREFUSED;
        if (c->debug)
                fprintf(stderr, "DEBU[0000] %s %s\n", method, vpath);
        _cleanup_free_ char *ct = ctype ? xasprintf("Content-Type: %s\r\n", ctype) : xstrdup("");
        _cleanup_free_ char *req = xasprintf("%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
                                             "User-Agent: berth-client/0.1.0 (linux)\r\n%s"
                                             "Content-Length: %zu\r\n%s\r\n",
                                             method, vpath, ct, len,
                                             upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "");
        int r = loop_write(fd, req, strlen(req));
        if (r >= 0 && len > 0)
                r = loop_write(fd, body, len);
        return r;
}

void raw_response_clear(RawResponse *r)
{
        free(r->head);
        free(r->buf);
        r->head = r->buf = NULL;
        r->buf_len = 0;
}

int client_raw_read_head(int fd, RawResponse *ret)
{
        size_t cap = 4096, len = 0;
        char *b = xmalloc(cap + 1);
        if (!b)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        char *nb = xrealloc(b, 2 * cap + 1);
                        if (!nb) {
                                free(b);
                                return -ENOMEM;
                        }
                        b = nb;
                        cap *= 2;
                }
                ssize_t n = read(fd, b + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(b);
                        return n < 0 ? -errno : -EPIPE;
                }
                len += (size_t) n;
                b[len] = 0;
                char *end = strstr(b, "\r\n\r\n");
                if (!end)
                        continue;
                size_t hl = (size_t) (end - b) + 4;
                *ret = (RawResponse){ .fd = fd, .content_length = -1 };
                ret->head = xstrndup(b, hl);
                ret->buf_len = len - hl;
                ret->buf = xmalloc(ret->buf_len + 1);
                memcpy(ret->buf, b + hl, ret->buf_len);
                free(b);
                if (sscanf(ret->head, "HTTP/%*s %ld", &ret->status) != 1)
                        return -EBADMSG;
                for (char *l = strstr(ret->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
                        const char *h = l + 2;
                        if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strcasestr(h, "chunked") &&
                            strcasestr(h, "chunked") < strstr(h, "\r\n"))
                                ret->chunked = true;
                        else if (strncasecmp(h, "Content-Length:", 15) == 0)
                                ret->content_length = atoll(h + 15);
                }
                return 0;
        }
}

static int fill(RawResponse *r)
{
        char tmp[8192];
        ssize_t n;
        do
                n = read(r->fd, tmp, sizeof(tmp));
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return n < 0 ? -errno : 0;
        char *nb = xrealloc(r->buf, r->buf_len + (size_t) n + 1);
        if (!nb)
                return -ENOMEM;
        memcpy(nb + r->buf_len, tmp, (size_t) n);
        r->buf = nb;
        r->buf_len += (size_t) n;
        return (int) n;
}

int client_raw_read_body(RawResponse *r, char **ret, size_t *ret_len)
{
        if (!r->chunked) {
                while (r->content_length < 0 || (long long) r->buf_len < r->content_length) {
                        int n = fill(r);
                        if (n < 0)
                                return n;
                        if (n == 0)
                                break;
                }
                size_t l = r->content_length >= 0 && (long long) r->buf_len > r->content_length
                                   ? (size_t) r->content_length : r->buf_len;
                *ret = xstrndup(r->buf ?: "", l);
                if (ret_len)
                        *ret_len = l;
                return 0;
        }
        Buf out = { .data = xstrdup(""), .len = 0 };
        size_t pos = 0;
        for (;;) {
                char *eol = r->buf ? memmem(r->buf + pos, r->buf_len - pos, "\r\n", 2) : NULL;
                if (!eol) {
                        int n = fill(r);
                        if (n <= 0)
                                break;
                        continue;
                }
                size_t sz = strtoul(r->buf + pos, NULL, 16);
                size_t data = (size_t) (eol - r->buf) + 2;
                if (sz == 0)
                        break;
                while (r->buf_len < data + sz + 2) {
                        int n = fill(r);
                        if (n <= 0)
                                goto done;
                }
                buf_write(r->buf + data, 1, sz, &out);
                pos = data + sz + 2;
        }
done:
        *ret = out.data;
        if (ret_len)
                *ret_len = out.len;
        return 0;
}

int client_hijack(Client *c, const char *method, const char *path, const char *ctype, const char *body,
                  char **ret_extra, size_t *ret_extra_len)
{
        int fd = client_raw_connect(c);
        if (fd < 0)
                return fd;
        int r = client_raw_send(c, fd, method, path, ctype ?: "text/plain", body, body ? strlen(body) : 0, true);
        if (r < 0) {
                close(fd);
                return r;
        }
        RawResponse resp = { 0 };
        r = client_raw_read_head(fd, &resp);
        if (r < 0) {
                close(fd);
                fprintf(stderr, "error during connect: unable to read response: %s\n", strerror(-r));
                return r;
        }
        if (resp.status != 101) {
                if (resp.status >= 400) {
                        _cleanup_free_ char *b = NULL;
                        client_raw_read_body(&resp, &b, NULL);
                        client_print_error(b);
                } else
                        fprintf(stderr, "unable to upgrade to tcp, received %ld\n", resp.status);
                raw_response_clear(&resp);
                close(fd);
                return -EPROTO;
        }
        *ret_extra = TAKE_PTR(resp.buf);
        *ret_extra_len = resp.buf_len;
        raw_response_clear(&resp);
        return fd;
}
