/* A container's mount points: binds, volumes and tmpfs mounts of -v, --mount, --volumes-from and
 * the image's VOLUMEs, resolved once at create (volumes are created then) and kept in the
 * container's record as "MountPoints" (docs/volumes.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "engine/container.h"

typedef struct MountPoint {
        char *destination;
        char *source; /* host path */
        char *type;   /* bind|volume|tmpfs */
        char *name;
        bool rw;
} MountPoint;

/* The mount points of c with their host paths (NULL for a tmpfs; a volume subpath resolved beneath its
 * volume). The caller holds no lock. */
int container_mount_points(Engine *e, Container *c, MountPoint **ret, size_t *n, BerthError **err);
void mount_points_free(MountPoint *m, size_t n);

/* create: Config.Volumes, HostConfig.Binds, Mounts and VolumesFrom into the record's mount points,
 * creating the volumes they name (the anonymous ones too). Called without e->lock. */
int mountpoints_resolve(Engine *e, json_t *cfg, json_t *hc, json_t **ret, BerthError **err);
/* The record's mount points (the caller's own copy), built from the Binds of records made before there were
 * mount points. Called with e->lock held. */
json_t *mountpoints_of_locked(Container *c);
/* Docker's Mounts of inspect and list, from mountpoints_of_locked(). */
json_t *mountpoints_api_json(json_t *mps);
/* start: the spec.json mounts of c, sorted parents first; takes a reference on each volume for c
 * (emitting "mount"). Called without e->lock. */
int mountpoints_spec(Engine *e, Container *c, json_t *spec_mounts, BerthError **err);
/* stop: drops c's references (the last user unmounts the volume's file system; "unmount"). */
void mountpoints_release(Engine *e, Container *c);
/* rm -v and AutoRemove: removes c's anonymous volumes that no other container uses. */
void mountpoints_remove_anonymous(Engine *e, Container *c);
/* Start-up: takes the references of every running container, then unmounts the rest. */
void mountpoints_reconcile(Engine *e);
/* The ids of the containers whose mount points name the volume (caller frees). e->lock held. */
char **mountpoints_volume_users_locked(Engine *e, const char *name);
