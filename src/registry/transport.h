/* Internal to src/registry/: one HTTP request to a registry over libcurl, and its response.
 * The bottom of the registry client: transport.c calls nothing else in src/registry/. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/sha256.h"

typedef struct ImageStore ImageStore;

/* The connection to one registry (reg_open in registry.c). */
typedef struct Reg {
        ImageStore *e;
        char *host;  /* as in the reference: "127.0.0.1:5000"; docker.io -> registry-1.docker.io */
        char *base;  /* "http://127.0.0.1:5000" */
        char *repo;  /* "library/busybox" */
        char *user, *pass;
        char *token; /* Bearer token once obtained */
        bool basic;  /* the registry asked for Basic */
        bool push;   /* scope push,pull */
        bool insecure;
} Reg;

typedef struct Resp {
        long status;
        char *body;
        size_t len, max;
        bool too_big;
        char *ctype, *digest, *location, *www_auth, *range;
        int64_t clen;
        /* streaming download */
        int fd;
        Sha256 *sha;
        int64_t got;
        void (*on_data)(void *cls, int64_t got);
        void *cls;
        bool write_failed;
} Resp;

typedef struct ReqBody {
        const char *mem;
        size_t len;
        int fd; /* -1 for mem */
        int64_t fsize;
        void (*on_sent)(void *cls, int64_t sent);
        void *cls;
        int64_t sent;
} ReqBody;

typedef struct Req {
        const char *method;
        const char *url;      /* absolute, or a path below base */
        char **headers;       /* "Name: value" */
        ReqBody *body;        /* NULL for none */
        bool head;
} Req;

void reg_resp_clear(Resp *r);
CURL *reg_easy_new(Resp *resp);
/* One attempt of q at url (absolute), with g's credentials (token or Basic); a 401 is an answer like any
 * other (reg_do in auth.c retries after the challenge). */
int reg_send(Reg *g, Req *q, const char *url, Resp *r, BerthError **err);
/* The registry's error text: "manifest unknown: manifest unknown" from {"errors":[{code,message,...}]}. */
char *reg_error_text(Resp *r);
