/* Start-up reconciliation (docs/state-store.md, "Crash recovery"): before the API is served,
 * what exists (monitors, run and data directories, cgroups, mounts, network rows) is compared
 * with the state store, and each difference is adopted or removed. Every action is logged
 * with its reason.
 *
 * Ownership: another berthd may run on the same host and shares the cgroup tree and the
 * process table, so only what this daemon can prove is its own is touched:
 * - a monitor is ours when its argv is `berth-monitor <exec-root>/containers/<id>` with our
 *   exec root (processes are never matched by name alone);
 * - a cgroup `berth/<id>` is ours when <id> has a row, a data directory or a run directory
 *   here, or a monitor of ours (the cgroup tree itself is never listed);
 * - a mount is ours when its mount point lies inside a container or temporary directory of
 *   our data root or exec root. */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>

#include "basic/log.h"
#include "basic/util.h"
#include "container.h"
#include "network/network.h"
#include "runtime/cgroup.h"

typedef struct {
        pid_t pid;
        char id[65];
} MonProc;

static bool is_id(const char *s)
{
        return strlen(s) == 64 && is_hex(s, 64);
}

static void sleep_ms(long ms)
{
        nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Is pid a live (not zombie) monitor of this daemon? Fills id. */
static bool proc_monitor_id(Engine *e, pid_t pid, char id[65])
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *stat = NULL;
        if (read_file(path, &stat, NULL) < 0)
                return false;
        const char *rp = strrchr(stat, ')');
        if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
                return false;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        if (read_file(path, &cmd, &len) < 0 || len == 0)
                return false;
        /* argv[0] and argv[1], nothing more */
        const char *a0 = cmd;
        size_t l0 = strnlen(a0, len);
        if (l0 + 1 >= len)
                return false;
        const char *a1 = cmd + l0 + 1;
        size_t l1 = strnlen(a1, len - l0 - 1);
        if (l0 + 1 + l1 + 1 != len)
                return false;
        const char *base = strrchr(a0, '/');
        if (!startswith(base ? base + 1 : a0, "berth-monitor"))
                return false;
        _cleanup_free_ char *prefix = xasprintf("%s/containers/", e->cfg.exec_root);
        const char *rest = startswith(a1, prefix) ? a1 + strlen(prefix) : NULL;
        if (!rest || !is_id(rest))
                return false;
        memcpy(id, rest, 65);
        return true;
}

/* Every live monitor of this daemon (also the container process of a monitor that has not
 * exec'd yet, and exec helpers: they carry the monitor's argv). */
static MonProc *scan_monitors(Engine *e, size_t *ret_n)
{
        MonProc *v = NULL;
        size_t n = 0;
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 1 || pid == getpid())
                        continue;
                char id[65];
                if (!proc_monitor_id(e, (pid_t) pid, id))
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n].pid = (pid_t) pid;
                memcpy(v[n].id, id, 65);
                n++;
        }
        *ret_n = n;
        return v;
}

static int pidfd_open_(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Waits up to ms for the process behind pidfd to end; true when it did. */
static bool pidfd_wait(int pidfd, int ms)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        for (;;) {
                int r = poll(&p, 1, ms);
                if (r < 0 && errno == EINTR)
                        continue;
                return r > 0;
        }
}

/* SIGKILLs every process with the monitor argv of id until a scan finds none (a monitor
 * killed between clone and exec leaves a child with its argv). Returns how many were killed;
 * logs each with why. */
static int kill_monitors_of(Engine *e, const char *id, const char *why)
{
        int killed = 0;
        for (int round = 0; round < 50; round++) {
                size_t n;
                _cleanup_free_ MonProc *v = scan_monitors(e, &n);
                bool any = false;
                for (size_t i = 0; i < n; i++) {
                        if (!streq(v[i].id, id))
                                continue;
                        any = true;
                        _cleanup_close_ int pfd = pidfd_open_(v[i].pid);
                        char check[65];
                        /* the pidfd pins the process: check it is still the monitor, then kill it */
                        if (pfd < 0 || !proc_monitor_id(e, v[i].pid, check) || !streq(check, id))
                                continue;
                        if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0)
                                continue;
                        log_info("reconcile: removed monitor %d of container %.12s: %s", (int) v[i].pid, id, why);
                        killed++;
                        pidfd_wait(pfd, 2000);
                }
                if (!any)
                        break;
                sleep_ms(10);
        }
        return killed;
}

