/* The mount points of a container as its processes see them: where each one is in the
 * container and what backs it on the host. Used where berth reaches into a container's
 * filesystem from outside (the archive API on a stopped container). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "engine/container.h"

typedef struct MountPoint {
        char *destination; /* absolute path in the container */
        char *source;      /* host path; NULL for tmpfs */
        char *type;        /* "bind", "volume" or "tmpfs" */
        char *name;        /* the volume's name, NULL otherwise */
        bool rw;
} MountPoint;

/* Every mount point of c, in the order they are mounted. The caller holds no lock. */
int container_mount_points(Engine *e, Container *c, MountPoint **ret, size_t *n, BerthError **err);
void mount_points_free(MountPoint *m, size_t n);
