/* Volumes: named data directories that outlive containers (docs/volumes.md).
 *
 * Each volume is a row of the `volumes` table and a directory <data-root>/volumes/<name>/, whose
 * _data is what containers mount. The local driver's options (type, o, device) mount a file
 * system on _data when the first container that uses the volume starts and unmount it when the
 * last one stops (a reference per user, kept in memory and rebuilt at start-up from the
 * containers that still run).
 *
 * The module knows nothing of containers: the engine says who uses what. Locking: the store is
 * reached under *lock (Engine.lock), taken here for each statement, so no function below may be
 * called with it held; the mount references have their own leaf lock, under which only
 * mount(2)/umount(2) run. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "state/store.h"

typedef struct EventLog EventLog;

/* The label that marks a volume made for a container without a name (moby's, too). */
#define VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

typedef struct VolumeRef VolumeRef;

typedef struct VolumeStore {
        char *root; /* <data-root>/volumes */
        Store *store;
        EventLog *events;
        pthread_mutex_t *lock; /* Engine.lock: guards the store */
        pthread_mutex_t mount_lock;
        VolumeRef *refs; /* under mount_lock */
        size_t n_refs;
} VolumeStore;

typedef struct Volume {
        char *name;
        char *driver;
        int64_t created; /* unix ns */
        json_t *labels;  /* object, or NULL */
        json_t *options; /* object, or NULL */
} Volume;

int volume_store_open(const char *data_root, Store *store, EventLog *events, pthread_mutex_t *lock,
                      VolumeStore **ret, BerthError **err);
void volume_store_free(VolumeStore *vs);

void volume_free(Volume *v);
static inline void volume_freep(Volume **v) { if (*v) volume_free(*v); }
#define _cleanup_volume_ _cleanup_(volume_freep)
void volume_list_free(Volume **v, size_t n);

/* Docker's name rule for the local driver, [a-zA-Z0-9][a-zA-Z0-9_.-]+, with its errors
 * ("create NAME: ..."). */
int volume_name_check(const char *name, BerthError **err);
/* Creates a volume; name NULL or "" gives a random 64-hex name. An existing volume of that name
 * is returned as it is (Docker's idempotent create). driver NULL or "" is "local". */
int volume_create(VolumeStore *vs, const char *name, const char *driver, json_t *options, json_t *labels,
                  Volume **ret, bool *ret_created, BerthError **err);
/* -ENOENT "get NAME: no such volume" */
int volume_get(VolumeStore *vs, const char *name, Volume **ret, BerthError **err);
int volume_list(VolumeStore *vs, Volume ***ret, size_t *ret_n, BerthError **err);
/* Removes the row, then the directory (unmounting what is mounted on _data). The caller has
 * checked that no container uses it. */
int volume_remove(VolumeStore *vs, const char *name, BerthError **err);
/* {"CreatedAt","Driver","Labels","Mountpoint","Name","Options","Scope"} */
json_t *volume_json(VolumeStore *vs, const Volume *v);
char *volume_data_path(VolumeStore *vs, const char *name); /* <root>/<name>/_data */
bool volume_is_anonymous(const Volume *v);

/* A user (a container id) takes a reference before it starts; the first mounts the driver's
 * file system on _data when the volume has options. Returns the host path to bind. */
int volume_mount(VolumeStore *vs, const Volume *v, const char *user, char **ret_path, BerthError **err);
/* Drops the user's reference; the last unmounts. false for a user that held none. */
bool volume_unmount(VolumeStore *vs, const char *name, const char *user);
/* Start-up: unmounts _data of every volume with no reference (logs each action). */
void volume_reconcile(VolumeStore *vs);

/* ---- pure parsing (volume/spec.c) ---- */

/* One -v / Binds entry, as Docker's Linux parser reads it. */
typedef struct VolumeBind {
        char *source;      /* host path, volume name, or NULL (anonymous) */
        char *destination; /* cleaned */
        char *mode;        /* as given ("" when none) */
        bool bind;         /* source is a host path */
        bool rw;
        bool nocopy;       /* "nocopy" in the mode */
        char *propagation; /* a propagation mode in the mode, or NULL */
} VolumeBind;
void volume_bind_done(VolumeBind *b);
int volume_bind_parse(const char *raw, VolumeBind *ret, BerthError **err);
bool volume_mode_valid(const char *mode);
/* HostConfig.Mounts[i] checked as Docker does: "invalid mount config for type ..." (EINVAL). A bind
 * source must exist (check_source). */
int volume_mount_validate(json_t *m, bool check_source, BerthError **err);
/* "id[:ro|:rw]" of VolumesFrom. */
int volume_from_parse(const char *spec, char **ret_id, bool *ret_rw, BerthError **err);
/* Lexically cleaned absolute path (Go's path.Clean). */
char *volume_path_clean(const char *p);
/* TmpfsOptions (SizeBytes, Mode) and ReadOnly as tmpfs data options, Docker's way ("size=64m,mode=1770"). */
char *volume_tmpfs_options(long long size, long long mode, bool ro);
