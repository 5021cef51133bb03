/* Resource limits: checks as dockerd makes them, the runtime's values, and stats samples. */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/resources.h"
#include "runtime/cgroup.h"
#include "state/events.h"

#define MIN_MEMORY (6LL * 1024 * 1024)

static long long geti(json_t *hc, const char *k)
{
        return json_int(hc, k, 0);
}

static void seti(json_t *hc, const char *k, long long v)
{
        json_object_set_new(hc, k, json_integer(v));
}

static void warn(json_t *w, const char *msg)
{
        json_array_append_new(w, json_string(msg));
}

/* Docker's parsers.ParseUintList: "0-2,4"; marks each number in set (size n). -EINVAL when
 * malformed, -ERANGE when a number is beyond the set. */
static int parse_list(const char *s, bool *set, size_t n)
{
        if (!s || !*s)
                return 0;
        _cleanup_free_ char *copy = xstrdup(s);
        int ret = 0;
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(t, '-'), *end;
                if (!*t || !(*t >= '0' && *t <= '9'))
                        return -EINVAL;
                unsigned long a = strtoul(t, &end, 10), b = a;
                if (dash) {
                        if (end != dash || !(dash[1] >= '0' && dash[1] <= '9'))
                                return -EINVAL;
                        b = strtoul(dash + 1, &end, 10);
                        if (*end || b < a)
                                return -EINVAL;
                } else if (*end)
                        return -EINVAL;
                for (unsigned long i = a; i <= b && i < 4096; i++) {
                        if (i >= n)
                                ret = -ERANGE;
                        else if (set)
                                set[i] = true;
                }
                if (b >= 4096)
                        ret = -ERANGE;
        }
        return ret;
}

/* requested within available ("0-1")? */
static int check_cpuset(const char *req, const char *avail, const char *what, const char *what2, BerthError **err)
{
        if (!req || !*req)
                return 0;
        bool want[4096] = { false }, have[4096] = { false };
        int r = parse_list(req, want, 4096);
        if (r == -EINVAL)
                return berr_set(err, EINVAL, "Invalid value %s for cpuset %s: invalid format: %s", req, what, req);
        (void) parse_list(avail, have, 4096);
        for (size_t i = 0; i < 4096; i++)
                if ((want[i] && !have[i]) || r == -ERANGE)
                        return berr_set(err, EINVAL, "Requested %s are not available - requested %s, available: %s",
                                        what2, req, avail);
        return 0;
}

static bool is_set(json_t *hc, const char *k)
{
        json_t *v = json_object_get(hc, k);
        return v && !json_is_null(v);
}

