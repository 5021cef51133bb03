/* The volume store and the local driver (volume/volume.h, docs/volumes.md). */
#include "volume/volume.h"

#include <dirent.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"
#include "state/events.h"

struct VolumeRef {
        char *name;
        char **users;
        bool mounted; /* by us, on _data */
};

static const char *const schema[] = {
        "CREATE TABLE volumes (name TEXT PRIMARY KEY, driver TEXT NOT NULL, created INTEGER NOT NULL, "
        "labels TEXT, options TEXT)",
};

int volume_store_open(const char *data_root, Store *store, EventLog *events, pthread_mutex_t *lock,
                      VolumeStore **ret, BerthError **err)
{
        int r = store_migrate(store, "volume", schema, ELEMENTSOF(schema), err);
        if (r < 0)
                return r;
        _cleanup_free_ char *root = xasprintf("%s/volumes", data_root);
        r = mkdir_p(root, 0701);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", root, strerror(-r));
        VolumeStore *vs = xcalloc(1, sizeof(*vs));
        vs->root = TAKE_PTR(root);
        vs->store = store;
        vs->events = events;
        vs->lock = lock;
        pthread_mutex_init(&vs->mount_lock, NULL);
        *ret = vs;
        return 0;
}

void volume_store_free(VolumeStore *vs)
{
        if (!vs)
                return;
        for (size_t i = 0; i < vs->n_refs; i++) {
                free(vs->refs[i].name);
                strv_free(vs->refs[i].users);
        }
        free(vs->refs);
        pthread_mutex_destroy(&vs->mount_lock);
        free(vs->root);
        free(vs);
}

void volume_free(Volume *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->driver);
        json_decref(v->labels);
        json_decref(v->options);
        free(v);
}

void volume_list_free(Volume **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                volume_free(v[i]);
        free(v);
}

char *volume_data_path(VolumeStore *vs, const char *name)
{
        return xasprintf("%s/%s/_data", vs->root, name);
}

bool volume_is_anonymous(const Volume *v)
{
        return json_object_get(v->labels, VOLUME_ANONYMOUS_LABEL) != NULL;
}

int volume_name_check(const char *name, BerthError **err)
{
        size_t n = strlen(name);
        bool ok = n > 0 && (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]) != NULL);
        for (size_t i = 1; ok && i < n; i++)
                ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i]) != NULL;
        if (n == 1 && ok)
                return berr_set(err, EINVAL, "create %s: volume name is too short, names should be at least two "
                                "alphanumeric characters", name);
        if (!ok)
                return berr_set(err, EINVAL, "create %s: \"%s\" includes invalid characters for a local volume name, "
                                "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                                "directory, use absolute path", name, name);
        return 0;
}

static int options_check(const char *name, json_t *opts, BerthError **err)
{
        const char *k;
        json_t *v;
        json_object_foreach(opts, k, v) {
                if (!json_is_string(v))
                        return berr_set(err, EINVAL, "create %s: invalid option: \"%s\"", name, k);
                if (streq(k, "size"))
                        return berr_set(err, EINVAL, "create %s: quota size requested but no quota support", name);
                if (!streq(k, "type") && !streq(k, "device") && !streq(k, "o"))
                        return berr_set(err, EINVAL, "create %s: invalid option: \"%s\"", name, k);
        }
        /* Docker's mandatory pairs: device needs type, type and o need device */
        static const char *const need[][2] = { { "device", "type" }, { "type", "device" }, { "o", "device" } };
        for (size_t i = 0; i < ELEMENTSOF(need); i++)
                if (json_object_get(opts, need[i][0]) && !json_object_get(opts, need[i][1]))
                        return berr_set(err, EINVAL, "create %s: missing required option: \"%s\"", name, need[i][1]);
        return 0;
}

static json_t *json_col(sqlite3_stmt *st, int col)
{
        const char *s = (const char *) sqlite3_column_text(st, col);
        json_t *j = s ? json_loads(s, 0, NULL) : NULL;
        if (j && !json_is_object(j)) {
                json_decref(j);
                j = NULL;
        }
        return j;
}

static Volume *volume_from_row(sqlite3_stmt *st)
{
        Volume *v = xcalloc(1, sizeof(*v));
        v->name = xstrdup((const char *) sqlite3_column_text(st, 0));
        v->driver = xstrdup((const char *) sqlite3_column_text(st, 1) ?: "local");
        v->created = sqlite3_column_int64(st, 2);
        v->labels = json_col(st, 3);
        v->options = json_col(st, 4);
        return v;
}

#define SELECT_COLS "SELECT name, driver, created, labels, options FROM volumes"

