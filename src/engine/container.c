/* The container object: reference counting, the in-memory table, lookups by
 * name/id/prefix and persistence in the state store's containers table. */
#include "container.h"

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"
#include "engine/health.h"
#include "links.h"

static const char *const status_names[] = {
        [CSTATUS_CREATED] = "created",       [CSTATUS_RUNNING] = "running", [CSTATUS_PAUSED] = "paused",
        [CSTATUS_RESTARTING] = "restarting", [CSTATUS_REMOVING] = "removing", [CSTATUS_EXITED] = "exited",
        [CSTATUS_DEAD] = "dead",
};

const char *container_status_string(ContainerStatus s)
{
        return (unsigned) s < ELEMENTSOF(status_names) ? status_names[s] : "dead";
}

static int status_from_string(const char *s)
{
        for (size_t i = 0; s && i < ELEMENTSOF(status_names); i++)
                if (streq(s, status_names[i]))
                        return (int) i;
        return -1;
}

json_t *container_cfg(Container *c)
{
        return json_object_get(c->config, "Config");
}

json_t *container_hostcfg(Container *c)
{
        return json_object_get(c->config, "HostConfig");
}

bool container_tty(Container *c)
{
        return json_bool(container_cfg(c), "Tty");
}

Container *container_ref(Container *c)
{
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_SEQ_CST);
        return c;
}

void container_unref(Container *c)
{
        if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0)
                return;
        json_decref(c->config);
        free(c->image_id);
        free(c->name);
        free(c->error);
        health_free(c->health);
        pthread_cond_destroy(&c->cond);
        free(c);
}

char *container_dir(Engine *e, const char *id)
{
        return xasprintf("%s/containers/%s", e->cfg.data_root, id);
}

char *container_run_dir(Engine *e, const char *id)
{
        return xasprintf("%s/containers/%s", e->cfg.exec_root, id);
}

char *container_log_path(Engine *e, const char *id)
{
        return xasprintf("%s/containers/%s/%s-json.log", e->cfg.data_root, id, id);
}

static ContainerTable *table(Engine *e)
{
        if (!e->containers)
                e->containers = calloc(1, sizeof(ContainerTable));
        return e->containers;
}

int container_table_add(Engine *e, Container *c)
{
        ContainerTable *t = table(e);
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                Container **v = realloc(t->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                t->v = v;
                t->cap = cap;
        }
        t->v[t->n++] = container_ref(c);
        return 0;
}

void container_table_del(Engine *e, Container *c)
{
        ContainerTable *t = table(e);
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i] == c) {
                        memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof(*t->v));
                        t->n--;
                        container_unref(c);
                        return;
                }
}

Container *container_find_locked(Engine *e, const char *ref, int *ambiguous)
{
        ContainerTable *t = table(e);
        const char *name = ref[0] == '/' ? ref + 1 : ref;
        *ambiguous = 0;
        if (!*ref)
                return NULL;
        /* Docker's order: full id, then exact name, then unique id prefix. */
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->v[i]->id, ref))
                        return t->v[i];
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->v[i]->name, name))
                        return t->v[i];
        Container *found = NULL;
        size_t len = strlen(ref);
        if (len > 64 || !is_hex(ref, len))
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                if (strneq(t->v[i]->id, ref, len)) {
                        if (found) {
                                (*ambiguous)++;
                                return NULL;
                        }
                        found = t->v[i];
                }
        return found;
}

int container_get(Engine *e, const char *ref, Container **ret, BerthError **err)
{
        int amb = 0;
        pthread_mutex_lock(&e->lock);
        Container *c = container_find_locked(e, ref, &amb);
        if (c)
                container_ref(c);
        pthread_mutex_unlock(&e->lock);
        if (amb)
                return berr_set(err, EINVAL, "multiple IDs found with provided prefix: %s", ref);
        if (!c)
                return berr_set(err, ENOENT, "No such container: %s", ref);
        *ret = c;
        return 0;
}

int container_get_live(Engine *e, const char *ref, Container **ret, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        bool live = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        pthread_mutex_unlock(&e->lock);
        if (!live)
                return berr_set(err, EBUSY, "Container %s is not running", c->id);
        *ret = TAKE_PTR(c);
        return 0;
}

Container **container_list_all(Engine *e, size_t *ret_n)
{
        pthread_mutex_lock(&e->lock);
        ContainerTable *t = table(e);
        Container **v = calloc(t->n + 1, sizeof(*v));
        for (size_t i = 0; v && i < t->n; i++)
                v[i] = container_ref(t->v[i]);
        *ret_n = v ? t->n : 0;
        pthread_mutex_unlock(&e->lock);
        return v;
}

