#include "server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/util.h"

typedef struct Header {
        char *name, *value;
} Header;

/* What a connection needs to know of the listener that accepted it; complete
 * before that listener's daemon starts, so its threads only read it. */
typedef struct Listener {
        HttpServer *server;
        bool tls, tls_verify;
} Listener;

struct HttpServer {
        HttpHandler handler;
        void *userdata;
        char *spool_dir;
        struct MHD_Daemon *daemons[16];
        int listen_fds[16];
        char *unix_paths[16];
        char *tls_mem[16][3];
        Listener listeners[16];
        size_t n_daemons;
        Header *defaults;
        size_t n_defaults;
        HttpBodyLimitFn body_limit;
};

enum { RESP_NONE, RESP_PLAIN, RESP_HIJACK };

struct HttpRequest {
        HttpServer *server;
        struct MHD_Connection *conn;
        const char *method, *url;
        bool tls;
        char *mem;
        size_t mem_len, mem_cap;
        int spool_fd;
        uint64_t body_len, body_max;
        bool body_done;
        bool rejected; /* answered before the body was read in full */
        void *userdata;
        int resp_kind;
        struct MHD_Response *resp;
        unsigned status;
        Header *extra;
        size_t n_extra;
        /* hijack */
        HttpHijackFn hijack_fn;
        void *hijack_cls;
        char *hijack_ct;
};

/* A stream is shared by MHD's reader callback and the producer thread; the
 * last of the two to let go frees it. */
struct HttpStream {
        pthread_mutex_t lock;
        int refs;
        int pipe_r, pipe_w;
        int conn_fd;
        bool closed;
        bool aborted;
        HttpStreamFn fn;
        void *cls;
        void (*free_cls)(void *);
};

static void stream_unref(HttpStream *s)
{
        pthread_mutex_lock(&s->lock);
        int left = --s->refs;
        pthread_mutex_unlock(&s->lock);
        if (left > 0)
                return;
        safe_close(s->pipe_r);
        safe_close(s->pipe_w);
        if (s->free_cls)
                s->free_cls(s->cls);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

HttpServer *http_server_new(HttpHandler handler, void *userdata, const char *spool_dir)
{
        HttpServer *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->handler = handler;
        s->userdata = userdata;
        s->spool_dir = strdup(spool_dir ? spool_dir : "/tmp");
        return s;
}

void http_server_set_body_limit(HttpServer *s, HttpBodyLimitFn fn)
{
        s->body_limit = fn;
}

void http_server_add_default_header(HttpServer *s, const char *name, const char *value)
{
        s->defaults = realloc(s->defaults, (s->n_defaults + 1) * sizeof(Header));
        s->defaults[s->n_defaults].name = strdup(name);
        s->defaults[s->n_defaults].value = strdup(value);
        s->n_defaults++;
}

/* ---- request accessors ---- */

const char *http_method(HttpRequest *r) { return r->method; }
const char *http_path(HttpRequest *r) { return r->url; }
bool http_is_tls(HttpRequest *r) { return r->tls; }
uint64_t http_body_size(HttpRequest *r) { return r->body_len; }
void http_set_userdata(HttpRequest *r, void *p) { r->userdata = p; }
void *http_get_userdata(HttpRequest *r) { return r->userdata; }
bool http_responded(HttpRequest *r) { return r->resp_kind != RESP_NONE; }

const char *http_query(HttpRequest *r, const char *key)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

typedef struct {
        const char *key;
        char **out;
} QueryCollect;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind _unused_, const char *key, const char *value)
{
        QueryCollect *c = cls;
        if (key && streq(key, c->key))
                strv_extend(&c->out, value ? value : "");
        return MHD_YES;
}

char **http_query_all(HttpRequest *r, const char *key)
{
        QueryCollect c = { key, NULL };
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &c);
        return c.out;
}

