/* The berth API client: libcurl for ordinary requests over a unix socket or
 * tcp://, raw sockets for hijacked streams (attach) and for requests whose
 * response headers must be seen before their body (wait during run).
 * Functions returning int give <0 on transport failure after printing the
 * one-line error to stderr; otherwise the HTTP status. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLIENT_MAX_API "1.52"
#define CLIENT_DEFAULT_HOST "unix:///run/berth/berth.sock"

typedef struct Client {
        char *host;      /* as given: unix:///path or tcp://host:port */
        char *sock_path; /* unix socket path, NULL for tcp */
        char *tcp_host;  /* host for tcp */
        int tcp_port;
        char *base_url;  /* "http://localhost" or "http://host:port" */
        char version[16];     /* negotiated API version, "" before the ping */
        char server_version[16];
        bool negotiated;
        bool debug;
        char *registry_auth; /* X-Registry-Auth sent with every request when set (pull, push, login) */
        void *curl; /* CURL*, reused for keep-alive */
} Client;

typedef struct Response {
        long status;
        char *body; /* NUL-terminated */
        size_t len;
} Response;

void response_clear(Response *r);
static inline void response_clearp(Response *r) { response_clear(r); }
#define _cleanup_response_ __attribute__((cleanup(response_clearp)))

/* Parses -H / DOCKER_HOST values. -EINVAL with a message printed for bad ones. */
int client_new(const char *host, bool debug, Client **ret);
void client_free(Client *c);

/* HEAD /_ping once and settle on min(CLIENT_MAX_API, server). */
int client_negotiate(Client *c);

/* "/containers/json" -> "/v1.52/containers/json" (negotiating first); caller frees. */
char *client_path(Client *c, const char *path);

/* A buffered request. body may be NULL; ctype NULL means none
 * (application/json is assumed when body is non-NULL and ctype NULL). */
int client_request(Client *c, const char *method, const char *path, const char *ctype, const void *body,
                   size_t len, Response *ret);
/* Same with a JSON body (NULL for none); parses the response as JSON when possible. */
int client_json(Client *c, const char *method, const char *path, json_t *body, json_t **ret_json,
                Response *ret);

/* Streams the response body to cb as it arrives; uploads from upload_fd (chunked) when >= 0.
 * cb returns <0 to abort. Errors (status >= 400) are collected into ret_err_body instead. */
typedef int (*ClientDataCb)(const char *buf, size_t len, void *userdata);
int client_stream(Client *c, const char *method, const char *path, const char *ctype, int upload_fd,
                  ClientDataCb cb, void *userdata, char **ret_err_body);

/* The daemon's "message" from an error body, or the body itself; never NULL; caller frees. */
char *client_error_message(const char *body);
/* Prints "Error response from daemon: <message>" to stderr. */
void client_print_error(const char *body);

/* ---- raw sockets ---- */
int client_raw_connect(Client *c);
/* Writes the request (with Content-Length) on fd; upgrade adds the hijack headers. */
int client_raw_send(Client *c, int fd, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, bool upgrade);

typedef struct RawResponse {
        int fd;
        long status;
        bool chunked;
        long long content_length; /* -1 unknown */
        char *head;   /* raw header block */
        char *buf;    /* bytes read past the headers */
        size_t buf_len;
} RawResponse;
void raw_response_clear(RawResponse *r);
/* Reads the status line and headers. */
int client_raw_read_head(int fd, RawResponse *ret);
/* Reads the whole (possibly chunked) body after read_head; returns NUL-terminated. */
int client_raw_read_body(RawResponse *r, char **ret, size_t *ret_len);

/* Hijack: sends an Upgrade request, expects 101. Returns the connected fd
 * (bytes already read past the head are returned in ret_extra). Prints errors. */
int client_hijack(Client *c, const char *method, const char *path, const char *ctype, const char *body,
                  char **ret_extra, size_t *ret_extra_len);

/* URL-encodes a query value; caller frees. */
char *client_escape(const char *s);
