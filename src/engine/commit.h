/* docker commit, engine side: pause, hand the upper dir to the image store, unpause. */
#pragma once

#include "basic/error.h"
#include "image/image.h"

typedef struct Engine Engine;

/* o->container_id/container_config are filled from the container. -ENOENT for an unknown container. */
int container_commit(Engine *e, const char *ref, bool pause, ImageCommitOptions *o, char **ret_id, BerthError **err);