const char *http_header(HttpRequest *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int http_body(HttpRequest *r, size_t max, const char **ret, size_t *ret_len)
{
        if (r->body_len > max)
                return -E2BIG;
        if (r->spool_fd >= 0) {
                /* Bodies that went to disk are pulled back in once. */
                char *buf = malloc(r->body_len + 1);
                if (!buf)
                        return -ENOMEM;
                ssize_t n = pread(r->spool_fd, buf, r->body_len, 0);
                if (n < 0 || (uint64_t) n != r->body_len) {
                        free(buf);
                        return -EIO;
                }
                buf[n] = 0;
                free(r->mem);
                r->mem = buf;
                r->mem_len = (size_t) n;
                r->spool_fd = safe_close(r->spool_fd);
        }
        if (!r->mem) {
                r->mem = calloc(1, 1);
                if (!r->mem)
                        return -ENOMEM;
        }
        *ret = r->mem;
        if (ret_len)
                *ret_len = r->mem_len;
        return 0;
}

int http_body_fd(HttpRequest *r)
{
        if (r->spool_fd >= 0) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", r->spool_fd);
                return RET_NERRNO(open(p, O_RDONLY | O_CLOEXEC));
        }
        int fd = memfd_create("body", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (loop_write(fd, r->mem, r->mem_len) < 0) {
                safe_close(fd);
                return -EIO;
        }
        lseek(fd, 0, SEEK_SET);
        return fd;
}

static int body_append(HttpRequest *r, const char *data, size_t len)
{
        r->body_len += len;
        if (r->spool_fd < 0 && r->mem_len + len > HTTP_MEMORY_BODY_MAX) {
                r->spool_fd = open(r->server->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (r->spool_fd < 0)
                        return -errno;
                if (loop_write(r->spool_fd, r->mem, r->mem_len) < 0)
                        return -EIO;
                free(r->mem);
                r->mem = NULL;
                r->mem_len = r->mem_cap = 0;
        }
        if (r->spool_fd >= 0)
                return loop_write(r->spool_fd, data, len);
        if (r->mem_len + len + 1 > r->mem_cap) {
                size_t cap = r->mem_cap ? r->mem_cap : 4096;
                while (cap < r->mem_len + len + 1)
                        cap *= 2;
                char *m = realloc(r->mem, cap);
                if (!m)
                        return -ENOMEM;
                r->mem = m;
                r->mem_cap = cap;
        }
        memcpy(r->mem + r->mem_len, data, len);
        r->mem_len += len;
        r->mem[r->mem_len] = 0;
        return 0;
}

/* ---- responses ---- */

void http_add_header(HttpRequest *r, const char *name, const char *value)
{
        r->extra = realloc(r->extra, (r->n_extra + 1) * sizeof(Header));
        r->extra[r->n_extra].name = strdup(name);
        r->extra[r->n_extra].value = strdup(value);
        r->n_extra++;
}

static void set_response(HttpRequest *r, unsigned status, struct MHD_Response *resp, const char *content_type)
{
        if (r->resp_kind != RESP_NONE) {
                MHD_destroy_response(resp);
                return;
        }
        for (size_t i = 0; i < r->server->n_defaults; i++)
                MHD_add_response_header(resp, r->server->defaults[i].name, r->server->defaults[i].value);
        for (size_t i = 0; i < r->n_extra; i++)
                MHD_add_response_header(resp, r->extra[i].name, r->extra[i].value);
        if (content_type)
                MHD_add_response_header(resp, "Content-Type", content_type);
        r->resp = resp;
        r->status = status;
        r->resp_kind = RESP_PLAIN;
}

void http_respond(HttpRequest *r, unsigned status, const char *content_type, const void *data, size_t len)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, (void *) (data ? data : ""), MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return;
        set_response(r, status, resp, len > 0 || status == 200 ? content_type : NULL);
}

void http_respond_json(HttpRequest *r, unsigned status, json_t *j)
{
        _cleanup_free_ char *s = json_dump(j);
        if (!s) {
                http_respond(r, 500, "application/json", "{\"message\":\"encoding failed\"}\n", 30);
                return;
        }
        size_t n = strlen(s);
        /* Docker ends JSON bodies with a newline; clients tolerate both. */
        char *buf = malloc(n + 2);
        memcpy(buf, s, n);
        buf[n] = '\n';
        struct MHD_Response *resp = MHD_create_response_from_buffer(n + 1, buf, MHD_RESPMEM_MUST_FREE);
        set_response(r, status, resp, "application/json");
}

static ssize_t stream_reader(void *cls, uint64_t pos _unused_, char *buf, size_t max)
{
        HttpStream *s = cls;
        for (;;) {
                ssize_t n = read(s->pipe_r, buf, max);
                if (n > 0)
                        return n;
                if (n < 0 && errno == EINTR)
                        continue;
                pthread_mutex_lock(&s->lock);
                bool aborted = s->aborted;
                pthread_mutex_unlock(&s->lock);
                return aborted ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        }
}

static void stream_reader_free(void *cls)
{
        HttpStream *s = cls;
        pthread_mutex_lock(&s->lock);
        s->closed = true;
        s->pipe_r = safe_close(s->pipe_r);
        pthread_mutex_unlock(&s->lock);
        stream_unref(s);
}

static void *stream_thread(void *p)
{
        HttpStream *s = p;
        s->fn(s, s->cls);
        pthread_mutex_lock(&s->lock);
        s->pipe_w = safe_close(s->pipe_w);
        pthread_mutex_unlock(&s->lock);
        stream_unref(s);
        return NULL;
}

void http_respond_stream(HttpRequest *r, unsigned status, const char *content_type, HttpStreamFn fn, void *cls,
                         void (*free_cls)(void *))
{
        HttpStream *s = calloc(1, sizeof(*s));
        int p[2];
        if (!s || pipe2(p, O_CLOEXEC) < 0) {
                free(s);
                if (free_cls)
                        free_cls(cls);
                http_respond(r, 500, "application/json", "{\"message\":\"out of resources\"}\n", 31);
                return;
        }
        pthread_mutex_init(&s->lock, NULL);
        s->refs = 2;
        s->pipe_r = p[0];
        s->pipe_w = p[1];
        s->fn = fn;
        s->cls = cls;
        s->free_cls = free_cls;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s->conn_fd = ci ? ci->connect_fd : -1;
        /* A stream may be silent for hours (events, logs -f, wait): the idle
         * timeout is for clients that never finish a request. */
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        struct MHD_Response *resp =
                MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, s, stream_reader_free);
        /* ... so the connection ends with the stream instead of idling on without a timeout. */
        MHD_add_response_header(resp, "Connection", "close");
        set_response(r, status, resp, content_type);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&t, &attr, stream_thread, s) != 0) {
                s->pipe_w = safe_close(s->pipe_w);
                stream_unref(s);
        }
        pthread_attr_destroy(&attr);
}

