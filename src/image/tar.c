#include "tar.h"

#include <sys/statvfs.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <errno.h>

#include "basic/sha256.h"
#include "basic/util.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

static void archive_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}
static void archive_write_freep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
}

char *image_tar_clean_path(const char *name)
{
        bool absolute = name[0] == '/';
        size_t n = strlen(name);
        char *out = malloc(n + 1);
        if (!out)
                return NULL;
        size_t len = 0;
        const char *p = name;
        while (*p) {
                size_t c = strcspn(p, "/");
                if (c == 0 || (c == 1 && p[0] == '.')) {
                        /* empty or "." */
                } else if (c == 2 && p[0] == '.' && p[1] == '.') {
                        if (len == 0) {
                                if (!absolute) {
                                        free(out);
                                        return NULL;
                                }
                        } else {
                                while (len > 0 && out[len - 1] != '/')
                                        len--;
                                if (len > 0)
                                        len--;
                        }
                } else {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, c);
                        len += c;
                }
                p += c;
                if (*p == '/')
                        p++;
        }
        out[len] = 0;
        return out;
}

/* Refuses a path whose parent components (under root) include a symlink:
 * writing there would land outside the layer. */
static int check_parents(const char *root, const char *rel, const char *what, BerthError **err)
{
        _cleanup_free_ char *full = xasprintf("%s/%s", root, rel);
        size_t rl = strlen(root) + 1;
        for (char *s = full + rl; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                struct stat st;
                int r = lstat(full, &st);
                if (r == 0 && S_ISLNK(st.st_mode)) {
                        int k = berr_set(err, EINVAL, "invalid tar entry %s: %s through symbolic link %s", rel, what,
                                         full + rl);
                        return k;
                }
                if (r == 0 && !S_ISDIR(st.st_mode))
                        return berr_set(err, EINVAL, "invalid tar entry %s: parent %s is not a directory", rel,
                                        full + rl);
                *s = '/';
                if (r < 0)
                        break; /* the rest does not exist yet */
        }
        return 0;
}

static int make_parents(const char *root, const char *rel)
{
        _cleanup_free_ char *full = xasprintf("%s/%s", root, rel);
        char *slash = strrchr(full, '/');
        *slash = 0;
        return mkdir_p(full, 0755);
}

typedef struct Src {
        struct archive *outer;
        Sha256 *sha;
        int tee_fd; /* -1, or where the uncompressed stream is copied */
        bool tee_failed;
        const UnpackLimits *lim;
        const char *dest;
        uint64_t total, next_space_check;
        int limit_errno;
        char *limit_msg; /* why a limit stopped the unpacking */
        char buf[64 * 1024];
} Src;

/* The ratio is only judged past this much output: small layers of zeros are fine. */
#define RATIO_FLOOR (64ULL << 20)
#define SPACE_CHECK_EVERY (16ULL << 20)

static int space_left(const struct statvfs *sv, uint64_t min_free, char **ret_msg)
{
        uint64_t avail = (uint64_t) sv->f_bavail * sv->f_frsize;
        if (avail >= min_free)
                return 0;
        *ret_msg = xasprintf("no space left on device: unpacking the layer would leave less than %llu MiB free "
                             "in the data root (%llu MiB left)", (unsigned long long) (min_free >> 20),
                             (unsigned long long) (avail >> 20));
        return -ENOSPC;
}

static int space_check(const char *dest, uint64_t min_free, char **ret_msg)
{
        struct statvfs sv;
        if (min_free == 0 || statvfs(dest, &sv) < 0)
                return 0;
        return space_left(&sv, min_free, ret_msg);
}

int image_unpack_bounds_check(const UnpackLimits *l, const char *what, uint64_t total, uint64_t packed,
                              int space_fd, char **ret_msg)
{
        if (l->max_size && total > l->max_size) {
                *ret_msg = xasprintf("%s is larger than %llu bytes uncompressed (--layer-max-size)", what,
                                     (unsigned long long) l->max_size);
                return -EFBIG;
        }
        if (l->max_ratio && total > RATIO_FLOOR && packed > 0 && total / packed >= l->max_ratio) {
                *ret_msg = xasprintf("%s decompresses to more than %u times its compressed size "
                                     "(%llu bytes from %llu so far; --layer-max-ratio)", what, l->max_ratio,
                                     (unsigned long long) total, (unsigned long long) packed);
                return -EFBIG;
        }
        struct statvfs sv;
        if (space_fd >= 0 && l->min_free && fstatvfs(space_fd, &sv) == 0)
                return space_left(&sv, l->min_free, ret_msg);
        return 0;
}

