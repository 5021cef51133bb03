/* Internal to src/registry/: the connection to one registry, the request
 * helper and the state of a pull, shared by the files that make up the
 * registry client (registry.h is the public interface). Calls go down this list
 * from manifest/pull/push to registry.c, auth.c, transport.c; never back up.
 *
 *   transport.c  one libcurl request and its response (transport.h; a leaf: it calls no other file)
 *   auth.c       X-Registry-Auth decoding, the 401 challenge retry (reg_do), Bearer tokens
 *   registry.c   connecting: https or plain http for insecure registries, GET /v2/, POST /auth
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
#include "transport.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* ---- the registry connection (registry.c) ---- */


void reg_free(Reg *r);
/* Connects: picks https, or http for insecure registries when https fails, and answers GET /v2/. */
int reg_open(ImageStore *e, const ImageRef *ref, const RegistryAuth *auth, bool push, Reg **ret, BerthError **err);

/* ---- auth (auth.c) ---- */

/* One request with the auth dance: a 401 answers with a challenge we satisfy once, then retry. */
int reg_do(Reg *g, Req *q, Resp *r, BerthError **err);
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
        ImageStore *e;
        long status; /* of the last manifest request */
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
/* GET /v2/<repo>/manifests/<what> (tag or digest, verified), with Docker's pull errors. */
int reg_fetch_manifest(RegistryPull *p, const char *what, char **ret, size_t *ret_len, char **ret_type,
                       char **ret_digest, BerthError **err);

char *reg_familiar_tagged(const ImageRef *ref);