/* With vs->lock held. */
static int get_locked(VolumeStore *vs, const char *name, Volume **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(vs->store, SELECT_COLS " WHERE name = ?", NULL);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return -EIO;
        *ret = volume_from_row(st);
        return 0;
}

int volume_get(VolumeStore *vs, const char *name, Volume **ret, BerthError **err)
{
        pthread_mutex_lock(vs->lock);
        int r = get_locked(vs, name, ret);
        pthread_mutex_unlock(vs->lock);
        if (r == -ENOENT)
                return berr_set(err, ENOENT, "get %s: no such volume", name);
        if (r < 0)
                return berr_set(err, EIO, "get %s: cannot read the state store", name);
        return 0;
}

int volume_list(VolumeStore *vs, Volume ***ret, size_t *ret_n, BerthError **err)
{
        pthread_mutex_lock(vs->lock);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(vs->store, SELECT_COLS " ORDER BY name", err);
        if (!st) {
                pthread_mutex_unlock(vs->lock);
                return -EIO;
        }
        Volume **v = NULL;
        size_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
                Volume **nv = xrealloc(v, (n + 1) * sizeof(*v));
                v = nv;
                v[n++] = volume_from_row(st);
        }
        pthread_mutex_unlock(vs->lock);
        *ret = v;
        *ret_n = n;
        return 0;
}

int volume_create(VolumeStore *vs, const char *name, const char *driver, json_t *options, json_t *labels,
                  Volume **ret, bool *ret_created, BerthError **err)
{
        char rnd[65];
        if (!name || !*name) {
                int r = random_hex_id(rnd);
                if (r < 0)
                        return berr_set(err, -r, "cannot generate a volume name");
                name = rnd;
        }
        if (driver && *driver && !streq(driver, "local"))
                return berr_set(err, ENOENT, "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                                name, driver, driver);
        int r = volume_name_check(name, err);
        if (r < 0)
                return r;
        if (options && !json_is_null(options) && !json_is_object(options))
                return berr_set(err, EINVAL, "create %s: invalid options", name);
        if (json_object_size(options) > 0) {
                r = options_check(name, options, err);
                if (r < 0)
                        return r;
        }
        const char *k;
        json_t *lv;
        json_object_foreach(labels, k, lv) if (!json_is_string(lv)) return berr_set(err, EINVAL, "create %s: label "
                                                                                    "%s must be a string", name, k);

        pthread_mutex_lock(vs->lock);
        Volume *v = NULL;
        r = get_locked(vs, name, &v);
        if (r == 0) {
                pthread_mutex_unlock(vs->lock);
                *ret = v;
                if (ret_created)
                        *ret_created = false;
                return 0;
        }
        /* The directory first, then the row: a crash leaves a directory without a row, which
         * volume_reconcile removes. */
        _cleanup_free_ char *dir = xasprintf("%s/%s", vs->root, name);
        _cleanup_free_ char *data = xasprintf("%s/_data", dir);
        r = mkdir_p(data, 0755);
        if (r < 0) {
                pthread_mutex_unlock(vs->lock);
                return berr_set(err, -r, "create %s: error while creating volume root path '%s': %s", name, data,
                                strerror(-r));
        }
        (void) chmod(dir, 0701);
        crash_point("volume-create-before-record");
        v = xcalloc(1, sizeof(*v));
        v->name = xstrdup(name);
        v->driver = xstrdup("local");
        v->created = now_ns();
        v->labels = json_object_size(labels) ? json_deep_copy(labels) : NULL;
        v->options = json_object_size(options) ? json_deep_copy(options) : NULL;
        _cleanup_free_ char *lj = v->labels ? json_dumps(v->labels, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        _cleanup_free_ char *oj = v->options ? json_dumps(v->options, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                vs->store, "INSERT INTO volumes (name, driver, created, labels, options) VALUES (?,?,?,?,?)", NULL);
        r = -EIO;
        if (st) {
                sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, v->driver, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, v->created);
                if (lj)
                        sqlite3_bind_text(st, 4, lj, -1, SQLITE_STATIC);
                if (oj)
                        sqlite3_bind_text(st, 5, oj, -1, SQLITE_STATIC);
                r = store_write_fault(vs->store) < 0 ? -EIO : sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        }
        pthread_mutex_unlock(vs->lock);
        if (r < 0) {
                rm_rf(dir);
                volume_free(v);
                return berr_set(err, EIO, "create %s: cannot record the volume in the state store", name);
        }
        events_volume(vs->events, v->name, v->driver, "create", NULL);
        *ret = v;
        if (ret_created)
                *ret_created = true;
        return 0;
}

json_t *volume_json(VolumeStore *vs, const Volume *v)
{
        _cleanup_free_ char *created = format_rfc3339(v->created - v->created % 1000000000LL, true);
        return json_pack("{s:s,s:s,s:O?,s:s+++,s:s,s:O?,s:s}", "CreatedAt", created, "Driver", v->driver, "Labels",
                         v->labels, "Mountpoint", vs->root, "/", v->name, "/_data", "Name", v->name, "Options",
                         v->options, "Scope", "local");
}

/* ---- mounts of the local driver ---- */

static bool is_mountpoint(const char *path)
{
        _cleanup_free_ char *text = NULL;
        if (read_file("/proc/self/mountinfo", &text, NULL) < 0)
                return false;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f = line;
                for (int i = 0; i < 4 && f; i++)
                        if ((f = strchr(f, ' ')))
                                f++;
                if (!f)
                        continue;
                size_t n = strcspn(f, " ");
                if (n == strlen(path) && strneq(f, path, n))
                        return true;
        }
        return false;
}

