/* Creating the container process: clone into new namespaces, set up its root inside its own
 * mount namespace (so nothing is ever mounted on the host), hold it before execve.
 *
 * The monitor and the child talk over a SOCK_SEQPACKET pair:
 *   monitor -> child  "C"  cgroup joined, go on with setup
 *   child -> monitor  "R"  ready (with the pty master as SCM_RIGHTS for tty), or "E<code> <text>"
 *                          ("U<code> <text>": a message Docker gives without the runtime's prefix)
 *   monitor -> child  "S"  start: execve
 *   child -> monitor  "E<code> <text>" when execve failed; EOF (the socket is close-on-exec) when it worked. */
#include "runtime.h"
#include "runtime/channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>

#include "basic/util.h"
#include "runtime/user.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define INIT_IN_CONTAINER "/sbin/docker-init"

typedef struct Child {
        const RtSpec *spec;
        const char *rundir;
        const char *init_path;
        int sock;
        int stdio[3]; /* non-tty: what becomes 0, 1, 2 */
} Child;

static int write_all_to(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, s, strlen(s));
        return n < 0 ? -errno : (size_t) n == strlen(s) ? 0 : -EIO;
}

static _noreturn_ _printf_(3, 4) void child_fail(Child *ch, int code, const char *fmt, ...)
{
        char buf[2048];
        int n = snprintf(buf, sizeof(buf), "E%d ", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf + n, sizeof(buf) - (size_t) n, fmt, ap);
        va_end(ap);
        (void) !send(ch->sock, buf, strlen(buf), MSG_NOSIGNAL);
        _exit(code);
}

static int exit_code_for_errno(int e)
{
        if (e == ENOENT)
                return 127;
        if (e == EACCES || e == EISDIR || e == EPERM)
                return 126;
        return 125;
}

/* Resolves path (absolute, inside the container) under rootfd without ever leaving it, creating
 * missing directories (and the last component as a file when !dir). Returns an O_PATH fd. */
static int open_in_root(int rootfd, const char *path, bool create, bool dir)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (fd >= 0 || errno != ENOENT || !create)
                return fd < 0 ? -errno : fd;
        _cleanup_free_ char *p = xstrdup(path);
        if (!p)
                return -ENOMEM;
        /* Walk prefix by prefix, creating what is missing, each step resolved in the root. */
        for (char *s = p + 1;; s++) {
                bool last = *s == 0;
                if (*s != '/' && !last)
                        continue;
                char saved = *s;
                *s = 0;
                if (*(s - 1) != '/') {
                        fd = (int) syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
                        if (fd < 0 && errno != ENOENT)
                                return -errno;
                        if (fd < 0) {
                                char *slash = strrchr(p, '/');
                                *slash = 0;
                                _cleanup_close_ int pfd = (int) syscall(SYS_openat2, rootfd, *p ? p : "/", &how,
                                                                        sizeof(how));
                                *slash = '/';
                                if (pfd < 0)
                                        return -errno;
                                _cleanup_free_ char *pp = xasprintf("/proc/self/fd/%d", pfd);
                                _cleanup_close_ int dfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                if (dfd < 0)
                                        return -errno;
                                if (!last || dir) {
                                        if (mkdirat(dfd, slash + 1, 0755) < 0 && errno != EEXIST)
                                                return -errno;
                                } else {
                                        int f = openat(dfd, slash + 1, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                                                       0644);
                                        if (f < 0 && errno != EEXIST)
                                                return -errno;
                                        safe_close(f);
                                }
                                fd = (int) syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
                                if (fd < 0)
                                        return -errno;
                        }
                        if (!last)
                                safe_close(fd);
                }
                if (last)
                        return fd;
                *s = saved;
        }
}

/* Mounts onto a path inside the root, resolved safely. */
static int mount_in_root(int rootfd, const char *target, bool dir, const char *source, const char *fstype,
                         unsigned long flags, const char *data)
{
        _cleanup_close_ int fd = open_in_root(rootfd, target, true, dir);
        if (fd < 0)
                return fd;
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        if (mount(source, p, fstype, flags, data) < 0)
                return -errno;
        if ((flags & MS_BIND) && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))) {
                /* Bind mounts take flags only on remount, of the new mount: resolve the path again. */
                _cleanup_close_ int nfd = open_in_root(rootfd, target, false, dir);
                if (nfd < 0)
                        return nfd;
                snprintf(p, sizeof(p), "/proc/self/fd/%d", nfd);
                if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                          NULL) < 0)
                        return -errno;
        }
        return 0;
}

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct rt_mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* The mount at fd and every mount below it read-only (MS_RDONLY on remount covers only the top). */
static int rdonly_recursive_fd(int fd)
{
        struct rt_mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                return -errno;
        return 0;
}

