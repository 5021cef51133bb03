/* COPY and ADD: reading a root (the context or an image's layers) without leaving it, and writing
 * the new layer's upper directory without following anything it contains (build-internal.h). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/sha256.h"
#include "basic/util.h"
#include "build/build-internal.h"
#include "build/dockerignore.h"
#include "image/tar.h"

static int open_beneath(int dirfd, const char *rel, int flags)
{
        struct open_how how = { .flags = (uint64_t) (flags | O_CLOEXEC | O_NOFOLLOW),
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool fd_opaque(int fd)
{
        char p[64], v[4];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        ssize_t n = getxattr(p, "trusted.overlay.opaque", v, sizeof(v));
        return n == 1 && v[0] == 'y';
}

/* The target of the link rel in layer (heap; the copy recurses on a connection thread's stack). */
static char *read_link(FsRoot *r, size_t layer, const char *rel)
{
        _cleanup_close_ int lfd = open_beneath(r->fds[layer], rel, O_PATH);
        if (lfd < 0)
                return NULL;
        char *t = xmalloc(PATH_MAX);
        ssize_t n = readlinkat(lfd, "", t, PATH_MAX - 1);
        if (n < 0) {
                free(t);
                return NULL;
        }
        t[n] = 0;
        return t;
}

/* Copies fd in to fd out with a heap buffer. */
static int copy_fd(int in, int out)
{
        _cleanup_free_ char *buf = xmalloc(65536);
        ssize_t k;
        while ((k = read(in, buf, 65536)) > 0)
                if (loop_write(out, buf, (size_t) k) < 0)
                        return -errno;
        return k < 0 ? -errno : 0;
}

void fsroot_close(FsRoot *r)
{
        for (size_t i = 0; i < r->n; i++)
                if (r->fds[i] >= 0)
                        close(r->fds[i]);
        free(r->fds);
        *r = (FsRoot){ 0 };
}

