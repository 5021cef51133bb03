/* Helpers shared by the files of src/image/ only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "image/tar.h"

/* Applies Dockerfile change instructions (CMD, ENV, ...) to a container-config object. */
int image_apply_changes(json_t *cfg, char **changes, BerthError **err);

typedef struct Engine Engine;

/* <data-root>/image/layers/<hex>/layer.tar: the layer's uncompressed tar, exactly the bytes its diff id hashes. */
char *image_layer_tar_path(Engine *e, const char *chain_id);
void image_chain_id(const char *parent_chain, const char *diff_id, char out[72]);
bool image_layer_known(Engine *e, const char *chain_id);
/* Unpacks a (possibly compressed) layer tar from fd above parent_chain (NULL for a base layer), keeps the
 * uncompressed tar, registers the layer. expect_diff_id: -EINVAL when the stream hashes otherwise. A layer that
 * already exists is kept (*ret_created false). */
int image_layer_add(Engine *e, const char *parent_chain, int fd, const char *expect_diff_id, char ret_chain[72],
                    bool *ret_created, BerthError **err);
/* Same; keep_path (non-NULL): fd reads that file, which is the uncompressed tar itself (same filesystem); it
 * is moved into the layer instead of copied. The caller has verified it hashes to expect_diff_id or passes
 * expect_diff_id, which is checked either way. */
int image_layer_add_file(Engine *e, const char *parent_chain, int fd, const char *keep_path, const char *expect_diff_id,
                         char ret_chain[72], bool *ret_created, BerthError **err);
/* Removes the given layers when no image and no other layer uses them (clean-up after a failed load/pull). */
void image_layers_drop_unused(Engine *e, char **chains);
/* Stores an image from its exact config bytes; every layer of rootfs.diff_ids must be stored already.
 * refs: fully qualified reference names to point at it. */
int image_add(Engine *e, const char *config, size_t len, const char *parent_id, char **refs, char **ret_id,
              BerthError **err);
/* Chain ids bottom to top, the config bytes and the stored reference names of an image id. */
int image_saved_layers(Engine *e, const char *id, char ***ret_chains, char **ret_config, size_t *ret_len,
                       char ***ret_refs, BerthError **err);
/* image_resolve, also returning the stored name matched (NULL for id lookups). */
int image_resolve_ref(Engine *e, const char *ref, char **ret_id, char **ret_matched, BerthError **err);
/* Tags of one repository ("docker.io/library/busybox"): pairs name, image id, NULL-terminated. */
char **image_repo_refs(Engine *e, const char *repo_name);
/* container.Config in Go's field order with Docker's defaults (a new object). */
json_t *image_ordered_container_config(json_t *c);