static int rdonly_recursive_in_root(int rootfd, const char *target, bool dir)
{
        _cleanup_close_ int fd = open_in_root(rootfd, target, false, dir);
        if (fd < 0)
                return fd;
        return rdonly_recursive_fd(fd);
}

static char *lowerdir_option(const RtSpec *s, const char *empty)
{
        size_t n = strv_length(s->layers);
        if (n == 0)
                return xstrdup(empty);
        size_t len = 1;
        for (size_t i = 0; i < n; i++)
                len += strlen(s->layers[i]) + 1;
        char *o = xmalloc(len);
        if (!o)
                return NULL;
        o[0] = 0;
        for (size_t i = n; i-- > 0;) { /* overlay wants the top layer first */
                strcat(o, s->layers[i]);
                if (i > 0)
                        strcat(o, ":");
        }
        return o;
}

static void mount_rootfs(Child *ch, const char *rootfs)
{
        const RtSpec *s = ch->spec;
        _cleanup_free_ char *empty = xasprintf("%s/empty", ch->rundir);
        _cleanup_free_ char *lower = lowerdir_option(s, empty);
        _cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, s->upper, s->work);
        if (strlen(opts) >= 4000) {
                /* The option string is limited to a page: use paths relative to the layers' common parent. */
                _cleanup_free_ char *common = xstrdup(s->layers[0]);
                char *slash = strrchr(common, '/');
                for (size_t i = 0; slash && s->layers[i]; i++)
                        while (slash && !(strneq(s->layers[i], common, (size_t) (slash - common) + 1))) {
                                *slash = 0;
                                slash = strrchr(common, '/');
                        }
                if (slash) {
                        *slash = 0;
                        size_t cl = strlen(common) + 1;
                        if (chdir(*common ? common : "/") < 0)
                                child_fail(ch, 125, "error during container init: chdir %s: %s",
                                           common, go_strerror(errno));
                        free(lower);
                        size_t n = strv_length(s->layers), len = 1;
                        for (size_t i = 0; i < n; i++)
                                len += strlen(s->layers[i]) + 1;
                        lower = xmalloc(len);
                        lower[0] = 0;
                        for (size_t i = n; i-- > 0;) {
                                strcat(lower, s->layers[i] + cl);
                                if (i > 0)
                                        strcat(lower, ":");
                        }
                        free(opts);
                        opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, s->upper, s->work);
                }
        }
        if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
                child_fail(ch, 125, "error during container init: error mounting overlay at %s: %s",
                           rootfs, go_strerror(errno));
}

