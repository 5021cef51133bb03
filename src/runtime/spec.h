/* spec.json (docs/monitor.md): what the monitor runs. Parsed once, then plain C. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "runtime/cgroup.h"

typedef struct RtMount {
        char *source;
        char *destination;
        char *type;    /* "bind" (default), "tmpfs", ... */
        char **options; /* "rbind", "ro", "rw", "nosuid", or data options for other types */
} RtMount;

/* A device node created in the container (--device, or the host's for privileged). */
typedef struct RtDevice {
        char *path; /* inside the container */
        char type;  /* 'c' or 'b' */
        int64_t major, minor;
        uint32_t file_mode;
        uint32_t uid, gid;
} RtDevice;

typedef struct RtRlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
} RtRlimit;

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
        RtCgroupResources resources;
        int oom_score_adj;
        char *netns; /* path to join, NULL for a new one */
        bool ns_pid, ns_ipc, ns_uts, ns_net, ns_cgroup;
        char **capabilities; /* NULL: Docker's default set */
        bool all_capabilities; /* CapAdd ALL */
        bool privileged, seccomp;
        char *seccomp_profile; /* Docker's JSON format; NULL: the built-in default */
        char *seccomp_bpf; /* the built-in default compiled by berthd for these capabilities (hex), or NULL */
        bool no_new_privileges;
        char **sysctls; /* "net.ipv4.ip_forward=1", ... (namespaced ones, checked by berthd) */
        RtRlimit *rlimits;
        size_t n_rlimits;
        RtDevice *devices;
        size_t n_devices;
        char **device_rules; /* allowed on top of Docker's defaults (runtime/devices.h) */
        char *log_path;
        int64_t log_max_size, log_max_file;
        bool log_compress;
        char *exit_file;
} RtSpec;

/* Docker's defaults, NULL-terminated: the only place they are written (berthd's HostConfig
 * defaults and spec.json, and the monitor, all use these). */
extern const char *const rt_default_capabilities[];
extern const char *const rt_default_masked_paths[];
extern const char *const rt_default_readonly_paths[];

/* setrlimit of every spec rlimit; -errno. */
int rt_spec_apply_rlimits(const RtSpec *s);

/* The complete device allow list of the container: every device when privileged, else Docker's
 * defaults and the spec's own rules. */
char **rt_spec_device_rules(const RtSpec *s);

int rt_spec_parse(const char *json, RtSpec **ret, BerthError **err);
int rt_spec_load(const char *path, RtSpec **ret, BerthError **err);
RtSpec *rt_spec_free(RtSpec *s);
static inline void rt_spec_freep(RtSpec **s) { *s = rt_spec_free(*s); }
#define _cleanup_rt_spec_ _cleanup_(rt_spec_freep)
