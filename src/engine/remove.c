/* rm, rename, update, prune. */
#include <signal.h>
#include <string.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "engine/mountpoints.h"
#include "engine/health.h"
#include "state/events.h"
#include "engine/resources.h"
#include "network/network.h"
#include "runtime/cgroup.h"

/* The container's cgroup, run directory and data directory, in that order: the data directory
 * is what proves an id is this daemon's (docs/state-store.md), so it goes last. */
void container_cleanup_files(Engine *e, const char *id)
{
        _cleanup_free_ char *d = container_dir(e, id);
        _cleanup_free_ char *r = container_run_dir(e, id);
        container_remove_cgroup(id);
        rm_rf(r);
        rm_rf(d);
}

int container_remove_finish(Engine *e, Container *c, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        c->status = CSTATUS_REMOVING;
        pthread_mutex_unlock(&e->lock);
        health_unschedule(e, c);
        container_cancel_pending_attaches(e, c);
        /* The processes, then their monitor, then what they used; the record last, so a crash
         * anywhere in between leaves a row that still says "Removing". */
        container_kill_cgroup(c->id, SIGKILL);
        container_stop_monitors(e, c->id, 5000, NULL);
        crash_point("remove-after-stop");
        network_container_forget(e->net, c->id);
        mountpoints_release(e, c);
        container_cleanup_files(e, c->id);
        crash_point("remove-before-delete");
        pthread_mutex_lock(&e->lock);
        int r = -EIO;
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM containers WHERE id = ?", NULL);
        if (st) {
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
                r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        }
        if (r < 0) {
                /* Docker's "dead": what is left cannot run; another rm retries. */
                c->status = CSTATUS_DEAD;
                c->removing = false;
                container_save_fact(e, c, "the failed removal");
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "unable to remove container %s: cannot delete its record: %s", c->id,
                                sqlite3_errmsg(e->store->db));
        }
        c->removed = true;
        container_table_del(e, c);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
        events_container(e, c, "destroy", NULL);
        return 0;
}

int container_remove_obj(Engine *e, Container *c, bool force, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        /* A start in flight ends first, so no monitor can appear after the files are gone. */
        while (c->starting && !c->removed && !c->removing)
                pthread_cond_wait(&c->cond, &e->lock);
        if (c->removed || c->removing || c->status == CSTATUS_REMOVING) {
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
        /* The intent first: a crash from here on leaves a row the reconciler finishes removing. */
        bool was_stopped = c->manually_stopped;
        c->removing = true;
        c->manually_stopped = true;
        int r = container_save_state(e, c);
        if (r < 0) {
                c->removing = false;
                c->manually_stopped = was_stopped;
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "unable to remove container %s: cannot record the removal: %s", c->id,
                                strerror(-r));
        }
        pthread_mutex_unlock(&e->lock);
        crash_point("remove-after-mark");
        if (live) {
                _cleanup_berr_ BerthError *kerr = NULL;
                r = container_stop_obj(e, c, 0, true, 0, &kerr);
                if (r < 0 && r != -EALREADY) {
                        pthread_mutex_lock(&e->lock);
                        c->removing = false;
                        container_save_fact(e, c, "the failed removal");
                        pthread_mutex_unlock(&e->lock);
                        if (err)
                                *err = TAKE_PTR(kerr);
                        return r;
                }
        }
        return container_remove_finish(e, c, err);
}

int container_remove(Engine *e, const char *ref, bool force, bool volumes, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = container_remove_obj(e, c, force, err);
        if (r == 0 && volumes)
                mountpoints_remove_anonymous(e, c);
        return r;
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
                return berr_set(err, EIO, "cannot rename container: cannot record it in the state store");
        }
        events_container_locked(e, c, "rename", json_pack("{s:o}", "oldName", json_sprintf("/%s", old)));
        free(old);
        pthread_mutex_unlock(&e->lock);
        return 0;
}

