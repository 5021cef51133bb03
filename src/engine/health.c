/* The healthcheck scheduler: one thread for every container's probes. It keeps a job per
 * container with a healthcheck, waits in poll() for the earliest due probe or for the output of
 * the probes in flight, and runs each probe as an exec through the container's monitor (the
 * monitor's "exec" op, as docker exec does: the container's namespaces, cgroup, user and
 * environment), without a thread per probe. Engine.lock is taken only to read the container and
 * to record a result, never while a probe runs (docs/health.md). */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/exec.h"
#include "engine/health.h"

#define START_TIMEOUT_NS (30LL * 1000000000LL) /* dockerd's bound on starting the probe's exec */
#define KILL_GRACE_NS (5LL * 1000000000LL)     /* after the kill of a probe that timed out */
#define SAVE_EVERY_NS (1LL * 1000000000LL)     /* results that change no status are written at most this often */

typedef enum JobState {
        JOB_IDLE,     /* waiting for the next probe */
        JOB_STARTING, /* the exec request is sent; waiting for the monitor's {"pid"} */
        JOB_RUNNING,  /* relaying the probe's output */
        JOB_KILLED,   /* timed out and killed; draining until the monitor closes */
} JobState;

typedef struct Job {
        Container *c;       /* referenced */
        uint64_t start_seq; /* the run of the container this schedule belongs to */
        bool cancelled;     /* guarded by the scheduler's lock; everything else is the thread's own */
        struct Job *next;

        HealthSettings s;
        JobState st;
        int64_t due; /* IDLE: the next probe; otherwise the deadline of the current step */
        int64_t saved_at; /* when a result was last written to the store */
        int fd, pidfd, pid;
        int64_t probe_start;
        char exec_id[65];
        char *cmdline;
        char line[4096];
        size_t line_len;
        unsigned char hdr[8];
        size_t hdr_have, left;
        int stream;
        char out[HEALTH_OUTPUT_MAX];
        size_t out_len;
        bool truncated, timed_out;
        char exitbuf[128];
        size_t exit_len;
        int exit_code; /* -1 until the monitor's exit frame */
} Job;

struct HealthSched {
        pthread_mutex_t lock; /* leaf: the job list and each job's cancelled flag */
        Job *jobs;
        bool started, stopping;
        pthread_t thread;
        int wake[2];
};

static void wake(struct HealthSched *h)
{
        char b = 1;
        ssize_t r = write(h->wake[1], &b, 1);
        (void) r; /* a full pipe already wakes the thread */
}

/* ---- one probe ---- */

static void job_close(Job *j)
{
        if (j->fd >= 0)
                close(j->fd);
        if (j->pidfd >= 0)
                close(j->pidfd);
        j->fd = j->pidfd = -1;
        j->pid = 0;
        free(j->cmdline);
        j->cmdline = NULL;
}

static void job_free(Job *j)
{
        job_close(j);
        container_unref(j->c);
        free(j);
}

/* The probe ended (exit, timeout, failure to start): its exec_die, then the result. */
static void job_finish(Engine *e, Job *j, const char *error)
{
        int64_t end = now_ns();
        if (j->st != JOB_STARTING) { /* an exec that did not start has no exec_die in dockerd either */
                _cleanup_free_ char *code = xasprintf("%d", j->exit_code < 0 ? 137 : j->exit_code);
                events_container(e, j->c, "exec_die", json_pack("{s:s,s:s}", "execID", j->exec_id, "exitCode", code));
        }
        _cleanup_free_ char *out = health_output_string(j->out, j->out_len, j->truncated);
        HealthResult res = { .start = j->probe_start, .end = end, .exit_code = j->exit_code };
        if (j->timed_out) {
                res.exit_code = -1;
                res.output = health_timeout_message(j->s.timeout, out);
        } else if (error) {
                res.exit_code = -1;
                res.output = xstrdup(error);
        } else if (j->exit_code < 0) {
                res.output = xasprintf("healthcheck for container %s has no exit code", j->c->id);
        } else
                res.output = TAKE_PTR(out);
        job_close(j);
        j->st = JOB_IDLE;

        pthread_mutex_lock(&e->lock);
        Container *c = j->c;
        /* A result of a run that ended, or of a pause, is dropped, as dockerd drops it when the
         * schedule was stopped meanwhile. */
        if (!c->removed && c->status == CSTATUS_RUNNING && c->start_seq == j->start_seq && c->health) {
                bool changed = health_record(c->health, &j->s, c->started_at, &res);
                /* A 1 ms interval must not mean a write per millisecond: a new status is written at
                 * once, other results at most once a second (an exit or stop writes the rest). */
                if (changed || end - j->saved_at >= SAVE_EVERY_NS) {
                        container_save_fact(e, c, "a health check result");
                        j->saved_at = end;
                }
                if (changed) {
                        _cleanup_free_ char *action =
                                xasprintf("health_status: %s", health_status_string(c->health->status));
                        events_container_locked(e, c, action, NULL);
                }
                j->due = end + health_next_interval(&j->s, c->health->status, c->started_at, end);
        } else
                j->due = end + j->s.interval;
        pthread_mutex_unlock(&e->lock);
        free(res.output);
}

