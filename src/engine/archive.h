/* The archive API's core (docker cp): stat, tar and untar of paths inside a container.
 *
 * Every path is resolved inside the container's root whatever its symlinks say: a walk
 * with openat2(RESOLVE_IN_ROOT) from a directory fd on that root, and every read and
 * write goes through fds from that walk. The root is /proc/<pid>/root of a running
 * container's init (its volumes, binds and tmpfs as the container sees them); for a
 * created or stopped one, its overlay and bind mounts are set up in a private mount
 * namespace that lives as long as the operation (docs/archive.md). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "engine/engine.h"

/* Docker's ContainerPathStat. */
typedef struct ArchivePathStat {
        char *name;
        int64_t size;
        uint32_t mode; /* Go's os.FileMode */
        int64_t mtime_sec;
        long mtime_nsec;
        char *link_target; /* "" unless a symlink: its full resolution inside the container */
} ArchivePathStat;
void archive_path_stat_done(ArchivePathStat *s);

/* HEAD: -ENOENT "Could not find the file P in container C", -EINVAL for an empty path. */
int container_archive_stat(Engine *e, const char *ref, const char *path, ArchivePathStat *ret, BerthError **err);

/* GET: resolves and stats path, then container_archive_write streams the tar of it (the
 * "archive-path" event is emitted on success of the open). */
typedef struct ContainerArchive ContainerArchive;
int container_archive_open(Engine *e, const char *ref, const char *path, ContainerArchive **ret,
                           ArchivePathStat *ret_stat, BerthError **err);
/* The old POST /containers/{id}/copy (API < 1.24): the tar of resource with every symlink
 * followed, the last one too, named from what it resolved to; a "copy" event. */
int container_archive_copy_open(Engine *e, const char *ref, const char *resource, ContainerArchive **ret,
                                BerthError **err);
/* fn returns <0 to stop (the client left). */
int container_archive_write(ContainerArchive *a, int (*fn)(void *cls, const void *buf, size_t len), void *cls,
                            BerthError **err);
void container_archive_free(ContainerArchive *a);

/* PUT: extracts the (possibly compressed) tar read from fd into the directory path. */
typedef struct ArchiveExtractOptions {
        bool no_overwrite_dir_non_dir; /* refuse replacing a directory by a non-directory and back */
        bool copy_uid_gid;             /* own every entry by the container's User (when set) */
} ArchiveExtractOptions;
int container_archive_extract(Engine *e, const char *ref, const char *path, int fd, const ArchiveExtractOptions *o,
                              BerthError **err);