static const JsonFieldType update_fields[] = {
        { "CpuShares", JT_INT }, { "Memory", JT_INT }, { "CgroupParent", JT_STR }, { "BlkioWeight", JT_INT },
        { "BlkioWeightDevice", JT_ARR }, { "BlkioDeviceReadBps", JT_ARR }, { "BlkioDeviceWriteBps", JT_ARR },
        { "BlkioDeviceReadIOps", JT_ARR }, { "BlkioDeviceWriteIOps", JT_ARR }, { "CpuPeriod", JT_INT },
        { "CpuQuota", JT_INT }, { "CpuRealtimePeriod", JT_INT }, { "CpuRealtimeRuntime", JT_INT },
        { "CpusetCpus", JT_STR }, { "CpusetMems", JT_STR }, { "Devices", JT_ARR }, { "DeviceCgroupRules", JT_STRV },
        { "DeviceRequests", JT_ARR }, { "KernelMemoryTCP", JT_INT }, { "MemoryReservation", JT_INT },
        { "MemorySwap", JT_INT }, { "MemorySwappiness", JT_INT }, { "NanoCpus", JT_INT }, { "OomKillDisable", JT_BOOL },
        { "Init", JT_BOOL }, { "PidsLimit", JT_INT }, { "Ulimits", JT_ARR }, { "CpuCount", JT_INT },
        { "CpuPercent", JT_INT }, { "IOMaximumIOps", JT_INT }, { "IOMaximumBandwidth", JT_INT },
        { "RestartPolicy", JT_OBJ }, { "KernelMemory", JT_INT },
};
static const JsonFieldType restart_policy_fields[] = { { "Name", JT_STR }, { "MaximumRetryCount", JT_INT } };

/* The fields an update carries over onto the container's HostConfig when non-zero (dockerd's
 * UpdateContainer); PidsLimit whenever given. */
static const char *const update_resources[] = {
        "BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems", "Memory",
        "MemorySwap", "MemoryReservation", "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime",
};

/* Fields of UpdateConfig dockerd accepts but never applies: refused rather than ignored. */
static int refuse_unapplied(json_t *body, BerthError **err)
{
        static const char *const never[] = { "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                                             "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices",
                                             "DeviceCgroupRules", "DeviceRequests", "KernelMemoryTCP",
                                             "MemorySwappiness", "OomKillDisable", "Ulimits", "CgroupParent",
                                             "Init", "CpuCount" };
        for (size_t i = 0; i < ELEMENTSOF(never); i++) {
                json_t *v = json_object_get(body, never[i]);
                if (!v || json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
                    (json_is_array(v) && json_array_size(v) == 0) || (json_is_string(v) && !*json_string_value(v)))
                        continue;
                return berr_set(err, EINVAL, "%s cannot be changed on an existing container: recreate it with the "
                                "new value", never[i]);
        }
        return 0;
}

/* Writes the limits of hc to the running container's cgroup. */
static int apply_live(const char *id, json_t *hc, BerthError **err)
{
        _cleanup_json_ json_t *spec = NULL;
        int r = container_resources_spec(hc, &spec, err);
        if (r < 0)
                return r;
        RtCgroupResources res;
        rt_cgroup_resources_from_json(spec, &res);
        _cleanup_free_ char *rel = xasprintf("berth/%s", id);
        r = rt_cgroup_ops()->set_resources(rel, &res);
        rt_cgroup_resources_done(&res);
        if (r < 0)
                return berr_set(err, EIO, "Cannot update container %s: failed to write the cgroup: %s", id,
                                go_strerror(-r));
        return 0;
}

