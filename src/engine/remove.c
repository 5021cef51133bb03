/* rm, rename, update, prune. */
#include <signal.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "state/events.h"
#include "network/network.h"

void container_cleanup_files(Engine *e, const char *id)
{
        _cleanup_free_ char *d = container_dir(e, id);
        _cleanup_free_ char *r = container_run_dir(e, id);
        rm_rf(r);
        rm_rf(d);
        container_remove_cgroup(id);
}

int container_remove_obj(Engine *e, Container *c, bool force, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        if (c->removed || c->status == CSTATUS_REMOVING) {
                bool gone = c->removed;
                pthread_mutex_unlock(&e->lock);
                if (gone)
                        return berr_set(err, ENOENT, "No such container: %s", c->id);
                return berr_set(err, EBUSY, "removal of container %s is already in progress", c->id);
        }
        /* A container waiting to be restarted counts as running, as in dockerd. */
        bool live = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED || c->status == CSTATUS_RESTARTING ||
                    c->starting;
        if (live && !force) {
                const char *state = container_status_string(c->status);
                pthread_mutex_unlock(&e->lock);
                if (c->status == CSTATUS_PAUSED)
                        return berr_set(err, EBUSY, "You cannot remove a paused container %s. Unpause and then stop "
                                        "the container before attempting removal or force remove", c->id);
                return berr_set(err, EBUSY, "You cannot remove a %s container %s. Stop the container before "
                                "attempting removal or force remove", streq(state, "created") ? "running" : state,
                                c->id);
        }
        c->manually_stopped = true;
        pthread_mutex_unlock(&e->lock);
        if (live) {
                _cleanup_berr_ BerthError *kerr = NULL;
                int r = container_stop_obj(e, c, 0, true, &kerr);
                if (r < 0 && r != -EALREADY) {
                        *err = TAKE_PTR(kerr);
                        return r;
                }
        }
        pthread_mutex_lock(&e->lock);
        if (c->removed) {
                pthread_mutex_unlock(&e->lock);
                return 0;
        }
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM containers WHERE id = ?", NULL);
        if (st) {
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
                sqlite3_step(st);
        }
        c->removed = true;
        c->status = CSTATUS_REMOVING;
        container_table_del(e, c);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
        container_cancel_pending_attaches(e, c);
        container_kill_cgroup(c->id, SIGKILL);
        network_container_forget(e->net, c->id);
        container_cleanup_files(e, c->id);
        events_container(e, c, "destroy", NULL);
        return 0;
}

int container_remove(Engine *e, const char *ref, bool force, bool volumes, BerthError **err)
{
        (void) volumes; /* anonymous volumes arrive with the volumes issue */
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        return container_remove_obj(e, c, force, err);
}

int container_rename(Engine *e, const char *ref, const char *newname, BerthError **err)
{
        if (!newname || !*newname)
                return berr_set(err, EINVAL, "Neither old nor new names may be empty");
        const char *n = newname[0] == '/' ? newname + 1 : newname;
        if (!container_name_valid(n))
                return berr_set(err, EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                newname);
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        if (streq(c->name, n)) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EINVAL, "Renaming a container with the same name as its current name");
        }
        ContainerTable *t = e->containers;
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->v[i]->name, n)) {
                        r = berr_set(err, EEXIST,
                                     "Conflict. The container name \"/%s\" is already in use by container \"%s\". You "
                                     "have to remove (or rename) that container to be able to reuse that name.",
                                     n, t->v[i]->id);
                        pthread_mutex_unlock(&e->lock);
                        return r;
                }
        char *old = c->name;
        c->name = strdup(n);
        r = container_save_state(e, c);
        if (r < 0) {
                free(c->name);
                c->name = old;
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "cannot rename container");
        }
        events_container_locked(e, c, "rename", json_pack("{s:o}", "oldName", json_sprintf("/%s", old)));
        free(old);
        pthread_mutex_unlock(&e->lock);
        return 0;
}

