/* The values side of the cgroups: spec.json's resources, what the host can enforce, the v1 -> v2
 * translations, and the live figures behind GET /containers/{id}/stats in Docker's shapes. */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cgroup.h"

/* ---- spec.json "cgroup_resources" ---- */

static char **strv_of_json(json_t *a)
{
        char **l = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) if (json_is_string(v))(void) strv_extend(&l, json_string_value(v));
        return l;
}

static char *str_or_null(json_t *j, const char *k)
{
        const char *s = json_str(j, k);
        return s && *s ? xstrdup(s) : NULL;
}

void rt_cgroup_resources_from_json(const json_t *cj, RtCgroupResources *r)
{
        json_t *j = (json_t *) cj;
        *r = (RtCgroupResources){
                .memory = json_int(j, "memory", 0),
                .memory_swap = json_int(j, "memory_swap", 0),
                .memory_reservation = json_int(j, "memory_reservation", 0),
                .kernel_memory = json_int(j, "kernel_memory", 0),
                .swappiness = json_int(j, "memory_swappiness", -1),
                .oom_kill_disable = json_bool(j, "oom_kill_disable"),
                .pids_limit = json_int(j, "pids_limit", 0),
                .cpu_shares = json_int(j, "cpu_shares", 0),
                .cpu_period = json_int(j, "cpu_period", 0),
                .cpu_quota = json_int(j, "cpu_quota", 0),
                .cpu_rt_period = json_int(j, "cpu_rt_period", 0),
                .cpu_rt_runtime = json_int(j, "cpu_rt_runtime", 0),
                .cpuset_cpus = str_or_null(j, "cpuset_cpus"),
                .cpuset_mems = str_or_null(j, "cpuset_mems"),
                .blkio_weight = json_int(j, "blkio_weight", 0),
                .blkio_weight_device = strv_of_json(json_object_get(j, "blkio_weight_device")),
                .blkio_read_bps = strv_of_json(json_object_get(j, "blkio_read_bps")),
                .blkio_write_bps = strv_of_json(json_object_get(j, "blkio_write_bps")),
                .blkio_read_iops = strv_of_json(json_object_get(j, "blkio_read_iops")),
                .blkio_write_iops = strv_of_json(json_object_get(j, "blkio_write_iops")),
        };
}

void rt_cgroup_resources_done(RtCgroupResources *r)
{
        free(r->cpuset_cpus);
        free(r->cpuset_mems);
        strv_free(r->blkio_weight_device);
        strv_free(r->blkio_read_bps);
        strv_free(r->blkio_write_bps);
        strv_free(r->blkio_read_iops);
        strv_free(r->blkio_write_iops);
        *r = (RtCgroupResources){ 0 };
}

/* ---- v1 -> v2 ---- */

uint64_t rt_cgroup_v2_cpu_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t rt_cgroup_v2_io_weight(uint64_t w)
{
        if (w == 0)
                return 0;
        if (w < 10)
                w = 10;
        if (w > 1000)
                w = 1000;
        return 1 + (w - 10) * 9999 / 990;
}

char *rt_cgroup_v2_cpu_max(int64_t quota, int64_t period)
{
        if (period <= 0)
                period = 100000;
        if (quota <= 0)
                return xasprintf("max %lld", (long long) period);
        return xasprintf("%lld %lld", (long long) quota, (long long) period);
}

char *rt_cgroup_v2_swap_max(int64_t memory_swap, int64_t memory)
{
        if (memory_swap < 0 || memory <= 0)
                return xstrdup("max");
        return xasprintf("%lld", (long long) (memory_swap > memory ? memory_swap - memory : 0));
}

char *rt_cgroup_v2_io_max_line(const char *dev_value, const char *key)
{
        unsigned maj, min;
        unsigned long long v;
        char extra;
        if (!dev_value || sscanf(dev_value, "%u:%u %llu %c", &maj, &min, &v, &extra) != 3)
                return NULL;
        return xasprintf("%u:%u %s=%llu", maj, min, key, v);
}

json_t *rt_cgroup_parse_keyed(const char *text)
{
        json_t *o = json_object();
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                _cleanup_free_ char *line = xstrndup(p, len);
                char *sp = strchr(line, ' ');
                if (sp) {
                        *sp = 0;
                        char *end;
                        unsigned long long v = strtoull(sp + 1, &end, 10);
                        if (*line && end != sp + 1 && (*end == 0 || *end == ' '))
                                json_object_set_new(o, line, json_integer((json_int_t) v));
                }
                p = nl ? nl + 1 : p + len;
        }
        return o;
}

/* ---- what the host supports ---- */

