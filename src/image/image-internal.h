/* Helpers shared by the files of src/image/ only. */
#pragma once

#include <jansson.h>

#include "basic/error.h"
#include "image/tar.h"

/* Applies Dockerfile change instructions (CMD, ENV, ...) to a container-config object. */
int image_apply_changes(json_t *cfg, char **changes, BerthError **err);
