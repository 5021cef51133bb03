/* berth-init: a minimal PID 1 for `--init` (like docker-init/tini): runs the command given after
 * "--" as a child, forwards signals to it, reaps every zombie, and exits with the child's status
 * (128+signal when it was killed). Static and dependency-free. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        int first = 1;
        if (first < argc && strcmp(argv[first], "--") == 0)
                first++;
        if (first >= argc) {
                fprintf(stderr, "berth-init: usage: berth-init [--] command [args...]\n");
                return 2;
        }
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        /* Outside a new pid namespace still adopt orphans, so they are reaped here. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        pid_t child = fork();
        if (child < 0) {
                perror("berth-init: fork");
                return 125;
        }
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                /* Own process group, with the terminal when there is one, like tini. */
                setpgid(0, 0);
                if (isatty(STDIN_FILENO)) {
                        signal(SIGTTOU, SIG_IGN);
                        tcsetpgrp(STDIN_FILENO, getpgrp());
                        signal(SIGTTOU, SIG_DFL);
                }
                execvp(argv[first], argv + first);
                int e = errno;
                fprintf(stderr, "berth-init: exec %s failed: %s\n", argv[first], strerror(e));
                _exit(e == ENOENT ? 127 : 126);
        }
        for (;;) {
                siginfo_t si;
                struct timespec ts = { 1, 0 };
                int sig = sigtimedwait(&all, &si, &ts);
                if (sig > 0 && sig != SIGCHLD)
                        kill(child, sig);
                int status;
                pid_t p;
                while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                        if (p == child) {
                                if (WIFSIGNALED(status))
                                        return 128 + WTERMSIG(status);
                                return WEXITSTATUS(status);
                        }
                if (p < 0 && errno == ECHILD)
                        return 0;
        }
}
