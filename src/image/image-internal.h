/* Helpers shared by the files of src/image/ only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "image/image.h"
#include "image/tar.h"
#include "state/store.h"

/* Applies Dockerfile change instructions (CMD, ENV, ...) to a container-config object. */
int image_apply_changes(json_t *cfg, char **changes, BerthError **err);

/* docker load's first steps (archive.c), without the store: the outer archive extracted into dir
 * (directories and regular files; links remembered as name -> target, resolved lexically) and
 * manifest.json, every config and every layer path checked. */
typedef struct ImageArchiveLinks {
        char **from, **to;
} ImageArchiveLinks;
typedef struct ImageLoadPlan {
        ImageArchiveLinks links;
        json_t *entries; /* manifest.json */
        char **configs;  /* the config bytes of each entry */
} ImageLoadPlan;
int image_load_prepare(int fd, const char *dir, ImageLoadPlan *ret, BerthError **err);
void image_load_plan_clear(ImageLoadPlan *p);

/* Parses and checks an image config (an object; rootfs.diff_ids, when present, an array of digests)
 * and its "created" time (0 when absent or not RFC 3339). */
int image_config_check(const char *config, size_t len, json_t **ret_cfg, int64_t *ret_created, BerthError **err);
/* <data-root>/image/layers/<hex>/layer.tar: the layer's uncompressed tar, exactly the bytes its diff id hashes. */
char *image_layer_tar_path(ImageStore *e, const char *chain_id);
void image_chain_id(const char *parent_chain, const char *diff_id, char out[72]);
bool image_layer_known(ImageStore *e, const char *chain_id);
/* Unpacks a (possibly compressed) layer tar from fd above parent_chain (NULL for a base layer), keeps the
 * uncompressed tar, registers the layer. expect_diff_id: -EINVAL when the stream hashes otherwise. A layer that
 * already exists is kept (*ret_created false). */
int image_layer_add(ImageStore *e, const char *parent_chain, int fd, const char *expect_diff_id, char ret_chain[72],
                    bool *ret_created, BerthError **err);
/* Same; keep_path (non-NULL): fd reads that file, which is the uncompressed tar itself (same filesystem); it
 * is moved into the layer instead of copied. The caller has verified it hashes to expect_diff_id or passes
 * expect_diff_id, which is checked either way. */
int image_layer_add_file(ImageStore *e, const char *parent_chain, int fd, const char *keep_path, const char *expect_diff_id,
                         char ret_chain[72], bool *ret_created, BerthError **err);
/* Removes the given layers when no image and no other layer uses them (clean-up after a failed load/pull). */
void image_layers_drop_unused(ImageStore *e, char **chains);
/* Stores an image from its exact config bytes; every layer of rootfs.diff_ids must be stored already.
 * refs: fully qualified reference names to point at it. */
int image_add(ImageStore *e, const char *config, size_t len, const char *parent_id, char **refs, char **ret_id,
              BerthError **err);
/* Chain ids bottom to top, the config bytes and the stored reference names of an image id. */
int image_saved_layers(ImageStore *e, const char *id, char ***ret_chains, char **ret_config, size_t *ret_len,
                       char ***ret_refs, BerthError **err);
/* image_resolve, also returning the stored name matched (NULL for id lookups). */
int image_resolve_ref(ImageStore *e, const char *ref, char **ret_id, char **ret_matched, BerthError **err);
/* Tags of one repository ("docker.io/library/busybox"): pairs name, image id, NULL-terminated. */
char **image_repo_refs(ImageStore *e, const char *repo_name);
/* container.Config in Go's field order with Docker's defaults (a new object). */
json_t *image_ordered_container_config(json_t *c);

/* ---- the image store's own helpers, shared by image-store.c, image-import.c, image-list.c,
 * image-delete.c and image-layers.c ---- */

typedef struct sqlite3_stmt sqlite3_stmt;

/* Temp names under <data-root>/tmp that image_store_reconcile() clears. */
#define TMP_PREFIX "layer-"

void image_unlockp(ImageStore **e);
/* Holds e->lock to the end of the scope. */
#define LOCKED(e)                                                \
        pthread_mutex_lock((e)->lock);                          \
        _cleanup_(image_unlockp) _unused_ ImageStore *_locked_ = (e)

char *image_layers_dir(ImageStore *e);
/* The daemon's bounds for unpacking one layer (tar.h). */
UnpackLimits image_unpack_limits(ImageStore *e);
char *image_layer_path(ImageStore *e, const char *chain_id);
char *image_col_text(sqlite3_stmt *st, int i);

/* The rest: the caller holds e->lock. */

/* ret_ref: the stored reference name the lookup matched, NULL for id lookups. */
int image_resolve_locked(ImageStore *e, const char *ref, char **ret_id, char **ret_ref, BerthError **err);

typedef struct ImgRow {
        char *id;
        char *config;
        char *top_layer;
        char *parent;
        int64_t created;
        int64_t added;
} ImgRow;

/* The columns image_row_fill() reads, in its order. */
#define IMG_COLS "id, config, top_layer, parent, created, added"
void image_row_clear(ImgRow *r);
void image_row_fill(sqlite3_stmt *st, ImgRow *r);
int image_row_load(ImageStore *e, const char *id, ImgRow *ret, BerthError **err);

/* Chain ids bottom to top. */
char **image_layer_chain(ImageStore *e, const char *top);
int64_t image_layer_size(ImageStore *e, const char *chain);
int64_t image_size(ImageStore *e, const char *top);
/* Stored reference names of an image, sorted. */
char **image_ref_names(ImageStore *e, const char *id);
/* Familiar names into RepoTags and RepoDigests arrays (new). */
void image_split_refs(char **names, json_t **tags, json_t **digests);
/* The first column of the first row of sql with arg bound to ?1 (when non-NULL), 0 on any failure. */
long long image_count_sql(ImageStore *e, const char *sql, const char *arg);
long long image_containers_using(ImageStore *e, const char *id);
bool image_has_children(ImageStore *e, const char *id);

/* Filters of list and prune (image-list.c). */
int image_parse_time_filter(const char *v, int64_t *ret_ns, BerthError **err);
int image_check_filters(json_t *filters, const char *const *allowed, BerthError **err);
int image_dangling_filter(json_t *filters, int *ret, BerthError **err);
