/* stop, kill, restart, pause/unpause, and the cgroup helpers they share. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "engine/events.h"

/* berthd only needs to find, signal and freeze a container's processes; the
 * monitor creates and configures the cgroups. v1 (one tree per controller)
 * and v2 (the unified tree) are both covered by trying every hierarchy. */
static const char *const cg_hier[] = {
        "pids", "memory", "freezer", "cpu,cpuacct", "cpu", "cpuacct", "blkio", "devices", "cpuset", "systemd",
        "unified", "",
};

static char *cg_dir(const char *hier, const char *id)
{
        const char *root = getenv("BERTH_CGROUP_ROOT");
        if (!root || !*root)
                root = "/sys/fs/cgroup";
        return *hier ? xasprintf("%s/%s/berth/%s", root, hier, id) : xasprintf("%s/berth/%s", root, id);
}

int container_cgroup_pids(const char *id, int **ret, size_t *ret_n)
{
        int *v = NULL;
        size_t n = 0;
        for (size_t h = 0; h < ELEMENTSOF(cg_hier); h++) {
                _cleanup_free_ char *d = cg_dir(cg_hier[h], id);
                _cleanup_free_ char *p = xasprintf("%s/cgroup.procs", d);
                _cleanup_free_ char *data = NULL;
                if (read_file(p, &data, NULL) < 0)
                        continue;
                char *save = NULL;
                for (char *t = strtok_r(data, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                        int pid = atoi(t);
                        bool have = false;
                        for (size_t i = 0; i < n; i++)
                                if (v[i] == pid)
                                        have = true;
                        if (have || pid <= 0)
                                continue;
                        int *nv = realloc(v, (n + 1) * sizeof(*v));
                        if (!nv)
                                break;
                        v = nv;
                        v[n++] = pid;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int freeze_v2(const char *id, bool frozen)
{
        const char *hiers[] = { "unified", "" };
        for (size_t h = 0; h < ELEMENTSOF(hiers); h++) {
                _cleanup_free_ char *d = cg_dir(hiers[h], id);
                _cleanup_free_ char *p = xasprintf("%s/cgroup.freeze", d);
                if (access(p, F_OK) < 0)
                        continue;
                FILE *f = fopen(p, "we");
                if (!f)
                        return -errno;
                fputs(frozen ? "1" : "0", f);
                if (fclose(f) != 0)
                        return -errno;
                return 0;
        }
        return -ENOENT;
}

static int write_plain(const char *path, const char *s)
{
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(s, f);
        return fclose(f) == 0 ? 0 : -errno;
}

static int freeze_plain(const char *id, bool frozen)
{
        _cleanup_free_ char *v1 = cg_dir("freezer", id);
        _cleanup_free_ char *v1f = xasprintf("%s/freezer.state", v1);
        if (access(v1f, F_OK) == 0) {
                const char *want = frozen ? "FROZEN" : "THAWED";
                int r = write_plain(v1f, want);
                if (r < 0)
                        return r;
                for (int i = 0; i < 200; i++) {
                        _cleanup_free_ char *s = NULL;
                        if (read_file(v1f, &s, NULL) == 0 && startswith(s, want))
                                return 0;
                        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
                }
                return -ETIMEDOUT;
        }
        return freeze_v2(id, frozen);
}

void container_kill_cgroup(const char *id, int sig)
{
        for (int round = 0; round < (sig == SIGKILL ? 10 : 1); round++) {
                _cleanup_free_ int *pids = NULL;
                size_t n = 0;
                container_cgroup_pids(id, &pids, &n);
                if (n == 0)
                        return;
                for (size_t i = 0; i < n; i++)
                        kill(pids[i], sig);
                if (sig == SIGKILL) {
                        freeze_plain(id, false);
                        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000L }, NULL);
                }
        }
}

void container_remove_cgroup(const char *id)
{
        for (size_t h = 0; h < ELEMENTSOF(cg_hier); h++) {
                _cleanup_free_ char *d = cg_dir(cg_hier[h], id);
                rmdir(d);
        }
}

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

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3". -EINVAL when unknown. */
int parse_signal(const char *s)
{
        if (!s || !*s)
                return -EINVAL;
        char *end;
        long n = strtol(s, &end, 10);
        if (!*end)
                return n > 0 && n <= SIGRTMAX ? (int) n : -EINVAL;
        const char *p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                if (!strcasecmp(p, signals[i].name))
                        return signals[i].sig;
        if (!strncasecmp(p, "RTMIN+", 6)) {
                int k = atoi(p + 6);
                if (SIGRTMIN + k <= SIGRTMAX)
                        return SIGRTMIN + k;
        }
        if (!strncasecmp(p, "RTMAX-", 6)) {
                int k = atoi(p + 6);
                if (SIGRTMAX - k >= SIGRTMIN)
                        return SIGRTMAX - k;
        }
        return -EINVAL;
}

static bool is_live(Container *c)
{
        return c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
}

/* Waits with e->lock held until the exit counter moves past seq. */
static bool wait_exit_locked(Engine *e, Container *c, uint64_t seq, int timeout_s)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_s;
        while (c->exit_seq == seq && !c->removed && is_live(c)) {
                if (pthread_cond_timedwait(&c->cond, &e->lock, &ts) == ETIMEDOUT)
                        break;
        }
        return c->exit_seq != seq || !is_live(c);
}

int container_stop_obj(Engine *e, Container *c, int timeout, bool has_timeout, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        if (c->status == CSTATUS_RESTARTING) {
                /* A pending restart is cancelled. */
                c->manually_stopped = true;
                c->status = CSTATUS_EXITED;
                container_save_state(e, c);
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&e->lock);
                return 0;
        }
        if (!is_live(c)) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EALREADY, "Container %s is not running", c->id);
        }
        c->manually_stopped = true;
        container_save_state(e, c);
        uint64_t seq = c->exit_seq;
        int pid = c->pid;
        bool paused = c->status == CSTATUS_PAUSED;
        json_t *cfg = container_cfg(c);
        const char *ss = json_str(cfg, "StopSignal");
        int sig = ss && *ss ? parse_signal(ss) : SIGTERM;
        if (sig <= 0)
                sig = SIGTERM;
        if (!has_timeout) {
                json_t *st = json_object_get(cfg, "StopTimeout");
                timeout = json_is_integer(st) ? (int) json_integer_value(st) : 10;
        }
        pthread_mutex_unlock(&e->lock);

        if (pid > 0)
                kill(pid, sig);
        events_container_kill(e, c, sig);
        if (paused)
                freeze_plain(c->id, false);
        pthread_mutex_lock(&e->lock);
        bool done = timeout >= 0 ? wait_exit_locked(e, c, seq, timeout) : wait_exit_locked(e, c, seq, 1 << 30);
        pthread_mutex_unlock(&e->lock);
        if (!done) {
                if (pid > 0)
                        kill(pid, SIGKILL);
                container_kill_cgroup(c->id, SIGKILL);
                events_container_kill(e, c, SIGKILL);
                pthread_mutex_lock(&e->lock);
                done = wait_exit_locked(e, c, seq, 30);
                pthread_mutex_unlock(&e->lock);
                if (!done)
                        return berr_set(err, EIO, "cannot stop container: %s: tried to kill container, but did not "
                                        "receive an exit event", c->id);
        }
        events_container(e, c, "stop", NULL);
        return 0;
}