int http_stream_write(HttpStream *s, const void *data, size_t len)
{
        return loop_write(s->pipe_w, data, len) < 0 ? -EPIPE : 0;
}

int http_stream_printf(HttpStream *s, const char *fmt, ...)
{
        char *str = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&str, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        int r = http_stream_write(s, str, (size_t) n);
        free(str);
        return r;
}

int http_stream_write_json(HttpStream *s, json_t *j)
{
        _cleanup_free_ char *str = json_dump(j);
        if (!str)
                return -ENOMEM;
        size_t n = strlen(str);
        str[n] = '\n'; /* overwrite NUL; length is explicit */
        return http_stream_write(s, str, n + 1);
}

void http_stream_abort(HttpStream *s)
{
        pthread_mutex_lock(&s->lock);
        s->aborted = true;
        pthread_mutex_unlock(&s->lock);
}

bool http_stream_client_gone(HttpStream *s)
{
        pthread_mutex_lock(&s->lock);
        bool gone = s->closed;
        int fd = s->conn_fd;
        pthread_mutex_unlock(&s->lock);
        if (gone || fd < 0)
                return gone;
        struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
        if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
                return true;
        return false;
}

void http_hijack(HttpRequest *r, const char *content_type, HttpHijackFn fn, void *cls)
{
        r->resp_kind = RESP_HIJACK;
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        r->hijack_fn = fn;
        r->hijack_cls = cls;
        r->hijack_ct = strdup(content_type ? content_type : "application/vnd.docker.raw-stream");
}

typedef struct {
        HttpHijackFn fn;
        void *cls;
        int fd;
        struct MHD_UpgradeResponseHandle *urh;
} TlsHijack;

