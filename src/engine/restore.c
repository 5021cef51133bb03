/* After a (re)start of berthd: reconcile what exists with the store (reconcile.c), re-adopt
 * running containers, record exits that happened meanwhile, apply AutoRemove and restart
 * policies. */
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"
#include "container.h"
#include "engine/exec.h"
#include "engine/health.h"

static void *restart_thread(void *p)
{
        Engine *e = ((void **) p)[0];
        Container *c = ((void **) p)[1];
        free(p);
        _cleanup_berr_ BerthError *err = NULL;
        container_start_obj(e, c, &err);
        container_unref(c);
        return NULL;
}

static void start_async(Engine *e, Container *c)
{
        void **a = calloc(2, sizeof(void *));
        a[0] = e;
        a[1] = container_ref(c);
        pthread_t t;
        if (pthread_create(&t, NULL, restart_thread, a) == 0)
                pthread_detach(t);
        else {
                container_unref(c);
                free(a);
        }
}

static bool restart_on_boot(Container *c)
{
        json_t *rp = json_object_get(container_hostcfg(c), "RestartPolicy");
        const char *name = json_str(rp, "Name");
        if (!name)
                return false;
        if (streq(name, "always"))
                return true;
        if (streq(name, "unless-stopped"))
                return !c->manually_stopped;
        if (streq(name, "on-failure")) {
                long long max = json_int(rp, "MaximumRetryCount", 0);
                return !c->manually_stopped && c->exit_code != 0 && (max == 0 || c->restart_count < max);
        }
        return false;
}

int container_restore_all(Engine *e, BerthError **err)
{
        int r = container_load_all(e, err);
        if (r < 0)
                return r;
        /* Interrupted starts and removals, strays of every kind: before anything is adopted. */
        container_reconcile(e);
        size_t n;
        Container **all = container_list_all(e, &n);
        for (size_t i = 0; i < n; i++) {
                Container *c = all[i];
                bool was_live = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED ||
                                c->status == CSTATUS_RESTARTING;
                if (c->status == CSTATUS_RESTARTING)
                        c->status = CSTATUS_EXITED;
                /* a commit's pause ends with the commit, which a crash ended */
                bool commit_paused = c->commit_paused && c->status == CSTATUS_PAUSED;
                c->commit_paused = false;
                if (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) {
                        _cleanup_free_ char *line = NULL;
                        if (container_monitor_request(e, c->id, "{\"op\":\"state\"}", &line) == 0) {
                                _cleanup_json_ json_t *j = json_loads(line, 0, NULL);
                                if (json_bool(j, "running")) {
                                        container_start_watcher(e, c);
                                        /* dockerd restarts the probes of a restored container from
                                         * "starting"; the log is kept */
                                        pthread_mutex_lock(&e->lock);
                                        if (c->health)
                                                health_reset(c->health);
                                        pthread_mutex_unlock(&e->lock);
                                        health_schedule(e, c);
                                        if (commit_paused) {
                                                _cleanup_berr_ BerthError *perr = NULL;
                                                if (container_pause(e, c->id, false, &perr) < 0)
                                                        log_warn("reconcile: cannot unpause container %.12s: %s",
                                                                 c->id, perr->msg);
                                                else
                                                        log_info("reconcile: unpaused container %.12s: paused by "
                                                                 "a commit that was interrupted", c->id);
                                        }
                                        continue;
                                }
                        }
                        /* The monitor is gone: its exit.json says how the container ended. */
                        _cleanup_free_ char *dir = container_dir(e, c->id);
                        _cleanup_free_ char *ep = xasprintf("%s/exit.json", dir);
                        _cleanup_free_ char *data = NULL;
                        _cleanup_json_ json_t *info = NULL;
                        if (read_file(ep, &data, NULL) == 0)
                                info = json_loads(data, 0, NULL);
                        /* Not kill(c->pid): that number may be another process by now; the
                         * cgroup is the container's. */
                        log_info("reconcile: container %.12s exited while berthd was down (%s)", c->id,
                                 info ? "exit recorded by its monitor" : "its monitor is gone");
                        container_kill_cgroup(c->id, SIGKILL);
                        /* handle_exit applies AutoRemove and restart policies */
                        container_handle_exit(e, c, json_is_object(info) ? info : NULL);
                        _cleanup_free_ char *rdir = container_run_dir(e, c->id);
                        if (!c->removed)
                                rm_rf(rdir);
                        continue;
                }
                if (!was_live && (c->status == CSTATUS_EXITED) && json_bool(container_hostcfg(c), "AutoRemove")) {
                        container_remove_obj(e, c, true, NULL);
                        continue;
                }
                if (c->status == CSTATUS_EXITED && restart_on_boot(c))
                        start_async(e, c);
        }
        container_list_free(all, n);
        return 0;
}

/* Containers keep running; only berthd's own watchers stop. */
void container_shutdown(Engine *e)
{
        ContainerTable *t = e->containers;
        if (!t)
                return;
        health_shutdown(e); /* its jobs hold containers and take Engine.lock */
        pthread_mutex_lock(&e->lock);
        t->stopping = true;
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i]->watcher_fd >= 0)
                        shutdown(t->v[i]->watcher_fd, SHUT_RDWR);
        pthread_mutex_unlock(&e->lock);
        for (int i = 0; i < 200; i++) {
                pthread_mutex_lock(&e->lock);
                int left = t->n_watchers;
                pthread_mutex_unlock(&e->lock);
                if (left == 0)
                        break;
                usleep(10000);
        }
        /* With every watcher gone nothing else holds the table: drop it.
         * A watcher that did not finish in time keeps it alive (and leaks at
         * exit) rather than risk a use after free. */
        pthread_mutex_lock(&e->lock);
        bool idle = t->n_watchers == 0;
        pthread_mutex_unlock(&e->lock);
        if (!idle)
                return;
        exec_table_free(e);
        for (size_t i = 0; i < t->n; i++)
                container_unref(t->v[i]);
        free(t->v);
        free(t);
        e->containers = NULL;
}
