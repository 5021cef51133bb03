/* spec.json (docs/monitor.md): what the monitor runs. Parsed once, then plain C. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

typedef struct RtMount {
        char *source;
        char *destination;
        char *type;    /* "bind" (default), "tmpfs", ... */
        char **options; /* "rbind", "ro", "rw", "nosuid", or data options for other types */
} RtMount;

typedef struct RtSpec {
        char *id;
        char **args;
        char **env;
        char *cwd;
        char *user;
        char **group_add; /* HostConfig.GroupAdd: names or gids */
        char *hostname, *domainname;
        bool tty, open_stdin, stdin_once, init;
        char **layers; /* bottom to top */
        char *upper, *work;
        RtMount *mounts;
        size_t n_mounts;
        bool readonly_rootfs;
        char **masked_paths, **readonly_paths;
        int64_t shm_size;
        char *cgroup;
        int64_t memory, pids_limit, cpu_shares;
        char *netns; /* path to join, NULL for a new one */
        bool ns_pid, ns_ipc, ns_uts, ns_net, ns_cgroup;
        char **capabilities; /* NULL: Docker's default set */
        bool privileged, seccomp;
        char *log_path;
        int64_t log_max_size, log_max_file;
        char *exit_file;
} RtSpec;

/* Docker's defaults, NULL-terminated. */
extern const char *const rt_default_capabilities[];
extern const char *const rt_default_masked_paths[];
extern const char *const rt_default_readonly_paths[];

int rt_spec_parse(const char *json, RtSpec **ret, BerthError **err);
int rt_spec_load(const char *path, RtSpec **ret, BerthError **err);
RtSpec *rt_spec_free(RtSpec *s);
static inline void rt_spec_freep(RtSpec **s) { *s = rt_spec_free(*s); }
#define _cleanup_rt_spec_ _cleanup_(rt_spec_freep)
