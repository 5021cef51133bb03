/* The image store as the rest of the engine sees it. Content-addressed:
 * configs by sha256 of their bytes, layers by chain id, each layer unpacked
 * once under <data-root>/image/layers/<chain-hex>/diff and shared by every
 * image that uses it (overlay lower dirs). Metadata lives in the state store. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"

typedef struct Store Store;
typedef struct EventLog EventLog;

/* What the image store works with, filled by its owner (the engine) at start-up: no Engine, no containers. */
typedef struct ImageStore {
        const char *data_root;      /* image/ and tmp/ live below it */
        Store *store;               /* the state store (state/store.h): images, layers, refs tables */
        pthread_mutex_t *lock;      /* guards store; the engine's lock, held for short sections only */
        EventLog *events;           /* image events (state/events.h) */
        char **insecure_registries; /* for registry/: hosts that may be contacted over plain HTTP */
        /* bounds on unpacking one layer: --layer-max-ratio, --layer-max-size, --min-free-space */
        unsigned layer_max_ratio;
        uint64_t layer_max_size, min_free_space;
        /* GET /images/json without filters, kept decoded between requests (under lock): valid while
         * the store has made no change since (list_cache_gen = sqlite3_total_changes64 then). */
        json_t *list_cache;
        int64_t list_cache_gen;
} ImageStore;

/* Resolves a reference ("busybox", "busybox:latest", "docker.io/library/busybox",
 * "sha256:<hex>", a unique id prefix) to the full image id "sha256:<hex>".
 * -ENOENT with Docker's "No such image: busybox:latest" otherwise. */
int image_resolve(ImageStore *e, const char *ref, char **ret_id, BerthError **err);
/* The image's config JSON (the whole image config document). */
int image_get_config(ImageStore *e, const char *id, json_t **ret, BerthError **err);
/* Unpacked layer directories, bottom to top; NULL-terminated, caller frees (strv). */
int image_layer_dirs(ImageStore *e, const char *id, char ***ret, BerthError **err);

/* ---- the rest of the image store (image/image-store.c) ---- */

/* Removes layer directories the state store does not know and leftovers of
 * interrupted imports under <data-root>/tmp. Called once at daemon start. */
int image_store_reconcile(ImageStore *e, BerthError **err);

typedef struct ImageImportOptions {
        const char *repo;    /* "myimported:1", "docker.io/library/x"; NULL or "" for none */
        const char *tag;     /* overrides/sets the tag; NULL or "" for none */
        const char *message; /* history comment; default "Imported from -" */
        char **changes;      /* Dockerfile instructions: CMD, ENV, ... */
} ImageImportOptions;
/* Imports a (possibly compressed) rootfs tar as a one-layer image. */
int image_import(ImageStore *e, int fd, const ImageImportOptions *o, char **ret_id, BerthError **err);

/* GET /images/json items in the newest shape. filters: normalized {"k":["v",...]}. */
int image_list(ImageStore *e, json_t *filters, bool all, bool shared_size, json_t **ret, BerthError **err);
/* GET /images/{name}/json in the newest shape (plus Container/ContainerConfig, see compat.c). */
int image_inspect(ImageStore *e, const char *ref, json_t **ret, BerthError **err);
int image_history(ImageStore *e, const char *ref, json_t **ret, BerthError **err);
/* repo is parsed like Docker (may be fully qualified, may carry a tag); tag overrides. */
int image_tag(ImageStore *e, const char *ref, const char *repo, const char *tag, BerthError **err);
/* [{"Untagged":...},{"Deleted":...}] */
int image_delete(ImageStore *e, const char *ref, bool force, bool noprune, json_t **ret, BerthError **err);
/* {"ImagesDeleted":[...],"SpaceReclaimed":N} */
int image_prune(ImageStore *e, json_t *filters, json_t **ret, BerthError **err);
/* /system/df: Images array (newest shape) and the total size of all layers. */
int image_disk_usage(ImageStore *e, json_t **ret_images, long long *ret_layers_size, BerthError **err);
/* The bytes of all the image's layers (its Size); 0 for an unknown image. Takes e->lock. */
long long image_total_size(ImageStore *e, const char *id);

/* An image from its exact config bytes (every layer of rootfs.diff_ids already stored), with a local
 * parent (NULL for none): the builder's images restored from a --cache-from image's history. */
int image_create(ImageStore *e, const char *config, size_t len, const char *parent, char **ret_id, BerthError **err);
/* Records parent as the local parent of id (a --cache-from image reused as a step of a build). */
int image_set_parent(ImageStore *e, const char *id, const char *parent, BerthError **err);
/* Ids of the images whose local parent is parent (NULL: images without one), oldest first. */
int image_children(ImageStore *e, const char *parent, char ***ret, BerthError **err);

/* ---- save and load (image/archive.c) ---- */

/* Writes bytes to the client; < 0 stops the operation. */
typedef int (*ImageWriteFn)(void *cls, const void *buf, size_t len);
/* One progress/result message ({"status":...} or {"stream":...}); the callee copies what it keeps. */
typedef void (*ImageProgressFn)(void *cls, json_t *msg);
/* Resolves the names as image_save would, so errors can be real HTTP errors before streaming. */
int image_save_check(ImageStore *e, char **names, BerthError **err);
/* docker save: the tar (formats.md §1c) of the named images, streamed through fn. */
int image_save(ImageStore *e, char **names, ImageWriteFn fn, void *cls, BerthError **err);
/* docker load: a tar made by docker save (any version writing manifest.json) or berth. Reports
 * "Loaded image: x:y" / "Loaded image ID: sha256:..." (and layer progress unless quiet) through progress. */
int image_load(ImageStore *e, int fd, bool quiet, ImageProgressFn progress, void *cls, BerthError **err);

/* ---- commit (image/commit.c) ---- */

typedef struct ImageCommitOptions {
        const char *repo, *tag; /* repo may carry the tag; NULL for an untagged image */
        const char *comment, *author;
        char **changes;           /* Dockerfile instructions */
        json_t *config;           /* request body: container config merged over the container's */
        const char *container_id;
        json_t *container_config; /* the container's Config */
        bool config_exact;        /* config is the new image's Config as is (the builder), no merge, no changes */
} ImageCommitOptions;
/* A child image of parent_id whose new layer is the overlay upper dir (docker whiteouts). */
int image_commit(ImageStore *e, const char *parent_id, const char *upper, const ImageCommitOptions *o, char **ret_id,
                 BerthError **err);