/* <root>/<dir>/<file> */
static bool exists(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s/%s", rt_cgroup_root(), dir, file);
        return access(p, F_OK) == 0;
}

static void read_line(const char *path, char *buf, size_t size)
{
        buf[0] = 0;
        _cleanup_free_ char *t = NULL;
        if (read_file(path, &t, NULL) < 0)
                return;
        t[strcspn(t, "\n")] = 0;
        snprintf(buf, size, "%s", t);
}

/* Kernels from 5.16 keep memory.kmem.limit_in_bytes but ignore what is written to it. */
static bool kmem_enforced(void)
{
        struct utsname u;
        int maj = 0, min = 0;
        if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) != 2)
                return false;
        return maj < 5 || (maj == 5 && min < 16);
}

/* As dockerd: swap is limitable when our own v2 group has memory.swap.max (the root has none). */
static bool v2_own_swap_file(void)
{
        _cleanup_free_ char *t = NULL;
        if (read_file("/proc/self/cgroup", &t, NULL) < 0)
                return false;
        char *l = strstr(t, "0::");
        if (!l || (l != t && l[-1] != '\n'))
                return false;
        l += 3;
        l[strcspn(l, "\n")] = 0;
        _cleanup_free_ char *p = xasprintf("%s%s/memory.swap.max", rt_cgroup_root(), l);
        return access(p, F_OK) == 0;
}

void rt_cgroup_info(RtCgroupInfo *ret)
{
        RtCgroupInfo i = { 0 };
        const char *root = rt_cgroup_root();
        if (rt_cgroup_ops() == &rt_cgroup_v1_ops) {
#define V1(c, f) exists(c, f)
                i.memory = V1("memory", "memory.limit_in_bytes");
                i.swap = V1("memory", "memory.memsw.limit_in_bytes");
                i.memory_reservation = V1("memory", "memory.soft_limit_in_bytes");
                i.kernel_memory = V1("memory", "memory.kmem.limit_in_bytes") && kmem_enforced();
                i.swappiness = V1("memory", "memory.swappiness");
                i.oom_kill_disable = V1("memory", "memory.oom_control");
                i.pids = V1("pids", "pids.max") || exists("pids", "cgroup.procs");
                i.cpu_shares = V1("cpu", "cpu.shares");
                i.cpu_cfs = V1("cpu", "cpu.cfs_quota_us");
                i.cpu_realtime = V1("cpu", "cpu.rt_runtime_us");
                i.cpuset = V1("cpuset", "cpuset.cpus");
                i.blkio_weight = V1("blkio", "blkio.weight") || V1("blkio", "blkio.bfq.weight");
                i.blkio_weight_device = V1("blkio", "blkio.weight_device") || V1("blkio", "blkio.bfq.weight_device");
                i.blkio_read_bps = V1("blkio", "blkio.throttle.read_bps_device");
                i.blkio_write_bps = V1("blkio", "blkio.throttle.write_bps_device");
                i.blkio_read_iops = V1("blkio", "blkio.throttle.read_iops_device");
                i.blkio_write_iops = V1("blkio", "blkio.throttle.write_iops_device");
#undef V1
                _cleanup_free_ char *c = xasprintf("%s/cpuset/cpuset.cpus", root);
                _cleanup_free_ char *m = xasprintf("%s/cpuset/cpuset.mems", root);
                read_line(c, i.cpus, sizeof(i.cpus));
                read_line(m, i.mems, sizeof(i.mems));
        } else {
                /* v2: what the root may hand down to children (cgroup.controllers) */
                char ctl[512];
                _cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", root);
                read_line(p, ctl, sizeof(ctl));
                _cleanup_strv_free_ char **l = NULL;
                char *save = NULL;
                for (char *t = strtok_r(ctl, " ", &save); t; t = strtok_r(NULL, " ", &save))
                        (void) strv_extend(&l, t);
                bool mem = strv_contains(l, "memory"), cpu = strv_contains(l, "cpu"), io = strv_contains(l, "io");
                i.memory = i.memory_reservation = mem;
                i.swap = mem && v2_own_swap_file();
                i.pids = strv_contains(l, "pids");
                i.cpu_shares = i.cpu_cfs = cpu;
                i.cpuset = strv_contains(l, "cpuset");
                i.blkio_weight = i.blkio_weight_device = io;
                i.blkio_read_bps = i.blkio_write_bps = i.blkio_read_iops = i.blkio_write_iops = io;
                _cleanup_free_ char *c = xasprintf("%s/cpuset.cpus.effective", root);
                _cleanup_free_ char *m = xasprintf("%s/cpuset.mems.effective", root);
                read_line(c, i.cpus, sizeof(i.cpus));
                read_line(m, i.mems, sizeof(i.mems));
        }
        if (!i.cpus[0]) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                snprintf(i.cpus, sizeof(i.cpus), n > 1 ? "0-%ld" : "0", n - 1);
        }
        if (!i.mems[0])
                snprintf(i.mems, sizeof(i.mems), "0");
        *ret = i;
}