/* Starts a due probe. Returns false when the schedule is over (the container stopped). */
static bool job_begin(Engine *e, Job *j)
{
        int64_t now = now_ns();
        pthread_mutex_lock(&e->lock);
        Container *c = j->c;
        bool over = c->removed || c->start_seq != j->start_seq ||
                    (c->status != CSTATUS_RUNNING && c->status != CSTATUS_PAUSED) || !c->health;
        bool paused = c->status == CSTATUS_PAUSED;
        json_t *cfg = container_cfg(c);
        _cleanup_json_ json_t *argv = over || paused ? NULL
                                                     : health_probe_argv(json_object_get(cfg, "Healthcheck"),
                                                                         json_object_get(cfg, "Shell"));
        _cleanup_free_ char *user = xstrdup(json_str(cfg, "User") ?: "");
        _cleanup_free_ char *cwd = xstrdup(json_str(cfg, "WorkingDir") ?: "");
        HealthStatus status = c->health ? c->health->status : HEALTH_STARTING;
        int64_t started = c->started_at;
        pthread_mutex_unlock(&e->lock);
        if (over)
                return false;
        if (paused) {
                /* dockerd stops probing while paused and starts again at unpause */
                j->due = now + health_next_interval(&j->s, status, started, now);
                return true;
        }
        j->probe_start = now;
        j->out_len = j->line_len = j->hdr_have = j->left = j->exit_len = 0;
        j->truncated = j->timed_out = false;
        j->exit_code = -1;
        random_hex_id(j->exec_id);
        if (!argv) {
                _cleanup_free_ char *msg = xasprintf("healthcheck for container %s has no command", c->id);
                j->st = JOB_STARTING;
                job_finish(e, j, msg);
                return true;
        }
        _cleanup_json_ json_t *env = container_process_env(e, c, false);
        _cleanup_json_ json_t *req = exec_monitor_request(argv, env, user, cwd, false, false, true, true, false);
        _cleanup_free_ char *line = json_dump(req);
        j->cmdline = json_strv_join(argv, " ");
        _cleanup_free_ char *action = xasprintf("exec_create: %s", j->cmdline);
        events_container(e, c, action, json_pack("{s:s}", "execID", j->exec_id));
        j->st = JOB_STARTING;
        j->due = now + START_TIMEOUT_NS;
        j->fd = container_monitor_connect(e, c->id);
        if (j->fd < 0 || loop_send(j->fd, line, strlen(line)) < 0 || loop_send(j->fd, "\n", 1) < 0) {
                _cleanup_free_ char *msg = xasprintf("Container %s is not running", c->id);
                job_finish(e, j, msg);
                return true;
        }
        fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
        /* dockerd reports the start before the runtime answers, so a probe that cannot start has one too */
        free(action);
        action = xasprintf("exec_start: %s", j->cmdline);
        events_container(e, c, action, json_pack("{s:s}", "execID", j->exec_id));
        return true;
}

/* Docker's stream frames: stdout and stderr into the output (first HEALTH_OUTPUT_MAX bytes),
 * stream 3 the exit code. */
static void job_frames(Job *j, const char *buf, size_t n)
{
        for (size_t i = 0; i < n;) {
                if (j->left == 0) {
                        j->hdr[j->hdr_have++] = (unsigned char) buf[i++];
                        if (j->hdr_have < 8)
                                continue;
                        j->hdr_have = 0;
                        j->stream = j->hdr[0];
                        j->left = ((size_t) j->hdr[4] << 24) | ((size_t) j->hdr[5] << 16) |
                                  ((size_t) j->hdr[6] << 8) | j->hdr[7];
                        continue;
                }
                size_t take = n - i < j->left ? n - i : j->left;
                if (j->stream == 3) {
                        size_t room = sizeof(j->exitbuf) - 1 - j->exit_len;
                        size_t k = take < room ? take : room;
                        memcpy(j->exitbuf + j->exit_len, buf + i, k);
                        j->exit_len += k;
                        if (take == j->left) {
                                j->exitbuf[j->exit_len] = 0;
                                _cleanup_json_ json_t *x = json_loads(j->exitbuf, 0, NULL);
                                j->exit_code = (int) json_int(x, "ExitCode", -1);
                                j->exit_len = 0;
                        }
                } else {
                        size_t room = sizeof(j->out) - j->out_len;
                        size_t k = take < room ? take : room;
                        memcpy(j->out + j->out_len, buf + i, k);
                        j->out_len += k;
                        if (k < take)
                                j->truncated = true;
                }
                i += take;
                j->left -= take;
        }
}

