/* Running an extra process (docker exec) inside a running container: it joins every namespace
 * of the container's process, its cgroup and root, resolves its user inside the container and
 * gets the container's capabilities and seccomp filter (all capabilities, no filter, when
 * privileged).
 *
 * The pid namespace only applies to children, so the monitor forks a helper that joins the
 * cgroup and the namespaces and then clones the real process with CLONE_PARENT: the process is
 * the monitor's child (SIGCHLD, waitpid) and PID N inside the container. The helper and the
 * process report over a SOCK_SEQPACKET pair:
 *   helper -> monitor   "M" with the pty master (tty only), then "P<pid>" (host pid), then exits
 *   process -> monitor  "E<code> <text>" / "U<code> <text>" on failure; EOF (close-on-exec) once
 *                       execve worked. */
#include "runtime.h"
#include "runtime/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "basic/util.h"
#include "runtime/user.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SETUP_TIMEOUT_MS 10000

static _noreturn_ _printf_(3, 4) void xfail(int sock, int code, const char *fmt, ...)
{
        char buf[2048];
        int n = snprintf(buf, sizeof(buf), "E%d ", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf + n, sizeof(buf) - (size_t) n, fmt, ap);
        va_end(ap);
        (void) !send(sock, buf, strlen(buf), MSG_NOSIGNAL);
        _exit(code);
}

