#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/archive-path.h"
#include "engine/container.h"
#include "engine/mountpoints.h"
#include "image/image.h"
#include "image/tar.h"
#include "runtime/user.h"

#define MAX_SYMLINKS 255
#define MAX_DEPTH 512

static void archive_read_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}

static void archive_write_freep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
}

static void archive_entry_freep(struct archive_entry **e)
{
        if (*e)
                archive_entry_free(*e);
}

void archive_path_stat_done(ArchivePathStat *s)
{
        free(s->name);
        free(s->link_target);
        *s = (ArchivePathStat) { 0 };
}

/* ---- resolution inside the root ---- */

/* path resolved under rootfd as if rootfd were "/": symlinks, absolute ones included, and
 * ".." never leave it; no magic links. */
static int open_in_root(int rootfd, const char *path, int flags)
{
        struct open_how how = { .flags = (uint64_t) (flags | O_CLOEXEC),
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, rootfd, *path ? path : "/", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Creates what is missing of the absolute path abs inside the root, directories 0755 (the
 * last one an empty file unless last_dir), like MkdirAll; each step resolved in the root. */
static int mkpath_in_root(int rootfd, const char *abs, bool last_dir)
{
        int fd = open_in_root(rootfd, abs, O_PATH);
        if (fd != -ENOENT)
                return fd < 0 ? fd : (safe_close(fd), 0);
        _cleanup_free_ char *p = xstrdup(abs);
        for (char *s = p + 1;; s++) {
                bool last = *s == 0;
                if (*s != '/' && !last)
                        continue;
                char saved = *s;
                *s = 0;
                char *slash = strrchr(p, '/');
                if (slash[1]) {
                        *slash = 0;
                        _cleanup_close_ int pfd = open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY);
                        *slash = '/';
                        if (pfd < 0)
                                return pfd;
                        if (!last || last_dir) {
                                if (mkdirat(pfd, slash + 1, 0755) < 0 && errno != EEXIST)
                                        return -errno;
                        } else {
                                int f = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                                if (f < 0 && errno != EEXIST)
                                        return -errno;
                                safe_close(f);
                        }
                }
                if (last)
                        return 0;
                *s = saved;
        }
}

/* The clean absolute path that path names inside the root once every symlink on the way is
 * followed (the last one too when follow_last), each read under rootfd; what does not exist
 * is taken as spelled (Docker's FollowSymlinkInScope). Used for names (linkTarget, which
 * mount a path lies in); files are opened with open_in_root. */
static int resolve_in_root(int rootfd, const char *path, bool follow_last, char **ret)
{
        _cleanup_free_ char *cur = xstrdup(""), *rest = xstrdup(path);
        int links = 0;
        for (;;) {
                char *p = rest;
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                size_t len = strcspn(p, "/");
                _cleanup_free_ char *comp = xstrndup(p, len);
                const char *after = p + len;
                bool last = after[strspn(after, "/")] == 0;
                if (streq(comp, ".") || streq(comp, "..")) {
                        if (streq(comp, "..")) {
                                char *s = strrchr(cur, '/');
                                if (s)
                                        *s = 0;
                        }
                        memmove(rest, after, strlen(after) + 1);
                        continue;
                }
                char target[PATH_MAX];
                ssize_t tn = -1;
                if (!last || follow_last) {
                        _cleanup_close_ int dfd = open_in_root(rootfd, cur, O_PATH | O_DIRECTORY);
                        struct stat st;
                        if (dfd >= 0 && fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                                tn = readlinkat(dfd, comp, target, sizeof(target) - 1);
                }
                if (tn > 0) {
                        if (++links > MAX_SYMLINKS)
                                return -ELOOP;
                        target[tn] = 0;
                        if (target[0] == '/')
                                cur[0] = 0;
                        char *n = xasprintf("%s/%s", target, after);
                        free(rest);
                        rest = n;
                        continue;
                }
                char *n = xasprintf("%s/%s", cur, comp);
                free(cur);
                cur = n;
                memmove(rest, after, strlen(after) + 1);
        }
        *ret = *cur ? TAKE_PTR(cur) : xstrdup("/");
        return 0;
}

/* ---- the container's root ---- */

typedef struct CRoot {
        int fd;    /* O_PATH directory: the container's "/" */
        int nsfd;  /* the private mount namespace holding a stopped container's mounts, or -1 */
        char *mnt; /* where they hang (an empty directory on the host), or NULL */
        char busy_id[65]; /* the container whose writable view this is (busy_take), or "" */
} CRoot;

/* One writable view of a stopped container at a time: two would share its upper dir. Held
 * from the mount to the end of the operation, which for a GET ends on its stream's thread:
 * a table under a mutex rather than a lock owned by one thread. */
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cond = PTHREAD_COND_INITIALIZER;
static char **busy_ids;

static bool busy_has(const char *id)
{
        for (char **p = busy_ids; p && *p; p++)
                if (streq(*p, id))
                        return true;
        return false;
}

static void busy_take(const char *id)
{
        pthread_mutex_lock(&busy_lock);
        while (busy_has(id))
                pthread_cond_wait(&busy_cond, &busy_lock);
        strv_extend(&busy_ids, id);
        pthread_mutex_unlock(&busy_lock);
}

static void busy_release(const char *id)
{
        pthread_mutex_lock(&busy_lock);
        size_t n = strv_length(busy_ids), w = 0;
        for (size_t i = 0; i < n; i++) {
                if (streq(busy_ids[i], id)) {
                        free(busy_ids[i]);
                        busy_ids[i] = NULL;
                        continue;
                }
                busy_ids[w++] = busy_ids[i];
        }
        if (busy_ids)
                busy_ids[w] = NULL;
        pthread_cond_broadcast(&busy_cond);
        pthread_mutex_unlock(&busy_lock);
}

static void croot_done(CRoot *r)
{
        r->fd = safe_close(r->fd);
        r->nsfd = safe_close(r->nsfd); /* the last reference: the namespace and its mounts go */
        if (r->mnt) {
                rmdir(r->mnt);
                free(r->mnt);
                r->mnt = NULL;
        }
        if (r->busy_id[0]) {
                busy_release(r->busy_id);
                r->busy_id[0] = 0;
        }
}

typedef struct MountJob {
        const char *mnt, *lower, *upper, *work, *single;
        MountPoint *mp;
        size_t n_mp;
        int rootfd, nsfd;
        int error;
        char *msg;
} MountJob;

static void *mount_fail(MountJob *j, const char *what)
{
        j->error = errno ? errno : EIO;
        j->msg = xasprintf("%s: %s", what, strerror(j->error));
        j->rootfd = safe_close(j->rootfd);
        return NULL;
}

static int mount_point_cmp(const void *a, const void *b)
{
        const MountPoint *x = a, *y = b;
        size_t lx = strlen(x->destination), ly = strlen(y->destination);
        return lx < ly ? -1 : lx > ly;
}

/* Runs in a thread of its own that leaves berthd's mount namespace for a private one: the
 * mounts are seen by nobody else and vanish with the namespace, a crash included. */
static void *mount_thread(void *p)
{
        MountJob *j = p;
        j->rootfd = j->nsfd = -1;
        if (unshare(CLONE_FS | CLONE_NEWNS) < 0)
                return mount_fail(j, "unshare");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return mount_fail(j, "make mounts private");
        if (j->single) {
                if (mount(j->single, j->mnt, NULL, MS_BIND, NULL) < 0 ||
                    mount(NULL, j->mnt, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        return mount_fail(j, "bind mount of the layer");
        } else {
                _cleanup_free_ char *opts = j->upper ? xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", j->lower,
                                                                 j->upper, j->work)
                                                     : xasprintf("lowerdir=%s", j->lower);
                if (mount("overlay", j->mnt, "overlay", j->upper ? 0 : MS_RDONLY, opts) < 0)
                        return mount_fail(j, "overlay mount");
        }
        j->rootfd = open(j->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (j->rootfd < 0)
                return mount_fail(j, "open");
        qsort(j->mp, j->n_mp, sizeof(MountPoint), mount_point_cmp); /* parents before what is inside them */
        for (size_t i = 0; i < j->n_mp; i++) {
                MountPoint *m = &j->mp[i];
                if (!m->source)
                        continue; /* tmpfs: its content dies with the container; the rootfs shows */
                if (j->upper) { /* as a start would: the mount point made where missing */
                        struct stat sst;
                        bool dir = stat(m->source, &sst) < 0 || S_ISDIR(sst.st_mode);
                        if (mkpath_in_root(j->rootfd, m->destination, dir) < 0)
                                continue;
                }
                _cleanup_close_ int dfd = open_in_root(j->rootfd, m->destination, O_PATH);
                if (dfd < 0)
                        continue; /* nothing to mount on in a read-only view: the path is the rootfs's */
                char pp[64];
                snprintf(pp, sizeof(pp), "/proc/self/fd/%d", dfd);
                if (mount(m->source, pp, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return mount_fail(j, m->destination);
                if (!m->rw) {
                        /* The flag applies to the new mount only: reach it through the path again. */
                        _cleanup_close_ int nfd = open_in_root(j->rootfd, m->destination, O_PATH);
                        snprintf(pp, sizeof(pp), "/proc/self/fd/%d", nfd);
                        if (nfd < 0 || mount(NULL, pp, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                                return mount_fail(j, m->destination);
                }
        }
        j->nsfd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (j->nsfd < 0)
                return mount_fail(j, "open mount namespace");
        return NULL;
}

static char *lower_option(char **dirs)
{
        _cleanup_free_ char *o = xstrdup("");
        for (size_t i = 0; dirs[i]; i++) {
                char *n = xasprintf("%s%s%s", o, i ? ":" : "", dirs[i]);
                free(o);
                o = n;
        }
        return TAKE_PTR(o);
}

static int croot_open_stopped(Engine *e, Container *c, bool write, CRoot *r, BerthError **err)
{
        _cleanup_strv_free_ char **layers = NULL;
        int k = image_layer_dirs(e->images, c->image_id, &layers, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir), *work = xasprintf("%s/work", dir);
        _cleanup_free_ char *init = xasprintf("%s/init", dir);
        _cleanup_strv_free_ char **lowers = NULL; /* top first, as overlay wants them */
        MountPoint *mp = NULL;
        size_t n_mp = 0;
        /* Binds and volumes need their mount points, which the first start makes in the upper
         * dir (with the init layer): before it, a view with any is writable even for reading. */
        k = container_mount_points(e, c, &mp, &n_mp, err);
        if (k < 0)
                return k;
        bool started = access(init, F_OK) == 0;
        for (size_t i = 0; i < n_mp && !write && !started; i++)
                write = mp[i].source != NULL;
        if (!write && access(upper, F_OK) == 0)
                strv_extend(&lowers, upper);
        if (access(init, F_OK) == 0)
                strv_extend(&lowers, init);
        for (size_t i = strv_length(layers); i-- > 0;)
                strv_extend(&lowers, layers[i]);
        if (write) {
                /* A created container gets them at its first start; the same directories. */
                if ((k = mkdir_p(upper, 0755)) < 0 || (k = mkdir_p(work, 0755)) < 0) {
                        mount_points_free(mp, n_mp);
                        return berr_set(err, -k, "cannot create %s: %s", upper, strerror(-k));
                }
        }
        if (!lowers || !lowers[0]) {
                mount_points_free(mp, n_mp);
                return berr_set(err, EIO, "container %s has no filesystem", c->id);
        }
        MountJob j = { .upper = write ? upper : NULL, .work = work, .mp = mp, .n_mp = n_mp };
        _cleanup_free_ char *lower = lower_option(lowers);
        j.lower = lower;
        if (!write && !lowers[1])
                j.single = lowers[0]; /* overlay needs two lower dirs without an upper one */
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", e->cfg.data_root);
        mkdir_p(tmp, 0700);
        char *mnt = xasprintf("%s/archive-XXXXXX", tmp);
        if (!mkdtemp(mnt)) {
                k = berr_set(err, errno, "cannot create a temporary directory: %m");
                free(mnt);
                mount_points_free(j.mp, j.n_mp);
                return k;
        }
        j.mnt = mnt;
        if (j.upper) {
                busy_take(c->id);
                snprintf(r->busy_id, sizeof(r->busy_id), "%s", c->id);
        }
        r->mnt = mnt;
        pthread_t t;
        if (pthread_create(&t, NULL, mount_thread, &j) != 0) {
                mount_points_free(j.mp, j.n_mp);
                croot_done(r);
                return berr_set(err, EAGAIN, "cannot create a thread");
        }
        pthread_join(t, NULL);
        mount_points_free(j.mp, j.n_mp);
        if (j.error) {
                k = berr_set(err, j.error, "cannot mount the filesystem of container %s: %s", c->id, j.msg);
                free(j.msg);
                safe_close(j.nsfd);
                croot_done(r);
                return k;
        }
        r->fd = j.rootfd;
        r->nsfd = j.nsfd;
        return 0;
}

static bool status_live(ContainerStatus s)
{
        return s == CSTATUS_RUNNING || s == CSTATUS_PAUSED;
}

static int croot_open(Engine *e, Container *c, bool write, CRoot *r, BerthError **err)
{
        *r = (CRoot) { .fd = -1, .nsfd = -1 };
        pthread_mutex_lock(&e->lock);
        bool live = status_live(c->status);
        int pid = c->pid;
        uint64_t seq = c->start_seq;
        pthread_mutex_unlock(&e->lock);
        if (live && pid > 0) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/root", pid);
                int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                int saved = errno;
                /* The pid was the container's when it was read: make sure it still is. */
                pthread_mutex_lock(&e->lock);
                bool same = status_live(c->status) && c->pid == pid && c->start_seq == seq;
                pthread_mutex_unlock(&e->lock);
                if (fd >= 0 && same) {
                        r->fd = fd;
                        return 0;
                }
                safe_close(fd);
                if (same)
                        return berr_set(err, saved, "cannot open the root of container %s: %s", c->id,
                                        strerror(saved));
        }
        return croot_open_stopped(e, c, write, r, err);
}

/* ---- stat ---- */

typedef struct Target {
        char *abs;    /* Docker's absolute form of the user's path */
        int parentfd; /* O_PATH: the directory holding it, every symlink followed */
        char *base;   /* its last element as spelled ("" for a trailing slash: parentfd itself) */
        struct stat st;
} Target;

static void target_done(Target *t)
{
        free(t->abs);
        free(t->base);
        t->parentfd = safe_close(t->parentfd);
}

static int not_found(const char *path, const char *ref, BerthError **err)
{
        return berr_set(err, ENOENT, "Could not find the file %s in container %s", path, ref);
}

/* Resolves the user's path as Docker does: its directory with every symlink followed, the
 * last element not (lstat). */
static int target_open(int rootfd, const char *path, const char *ref, Target *t, BerthError **err)
{
        *t = (Target) { .parentfd = -1 };
        t->abs = archive_abs_path(path);
        const char *slash = strrchr(t->abs, '/');
        _cleanup_free_ char *dir = xstrndup(t->abs, (size_t) (slash - t->abs) + 1);
        t->base = xstrdup(slash + 1);
        t->parentfd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
        int k = t->parentfd;
        if (k >= 0 && fstatat(t->parentfd, t->base, &t->st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
                k = -errno;
        if (k == -ENOENT)
                return not_found(path, ref, err);
        if (k == -ENOTDIR)
                return berr_set(err, EIO, "lstat %s: not a directory", t->abs);
        if (k < 0)
                return berr_set(err, -k, "lstat %s: %s", t->abs, strerror(-k));
        return 0;
}

static int fill_stat(int rootfd, const Target *t, ArchivePathStat *ret)
{
        *ret = (ArchivePathStat) { 0 };
        ret->name = archive_base(t->abs);
        ret->size = t->st.st_size;
        ret->mode = archive_go_mode(t->st.st_mode);
        ret->mtime_sec = t->st.st_mtim.tv_sec;
        ret->mtime_nsec = t->st.st_mtim.tv_nsec;
        if (S_ISLNK(t->st.st_mode)) {
                int k = resolve_in_root(rootfd, t->abs, true, &ret->link_target);
                if (k < 0) {
                        archive_path_stat_done(ret);
                        return k;
                }
        } else
                ret->link_target = xstrdup("");
        return 0;
}

static int path_required(const char *path, BerthError **err)
{
        if (!path || !*path) /* Docker's text, missing space included */
                return berr_set(err, EINVAL, "bad parameter: pathcannot be empty");
        return 0;
}

int container_archive_stat(Engine *e, const char *ref, const char *path, ArchivePathStat *ret, BerthError **err)
{
        int k = path_required(path, err);
        if (k < 0)
                return k;
        _cleanup_container_ Container *c = NULL;
        if ((k = container_get(e, ref, &c, err)) < 0)
                return k;
        CRoot root;
        if ((k = croot_open(e, c, false, &root, err)) < 0)
                return k;
        Target t;
        k = target_open(root.fd, path, ref, &t, err);
        if (k == 0 && (k = fill_stat(root.fd, &t, ret)) < 0)
                k = berr_set(err, -k, "cannot resolve %s: %s", t.abs, strerror(-k));
        target_done(&t);
        croot_done(&root);
        return k;
}

/* ---- GET: the tar of a path ---- */

typedef struct HardLink {
        dev_t dev;
        ino_t ino;
        char *name;
} HardLink;

struct ContainerArchive {
        CRoot root;
        Target t;
        char *rebase; /* the name the resource gets in the tar; NULL: only what is below it, by relative names */
        /* the writer */
        struct archive *a;
        int (*fn)(void *, const void *, size_t);
        void *cls;
        HardLink *links;
        size_t n_links;
        char *buf;
};

void container_archive_free(ContainerArchive *a)
{
        if (!a)
                return;
        target_done(&a->t);
        croot_done(&a->root);
        free(a->rebase);
        for (size_t i = 0; i < a->n_links; i++)
                free(a->links[i].name);
        free(a->links);
        free(a->buf);
        free(a);
}

int container_archive_open(Engine *e, const char *ref, const char *path, ContainerArchive **ret,
                           ArchivePathStat *ret_stat, BerthError **err)
{
        int k = path_required(path, err);
        if (k < 0)
                return k;
        _cleanup_container_ Container *c = NULL;
        if ((k = container_get(e, ref, &c, err)) < 0)
                return k;
        ContainerArchive *a = xcalloc(1, sizeof(*a));
        a->t.parentfd = -1;
        if ((k = croot_open(e, c, false, &a->root, err)) < 0) {
                free(a);
                return k;
        }
        if ((k = target_open(a->root.fd, path, ref, &a->t, err)) < 0) {
                container_archive_free(a);
                return k;
        }
        if ((k = fill_stat(a->root.fd, &a->t, ret_stat)) < 0) {
                k = berr_set(err, -k, "cannot resolve %s: %s", a->t.abs, strerror(-k));
                container_archive_free(a);
                return k;
        }
        a->rebase = archive_base(a->t.abs);
        events_container(e, c, "archive-path", NULL);
        *ret = a;
        return 0;
}

int container_archive_copy_open(Engine *e, const char *ref, const char *resource, ContainerArchive **ret,
                                BerthError **err)
{
        if (!resource || !*resource)
                return berr_set(err, EINVAL, "Path cannot be empty");
        _cleanup_container_ Container *c = NULL;
        int k = container_get(e, ref, &c, err);
        if (k < 0)
                return k;
        ContainerArchive *a = xcalloc(1, sizeof(*a));
        a->t.parentfd = -1;
        if ((k = croot_open(e, c, false, &a->root, err)) < 0) {
                free(a);
                return k;
        }
        _cleanup_free_ char *abs = archive_abs_path(resource), *resolved = NULL;
        if ((k = resolve_in_root(a->root.fd, abs, true, &resolved)) < 0) {
                k = berr_set(err, -k, "cannot resolve %s: %s", abs, strerror(-k));
                container_archive_free(a);
                return k;
        }
        if ((k = target_open(a->root.fd, resolved, ref, &a->t, err)) < 0) {
                if (k == -ENOENT) /* named as the client named it */
                        k = not_found(resource, ref, err);
                container_archive_free(a);
                return k;
        }
        /* A directory's content with names relative to it and no entry of its own, as dockerd did. */
        a->rebase = S_ISDIR(a->t.st.st_mode) ? NULL : archive_base(resolved);
        events_container(e, c, "copy", NULL);
        *ret = a;
        return 0;
}

static la_ssize_t tar_out(struct archive *ar, void *cls, const void *buf, size_t len)
{
        ContainerArchive *a = cls;
        if (a->fn(a->cls, buf, len) < 0) {
                archive_set_error(ar, EPIPE, "the client went away");
                return -1;
        }
        return (la_ssize_t) len;
}

/* Filesystems whose files are not data: a running container's /proc, /sys and the like are
 * listed but not descended into. */
static bool pseudo_fs(int fd)
{
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0)
                return false;
        switch ((unsigned long) sf.f_type) {
        case PROC_SUPER_MAGIC:
        case SYSFS_MAGIC:
        case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC:
        case DEVPTS_SUPER_MAGIC:
        case DEBUGFS_MAGIC:
        case TRACEFS_MAGIC:
        case SECURITYFS_MAGIC:
        case BPF_FS_MAGIC:
                return true;
        default:
                return false;
        }
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int tar_write_header(ContainerArchive *a, struct archive_entry *ae)
{
        int k = archive_write_header(a->a, ae);
        if (k == ARCHIVE_OK || k == ARCHIVE_WARN)
                return 0;
        return archive_errno(a->a) == EPIPE ? -EPIPE : -EIO;
}

/* One file (and what is below it) into the tar: name in dirfd ("" for dirfd itself), rel
 * its path below the resource. Everything is opened relative to its parent's fd with
 * O_NOFOLLOW: no path is ever resolved again from the top. */
static int tar_file(ContainerArchive *a, int dirfd, const char *name, const char *rel, int depth)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
                return errno == ENOENT ? 0 : -errno; /* removed meanwhile */
        if (S_ISSOCK(st.st_mode))
                return 0; /* tar has no sockets; Docker leaves them out too */
        _cleanup_close_ int fd = -1;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                int fl = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
                fd = *name ? openat(dirfd, name, fl | O_NOFOLLOW) : openat(dirfd, ".", fl);
                struct stat st2;
                if (fd < 0 || fstat(fd, &st2) < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
                        return 0; /* replaced meanwhile */
                st = st2;
        }
        bool skip = !a->rebase && !*rel;
        _cleanup_free_ char *arcname = a->rebase ? archive_entry_name(a->rebase, rel, S_ISDIR(st.st_mode))
                                 : xasprintf("%s%s", rel, S_ISDIR(st.st_mode) ? "/" : "");
        _cleanup_(archive_entry_freep) struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, arcname);
        archive_entry_set_mode(ae, st.st_mode);
        archive_entry_set_uid(ae, st.st_uid);
        archive_entry_set_gid(ae, st.st_gid);
        archive_entry_set_mtime(ae, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        archive_entry_set_size(ae, 0);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return errno == ENOENT ? 0 : -errno;
                target[n] = 0;
                archive_entry_set_symlink(ae, target);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                archive_entry_set_rdev(ae, st.st_rdev);
        } else if (S_ISREG(st.st_mode) && pseudo_fs(fd)) {
                /* /proc/kcore and the like: their size is not their content; named, not read */
        } else if (S_ISREG(st.st_mode)) {
                const char *first = NULL;
                if (st.st_nlink > 1) {
                        for (size_t i = 0; i < a->n_links && !first; i++)
                                if (a->links[i].dev == st.st_dev && a->links[i].ino == st.st_ino)
                                        first = a->links[i].name;
                        if (!first) {
                                HardLink *nl = xrealloc(a->links, (a->n_links + 1) * sizeof(HardLink));
                                a->links = nl;
                                a->links[a->n_links++] = (HardLink) { st.st_dev, st.st_ino, xstrdup(arcname) };
                        }
                }
                if (first)
                        archive_entry_set_hardlink(ae, first);
                else
                        archive_entry_set_size(ae, st.st_size);
        }
        int k = skip ? 0 : tar_write_header(a, ae);
        if (k < 0)
                return k;
        if (S_ISREG(st.st_mode) && archive_entry_size(ae) > 0) {
                int64_t left = st.st_size;
                while (left > 0) {
                        ssize_t n = read(fd, a->buf, (size_t) (left < 256 * 1024 ? left : 256 * 1024));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break; /* shrank meanwhile: the entry is padded with zeros */
                        if (archive_write_data(a->a, a->buf, (size_t) n) < 0)
                                return archive_errno(a->a) == EPIPE ? -EPIPE : -EIO;
                        left -= n;
                }
        }
        if (!skip && archive_write_finish_entry(a->a) < ARCHIVE_WARN)
                return -EIO;
        if (!S_ISDIR(st.st_mode) || pseudo_fs(fd))
                return 0;
        if (depth >= MAX_DEPTH)
                return -ELOOP;
        int dfd = dup(fd);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                safe_close(dfd);
                return -errno;
        }
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                strv_extend(&names, de->d_name);
                n++;
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(char *), name_cmp);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *crel = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                if ((k = tar_file(a, fd, names[i], crel, depth + 1)) < 0)
                        return k;
        }
        return 0;
}

int container_archive_write(ContainerArchive *a, int (*fn)(void *cls, const void *buf, size_t len), void *cls,
                            BerthError **err)
{
        _cleanup_(archive_write_freep) struct archive *ar = archive_write_new();
        archive_write_set_format_pax_restricted(ar);
        archive_write_set_bytes_per_block(ar, 64 * 1024);
        archive_write_set_bytes_in_last_block(ar, 1);
        a->fn = fn;
        a->cls = cls;
        a->a = ar;
        a->buf = xmalloc(256 * 1024);
        if (archive_write_open(ar, a, NULL, tar_out, NULL) != ARCHIVE_OK)
                return berr_set(err, EIO, "cannot start the archive: %s", archive_error_string(ar) ?: "error");
        int k = tar_file(a, a->t.parentfd, a->t.base, "", 0);
        if (k == 0 && archive_write_close(ar) != ARCHIVE_OK)
                k = -EIO;
        a->a = NULL;
        if (k < 0)
                return berr_set(err, -k, "cannot archive %s: %s", a->t.abs, strerror(-k));
        return 0;
}

/* ---- PUT: extraction ---- */

typedef struct Extract {
        int rootfd;
        char *dest;  /* the extraction directory inside the container, resolved */
        int destfd;  /* and a read fd on it */
        bool no_overwrite_dir_non_dir;
        bool chown_to; /* copyUIDGID with a User: every entry owned by uid:gid */
        uid_t uid;
        gid_t gid;
        char **symlinks; /* entries this archive made symlinks: nothing is written through them */
        char **dirs;     /* directories whose times are set at the end */
        struct timespec *dir_times;
        size_t n_dirs;
        UnpackLimits lim;
        bool same_fs_as_data_root;
        uint64_t next_space_check;
} Extract;

static void extract_done(Extract *x)
{
        free(x->dest);
        x->destfd = safe_close(x->destfd);
        strv_free(x->symlinks);
        strv_free(x->dirs);
        free(x->dir_times);
}

static int rm_rf_at(int parent, const char *name, int depth)
{
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        if (depth >= MAX_DEPTH)
                return -ELOOP;
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        struct dirent *de;
        int k = 0;
        while (k == 0 && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        k = rm_rf_at(dirfd(d), de->d_name, depth + 1);
        closedir(d);
        if (k == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
                k = -errno;
        return k;
}

/* The parent directory of rel (below the extraction directory), created like Docker's
 * MkdirAll (0755) where missing. Every step is resolved in the root. */
static int parent_open(Extract *x, const char *rel)
{
        const char *slash = strrchr(rel, '/');
        if (!slash) {
                int fd = fcntl(x->destfd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : fd;
        }
        _cleanup_free_ char *dir = xstrndup(rel, (size_t) (slash - rel));
        _cleanup_free_ char *full = xasprintf("%s/%s", x->dest, dir);
        int fd = open_in_root(x->rootfd, full, O_RDONLY | O_DIRECTORY);
        if (fd != -ENOENT)
                return fd;
        int k = mkpath_in_root(x->rootfd, full, true);
        if (k < 0)
                return k;
        return open_in_root(x->rootfd, full, O_RDONLY | O_DIRECTORY);
}

/* Refuses writing below a symlink this archive made: tar entries never leave the
 * extraction directory through the archive's own links. */
static int check_not_through_link(Extract *x, const char *name, const char *rel, BerthError **err)
{
        for (char **l = x->symlinks; l && *l; l++) {
                size_t n = strlen(*l);
                if (strneq(rel, *l, n) && rel[n] == '/')
                        return berr_set(err, EINVAL, "invalid tar entry %s: written through the symbolic link %s",
                                        name, *l);
        }
        return 0;
}

static int apply_owner_mode(Extract *x, int fd, int dirfd, const char *base, struct archive_entry *ae, bool link)
{
        uid_t uid = x->chown_to ? x->uid : (uid_t) archive_entry_uid(ae);
        gid_t gid = x->chown_to ? x->gid : (gid_t) archive_entry_gid(ae);
        mode_t mode = archive_entry_perm(ae) & 07777;
        if (fd >= 0) {
                if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) /* chown first: it clears set-id bits */
                        return -errno;
                return 0;
        }
        if (fchownat(dirfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!link && fchmodat(dirfd, base, mode, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int copy_data(struct archive *in, int fd, const char *name, BerthError **err)
{
        const void *buf;
        size_t len;
        la_int64_t off;
        for (;;) {
                int k = archive_read_data_block(in, &buf, &len, &off);
                if (k == ARCHIVE_EOF)
                        return 0;
                if (k != ARCHIVE_OK)
                        return berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(in) ?: "truncated");
                const char *p = buf;
                while (len > 0) {
                        ssize_t n = pwrite(fd, p, len, (off_t) off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return berr_set(err, errno, "cannot write %s: %m", name);
                        p += n;
                        len -= (size_t) n;
                        off += n;
                }
        }
}

static int extract_entry(Extract *x, struct archive *in, struct archive_entry *ae, BerthError **err)
{
        const char *name = archive_entry_pathname(ae);
        if (!name)
                return berr_set(err, EINVAL, "invalid tar archive: entry without a name");
        _cleanup_free_ char *rel = image_tar_clean_path(name);
        if (!rel)
                return berr_set(err, EINVAL, "invalid tar entry %s: %s is outside of %s", name, name, x->dest);
        mode_t type = archive_entry_filetype(ae);
        struct timespec ts[2] = { { archive_entry_atime(ae), archive_entry_atime_nsec(ae) },
                                  { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) } };
        if (!archive_entry_atime_is_set(ae))
                ts[0] = ts[1];
        if (!*rel) { /* "./": the extraction directory itself */
                if (type != AE_IFDIR)
                        return berr_set(err, EINVAL, "invalid tar entry %s: not a directory", name);
                int k = apply_owner_mode(x, x->destfd, -1, NULL, ae, false);
                if (k < 0)
                        return berr_set(err, -k, "cannot set the owner and mode of %s: %s", x->dest, strerror(-k));
                strv_extend(&x->dirs, "");
                x->dir_times = xrealloc(x->dir_times, (x->n_dirs + 1) * sizeof(ts));
                memcpy(&x->dir_times[2 * x->n_dirs++], ts, sizeof(ts));
                return 0;
        }
        int k = check_not_through_link(x, name, rel, err);
        if (k < 0)
                return k;
        _cleanup_close_ int pfd = parent_open(x, rel);
        if (pfd < 0)
                return berr_set(err, -pfd, "cannot create the parent directory of %s: %s", rel, strerror(-pfd));
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        struct stat st;
        bool exists = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists) {
                bool isdir = S_ISDIR(st.st_mode);
                if (x->no_overwrite_dir_non_dir && isdir && type != AE_IFDIR)
                        return berr_set(err, EIO, "cannot overwrite directory \"%s/%s\" with non-directory \"%s\"",
                                        x->dest, rel, x->dest);
                if (x->no_overwrite_dir_non_dir && !isdir && type == AE_IFDIR)
                        return berr_set(err, EIO, "cannot overwrite non-directory \"%s/%s\" with directory \"%s\"",
                                        x->dest, rel, x->dest);
                if (!(isdir && type == AE_IFDIR)) {
                        k = rm_rf_at(pfd, base, 0);
                        if (k < 0)
                                return berr_set(err, -k, "cannot replace %s: %s", rel, strerror(-k));
                }
        }
        /* The archive may name a symlink again: it is no longer one once replaced. */
        for (char **l = x->symlinks; l && *l; l++)
                if (streq(*l, rel))
                        (*l)[0] = '/'; /* matches no relative path any more */
        const char *hl = archive_entry_hardlink(ae);
        if (hl) {
                _cleanup_free_ char *hrel = image_tar_clean_path(hl);
                if (!hrel || !*hrel)
                        return berr_set(err, EINVAL, "invalid hardlink %s -> %s: outside of %s", name, hl, x->dest);
                if ((k = check_not_through_link(x, name, hrel, err)) < 0)
                        return k;
                _cleanup_close_ int hpfd = parent_open(x, hrel);
                const char *hbase = strrchr(hrel, '/') ? strrchr(hrel, '/') + 1 : hrel;
                if (hpfd < 0 || linkat(hpfd, hbase, pfd, base, 0) < 0)
                        return berr_set(err, hpfd < 0 ? -hpfd : errno, "cannot link %s to %s: %s", name, hl,
                                        strerror(hpfd < 0 ? -hpfd : errno));
                return 0;
        }
        _cleanup_close_ int fd = -1;
        switch (type) {
        case AE_IFREG:
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return berr_set(err, errno, "cannot create %s: %m", rel);
                if ((k = copy_data(in, fd, rel, err)) < 0)
                        return k;
                if (ftruncate(fd, archive_entry_size(ae)) < 0)
                        return berr_set(err, errno, "cannot write %s: %m", rel);
                break;
        case AE_IFDIR:
                if (!exists && mkdirat(pfd, base, 0700) < 0)
                        return berr_set(err, errno, "cannot create %s: %m", rel);
                fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berr_set(err, errno, "cannot open %s: %m", rel);
                break;
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(ae);
                if (!target || archive_symlink_escapes(rel, target))
                        return berr_set(err, EINVAL, "invalid symlink \"%s/%s\" -> \"%s\"", x->dest, rel,
                                        target ?: "");
                if (symlinkat(target, pfd, base) < 0)
                        return berr_set(err, errno, "cannot create %s: %m", rel);
                strv_extend(&x->symlinks, rel);
                break;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                /* As in image layers: the device cgroup guards what a node may reach. */
                if (mknodat(pfd, base, type | (archive_entry_perm(ae) & 0777), archive_entry_rdev(ae)) < 0)
                        return berr_set(err, errno, "cannot create %s: %m", rel);
                break;
        default:
                return 0; /* nothing else has a place in a directory tree */
        }
        k = apply_owner_mode(x, fd, pfd, base, ae, type == AE_IFLNK);
        if (k < 0)
                return berr_set(err, -k, "cannot set the owner and mode of %s: %s", rel, strerror(-k));
        if (type == AE_IFDIR) {
                strv_extend(&x->dirs, rel);
                x->dir_times = xrealloc(x->dir_times, (x->n_dirs + 1) * sizeof(ts));
                memcpy(&x->dir_times[2 * x->n_dirs++], ts, sizeof(ts));
        } else if (fd >= 0)
                (void) futimens(fd, ts);
        else
                (void) utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int extract_bounds(Extract *x, struct archive *in, BerthError **err)
{
        uint64_t total = (uint64_t) archive_filter_bytes(in, 0);
        uint64_t packed = archive_filter_count(in) > 1 ? (uint64_t) archive_filter_bytes(in, -1) : 0;
        _cleanup_free_ char *msg = NULL;
        int space_fd = -1;
        if (x->same_fs_as_data_root && total >= x->next_space_check) {
                x->next_space_check = total + (16ULL << 20);
                space_fd = x->destfd;
        }
        int k = image_unpack_bounds_check(&x->lim, "archive", total, packed, space_fd, &msg);
        if (k < 0)
                return berr_set(err, -k, "%s", msg);
        return 0;
}

static int extract_run(Extract *x, int fd, BerthError **err)
{
        _cleanup_(archive_read_freep) struct archive *in = archive_read_new();
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK)
                return berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(in) ?: "unreadable");
        for (;;) {
                struct archive_entry *ae;
                int k = archive_read_next_header(in, &ae);
                if (k == ARCHIVE_EOF)
                        break;
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN)
                        return berr_set(err, EINVAL, "invalid tar archive: %s",
                                        archive_error_string(in) ?: "corrupt header");
                if ((k = extract_bounds(x, in, err)) < 0 || (k = extract_entry(x, in, ae, err)) < 0 ||
                    (k = extract_bounds(x, in, err)) < 0)
                        return k;
        }
        /* Directory times last: creating their entries changed them. */
        for (size_t i = x->n_dirs; i-- > 0;) {
                _cleanup_free_ char *p = *x->dirs[i] ? xasprintf("%s/%s", x->dest, x->dirs[i]) : xstrdup(x->dest);
                _cleanup_close_ int dfd = open_in_root(x->rootfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                if (dfd >= 0)
                        (void) futimens(dfd, &x->dir_times[2 * i]);
        }
        return 0;
}

/* copyUIDGID: the container's User looked up in its own /etc/passwd and /etc/group. */
static int extract_owner(Engine *e, Container *c, int rootfd, Extract *x, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_free_ char *user = xstrdup(json_str(container_cfg(c), "User") ?: "");
        pthread_mutex_unlock(&e->lock);
        if (!*user)
                return 0; /* the archive's own owners, as Docker keeps them */
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        const char *files[] = { "/etc/passwd", "/etc/group" };
        char **out[] = { &passwd, &group };
        for (size_t i = 0; i < 2; i++) {
                _cleanup_close_ int fd = open_in_root(rootfd, files[i], O_RDONLY);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20))
                        continue;
                char *buf = xmalloc((size_t) st.st_size + 1);
                ssize_t n = read(fd, buf, (size_t) st.st_size);
                buf[n > 0 ? n : 0] = 0;
                *out[i] = buf;
        }
        RtExecUser u = { 0 };
        _cleanup_berr_ BerthError *uerr = NULL;
        int k = rt_user_resolve(user, passwd, group, &u, &uerr);
        if (k < 0)
                return berr_set(err, EIO, "%s", uerr ? uerr->msg : "cannot resolve the container's user");
        x->chown_to = true;
        x->uid = u.uid;
        x->gid = u.gid;
        rt_exec_user_done(&u);
        return 0;
}

/* Docker's checkWritablePath: the mount the directory lies in must be writable, or the
 * rootfs when it lies in none. */
static int extract_writable(Engine *e, Container *c, const char *dest, BerthError **err)
{
        MountPoint *mp = NULL;
        size_t n = 0;
        int k = container_mount_points(e, c, &mp, &n, err);
        if (k < 0)
                return k;
        const MountPoint *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = archive_clean_abs(mp[i].destination);
                if (archive_path_within(d, dest) && (!best || strlen(d) > best_len)) {
                        best = &mp[i];
                        best_len = strlen(d);
                }
        }
        bool rw = best ? best->rw : true;
        mount_points_free(mp, n);
        if (!rw)
                return berr_set(err, EINVAL, "mounted volume is marked read-only");
        pthread_mutex_lock(&e->lock);
        bool ro_rootfs = json_bool(container_hostcfg(c), "ReadonlyRootfs");
        pthread_mutex_unlock(&e->lock);
        if (!best && ro_rootfs)
                return berr_set(err, EINVAL, "container rootfs is marked read-only");
        return 0;
}

int container_archive_extract(Engine *e, const char *ref, const char *path, int fd, const ArchiveExtractOptions *o,
                              BerthError **err)
{
        int k = path_required(path, err);
        if (k < 0)
                return k;
        _cleanup_container_ Container *c = NULL;
        if ((k = container_get(e, ref, &c, err)) < 0)
                return k;
        CRoot root;
        if ((k = croot_open(e, c, true, &root, err)) < 0)
                return k;
        Extract x = { .rootfd = root.fd, .destfd = -1, .no_overwrite_dir_non_dir = o->no_overwrite_dir_non_dir };
        _cleanup_free_ char *abs = archive_abs_path(path);
        /* The directory itself may be a symlink to one: followed, inside the root. */
        k = resolve_in_root(root.fd, abs, true, &x.dest);
        if (k < 0) {
                k = berr_set(err, -k, "cannot resolve %s: %s", abs, strerror(-k));
                goto out;
        }
        x.destfd = open_in_root(root.fd, x.dest, O_RDONLY | O_DIRECTORY);
        if (x.destfd == -ENOENT) {
                k = not_found(path, ref, err);
                goto out;
        }
        if (x.destfd == -ENOTDIR) {
                struct stat st;
                _cleanup_close_ int pfd = open_in_root(root.fd, x.dest, O_PATH);
                k = pfd >= 0 && fstat(pfd, &st) == 0 ? berr_set(err, EINVAL, "extraction point is not a directory")
                                                     : not_found(path, ref, err);
                goto out;
        }
        if (x.destfd < 0) {
                k = berr_set(err, -x.destfd, "cannot open %s: %s", x.dest, strerror(-x.destfd));
                goto out;
        }
        if ((k = extract_writable(e, c, x.dest, err)) < 0)
                goto out;
        if (o->copy_uid_gid && (k = extract_owner(e, c, root.fd, &x, err)) < 0)
                goto out;
        x.lim = (UnpackLimits) { .max_ratio = e->cfg.layer_max_ratio, .max_size = e->cfg.layer_max_size,
                                 .min_free = e->cfg.min_free_space };
        struct stat dst, rst;
        x.same_fs_as_data_root = fstat(x.destfd, &dst) == 0 && stat(e->cfg.data_root, &rst) == 0 &&
                                 dst.st_dev == rst.st_dev;
        k = extract_run(&x, fd, err);
        if (k == 0)
                events_container(e, c, "extract-to-dir", NULL);
out:
        extract_done(&x);
        croot_done(&root);
        return k;
}