/* The "o" option split into mount flags and data, as Docker's mount package does. */
static unsigned long parse_o(const char *o, char **ret_data)
{
        static const struct {
                const char *name;
                unsigned long set, clear;
        } map[] = {
                { "ro", MS_RDONLY, 0 },     { "rw", 0, MS_RDONLY },         { "nosuid", MS_NOSUID, 0 },
                { "suid", 0, MS_NOSUID },   { "nodev", MS_NODEV, 0 },       { "dev", 0, MS_NODEV },
                { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },       { "sync", MS_SYNCHRONOUS, 0 },
                { "async", 0, MS_SYNCHRONOUS }, { "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
                { "nodiratime", MS_NODIRATIME, 0 }, { "relatime", MS_RELATIME, 0 },
                { "strictatime", MS_STRICTATIME, 0 }, { "bind", MS_BIND, 0 }, { "rbind", MS_BIND | MS_REC, 0 },
                { "remount", MS_REMOUNT, 0 }, { "defaults", 0, 0 },
        };
        unsigned long f = 0;
        _cleanup_strv_free_ char **data = NULL;
        _cleanup_free_ char *c = xstrdup(o ? o : "");
        char *save = NULL;
        for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(map) && !known; i++)
                        if (streq(t, map[i].name)) {
                                f = (f | map[i].set) & ~map[i].clear;
                                known = true;
                        }
                if (!known)
                        strv_extend(&data, t);
        }
        size_t len = 1;
        for (size_t i = 0; data && data[i]; i++)
                len += strlen(data[i]) + 1;
        char *d = xmalloc(len);
        d[0] = 0;
        for (size_t i = 0; data && data[i]; i++) {
                if (i)
                        strcat(d, ",");
                strcat(d, data[i]);
        }
        *ret_data = d;
        return f;
}

static int driver_mount(const Volume *v, const char *path, BerthError **err)
{
        const char *type = json_str(v->options, "type"), *dev = json_str(v->options, "device");
        const char *o = json_str(v->options, "o");
        _cleanup_free_ char *data = NULL;
        unsigned long flags = parse_o(o, &data);
        if (type && streq(type, "none") && !(flags & MS_BIND))
                type = NULL;
        int r = mount(dev, path, flags & MS_BIND ? NULL : type, flags & ~MS_RDONLY, *data ? data : NULL);
        if (r == 0 && (flags & (MS_RDONLY | MS_BIND)) == (MS_RDONLY | MS_BIND))
                r = mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
        else if (r == 0 && (flags & MS_RDONLY))
                r = mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY, *data ? data : NULL);
        if (r < 0) {
                int e = errno;
                return berr_set(err, e, "error while mounting volume '%s': failed to mount local volume: mount "
                                "%s:%s, data: %s: %s", path, dev ? dev : "", path, o ? o : "", go_strerror(e));
        }
        return 0;
}

static VolumeRef *ref_find(VolumeStore *vs, const char *name)
{
        for (size_t i = 0; i < vs->n_refs; i++)
                if (streq(vs->refs[i].name, name))
                        return &vs->refs[i];
        return NULL;
}

int volume_mount(VolumeStore *vs, const Volume *v, const char *user, char **ret_path, BerthError **err)
{
        _cleanup_free_ char *path = volume_data_path(vs, v->name);
        pthread_mutex_lock(&vs->mount_lock);
        VolumeRef *ref = ref_find(vs, v->name);
        if (!ref) {
                VolumeRef *nv = xrealloc(vs->refs, (vs->n_refs + 1) * sizeof(*nv));
                vs->refs = nv;
                ref = &vs->refs[vs->n_refs++];
                *ref = (VolumeRef){ .name = xstrdup(v->name) };
        }
        int r = 0;
        if (json_object_size(v->options) > 0 && !ref->mounted) {
                /* A mount that a daemon before us left (it was restarted with users) is ours. */
                if (is_mountpoint(path))
                        ref->mounted = true;
                else {
                        struct stat st;
                        if (stat(path, &st) < 0)
                                (void) mkdir_p(path, 0755);
                        r = driver_mount(v, path, err);
                        if (r == 0)
                                ref->mounted = true;
                }
        }
        if (r == 0 && !strv_contains(ref->users, user))
                strv_extend(&ref->users, user);
        pthread_mutex_unlock(&vs->mount_lock);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(path);
        return 0;
}

