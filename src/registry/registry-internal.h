/* Internal to src/registry/: the connection to one registry, the request
 * helper and the state of a pull, shared by the files that make up the
 * registry client (registry.h is the public interface).
 *
 *   registry.c   connecting: https or plain http for insecure registries, GET /v2/
 *   transport.c  one libcurl request with the 401 challenge retry, response capture
 *   auth.c       X-Registry-Auth decoding, WWW-Authenticate/Bearer tokens, POST /auth
 *   manifest.c   manifest/index fetch, platform selection, pull preparation
 *   pull.c       config and layer download (parallel, resumable, verified), progress
 *   push.c       blob upload, manifest put, progress */
#pragma once

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/sha256.h"
#include "image/image.h"
#include "image/reference.h"
#include "registry.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* ---- the registry connection (registry.c) ---- */

typedef struct Reg {
        Engine *e;
        char *host;  /* as in the reference: "127.0.0.1:5000"; docker.io -> registry-1.docker.io */
        char *base;  /* "http://127.0.0.1:5000" */
        char *repo;  /* "library/busybox" */
        char *user, *pass;
        char *token; /* Bearer token once obtained */
        bool basic;  /* the registry asked for Basic */
        bool push;   /* scope push,pull */
        bool insecure;
} Reg;

void reg_free(Reg *r);
/* Connects: picks https, or http for insecure registries when https fails, and answers GET /v2/. */
int reg_open(Engine *e, const ImageRef *ref, const RegistryAuth *auth, bool push, Reg **ret, BerthError **err);

/* ---- requests (transport.c) ---- */

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
/* One request with the auth dance: a 401 answers with a challenge we satisfy once, then retry. */
int reg_do(Reg *g, Req *q, Resp *r, BerthError **err);
/* The registry's error text: "manifest unknown: manifest unknown" from {"errors":[{code,message,...}]}. */
char *reg_error_text(Resp *r);

/* ---- auth (auth.c) ---- */

/* Answers a Bearer challenge: fetches a token for g's repository into g->token. */
int reg_token_fetch(Reg *g, const char *challenge, BerthError **err);

/* ---- pull state (manifest.c prepares, pull.c runs) ---- */

typedef struct Layer {
        char *digest;   /* blob digest */
        char *diff_id;
        int64_t size;
        char chain[72];
        char parent[72];
        bool present;
        char sid[13];
} Layer;

struct RegistryPull {
        Reg *g;
        ImageRef *ref;
        char *manifest_digest;
        char *config_digest;
        char *config;
        size_t config_len;
        Layer *layers;
        size_t n;
        /* progress */
        ImageProgressFn progress;
        void *cls;
        pthread_mutex_t plock;
        /* work queue */
        size_t next;
        int failed;
        BerthError *ferr;
        Engine *e;
};

/* Pure manifest and config checks (fuzzed by tests/fuzz/fuzz-manifest.c). */
/* A manifest list or OCI index (by mediaType, the Content-Type, or a "manifests" key). */
bool reg_manifest_is_list(json_t *m, const char *ctype);
/* The digest of linux/<arch>'s manifest in a list; ENOENT with Docker's text when none. */
int reg_manifest_pick(json_t *list, const char *arch, char **ret_digest, BerthError **err);
/* An image manifest's (schema 2) config digest and layers (digest, size, sid). */
int reg_manifest_layers(json_t *m, char **ret_config, Layer **ret_layers, size_t *ret_n, BerthError **err);
void reg_layers_free(Layer *l, size_t n);
/* Checks an image config's rootfs.diff_ids against the n layers and fills their diff_id,
 * parent and chain. */
int reg_config_chain(const char *config, size_t len, Layer *layers, size_t n, BerthError **err);

char *reg_familiar_tagged(const ImageRef *ref);
/* "[=====>    ]  1.2MB/3.4MB" */
char *reg_progress_bar(int64_t cur, int64_t total);