static const struct {
        const char *name;
        int type;
} ns_list[] = {
        /* user first: the others are owned by it */
        { "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
        { "cgroup", CLONE_NEWCGROUP }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
};
#define N_NS ELEMENTSOF(ns_list)

/* The executed process, in the container's namespaces. Never returns. */
static _noreturn_ void exec_child(const RtSpec *cs, const RtExecSpec *x, int sock, int slave, const int stdio[3])
{
        if (setsid() < 0)
                xfail(sock, 126, "setsid: %s", go_strerror(errno));
        if (x->tty) {
                if (ioctl(slave, TIOCSCTTY, 0) < 0)
                        xfail(sock, 126, "setting the controlling terminal: %s", go_strerror(errno));
                for (int i = 0; i < 3; i++)
                        if (dup2(slave, i) < 0)
                                xfail(sock, 126, "dup2: %s", go_strerror(errno));
                if (slave > 2)
                        close(slave);
        } else {
                for (int i = 0; i < 3; i++)
                        if (dup3(stdio[i], i, 0) < 0 && stdio[i] != i)
                                xfail(sock, 126, "dup2: %s", go_strerror(errno));
        }
        umask(022);
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        _cleanup_berr_ BerthError *uerr = NULL;
        (void) read_file("/etc/passwd", &passwd, NULL);
        (void) read_file("/etc/group", &group, NULL);
        RtExecUser u;
        const char *user = x->user && *x->user ? x->user : cs->user;
        if (rt_user_resolve(user, passwd, group, &u, &uerr) < 0) {
                char m[1024];
                snprintf(m, sizeof(m), "U126 %s", uerr ? uerr->msg : "unable to resolve the user");
                (void) !send(sock, m, strlen(m), MSG_NOSIGNAL);
                _exit(126);
        }
        if (rt_user_add_groups(&u, cs->group_add, group, &uerr) < 0) {
                char m[1024];
                snprintf(m, sizeof(m), "U126 %s", uerr ? uerr->msg : "unable to resolve the groups");
                (void) !send(sock, m, strlen(m), MSG_NOSIGNAL);
                _exit(126);
        }
        size_t n_groups;
        gid_t *groups = rt_user_groups(&u, &n_groups);
        char **env = rt_user_env(x->env ? x->env : cs->env, &u);
        const char *cwd = x->cwd && *x->cwd ? x->cwd : cs->cwd && *cs->cwd ? cs->cwd : "/";
        if (chdir(cwd) < 0)
                xfail(sock, 126, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd,
                      go_strerror(errno));
        _cleanup_free_ char *exe = NULL;
        _cleanup_berr_ BerthError *lerr = NULL;
        int r = rt_lookup_path(x->args[0], strv_env_get(env, "PATH"), &exe, &lerr);
        if (r < 0)
                xfail(sock, 126, "%s", lerr ? lerr->msg : "exec: lookup failed");
        bool privileged = x->privileged || cs->privileged;
        if ((r = rt_spec_apply_rlimits(cs)) < 0)
                xfail(sock, 126, "setting rlimits: %s", go_strerror(-r));
        char *const *caps = cs->capabilities ? cs->capabilities : (char *const *) rt_default_capabilities;
        _cleanup_berr_ BerthError *scerr = NULL;
        if (cs->seccomp && !privileged && (r = (cs->seccomp_bpf ? rt_seccomp_load_bpf(cs->seccomp_bpf)
                                                       : rt_seccomp_load(cs->seccomp_profile, caps, cs->all_capabilities, &scerr))) < 0)
                xfail(sock, 126, "loading seccomp filter: %s", scerr ? scerr->msg : go_strerror(-r));
        r = rt_switch_user_and_caps(caps, privileged || cs->all_capabilities, u.uid, u.gid, groups, n_groups);
        if (r == 0 && cs->no_new_privileges && !privileged && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = -errno;
        if (r < 0)
                xfail(sock, 126, "unable to apply caps: %s", go_strerror(-r));
        (void) syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL);
        execve(exe, x->args, env);
        int e = errno;
        xfail(sock, 126, "exec: \"%s\": %s", x->args[0], go_strerror(e));
}

/* The helper: joins the cgroup and the namespaces, makes the pty, clones the process. */
static _noreturn_ void exec_helper(const RtSpec *cs, const RtCgroupOps *cg, const RtExecSpec *x, int sock,
                                   const int *nsfd, const int stdio[3])
{
        int r;
        /* Before anything of the container can see us: not dumpable (no ptrace, no pidfd_getfd by
         * the container's root) and none of the monitor's descriptors (its listening socket, berthd's
         * connections, other containers' pipes), only the setup channel, namespaces and stdio. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        int keep[N_NS + 4] = { sock, stdio[0], stdio[1], stdio[2] };
        for (size_t i = 0; i < N_NS; i++)
                keep[4 + i] = nsfd[i];
        rt_close_fds_except(keep, ELEMENTSOF(keep));
        if (cg && cs->cgroup && *cs->cgroup && (r = cg->add_pid(cs->cgroup, getpid())) < 0)
                xfail(sock, 126, "joining cgroup %s: %s", cs->cgroup, go_strerror(-r));
        for (size_t i = 0; i < N_NS; i++)
                if (nsfd[i] >= 0 && setns(nsfd[i], ns_list[i].type) < 0)
                        xfail(sock, 126, "joining the %s namespace: %s", ns_list[i].name, go_strerror(errno));
        int slave = -1;
        if (x->tty) {
                /* The container's own devpts instance, now that we are in its mount namespace. */
                int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0)
                        xfail(sock, 126, "open /dev/ptmx: %s", go_strerror(errno));
                int unlock = 0;
                if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
                    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0)
                        xfail(sock, 126, "allocating a pty: %s", go_strerror(errno));
                if (x->h > 0 && x->w > 0) {
                        struct winsize ws = { .ws_row = (unsigned short) x->h, .ws_col = (unsigned short) x->w };
                        (void) ioctl(master, TIOCSWINSZ, &ws);
                }
                if (rt_send_fd(sock, "M", master) < 0)
                        _exit(126);
                close(master);
        }
        /* CLONE_PARENT: the monitor is the parent, and reaps it. */
        pid_t pid = (pid_t) syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0)
                xfail(sock, 126, "clone: %s", go_strerror(errno));
        if (pid == 0)
                exec_child(cs, x, sock, slave, stdio);
        char msg[32];
        snprintf(msg, sizeof(msg), "P%d", (int) pid);
        (void) !send(sock, msg, strlen(msg), MSG_NOSIGNAL);
        _exit(0);
}

static int exec_error(const char *msg, int *exit_code, BerthError **err)
{
        *exit_code = 126;
        const char *sp = strchr(msg, ' ');
        const char *text = sp ? sp + 1 : msg;
        if (msg[0] == 'U')
                return berr_set(err, EIO, "%s", text);
        return berr_set(err, EIO, RT_EXEC_ERROR_PREFIX "%s" RT_ERROR_SUFFIX, text);
}

