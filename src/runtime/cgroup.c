#include "cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "basic/util.h"
#include "runtime/devices.h"

static const char *const v1_controllers[] = {
        "cpu", "cpuacct", "memory", "pids", "freezer", "blkio", "devices", "cpuset", NULL,
};

bool rt_cgroup_v1_managed(const char *controller)
{
        for (size_t i = 0; v1_controllers[i]; i++)
                if (streq(v1_controllers[i], controller))
                        return true;
        return false;
}

const char *rt_cgroup_root(void)
{
        const char *e = getenv("BERTH_CGROUP_ROOT");
        return e && *e ? e : "/sys/fs/cgroup";
}

static int write_str(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t len = strlen(s);
        ssize_t n = write(fd, s, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static int read_small(const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return (int) n;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static int read_pids(const char *procs, pid_t **ret, size_t *n_ret)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(procs, &text, NULL);
        if (r < 0)
                return r;
        pid_t *l = NULL;
        size_t n = 0;
        for (char *p = text; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0) {
                        pid_t *nl = xrealloc(l, (n + 1) * sizeof(pid_t));
                        if (!nl) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = nl;
                        l[n++] = (pid_t) v;
                }
                p = end;
                while (*p == '\n' || *p == ' ')
                        p++;
        }
        *ret = l;
        *n_ret = n;
        return 0;
}

/* Removes one directory, retrying while the kernel still counts exiting tasks. */
static int rmdir_retry(const char *path)
{
        for (int i = 0; i < 200; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                sleep_ms(10);
        }
        return -EBUSY;
}

/* ---- v1 ---- */

static char *v1_path(const char *controller, const char *rel, const char *file)
{
        if (file)
                return xasprintf("%s/%s/%s/%s", rt_cgroup_root(), controller, rel, file);
        return xasprintf("%s/%s/%s", rt_cgroup_root(), controller, rel);
}

static bool v1_has(const char *controller)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", rt_cgroup_root(), controller);
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* cpuset children start with empty cpus/mems and refuse tasks: copy the parent's. */
static int v1_cpuset_fill(const char *dir)
{
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char cur[4096], parent[4096];
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, files[i]);
                int r = read_small(p, cur, sizeof(cur));
                if (r < 0)
                        return r;
                if (cur[0] != '\n' && cur[0] != 0)
                        continue;
                _cleanup_free_ char *d = xstrdup(dir);
                char *slash = strrchr(d, '/');
                *slash = 0;
                _cleanup_free_ char *pp = xasprintf("%s/%s", d, files[i]);
                r = read_small(pp, parent, sizeof(parent));
                if (r < 0)
                        return r;
                r = write_str(p, parent);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_create(const char *rel)
{
        for (size_t i = 0; v1_controllers[i]; i++) {
                const char *c = v1_controllers[i];
                if (!v1_has(c))
                        continue;
                _cleanup_free_ char *base = xasprintf("%s/%s", rt_cgroup_root(), c);
                _cleanup_free_ char *rc = xstrdup(rel);
                /* Level by level, so cpuset can be filled at each one. */
                for (char *s = rc;; s++) {
                        bool last = *s == 0;
                        if (*s != '/' && !last)
                                continue;
                        *s = 0;
                        _cleanup_free_ char *dir = xasprintf("%s/%s", base, rc);
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        if (streq(c, "cpuset")) {
                                int r = v1_cpuset_fill(dir);
                                if (r < 0)
                                        return r;
                        }
                        if (last)
                                break;
                        *s = '/';
                }
        }
        return 0;
}

static int v1_add_pid(const char *rel, pid_t pid)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        for (size_t i = 0; v1_controllers[i]; i++) {
                if (!v1_has(v1_controllers[i]))
                        continue;
                _cleanup_free_ char *p = v1_path(v1_controllers[i], rel, "cgroup.procs");
                int r = write_str(p, buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_i64(const char *path, int64_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long) v);
        return write_str(path, buf);
}

static int v1_write(const char *ctl, const char *rel, const char *file, const char *val)
{
        _cleanup_free_ char *p = v1_path(ctl, rel, file);
        return write_str(p, val);
}

static int v1_write_i64(const char *ctl, const char *rel, const char *file, int64_t v)
{
        _cleanup_free_ char *p = v1_path(ctl, rel, file);
        return write_i64(p, v);
}

static bool v1_file_exists(const char *ctl, const char *rel, const char *file)
{
        _cleanup_free_ char *p = v1_path(ctl, rel, file);
        return access(p, F_OK) == 0;
}

/* The blkio files take one "major:minor value" rule per write. */
static int v1_write_lines(const char *rel, const char *file, char **lines)
{
        for (size_t i = 0; lines && lines[i]; i++) {
                int r = v1_write("blkio", rel, file, lines[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: raise swap first when
 * growing, lower the memory first when shrinking (runc's order). */
static int v1_set_memory(const char *rel, int64_t memory, int64_t swap)
{
        bool has_swap = v1_file_exists("memory", rel, "memory.memsw.limit_in_bytes");
        if (!has_swap || swap == 0)
                return memory ? v1_write_i64("memory", rel, "memory.limit_in_bytes", memory) : 0;
        if (memory == 0)
                return v1_write_i64("memory", rel, "memory.memsw.limit_in_bytes", swap);
        char cur[64];
        _cleanup_free_ char *p = v1_path("memory", rel, "memory.limit_in_bytes");
        int r = read_small(p, cur, sizeof(cur));
        if (r < 0)
                return r;
        int64_t cur_limit = strtoll(cur, NULL, 10);
        if (swap < 0 || cur_limit < swap) {
                if ((r = v1_write_i64("memory", rel, "memory.memsw.limit_in_bytes", swap)) < 0)
                        return r;
                return v1_write_i64("memory", rel, "memory.limit_in_bytes", memory);
        }
        if ((r = v1_write_i64("memory", rel, "memory.limit_in_bytes", memory)) < 0)
                return r;
        return v1_write_i64("memory", rel, "memory.memsw.limit_in_bytes", swap);
}

static int v1_set_resources(const char *rel, const RtCgroupResources *res)
{
        int r;
        if ((r = v1_set_memory(rel, res->memory, res->memory_swap)) < 0)
                return r;
        if (res->memory_reservation > 0 &&
            (r = v1_write_i64("memory", rel, "memory.soft_limit_in_bytes", res->memory_reservation)) < 0)
                return r;
        if (res->kernel_memory > 0 &&
            (r = v1_write_i64("memory", rel, "memory.kmem.limit_in_bytes", res->kernel_memory)) < 0)
                return r;
        if (res->swappiness >= 0 && (r = v1_write_i64("memory", rel, "memory.swappiness", res->swappiness)) < 0)
                return r;
        if (res->oom_kill_disable && (r = v1_write("memory", rel, "memory.oom_control", "1")) < 0)
                return r;
        if (res->pids_limit != 0 &&
            (r = res->pids_limit > 0 ? v1_write_i64("pids", rel, "pids.max", res->pids_limit)
                                     : v1_write("pids", rel, "pids.max", "max")) < 0)
                return r;
        if (res->cpu_shares > 0 && (r = v1_write_i64("cpu", rel, "cpu.shares", res->cpu_shares)) < 0)
                return r;
        if (res->cpu_period > 0 && (r = v1_write_i64("cpu", rel, "cpu.cfs_period_us", res->cpu_period)) < 0)
                return r;
        if (res->cpu_quota != 0 &&
            (r = v1_write_i64("cpu", rel, "cpu.cfs_quota_us", res->cpu_quota > 0 ? res->cpu_quota : -1)) < 0)
                return r;
        if (res->cpu_rt_period > 0 && (r = v1_write_i64("cpu", rel, "cpu.rt_period_us", res->cpu_rt_period)) < 0)
                return r;
        if (res->cpu_rt_runtime != 0 &&
            (r = v1_write_i64("cpu", rel, "cpu.rt_runtime_us", res->cpu_rt_runtime)) < 0)
                return r;
        if (res->cpuset_cpus && *res->cpuset_cpus &&
            (r = v1_write("cpuset", rel, "cpuset.cpus", res->cpuset_cpus)) < 0)
                return r;
        if (res->cpuset_mems && *res->cpuset_mems &&
            (r = v1_write("cpuset", rel, "cpuset.mems", res->cpuset_mems)) < 0)
                return r;
        bool bfq = !v1_file_exists("blkio", rel, "blkio.weight") && v1_file_exists("blkio", rel, "blkio.bfq.weight");
        if (res->blkio_weight > 0 &&
            (r = v1_write_i64("blkio", rel, bfq ? "blkio.bfq.weight" : "blkio.weight", res->blkio_weight)) < 0)
                return r;
        if ((r = v1_write_lines(rel, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
                                res->blkio_weight_device)) < 0 ||
            (r = v1_write_lines(rel, "blkio.throttle.read_bps_device", res->blkio_read_bps)) < 0 ||
            (r = v1_write_lines(rel, "blkio.throttle.write_bps_device", res->blkio_write_bps)) < 0 ||
            (r = v1_write_lines(rel, "blkio.throttle.read_iops_device", res->blkio_read_iops)) < 0 ||
            (r = v1_write_lines(rel, "blkio.throttle.write_iops_device", res->blkio_write_iops)) < 0)
                return r;
        return 0;
}

static int v1_set_devices(const char *rel, char *const *rules)
{
        if (!v1_has("devices"))
                return -EOPNOTSUPP; /* never run a container without a device policy */
        _cleanup_free_ char *deny = v1_path("devices", rel, "devices.deny");
        _cleanup_free_ char *allow = v1_path("devices", rel, "devices.allow");
        int r = write_str(deny, "a");
        if (r < 0)
                return r;
        /* One open, one write per rule (the file takes one rule per write). */
        _cleanup_close_ int fd = open(allow, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; rules && rules[i]; i++) {
                RtDeviceRule d;
                if (rt_device_rule_parse(rules[i], &d) < 0)
                        return -EINVAL;
                _cleanup_free_ char *line = d.type == 'a' && d.major < 0 && d.minor < 0 && d.access == RT_DEV_ALL
                                                    ? xstrdup("a") : rt_device_rule_format(&d);
                errno = 0;
                if (write(fd, line, strlen(line)) != (ssize_t) strlen(line))
                        return errno ? -errno : -EIO;
        }
        return 0;
}

static int v1_is_frozen(const char *rel)
{
        char buf[64];
        _cleanup_free_ char *p = v1_path("freezer", rel, "freezer.state");
        int r = read_small(p, buf, sizeof(buf));
        if (r < 0)
                return r;
        return startswith(buf, "FROZEN");
}

static int v1_freeze(const char *rel, bool frozen)
{
        _cleanup_free_ char *p = v1_path("freezer", rel, "freezer.state");
        for (int i = 0; i < 500; i++) {
                int r = write_str(p, frozen ? "FROZEN" : "THAWED");
                if (r < 0)
                        return r;
                char buf[64];
                r = read_small(p, buf, sizeof(buf));
                if (r < 0)
                        return r;
                if (startswith(buf, frozen ? "FROZEN" : "THAWED"))
                        return 0;
                sleep_ms(2);
        }
        return -EBUSY;
}

static int v1_list_pids(const char *rel, pid_t **ret, size_t *n_ret)
{
        static const char *const pref[] = { "pids", "freezer", "memory", "cpu", "devices" };
        for (size_t i = 0; i < ELEMENTSOF(pref); i++) {
                if (!v1_has(pref[i]))
                        continue;
                _cleanup_free_ char *p = v1_path(pref[i], rel, "cgroup.procs");
                return read_pids(p, ret, n_ret);
        }
        return -ENOENT;
}

static int oom_from(const char *path)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0)
                return r;
        char *k = strstr(text, "oom_kill ");
        return k && strtol(k + 9, NULL, 10) > 0;
}

static int v1_oom_killed(const char *rel)
{
        _cleanup_free_ char *p = v1_path("memory", rel, "memory.oom_control");
        return oom_from(p);
}

static int v1_remove(const char *rel)
{
        int ret = 0;
        for (size_t i = 0; v1_controllers[i]; i++) {
                if (!v1_has(v1_controllers[i]))
                        continue;
                _cleanup_free_ char *p = v1_path(v1_controllers[i], rel, NULL);
                int r = rmdir_retry(p);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

const RtCgroupOps rt_cgroup_v1_ops = {
        .name = "v1",
        .create = v1_create,
        .add_pid = v1_add_pid,
        .set_resources = v1_set_resources,
        .set_devices = v1_set_devices,
        .freeze = v1_freeze,
        .is_frozen = v1_is_frozen,
        .list_pids = v1_list_pids,
        .oom_killed = v1_oom_killed,
        .remove = v1_remove,
};

/* ---- v2 ---- */

static char *v2_path(const char *rel, const char *file)
{
        if (file)
                return xasprintf("%s/%s/%s", rt_cgroup_root(), rel, file);
        return xasprintf("%s/%s", rt_cgroup_root(), rel);
}

static int v2_create(const char *rel)
{
        static const char *const ctl[] = { "+cpu", "+memory", "+pids", "+io", "+cpuset" };
        _cleanup_free_ char *rc = xstrdup(rel);
        for (char *s = rc;; s++) {
                bool last = *s == 0;
                if (*s != '/' && !last)
                        continue;
                *s = 0;
                /* Controllers must be enabled in the parent before the child sees them. */
                _cleanup_free_ char *dir = xasprintf("%s/%s", rt_cgroup_root(), rc);
                _cleanup_free_ char *pdir = xstrdup(dir);
                *strrchr(pdir, '/') = 0;
                _cleanup_free_ char *st = xasprintf("%s/cgroup.subtree_control", pdir);
                for (size_t i = 0; i < ELEMENTSOF(ctl); i++)
                        (void) write_str(st, ctl[i]); /* a controller the host lacks is fine */
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (last)
                        break;
                *s = '/';
        }
        return 0;
}

static int v2_add_pid(const char *rel, pid_t pid)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        _cleanup_free_ char *p = v2_path(rel, "cgroup.procs");
        return write_str(p, buf);
}

static int v2_write(const char *rel, const char *file, const char *val)
{
        _cleanup_free_ char *p = v2_path(rel, file);
        return write_str(p, val);
}

static int v2_write_i64(const char *rel, const char *file, int64_t v)
{
        _cleanup_free_ char *p = v2_path(rel, file);
        return write_i64(p, v);
}

static int v2_write_io_max(const char *rel, char **lines, const char *key)
{
        for (size_t i = 0; lines && lines[i]; i++) {
                _cleanup_free_ char *l = rt_cgroup_v2_io_max_line(lines[i], key);
                if (!l)
                        return -EINVAL;
                int r = v2_write(rel, "io.max", l);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v2_set_resources(const char *rel, const RtCgroupResources *res)
{
        int r;
        /* Nothing of v1 without a v2 equivalent is dropped here: berthd refuses or warns first. */
        if (res->kernel_memory > 0 || res->oom_kill_disable || res->swappiness >= 0 || res->cpu_rt_period > 0 ||
            res->cpu_rt_runtime != 0)
                return -EOPNOTSUPP;
        if (res->memory > 0 && (r = v2_write_i64(rel, "memory.max", res->memory)) < 0)
                return r;
        if (res->memory_swap != 0) {
                _cleanup_free_ char *v = rt_cgroup_v2_swap_max(res->memory_swap, res->memory);
                if ((r = v2_write(rel, "memory.swap.max", v)) < 0)
                        return r;
        }
        if (res->memory_reservation > 0 && (r = v2_write_i64(rel, "memory.low", res->memory_reservation)) < 0)
                return r;
        if (res->pids_limit != 0 &&
            (r = res->pids_limit > 0 ? v2_write_i64(rel, "pids.max", res->pids_limit)
                                     : v2_write(rel, "pids.max", "max")) < 0)
                return r;
        if (res->cpu_shares > 0 &&
            (r = v2_write_i64(rel, "cpu.weight", (int64_t) rt_cgroup_v2_cpu_weight((uint64_t) res->cpu_shares))) < 0)
                return r;
        if (res->cpu_quota != 0 || res->cpu_period > 0) {
                _cleanup_free_ char *v = rt_cgroup_v2_cpu_max(res->cpu_quota, res->cpu_period);
                if ((r = v2_write(rel, "cpu.max", v)) < 0)
                        return r;
        }
        if (res->cpuset_cpus && *res->cpuset_cpus && (r = v2_write(rel, "cpuset.cpus", res->cpuset_cpus)) < 0)
                return r;
        if (res->cpuset_mems && *res->cpuset_mems && (r = v2_write(rel, "cpuset.mems", res->cpuset_mems)) < 0)
                return r;
        if (res->blkio_weight > 0) {
                _cleanup_free_ char *v = xasprintf("default %llu",
                                                   (unsigned long long) rt_cgroup_v2_io_weight((uint64_t) res->blkio_weight));
                if ((r = v2_write(rel, "io.weight", v)) < 0)
                        return r;
        }
        for (size_t i = 0; res->blkio_weight_device && res->blkio_weight_device[i]; i++) {
                unsigned maj, min;
                unsigned long long w;
                if (sscanf(res->blkio_weight_device[i], "%u:%u %llu", &maj, &min, &w) != 3)
                        return -EINVAL;
                _cleanup_free_ char *v = xasprintf("%u:%u %llu", maj, min,
                                                   (unsigned long long) rt_cgroup_v2_io_weight(w));
                if ((r = v2_write(rel, "io.weight", v)) < 0)
                        return r;
        }
        if ((r = v2_write_io_max(rel, res->blkio_read_bps, "rbps")) < 0 ||
            (r = v2_write_io_max(rel, res->blkio_write_bps, "wbps")) < 0 ||
            (r = v2_write_io_max(rel, res->blkio_read_iops, "riops")) < 0 ||
            (r = v2_write_io_max(rel, res->blkio_write_iops, "wiops")) < 0)
                return r;
        return 0;
}

static int v2_set_devices(const char *rel, char *const *rules)
{
        _cleanup_free_ char *p = v2_path(rel, NULL);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return rt_device_bpf_attach(fd, rules);
}

static int v2_is_frozen(const char *rel)
{
        _cleanup_free_ char *p = v2_path(rel, "cgroup.events");
        _cleanup_free_ char *text = NULL;
        int r = read_file(p, &text, NULL);
        if (r < 0)
                return r;
        char *k = strstr(text, "frozen ");
        return k && k[7] == '1';
}

static int v2_freeze(const char *rel, bool frozen)
{
        _cleanup_free_ char *p = v2_path(rel, "cgroup.freeze");
        int r = write_str(p, frozen ? "1" : "0");
        if (r < 0)
                return r;
        for (int i = 0; i < 500; i++) {
                r = v2_is_frozen(rel);
                if (r < 0)
                        return r;
                if (r == (int) frozen)
                        return 0;
                sleep_ms(2);
        }
        return -EBUSY;
}

static int v2_list_pids(const char *rel, pid_t **ret, size_t *n_ret)
{
        _cleanup_free_ char *p = v2_path(rel, "cgroup.procs");
        return read_pids(p, ret, n_ret);
}

static int v2_oom_killed(const char *rel)
{
        _cleanup_free_ char *p = v2_path(rel, "memory.events");
        return oom_from(p);
}

static int v2_remove(const char *rel)
{
        _cleanup_free_ char *p = v2_path(rel, NULL);
        return rmdir_retry(p);
}

const RtCgroupOps rt_cgroup_v2_ops = {
        .name = "v2",
        .create = v2_create,
        .add_pid = v2_add_pid,
        .set_resources = v2_set_resources,
        .set_devices = v2_set_devices,
        .freeze = v2_freeze,
        .is_frozen = v2_is_frozen,
        .list_pids = v2_list_pids,
        .oom_killed = v2_oom_killed,
        .remove = v2_remove,
};

const RtCgroupOps *rt_cgroup_ops(void)
{
        struct statfs sf;
        if (statfs(rt_cgroup_root(), &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                return &rt_cgroup_v2_ops;
        return &rt_cgroup_v1_ops;
}

int rt_cgroup_populated(const RtCgroupOps *ops, const char *rel)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = ops->list_pids(rel, &pids, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        return n > 0;
}

int rt_cgroup_kill_all(const RtCgroupOps *ops, const char *rel, int sig)
{
        int total = 0;
        for (int round = 0; round < 50; round++) {
                /* Freezing takes a kernel static key (text patching, slow on a VM) even for an
                 * empty group, and a stopped or --rm container's group is empty: look first. */
                if (sig == SIGKILL && rt_cgroup_populated(ops, rel) == 0)
                        return total;
                bool frozen = sig == SIGKILL && ops->freeze(rel, true) == 0;
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                int r = ops->list_pids(rel, &pids, &n);
                if (r >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (kill(pids[i], sig) == 0)
                                        total++;
                if (frozen)
                        (void) ops->freeze(rel, false);
                if (r < 0)
                        return r == -ENOENT ? total : r;
                if (sig != SIGKILL || n == 0)
                        return total;
                sleep_ms(10);
                if (rt_cgroup_populated(ops, rel) <= 0)
                        return total;
        }
        return total;
}
