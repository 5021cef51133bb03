/* Container cgroups behind one small ops table: v1 (one directory per controller hierarchy)
 * or v2 (the unified tree). `rel` is the cgroup path relative to each hierarchy root, e.g.
 * "berth/<id>". No global state beyond the detected mode, so berthd and the monitor both use it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

/* The limits of one container, as written to its cgroup. A zero (or NULL) field is left as the
 * kernel has it, except where noted; berthd's HostConfig fields map onto these in the engine. */
typedef struct RtCgroupResources {
        int64_t memory;             /* bytes; 0 = unchanged */
        int64_t memory_swap;        /* memory + swap in bytes (Docker's MemorySwap); -1 = unlimited */
        int64_t memory_reservation; /* soft limit, bytes */
        int64_t kernel_memory;      /* v1 only */
        int64_t swappiness;         /* 0..100; -1 = unchanged */
        bool oom_kill_disable;
        int64_t pids_limit;         /* > 0 a limit; < 0 unlimited ("max"); 0 unchanged */
        int64_t cpu_shares;         /* v1 shares; v2 gets the converted weight */
        int64_t cpu_period;         /* µs; 0 = the kernel's default (100000) */
        int64_t cpu_quota;          /* µs per period; < 0 unlimited; 0 unchanged */
        int64_t cpu_rt_period, cpu_rt_runtime; /* v1 only */
        char *cpuset_cpus, *cpuset_mems;
        int64_t blkio_weight;       /* 10..1000 */
        /* "major:minor value" lines */
        char **blkio_weight_device, **blkio_read_bps, **blkio_write_bps, **blkio_read_iops, **blkio_write_iops;
} RtCgroupResources;

/* spec.json's "cgroup_resources" object (docs/monitor.md) to the struct and back. */
void rt_cgroup_resources_from_json(const json_t *j, RtCgroupResources *ret);
void rt_cgroup_resources_done(RtCgroupResources *r);

/* What the host's cgroups can enforce (Docker's sysinfo), probed from the files of the root. */
typedef struct RtCgroupInfo {
        bool memory, swap, memory_reservation, kernel_memory, swappiness, oom_kill_disable;
        bool pids, cpu_shares, cpu_cfs, cpu_realtime, cpuset;
        bool blkio_weight, blkio_weight_device, blkio_read_bps, blkio_write_bps, blkio_read_iops, blkio_write_iops;
        char cpus[256], mems[256]; /* the root's cpuset.cpus / cpuset.mems (else from sysconf) */
} RtCgroupInfo;
void rt_cgroup_info(RtCgroupInfo *ret);

/* Pure translations from v1 values to v2 files (unit-tested). */
uint64_t rt_cgroup_v2_cpu_weight(uint64_t shares);         /* runc's shares -> cpu.weight */
uint64_t rt_cgroup_v2_io_weight(uint64_t blkio_weight);    /* [10,1000] -> io.weight [1,10000] */
/* cpu.max content: "max 100000", "50000 100000". */
char *rt_cgroup_v2_cpu_max(int64_t quota, int64_t period);
/* memory.swap.max from Docker's MemorySwap (memory + swap) and Memory: "max", or the swap part. */
char *rt_cgroup_v2_swap_max(int64_t memory_swap, int64_t memory);
/* An io.max line from "major:minor value" and the key (rbps, wbps, riops, wiops); NULL if malformed. */
char *rt_cgroup_v2_io_max_line(const char *dev_value, const char *key);
/* "key value" lines (memory.stat, cpu.stat, io.stat's fields) into a JSON object of integers. */
json_t *rt_cgroup_parse_keyed(const char *text);

/* The OOM killer's kills in the cgroup (oom_kill of memory.oom_control on v1, memory.events on v2),
 * or -errno (-ENOENT once the group is gone). *under_oom: v1's under_oom (a task waits for memory
 * because the kill is disabled). */
long long rt_cgroup_oom_count(const char *rel, bool *under_oom);
/* An fd that turns readable when the memory controller reports an OOM in the group (v1: an eventfd
 * registered on memory.oom_control, also signalled when the group goes; v2: inotify on
 * memory.events); read rt_cgroup_oom_count after rt_cgroup_oom_drain. -errno without a memory
 * controller. */
int rt_cgroup_oom_watch(const char *rel);
bool rt_cgroup_oom_drain(int fd); /* true if there was a notification */

/* Live figures for GET /containers/{id}/stats, in Docker's JSON shapes: cpu_stats (without
 * system_cpu_usage and online_cpus, which are the host's), memory_stats, blkio_stats, pids_stats. */
typedef struct RtCgroupStats {
        json_t *cpu, *memory, *blkio, *pids;
} RtCgroupStats;
int rt_cgroup_stats(const char *rel, RtCgroupStats *ret);
void rt_cgroup_stats_done(RtCgroupStats *s);

typedef struct RtCgroupOps {
        const char *name; /* "v1" or "v2" */
        int (*create)(const char *rel);
        int (*add_pid)(const char *rel, pid_t pid);
        int (*set_resources)(const char *rel, const RtCgroupResources *res);
        /* The complete allow list ("c 1:3 rwm", ...; runtime/devices.h): all else is denied. */
        int (*set_devices)(const char *rel, char *const *rules);
        int (*freeze)(const char *rel, bool frozen); /* waits until the state is reached */
        int (*is_frozen)(const char *rel);           /* 1, 0 or -errno */
        int (*list_pids)(const char *rel, pid_t **ret, size_t *n_ret);
        int (*oom_killed)(const char *rel);          /* 1 if the OOM killer hit this cgroup */
        int (*remove)(const char *rel);              /* retries briefly while busy; -ENOENT is 0 */
} RtCgroupOps;

/* Where the hierarchies live; tests may override with BERTH_CGROUP_ROOT. */
const char *rt_cgroup_root(void);
/* The ops for this host (detected once from the filesystem type of the root). */
const RtCgroupOps *rt_cgroup_ops(void);
extern const RtCgroupOps rt_cgroup_v1_ops, rt_cgroup_v2_ops;

/* Sends sig to every process in the cgroup; for SIGKILL it freezes first so nothing forks
 * away, and repeats until the cgroup is empty (bounded). Returns the number signalled. */
int rt_cgroup_kill_all(const RtCgroupOps *ops, const char *rel, int sig);
/* 1 if any process is left. */
int rt_cgroup_populated(const RtCgroupOps *ops, const char *rel);

/* cgroup v1: whether berth puts containers in a cgroup of their own in this controller's hierarchy
 * (elsewhere they stay in the monitor's). */
bool rt_cgroup_v1_managed(const char *controller);