int container_resources_verify(json_t *hc, bool update, json_t *w, BerthError **err)
{
        RtCgroupInfo si;
        rt_cgroup_info(&si);

        /* memory */
        long long mem = geti(hc, "Memory"), swap = geti(hc, "MemorySwap");
        if (mem != 0 && mem < MIN_MEMORY)
                return berr_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
        if (mem > 0 && !si.memory) {
                warn(w, "Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.");
                seti(hc, "Memory", mem = 0);
                seti(hc, "MemorySwap", swap = -1);
        }
        if (mem > 0 && swap != -1 && !si.swap) {
                warn(w, "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory "
                        "limited without swap.");
                seti(hc, "MemorySwap", swap = -1);
        }
        if (mem > 0 && swap > 0 && swap < mem)
                return berr_set(err, EINVAL, "Minimum memoryswap limit should be larger than memory limit, see usage");
        if (mem == 0 && swap > 0 && !update)
                return berr_set(err, EINVAL, "You should always set the Memory limit when using Memoryswap limit, see "
                                "usage");
        json_t *sw = json_object_get(hc, "MemorySwappiness");
        if (json_is_integer(sw) && json_integer_value(sw) == -1)
                json_object_set_new(hc, "MemorySwappiness", sw = json_null());
        if (json_is_integer(sw) && !si.swappiness) {
                warn(w, "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
                        "Memory swappiness discarded.");
                json_object_set_new(hc, "MemorySwappiness", sw = json_null());
        }
        if (json_is_integer(sw) && (json_integer_value(sw) < 0 || json_integer_value(sw) > 100))
                return berr_set(err, EINVAL, "Invalid value: %" JSON_INTEGER_FORMAT ", valid memory swappiness range "
                                "is 0-100", json_integer_value(sw));
        long long resv = geti(hc, "MemoryReservation");
        if (resv > 0 && !si.memory_reservation) {
                warn(w, "Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.");
                seti(hc, "MemoryReservation", resv = 0);
        }
        if (resv > 0 && resv < MIN_MEMORY)
                return berr_set(err, EINVAL, "Minimum memory reservation allowed is 6MB");
        if (mem > 0 && resv > 0 && mem < resv)
                return berr_set(err, EINVAL, "Minimum memory limit can not be less than memory reservation limit, see "
                                "usage");
        long long kmem = geti(hc, "KernelMemory");
        if (kmem > 0)
                warn(w, "Specifying a kernel memory limit is deprecated and will be removed in a future release.");
        if (kmem > 0 && !si.kernel_memory) {
                /* cgroup v2 has no such limit, and kernels from 5.16 ignore the v1 file */
                warn(w, "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.");
                seti(hc, "KernelMemory", kmem = 0);
        }
        if (kmem > 0 && kmem < MIN_MEMORY)
                return berr_set(err, EINVAL, "Minimum kernel memory limit allowed is 6MB");
        json_t *okd = json_object_get(hc, "OomKillDisable");
        if (json_is_boolean(okd) && !si.oom_kill_disable) {
                if (json_is_true(okd))
                        warn(w, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
                json_object_set_new(hc, "OomKillDisable", okd = json_false());
        }
        if (json_is_true(okd) && mem == 0)
                warn(w, "OOM killer is disabled for the container, but no memory limit is set, this can result in the "
                        "system running out of resources.");
        if (is_set(hc, "PidsLimit") && !si.pids) {
                if (geti(hc, "PidsLimit") > 0)
                        warn(w, "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
                                "PIDs limit discarded.");
                json_object_set_new(hc, "PidsLimit", json_null());
        }

        /* cpu */
        long long nano = geti(hc, "NanoCpus"), period = geti(hc, "CpuPeriod"), quota = geti(hc, "CpuQuota");
        if (nano > 0 && period > 0)
                return berr_set(err, EINVAL, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (nano > 0 && quota > 0)
                return berr_set(err, EINVAL, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        if (nano > 0 && !si.cpu_cfs)
                return berr_set(err, EINVAL, "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler "
                                "or the cgroup is not mounted");
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (nano < 0 || nano > ncpu * 1000000000LL)
                return berr_set(err, EINVAL, "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
                                "available", ncpu, ncpu);
        if (geti(hc, "CpuShares") > 0 && !si.cpu_shares) {
                warn(w, "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.");
                seti(hc, "CpuShares", 0);
        }
        if ((period || quota) && !si.cpu_cfs) {
                warn(w, "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
                seti(hc, "CpuPeriod", period = 0);
                seti(hc, "CpuQuota", quota = 0);
        }
        if (period != 0 && (period < 1000 || period > 1000000))
                return berr_set(err, EINVAL, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                                "(i.e. 1000000)");
        if (quota > 0 && quota < 1000)
                return berr_set(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
        if (geti(hc, "CpuPercent") > 0) {
                warn(w, "linux does not support CPU percent. Percent discarded.");
                seti(hc, "CpuPercent", 0);
        }
        long long rtp = geti(hc, "CpuRealtimePeriod"), rtr = geti(hc, "CpuRealtimeRuntime");
        if (rtp || rtr) {
                /* A container gets real-time time only from its parent's budget, and berth's parent
                 * cgroup has none (dockerd's --cpu-rt-runtime): refused rather than failing at start. */
                _cleanup_free_ char *p = xasprintf("%s/cpu/berth/cpu.rt_runtime_us", rt_cgroup_root());
                _cleanup_free_ char *t = NULL;
                if (!si.cpu_realtime || read_file(p, &t, NULL) < 0 || atoll(t) <= 0)
                        return berr_set(err, EINVAL, "Your kernel does not support CPU real-time scheduler for "
                                        "containers (no real-time runtime is reserved for them): --cpu-rt-period and "
                                        "--cpu-rt-runtime cannot be used");
                if (rtp && rtr > rtp)
                        return berr_set(err, EINVAL, "cpu real-time runtime cannot be higher than cpu real-time "
                                        "period");
        }

        /* cpuset */
        const char *cpus = json_str(hc, "CpusetCpus"), *mems = json_str(hc, "CpusetMems");
        if (((cpus && *cpus) || (mems && *mems)) && !si.cpuset) {
                warn(w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
                json_object_set_new(hc, "CpusetCpus", json_string(""));
                json_object_set_new(hc, "CpusetMems", json_string(""));
                cpus = mems = NULL;
        }
        int r = check_cpuset(cpus, si.cpus, "cpus", "CPUs", err);
        if (r == 0)
                r = check_cpuset(mems, si.mems, "mems", "memory nodes", err);
        if (r < 0)
                return r;

        /* blkio */
        long long bw = geti(hc, "BlkioWeight");
        if (bw > 0 && !si.blkio_weight) {
                warn(w, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
                seti(hc, "BlkioWeight", bw = 0);
        }
        if (bw > 0 && (bw < 10 || bw > 1000))
                return berr_set(err, EINVAL, "Range of blkio weight is from 10 to 1000");
        if (geti(hc, "IOMaximumBandwidth") || geti(hc, "IOMaximumIOps"))
                return berr_set(err, EINVAL, "Invalid QoS settings: linux does not support Maximum IO Bandwidth or "
                                "Maximum IO IOps");
        static const struct {
                const char *key;
                size_t off;
                const char *msg;
        } dev[] = {
                { "BlkioWeightDevice", offsetof(RtCgroupInfo, blkio_weight_device),
                  "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device "
                  "discarded." },
                { "BlkioDeviceReadBps", offsetof(RtCgroupInfo, blkio_read_bps),
                  "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS "
                  "read limit discarded." },
                { "BlkioDeviceWriteBps", offsetof(RtCgroupInfo, blkio_write_bps),
                  "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS "
                  "write limit discarded." },
                { "BlkioDeviceReadIOps", offsetof(RtCgroupInfo, blkio_read_iops),
                  "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read "
                  "limit discarded." },
                { "BlkioDeviceWriteIOps", offsetof(RtCgroupInfo, blkio_write_iops),
                  "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS "
                  "write limit discarded." },
        };
        for (size_t i = 0; i < ELEMENTSOF(dev); i++) {
                json_t *a = json_object_get(hc, dev[i].key);
                if (json_array_size(a) && !*(const bool *) ((const char *) &si + dev[i].off)) {
                        warn(w, dev[i].msg);
                        json_object_set_new(hc, dev[i].key, json_array());
                }
                size_t k;
                json_t *d;
                json_array_foreach(json_object_get(hc, dev[i].key), k, d) {
                        const char *path = json_str(d, "Path");
                        if (!json_is_object(d) || !path || !*path)
                                return berr_set(err, EINVAL, "invalid %s: a device needs a Path", dev[i].key);
                }
        }

        /* the rest of dockerd's HostConfig checks on resources */
        if (!update && geti(hc, "ShmSize") < 0)
                return berr_set(err, EINVAL, "SHM size can not be less than 0");
        long long adj = geti(hc, "OomScoreAdj");
        if (adj < -1000 || adj > 1000)
                return berr_set(err, EINVAL, "Invalid value %lld, range for oom score adj is [-1000, 1000]", adj);
        return 0;
}

void container_resources_defaults(json_t *hc)
{
        long long mem = geti(hc, "Memory");
        if (mem > 0 && geti(hc, "MemorySwap") == 0)
                seti(hc, "MemorySwap", mem * 2);
}

/* [{"Path":"/dev/sda","Rate":N}] -> ["8:0 N"] */
static int device_lines(json_t *hc, const char *key, const char *valkey, json_t **ret, BerthError **err)
{
        json_t *out = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(hc, key), i, d) {
                const char *path = json_str(d, "Path");
                struct stat st;
                if (!path || stat(path, &st) < 0) {
                        int e = path ? errno : EINVAL;
                        json_decref(out);
                        return berr_set(err, e == ENOENT ? EINVAL : e, "%s: stat %s: %s", key, path ? path : "",
                                        go_strerror(e));
                }
                if (!S_ISBLK(st.st_mode)) {
                        json_decref(out);
                        return berr_set(err, EINVAL, "%s: %s is not a block device", key, path);
                }
                json_array_append_new(out, json_sprintf("%u:%u %lld", major(st.st_rdev), minor(st.st_rdev),
                                                        json_int(d, valkey, 0)));
        }
        *ret = out;
        return 0;
}

int container_resources_spec(json_t *hc, json_t **ret, BerthError **err)
{
        long long nano = geti(hc, "NanoCpus"), period = geti(hc, "CpuPeriod"), quota = geti(hc, "CpuQuota");
        if (nano > 0) {
                /* --cpus: Docker's fixed 100ms period */
                period = 100000;
                quota = nano * period / 1000000000LL;
        }
        json_t *pl = json_object_get(hc, "PidsLimit");
        long long pids = json_is_integer(pl) ? (json_integer_value(pl) > 0 ? json_integer_value(pl) : -1) : 0;
        json_t *sw = json_object_get(hc, "MemorySwappiness");
        json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:I}", "memory",
                              (json_int_t) geti(hc, "Memory"), "memory_swap", (json_int_t) (geti(hc, "Memory") > 0 ? geti(hc, "MemorySwap") : 0),
                              "memory_reservation", (json_int_t) geti(hc, "MemoryReservation"), "kernel_memory",
                              (json_int_t) geti(hc, "KernelMemory"), "memory_swappiness",
                              (json_int_t) (json_is_integer(sw) ? json_integer_value(sw) : -1), "oom_kill_disable",
                              json_bool(hc, "OomKillDisable"), "pids_limit", (json_int_t) pids, "cpu_shares",
                              (json_int_t) geti(hc, "CpuShares"), "cpu_period", (json_int_t) period, "cpu_quota",
                              (json_int_t) quota, "cpu_rt_period", (json_int_t) geti(hc, "CpuRealtimePeriod"),
                              "cpu_rt_runtime", (json_int_t) geti(hc, "CpuRealtimeRuntime"), "cpuset_cpus",
                              json_str(hc, "CpusetCpus") ?: "", "cpuset_mems", json_str(hc, "CpusetMems") ?: "",
                              "blkio_weight", (json_int_t) geti(hc, "BlkioWeight"));
        static const char *const dev[][3] = {
                { "BlkioWeightDevice", "Weight", "blkio_weight_device" },
                { "BlkioDeviceReadBps", "Rate", "blkio_read_bps" },
                { "BlkioDeviceWriteBps", "Rate", "blkio_write_bps" },
                { "BlkioDeviceReadIOps", "Rate", "blkio_read_iops" },
                { "BlkioDeviceWriteIOps", "Rate", "blkio_write_iops" },
        };
        for (size_t i = 0; i < ELEMENTSOF(dev); i++) {
                json_t *l = NULL;
                int r = device_lines(hc, dev[i][0], dev[i][1], &l, err);
                if (r < 0) {
                        json_decref(j);
                        return r;
                }
                json_object_set_new(j, dev[i][2], l);
        }
        *ret = j;
        return 0;
}

/* ---- stats ---- */

/* Sum of the first seven fields of /proc/stat's "cpu" line in ns, as dockerd computes it. */
static uint64_t system_cpu_usage(void)
{
        _cleanup_free_ char *t = NULL;
        if (read_file("/proc/stat", &t, NULL) < 0 || !startswith(t, "cpu "))
                return 0;
        uint64_t sum = 0;
        char *p = t + 4, *end;
        for (int i = 0; i < 7; i++) {
                unsigned long long v = strtoull(p, &end, 10);
                if (end == p)
                        break;
                sum += v;
                p = end;
        }
        return sum * (1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK));
}

static uint64_t machine_memory(void)
{
        return (uint64_t) sysconf(_SC_PHYS_PAGES) * (uint64_t) sysconf(_SC_PAGESIZE);
}

/* /proc/<pid>/net/dev of the container's init: its network namespace's interfaces, lo aside. */
static json_t *networks(int pid)
{
        _cleanup_free_ char *p = xasprintf("/proc/%d/net/dev", pid);
        _cleanup_free_ char *t = NULL;
        if (read_file(p, &t, NULL) < 0)
                return NULL;
        json_t *o = json_object();
        char *save = NULL;
        for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(l, ':');
                if (!colon)
                        continue;
                *colon = 0;
                while (*l == ' ')
                        l++;
                if (streq(l, "lo"))
                        continue;
                unsigned long long v[16] = { 0 };
                if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) != 12)
                        continue;
                json_object_set_new(o, l, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes", (json_int_t) v[0],
                                                    "rx_packets", (json_int_t) v[1], "rx_errors", (json_int_t) v[2],
                                                    "rx_dropped", (json_int_t) v[3], "tx_bytes", (json_int_t) v[8],
                                                    "tx_packets", (json_int_t) v[9], "tx_errors", (json_int_t) v[10],
                                                    "tx_dropped", (json_int_t) v[11]));
        }
        return o;
}