/* Bounds on what one layer may become: a few kilobytes of gzip must not
 * turn into gigabytes on disk. */
static int limits_check(Src *s)
{
        const UnpackLimits *l = s->lim;
        if (!l || s->limit_msg)
                return s->limit_msg ? -s->limit_errno : 0;
        uint64_t packed = archive_filter_count(s->outer) > 1 ? (uint64_t) archive_filter_bytes(s->outer, -1) : 0;
        int k = image_unpack_bounds_check(l, "layer", s->total, packed, -1, &s->limit_msg);
        if (k < 0) {
                s->limit_errno = -k;
                return k;
        }
        if (s->total >= s->next_space_check) {
                s->next_space_check = s->total + SPACE_CHECK_EVERY;
                int r = space_check(s->dest, l->min_free, &s->limit_msg);
                if (r < 0) {
                        s->limit_errno = -r;
                        return r;
                }
        }
        return 0;
}

static void tee_write(Src *s, const void *p, size_t n)
{
        const char *c = p;
        while (s->tee_fd >= 0 && !s->tee_failed && n > 0) {
                ssize_t w = write(s->tee_fd, c, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        s->tee_failed = true;
                        break;
                }
                c += w;
                n -= (size_t) w;
        }
}

static la_ssize_t src_read(struct archive *a, void *cls, const void **buf)
{
        Src *s = cls;
        la_ssize_t n = archive_read_data(s->outer, s->buf, sizeof(s->buf));
        if (n < 0) {
                archive_set_error(a, EINVAL, "%s", archive_error_string(s->outer) ?: "read error");
                return -1;
        }
        s->total += (uint64_t) n;
        if (limits_check(s) < 0) {
                archive_set_error(a, s->limit_errno, "%s", s->limit_msg);
                return -1;
        }
        sha256_update(s->sha, s->buf, (size_t) n);
        tee_write(s, s->buf, (size_t) n);
        *buf = s->buf;
        return n;
}

