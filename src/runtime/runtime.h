/* The built-in runtime: creates a container process in new namespaces with its root set up,
 * held before execve until started. Used by berth-monitor; HTTP-free. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "runtime/spec.h"

typedef struct RtContainer {
        pid_t pid;     /* as seen from the host */
        int sync_fd;   /* monitor's end of the setup channel, -1 after start */
        int stdin_fd;  /* write end of the container's stdin (pty master dup for tty), or -1 */
        int stdout_fd; /* read end of stdout (the pty master for tty) */
        int stderr_fd; /* read end of stderr, -1 for tty */
} RtContainer;

/* Docker's prefix for errors from container setup and exec, which the docker CLI
 * maps to exit codes by their text. */
#define RT_ERROR_PREFIX "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: "
#define RT_ERROR_SUFFIX ": unknown"

/* Creates the container from spec under rundir (rootfs mount point: <rundir>/rootfs): clone into
 * new namespaces, join cgroup `spec->cgroup` via ops (when both are set), mount everything, resolve
 * user, command and working dir, then wait. init_path is the berth-init binary for spec->init.
 * On failure returns -errno, *exit_code (127/126/125) and err (Docker's full text); the
 * child is reaped. */
int rt_container_create(const RtSpec *spec, const char *rundir, const char *init_path, const RtCgroupOps *cg,
                        RtContainer *c, int *exit_code, BerthError **err);
/* Releases the process into execve. Same error contract; on exec failure the child exits with
 * *exit_code (the caller still reaps it). */
int rt_container_start(RtContainer *c, int *exit_code, BerthError **err);

/* exec.c: an extra process in a running container (docker exec). */
#define RT_EXEC_ERROR_PREFIX "OCI runtime exec failed: exec failed: unable to start container process: "

typedef struct RtExecSpec {
        char **args;      /* required */
        char **env;       /* NULL: the container's */
        const char *user; /* NULL or "": the container's */
        const char *cwd;  /* NULL or "": the container's */
        bool tty, open_stdin, privileged;
        int h, w;         /* initial pty size, 0 = unset */
} RtExecSpec;

typedef struct RtExecProcess {
        pid_t pid;     /* host pid; a child of the caller (it must reap it) */
        int stdin_fd;  /* -1 without stdin; a dup of the pty master for tty */
        int stdout_fd; /* the pty master for tty */
        int stderr_fd; /* -1 for tty */
} RtExecProcess;

/* Starts x in the namespaces, cgroup and root of the container whose process is container_pid,
 * described by cs. Returns once the command was executed, or -errno with *exit_code (126) and
 * err in Docker's words ("OCI runtime exec failed: ..." or "unable to find user ..."). */
int rt_exec_create(const RtSpec *cs, pid_t container_pid, const RtCgroupOps *cg, const RtExecSpec *x,
                   RtExecProcess *p, int *exit_code, BerthError **err);

/* Security pieces (security.c), applied in the container process. */
/* Loads a seccomp profile in Docker's JSON format (NULL: the built-in default, Docker's allow list)
 * for a process that will hold `caps` (all_caps: every capability), which decide the rules with
 * includes/excludes "caps". */
int rt_seccomp_load(const char *profile, char *const *caps, bool all_caps, BerthError **err);
/* The built-in default profile for `caps` (NULL: Docker's default set; all_caps: every capability)
 * compiled to a BPF program, as hex; cached per capability set, a new string; NULL when it cannot
 * be compiled (the monitor then compiles the profile itself). Called by berthd. */
char *rt_seccomp_default_bpf(char *const *caps, bool all_caps);
/* Installs a program from rt_seccomp_default_bpf() exactly as rt_seccomp_load() would install the
 * profile it was compiled from. */
int rt_seccomp_load_bpf(const char *hex);
/* Validates a custom profile (berthd, at create). */
int rt_seccomp_check_profile(const char *profile, BerthError **err);
#include <jansson.h>
json_t *rt_seccomp_default_profile(void);
/* Keeps `caps` (NULL-terminated names like "CAP_CHOWN"; NULL = all) in every set except
 * ambient, switching to uid/gid/groups in between. */
int rt_switch_user_and_caps(char *const *caps, bool all, uid_t uid, gid_t gid, const gid_t *groups,
                            size_t n_groups);

/* sealed.c: a memfd copy of the file at path with every seal (write, grow, shrink, seal): what
 * berth-monitor runs from, so no process in a container can reach a writable host binary. */
int rt_sealed_copy(const char *path, int *ret);
/* 1 when this process runs from such a copy. */
int rt_exe_is_sealed(void);
