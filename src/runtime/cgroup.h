/* Container cgroups behind one small ops table: v1 (one directory per controller hierarchy)
 * or v2 (the unified tree). `rel` is the cgroup path relative to each hierarchy root, e.g.
 * "berth/<id>". No global state beyond the detected mode, so berthd and the monitor both use it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct RtCgroupResources {
        int64_t memory;     /* bytes, 0 = unlimited */
        int64_t pids_limit; /* 0 = unlimited, -1 = unlimited */
        int64_t cpu_shares; /* 0 = default */
} RtCgroupResources;

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
