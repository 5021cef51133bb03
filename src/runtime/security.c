/* Capabilities (libcap) and the default seccomp profile (libseccomp) of a container process. */
#include <ctype.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#include "basic/json-util.h"
#include "basic/util.h"

#include "runtime/runtime.h"

/* ---- seccomp ----
 * Profiles have Docker's JSON format (defaultAction, defaultErrnoRet, syscalls[] with names, action,
 * errnoRet, args, includes/excludes {caps, arches, minKernel}); the built-in default is the same
 * structure, built from the table below: an allow list, everything else EPERM. */

static const char *const sc_allow[] = {
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir",
        "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
        "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
        "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown",
        "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
        "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
        "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
        "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
        "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
        "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
        "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
        "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
        "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
        "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
        "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
        "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
        "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
        "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
        "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
        "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
        "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
        "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
        "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
        "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
        "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
        "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev", NULL,
};

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define CLONE_NS_MASK 0x7E020000ULL /* every CLONE_NEW* flag */

/* One entry of the built-in profile; n_args > 0 adds one condition on argument 0. */
static const struct {
        const char *const *names;
        const char *action; /* NULL: allow */
        int errno_ret;
        const char *op;
        uint64_t value;
        const char *const *caps_in, *const *caps_ex, *const *arches_in;
        const char *min_kernel;
} sc_rules[] = {
        /* ptrace and process_vm_* only with CAP_SYS_PTRACE (below): stricter than Docker's profile,
         * which grants them to everyone on 4.8+; a container has no business tracing even its own. */
        /* No AF_VSOCK (40) sockets: they reach the host's hypervisor services. */
        { L("socket"), .op = "SCMP_CMP_NE", .value = 40 },
        /* personality: only the harmless personas (Linux, UNAME26, READ_IMPLIES_EXEC combos, query). */
        { L("personality"), .op = "SCMP_CMP_EQ", .value = 0 },
        { L("personality"), .op = "SCMP_CMP_EQ", .value = 8 },
        { L("personality"), .op = "SCMP_CMP_EQ", .value = 131072 },
        { L("personality"), .op = "SCMP_CMP_EQ", .value = 131080 },
        { L("personality"), .op = "SCMP_CMP_EQ", .value = 4294967295ULL },
        { L("arch_prctl"), .arches_in = L("amd64", "x32") },
        { L("modify_ldt"), .arches_in = L("amd64", "x32", "x86") },
        { L("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
          .arches_in = L("arm", "arm64") },
        { L("riscv_flush_icache"), .arches_in = L("riscv64") },
        { L("open_by_handle_at"), .caps_in = L("CAP_DAC_READ_SEARCH") },
        { L("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
            "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"),
          .caps_in = L("CAP_SYS_ADMIN") },
        /* Without CAP_SYS_ADMIN: clone without any CLONE_NEW* flag; clone3 (flags out of reach of a
         * filter) says ENOSYS so libc falls back to clone. */
        { L("clone"), .op = "SCMP_CMP_MASKED_EQ", .value = 0, .caps_ex = L("CAP_SYS_ADMIN") },
        { L("clone3"), .action = "SCMP_ACT_ERRNO", .errno_ret = ENOSYS, .caps_ex = L("CAP_SYS_ADMIN") },
        { L("reboot"), .caps_in = L("CAP_SYS_BOOT") },
        { L("chroot"), .caps_in = L("CAP_SYS_CHROOT") },
        { L("delete_module", "init_module", "finit_module"), .caps_in = L("CAP_SYS_MODULE") },
        { L("acct"), .caps_in = L("CAP_SYS_PACCT") },
        { L("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"),
          .caps_in = L("CAP_SYS_PTRACE") },
        { L("iopl", "ioperm"), .caps_in = L("CAP_SYS_RAWIO") },
        { L("settimeofday", "stime", "clock_settime", "clock_settime64"), .caps_in = L("CAP_SYS_TIME") },
        { L("vhangup"), .caps_in = L("CAP_SYS_TTY_CONFIG") },
        { L("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"), .caps_in = L("CAP_SYS_NICE") },
        { L("syslog"), .caps_in = L("CAP_SYSLOG") },
        { L("bpf"), .caps_in = L("CAP_BPF") },
        { L("perf_event_open"), .caps_in = L("CAP_PERFMON") },
};

static json_t *strv_json(const char *const *l)
{
        json_t *a = json_array();
        for (size_t i = 0; l && l[i]; i++)
                json_array_append_new(a, json_string(l[i]));
        return a;
}

json_t *rt_seccomp_default_profile(void)
{
        json_t *sys = json_array();
        json_array_append_new(sys, json_pack("{s:o,s:s}", "names", strv_json(sc_allow), "action", "SCMP_ACT_ALLOW"));
        for (size_t i = 0; i < ELEMENTSOF(sc_rules); i++) {
                json_t *r = json_pack("{s:o,s:s}", "names", strv_json(sc_rules[i].names), "action",
                                      sc_rules[i].action ? sc_rules[i].action : "SCMP_ACT_ALLOW");
                if (sc_rules[i].errno_ret)
                        json_object_set_new(r, "errnoRet", json_integer(sc_rules[i].errno_ret));
                if (sc_rules[i].op) {
                        bool masked = streq(sc_rules[i].op, "SCMP_CMP_MASKED_EQ");
                        json_object_set_new(r, "args", json_pack("[{s:i,s:I,s:I,s:s}]", "index", 0, "value",
                                                                 (json_int_t) (masked ? CLONE_NS_MASK : sc_rules[i].value),
                                                                 "valueTwo", (json_int_t) sc_rules[i].value, "op",
                                                                 sc_rules[i].op));
                }
                json_t *in = json_object(), *ex = json_object();
                if (sc_rules[i].caps_in)
                        json_object_set_new(in, "caps", strv_json(sc_rules[i].caps_in));
                if (sc_rules[i].arches_in)
                        json_object_set_new(in, "arches", strv_json(sc_rules[i].arches_in));
                if (sc_rules[i].min_kernel)
                        json_object_set_new(in, "minKernel", json_string(sc_rules[i].min_kernel));
                if (sc_rules[i].caps_ex)
                        json_object_set_new(ex, "caps", strv_json(sc_rules[i].caps_ex));
                json_object_set_new(r, "includes", in);
                json_object_set_new(r, "excludes", ex);
                json_array_append_new(sys, r);
        }
        return json_pack("{s:s,s:i,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM, "syscalls",
                         sys);
}

/* Docker's name for the architecture we run on. */
static const char *native_arch(void)
{
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64: return "amd64";
        case SCMP_ARCH_X86: return "x86";
        case SCMP_ARCH_X32: return "x32";
        case SCMP_ARCH_AARCH64: return "arm64";
        case SCMP_ARCH_ARM: return "arm";
        case SCMP_ARCH_PPC64LE: return "ppc64le";
        case SCMP_ARCH_S390X: return "s390x";
        case SCMP_ARCH_RISCV64: return "riscv64";
        default: return "";
        }
}