/* ---- OOM ---- */

static char *memory_file(const char *rel, const char *v1, const char *v2)
{
        if (rt_cgroup_ops() == &rt_cgroup_v1_ops)
                return xasprintf("%s/memory/%s/%s", rt_cgroup_root(), rel, v1);
        return xasprintf("%s/%s/%s", rt_cgroup_root(), rel, v2);
}

long long rt_cgroup_oom_count(const char *rel, bool *under_oom)
{
        _cleanup_free_ char *p = memory_file(rel, "memory.oom_control", "memory.events");
        _cleanup_free_ char *t = NULL;
        int r = read_file(p, &t, NULL);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *o = rt_cgroup_parse_keyed(t);
        if (under_oom)
                *under_oom = json_integer_value(json_object_get(o, "under_oom")) > 0;
        return json_integer_value(json_object_get(o, "oom_kill"));
}

int rt_cgroup_oom_watch(const char *rel)
{
        if (rt_cgroup_ops() == &rt_cgroup_v1_ops) {
                _cleanup_free_ char *ctl = memory_file(rel, "cgroup.event_control", NULL);
                _cleanup_free_ char *oc = memory_file(rel, "memory.oom_control", NULL);
                _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                _cleanup_close_ int ofd = open(oc, O_RDONLY | O_CLOEXEC);
                _cleanup_close_ int cfd = open(ctl, O_WRONLY | O_CLOEXEC);
                if (efd < 0 || ofd < 0 || cfd < 0)
                        return -errno;
                char buf[64];
                int n = snprintf(buf, sizeof(buf), "%d %d", efd, ofd);
                if (write(cfd, buf, (size_t) n) != n)
                        return -errno;
                return TAKE_FD(efd);
        }
        _cleanup_free_ char *ev = memory_file(rel, NULL, "memory.events");
        _cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (inotify_add_watch(fd, ev, IN_MODIFY) < 0)
                return -errno;
        return TAKE_FD(fd);
}

bool rt_cgroup_oom_drain(int fd)
{
        char buf[4096];
        bool any = false;
        while (read(fd, buf, sizeof(buf)) > 0)
                any = true;
        return any;
}

/* ---- stats ---- */

static int read_u64(const char *path, uint64_t *ret)
{
        _cleanup_free_ char *t = NULL;
        int r = read_file(path, &t, NULL);
        if (r < 0)
                return r;
        if (startswith(t, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        *ret = strtoull(t, &end, 10);
        return end == t ? -EINVAL : 0;
}

static json_t *keyed_file(const char *path)
{
        _cleanup_free_ char *t = NULL;
        if (read_file(path, &t, NULL) < 0)
                return json_object();
        return rt_cgroup_parse_keyed(t);
}

/* Docker reports a fixed set of memory.stat keys (0 when the kernel lacks one), not the whole file. */
static const char *const v1_memory_keys[] = {
        "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout", "pgfault",
        "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
        "hierarchical_memory_limit", "hierarchical_memsw_limit", "total_cache", "total_rss", "total_rss_huge",
        "total_mapped_file", "total_dirty", "total_writeback", "total_pgpgin", "total_pgpgout", "total_pgfault",
        "total_pgmajfault", "total_inactive_anon", "total_active_anon", "total_inactive_file", "total_active_file",
        "total_unevictable", NULL,
};
static const char *const v2_memory_keys[] = {
        "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback",
        "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
        "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault", "workingset_refault",
        "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan", "pgsteal", "pgactivate",
        "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc", NULL,
};

static json_t *memory_stat(const char *path, const char *const *keys)
{
        _cleanup_json_ json_t *all = keyed_file(path);
        json_t *o = json_object();
        for (size_t i = 0; keys[i]; i++) {
                json_t *v = json_object_get(all, keys[i]);
                json_object_set_new(o, keys[i], v ? json_incref(v) : json_integer(0));
        }
        return o;
}

static json_int_t key_int(json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

static json_t *throttling(json_t *cpustat)
{
        return json_pack("{s:I,s:I,s:I}", "periods", key_int(cpustat, "nr_periods"), "throttled_periods",
                         key_int(cpustat, "nr_throttled"), "throttled_time",
                         json_object_get(cpustat, "throttled_usec") ? key_int(cpustat, "throttled_usec") * 1000
                                                                    : key_int(cpustat, "throttled_time"));
}

/* blkio.throttle.io_service_bytes_recursive lines: "8:0 Read 4096"; the "Total" lines are
 * Docker's too. */
static json_t *v1_blkio_list(const char *path)
{
        json_t *a = json_array();
        _cleanup_free_ char *t = NULL;
        if (read_file(path, &t, NULL) < 0)
                return a;
        char *save = NULL;
        for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                char op[32];
                unsigned long long v;
                if (sscanf(l, "%u:%u %31s %llu", &maj, &min, op, &v) == 4)
                        json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t) maj, "minor",
                                                           (json_int_t) min, "op", op, "value", (json_int_t) v));
        }
        return a;
}