static int whiteout(const char *dest, const char *rel, BerthError **err)
{
        _cleanup_free_ char *dir = strdup(rel);
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;
        if (slash)
                *slash = 0;
        else
                dir[0] = 0;
        _cleanup_free_ char *dirpath = xasprintf("%s%s%s", dest, *dir ? "/" : "", dir);
        int r = mkdir_p(dirpath, 0755);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", dirpath, strerror(-r));
        if (streq(base, WH_OPAQUE)) {
                if (setxattr(dirpath, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return berr_set(err, errno, "cannot mark %s opaque: %m", dirpath);
                return 0;
        }
        if (startswith(base, WH_META_PREFIX))
                return 0; /* AUFS meta entries (.wh..wh.plnk) */
        const char *target = base + strlen(WH_PREFIX);
        if (!*target || streq(target, ".") || streq(target, ".."))
                return berr_set(err, EINVAL, "invalid whiteout entry %s", rel);
        _cleanup_free_ char *path = xasprintf("%s/%s", dirpath, target);
        rm_rf(path);
        if (mknod(path, S_IFCHR | 0, makedev(0, 0)) < 0)
                return berr_set(err, errno, "cannot create whiteout %s: %m", path);
        return 0;
}

static int unpack(struct archive *outer, const char *dest, int tee_fd, const UnpackLimits *lim,
                  LayerUnpackInfo *ret, BerthError **err)
{
        struct archive_entry *oe;
        int r = archive_read_next_header(outer, &oe);
        if (r == ARCHIVE_EOF)
                return berr_set(err, EINVAL, "invalid tar archive: empty input");
        if (r != ARCHIVE_OK)
                return berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(outer) ?: "unreadable");

        Src *src = calloc(1, sizeof(*src));
        if (!src)
                return berr_set(err, ENOMEM, "out of memory");
        src->outer = outer;
        src->sha = sha256_new();
        src->tee_fd = tee_fd;
        src->lim = lim;
        src->dest = dest;

        _cleanup_(archive_freep) struct archive *in = archive_read_new();
        _cleanup_(archive_write_freep) struct archive *out = archive_write_disk_new();
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        int64_t size = 0;
        r = 0;
        if (archive_read_open(in, src, NULL, src_read, NULL) != ARCHIVE_OK) {
                r = berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(in) ?: "unreadable");
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int k = archive_read_next_header(in, &e);
                if (k == ARCHIVE_EOF)
                        break;
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        r = berr_set(err, EINVAL, "invalid tar archive: %s",
                                     archive_error_string(in) ?: "corrupt header");
                        goto out;
                }
                const char *name = archive_entry_pathname(e);
                if (!name) {
                        r = berr_set(err, EINVAL, "invalid tar archive: entry without a name");
                        goto out;
                }
                _cleanup_free_ char *rel = image_tar_clean_path(name);
                if (!rel) {
                        r = berr_set(err, EINVAL, "invalid tar entry %s: path escapes the layer root", name);
                        goto out;
                }
                if (!*rel)
                        continue; /* "./" itself */
                r = check_parents(dest, rel, "write", err);
                if (r < 0)
                        goto out;
                const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
                mode_t type = archive_entry_filetype(e);
                if (startswith(base, WH_PREFIX)) {
                        r = whiteout(dest, rel, err);
                        if (r < 0)
                                goto out;
                        continue;
                }
                /* Device nodes are accepted as Docker does (a rootfs made by debootstrap has /dev/console,
                 * /dev/null, ...): the container's device cgroup denies access to anything outside its
                 * allow list. No set-id or sticky bits on them. */
                bool device = type == AE_IFBLK || (type == AE_IFCHR && archive_entry_rdev(e) != 0);
                if (device)
                        archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
                _cleanup_free_ char *full = xasprintf("%s/%s", dest, rel);
                /* The entry replaces whatever is there; never follow a symlink in its place. */
                struct stat st;
                if (lstat(full, &st) == 0 && (S_ISLNK(st.st_mode) || (S_ISDIR(st.st_mode) && type != AE_IFDIR)))
                        rm_rf(full);
                if (type == AE_IFCHR && !device) { /* 0/0: an overlay whiteout already */
                        make_parents(dest, rel);
                        if (mknod(full, S_IFCHR | 0, makedev(0, 0)) < 0) {
                                r = berr_set(err, errno, "cannot create %s: %m", rel);
                                goto out;
                        }
                        continue;
                }
                const char *hl = archive_entry_hardlink(e);
                _cleanup_free_ char *hlfull = NULL;
                if (hl) {
                        _cleanup_free_ char *hrel = image_tar_clean_path(hl);
                        if (!hrel || !*hrel) {
                                r = berr_set(err, EINVAL, "invalid tar entry %s: hard link to %s points outside the layer",
                                             name, hl);
                                goto out;
                        }
                        r = check_parents(dest, hrel, "hard link", err);
                        if (r < 0)
                                goto out;
                        hlfull = xasprintf("%s/%s", dest, hrel);
                        struct stat hst;
                        if (lstat(hlfull, &hst) < 0 || S_ISDIR(hst.st_mode)) {
                                r = berr_set(err, EINVAL, "invalid tar entry %s: hard link target %s not in the layer",
                                             name, hl);
                                goto out;
                        }
                        archive_entry_set_hardlink(e, hlfull);
                } else if (type == AE_IFREG) {
                        size += archive_entry_size(e);
                } else if (type == AE_IFLNK && archive_entry_symlink(e)) {
                        size += (int64_t) strlen(archive_entry_symlink(e));
                }
                /* Keep only harmless xattrs: trusted.* would steer overlayfs. */
                if (archive_entry_xattr_reset(e) > 0) {
                        struct { char *n; void *v; size_t l; } keep[32];
                        int nk = 0;
                        const char *xn;
                        const void *xv;
                        size_t xl;
                        while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK)
                                if (!startswith(xn, "trusted.") && nk < 32) {
                                        keep[nk].n = strdup(xn);
                                        keep[nk].v = malloc(xl ? xl : 1);
                                        memcpy(keep[nk].v, xv, xl);
                                        keep[nk].l = xl;
                                        nk++;
                                }
                        archive_entry_xattr_clear(e);
                        for (int i = 0; i < nk; i++) {
                                archive_entry_xattr_add_entry(e, keep[i].n, keep[i].v, keep[i].l);
                                free(keep[i].n);
                                free(keep[i].v);
                        }
                }
                archive_entry_set_pathname(e, full);
                k = archive_write_header(out, e);
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        r = berr_set(err, EINVAL, "cannot extract %s: %s", name, archive_error_string(out) ?: "error");
                        goto out;
                }
                if (!hl && type == AE_IFREG && archive_entry_size(e) > 0) {
                        const void *buf;
                        size_t len;
                        la_int64_t off;
                        for (;;) {
                                k = archive_read_data_block(in, &buf, &len, &off);
                                if (k == ARCHIVE_EOF)
                                        break;
                                if (k != ARCHIVE_OK) {
                                        r = berr_set(err, EINVAL, "invalid tar archive: %s",
                                                     archive_error_string(in) ?: "truncated");
                                        goto out;
                                }
                                if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK) {
                                        r = berr_set(err, EIO, "cannot write %s: %s", name,
                                                     archive_error_string(out) ?: "error");
                                        goto out;
                                }
                        }
                }
                k = archive_write_finish_entry(out);
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        r = berr_set(err, EIO, "cannot extract %s: %s", name, archive_error_string(out) ?: "error");
                        goto out;
                }
        }
        /* The diff id covers the whole stream, padding after the end marker included. */
        for (;;) {
                la_ssize_t n = archive_read_data(outer, src->buf, sizeof(src->buf));
                if (n < 0) {
                        r = berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(outer) ?: "corrupt");
                        goto out;
                }
                if (n == 0)
                        break;
                src->total += (uint64_t) n;
                if (limits_check(src) < 0) {
                        r = -src->limit_errno;
                        goto out;
                }
                sha256_update(src->sha, src->buf, (size_t) n);
                tee_write(src, src->buf, (size_t) n);
        }
        if (src->tee_failed) {
                r = berr_set(err, EIO, "cannot keep the layer tar: %m");
                goto out;
        }
        if (archive_write_close(out) != ARCHIVE_OK) {
                r = berr_set(err, EIO, "cannot finish extraction: %s", archive_error_string(out) ?: "error");
                goto out;
        }
        char hex[65];
        sha256_finish_hex(src->sha, hex);
        src->sha = NULL;
        snprintf(ret->diff_id, sizeof(ret->diff_id), "sha256:%s", hex);
        ret->size = size;
        ret->compressed = archive_filter_count(outer) > 1;