int container_stop_monitors(Engine *e, const char *id, int grace_ms, int *ret_killed)
{
        int left = 0, killed = 0;
        _cleanup_free_ char *rdir = container_run_dir(e, id);
        _cleanup_free_ char *pp = xasprintf("%s/monitor.pid", rdir);
        _cleanup_free_ char *s = NULL;
        if (read_file(pp, &s, NULL) == 0 && atoi(s) > 1) {
                pid_t pid = (pid_t) atoi(s);
                _cleanup_close_ int pfd = pidfd_open_(pid);
                char check[65];
                if (pfd >= 0 && proc_monitor_id(e, pid, check) && streq(check, id)) {
                        /* After its container exited the monitor still flushes output to attached
                         * clients (bounded): let it, then make sure. */
                        if (!pidfd_wait(pfd, grace_ms)) {
                                left++;
                                if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0) {
                                        killed++;
                                        pidfd_wait(pfd, 5000);
                                }
                        }
                }
        }
        if (ret_killed)
                *ret_killed = killed;
        return left;
}

static char *cg_rel(const char *id)
{
        return xasprintf("berth/%s", id);
}

/* Kills what runs in the cgroup berth/<id> and removes it; logs when there was one. Only for
 * ids this daemon owns (see the top of the file). */
static void remove_cgroup_of(const char *id, const char *why)
{
        const RtCgroupOps *ops = rt_cgroup_ops();
        _cleanup_free_ char *rel = cg_rel(id);
        /* In any hierarchy: a monitor killed while it created the cgroup, or a removal killed
         * half-way, leaves it in some controllers only. */
        _cleanup_free_ char *p1 = xasprintf("%s/*/%s", rt_cgroup_root(), rel);
        _cleanup_free_ char *p2 = xasprintf("%s/%s", rt_cgroup_root(), rel);
        glob_t g = { 0 };
        bool exists = glob(p1, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
        globfree(&g);
        if (!exists && access(p2, F_OK) < 0)
                return;
        int k = rt_cgroup_kill_all(ops, rel, SIGKILL);
        int r = ops->remove(rel);
        if (r < 0)
                log_warn("reconcile: cannot remove cgroup %s of container %.12s: %s", rel, id, strerror(-r));
        else
                log_info("reconcile: removed cgroup %s of container %.12s (%d processes killed): %s", rel, id,
                         k, why);
}

static void remove_dir(const char *path, const char *what, const char *id, const char *why)
{
        if (access(path, F_OK) < 0)
                return;
        int r = rm_rf(path);
        if (r < 0)
                log_warn("reconcile: cannot remove %s %s: %s", what, path, strerror(-r));
        else
                log_info("reconcile: removed %s of container %.12s: %s", what, id, why);
}

/* ---- mounts ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
        char *o = s;
        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char) (((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 4;
                } else
                        *o++ = *p++;
        }
        *o = 0;
}

static int by_length_desc(const void *a, const void *b)
{
        size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);
        return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Mounts strictly inside <data-root>/containers/, <data-root>/tmp/ or <exec-root>/containers/:
 * berth never mounts there on the host (overlays live in the containers' mount namespaces), so
 * whatever is there is left over. Deepest first, detached. */
static void reconcile_mounts(Engine *e)
{
        _cleanup_free_ char *dr = realpath(e->cfg.data_root, NULL);
        _cleanup_free_ char *er = realpath(e->cfg.exec_root, NULL);
        if (!dr || !er)
                return;
        _cleanup_free_ char *p1 = xasprintf("%s/containers/", dr);
        _cleanup_free_ char *p2 = xasprintf("%s/tmp/", dr);
        _cleanup_free_ char *p3 = xasprintf("%s/containers/", er);
        _cleanup_free_ char *text = NULL;
        if (read_file("/proc/self/mountinfo", &text, NULL) < 0)
                return;
        _cleanup_strv_free_ char **mps = NULL;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* id parent major:minor root mount-point ... */
                char *f = line;
                for (int i = 0; i < 4 && f; i++) {
                        f = strchr(f, ' ');
                        if (f)
                                f++;
                }
                if (!f)
                        continue;
                char *end = strchr(f, ' ');
                if (end)
                        *end = 0;
                unescape(f);
                const char *in = NULL;
                const char *pre[] = { p1, p2, p3 };
                for (size_t k = 0; k < ELEMENTSOF(pre) && !in; k++)
                        if (startswith(f, pre[k]))
                                in = f + strlen(pre[k]);
                if (in && *in && !strv_contains(mps, f))
                        strv_extend(&mps, f);
        }
        size_t n = strv_length(mps);
        if (n)
                qsort(mps, n, sizeof(char *), by_length_desc);
        for (size_t i = 0; i < n; i++) {
                if (umount2(mps[i], MNT_DETACH) < 0)
                        log_warn("reconcile: cannot unmount %s: %m", mps[i]);
                else
                        log_info("reconcile: unmounted %s: nothing of berth is mounted there on the host", mps[i]);
        }
}

/* ---- containers ---- */

static bool has_monitor(MonProc *v, size_t n, const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].id, id))
                        return true;
        return false;
}

/* A run directory still holding a monitor's socket or pid file of a monitor that is gone. */
static bool stale_run_dir(Engine *e, const char *id)
{
        _cleanup_free_ char *rdir = container_run_dir(e, id);
        _cleanup_free_ char *sock = xasprintf("%s/monitor.sock", rdir);
        _cleanup_free_ char *pid = xasprintf("%s/monitor.pid", rdir);
        return access(sock, F_OK) == 0 || access(pid, F_OK) == 0;
}

