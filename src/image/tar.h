/* Layer tar unpacking with sanitising: plain, gzip, xz, zstd (anything
 * libarchive detects), Docker whiteouts converted to overlayfs form, and every
 * entry checked before it touches the disk. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"

typedef struct LayerUnpackInfo {
        char diff_id[72]; /* "sha256:" + sha256 of the uncompressed tar stream */
        int64_t size;     /* bytes of regular files and symlink targets */
        bool compressed;  /* the input went through a decompression filter */
} LayerUnpackInfo;

/* Unpacks the (possibly compressed) tar read from fd into dest, an existing
 * empty directory. -EINVAL with a message for hostile, truncated or corrupt
 * input; dest is then left half-filled and the caller removes it. */
int image_unpack_fd(int fd, const char *dest, LayerUnpackInfo *ret, BerthError **err);
/* Bounds for one layer (docs/security.md); 0 turns a bound off. */
typedef struct UnpackLimits {
        unsigned max_ratio;  /* uncompressed / compressed bytes, judged past 64 MiB */
        uint64_t max_size;   /* uncompressed bytes */
        uint64_t min_free;   /* bytes that must stay free on dest's filesystem */
} UnpackLimits;

/* Same, and copies the uncompressed tar stream to tee_fd (-1 for none): the
 * bytes the diff id hashes, kept for save and push. lim may be NULL; a bound
 * crossed fails with EFBIG or ENOSPC and says which. */
int image_unpack_fd_tee(int fd, const char *dest, int tee_fd, const UnpackLimits *lim, LayerUnpackInfo *ret,
                        BerthError **err);
/* The same bounds for tar data unpacked elsewhere (the archive API's extraction): total
 * uncompressed and packed (0: not compressed) bytes so far; space_fd, when >= 0, is on the
 * filesystem that must keep lim->min_free. -EFBIG or -ENOSPC and *ret_msg (what names the
 * thing unpacked). */
int image_unpack_bounds_check(const UnpackLimits *lim, const char *what, uint64_t total, uint64_t packed,
                              int space_fd, char **ret_msg);
int image_unpack_mem(const void *buf, size_t len, const char *dest, LayerUnpackInfo *ret, BerthError **err);

/* Lexically cleans a tar entry name inside the layer root ("./a/../b" -> "b",
 * "/x" -> "x"); NULL when it escapes ("../x", "a/../../x"). "" is the root. */
char *image_tar_clean_path(const char *name);