int container_update(Engine *e, const char *ref, json_t *body, json_t **ret_warnings, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        json_t *rp = json_object_get(body, "RestartPolicy");
        pthread_mutex_lock(&e->lock);
        json_t *hc = container_hostcfg(c);
        if (json_is_object(rp) && json_str(rp, "Name") && *json_str(rp, "Name")) {
                const char *name = json_str(rp, "Name");
                if (!streq(name, "no") && !streq(name, "always") && !streq(name, "on-failure") &&
                    !streq(name, "unless-stopped"))
                        r = berr_set(err, EINVAL, "invalid restart policy '%s'", name);
                else if (json_bool(hc, "AutoRemove") && !streq(name, "no"))
                        r = berr_set(err, EINVAL, "Restart policy cannot be updated because AutoRemove is enabled "
                                     "for the container");
                else
                        json_object_set_new(hc, "RestartPolicy",
                                            json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount",
                                                      (json_int_t) json_int(rp, "MaximumRetryCount", 0)));
        }
        /* Resource limits are recorded; applying them live needs the runtime's cgroup setters. */
        const char *res[] = { "Memory", "MemorySwap", "CpuShares", "NanoCpus", "PidsLimit", "CpuQuota", "CpuPeriod",
                              "MemoryReservation", "BlkioWeight", "CpusetCpus", "CpusetMems" };
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(res); i++) {
                json_t *v = json_object_get(body, res[i]);
                if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0) &&
                    !(json_is_string(v) && !*json_string_value(v)))
                        json_object_set(hc, res[i], v);
        }
        if (r == 0)
                container_save_state(e, c);
        pthread_mutex_unlock(&e->lock);
        if (r < 0)
                return r;
        events_container(e, c, "update", NULL);
        *ret_warnings = json_array();
        return 0;
}

int container_prune(Engine *e, json_t *filters, json_t **ret_deleted, long long *ret_reclaimed, BerthError **err)
{
        const char *key;
        json_t *v;
        json_object_foreach(filters, key, v) if (!streq(key, "until") && !streq(key, "label") && !streq(key, "label!"))
                return berr_set(err, EINVAL, "invalid filter '%s'", key);
        json_t *until = json_object_get(filters, "until");
        json_t *label = json_object_get(filters, "label");
        json_t *nolabel = json_object_get(filters, "label!");
        int64_t until_ns = 0;
        if (json_array_size(until)) {
                const char *u = json_string_value(json_array_get(until, 0));
                if (parse_docker_time(u, now_ns(), &until_ns) < 0)
                        return berr_set(err, EINVAL, "invalid filter 'until=%s'", u ? u : "");
        }
        size_t n;
        Container **all = container_list_all(e, &n);
        json_t *deleted = json_array();
        long long reclaimed = 0;
        for (size_t i = 0; i < n; i++) {
                Container *c = all[i];
                pthread_mutex_lock(&e->lock);
                bool stopped = c->status == CSTATUS_EXITED || c->status == CSTATUS_CREATED ||
                               c->status == CSTATUS_DEAD;
                json_t *labels = json_object_get(container_cfg(c), "Labels");
                bool ok = stopped && !c->starting && (!until_ns || c->created < until_ns) &&
                          json_labels_match(labels, label) &&
                          !(json_array_size(nolabel) && json_labels_match(labels, nolabel));
                pthread_mutex_unlock(&e->lock);
                if (ok) {
                        /* the container's own layer is what removing it gives back */
                        _cleanup_free_ char *dir = container_dir(e, c->id);
                        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
                        long long size = dir_size(upper);
                        if (container_remove_obj(e, c, false, NULL) == 0) {
                                json_array_append_new(deleted, json_string(c->id));
                                reclaimed += size;
                        }
                }
                container_unref(c);
        }
        free(all);
        *ret_deleted = deleted;
        *ret_reclaimed = reclaimed;
        return 0;
}