int container_stop(Engine *e, const char *ref, int timeout, bool has_timeout, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        return container_stop_obj(e, c, timeout, has_timeout, err);
}

int container_kill(Engine *e, const char *ref, const char *signame, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        int sig = SIGKILL;
        if (signame && *signame) {
                sig = parse_signal(signame);
                if (sig < 0)
                        return berr_set(err, EINVAL, "Invalid signal: %s", signame);
        }
        pthread_mutex_lock(&e->lock);
        if (!is_live(c)) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, ENOTCONN, "Cannot kill container: %s: Container %s is not running", ref, c->id);
        }
        int pid = c->pid;
        bool paused = c->status == CSTATUS_PAUSED;
        uint64_t seq = c->exit_seq;
        c->manually_stopped = true;
        container_save_state(e, c);
        pthread_mutex_unlock(&e->lock);
        if (pid > 0 && kill(pid, sig) < 0 && errno != ESRCH)
                return berr_set(err, EIO, "Cannot kill container: %s: %m", ref);
        events_container_kill(e, c, sig);
        if (sig == SIGKILL) {
                if (paused)
                        freeze_plain(c->id, false);
                /* Like Docker, a SIGKILL returns once the container is gone. */
                pthread_mutex_lock(&e->lock);
                wait_exit_locked(e, c, seq, 10);
                pthread_mutex_unlock(&e->lock);
        }
        return 0;
}

int container_restart(Engine *e, const char *ref, int timeout, bool has_timeout, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        _cleanup_berr_ BerthError *serr = NULL;
        r = container_stop_obj(e, c, timeout, has_timeout, &serr);
        if (r < 0 && r != -EALREADY) {
                *err = TAKE_PTR(serr);
                return r;
        }
        /* A restart counts as a start, not as a manual stop. */
        r = container_start_obj(e, c, err);
        if (r == 0)
                events_container(e, c, "restart", NULL);
        return r;
}

int container_pause(Engine *e, const char *ref, bool pause, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        if (pause && c->status == CSTATUS_PAUSED)
                r = berr_set(err, EBUSY, "Container %s is already paused", c->id);
        else if (!pause && c->status != CSTATUS_PAUSED)
                r = berr_set(err, EBUSY, "Container %s is not paused", c->id);
        else if (!is_live(c))
                r = berr_set(err, EBUSY, "Container %s is not running", c->id);
        pthread_mutex_unlock(&e->lock);
        if (r < 0)
                return r;
        r = freeze_plain(c->id, pause);
        if (r < 0)
                return berr_set(err, EIO, "Cannot %s container %s: %s", pause ? "pause" : "unpause", c->id,
                                strerror(-r));
        pthread_mutex_lock(&e->lock);
        if (is_live(c))
                c->status = pause ? CSTATUS_PAUSED : CSTATUS_RUNNING;
        container_save_state(e, c);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
        events_container(e, c, pause ? "pause" : "unpause", NULL);
        return 0;
}