static void reconcile_known(Engine *e, Container *c, MonProc *mons, size_t n_mons)
{
        pthread_mutex_lock(&e->lock);
        bool removing = c->removing, starting = c->starting;
        ContainerStatus status = c->status;
        pthread_mutex_unlock(&e->lock);
        const char *id = c->id;
        if (removing) {
                log_info("reconcile: finishing the removal of container %.12s: it was interrupted", id);
                kill_monitors_of(e, id, "its container is being removed");
                pthread_mutex_lock(&e->lock);
                c->starting = false;
                pthread_mutex_unlock(&e->lock);
                _cleanup_berr_ BerthError *err = NULL;
                if (container_remove_finish(e, c, &err) < 0)
                        log_warn("reconcile: removal of container %.12s failed: %s", id, err->msg);
                return;
        }
        if (starting) {
                /* The start never reported success (that follows the "running" record): undo it. */
                log_info("reconcile: rolling back the interrupted start of container %.12s", id);
                kill_monitors_of(e, id, "its start was interrupted before it was recorded");
                remove_cgroup_of(id, "its start was interrupted before it was recorded");
                _cleanup_free_ char *rdir = container_run_dir(e, id);
                remove_dir(rdir, "run directory", id, "its start was interrupted before it was recorded");
                pthread_mutex_lock(&e->lock);
                c->starting = false;
                int r = container_save_state(e, c);
                pthread_mutex_unlock(&e->lock);
                if (r < 0)
                        log_warn("reconcile: cannot record container %.12s: %s", id, strerror(-r));
                return;
        }
        if (status == CSTATUS_RUNNING || status == CSTATUS_PAUSED)
                return; /* container_restore_all asks its monitor: adopted, or its exit recorded */
        const char *why = status == CSTATUS_CREATED ? "recorded as created" : "recorded as not running";
        if (has_monitor(mons, n_mons, id))
                kill_monitors_of(e, id, why);
        remove_cgroup_of(id, why);
        if (stale_run_dir(e, id)) {
                _cleanup_free_ char *rdir = container_run_dir(e, id);
                remove_dir(rdir, "run directory", id, "its monitor is gone");
        }
}

static void reconcile_unknown(Engine *e, const char *id, MonProc *mons, size_t n_mons)
{
        const char *why = "no record";
        if (has_monitor(mons, n_mons, id))
                kill_monitors_of(e, id, why);
        remove_cgroup_of(id, why);
        _cleanup_free_ char *rdir = container_run_dir(e, id);
        _cleanup_free_ char *ddir = container_dir(e, id);
        remove_dir(rdir, "run directory", id, why);
        /* last: it is what makes the id this daemon's */
        remove_dir(ddir, "data directory", id, why);
}

static void add_dir_ids(const char *root, char ***ids)
{
        _cleanup_closedir_ DIR *d = opendir(root);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (is_id(de->d_name) && !strv_contains(*ids, de->d_name))
                        strv_extend(ids, de->d_name);
}

void container_reconcile(Engine *e)
{
        reconcile_mounts(e);
        size_t n_mons;
        _cleanup_free_ MonProc *mons = scan_monitors(e, &n_mons);

        size_t n;
        Container **all = container_list_all(e, &n);
        for (size_t i = 0; i < n; i++)
                reconcile_known(e, all[i], mons, n_mons);
        container_list_free(all, n);

        /* ids that exist here but have no row */
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ char *droot = xasprintf("%s/containers", e->cfg.data_root);
        _cleanup_free_ char *rroot = xasprintf("%s/containers", e->cfg.exec_root);
        add_dir_ids(droot, &ids);
        add_dir_ids(rroot, &ids);
        for (size_t i = 0; i < n_mons; i++)
                if (!strv_contains(ids, mons[i].id))
                        strv_extend(&ids, mons[i].id);
        for (size_t i = 0; ids && ids[i]; i++) {
                int amb;
                pthread_mutex_lock(&e->lock);
                Container *c = container_find_locked(e, ids[i], &amb);
                bool known = c && streq(c->id, ids[i]);
                pthread_mutex_unlock(&e->lock);
                if (!known)
                        reconcile_unknown(e, ids[i], mons, n_mons);
        }

        /* network memberships of containers that have no row (an rm interrupted before the
         * intent was recorded by an older berth) */
        _cleanup_strv_free_ char **netids = network_container_ids(e->net);
        for (size_t i = 0; netids && netids[i]; i++) {
                _cleanup_container_ Container *c = NULL;
                if (container_get(e, netids[i], &c, NULL) == 0 && streq(c->id, netids[i]))
                        continue;
                network_container_forget(e->net, netids[i]);
                log_info("reconcile: forgot the network endpoints of container %.12s: no record", netids[i]);
        }
}
