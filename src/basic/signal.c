#include "signal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

static const struct {
        const char *name;
        int sig;
} signals[] = {
        { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT }, { "ILL", SIGILL },     { "TRAP", SIGTRAP },
        { "ABRT", SIGABRT }, { "IOT", SIGIOT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },     { "KILL", SIGKILL },
        { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },   { "ALRM", SIGALRM },
        { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },   { "TTOU", SIGTTOU }, { "URG", SIGURG },     { "XCPU", SIGXCPU },
        { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
        { "POLL", SIGPOLL }, { "PWR", SIGPWR },     { "SYS", SIGSYS },
};

/* The decimal number that is all of s, 1..max; -1 otherwise. */
static int small_number(const char *s, int max)
{
        if (*s < '0' || *s > '9')
                return -1;
        char *end;
        long n = strtol(s, &end, 10);
        return *end || n < 1 || n > max ? -1 : (int) n;
}

int signal_from_string(const char *s)
{
        if (!s || !*s)
                return -EINVAL;
        int n = small_number(s, SIGRTMAX);
        if (n > 0)
                return n;
        const char *p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                if (!strcasecmp(p, signals[i].name))
                        return signals[i].sig;
        /* Docker's map names RTMIN, RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1 and RTMAX */
        if (!strcasecmp(p, "RTMIN"))
                return SIGRTMIN;
        if (!strcasecmp(p, "RTMAX"))
                return SIGRTMAX;
        if (!strncasecmp(p, "RTMIN+", 6) && (n = small_number(p + 6, 15)) > 0)
                return SIGRTMIN + n;
        if (!strncasecmp(p, "RTMAX-", 6) && (n = small_number(p + 6, 14)) > 0)
                return SIGRTMAX - n;
        return -EINVAL;
}