json_t *container_state_json(Container *c)
{
        /* Starting and Removing are the intents of a start or removal in flight: after a crash the
         * reconciler (reconcile.c) rolls the start back or finishes the removal. */
        json_t *j = json_pack("{s:s,s:i,s:i,s:i,s:b,s:s,s:I,s:I,s:i,s:b,s:b,s:b,s:b}", "Status",
                         container_status_string(c->status), "Pid", c->pid, "MonitorPid", c->monitor_pid, "ExitCode",
                         c->exit_code, "OOMKilled", c->oom_killed, "Error", c->error ? c->error : "", "StartedAt",
                         (json_int_t) c->started_at, "FinishedAt", (json_int_t) c->finished_at, "RestartCount",
                         c->restart_count, "ManuallyStopped", c->manually_stopped, "Starting", c->starting,
                         "Removing", c->removing, "CommitPaused", c->commit_paused);
        if (c->health)
                json_object_set_new(j, "Health", health_json(c->health));
        return j;
}

static int state_from_json(Container *c, json_t *s)
{
        int st = status_from_string(json_str(s, "Status"));
        if (st < 0)
                return -EINVAL;
        c->status = (ContainerStatus) st;
        c->pid = (int) json_int(s, "Pid", 0);
        c->monitor_pid = (int) json_int(s, "MonitorPid", 0);
        c->exit_code = (int) json_int(s, "ExitCode", 0);
        c->oom_killed = json_bool(s, "OOMKilled");
        const char *er = json_str(s, "Error");
        c->error = er && *er ? strdup(er) : NULL;
        c->started_at = json_int(s, "StartedAt", 0);
        c->finished_at = json_int(s, "FinishedAt", 0);
        c->restart_count = (int) json_int(s, "RestartCount", 0);
        c->manually_stopped = json_bool(s, "ManuallyStopped");
        /* Left set only by a crash; the reconciler acts on them before the API is served. */
        c->starting = json_bool(s, "Starting");
        c->removing = json_bool(s, "Removing");
        c->commit_paused = json_bool(s, "CommitPaused");
        c->health = health_from_json(json_object_get(s, "Health"));
        return 0;
}

int container_save(Engine *e, Container *c)
{
        _cleanup_free_ char *cfg = json_dump(c->config);
        _cleanup_json_ json_t *sj = container_state_json(c);
        _cleanup_free_ char *state = json_dump(sj);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "INSERT OR REPLACE INTO containers (id, name, image_id, created, config, state) VALUES (?,?,?,?,?,?)",
                NULL);
        if (!st || !cfg || !state)
                return -EIO;
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->image_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, c->created);
        sqlite3_bind_text(st, 5, cfg, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        return rc == SQLITE_DONE ? 0 : -EIO;
}

int container_save_state(Engine *e, Container *c)
{
        if (c->removed)
                return 0;
        if (store_write_fault(e->store) < 0)
                return -EIO;
        _cleanup_json_ json_t *sj = container_state_json(c);
        _cleanup_free_ char *state = json_dump(sj);
        _cleanup_free_ char *cfg = json_dump(c->config);
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "UPDATE containers SET state = ?, name = ?, config = ? WHERE id = ?", NULL);
        if (!st || !state || !cfg)
                return -EIO;
        sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cfg, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->id, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

void container_save_fact(Engine *e, Container *c, const char *what)
{
        if (container_save_state(e, c) < 0)
                log_error("container %s: cannot record %s in the state store: %s; it stays recorded as before "
                          "until its next change is saved", c->id, what, sqlite3_errmsg(e->store->db));
}

Container *container_new(void)
{
        Container *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->refs = 1;
        c->watcher_fd = -1;
        pthread_cond_init(&c->cond, NULL);
        return c;
}

/* A record that cannot be parsed is written to <data-root>/quarantine/ and
 * dropped from the store: one damaged row must never keep the daemon down. */
static void quarantine(Engine *e, const char *id, const char *name, const char *config, const char *state,
                       const char *why)
{
        _cleanup_free_ char *dir = xasprintf("%s/quarantine", e->cfg.data_root);
        mkdir_p(dir, 0700);
        _cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id ? id : "", "name", name ? name : "",
                                             "config", config ? config : "", "state", state ? state : "", "reason",
                                             why);
        _cleanup_free_ char *s = json_dump(j);
        _cleanup_free_ char *path = xasprintf("%s/container-%s-%lld.json", dir, id ? id : "unknown",
                                              (long long) now_ns());
        if (s)
                write_file_atomic(path, s, strlen(s), 0600);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM containers WHERE id = ?", NULL);
        if (st) {
                sqlite3_bind_text(st, 1, id ? id : "", -1, SQLITE_STATIC);
                sqlite3_step(st);
        }
        if (id && strlen(id) == 64 && is_hex(id, 64)) {
                _cleanup_free_ char *cdir = container_dir(e, id);
                _cleanup_free_ char *aside = xasprintf("%s/container-%s", dir, id);
                rename(cdir, aside);
        }
        fprintf(stderr, "berthd: quarantined damaged container record %s: %s (saved to %s)\n", id ? id : "?", why,
                path);
}