int rt_exec_create(const RtSpec *cs, pid_t container_pid, const RtCgroupOps *cg, const RtExecSpec *x,
                   RtExecProcess *p, int *exit_code, BerthError **err)
{
        *p = (RtExecProcess){ .pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
        *exit_code = 126;
        if (!x->args || !x->args[0])
                return berr_set(err, EINVAL, "No exec command specified");
        int nsfd[N_NS];
        for (size_t i = 0; i < N_NS; i++)
                nsfd[i] = -1;
        int r = 0, sock = -1, master = -1;
        _cleanup_close_ int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        for (size_t i = 0; i < N_NS; i++) {
                char path[64], self[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) container_pid, ns_list[i].name);
                snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_list[i].name);
                struct stat a, b;
                if (stat(path, &a) < 0) {
                        if (errno == ENOENT && i == 0)
                                continue; /* no user namespaces on this kernel */
                        r = berr_set(err, errno, RT_EXEC_ERROR_PREFIX "container process %d: %s" RT_ERROR_SUFFIX,
                                     (int) container_pid, go_strerror(errno));
                        goto out;
                }
                /* Joining our own namespace is a no-op, and for user namespaces an error. */
                if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        continue;
                if ((nsfd[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                        r = berr_set(err, errno, RT_EXEC_ERROR_PREFIX "open %s: %s" RT_ERROR_SUFFIX, path,
                                     go_strerror(errno));
                        goto out;
                }
        }

        int pp[2];
        if (!x->tty) {
                if (x->open_stdin) {
                        if (pipe2(pp, O_CLOEXEC) < 0)
                                goto fail_errno;
                        in_r = pp[0];
                        in_w = pp[1];
                } else if ((in_r = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                        goto fail_errno;
                if (pipe2(pp, O_CLOEXEC) < 0)
                        goto fail_errno;
                out_r = pp[0];
                out_w = pp[1];
                if (pipe2(pp, O_CLOEXEC) < 0)
                        goto fail_errno;
                err_r = pp[0];
                err_w = pp[1];
        }
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                goto fail_errno;
        pid_t helper = fork();
        if (helper < 0) {
                safe_close(sp[0]);
                safe_close(sp[1]);
                goto fail_errno;
        }
        if (helper == 0) {
                close(sp[0]);
                int stdio[3] = { in_r, out_w, err_w };
                exec_helper(cs, cg, x, sp[1], nsfd, stdio);
        }
        close(sp[1]);
        sock = sp[0];
        char buf[2048];
        ssize_t n = rt_recv_msg(sock, buf, sizeof(buf), &master, SETUP_TIMEOUT_MS);
        if (n > 0 && buf[0] == 'M') {
                if (master < 0)
                        snprintf(buf, sizeof(buf), "E126 no pty received");
                else
                        n = rt_recv_msg(sock, buf, sizeof(buf), NULL, SETUP_TIMEOUT_MS);
        }
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
        if (n <= 0 || buf[0] != 'P') {
                if (n <= 0)
                        snprintf(buf, sizeof(buf), "E126 exec setup process died");
                master = safe_close(master);
                r = exec_error(buf, exit_code, err);
                goto out;
        }
        pid_t pid = (pid_t) atoi(buf + 1);
        /* The helper is gone; our end sees EOF once the process's execve closed its copy. */
        n = rt_recv_msg(sock, buf, sizeof(buf), NULL, SETUP_TIMEOUT_MS);
        if (n != 0) {
                if (n < 0) {
                        kill(pid, SIGKILL);
                        snprintf(buf, sizeof(buf), "E126 exec setup: %s", go_strerror((int) -n));
                }
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                master = safe_close(master);
                r = exec_error(buf, exit_code, err);
                goto out;
        }
        p->pid = pid;
        if (x->tty) {
                p->stdout_fd = TAKE_FD(master);
                p->stdin_fd = x->open_stdin ? fcntl(p->stdout_fd, F_DUPFD_CLOEXEC, 3) : -1;
        } else {
                p->stdin_fd = x->open_stdin ? TAKE_FD(in_w) : -1;
                p->stdout_fd = TAKE_FD(out_r);
                p->stderr_fd = TAKE_FD(err_r);
        }
        *exit_code = 0;
        r = 0;
        goto out;

fail_errno:
        r = berr_set(err, errno, RT_EXEC_ERROR_PREFIX "%s" RT_ERROR_SUFFIX, go_strerror(errno));
out:
        safe_close(sock);
        safe_close(master);
        for (size_t i = 0; i < N_NS; i++)
                safe_close(nsfd[i]);
        return r;
}