static int pidfd_open_(int pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* The monitor's reply line: {"pid":P} or {"error":...}. */
static void job_reply(Engine *e, Job *j, const char *rest, size_t rest_len)
{
        _cleanup_json_ json_t *r = json_loads(j->line, 0, NULL);
        if (!json_is_object(r) || json_str(r, "error") || json_int(r, "pid", 0) <= 0) {
                j->exit_code = (int) json_int(r, "exit_code", 126);
                job_finish(e, j, json_str(r, "error") ?: "exec failed");
                return;
        }
        j->pid = (int) json_int(r, "pid", 0);
        /* a descriptor of the probe, so the kill at timeout cannot reach a recycled pid */
        j->pidfd = pidfd_open_(j->pid);
        j->st = JOB_RUNNING;
        j->due = now_ns() + j->s.timeout; /* the timeout counts from the probe's start, as in dockerd */
        job_frames(j, rest, rest_len);
}

static void job_read(Engine *e, Job *j)
{
        char buf[16384];
        for (;;) {
                ssize_t n = read(j->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        /* the monitor closed: after the exit frame, or the container went */
                        if (j->st == JOB_STARTING) {
                                _cleanup_free_ char *msg = xasprintf("Container %s is not running", j->c->id);
                                job_finish(e, j, msg);
                        } else
                                job_finish(e, j, NULL);
                        return;
                }
                if (j->st == JOB_STARTING) {
                        size_t room = sizeof(j->line) - 1 - j->line_len;
                        size_t k = (size_t) n < room ? (size_t) n : room;
                        memcpy(j->line + j->line_len, buf, k);
                        j->line_len += k;
                        j->line[j->line_len] = 0;
                        char *nl = strchr(j->line, '\n');
                        if (!nl) {
                                if (j->line_len == sizeof(j->line) - 1)
                                        job_finish(e, j, "exec failed: unreadable reply from the container's monitor");
                                continue;
                        }
                        *nl = 0;
                        /* what followed the line in this read is the start of the frames */
                        size_t used = (size_t) (nl + 1 - j->line) - (j->line_len - k);
                        job_reply(e, j, buf + used, (size_t) n - used);
                        if (j->st == JOB_IDLE)
                                return;
                } else
                        job_frames(j, buf, (size_t) n);
        }
}

static void job_deadline(Engine *e, Job *j)
{
        if (j->st == JOB_STARTING) {
                _cleanup_free_ char *msg = xasprintf("timed out starting health check for container %s", j->c->id);
                job_finish(e, j, msg);
        } else if (j->st == JOB_RUNNING) {
                /* killed without grace, as dockerd does; its exit frame ends the probe */
                j->timed_out = true;
                if (j->pidfd >= 0)
                        syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
                j->st = JOB_KILLED;
                j->due = now_ns() + KILL_GRACE_NS;
        } else if (j->st == JOB_KILLED)
                job_finish(e, j, NULL); /* the monitor did not close in time: give up on it */
}

/* ---- the thread ---- */

static void *sched_thread(void *arg)
{
        Engine *e = arg;
        pthread_mutex_lock(&e->lock);
        struct HealthSched *h = e->health;
        pthread_mutex_unlock(&e->lock);
        Job **v = NULL;
        size_t cap = 0;
        struct pollfd *pfd = NULL;
        for (;;) {
                /* Drop cancelled jobs, then take a snapshot: only this thread frees jobs. */
                Job *dead = NULL;
                size_t n = 0;
                pthread_mutex_lock(&h->lock);
                bool stopping = h->stopping;
                for (Job **pp = &h->jobs; *pp;) {
                        Job *j = *pp;
                        if (j->cancelled || stopping) {
                                *pp = j->next;
                                j->next = dead;
                                dead = j;
                                continue;
                        }
                        if (n == cap) {
                                cap = cap ? cap * 2 : 16;
                                Job **nv = xrealloc(v, cap * sizeof(*v));
                                v = nv;
                                struct pollfd *np = xrealloc(pfd, (cap + 1) * sizeof(*pfd));
                                pfd = np;
                        }
                        v[n++] = j;
                        pp = &j->next;
                }
                pthread_mutex_unlock(&h->lock);
                while (dead) {
                        Job *j = dead;
                        dead = j->next;
                        job_free(j);
                }
                if (stopping)
                        break;
                if (!pfd)
                        pfd = xcalloc(1, sizeof(*pfd));
                int64_t now = now_ns(), next = now + 3600LL * 1000000000LL;
                pfd[0] = (struct pollfd){ .fd = h->wake[0], .events = POLLIN };
                for (size_t i = 0; i < n; i++) {
                        pfd[i + 1] = (struct pollfd){ .fd = v[i]->st == JOB_IDLE ? -1 : v[i]->fd, .events = POLLIN };
                        if (v[i]->due < next)
                                next = v[i]->due;
                }
                int64_t wait_ms = next > now ? (next - now + 999999) / 1000000 : 0;
                int r = poll(pfd, n + 1, wait_ms > 60000 ? 60000 : (int) wait_ms);
                if (r < 0 && errno != EINTR)
                        break;
                if (r > 0 && (pfd[0].revents & POLLIN)) {
                        char buf[64];
                        while (read(h->wake[0], buf, sizeof(buf)) > 0)
                                ;
                }
                for (size_t i = 0; i < n; i++) {
                        Job *j = v[i];
                        pthread_mutex_lock(&h->lock);
                        bool cancelled = j->cancelled || h->stopping;
                        pthread_mutex_unlock(&h->lock);
                        if (cancelled)
                                continue;
                        if (r > 0 && j->st != JOB_IDLE && pfd[i + 1].fd >= 0 &&
                            (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                                job_read(e, j);
                        now = now_ns();
                        if (j->st != JOB_IDLE && now >= j->due)
                                job_deadline(e, j);
                        else if (j->st == JOB_IDLE && now >= j->due && !job_begin(e, j)) {
                                pthread_mutex_lock(&h->lock);
                                j->cancelled = true;
                                pthread_mutex_unlock(&h->lock);
                        }
                }
        }
        free(v);
        free(pfd);
        return NULL;
}

/* The scheduler, made on first use (e->lock held). */
static struct HealthSched *sched_locked(Engine *e)
{
        if (e->health)
                return e->health;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return NULL;
        struct HealthSched *h = xcalloc(1, sizeof(*h));
        pthread_mutex_init(&h->lock, NULL);
        h->wake[0] = fds[0];
        h->wake[1] = fds[1];
        e->health = h;
        return h;
}

void health_schedule(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        bool want = c->health && !c->removed && (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED);
        HealthSettings s = health_settings(json_object_get(container_cfg(c), "Healthcheck"));
        uint64_t seq = c->start_seq;
        int64_t now = now_ns();
        int64_t first = now + health_next_interval(&s, c->health ? c->health->status : HEALTH_STARTING,
                                                   c->started_at, now);
        struct HealthSched *h = want && s.kind != HEALTH_PROBE_NONE ? sched_locked(e) : e->health;
        pthread_mutex_unlock(&e->lock);
        if (!h)
                return;
        Job *j = NULL;
        if (want && s.kind != HEALTH_PROBE_NONE) {
                j = xcalloc(1, sizeof(*j));
                j->c = container_ref(c);
                j->start_seq = seq;
                j->s = s;
                j->st = JOB_IDLE;
                j->due = first;
                j->fd = j->pidfd = -1;
        }
        pthread_mutex_lock(&h->lock);
        for (Job *o = h->jobs; o; o = o->next)
                if (o->c == c)
                        o->cancelled = true;
        if (j && !h->stopping) {
                j->next = h->jobs;
                h->jobs = j;
                if (!h->started && pthread_create(&h->thread, NULL, sched_thread, e) == 0)
                        h->started = true;
                j = NULL;
        }
        pthread_mutex_unlock(&h->lock);
        if (j)
                job_free(j);
        wake(h);
}

void health_unschedule(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        struct HealthSched *h = e->health;
        pthread_mutex_unlock(&e->lock);
        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        bool any = false;
        for (Job *o = h->jobs; o; o = o->next)
                if (o->c == c) {
                        o->cancelled = true;
                        any = true;
                }
        pthread_mutex_unlock(&h->lock);
        if (any)
                wake(h);
}

void health_shutdown(Engine *e)
{
        pthread_mutex_lock(&e->lock);
        struct HealthSched *h = e->health;
        pthread_mutex_unlock(&e->lock);
        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        h->stopping = true; /* from now on nothing is scheduled */
        bool started = h->started;
        h->started = false;
        pthread_mutex_unlock(&h->lock);
        wake(h);
        if (started)
                pthread_join(h->thread, NULL);
        pthread_mutex_lock(&h->lock);
        Job *jobs = h->jobs;
        h->jobs = NULL;
        pthread_mutex_unlock(&h->lock);
        while (jobs) {
                Job *j = jobs;
                jobs = j->next;
                job_free(j);
        }
}

void health_sched_free(Engine *e)
{
        struct HealthSched *h = e->health;
        if (!h)
                return;
        health_shutdown(e);
        e->health = NULL;
        close(h->wake[0]);
        close(h->wake[1]);
        pthread_mutex_destroy(&h->lock);
        free(h);
}