static void *tls_hijack_thread(void *p)
{
        TlsHijack *h = p;
        h->fn(h->fd, h->cls);
        MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
        free(h);
        return NULL;
}

static void tls_upgrade_cb(void *cls, struct MHD_Connection *c _unused_, void *con_cls _unused_,
                           const char *extra _unused_, size_t extra_len _unused_, MHD_socket sock,
                           struct MHD_UpgradeResponseHandle *urh)
{
        HttpRequest *r = cls;
        TlsHijack *h = calloc(1, sizeof(*h));
        h->fn = r->hijack_fn;
        h->cls = r->hijack_cls;
        h->fd = sock;
        h->urh = urh;
        /* With TLS, MHD forwards bytes only after this callback returns. */
        pthread_t t;
        if (pthread_create(&t, NULL, tls_hijack_thread, h) == 0)
                pthread_detach(t);
        else {
                MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                free(h);
        }
}

/* ---- MHD glue ---- */

static void request_free(HttpRequest *r)
{
        if (!r)
                return;
        free(r->mem);
        safe_close(r->spool_fd);
        for (size_t i = 0; i < r->n_extra; i++) {
                free(r->extra[i].name);
                free(r->extra[i].value);
        }
        free(r->extra);
        free(r->hijack_ct);
        if (r->resp)
                MHD_destroy_response(r->resp);
        free(r);
}

/* Like Docker's documented setup, a client certificate must be meant for
 * clients: a server certificate signed by the same CA is not a login. */
static bool client_cert_has_client_auth(const gnutls_datum_t *der)
{
        gnutls_x509_crt_t crt;
        if (gnutls_x509_crt_init(&crt) < 0)
                return false;
        bool ok = false;
        if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) == 0)
                for (unsigned i = 0;; i++) {
                        char oid[128];
                        size_t len = sizeof(oid);
                        if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len, NULL) < 0)
                                break;
                        if (streq(oid, GNUTLS_KP_TLS_WWW_CLIENT) || streq(oid, GNUTLS_KP_ANY)) {
                                ok = true;
                                break;
                        }
                }
        gnutls_x509_crt_deinit(crt);
        return ok;
}

static bool client_cert_ok(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return false;
        gnutls_session_t session = (gnutls_session_t) ci->tls_session;
        unsigned n = 0;
        if (!gnutls_certificate_get_peers(session, &n) || n == 0)
                return false;
        unsigned status = 0;
        if (gnutls_certificate_verify_peers2(session, &status) != 0 || status != 0)
                return false;
        return client_cert_has_client_auth(gnutls_certificate_get_peers(session, &n));
}

static enum MHD_Result reject_too_large(HttpRequest *r)
{
        r->rejected = true;
        _cleanup_free_ char *msg = xasprintf("{\"message\":\"request body too large (limit %llu bytes)\"}\n",
                                             (unsigned long long) r->body_max);
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        for (size_t i = 0; i < r->server->n_defaults; i++)
                MHD_add_response_header(resp, r->server->defaults[i].name, r->server->defaults[i].value);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        /* The rest of the body is never read, so the connection cannot be reused. */
        MHD_add_response_header(resp, "Connection", "close");
        enum MHD_Result ok = MHD_queue_response(r->conn, 413, resp);
        MHD_destroy_response(resp);
        return ok;
}

/* Clients (docker-py, through Python's http.client) read the response head
 * with a buffered reader and then take the raw socket: stream bytes that
 * arrived together with the head sit in that buffer and are lost. On a unix
 * socket the unread bytes of our send queue are visible (SIOCOUTQ), so the
 * stream starts only once the client has taken the head, within a bound. */