static void make_dev(Child *ch, int rootfd)
{
        static const struct {
                const char *name;
                unsigned maj, min;
        } nodes[] = { { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
                      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
        static const struct {
                const char *name, *target;
        } links[] = { { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
                      { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" }, { "core", "/proc/kcore" } };
        _cleanup_close_ int pfd = open_in_root(rootfd, "/dev", false, true);
        if (pfd < 0)
                child_fail(ch, 125, "error during container init: open /dev: %s", go_strerror(-pfd));
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
        _cleanup_close_ int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                child_fail(ch, 125, "error during container init: open /dev: %s", go_strerror(errno));
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                if (mknodat(dfd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
                        child_fail(ch, 125, "error during container init: mknod /dev/%s: %s",
                                   nodes[i].name, go_strerror(errno));
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dfd, links[i].name) < 0)
                        child_fail(ch, 125, "error during container init: symlink /dev/%s: %s",
                                   links[i].name, go_strerror(errno));
}

/* A privileged container gets the host's device nodes, as Docker's does. hdir is a host /dev
 * directory (we are still in the host's view of the filesystem), rel its path below /dev. */
static void copy_host_devices(Child *ch, int rootfd, int hdir, const char *rel, int depth)
{
        static const char *const skip[] = { "pts", "shm", "mqueue", "console", "ptmx", "fd", "core", ".udev" };
        DIR *d = fdopendir(hdir);
        if (!d) {
                close(hdir);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                bool skipped = false;
                for (size_t i = 0; depth == 0 && i < ELEMENTSOF(skip); i++)
                        skipped = skipped || streq(de->d_name, skip[i]);
                struct stat st;
                if (skipped || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", rel, de->d_name);
                if (S_ISDIR(st.st_mode) && depth < 4) {
                        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                copy_host_devices(ch, rootfd, sub, p, depth + 1);
                        continue;
                }
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        continue;
                _cleanup_free_ char *parent = xasprintf("/dev%s", rel);
                _cleanup_close_ int pfd = open_in_root(rootfd, *rel ? parent : "/dev", true, true);
                if (pfd < 0)
                        continue;
                char pp[64];
                snprintf(pp, sizeof(pp), "/proc/self/fd/%d", pfd);
                _cleanup_close_ int dfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                if (mknodat(dfd, de->d_name, st.st_mode, st.st_rdev) == 0)
                        (void) fchownat(dfd, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        }
        closedir(d);
}

/* --device nodes, and for privileged containers every host device. */
static void make_extra_devices(Child *ch, int rootfd)
{
        const RtSpec *s = ch->spec;
        if (s->privileged) {
                int h = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (h >= 0)
                        copy_host_devices(ch, rootfd, h, "", 0);
        }
        for (size_t i = 0; i < s->n_devices; i++) {
                const RtDevice *dv = &s->devices[i];
                _cleanup_free_ char *parent = xstrdup(dv->path);
                char *slash = strrchr(parent, '/');
                *slash = 0;
                _cleanup_close_ int pfd = open_in_root(rootfd, *parent ? parent : "/", true, true);
                if (pfd < 0)
                        child_fail(ch, 125, "error during container init: creating device %s: %s", dv->path,
                                   strerror(-pfd));
                char pp[64];
                snprintf(pp, sizeof(pp), "/proc/self/fd/%d", pfd);
                _cleanup_close_ int dfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                mode_t type = dv->type == 'b' ? S_IFBLK : S_IFCHR;
                (void) unlinkat(dfd, slash + 1, 0); /* --device may replace a default node */
                if (dfd < 0 || mknodat(dfd, slash + 1, type | (dv->file_mode & 07777),
                                       makedev((unsigned) dv->major, (unsigned) dv->minor)) < 0 ||
                    fchownat(dfd, slash + 1, dv->uid, dv->gid, AT_SYMLINK_NOFOLLOW) < 0)
                        child_fail(ch, 125, "error during container init: creating device %s: %m", dv->path);
        }
}

/* Propagation of a mount point (MS_SHARED etc., with MS_REC for the r- forms); 0 for none. */
static unsigned long mount_propagation(char **options)
{
        static const struct {
                const char *name;
                unsigned long flags;
        } map[] = { { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC }, { "shared", MS_SHARED },
                    { "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC } };
        for (size_t i = 0; options && options[i]; i++)
                for (size_t k = 0; k < ELEMENTSOF(map); k++)
                        if (streq(options[i], map[k].name))
                                return map[k].flags;
        return 0;
}

static unsigned long mount_flags(char **options, bool *rec, char **data)
{
        static const struct {
                const char *name;
                unsigned long set, clear;
        } map[] = {
                { "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY }, { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
                { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV }, { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
                { "bind", MS_BIND, 0 }, { "rbind", MS_BIND, 0 }, { "private", 0, 0 }, { "rprivate", 0, 0 },
                { "slave", 0, 0 }, { "rslave", 0, 0 }, { "shared", 0, 0 }, { "rshared", 0, 0 },
        };
        unsigned long f = 0;
        *rec = false;
        *data = NULL;
        for (size_t i = 0; options && options[i]; i++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(map); k++)
                        if (streq(options[i], map[k].name)) {
                                f = (f | map[k].set) & ~map[k].clear;
                                known = true;
                        }
                if (streq(options[i], "rbind"))
                        *rec = true;
                if (streq(options[i], "copyup"))
                        known = true;
                if (!known) {
                        char *nd = *data ? xasprintf("%s,%s", *data, options[i]) : xstrdup(options[i]);
                        free(*data);
                        *data = nd;
                }
        }
        return f;
}

/* ---- copy-up: an empty volume takes the image's files at its mount point (Docker's copy-up) ---- */

static void copy_xattrs(int sfd, int dfd)
{
        char names[4096];
        ssize_t n = flistxattr(sfd, names, sizeof(names));
        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t) strlen(names + off) + 1) {
                const char *k = names + off;
                if (startswith(k, "trusted.overlay.")) /* overlayfs' own bookkeeping */
                        continue;
                char val[4096];
                ssize_t vl = fgetxattr(sfd, k, val, sizeof(val));
                if (vl >= 0)
                        (void) fsetxattr(dfd, k, val, (size_t) vl, 0);
        }
}

static void copy_meta(int sfd, int dfd, const struct stat *st)
{
        copy_xattrs(sfd, dfd);
        (void) fchown(dfd, st->st_uid, st->st_gid);
        (void) fchmod(dfd, st->st_mode & 07777);
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        (void) futimens(dfd, ts);
}

/* Every entry below the directory sfd into the directory dfd, never following a symlink. */
static int copy_tree(int sfd, int dfd, int depth)
{
        if (depth > 128)
                return -ELOOP;
        int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!d) {
                safe_close(dup_fd);
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                const char *n = de->d_name;
                if (streq(n, ".") || streq(n, ".."))
                        continue;
                struct stat st;
                if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(dfd, n, 0700) < 0 && errno != EEXIST) {
                                r = -errno;
                                break;
                        }
                        _cleanup_close_ int cs = openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int cd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cs < 0 || cd < 0) {
                                r = -errno;
                                break;
                        }
                        r = copy_tree(cs, cd, depth + 1);
                        copy_meta(cs, cd, &st);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int fs = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int fd = openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                                        0600);
                        if (fs < 0 || fd < 0) {
                                r = -errno;
                                break;
                        }
                        char buf[65536];
                        ssize_t k;
                        while ((k = read(fs, buf, sizeof(buf))) > 0)
                                if (loop_write(fd, buf, (size_t) k) < 0) {
                                        k = -1;
                                        break;
                                }
                        if (k < 0) {
                                r = -errno;
                                break;
                        }
                        copy_meta(fs, fd, &st);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t k = readlinkat(sfd, n, target, sizeof(target) - 1);
                        if (k < 0 || symlinkat((target[k] = 0, target), dfd, n) < 0) {
                                r = -errno;
                                break;
                        }
                        (void) fchownat(dfd, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                        struct timespec ts[2] = { st.st_atim, st.st_mtim };
                        (void) utimensat(dfd, n, ts, AT_SYMLINK_NOFOLLOW);
                } else {
                        /* devices, fifos, sockets: the node, not its content */
                        if (mknodat(dfd, n, st.st_mode, st.st_rdev) < 0) {
                                r = -errno;
                                break;
                        }
                        (void) fchownat(dfd, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                        (void) fchmodat(dfd, n, st.st_mode & 07777, 0);
                }
        }
        closedir(d);
        return r;
}

static void copy_up(Child *ch, int rootfd, const char *dest, const char *volume)
{
        _cleanup_close_ int vfd = open(volume, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (vfd < 0)
                return;
        int dup_fd = fcntl(vfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        bool empty = d != NULL;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        empty = false;
        if (d)
                closedir(d);
        else
                safe_close(dup_fd);
        if (!empty)
                return;
        /* the image's directory, resolved inside the root and never created */
        _cleanup_close_ int pfd = open_in_root(rootfd, dest, false, true);
        if (pfd < 0)
                return;
        char pp[64];
        snprintf(pp, sizeof(pp), "/proc/self/fd/%d", pfd);
        _cleanup_close_ int sfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (sfd < 0 || fstat(sfd, &st) < 0)
                return;
        int r = copy_tree(sfd, vfd, 0);
        if (r < 0)
                child_fail(ch, 125, "error during container init: copying the image's files at \"%s\" into its "
                           "volume: %s", dest, go_strerror(-r));
        copy_meta(sfd, vfd, &st);
}


#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* /sys/fs/cgroup as Docker shows it (programs read their limits there): the container's own cgroups,
 * which the cgroup namespace makes the root, read-only unless privileged. A hierarchy that cannot be
 * mounted is left out rather than failing the container. Without a cgroup namespace it would show the
 * host's tree, so it stays as sysfs has it. */
static void mount_cgroups(Child *ch, int rootfd, bool ro)
{
        if (!ch->spec->ns_cgroup)
                return;
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (ro ? MS_RDONLY : 0);
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
                (void) mount_in_root(rootfd, "/sys/fs/cgroup", true, "cgroup2", "cgroup2", flags, NULL);
                return;
        }
        if (mount_in_root(rootfd, "/sys/fs/cgroup", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "mode=755") < 0)
                return;
        _cleanup_free_ char *self = NULL;
        if (read_file("/proc/self/cgroup", &self, NULL) < 0)
                return;
        _cleanup_close_ int dir = open_in_root(rootfd, "/sys/fs/cgroup", false, true);
        char *save = NULL;
        for (char *line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* "N:controllers:/path"; the unified line of a hybrid host ("0::/") has none */
                char *c = strchr(line, ':');
                char *e = c ? strchr(c + 1, ':') : NULL;
                if (!c || !e || e == c + 1)
                        continue;
                *e = 0;
                const char *name = c + 1;
                /* only hierarchies where the container has a cgroup of its own: in the others (named
                 * ones, net_cls, perf_event, ...) its namespace root would be the monitor's, the host's */
                bool own = !strchr(name, '/') && !startswith(name, "name=");
                _cleanup_free_ char *each = xstrdup(name);
                char *es = NULL;
                for (char *p = strtok_r(each, ",", &es); p && own; p = strtok_r(NULL, ",", &es))
                        own = rt_cgroup_v1_managed(p);
                if (!own)
                        continue;
                _cleanup_free_ char *target = xasprintf("/sys/fs/cgroup/%s", name);
                const char *opts = name;
                if (mount_in_root(rootfd, target, true, "cgroup", "cgroup", flags, opts) < 0)
                        continue;
                /* "cpu,cpuacct" is also reachable as cpu and cpuacct */
                if (strchr(name, ',') && dir >= 0) {
                        _cleanup_free_ char *parts = xstrdup(name);
                        char *ps = NULL;
                        for (char *p = strtok_r(parts, ",", &ps); p; p = strtok_r(NULL, ",", &ps))
                                (void) symlinkat(name, dir, p);
                }
        }
        if (ro && dir >= 0) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", dir);
                (void) mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755");
        }
}

static void do_mounts(Child *ch, const char *rootfs, int rootfd, int *pty_master, int *pty_slave)
{
        const RtSpec *s = ch->spec;
        int r;
#define MNT(target, dir, src, type, flags, data)                                                          \
        do {                                                                                              \
                r = mount_in_root(rootfd, target, dir, src, type, flags, data);                            \
                if (r < 0)                                                                                \
                        child_fail(ch, 125, "error during container init: error mounting \"%s\" to rootfs at \"%s\": %s", \
                                   src ? src : type, target, go_strerror(-r));                               \
        } while (0)

        MNT("/proc", true, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        MNT("/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        MNT("/dev/pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        _cleanup_free_ char *shm = xasprintf("mode=1777,size=%lld", (long long) s->shm_size);
        if (s->ns_ipc)
                MNT("/dev/shm", true, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm);
        else /* --ipc=host: the host's POSIX shared memory too, as in Docker */
                MNT("/dev/shm", true, "/dev/shm", NULL, MS_BIND | MS_REC, NULL);
        MNT("/dev/mqueue", true, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        unsigned long sysro = s->privileged ? 0 : MS_RDONLY;
        r = mount_in_root(rootfd, "/sys", true, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | sysro, NULL);
        if (r == -EPERM || r == -EBUSY) /* sysfs of a network namespace we do not own: the host's, read-only */
                r = mount_in_root(rootfd, "/sys", true, "/sys", NULL, MS_BIND | MS_REC | sysro, NULL);
        if (r < 0)
                child_fail(ch, 125, "error during container init: error mounting \"sysfs\" to rootfs at \"/sys\": %s",
                           go_strerror(-r));
        mount_cgroups(ch, rootfd, !s->privileged);
        make_dev(ch, rootfd);
        make_extra_devices(ch, rootfd);

        if (s->tty) {
                _cleanup_free_ char *ptmx = xasprintf("%s/dev/pts/ptmx", rootfs);
                int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
                int unlock = 0, n = -1;
                if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0)
                        child_fail(ch, 125, "error during container init: allocating a pty: %s",
                                   go_strerror(errno));
                int sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
                if (sl < 0)
                        child_fail(ch, 125, "error during container init: opening the pty: %s",
                                   go_strerror(errno));
                _cleanup_free_ char *pts = xasprintf("%s/dev/pts/%d", rootfs, n);
                MNT("/dev/console", false, pts, NULL, MS_BIND, NULL);
                *pty_master = m;
                *pty_slave = sl;
        }

        for (size_t i = 0; i < s->n_mounts; i++) {
                const RtMount *m = &s->mounts[i];
                bool rec;
                _cleanup_free_ char *data = NULL;
                unsigned long f = mount_flags(m->options, &rec, &data);
                if (streq(m->type, "bind")) {
                        struct stat st;
                        if (stat(m->source, &st) < 0)
                                child_fail(ch, 125, "error during container init: error mounting \"%s\" to rootfs at \"%s\": stat %s: %s",
                                           m->source, m->destination, m->source, go_strerror(errno));
                        if (S_ISDIR(st.st_mode) && strv_contains(m->options, "copyup"))
                                copy_up(ch, rootfd, m->destination, m->source);
                        MNT(m->destination, S_ISDIR(st.st_mode), m->source, NULL,
                            MS_BIND | (rec ? MS_REC : 0) | f, NULL);
                        unsigned long prop = mount_propagation(m->options);
                        if (prop) {
                                _cleanup_close_ int pfd = open_in_root(rootfd, m->destination, false,
                                                                       S_ISDIR(st.st_mode));
                                char pp[64];
                                snprintf(pp, sizeof(pp), "/proc/self/fd/%d", pfd);
                                if (pfd < 0 || mount(NULL, pp, NULL, prop, NULL) < 0)
                                        child_fail(ch, 125, "error during container init: setting the propagation "
                                                   "of \"%s\": %s", m->destination, go_strerror(pfd < 0 ? -pfd : errno));
                        }
                        /* ":ro" of a recursive bind covers every submount (/host/proc of -v /:/host:ro). */
                        if (rec && (f & MS_RDONLY) && (r = rdonly_recursive_in_root(rootfd, m->destination,
                                                                                      S_ISDIR(st.st_mode))) < 0)
                                child_fail(ch, 125, "error during container init: making \"%s\" recursively read-only%s: %s",
                                           m->destination,
                                           r == -ENOSYS ? " (mount_setattr needs Linux 5.12 or later)" : "",
                                           strerror(-r));
                } else
                        MNT(m->destination, true, m->source ? m->source : m->type, m->type, f & ~MS_BIND, data);
        }
        if (s->init && ch->init_path)
                MNT(INIT_IN_CONTAINER, false, ch->init_path, NULL, MS_BIND | MS_RDONLY, NULL);
#undef MNT
}

static void pivot(Child *ch, int rootfd)
{
        if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
                child_fail(ch, 125, "error during container init: pivot_root: %s", go_strerror(errno));
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                child_fail(ch, 125, "error during container init: unmounting the old root: %s",
                           go_strerror(errno));
}

static void mask_and_protect(Child *ch)
{
        const RtSpec *s = ch->spec;
        if (s->privileged)
                return;
        for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++) {
                const char *p = s->masked_paths[i];
                struct stat st;
                if (stat(p, &st) < 0)
                        continue;
                int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
                                            : mount("/dev/null", p, NULL, MS_BIND, NULL);
                if (r < 0)
                        child_fail(ch, 125, "error during container init: masking %s: %s",
                                   p, go_strerror(errno));
        }
        for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++) {
                const char *p = s->readonly_paths[i];
                struct stat st;
                if (stat(p, &st) < 0)
                        continue;
                if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        child_fail(ch, 125, "error during container init: making %s read-only: %m", p);
                _cleanup_close_ int fd = open(p, O_PATH | O_CLOEXEC);
                int r = fd < 0 ? -errno : rdonly_recursive_fd(fd);
                if (r < 0)
                        child_fail(ch, 125, "error during container init: making %s recursively read-only: %s", p,
                                   go_strerror(-r));
        }
}

/* Namespaced sysctls (berthd allows only those), through the container's own /proc, before
 * /proc/sys becomes read-only. */
static void apply_sysctls(Child *ch)
{
        for (size_t i = 0; ch->spec->sysctls && ch->spec->sysctls[i]; i++) {
                const char *kv = ch->spec->sysctls[i];
                const char *eq = strchr(kv, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *path = xasprintf("/proc/sys/%.*s", (int) (eq - kv), kv);
                for (char *p = path + strlen("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                _cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0)
                        child_fail(ch, 125, "error during container init: setting sysctl %.*s: %m", (int) (eq - kv),
                                   kv);
        }
}

static void loopback_up(void)
{
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                (void) ioctl(fd, SIOCSIFFLAGS, &ifr);
        }
        close(fd);
}

/* The container must not inherit the monitor's other descriptors (the sync pipe above all). */
static void close_other_fds(Child *ch)
{
        int keep[4] = { ch->sock, ch->stdio[0], ch->stdio[1], ch->stdio[2] };
        rt_close_fds_except(keep, ELEMENTSOF(keep));
}

static _noreturn_ void child_main(Child *ch)
{
        const RtSpec *s = ch->spec;
        char buf[64];
        /* Not dumpable until execve: nothing in the container may ptrace or pidfd_getfd us. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        close_other_fds(ch);
        umask(0);
        if (rt_recv_msg(ch->sock, buf, sizeof(buf), NULL, -1) <= 0 || buf[0] != 'C')
                _exit(125);
        if (s->ns_cgroup && unshare(CLONE_NEWCGROUP) < 0)
                child_fail(ch, 125, "error during container init: unshare cgroup namespace: %s",
                           go_strerror(errno));
        if (s->netns) {
                int nfd = open(s->netns, O_RDONLY | O_CLOEXEC);
                if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
                        child_fail(ch, 125, "error during container init: joining network namespace %s: %s",
                                   s->netns, go_strerror(errno));
                close(nfd);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(ch, 125, "error during container init: making / private: %s", go_strerror(errno));
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", ch->rundir);
        mount_rootfs(ch, rootfs);
        int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                child_fail(ch, 125, "error during container init: open rootfs: %s", go_strerror(errno));
        int master = -1, slave = -1;
        do_mounts(ch, rootfs, rootfd, &master, &slave);
        pivot(ch, rootfd);
        close(rootfd);
        apply_sysctls(ch);
        mask_and_protect(ch);
        if (s->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                child_fail(ch, 125, "error during container init: making the root read-only: %s",
                           go_strerror(errno));
        if (s->ns_uts) {
                if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                        child_fail(ch, 125, "error during container init: sethostname: %s",
                                   go_strerror(errno));
                if (s->domainname && *s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                        child_fail(ch, 125, "error during container init: setdomainname: %s",
                                   go_strerror(errno));
        }
        if (s->ns_net && !s->netns)
                loopback_up();
        umask(022);

        /* User, working dir, command: all looked up inside the container's root. */
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        _cleanup_berr_ BerthError *uerr = NULL;
        (void) read_file("/etc/passwd", &passwd, NULL);
        (void) read_file("/etc/group", &group, NULL);
        RtExecUser u;
        if (rt_user_resolve(s->user, passwd, group, &u, &uerr) < 0) {
                /* Docker reports this from the daemon, without the runtime's prefix. */
                char m[1024];
                snprintf(m, sizeof(m), "U125 %s", uerr ? uerr->msg : "unable to resolve the user");
                (void) !send(ch->sock, m, strlen(m), MSG_NOSIGNAL);
                _exit(125);
        }
        if (rt_user_add_groups(&u, s->group_add, group, &uerr) < 0) {
                char m[1024];
                snprintf(m, sizeof(m), "U125 %s", uerr ? uerr->msg : "unable to resolve the groups");
                (void) !send(ch->sock, m, strlen(m), MSG_NOSIGNAL);
                _exit(125);
        }
        /* Docker always lists the primary group among the supplementary ones. */
        size_t n_groups;
        gid_t *groups = rt_user_groups(&u, &n_groups);
        char **env = rt_user_env(s->env, &u);
        (void) mkdir_p(s->cwd, 0755); /* Docker creates a missing WorkingDir, owned by root */
        if (chdir(s->cwd) < 0)
                child_fail(ch, 125, "error during container init: chdir to cwd (\"%s\") set in config.json failed: %s",
                           s->cwd, go_strerror(errno));
        _cleanup_free_ char *exe = NULL;
        _cleanup_berr_ BerthError *lerr = NULL;
        int r = rt_lookup_path(s->args[0], strv_env_get(env, "PATH"), &exe, &lerr);
        if (r < 0)
                child_fail(ch, exit_code_for_errno(-r), "%s", lerr ? lerr->msg : "exec: lookup failed");
        char **argv = s->args;
        if (s->init && ch->init_path) {
                size_t n = strv_length(s->args);
                argv = xcalloc(n + 3, sizeof(char *));
                argv[0] = (char *) INIT_IN_CONTAINER;
                argv[1] = (char *) "--";
                memcpy(argv + 2, s->args, n * sizeof(char *));
                free(exe);
                exe = xstrdup(INIT_IN_CONTAINER);
        }

        /* stdio */
        if (s->tty) {
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        child_fail(ch, 125, "error during container init: setting the controlling terminal: %s",
                                   go_strerror(errno));
                for (int i = 0; i < 3; i++)
                        if (dup2(slave, i) < 0)
                                child_fail(ch, 125, "error during container init: dup2: %s",
                                           go_strerror(errno));
                if (slave > 2)
                        close(slave);
        } else {
                for (int i = 0; i < 3; i++)
                        if (dup3(ch->stdio[i], i, 0) < 0 && ch->stdio[i] != i)
                                child_fail(ch, 125, "error during container init: dup2: %s",
                                           go_strerror(errno));
        }
        if (rt_send_fd(ch->sock, "R", master) < 0)
                _exit(125);
        if (master >= 0)
                close(master);
        if (rt_recv_msg(ch->sock, buf, sizeof(buf), NULL, -1) <= 0 || buf[0] != 'S')
                _exit(125);

        /* as runc: the container's own score, whatever the monitor's is */
        char adj[16];
        snprintf(adj, sizeof(adj), "%d", s->oom_score_adj);
        if ((r = write_all_to("/proc/self/oom_score_adj", adj)) < 0)
                child_fail(ch, 125, "error during container init: write /proc/self/oom_score_adj: %s", go_strerror(-r));
        if ((r = rt_spec_apply_rlimits(s)) < 0)
                child_fail(ch, 125, "error during container init: setting rlimits: %s", go_strerror(-r));
        char *const *caps = s->capabilities ? s->capabilities : (char *const *) rt_default_capabilities;
        _cleanup_berr_ BerthError *scerr = NULL;
        if (s->seccomp && !s->privileged && (r = (s->seccomp_bpf ? rt_seccomp_load_bpf(s->seccomp_bpf)
                                                       : rt_seccomp_load(s->seccomp_profile, caps, s->all_capabilities, &scerr))) < 0)
                child_fail(ch, 125, "error during container init: loading seccomp filter: %s",
                           scerr ? scerr->msg : go_strerror(-r));
        r = rt_switch_user_and_caps(caps, s->privileged || s->all_capabilities, u.uid, u.gid, groups, n_groups);
        if (r == 0 && s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = -errno;
        if (r < 0)
                child_fail(ch, 125, "error during container init: setting user and capabilities: %s",
                           go_strerror(-r));
        /* Everything but stdio and the setup socket (close-on-exec) must not reach the command. */
        (void) syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL);
        execve(exe, argv, env);
        int e = errno;
        child_fail(ch, exit_code_for_errno(e), "exec: \"%s\": %s", s->args[0], go_strerror(e));
}

/* The child's report ("E125 text", "U125 text": U is the daemon's own wording, without the
 * runtime's prefix) as Docker words it. */
static int parse_error(const char *msg, int *exit_code, BerthError **err)
{
        int code = 125;
        const char *text = msg;
        if (msg[0] == 'E' || msg[0] == 'U') {
                code = atoi(msg + 1);
                const char *sp = strchr(msg, ' ');
                text = sp ? sp + 1 : "";
        }
        *exit_code = code > 0 ? code : 125;
        if (msg[0] == 'U')
                return berr_set(err, EIO, "%s", text);
        return berr_set(err, EIO, RT_ERROR_PREFIX "%s" RT_ERROR_SUFFIX, text);
}

static void reap(pid_t pid)
{
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

int rt_container_create(const RtSpec *spec, const char *rundir, const char *init_path, const RtCgroupOps *cg,
                        RtContainer *c, int *exit_code, BerthError **err)
{
        *c = (RtContainer){ .pid = -1, .sync_fd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
        *exit_code = 125;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", rundir);
        _cleanup_free_ char *empty = xasprintf("%s/empty", rundir);
        if ((mkdir(rootfs, 0755) < 0 && errno != EEXIST) || (mkdir(empty, 0755) < 0 && errno != EEXIST))
                return berr_set(err, errno, RT_ERROR_PREFIX "error creating %s: %s" RT_ERROR_SUFFIX, rootfs,
                                go_strerror(errno));
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return berr_set(err, errno, RT_ERROR_PREFIX "socketpair: %s" RT_ERROR_SUFFIX, go_strerror(errno));
        _cleanup_close_ int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        int p[2];
        if (!spec->tty) {
                if (spec->open_stdin) {
                        if (pipe2(p, O_CLOEXEC) < 0)
                                goto fail_errno;
                        in_r = p[0];
                        in_w = p[1];
                } else if ((in_r = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                        goto fail_errno;
                if (pipe2(p, O_CLOEXEC) < 0)
                        goto fail_errno;
                out_r = p[0];
                out_w = p[1];
                if (pipe2(p, O_CLOEXEC) < 0)
                        goto fail_errno;
                err_r = p[0];
                err_w = p[1];
        }
        unsigned long flags = CLONE_NEWNS | SIGCHLD;
        if (spec->ns_pid)
                flags |= CLONE_NEWPID;
        if (spec->ns_uts)
                flags |= CLONE_NEWUTS;
        if (spec->ns_ipc)
                flags |= CLONE_NEWIPC;
        if (spec->ns_net && !spec->netns)
                flags |= CLONE_NEWNET;
        /* Like fork (no CLONE_VM, no new stack): the child runs on a copy of our memory. */
        pid_t pid = (pid_t) syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
        if (pid < 0)
                goto fail_errno;
        if (pid == 0) {
                close(sp[0]);
                Child ch = { .spec = spec, .rundir = rundir, .init_path = init_path, .sock = sp[1],
                             .stdio = { in_r, out_w, err_w } };
                child_main(&ch);
        }
        close(sp[1]);
        c->pid = pid;
        c->sync_fd = sp[0];
        int r;
        if (cg && spec->cgroup && (r = cg->add_pid(spec->cgroup, pid)) < 0) {
                kill(pid, SIGKILL);
                reap(pid);
                safe_close(sp[0]);
                return berr_set(err, -r, RT_ERROR_PREFIX "error joining cgroup %s: %s" RT_ERROR_SUFFIX,
                                spec->cgroup, go_strerror(-r));
        }
        char buf[2048];
        int master = -1;
        ssize_t n = -1;
        if (send(sp[0], "C", 1, MSG_NOSIGNAL) == 1)
                n = rt_recv_msg(sp[0], buf, sizeof(buf), &master, -1);
        if (n <= 0 || buf[0] != 'R') {
                if (n <= 0)
                        snprintf(buf, sizeof(buf), "E125 error during container init: setup process died");
                reap(pid);
                safe_close(sp[0]);
                safe_close(master);
                return parse_error(buf, exit_code, err);
        }
        if (spec->tty) {
                if (master < 0) {
                        kill(pid, SIGKILL);
                        reap(pid);
                        safe_close(sp[0]);
                        return parse_error("E125 error during container init: no pty received", exit_code, err);
                }
                c->stdout_fd = master;
                c->stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
        } else {
                c->stdin_fd = spec->open_stdin ? TAKE_FD(in_w) : -1;
                c->stdout_fd = TAKE_FD(out_r);
                c->stderr_fd = TAKE_FD(err_r);
        }
        return 0;

fail_errno:
        r = -errno;
        safe_close(sp[0]);
        safe_close(sp[1]);
        return berr_set(err, -r, RT_ERROR_PREFIX "%s" RT_ERROR_SUFFIX, go_strerror(-r));
}

int rt_container_start(RtContainer *c, int *exit_code, BerthError **err)
{
        *exit_code = 0;
        if (c->sync_fd < 0)
                return -EALREADY;
        char buf[2048];
        ssize_t n = -1;
        if (send(c->sync_fd, "S", 1, MSG_NOSIGNAL) == 1)
                n = rt_recv_msg(c->sync_fd, buf, sizeof(buf), NULL, -1);
        c->sync_fd = safe_close(c->sync_fd);
        if (n == 0)
                return 0; /* close-on-exec closed the socket: execve worked */
        if (n < 0)
                snprintf(buf, sizeof(buf), "E125 error during container init: setup process died");
        return parse_error(buf, exit_code, err);
}