int container_update(Engine *e, const char *ref, json_t *body, json_t **ret_warnings, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        /* Wrongly typed fields are Docker's 400 (json.Unmarshal), not stored into the host config. */
        const JsonFieldType *bad = json_check_fields(body, update_fields, ELEMENTSOF(update_fields));
        json_t *in = body;
        const char *where = "UpdateConfig";
        if (!bad && (bad = json_check_fields(json_object_get(body, "RestartPolicy"), restart_policy_fields,
                                            ELEMENTSOF(restart_policy_fields)))) {
                in = json_object_get(body, "RestartPolicy");
                where = "UpdateConfig.RestartPolicy";
        }
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field %s.%s",
                                json_kind(json_object_get(in, bad->key)), where, bad->key);
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = refuse_unapplied(body, err);
        if (r < 0)
                return r;
        /* Docker's checks on the request alone; what the host cannot enforce is dropped with a warning */
        _cleanup_json_ json_t *req = json_deep_copy(body);
        _cleanup_json_ json_t *warnings = json_array();
        r = container_resources_verify(req, true, warnings, err);
        if (r < 0)
                return r;
        json_t *rp = json_object_get(req, "RestartPolicy");
        pthread_mutex_lock(&e->lock);
        json_t *hc = container_hostcfg(c);
        _cleanup_json_ json_t *merged = json_deep_copy(hc);
        if (c->removing || c->removed || c->status == CSTATUS_DEAD || c->status == CSTATUS_REMOVING)
                r = berr_set(err, EBUSY, "Cannot update container %s: container is marked for removal and cannot be "
                             "\"update\"", c->id);
        /* --cpus sets period and quota itself: the two ways exclude each other across updates too */
        static const char *const conflicts[][3] = {
                { "NanoCpus", "CpuPeriod", "Nano CPUs cannot be updated as CPU Period has already been set" },
                { "NanoCpus", "CpuQuota", "Nano CPUs cannot be updated as CPU Quota has already been set" },
                { "CpuPeriod", "NanoCpus", "CPU Period cannot be updated as NanoCPUs has already been set" },
                { "CpuQuota", "NanoCpus", "CPU Quota cannot be updated as NanoCPUs has already been set" },
        };
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(conflicts); i++)
                if (json_int(req, conflicts[i][0], 0) > 0 && json_int(hc, conflicts[i][1], 0) > 0)
                        r = berr_set(err, EEXIST, "Cannot update container %s: Conflicting options: %s", c->id,
                                     conflicts[i][2]);
        long long mem = json_int(req, "Memory", 0);
        if (r == 0 && mem != 0 && mem > json_int(hc, "MemorySwap", 0) && json_int(req, "MemorySwap", 0) == 0)
                r = berr_set(err, EEXIST, "Cannot update container %s: Memory limit should be smaller than already set "
                             "memoryswap limit, update the memoryswap at the same time", c->id);
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(update_resources); i++) {
                json_t *v = json_object_get(req, update_resources[i]);
                if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0) &&
                    !(json_is_string(v) && !*json_string_value(v)))
                        json_object_set(merged, update_resources[i], v);
        }
        json_t *pl = json_object_get(req, "PidsLimit");
        if (r == 0 && json_is_integer(pl))
                json_object_set(merged, "PidsLimit", pl);
        if (r == 0 && json_is_object(rp) && json_str(rp, "Name") && *json_str(rp, "Name")) {
                const char *name = json_str(rp, "Name");
                if (!streq(name, "no") && !streq(name, "always") && !streq(name, "on-failure") &&
                    !streq(name, "unless-stopped"))
                        r = berr_set(err, EINVAL, "invalid restart policy '%s'", name);
                else if (json_bool(hc, "AutoRemove") && !streq(name, "no"))
                        r = berr_set(err, EEXIST, "Cannot update container %s: Restart policy cannot be updated "
                                     "because AutoRemove is enabled for the container", c->id);
                else
                        json_object_set_new(merged, "RestartPolicy",
                                            json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount",
                                                      (json_int_t) json_int(rp, "MaximumRetryCount", 0)));
        }
        /* the cgroup first: if the kernel refuses, nothing is recorded; if the store then fails, the
         * cgroup goes back to the recorded limits */
        bool live = (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) && c->pid > 0;
        if (r == 0 && live && (r = apply_live(c->id, merged, err)) < 0)
                (void) apply_live(c->id, hc, NULL);
        if (r == 0) {
                _cleanup_json_ json_t *before = json_deep_copy(hc);
                json_object_clear(hc);
                json_object_update(hc, merged);
                if (container_save_state(e, c) < 0) {
                        json_object_clear(hc);
                        json_object_update(hc, before);
                        if (live)
                                (void) apply_live(c->id, hc, NULL);
                        r = berr_set(err, EIO, "Cannot update container %s: cannot record it in the state store",
                                     c->id);
                }
        }
        pthread_mutex_unlock(&e->lock);
        if (r < 0)
                return r;
        events_container(e, c, "update", NULL);
        *ret_warnings = TAKE_PTR(warnings);
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
