/* stop, kill, restart, pause/unpause, and the cgroup helpers they share. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "container.h"
#include "engine/health.h"
#include "state/events.h"
#include "runtime/cgroup.h"

/* The monitor creates and configures a container's cgroup; berthd only
 * lists, signals, freezes and removes it, through the runtime's ops table
 * (cgroup v1 or v2, whichever this host has). */
static char *cg_rel(const char *id)
{
        return xasprintf("berth/%s", id);
}

int container_cgroup_pids(const char *id, int **ret, size_t *ret_n)
{
        _cleanup_free_ char *rel = cg_rel(id);
        pid_t *pids = NULL;
        size_t n = 0;
        int r = rt_cgroup_ops()->list_pids(rel, &pids, &n);
        if (r < 0) {
                *ret = NULL;
                *ret_n = 0;
                return r == -ENOENT ? 0 : r;
        }
        *ret = pids;
        *ret_n = n;
        return 0;
}

static int freeze_plain(const char *id, bool frozen)
{
        _cleanup_free_ char *rel = cg_rel(id);
        return rt_cgroup_ops()->freeze(rel, frozen);
}

void container_kill_cgroup(const char *id, int sig)
{
        _cleanup_free_ char *rel = cg_rel(id);
        rt_cgroup_kill_all(rt_cgroup_ops(), rel, sig);
}

void container_remove_cgroup(const char *id)
{
        _cleanup_free_ char *rel = cg_rel(id);
        rt_cgroup_ops()->remove(rel);
}

/* Every signal berth sends a container is logged first: the exit watcher
 * logs "die" as soon as the process is gone, and "kill" must precede it. */
static int signal_container(Engine *e, Container *c, int pid, int sig)
{
        events_container_kill(e, c, sig);
        return pid > 0 ? kill(pid, sig) : 0;
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

int container_stop_obj(Engine *e, Container *c, int timeout, bool has_timeout, int stop_sig, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        if (c->status == CSTATUS_RESTARTING) {
                /* A pending restart is cancelled. */
                bool was_stopped = c->manually_stopped;
                c->manually_stopped = true;
                c->status = CSTATUS_EXITED;
                if (container_save_state(e, c) < 0) {
                        c->manually_stopped = was_stopped;
                        c->status = CSTATUS_RESTARTING;
                        pthread_mutex_unlock(&e->lock);
                        return berr_set(err, EIO, "cannot stop container %s: cannot record it in the state store",
                                        c->id);
                }
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&e->lock);
                return 0;
        }
        if (!is_live(c)) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EALREADY, "Container %s is not running", c->id);
        }
        bool was_stopped = c->manually_stopped;
        c->manually_stopped = true;
        if (container_save_state(e, c) < 0) {
                c->manually_stopped = was_stopped;
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "cannot stop container %s: cannot record it in the state store", c->id);
        }
        uint64_t seq = c->exit_seq;
        int pid = c->pid;
        bool paused = c->status == CSTATUS_PAUSED;
        json_t *cfg = container_cfg(c);
        const char *ss = json_str(cfg, "StopSignal");
        int sig = stop_sig > 0 ? stop_sig : ss && *ss ? signal_from_string(ss) : SIGTERM;
        if (sig <= 0)
                sig = SIGTERM;
        if (!has_timeout) {
                json_t *st = json_object_get(cfg, "StopTimeout");
                timeout = json_is_integer(st) ? (int) json_integer_value(st) : 10;
        }
        pthread_mutex_unlock(&e->lock);

        signal_container(e, c, pid, sig);
        if (paused)
                freeze_plain(c->id, false);
        pthread_mutex_lock(&e->lock);
        bool done = timeout >= 0 ? wait_exit_locked(e, c, seq, timeout) : wait_exit_locked(e, c, seq, 1 << 30);
        pthread_mutex_unlock(&e->lock);
        if (!done) {
                signal_container(e, c, pid, SIGKILL);
                container_kill_cgroup(c->id, SIGKILL);
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

int container_stop(Engine *e, const char *ref, int timeout, bool has_timeout, int sig, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        return container_stop_obj(e, c, timeout, has_timeout, sig, err);
}

int container_kill(Engine *e, const char *ref, const char *signame, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        int sig = SIGKILL;
        if (signame && *signame) {
                sig = signal_from_string(signame);
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
        bool was_stopped = c->manually_stopped;
        c->manually_stopped = true;
        if (container_save_state(e, c) < 0) {
                c->manually_stopped = was_stopped;
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "Cannot kill container: %s: cannot record it in the state store", ref);
        }
        pthread_mutex_unlock(&e->lock);
        if (signal_container(e, c, pid, sig) < 0 && errno != ESRCH)
                return berr_set(err, EIO, "Cannot kill container: %s: %m", ref);
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

int container_restart(Engine *e, const char *ref, int timeout, bool has_timeout, int sig, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        _cleanup_berr_ BerthError *serr = NULL;
        r = container_stop_obj(e, c, timeout, has_timeout, sig, &serr);
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
        ContainerStatus before = c->status;
        if (is_live(c))
                c->status = pause ? CSTATUS_PAUSED : CSTATUS_RUNNING;
        if (container_save_state(e, c) < 0) {
                c->status = before;
                pthread_mutex_unlock(&e->lock);
                /* back to what the store still says */
                freeze_plain(c->id, !pause);
                return berr_set(err, EIO, "Cannot %s container %s: cannot record it in the state store",
                                pause ? "pause" : "unpause", c->id);
        }
        /* no probes while paused; dockerd reports that as unhealthy until the next result */
        if (pause && c->health)
                c->health->status = HEALTH_UNHEALTHY;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
        events_container(e, c, pause ? "pause" : "unpause", NULL);
        return 0;
}
