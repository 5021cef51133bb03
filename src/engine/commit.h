/* docker commit, engine side: pause, hand the upper dir to the image store, unpause. */
#pragma once

#include "basic/error.h"
#include "image/image.h"

typedef struct Engine Engine;

/* o->container_id/container_config are filled from the container. -ENOENT for an unknown container. */
int container_commit(Engine *e, const char *ref, bool pause, ImageCommitOptions *o, char **ret_id, BerthError **err);

/* export: the container's filesystem dirs, top first (upper when it exists, then the image layers). */
int container_export_dirs(Engine *e, const char *ref, char ***ret, BerthError **err);
/* Streams the flattened rootfs as a tar through fn (overlay mounted read-only in a child's private mount
 * namespace; nothing stays mounted). */
int container_export_run(Engine *e, char **dirs, int (*fn)(void *, const void *, size_t), void *cls, BerthError **err);
