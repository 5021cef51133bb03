/* Shared by the builder's files only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "basic/error.h"

/* A read-only filesystem root made of directories, top first: the build context (one directory) or
 * an image (its layer directories, with overlay whiteouts and opaque directories). Paths are looked
 * up component by component with symbolic links resolved inside the root, and every open goes through
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) on the layer that holds the entry: nothing outside the
 * root is ever read, whatever its links say. */
/* Directory levels a copy, a checksum or a glob walks at most (each level is a stack frame). */
#define BUILD_MAX_DEPTH 1000

typedef struct FsRoot {
        int *fds;
        size_t n;
} FsRoot;

int fsroot_open_dirs(char **dirs_bottom_first, FsRoot *ret, BerthError **err);
int fsroot_open_dir(const char *dir, FsRoot *ret, BerthError **err);
void fsroot_close(FsRoot *r);
/* path (absolute or relative to the root) without links: *ret_rel ("" for the root), the layer that
 * holds it and its lstat. follow: also resolve a link in the last component. -ENOENT, -ELOOP. */
int fsroot_resolve(FsRoot *r, const char *path, bool follow, char **ret_rel, size_t *ret_layer, struct stat *ret_st);
/* The names in directory rel (resolved), merged over the layers, sorted. */
int fsroot_list(FsRoot *r, const char *rel, char ***ret);
/* A read fd of the regular file rel in layer. */
int fsroot_open_file(FsRoot *r, size_t layer, const char *rel);
/* A user or group name through the root's /etc/passwd or /etc/group; -ENOENT when absent. */
int fsroot_lookup_id(FsRoot *r, const char *file, const char *name, unsigned *ret);

/* What one COPY or ADD does. */
typedef struct CopySpec {
        FsRoot *src;       /* the context, or the stage or image of --from */
        char **sources;    /* as written (expanded), relative to the source root */
        const char *dest;  /* absolute, a trailing "/" kept */
        FsRoot *image;     /* the image copied into (parent dirs, existing directories, chown names) */
        bool has_chown;
        unsigned uid, gid;
        bool has_chmod;
        mode_t chmod;
        bool add;          /* ADD: local tar archives are unpacked */
        const char *cmd;   /* "COPY" or "ADD", for errors */
} CopySpec;
/* Checks the sources and hashes them: "file:<hex>", "dir:<hex>" or "multi:<hex>" (the cache key). */
int build_copy_checksum(CopySpec *c, char **ret, BerthError **err);
/* Writes the copy into upper (an empty directory that becomes the layer). */
int build_copy_run(CopySpec *c, const char *upper, BerthError **err);
/* upper gets path (absolute) as a directory, with its parents as in the image. */
int build_mkdir_layer(FsRoot *image, const char *upper, const char *path, BerthError **err);