static bool kernel_at_least(const char *want)
{
        struct utsname u;
        if (uname(&u) < 0)
                return false;
        int a = 0, b = 0, x = 0, y = 0;
        sscanf(u.release, "%d.%d", &a, &b);
        sscanf(want, "%d.%d", &x, &y);
        return a > x || (a == x && b >= y);
}

static bool has_cap(char *const *caps, bool all, const char *c)
{
        if (all)
                return true;
        for (size_t i = 0; caps && caps[i]; i++)
                if (!strcasecmp(caps[i], c) || (!strncasecmp(c, "CAP_", 4) && !strcasecmp(caps[i], c + 4)))
                        return true;
        return false;
}

static bool any_in(json_t *list, bool (*pred)(const char *, void *), void *ud)
{
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) && pred(json_string_value(v), ud)) return true;
        return false;
}

typedef struct {
        char *const *caps;
        bool all;
} CapSet;

static bool cap_pred(const char *c, void *ud)
{
        CapSet *cs = ud;
        return has_cap(cs->caps, cs->all, c);
}

static bool arch_pred(const char *a, void *ud)
{
        return streq(a, native_arch());
}

static int parse_action(const char *s, json_t *errno_ret, int dflt_errno, uint32_t *ret)
{
        int e = json_is_integer(errno_ret) ? (int) json_integer_value(errno_ret) : dflt_errno;
        if (!s)
                return -EINVAL;
        if (streq(s, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (streq(s, "SCMP_ACT_ERRNO"))
                *ret = SCMP_ACT_ERRNO((uint16_t) e);
        else if (streq(s, "SCMP_ACT_KILL") || streq(s, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL;
        else if (streq(s, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (streq(s, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (streq(s, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else
                return -EINVAL;
        return 0;
}

static int parse_op(const char *s, enum scmp_compare *ret)
{
        static const struct {
                const char *n;
                enum scmp_compare op;
        } ops[] = { { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
                    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
                    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ } };
        for (size_t i = 0; s && i < ELEMENTSOF(ops); i++)
                if (streq(s, ops[i].n)) {
                        *ret = ops[i].op;
                        return 0;
                }
        return -EINVAL;
}

/* Builds (ctx != NULL) or only checks (ctx == NULL) a profile. */
static int apply_profile(scmp_filter_ctx ctx, json_t *p, char *const *caps, bool all, uint32_t dflt, int dflt_errno,
                         BerthError **err)
{
        CapSet cs = { caps, all };
        size_t i;
        json_t *r;
        json_t *sys = json_object_get(p, "syscalls");
        if (sys && !json_is_array(sys) && !json_is_null(sys))
                return berr_set(err, EINVAL, "syscalls must be a list");
        json_array_foreach(sys, i, r) {
                json_t *names = json_object_get(r, "names");
                const char *one = json_str(r, "name");
                uint32_t act;
                if (parse_action(json_str(r, "action"), json_object_get(r, "errnoRet"), dflt_errno, &act) < 0)
                        return berr_set(err, EINVAL, "unsupported action in syscall rule %zu: %s", i,
                                        json_str(r, "action") ?: "(none)");
                struct scmp_arg_cmp args[6];
                unsigned n_args = 0;
                size_t k;
                json_t *a;
                json_array_foreach(json_object_get(r, "args"), k, a) {
                        enum scmp_compare op;
                        long long idx = json_int(a, "index", -1);
                        if (n_args >= 6 || idx < 0 || idx > 5 || parse_op(json_str(a, "op"), &op) < 0)
                                return berr_set(err, EINVAL, "invalid argument condition in syscall rule %zu", i);
                        json_t *v = json_object_get(a, "value"), *v2 = json_object_get(a, "valueTwo");
                        uint64_t val = json_is_integer(v) ? (uint64_t) json_integer_value(v) : json_is_real(v) ? (uint64_t) json_real_value(v) : 0;
                        uint64_t val2 = json_is_integer(v2) ? (uint64_t) json_integer_value(v2) : json_is_real(v2) ? (uint64_t) json_real_value(v2) : 0;
                        args[n_args++] = (struct scmp_arg_cmp){ (unsigned) idx, op, val, val2 };
                }
                json_t *in = json_object_get(r, "includes"), *ex = json_object_get(r, "excludes");
                const char *mk = json_str(in, "minKernel");
                bool applies = true;
                if (json_array_size(json_object_get(in, "caps")) &&
                    !any_in(json_object_get(in, "caps"), cap_pred, &cs))
                        applies = false;
                if (json_array_size(json_object_get(in, "arches")) &&
                    !any_in(json_object_get(in, "arches"), arch_pred, NULL))
                        applies = false;
                if (mk && !kernel_at_least(mk))
                        applies = false;
                if (any_in(json_object_get(ex, "caps"), cap_pred, &cs) ||
                    any_in(json_object_get(ex, "arches"), arch_pred, NULL))
                        applies = false;
                if (!ctx || !applies || act == dflt)
                        continue;
                /* Docker's default profile rule "clone, MASKED_EQ 0x7E020000": mask in value, 0 in valueTwo. */
                size_t nn = json_is_array(names) ? json_array_size(names) : 0;
                for (size_t j = 0; j < nn + (one ? 1 : 0); j++) {
                        const char *name = j < nn ? json_string_value(json_array_get(names, j)) : one;
                        int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
                        if (nr == __NR_SCMP_ERROR || nr < 0)
                                continue; /* not on this architecture or this libseccomp */
                        int e = seccomp_rule_add_array(ctx, act, nr, n_args, args);
                        if (e < 0)
                                return berr_set(err, -e, "adding seccomp rule for syscall %s: %s", name,
                                                strerror(-e));
                }
        }
        return 0;
}

int rt_seccomp_check_profile(const char *text, BerthError **err)
{
        json_error_t jerr;
        _cleanup_json_ json_t *p = json_loads(text, 0, &jerr);
        if (!json_is_object(p))
                return berr_set(err, EINVAL, "decoding seccomp profile failed: %s", p ? "not an object" : jerr.text);
        uint32_t dflt;
        if (parse_action(json_str(p, "defaultAction"), json_object_get(p, "defaultErrnoRet"), EPERM, &dflt) < 0)
                return berr_set(err, EINVAL, "unsupported defaultAction: %s", json_str(p, "defaultAction") ?: "(none)");
        return apply_profile(NULL, p, NULL, false, dflt, EPERM, err);
}

/* The filter context of a profile for a process holding caps; NULL and err set on failure. */
static scmp_filter_ctx profile_ctx(const char *profile, char *const *caps, bool all_caps, int *ret, BerthError **err)
{
        _cleanup_json_ json_t *p = NULL;
        if (profile) {
                p = json_loads(profile, 0, NULL);
                if (!json_is_object(p)) {
                        *ret = berr_set(err, EINVAL, "decoding seccomp profile failed");
                        return NULL;
                }
        } else
                p = rt_seccomp_default_profile();
        json_t *de = json_object_get(p, "defaultErrnoRet");
        int dflt_errno = json_is_integer(de) ? (int) json_integer_value(de) : EPERM;
        uint32_t dflt;
        if (parse_action(json_str(p, "defaultAction"), de, EPERM, &dflt) < 0) {
                *ret = berr_set(err, EINVAL, "unsupported defaultAction");
                return NULL;
        }
        scmp_filter_ctx ctx = seccomp_init(dflt);
        if (!ctx) {
                *ret = -ENOMEM;
                return NULL;
        }
        int r = apply_profile(ctx, p, caps, all_caps, dflt, dflt_errno, err);
        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0) {
                seccomp_release(ctx);
                *ret = r;
                return NULL;
        }
        return ctx;
}

int rt_seccomp_load(const char *profile, char *const *caps, bool all_caps, BerthError **err)
{
        int r = 0;
        scmp_filter_ctx ctx = profile_ctx(profile, caps, all_caps, &r, err);
        if (!ctx)
                return r;
        r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

/* The compiled program as hex (the monitor is static and has no base64 codec). */
static char *compile_hex(char *const *caps, bool all_caps)
{
        int r = 0;
        scmp_filter_ctx ctx = profile_ctx(NULL, caps, all_caps, &r, NULL);
        if (!ctx)
                return NULL;
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        off_t len = r == 0 ? lseek(fd, 0, SEEK_END) : -1;
        if (len <= 0 || len % (off_t) sizeof(struct sock_filter) || len / 8 > BPF_MAXINSNS)
                return NULL;
        _cleanup_free_ unsigned char *buf = xmalloc((size_t) len);
        if (pread(fd, buf, (size_t) len, 0) != len)
                return NULL;
        char *hex = xmalloc((size_t) len * 2 + 1);
        for (off_t i = 0; i < len; i++)
                snprintf(hex + i * 2, 3, "%02x", buf[i]);
        return hex;
}

/* Compiling the default profile costs milliseconds of libseccomp's time; it depends only on the
 * capability set (and this kernel and architecture), so berthd compiles it once per set. */
#define BPF_CACHE_MAX 16
static pthread_mutex_t bpf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        char *key, *hex;
} bpf_cache[BPF_CACHE_MAX];

char *rt_seccomp_default_bpf(char *const *caps, bool all_caps)
{
        _cleanup_free_ char *key = NULL;
        if (all_caps)
                key = xstrdup("ALL");
        else if (!caps)
                key = xstrdup("default");
        else {
                size_t n = 5;
                for (size_t i = 0; caps[i]; i++)
                        n += strlen(caps[i]) + 1;
                key = xmalloc(n);
                strcpy(key, "set:");
                for (size_t i = 0; caps[i]; i++) {
                        strcat(key, caps[i]);
                        strcat(key, ",");
                }
        }
        pthread_mutex_lock(&bpf_lock);
        for (size_t i = 0; i < BPF_CACHE_MAX && bpf_cache[i].key; i++)
                if (streq(bpf_cache[i].key, key)) {
                        char *hex = xstrdup(bpf_cache[i].hex);
                        pthread_mutex_unlock(&bpf_lock);
                        return hex;
                }
        pthread_mutex_unlock(&bpf_lock);
        char *hex = compile_hex(caps ? caps : (char *const *) rt_default_capabilities, all_caps);
        if (!hex)
                return NULL;
        pthread_mutex_lock(&bpf_lock);
        for (size_t i = 0; i < BPF_CACHE_MAX; i++) {
                if (bpf_cache[i].key && streq(bpf_cache[i].key, key))
                        break; /* another thread was first */
                if (!bpf_cache[i].key) {
                        bpf_cache[i].key = TAKE_PTR(key);
                        bpf_cache[i].hex = xstrdup(hex);
                        break;
                }
        }
        pthread_mutex_unlock(&bpf_lock);
        return hex;
}

static int unhex(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int rt_seccomp_load_bpf(const char *hex)
{
        size_t n = strlen(hex);
        if (n == 0 || n % (2 * sizeof(struct sock_filter)) || n / 16 > BPF_MAXINSNS)
                return -EINVAL;
        _cleanup_free_ unsigned char *buf = xmalloc(n / 2);
        for (size_t i = 0; i < n / 2; i++) {
                int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                buf[i] = (unsigned char) (hi << 4 | lo);
        }
        /* What seccomp_load() does with the attributes profile_ctx() sets: no flags, NNP untouched. */
        struct sock_fprog prog = { .len = (unsigned short) (n / 16), .filter = (struct sock_filter *) buf };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0 ? -errno : 0;
}

int rt_switch_user_and_caps(char *const *caps, bool all, uid_t uid, gid_t gid, const gid_t *groups,
                            size_t n_groups)
{
        int ncap = cap_max_bits();
        if (ncap <= 0 || ncap > 64)
                ncap = CAP_LAST_CAP + 1;
        bool keep[64] = { false };
        for (int i = 0; i < ncap; i++)
                keep[i] = all;
        for (size_t i = 0; !all && caps && caps[i]; i++)
                if (!strcasecmp(caps[i], "ALL")) /* CapAdd: ["ALL"] */
                        for (int k = 0; k < ncap; k++)
                                keep[k] = true;
        for (size_t i = 0; !all && caps && caps[i]; i++) {
                char lower[64];
                size_t k;
                for (k = 0; caps[i][k] && k < sizeof(lower) - 1; k++)
                        lower[k] = (char) tolower((unsigned char) caps[i][k]);
                lower[k] = 0;
                cap_value_t v;
                if (cap_from_name(lower, &v) == 0 && v >= 0 && v < ncap)
                        keep[v] = true;
        }
        /* A capability berth itself lacks (a host or outer container may have
         * dropped CAP_SYS_MODULE, say) cannot be granted: keep only what the
         * bounding set still holds, so privileged containers start anyway. */
        for (int i = 0; i < ncap; i++)
                if (keep[i] && prctl(PR_CAPBSET_READ, i, 0, 0, 0) != 1)
                        keep[i] = false;
        for (int i = 0; i < ncap; i++)
                if (!keep[i] && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return -errno;
        if (setgroups(n_groups, groups) < 0)
                return -errno;
        if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                return -errno;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return -errno;
        cap_t c = cap_init();
        if (!c)
                return -ENOMEM;
        cap_value_t list[64];
        int n = 0;
        for (int i = 0; i < ncap; i++)
                if (keep[i])
                        list[n++] = i;
        int r = 0;
        if (n > 0 && (cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) < 0 ||
                      cap_set_flag(c, CAP_PERMITTED, n, list, CAP_SET) < 0))
                r = -errno;
        if (r == 0 && cap_set_proc(c) < 0)
                r = -errno;
        cap_free(c);
        if (r == 0)
                (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        return r;
}