int container_load_all(Engine *e, BerthError **err)
{
        table(e);
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT id, name, image_id, created, config, state FROM containers", err);
        if (!st)
                return -EIO;
        char **bad = NULL; /* quarantined after the SELECT finishes */
        for (;;) {
                int rc = sqlite3_step(st);
                if (rc != SQLITE_ROW)
                        break;
                const char *id = (const char *) sqlite3_column_text(st, 0);
                const char *name = (const char *) sqlite3_column_text(st, 1);
                const char *image = (const char *) sqlite3_column_text(st, 2);
                const char *cfg = (const char *) sqlite3_column_text(st, 4);
                const char *state = (const char *) sqlite3_column_text(st, 5);
                const char *why = NULL;
                json_t *cj = cfg ? json_loads(cfg, 0, NULL) : NULL;
                json_t *sj = state ? json_loads(state, 0, NULL) : NULL;
                Container *c = NULL;
                if (!id || strlen(id) != 64 || !is_hex(id, 64))
                        why = "bad id";
                else if (!name || !image)
                        why = "missing name or image";
                else if (!json_is_object(cj) || !json_is_object(json_object_get(cj, "Config")))
                        why = "bad config JSON";
                else if (!json_is_object(sj))
                        why = "bad state JSON";
                if (!why) {
                        c = container_new();
                        memcpy(c->id, id, 65);
                        c->name = strdup(name);
                        c->image_id = strdup(image);
                        c->created = sqlite3_column_int64(st, 3);
                        c->config = json_incref(cj);
                        if (state_from_json(c, sj) < 0)
                                why = "bad state";
                }
                if (why) {
                        strv_push(&bad, xasprintf("%s", id ? id : ""));
                        strv_push(&bad, xasprintf("%s", name ? name : ""));
                        strv_push(&bad, xasprintf("%s", cfg ? cfg : ""));
                        strv_push(&bad, xasprintf("%s", state ? state : ""));
                        strv_push(&bad, xasprintf("%s", why));
                        container_unref(c);
                } else {
                        container_table_add(e, c);
                        container_unref(c);
                }
                json_decref(cj);
                json_decref(sj);
        }
        sqlite3_finalize(TAKE_PTR(st));
        for (size_t i = 0; bad && bad[i]; i += 5)
                quarantine(e, bad[i], bad[i + 1], bad[i + 2], bad[i + 3], bad[i + 4]);
        strv_free(bad);
        return 0;
}

int container_bind_parse(const char *spec, char ***ret_parts, BerthError **err)
{
        if (!spec)
                return berr_set(err, EINVAL, "invalid volume specification: not a string");
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
                strv_extend(&parts, t);
        size_t n = strv_length(parts);
        if (n < 2 || n > 3)
                return berr_set(err, EINVAL, "invalid volume specification: '%s'", spec);
        if (parts[1][0] != '/')
                return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type "
                                "\"bind\": invalid mount path: '%s' mount path must be absolute", spec, parts[1]);
        if (parts[0][0] != '/')
                return berr_set(err, ENOTSUP, "named volumes are not supported by berth yet: '%s'", spec);
        *ret_parts = TAKE_PTR(parts);
        return 0;
}

void container_list_free(Container **all, size_t n)
{
        for (size_t i = 0; i < n; i++)
                container_unref(all[i]);
        free(all);
}

json_t *container_process_env(Engine *e, Container *c, bool tty)
{
        /* copied under the lock: an update may replace the configuration meanwhile */
        pthread_mutex_lock(&e->lock);
        json_t *cfg = container_cfg(c);
        _cleanup_free_ char *hn = xasprintf("HOSTNAME=%s", json_str(cfg, "Hostname") ?: "");
        _cleanup_json_ json_t *cenv = json_deep_copy(json_object_get(cfg, "Env"));
        pthread_mutex_unlock(&e->lock);
        json_t *env = json_array();
        json_array_append_new(env, json_string("PATH=" DEFAULT_PATH_ENV));
        json_env_set(env, hn);
        if (tty)
                json_env_set(env, "TERM=xterm");
        links_env(e, c, env); /* before the container's own Env, which wins */
        size_t i;
        json_t *v;
        json_array_foreach(cenv, i, v) if (json_is_string(v)) json_env_set(env, json_string_value(v));
        return env;
}
