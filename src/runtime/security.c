/* Capabilities (libcap) and the default seccomp profile (libseccomp) of a container process. */
#include <ctype.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/runtime.h"

/* Syscalls Docker's default profile refuses to a container without extra capabilities. */
static const char *const blocked_syscalls[] = {
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
        "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy",
        "init_module", "ioperm", "iopl", "kexec_file_load", "kexec_load", "keyctl",
        "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount", "move_pages",
        "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
        "query_module", "quotactl", "quotactl_fd", "reboot",
        "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon", "sysfs",
        "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
        NULL,
};

int rt_seccomp_load(void)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; blocked_syscalls[i] && r == 0; i++) {
                int nr = seccomp_syscall_resolve_name(blocked_syscalls[i]);
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        }
        /* New namespaces need CAP_SYS_ADMIN in Docker's profile; clone3 says ENOSYS so libc falls
         * back to clone, whose flags a filter can see. */
        static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                                  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
        for (size_t i = 0; i < ELEMENTSOF(ns_flags) && r == 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r == 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
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