static void ref_drop(VolumeStore *vs, VolumeRef *ref)
{
        free(ref->name);
        strv_free(ref->users);
        size_t i = (size_t) (ref - vs->refs);
        memmove(&vs->refs[i], &vs->refs[i + 1], (vs->n_refs - i - 1) * sizeof(*ref));
        vs->n_refs--;
}

bool volume_unmount(VolumeStore *vs, const char *name, const char *user)
{
        _cleanup_free_ char *path = volume_data_path(vs, name);
        bool held = false;
        pthread_mutex_lock(&vs->mount_lock);
        VolumeRef *ref = ref_find(vs, name);
        if (ref) {
                char **u = ref->users;
                size_t n = strv_length(u);
                for (size_t i = 0; i < n; i++)
                        if (streq(u[i], user)) {
                                free(u[i]);
                                memmove(&u[i], &u[i + 1], (n - i) * sizeof(char *));
                                held = true;
                                break;
                        }
                if (strv_length(ref->users) == 0) {
                        if (ref->mounted)
                                (void) umount2(path, MNT_DETACH);
                        ref_drop(vs, ref);
                }
        }
        pthread_mutex_unlock(&vs->mount_lock);
        return held;
}

int volume_remove(VolumeStore *vs, const char *name, BerthError **err)
{
        _cleanup_volume_ Volume *v = NULL;
        int r = volume_get(vs, name, &v, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = xasprintf("%s/%s", vs->root, name);
        _cleanup_free_ char *data = volume_data_path(vs, name);
        /* Whatever is mounted on _data goes first: removing the files of a bind of a host
         * directory would remove the host's files. */
        pthread_mutex_lock(&vs->mount_lock);
        VolumeRef *ref = ref_find(vs, name);
        if (ref)
                ref_drop(vs, ref);
        for (int i = 0; i < 8 && is_mountpoint(data); i++)
                (void) umount2(data, MNT_DETACH);
        bool still = is_mountpoint(data);
        pthread_mutex_unlock(&vs->mount_lock);
        if (still)
                return berr_set(err, EBUSY, "remove %s: cannot unmount %s", name, data);
        pthread_mutex_lock(vs->lock);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(vs->store, "DELETE FROM volumes WHERE name = ?", NULL);
        r = -EIO;
        if (st) {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                r = store_write_fault(vs->store) < 0 ? -EIO : sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        }
        pthread_mutex_unlock(vs->lock);
        if (r < 0)
                return berr_set(err, EIO, "remove %s: cannot delete the volume from the state store", name);
        /* The row is gone: a crash now leaves a directory without a row, removed at start. */
        crash_point("volume-remove-after-delete");
        rm_rf(dir);
        events_volume(vs->events, name, v->driver, "destroy", NULL);
        return 0;
}

void volume_reconcile(VolumeStore *vs)
{
        Volume **all = NULL;
        size_t n = 0;
        if (volume_list(vs, &all, &n, NULL) < 0)
                return;
        pthread_mutex_lock(&vs->mount_lock);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *data = volume_data_path(vs, all[i]->name);
                if (!ref_find(vs, all[i]->name) && is_mountpoint(data)) {
                        if (umount2(data, MNT_DETACH) < 0)
                                log_warn("reconcile: cannot unmount volume %s: %m", all[i]->name);
                        else
                                log_info("reconcile: unmounted volume %s: no running container uses it",
                                         all[i]->name);
                }
        }
        pthread_mutex_unlock(&vs->mount_lock);
        /* Directories without a row: a create or a removal that a crash interrupted. */
        DIR *d = opendir(vs->root);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                bool known = false;
                for (size_t i = 0; i < n && !known; i++)
                        known = streq(all[i]->name, de->d_name);
                if (known)
                        continue;
                _cleanup_free_ char *dir = xasprintf("%s/%s", vs->root, de->d_name);
                _cleanup_free_ char *data = xasprintf("%s/_data", dir);
                if (is_mountpoint(data) && umount2(data, MNT_DETACH) < 0)
                        continue;
                if (is_mountpoint(data))
                        continue;
                rm_rf(dir);
                log_info("reconcile: removed volume directory %s: no record", de->d_name);
        }
        if (d)
                closedir(d);
        volume_list_free(all, n);
}