static void wait_peer_read(int fd, int timeout_ms)
{
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &sl) < 0 || ss.ss_family != AF_UNIX)
                return;
        for (int waited = 0; waited < timeout_ms; waited++) {
                int queued = 0;
                if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued <= 0)
                        return;
                usleep(1000);
        }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version _unused_, const char *upload_data, size_t *upload_size,
                                 void **con_cls)
{
        const Listener *l = cls;
        HttpServer *srv = l->server;
        HttpRequest *r = *con_cls;
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->server = srv;
                r->conn = conn;
                r->url = url;
                r->method = method;
                r->spool_fd = -EBADF;
                r->tls = l->tls;
                bool verify = l->tls_verify;
                /* --tlsverify: a client without a certificate signed by the CA is
                 * turned away before its request is looked at. */
                if (verify && !client_cert_ok(conn)) {
                        free(r);
                        *con_cls = NULL;
                        return MHD_NO;
                }
                r->body_max = srv->body_limit ? srv->body_limit(method, url) : UINT64_MAX;
                *con_cls = r;
                const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
                if (cl && strtoull(cl, NULL, 10) > r->body_max)
                        return reject_too_large(r);
                return MHD_YES;
        }
        if (r->rejected) {
                *upload_size = 0;
                return MHD_YES;
        }
        if (*upload_size > 0) {
                /* Counted as it arrives: a huge body is refused at the limit,
                 * not spooled to disk first. */
                if (r->body_len + *upload_size > r->body_max) {
                        *upload_size = 0;
                        /* MHD cannot queue a response in the middle of a body: on a
                         * plain connection the 413 is written here, then the
                         * connection is dropped without reading further. */
                        const union MHD_ConnectionInfo *ci =
                                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                        if (!r->tls && ci) {
                                _cleanup_free_ char *msg = xasprintf(
                                        "{\"message\":\"request body too large (limit %llu bytes)\"}\n",
                                        (unsigned long long) r->body_max);
                                _cleanup_free_ char *head = xasprintf(
                                        "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
                                        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(msg), msg);
                                (void) send(ci->connect_fd, head, strlen(head), MSG_NOSIGNAL | MSG_DONTWAIT);
                                shutdown(ci->connect_fd, SHUT_WR);
                        }
                        return MHD_NO;
                }
                if (body_append(r, upload_data, *upload_size) < 0)
                        return MHD_NO;
                *upload_size = 0;
                return MHD_YES;
        }
        srv->handler(r, srv->userdata);
        if (r->resp_kind == RESP_HIJACK) {
                if (r->tls) {
                        struct MHD_Response *resp = MHD_create_response_for_upgrade(tls_upgrade_cb, r);
                        MHD_add_response_header(resp, "Content-Type", r->hijack_ct);
                        MHD_add_response_header(resp, "Connection", "Upgrade");
                        MHD_add_response_header(resp, "Upgrade", "tcp");
                        enum MHD_Result ok = MHD_queue_response(conn, 101, resp);
                        MHD_destroy_response(resp);
                        return ok;
                }
                /* MHD can only say "101 Switching Protocols"; docker clients
                 * expect Docker's exact "101 UPGRADED", so the status line is
                 * written here and the connection is closed afterwards. */
                const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                if (!ci)
                        return MHD_NO;
                int fd = ci->connect_fd;
                _cleanup_free_ char *head = xasprintf("HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\n"
                                                      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
                                                      r->hijack_ct);
                int fl = fcntl(fd, F_GETFL);
                fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
                if (loop_send(fd, head, strlen(head)) == 0) {
                        wait_peer_read(fd, 1000);
                        r->hijack_fn(fd, r->hijack_cls);
                }
                return MHD_NO;
        }
        if (r->resp_kind == RESP_NONE)
                http_respond(r, 500, "application/json", "{\"message\":\"no response\"}\n", 26);
        return MHD_queue_response(conn, r->status, r->resp);
}

static void on_completed(void *cls _unused_, struct MHD_Connection *c _unused_, void **con_cls,
                         enum MHD_RequestTerminationCode code _unused_)
{
        request_free(*con_cls);
        *con_cls = NULL;
}

static int listen_unix(const char *path, const HttpListenerConfig *cfg, BerthError **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return berr_set(err, EINVAL, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_free_ char *dir = strdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                mkdir_p(dir, 0755);
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "cannot listen on %s: %s", path, strerror(errno));
        unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
                int r = berr_set(err, errno, "cannot listen on %s: %s", path, strerror(errno));
                safe_close(fd);
                return r;
        }
        gid_t gid = cfg ? cfg->socket_gid : 0;
        if (chown(path, 0, gid) < 0 || chmod(path, 0660) < 0) {
                int r = berr_set(err, errno, "cannot set the owner and mode of %s: %s", path, strerror(errno));
                safe_close(fd);
                return r;
        }
        return fd;
}