int fsroot_open_dirs(char **dirs, FsRoot *ret, BerthError **err)
{
        size_t n = strv_length(dirs);
        FsRoot r = { .fds = xcalloc(n ? n : 1, sizeof(int)), .n = n };
        for (size_t i = 0; i < n; i++) {
                r.fds[i] = open(dirs[n - 1 - i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (r.fds[i] < 0) {
                        int e = errno;
                        fsroot_close(&r);
                        return berr_set(err, e, "cannot open %s: %m", dirs[n - 1 - i]);
                }
        }
        *ret = r;
        return 0;
}

int fsroot_open_dir(const char *dir, FsRoot *ret, BerthError **err)
{
        char *dirs[] = { (char *) dir, NULL };
        return fsroot_open_dirs(dirs, ret, err);
}

/* The entry rel (no links in it) in the topmost layer that has it; lower layers are hidden by a
 * whiteout or by an opaque parent. */
static int lookup(FsRoot *r, const char *rel, size_t *ret_layer, struct stat *ret_st)
{
        _cleanup_free_ char *parent = xstrdup(rel);
        char *slash = strrchr(parent, '/');
        if (slash)
                *slash = 0;
        else
                parent[0] = 0;
        for (size_t i = 0; i < r->n; i++) {
                int fd = open_beneath(r->fds[i], rel, O_PATH);
                if (fd >= 0) {
                        struct stat st;
                        int k = fstat(fd, &st);
                        close(fd);
                        if (k < 0 || is_whiteout(&st))
                                return -ENOENT;
                        *ret_layer = i;
                        *ret_st = st;
                        return 0;
                }
                if (!*rel)
                        continue;
                /* an opaque parent in this layer hides the layers below */
                _cleanup_close_ int pfd = open_beneath(r->fds[i], parent, O_PATH | O_DIRECTORY);
                if (pfd >= 0 && *parent && fd_opaque(pfd))
                        return -ENOENT;
        }
        return -ENOENT;
}

int fsroot_resolve(FsRoot *r, const char *path, bool follow, char **ret_rel, size_t *ret_layer, struct stat *ret_st)
{
        char **todo = NULL; /* components still to walk, in order */
        char **done = NULL; /* the resolved path so far */
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
                strv_extend(&todo, t);
        int hops = 0, r_ = 0;
        size_t layer = 0;
        struct stat st;
        if (r->n == 0) {
                strv_free(todo);
                return -ENOENT;
        }
        r_ = lookup(r, "", &layer, &st);
        size_t ti = 0;
        while (r_ == 0 && todo && todo[ti]) {
                const char *c = todo[ti++];
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        size_t n = strv_length(done);
                        if (n) {
                                free(done[n - 1]);
                                done[n - 1] = NULL;
                        }
                        continue;
                }
                strv_extend(&done, c);
                _cleanup_free_ char *cand = NULL;
                for (size_t k = 0; done[k]; k++) {
                        char *n = xasprintf("%s%s%s", cand ? cand : "", cand ? "/" : "", done[k]);
                        free(cand);
                        cand = n;
                }
                r_ = lookup(r, cand, &layer, &st);
                if (r_ < 0)
                        break;
                bool last = !todo[ti];
                if (S_ISLNK(st.st_mode) && (!last || follow)) {
                        if (++hops > 40) {
                                r_ = -ELOOP;
                                break;
                        }
                        _cleanup_free_ char *target = read_link(r, layer, cand);
                        if (!target) {
                                r_ = -errno;
                                break;
                        }
                        size_t nd = strv_length(done);
                        free(done[nd - 1]);
                        done[nd - 1] = NULL;
                        if (target[0] == '/') {
                                strv_free(done);
                                done = NULL;
                        }
                        /* the link's components replace it in the walk */
                        char **rest = NULL;
                        char *s2 = NULL;
                        for (char *t = strtok_r(target, "/", &s2); t; t = strtok_r(NULL, "/", &s2))
                                strv_extend(&rest, t);
                        for (size_t k = ti; todo[k]; k++)
                                strv_extend(&rest, todo[k]);
                        strv_free(todo);
                        todo = rest;
                        ti = 0;
                        if (!todo)
                                r_ = lookup(r, "", &layer, &st);
                        continue;
                }
                if (!last && !S_ISDIR(st.st_mode)) {
                        r_ = -ENOTDIR;
                        break;
                }
        }
        if (r_ == 0) {
                /* a link resolved to the root or a ".." at the end: look the final path up again */
                _cleanup_free_ char *rel = NULL;
                for (size_t k = 0; done && done[k]; k++) {
                        char *n = xasprintf("%s%s%s", rel ? rel : "", rel ? "/" : "", done[k]);
                        free(rel);
                        rel = n;
                }
                if (!rel)
                        rel = xstrdup("");
                r_ = lookup(r, rel, &layer, &st);
                if (r_ == 0) {
                        *ret_rel = TAKE_PTR(rel);
                        if (ret_layer)
                                *ret_layer = layer;
                        if (ret_st)
                                *ret_st = st;
                }
        }
        strv_free(todo);
        strv_free(done);
        return r_;
}

static int cmpstr(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int fsroot_list(FsRoot *r, const char *rel, char ***ret)
{
        char **names = NULL, **hidden = NULL;
        for (size_t i = 0; i < r->n; i++) {
                int fd = open_beneath(r->fds[i], rel, O_RDONLY | O_DIRECTORY);
                if (fd < 0) {
                        if (fd == -ENOTDIR)
                                break; /* a non-directory here hides the layers below */
                        continue;
                }
                bool opaque = fd_opaque(fd);
                DIR *d = fdopendir(fd);
                if (!d) {
                        close(fd);
                        continue;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        if (strv_contains(names, de->d_name) || strv_contains(hidden, de->d_name))
                                continue;
                        struct stat st;
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&st))
                                strv_extend(&hidden, de->d_name);
                        else
                                strv_extend(&names, de->d_name);
                }
                closedir(d);
                if (opaque)
                        break;
        }
        strv_free(hidden);
        size_t n = strv_length(names);
        if (n)
                qsort(names, n, sizeof(char *), cmpstr);
        *ret = names;
        return 0;
}

int fsroot_open_file(FsRoot *r, size_t layer, const char *rel)
{
        return open_beneath(r->fds[layer], rel, O_RDONLY);
}