static int v1_stats(const char *rel, RtCgroupStats *s)
{
        const char *root = rt_cgroup_root();
        _cleanup_free_ char *usage = xasprintf("%s/cpuacct/%s/cpuacct.usage", root, rel);
        uint64_t total = 0;
        int r = read_u64(usage, &total);
        if (r < 0)
                return r;
        json_t *percpu = json_array();
        _cleanup_free_ char *pp = xasprintf("%s/cpuacct/%s/cpuacct.usage_percpu", root, rel);
        _cleanup_free_ char *pt = NULL;
        if (read_file(pp, &pt, NULL) >= 0) {
                char *p = pt, *end;
                for (;;) {
                        unsigned long long v = strtoull(p, &end, 10);
                        if (end == p)
                                break;
                        json_array_append_new(percpu, json_integer((json_int_t) v));
                        p = end;
                }
        }
        /* cpuacct.stat is in USER_HZ ticks; Docker reports nanoseconds */
        _cleanup_free_ char *sp = xasprintf("%s/cpuacct/%s/cpuacct.stat", root, rel);
        _cleanup_json_ json_t *st = keyed_file(sp);
        json_int_t tick = (json_int_t) (1000000000LL / sysconf(_SC_CLK_TCK));
        _cleanup_free_ char *cs = xasprintf("%s/cpu/%s/cpu.stat", root, rel);
        _cleanup_json_ json_t *cpustat = keyed_file(cs);
        s->cpu = json_pack("{s:{s:I,s:o,s:I,s:I},s:o}", "cpu_usage", "total_usage", (json_int_t) total,
                           "percpu_usage", percpu, "usage_in_kernelmode", key_int(st, "system") * tick,
                           "usage_in_usermode", key_int(st, "user") * tick, "throttling_data", throttling(cpustat));

        _cleanup_free_ char *mu = xasprintf("%s/memory/%s/memory.usage_in_bytes", root, rel);
        _cleanup_free_ char *mm = xasprintf("%s/memory/%s/memory.max_usage_in_bytes", root, rel);
        _cleanup_free_ char *ml = xasprintf("%s/memory/%s/memory.limit_in_bytes", root, rel);
        _cleanup_free_ char *mf = xasprintf("%s/memory/%s/memory.failcnt", root, rel);
        _cleanup_free_ char *ms = xasprintf("%s/memory/%s/memory.stat", root, rel);
        uint64_t mem_usage = 0, mem_max = 0, mem_limit = 0, failcnt = 0;
        (void) read_u64(mu, &mem_usage);
        (void) read_u64(mm, &mem_max);
        (void) read_u64(ml, &mem_limit);
        (void) read_u64(mf, &failcnt);
        s->memory = json_pack("{s:I,s:I,s:o,s:I}", "usage", (json_int_t) mem_usage, "max_usage", (json_int_t) mem_max,
                              "stats", memory_stat(ms, v1_memory_keys), "limit", (json_int_t) mem_limit);
        if (failcnt)
                json_object_set_new(s->memory, "failcnt", json_integer((json_int_t) failcnt));

        static const char *const blk[][2] = {
                { "io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive" },
                { "io_serviced_recursive", "blkio.throttle.io_serviced_recursive" },
                { "io_queue_recursive", "blkio.io_queued_recursive" },
                { "io_service_time_recursive", "blkio.io_service_time_recursive" },
                { "io_wait_time_recursive", "blkio.io_wait_time_recursive" },
                { "io_merged_recursive", "blkio.io_merged_recursive" },
                { "io_time_recursive", "blkio.time_recursive" },
                { "sectors_recursive", "blkio.sectors_recursive" },
        };
        s->blkio = json_object();
        for (size_t i = 0; i < ELEMENTSOF(blk); i++) {
                _cleanup_free_ char *p = xasprintf("%s/blkio/%s/%s", root, rel, blk[i][1]);
                json_object_set_new(s->blkio, blk[i][0], v1_blkio_list(p));
        }

        _cleanup_free_ char *pc = xasprintf("%s/pids/%s/pids.current", root, rel);
        _cleanup_free_ char *pm = xasprintf("%s/pids/%s/pids.max", root, rel);
        uint64_t cur = 0, max = 0;
        s->pids = json_object();
        if (read_u64(pc, &cur) == 0)
                json_object_set_new(s->pids, "current", json_integer((json_int_t) cur));
        if (read_u64(pm, &max) == 0 && max != UINT64_MAX && max)
                json_object_set_new(s->pids, "limit", json_integer((json_int_t) max));
        return 0;
}

