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
        bool tls_verify;
        const char *socket_group; /* unix sockets: group owner, NULL for root */
} HttpListenerConfig;

HttpServer *http_server_new(HttpHandler handler, void *userdata, const char *spool_dir);
/* addr: "unix:///run/x.sock", "tcp://host:port", "fd://" not supported. */
int http_server_listen(HttpServer *s, const char *addr, const HttpListenerConfig *cfg, char **ret_error);
void http_server_free(HttpServer *s);
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