static int read_all_fd(int fd, char **ret)
{
        size_t cap = 4096, n = 0;
        char *b = xmalloc(cap);
        for (;;) {
                if (n + 1 >= cap) {
                        if (cap > 16 << 20) {
                                free(b);
                                return -EFBIG;
                        }
                        char *nb = xrealloc(b, cap * 2);
                        b = nb;
                        cap *= 2;
                }
                ssize_t k = read(fd, b + n, cap - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        free(b);
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        b[n] = 0;
        *ret = b;
        return 0;
}

int fsroot_lookup_id(FsRoot *r, const char *file, const char *name, unsigned *ret)
{
        _cleanup_free_ char *rel = NULL;
        size_t layer;
        struct stat st;
        if (fsroot_resolve(r, file, true, &rel, &layer, &st) < 0 || !S_ISREG(st.st_mode))
                return -ENOENT;
        _cleanup_close_ int fd = fsroot_open_file(r, layer, rel);
        _cleanup_free_ char *text = NULL;
        if (fd < 0 || read_all_fd(fd, &text) < 0)
                return -ENOENT;
        size_t nl = strlen(name);
        for (char *line = text; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
                        char *f = strchr(line + nl + 1, ':'); /* past the password */
                        if (f) {
                                char *end;
                                unsigned long v = strtoul(f + 1, &end, 10);
                                if (end != f + 1 && *end == ':') {
                                        *ret = (unsigned) v;
                                        return 0;
                                }
                        }
                }
                line = next;
        }
        return -ENOENT;
}

/* ---- sources ---- */

typedef struct Source {
        char *rel;     /* resolved in the source root */
        char *name;    /* the base name the destination uses */
        size_t layer;
        struct stat st;
} Source;

static bool has_wildcards(const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' && s[1]) {
                        s++;
                        continue;
                }
                if (*s == '*' || *s == '?' || *s == '[')
                        return true;
        }
        return false;
}

/* Every path under rel (not following links) that matches pattern, in walk order. */
static void glob_walk(FsRoot *r, const char *rel, const char *pattern, char ***out, unsigned depth)
{
        if (depth > BUILD_MAX_DEPTH)
                return;
        _cleanup_strv_free_ char **names = NULL;
        fsroot_list(r, rel, &names);
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *p = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                if (fnmatch(pattern, p, FNM_PATHNAME) == 0)
                        strv_extend(out, p);
                size_t layer;
                struct stat st;
                if (lookup(r, p, &layer, &st) == 0 && S_ISDIR(st.st_mode))
                        glob_walk(r, p, pattern, out, depth + 1);
        }
}

static void sources_free(Source *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].rel);
                free(v[i].name);
        }
        free(v);
}

