/* The image store as the rest of the engine sees it. Content-addressed:
 * configs by sha256 of their bytes, layers by chain id, each layer unpacked
 * once under <data-root>/image/layers/<chain-hex>/diff and shared by every
 * image that uses it (overlay lower dirs). Metadata lives in the state store. */
#pragma once

#include <jansson.h>

#include "basic/error.h"

typedef struct Engine Engine;

/* Resolves a reference ("busybox", "busybox:latest", "docker.io/library/busybox",
 * "sha256:<hex>", a unique id prefix) to the full image id "sha256:<hex>".
 * -ENOENT with Docker's "No such image: busybox:latest" otherwise. */
int image_resolve(Engine *e, const char *ref, char **ret_id, BerthError **err);
/* The image's config JSON (the whole image config document). */
int image_get_config(Engine *e, const char *id, json_t **ret, BerthError **err);
/* Unpacked layer directories, bottom to top; NULL-terminated, caller frees (strv). */
int image_layer_dirs(Engine *e, const char *id, char ***ret, BerthError **err);