out:
        if (r < 0 && src->limit_msg)
                r = berr_set(err, src->limit_errno, "%s", src->limit_msg);
        if (src->sha)
                sha256_free(src->sha);
        free(src->limit_msg);
        free(src);
        return r;
}

static struct archive *outer_new(void)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        return a;
}

int image_unpack_fd_tee(int fd, const char *dest, int tee_fd, const UnpackLimits *lim, LayerUnpackInfo *ret,
                        BerthError **err)
{
        if (lim) {
                _cleanup_free_ char *msg = NULL;
                int r = space_check(dest, lim->min_free, &msg);
                if (r < 0)
                        return berr_set(err, -r, "%s", msg);
        }
        _cleanup_(archive_freep) struct archive *a = outer_new();
        if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
                return berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(a) ?: "unreadable");
        return unpack(a, dest, tee_fd, lim, ret, err);
}

int image_unpack_fd(int fd, const char *dest, LayerUnpackInfo *ret, BerthError **err)
{
        return image_unpack_fd_tee(fd, dest, -1, NULL, ret, err);
}

int image_unpack_mem(const void *buf, size_t len, const char *dest, LayerUnpackInfo *ret, BerthError **err)
{
        _cleanup_(archive_freep) struct archive *a = outer_new();
        if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
                return berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(a) ?: "unreadable");
        return unpack(a, dest, -1, NULL, ret, err);
}