static int v2_stats(const char *rel, RtCgroupStats *s)
{
        const char *root = rt_cgroup_root();
        _cleanup_free_ char *dir = xasprintf("%s/%s", root, rel);
        if (access(dir, F_OK) < 0)
                return -errno;
        _cleanup_free_ char *cs = xasprintf("%s/cpu.stat", dir);
        _cleanup_json_ json_t *cpustat = keyed_file(cs);
        s->cpu = json_pack("{s:{s:I,s:I,s:I},s:o}", "cpu_usage", "total_usage", key_int(cpustat, "usage_usec") * 1000,
                           "usage_in_kernelmode", key_int(cpustat, "system_usec") * 1000, "usage_in_usermode",
                           key_int(cpustat, "user_usec") * 1000, "throttling_data", throttling(cpustat));

        _cleanup_free_ char *mu = xasprintf("%s/memory.current", dir);
        _cleanup_free_ char *ml = xasprintf("%s/memory.max", dir);
        _cleanup_free_ char *ms = xasprintf("%s/memory.stat", dir);
        uint64_t usage = 0, limit = 0;
        s->memory = json_object();
        if (read_u64(mu, &usage) == 0) {
                json_object_set_new(s->memory, "usage", json_integer((json_int_t) usage));
                json_object_set_new(s->memory, "stats", memory_stat(ms, v2_memory_keys));
                if (read_u64(ml, &limit) == 0)
                        json_object_set_new(s->memory, "limit", json_integer((json_int_t) limit));
        }

        /* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" -> Docker's Read/Write entries */
        json_t *bytes = json_array();
        _cleanup_free_ char *io = xasprintf("%s/io.stat", dir);
        _cleanup_free_ char *t = NULL;
        if (read_file(io, &t, NULL) >= 0) {
                char *save = NULL;
                for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        unsigned maj, min;
                        unsigned long long rb = 0, wb = 0;
                        if (sscanf(l, "%u:%u", &maj, &min) != 2)
                                continue;
                        char *f;
                        if ((f = strstr(l, "rbytes=")))
                                rb = strtoull(f + 7, NULL, 10);
                        if ((f = strstr(l, "wbytes=")))
                                wb = strtoull(f + 7, NULL, 10);
                        json_array_append_new(bytes, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t) maj, "minor",
                                                               (json_int_t) min, "op", "read", "value", (json_int_t) rb));
                        json_array_append_new(bytes, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t) maj, "minor",
                                                               (json_int_t) min, "op", "write", "value", (json_int_t) wb));
                }
        }
        /* Docker on v2 fills only the bytes and leaves the v1-only lists null (an empty one too) */
        if (json_array_size(bytes) == 0) {
                json_decref(bytes);
                bytes = json_null();
        }
        s->blkio = json_pack("{s:o,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "io_service_bytes_recursive", bytes,
                             "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
                             "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive");

        _cleanup_free_ char *pc = xasprintf("%s/pids.current", dir);
        _cleanup_free_ char *pm = xasprintf("%s/pids.max", dir);
        uint64_t cur = 0, max = 0;
        s->pids = json_object();
        if (read_u64(pc, &cur) == 0)
                json_object_set_new(s->pids, "current", json_integer((json_int_t) cur));
        if (read_u64(pm, &max) == 0 && max != UINT64_MAX && max)
                json_object_set_new(s->pids, "limit", json_integer((json_int_t) max));
        return 0;
}

int rt_cgroup_stats(const char *rel, RtCgroupStats *ret)
{
        RtCgroupStats s = { 0 };
        int r = rt_cgroup_ops() == &rt_cgroup_v1_ops ? v1_stats(rel, &s) : v2_stats(rel, &s);
        if (r < 0) {
                rt_cgroup_stats_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void rt_cgroup_stats_done(RtCgroupStats *s)
{
        json_decref(s->cpu);
        json_decref(s->memory);
        json_decref(s->blkio);
        json_decref(s->pids);
        *s = (RtCgroupStats){ 0 };
}