static int listen_tcp(const char *hostport, BerthError **err)
{
        _cleanup_free_ char *hp = strdup(hostport);
        char *host = hp, *port;
        if (*host == '[') {
                host++;
                char *e = strchr(host, ']');
                if (!e || e[1] != ':')
                        return berr_set(err, EINVAL, "invalid address: %s", hostport);
                *e = 0;
                port = e + 2;
        } else {
                port = strrchr(hp, ':');
                if (!port)
                        return berr_set(err, EINVAL, "invalid address (want host:port): %s", hostport);
                *port++ = 0;
        }
        if (!*host)
                host = "0.0.0.0";
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
        int g = getaddrinfo(host, port, &hints, &ai);
        if (g != 0)
                return berr_set(err, EINVAL, "cannot resolve %s: %s", hostport, gai_strerror(g));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
                int r = berr_set(err, errno, "cannot listen on %s: %s", hostport, strerror(errno));
                safe_close(fd);
                freeaddrinfo(ai);
                return r;
        }
        freeaddrinfo(ai);
        return fd;
}

/* fd://N: a listening stream socket handed over by systemd's socket
 * activation; it stays the service manager's, so berth never unlinks its path. */
static int listen_fd(const char *num, BerthError **err)
{
        char *end;
        errno = 0;
        long fd = strtol(num, &end, 10);
        int acc = 0, type = 0;
        socklen_t l = sizeof(acc), tl = sizeof(type);
        if (errno || end == num || *end || fd < 3 || fd > INT32_MAX)
                return berr_set(err, EINVAL, "invalid listen address fd://%s", num);
        if (getsockopt((int) fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 ||
            getsockopt((int) fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || !acc || type != SOCK_STREAM)
                return berr_set(err, EINVAL, "fd://%s is not a listening stream socket", num);
        if (fcntl((int) fd, F_SETFD, FD_CLOEXEC) < 0)
                return berr_set(err, errno, "fd://%s: %s", num, strerror(errno));
        return (int) fd;
}

/* TLS 1.2 and 1.3 only, as Docker's server side. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Loads what libmicrohttpd will load, to say which file is wrong instead of
 * "cannot start HTTP server". */
static int tls_check(char *mem[3], const HttpListenerConfig *cfg, BerthError **err)
{
        gnutls_certificate_credentials_t cred;
        if (gnutls_certificate_allocate_credentials(&cred) < 0)
                return berr_set(err, ENOMEM, "cannot set up TLS");
        int r = 0;
        gnutls_datum_t cert = { (unsigned char *) mem[0], (unsigned) strlen(mem[0]) };
        gnutls_datum_t key = { (unsigned char *) mem[1], (unsigned) strlen(mem[1]) };
        int g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
        if (g < 0) {
                r = berr_set(err, EINVAL, "could not load X509 key pair (cert: \"%s\", key: \"%s\"): %s", cfg->tls_cert,
                             cfg->tls_key, gnutls_strerror(g));
        } else if (cfg->tls_verify) {
                gnutls_datum_t ca = { (unsigned char *) mem[2], (unsigned) strlen(mem[2]) };
                g = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
                if (g <= 0)
                        r = berr_set(err, EINVAL, "failed to append certificates from PEM file: \"%s\"", cfg->tls_ca);
        }
        gnutls_certificate_free_credentials(cred);
        return r;
}

/* Reads and checks the listener's TLS files into mem (cert, key, CA). */
static int tls_load(const char *addr, const HttpListenerConfig *cfg, char *mem[3], BerthError **err)
{
        if (!cfg->tls_cert || !cfg->tls_key || (cfg->tls_verify && !cfg->tls_ca)) {
                /* Asked for TLS but cannot have it: never fall back to plain HTTP. */
                return berr_set(err, EINVAL, "%s on %s needs %s", cfg->tls_verify ? "--tlsverify" : "--tls", addr,
                                cfg->tls_verify ? "--tlscacert, --tlscert and --tlskey" : "--tlscert and --tlskey");
        }
        for (int k = 0; k < 3; k++) {
                const char *path = k == 0 ? cfg->tls_cert : k == 1 ? cfg->tls_key : cfg->tls_verify ? cfg->tls_ca : NULL;
                if (!path)
                        continue;
                int r = read_file(path, &mem[k], NULL);
                if (r < 0)
                        return berr_set(err, -r, "could not read %s \"%s\": %s",
                                        k == 0 ? "certificate" : k == 1 ? "key" : "CA certificate", path, strerror(-r));
        }
        return tls_check(mem, cfg, err);
}

int http_listener_check(const char *addr, const HttpListenerConfig *cfg, BerthError **err)
{
        if (!cfg || !(cfg->tls_cert || cfg->tls_key || cfg->tls_verify))
                return 0;
        char *mem[3] = { 0 };
        int r = tls_load(addr, cfg, mem, err);
        for (int k = 0; k < 3; k++)
                free(mem[k]);
        return r;
}

int http_server_listen(HttpServer *s, const char *addr, const HttpListenerConfig *cfg, BerthError **err)
{
        int fd;
        bool tls = cfg && (cfg->tls_cert || cfg->tls_key || cfg->tls_verify);
        if (s->n_daemons >= ELEMENTSOF(s->daemons))
                return berr_set(err, E2BIG, "too many listeners");
        if (startswith(addr, "unix://"))
                fd = listen_unix(addr + 7, cfg, err);
        else if (startswith(addr, "tcp://"))
                fd = listen_tcp(addr + 6, err);
        else if (addr[0] == '/')
                fd = listen_unix(addr, cfg, err);
        else if (startswith(addr, "fd://"))
                fd = listen_fd(addr + 5, err);
        else
                return berr_set(err, EINVAL, "invalid listen address %s (want unix://, tcp:// or fd://)", addr);
        if (fd < 0)
                return berr_from_errno(err, fd, addr);
        size_t i = s->n_daemons;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                         MHD_USE_ITC | MHD_ALLOW_UPGRADE;
        struct MHD_OptionItem opts[12];
        size_t n = 0;
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) on_completed, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_STACK_SIZE, 512 * 1024, NULL };
        if (cfg && cfg->idle_timeout)
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout, NULL };
        if (cfg && cfg->max_conns)
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns, NULL };
        if (cfg && cfg->max_conns_per_ip && startswith(addr, "tcp://"))
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip, NULL };
        if (tls) {
                flags |= MHD_USE_TLS;
                int rr = tls_load(addr, cfg, s->tls_mem[i], err);
                if (rr < 0) {
                        for (int k = 0; k < 3; k++) {
                                free(s->tls_mem[i][k]);
                                s->tls_mem[i][k] = NULL;
                        }
                        safe_close(fd);
                        return rr;
                }
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_mem[i][0] };
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_mem[i][1] };
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) TLS_PRIORITIES };
                if (cfg->tls_verify)
                        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_mem[i][2] };
        }
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
        s->listeners[i] = (Listener){ .server = s, .tls = tls, .tls_verify = tls && cfg->tls_verify };
        struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, &s->listeners[i], MHD_OPTION_ARRAY,
                                                opts, MHD_OPTION_END);
        if (!d) {
                safe_close(fd);
                return berr_set(err, EIO, "cannot start HTTP server on %s", addr);
        }
        s->daemons[i] = d;
        s->listen_fds[i] = fd;
        s->unix_paths[i] = startswith(addr, "unix://") ? strdup(addr + 7) : addr[0] == '/' ? strdup(addr) : NULL;
        s->n_daemons++;
        return 0;
}

void http_server_free(HttpServer *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_daemons; i++) {
                MHD_stop_daemon(s->daemons[i]);
                safe_close(s->listen_fds[i]);
                if (s->unix_paths[i])
                        unlink(s->unix_paths[i]);
                free(s->unix_paths[i]);
                for (int k = 0; k < 3; k++)
                        free(s->tls_mem[i][k]);
        }
        for (size_t i = 0; i < s->n_defaults; i++) {
                free(s->defaults[i].name);
                free(s->defaults[i].value);
        }
        free(s->defaults);
        free(s->spool_dir);
        free(s);
}