static json_t *zero_cpu(void)
{
        return json_pack("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0, "usage_in_kernelmode", 0,
                         "usage_in_usermode", 0, "throttling_data", "periods", 0, "throttled_periods", 0,
                         "throttled_time", 0);
}

static json_t *zero_blkio(void)
{
        return json_pack("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "io_service_bytes_recursive", "io_serviced_recursive",
                         "io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive",
                         "io_merged_recursive", "io_time_recursive", "sectors_recursive");
}

json_t *container_stats_sample(Engine *e, Container *c, json_t *prev, bool *running)
{
        pthread_mutex_lock(&e->lock);
        bool live = (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) && c->pid > 0;
        int pid = c->pid;
        _cleanup_free_ char *name = xasprintf("/%s", c->name);
        const char *nm = json_str(container_hostcfg(c), "NetworkMode");
        bool own_netns = !(nm && (streq(nm, "host") || startswith(nm, "container:")));
        pthread_mutex_unlock(&e->lock);

        RtCgroupStats st = { 0 };
        _cleanup_free_ char *rel = xasprintf("berth/%s", c->id);
        if (live && rt_cgroup_stats(rel, &st) < 0)
                live = false; /* exited meanwhile: its group is gone */
        *running = live;
        if (!live)
                return json_pack("{s:s,s:s,s:{},s:o,s:i,s:{},s:o,s:o,s:{},s:s,s:s}", "read", "0001-01-01T00:00:00Z",
                                 "preread", "0001-01-01T00:00:00Z", "pids_stats", "blkio_stats", zero_blkio(),
                                 "num_procs", 0, "storage_stats", "cpu_stats", zero_cpu(), "precpu_stats", zero_cpu(),
                                 "memory_stats", "name", name, "id", c->id);

        /* Docker's key order: the host's two figures before throttling_data */
        json_t *thr = json_incref(json_object_get(st.cpu, "throttling_data"));
        json_object_del(st.cpu, "throttling_data");
        json_object_set_new(st.cpu, "system_cpu_usage", json_integer((json_int_t) system_cpu_usage()));
        json_object_set_new(st.cpu, "online_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
        json_object_set_new(st.cpu, "throttling_data", thr);
        /* without a limit the cgroup says "unlimited": Docker reports the machine's memory */
        json_t *lim = json_object_get(st.memory, "limit");
        uint64_t mm = machine_memory();
        if (lim && mm && (uint64_t) json_integer_value(lim) > mm)
                json_object_set_new(st.memory, "limit", json_integer((json_int_t) mm));
        _cleanup_free_ char *read = format_rfc3339(now_ns(), true);
        json_t *pre = prev ? json_object_get(prev, "cpu_stats") : NULL;
        json_t *preread = prev && json_object_get(prev, "read") ? json_incref(json_object_get(prev, "read"))
                                                                : json_string("0001-01-01T00:00:00Z");
        json_t *j = json_pack("{s:s,s:o,s:O,s:O,s:i,s:{},s:O,s:o,s:O,s:s,s:s}", "read", read, "preread", preread,
                              "pids_stats", st.pids, "blkio_stats", st.blkio, "num_procs", 0, "storage_stats",
                              "cpu_stats", st.cpu, "precpu_stats", pre ? json_deep_copy(pre) : zero_cpu(),
                              "memory_stats", st.memory, "name", name, "id", c->id);
        rt_cgroup_stats_done(&st);
        json_t *nets = own_netns ? networks(pid) : NULL;
        if (nets)
                json_object_set_new(j, "networks", nets);
        return j;
}

/* ---- OOM ---- */

/* dockerd on an OOM event: OOMKilled is set and recorded, and "oom" goes out, while it runs. */
static void report_oom(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        if (!c->removed && (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED)) {
                c->oom_killed = true;
                container_save_fact(e, c, "an OOM kill");
                events_container_locked(e, c, "oom", NULL);
        }
        pthread_mutex_unlock(&e->lock);
}

void container_oom_watch_start(Engine *e, Container *c, ContainerOomWatch *w)
{
        _cleanup_free_ char *rel = xasprintf("berth/%s", c->id);
        w->fd = rt_cgroup_oom_watch(rel);
        long long n = rt_cgroup_oom_count(rel, NULL);
        w->kills = n > 0 ? n : 0;
        w->rechecks = w->fd >= 0 ? 10 : 0;
        pthread_mutex_lock(&e->lock);
        bool known = c->oom_killed;
        pthread_mutex_unlock(&e->lock);
        if (n > 0 && !known)
                report_oom(e, c); /* it happened while berthd was down */
}

void container_oom_watch_event(Engine *e, Container *c, ContainerOomWatch *w)
{
        bool notified = rt_cgroup_oom_drain(w->fd);
        _cleanup_free_ char *rel = xasprintf("berth/%s", c->id);
        bool under = false;
        long long n = rt_cgroup_oom_count(rel, &under);
        if (n < 0) {
                /* the group is gone (v1 signals its removal too): the exit follows on the monitor socket */
                container_oom_watch_stop(w);
                return;
        }
        /* under_oom: a task waits for memory in a group whose kill is disabled */
        if (n > w->kills || (under && notified)) {
                w->kills = n;
                report_oom(e, c);
        }
}

int container_oom_watch_timeout(ContainerOomWatch *w)
{
        if (w->fd < 0 || w->rechecks <= 0)
                return -1;
        w->rechecks--;
        return 500;
}

void container_oom_watch_stop(ContainerOomWatch *w)
{
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
}
