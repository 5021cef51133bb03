/* A thin layer over libmicrohttpd: listeners (unix, tcp), buffered or
 * spooled request bodies, plain, streamed (chunked) and hijacked responses.
 *
 * Threading: MHD runs one thread per connection, so a handler and a stream
 * producer may block. Handlers must not keep pointers into the request after
 * they return, except the stream/hijack callbacks, which own their closure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sys/types.h>

#include "basic/error.h"

typedef struct HttpServer HttpServer;
typedef struct HttpRequest HttpRequest;
typedef struct HttpStream HttpStream;

typedef void (*HttpHandler)(HttpRequest *req, void *userdata);
/* Runs in its own thread; writes with http_stream_write until done. */
typedef void (*HttpStreamFn)(HttpStream *s, void *cls);
/* Runs on the connection's thread with the raw bidirectional socket. */
typedef void (*HttpHijackFn)(int fd, void *cls);

typedef struct HttpListenerConfig {
        const char *tls_cert, *tls_key, *tls_ca; /* PEM paths; all NULL for plain */
        bool tls_verify; /* clients need a certificate signed by tls_ca with client-auth usage */
        gid_t socket_gid; /* unix sockets: group owner (0 for root) */
        /* Seconds a connection may sit idle (TLS handshake or request not sent
         * in full, or between keep-alive requests); 0 for none. Streams and
         * hijacked connections are exempt. */
        unsigned idle_timeout;
        unsigned max_conns;        /* 0: libmicrohttpd's default */
        unsigned max_conns_per_ip; /* tcp only; 0: no limit */
} HttpListenerConfig;

/* Largest body accepted for a request, decided from its method and path
 * before any of it is read; a larger body is refused with 413 as soon as the
 * Content-Length says so or the bytes cross the limit. */
typedef uint64_t (*HttpBodyLimitFn)(const char *method, const char *url);

HttpServer *http_server_new(HttpHandler handler, void *userdata, const char *spool_dir);
/* addr: "unix:///run/x.sock", "tcp://host:port", or "fd://N", a listening socket passed
 * by socket activation (the daemon expands a bare "fd://" into one per passed socket). */
int http_server_listen(HttpServer *s, const char *addr, const HttpListenerConfig *cfg, BerthError **err);
void http_server_free(HttpServer *s);
/* What http_server_listen would say about cfg's TLS files, without listening:
 * lets the daemon refuse to start before it restores any state. */
int http_listener_check(const char *addr, const HttpListenerConfig *cfg, BerthError **err);
void http_server_set_body_limit(HttpServer *s, HttpBodyLimitFn fn);
/* Headers added to every non-hijacked response. */
void http_server_add_default_header(HttpServer *s, const char *name, const char *value);
/* Largest request body kept in memory; larger ones spool to a file. */
#define HTTP_MEMORY_BODY_MAX (1024 * 1024)

const char *http_method(HttpRequest *r);
const char *http_path(HttpRequest *r);
const char *http_query(HttpRequest *r, const char *key);
/* Every value of a repeated query key (names=a&names=b); caller frees with strv_free. */
char **http_query_all(HttpRequest *r, const char *key);
const char *http_header(HttpRequest *r, const char *name);
bool http_is_tls(HttpRequest *r);
uint64_t http_body_size(HttpRequest *r);
/* Whole body in memory (NUL-terminated), -E2BIG when larger than max. */
int http_body(HttpRequest *r, size_t max, const char **ret, size_t *ret_len);
/* A fresh read-only fd positioned at the body's start; caller closes. */
int http_body_fd(HttpRequest *r);
void http_set_userdata(HttpRequest *r, void *p);
void *http_get_userdata(HttpRequest *r);

void http_add_header(HttpRequest *r, const char *name, const char *value);
void http_respond(HttpRequest *r, unsigned status, const char *content_type, const void *data, size_t len);
void http_respond_json(HttpRequest *r, unsigned status, json_t *j);
/* Chunked response; fn runs in its own thread after the headers are sent. */
void http_respond_stream(HttpRequest *r, unsigned status, const char *content_type, HttpStreamFn fn, void *cls,
                         void (*free_cls)(void *));
/* Writes the 101 response with content_type and hands the socket to fn. */
void http_hijack(HttpRequest *r, const char *content_type, HttpHijackFn fn, void *cls);
bool http_responded(HttpRequest *r);

/* Returns -EPIPE once the client has gone. */
int http_stream_write(HttpStream *s, const void *data, size_t len);
int http_stream_printf(HttpStream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int http_stream_write_json(HttpStream *s, json_t *j); /* one object per line */
/* Ends the response with an error instead of a clean end: the connection is
 * closed without the final chunk, so the client sees a failed transfer rather
 * than a short but apparently complete body. */
void http_stream_abort(HttpStream *s);
/* True when the client has closed its side; lets idle streams stop. */
bool http_stream_client_gone(HttpStream *s);