static int collect_sources(CopySpec *c, Source **ret, size_t *ret_n, BerthError **err)
{
        Source *v = NULL;
        size_t n = 0, cap = 0;
        for (size_t i = 0; c->sources && c->sources[i]; i++) {
                const char *s = c->sources[i];
                if (c->add && (startswith(s, "http://") || startswith(s, "https://"))) {
                        sources_free(v, n);
                        return berr_set(err, ENOTSUP,
                                        "ADD failed: %s: downloading from a URL is not supported by berth's builder; "
                                        "fetch it into the context and COPY it", s);
                }
                if (startswith(s, "git@") || (startswith(s, "git://"))) {
                        sources_free(v, n);
                        return berr_set(err, ENOTSUP, "%s failed: %s: git sources are not supported", c->cmd, s);
                }
                _cleanup_strv_free_ char **paths = NULL;
                _cleanup_free_ char *clean = dockerignore_clean(s);
                const char *pat = clean[0] == '/' ? clean + 1 : clean;
                if (has_wildcards(s)) {
                        glob_walk(c->src, "", pat, &paths, 0);
                        if (!paths)
                                continue;
                } else
                        strv_extend(&paths, streq(pat, ".") ? "" : pat);
                for (size_t k = 0; paths[k]; k++) {
                        Source x = { 0 };
                        int r = fsroot_resolve(c->src, paths[k], true, &x.rel, &x.layer, &x.st);
                        if (r < 0) {
                                sources_free(v, n);
                                return berr_set(err, ENOENT,
                                                "%s failed: file not found in build context or excluded by "
                                                ".dockerignore: stat %s: file does not exist",
                                                c->cmd, s);
                        }
                        const char *b = strrchr(paths[k], '/');
                        x.name = xstrdup(b ? b + 1 : paths[k]);
                        if (n == cap) {
                                cap = cap ? cap * 2 : 8;
                                Source *nv = xrealloc(v, cap * sizeof(Source));
                                v = nv;
                        }
                        v[n++] = x;
                }
        }
        if (n == 0)
                return berr_set(err, ENOENT, "%s failed: no source files were specified", c->cmd);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- checksum ---- */

static void hash_str(Sha256 *h, const char *s)
{
        sha256_update(h, s, strlen(s) + 1);
}

static int hash_entry(FsRoot *r, Sha256 *h, const char *rel, const char *name, size_t layer, const struct stat *st,
                      unsigned depth)
{
        if (depth > BUILD_MAX_DEPTH)
                return -ELOOP;
        char meta[128];
        snprintf(meta, sizeof(meta), "%o %u %u %lld", (unsigned) st->st_mode, (unsigned) st->st_uid,
                 (unsigned) st->st_gid, S_ISREG(st->st_mode) ? (long long) st->st_size : 0LL);
        hash_str(h, name);
        hash_str(h, meta);
        if (S_ISLNK(st->st_mode)) {
                _cleanup_free_ char *t = read_link(r, layer, rel);
                if (!t)
                        return -errno;
                hash_str(h, t);
        } else if (S_ISREG(st->st_mode)) {
                _cleanup_close_ int fd = fsroot_open_file(r, layer, rel);
                if (fd < 0)
                        return fd;
                _cleanup_free_ char *buf = xmalloc(65536);
                ssize_t k;
                while ((k = read(fd, buf, 65536)) > 0)
                        sha256_update(h, buf, (size_t) k);
                if (k < 0)
                        return -errno;
        } else if (S_ISDIR(st->st_mode)) {
                _cleanup_strv_free_ char **names = NULL;
                fsroot_list(r, rel, &names);
                for (size_t i = 0; names && names[i]; i++) {
                        _cleanup_free_ char *c = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                        size_t l;
                        struct stat cst;
                        if (lookup(r, c, &l, &cst) < 0)
                                continue;
                        _cleanup_free_ char *cn = xasprintf("%s/%s", name, names[i]);
                        int k = hash_entry(r, h, c, cn, l, &cst, depth + 1);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

int build_copy_checksum(CopySpec *c, char **ret, BerthError **err)
{
        Source *v = NULL;
        size_t n = 0;
        int r = collect_sources(c, &v, &n, err);
        if (r < 0)
                return r;
        bool dest_dir = endswith(c->dest, "/");
        if (n > 1 && !dest_dir) {
                sources_free(v, n);
                return berr_set(err, EINVAL,
                                "When using %s with more than one source file, the destination must be a directory "
                                "and end with a /", c->cmd);
        }
        Sha256 *h = sha256_new();
        for (size_t i = 0; i < n && r >= 0; i++)
                r = hash_entry(c->src, h, v[i].rel, v[i].name, v[i].layer, &v[i].st, 0);
        char hex[65];
        sha256_finish_hex(h, hex);
        const char *kind = n > 1 ? "multi" : S_ISDIR(v[0].st.st_mode) ? "dir" : "file";
        sources_free(v, n);
        if (r == -ELOOP)
                return berr_set(err, EINVAL, "%s failed: a source is nested more than %d directories deep", c->cmd,
                                BUILD_MAX_DEPTH);
        if (r < 0)
                return berr_set(err, -r, "%s failed: cannot read the sources: %s", c->cmd, strerror(-r));
        *ret = xasprintf("%s:%s", kind, hex);
        return 0;
}

/* ---- writing the layer ---- */

typedef struct Writer {
        CopySpec *c;
        BerthError **err;
} Writer;

static void apply_owner_mode(Writer *w, int dirfd, const char *name, const struct stat *st, bool is_link)
{
        uid_t uid = w->c->has_chown ? w->c->uid : 0;
        gid_t gid = w->c->has_chown ? w->c->gid : 0;
        fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        if (!is_link)
                fchmodat(dirfd, name, w->c->has_chmod ? w->c->chmod : (st->st_mode & 07777), 0);
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Copies entry rel of the source (lstat st) to name in dirfd. */
static int copy_entry(Writer *w, const char *rel, size_t layer, const struct stat *st, int dirfd, const char *name,
                      unsigned depth)
{
        if (depth > BUILD_MAX_DEPTH)
                return berr_set(w->err, EINVAL, "%s failed: a source is nested more than %d directories deep", w->c->cmd,
                                BUILD_MAX_DEPTH);
        FsRoot *r = w->c->src;
        struct stat old;
        if (fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0 && (!S_ISDIR(old.st_mode) || !S_ISDIR(st->st_mode)))
                unlinkat(dirfd, name, S_ISDIR(old.st_mode) ? AT_REMOVEDIR : 0);
        if (S_ISDIR(st->st_mode)) {
                if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                        return berr_set(w->err, errno, "cannot create %s: %m", name);
                _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return berr_set(w->err, errno, "cannot open %s: %m", name);
                _cleanup_strv_free_ char **names = NULL;
                fsroot_list(r, rel, &names);
                for (size_t i = 0; names && names[i]; i++) {
                        _cleanup_free_ char *c = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                        size_t l;
                        struct stat cst;
                        if (lookup(r, c, &l, &cst) < 0)
                                continue;
                        int k = copy_entry(w, c, l, &cst, sub, names[i], depth + 1);
                        if (k < 0)
                                return k;
                }
                apply_owner_mode(w, dirfd, name, st, false);
                return 0;
        }
        if (S_ISLNK(st->st_mode)) {
                _cleanup_free_ char *t = read_link(r, layer, rel);
                if (!t)
                        return berr_set(w->err, errno, "cannot read link %s: %m", rel);
                if (symlinkat(t, dirfd, name) < 0)
                        return berr_set(w->err, errno, "cannot create link %s: %m", name);
                apply_owner_mode(w, dirfd, name, st, true);
                return 0;
        }
        if (!S_ISREG(st->st_mode))
                return 0; /* devices, fifos and sockets are not copied */
        _cleanup_close_ int in = fsroot_open_file(r, layer, rel);
        if (in < 0)
                return berr_set(w->err, -in, "cannot open %s: %s", rel, strerror(-in));
        _cleanup_close_ int out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return berr_set(w->err, errno, "cannot create %s: %m", name);
        int k = copy_fd(in, out);
        if (k < 0)
                return berr_set(w->err, -k, "cannot copy %s: %s", rel, strerror(-k));
        apply_owner_mode(w, dirfd, name, st, false);
        return 0;
}

/* The real path of an absolute path in the image (links of existing components resolved), as a
 * relative path; components that do not exist are kept as written. */
static char *image_path(FsRoot *image, const char *path)
{
        _cleanup_free_ char *clean = dockerignore_clean(path);
        if (streq(clean, "/") || streq(clean, "."))
                return xstrdup("");
        char *rel = NULL;
        if (image && fsroot_resolve(image, clean, true, &rel, NULL, NULL) == 0)
                return rel;
        char *slash = strrchr(clean, '/');
        _cleanup_free_ char *parent = xstrndup(clean, (size_t) (slash - clean));
        _cleanup_free_ char *p = image_path(image, *parent ? parent : "/");
        return *p ? xasprintf("%s/%s", p, slash + 1) : xstrdup(slash + 1);
}

static bool image_is_dir(FsRoot *image, const char *rel)
{
        _cleanup_free_ char *r = NULL;
        struct stat st;
        return image && fsroot_resolve(image, rel, true, &r, NULL, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Parents of rel in upper as the image has them (mode and owner), or new ones. */
static int make_parents(FsRoot *image, int upfd, const char *rel, bool own, uid_t uid, gid_t gid)
{
        int cur = dup(upfd);
        if (cur < 0)
                return -errno;
        _cleanup_free_ char *copy = xstrdup(rel);
        _cleanup_free_ char *sofar = NULL;
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                char *n = xasprintf("%s%s%s", sofar ? sofar : "", sofar ? "/" : "", t);
                free(sofar);
                sofar = n;
                _cleanup_free_ char *r = NULL;
                size_t layer;
                struct stat st;
                bool exists = image && fsroot_resolve(image, sofar, false, &r, &layer, &st) == 0 && S_ISDIR(st.st_mode);
                struct stat cur_st;
                if (fstatat(cur, t, &cur_st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cur_st.st_mode))
                        unlinkat(cur, t, 0);
                if (mkdirat(cur, t, exists ? (st.st_mode & 07777) : 0755) == 0) {
                        if (exists) {
                                fchownat(cur, t, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                                fchmodat(cur, t, st.st_mode & 07777, 0);
                        } else if (own)
                                fchownat(cur, t, uid, gid, AT_SYMLINK_NOFOLLOW);
                }
                int next = openat(cur, t, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int e = errno;
                close(cur);
                if (next < 0)
                        return -e;
                cur = next;
        }
        return cur;
}

int build_mkdir_layer(FsRoot *image, const char *upper, const char *path, BerthError **err)
{
        _cleanup_free_ char *rel = image_path(image, path);
        if (image_is_dir(image, rel))
                return 0;
        _cleanup_close_ int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (up < 0)
                return berr_set(err, errno, "cannot open %s: %m", upper);
        int fd = make_parents(image, up, rel, false, 0, 0);
        if (fd < 0)
                return berr_set(err, -fd, "mkdir %s: %s", path, strerror(-fd));
        close(fd);
        return 0;
}

/* ADD of a local archive: unpacked (sanitised, as a layer is) into a scratch directory, then copied. */
static int is_archive(FsRoot *r, const Source *s)
{
        if (!S_ISREG(s->st.st_mode))
                return false;
        _cleanup_close_ int fd = fsroot_open_file(r, s->layer, s->rel);
        if (fd < 0)
                return false;
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        bool ok = false;
        if (archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK) {
                struct archive_entry *en;
                ok = archive_read_next_header(a, &en) == ARCHIVE_OK;
        }
        archive_read_free(a);
        return ok;
}

int build_copy_run(CopySpec *c, const char *upper, BerthError **err)
{
        Source *v = NULL;
        size_t n = 0;
        int r = collect_sources(c, &v, &n, err);
        if (r < 0)
                return r;
        Writer w = { .c = c, .err = err };
        _cleanup_close_ int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (up < 0) {
                sources_free(v, n);
                return berr_set(err, errno, "cannot open %s: %m", upper);
        }
        bool dest_slash = endswith(c->dest, "/");
        _cleanup_free_ char *drel = image_path(c->image, c->dest);
        bool dest_is_dir = dest_slash || image_is_dir(c->image, drel);
        for (size_t i = 0; i < n && r >= 0; i++) {
                Source *s = &v[i];
                if (c->add && is_archive(c->src, s)) {
                        _cleanup_free_ char *scratch = xasprintf("%s.add", upper);
                        mkdir(scratch, 0700);
                        _cleanup_close_ int fd = fsroot_open_file(c->src, s->layer, s->rel);
                        LayerUnpackInfo info;
                        r = fd < 0 ? berr_set(err, -fd, "cannot open %s", s->rel)
                                   : image_unpack_fd(fd, scratch, &info, err);
                        if (r == 0) {
                                FsRoot sr;
                                r = fsroot_open_dir(scratch, &sr, err);
                                if (r == 0) {
                                        CopySpec sub = *c;
                                        sub.src = &sr;
                                        sub.has_chown = c->has_chown;
                                        Writer sw = { .c = &sub, .err = err };
                                        struct stat rst;
                                        size_t l;
                                        int dfd = make_parents(c->image, up, drel, c->has_chown, c->uid, c->gid);
                                        if (dfd < 0)
                                                r = berr_set(err, -dfd, "cannot create %s", c->dest);
                                        _cleanup_strv_free_ char **names = NULL;
                                        fsroot_list(&sr, "", &names);
                                        for (size_t k = 0; r == 0 && names && names[k]; k++)
                                                if (lookup(&sr, names[k], &l, &rst) == 0)
                                                        r = copy_entry(&sw, names[k], l, &rst, dfd, names[k], 0);
                                        if (dfd >= 0)
                                                close(dfd);
                                        fsroot_close(&sr);
                                }
                        }
                        rm_rf(scratch);
                        continue;
                }
                if (S_ISDIR(s->st.st_mode)) {
                        /* a directory's contents go into the destination */
                        int dfd = make_parents(c->image, up, drel, c->has_chown, c->uid, c->gid);
                        if (dfd < 0) {
                                r = berr_set(err, -dfd, "cannot create %s", c->dest);
                                break;
                        }
                        _cleanup_strv_free_ char **names = NULL;
                        fsroot_list(c->src, s->rel, &names);
                        for (size_t k = 0; r == 0 && names && names[k]; k++) {
                                _cleanup_free_ char *cr = *s->rel ? xasprintf("%s/%s", s->rel, names[k]) : xstrdup(names[k]);
                                size_t l;
                                struct stat cst;
                                if (lookup(c->src, cr, &l, &cst) == 0)
                                        r = copy_entry(&w, cr, l, &cst, dfd, names[k], 0);
                        }
                        close(dfd);
                        continue;
                }
                _cleanup_free_ char *target = dest_is_dir ? (*drel ? xasprintf("%s/%s", drel, s->name) : xstrdup(s->name))
                                                          : xstrdup(drel);
                if (!*target) {
                        r = berr_set(err, EINVAL, "%s failed: cannot copy to the root as a file", c->cmd);
                        break;
                }
                char *slash = strrchr(target, '/');
                _cleanup_free_ char *parent = slash ? xstrndup(target, (size_t) (slash - target)) : xstrdup("");
                const char *base = slash ? slash + 1 : target;
                int dfd = make_parents(c->image, up, parent, c->has_chown, c->uid, c->gid);
                if (dfd < 0) {
                        r = berr_set(err, -dfd, "cannot create %s", parent);
                        break;
                }
                r = copy_entry(&w, s->rel, s->layer, &s->st, dfd, base, 0);
                close(dfd);
        }
        sources_free(v, n);
        return r;
}

