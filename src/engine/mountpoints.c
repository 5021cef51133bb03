/* A container's mount points (engine/mountpoints.h). Each is an object of the record's
 * "MountPoints": Docker's Mounts fields (Type, Name, Source, Destination, Driver, Mode, RW,
 * Propagation) and berth's own: Named (a volume the user named; rm -v keeps it), CopyData (copy
 * the image's files into an empty volume), Subpath, NonRecursive, Create (-v makes a missing host
 * directory), TmpfsOptions (data options of a tmpfs). */
#include "engine/mountpoints.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "state/events.h"
#include "volume/volume.h"

static json_t *find_dest(json_t *mps, const char *dst)
{
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) if (streq(json_str(m, "Destination") ?: "", dst)) return m;
        return NULL;
}

static void set_or_replace(json_t *mps, json_t *m)
{
        size_t i;
        json_t *x;
        json_array_foreach(mps, i, x) if (streq(json_str(x, "Destination") ?: "", json_str(m, "Destination"))) {
                json_array_set_new(mps, i, m);
                return;
        }
        json_array_append_new(mps, m);
}

/* A volume for a mount point: the named one (created when missing) or a new anonymous one. */
static int take_volume(Engine *e, json_t *mp, const char *name, const char *driver, json_t *opts, json_t *labels,
                       char ***created, BerthError **err)
{
        _cleanup_json_ json_t *lab = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        if (!name || !*name)
                json_object_set_new(lab, VOLUME_ANONYMOUS_LABEL, json_string(""));
        _cleanup_volume_ Volume *v = NULL;
        bool made = false;
        int r = volume_create(e->volumes, name, driver, opts, lab, &v, &made, err);
        if (r < 0)
                return r;
        if (made)
                strv_extend(created, v->name);
        _cleanup_free_ char *path = volume_data_path(e->volumes, v->name);
        json_object_set_new(mp, "Name", json_string(v->name));
        json_object_set_new(mp, "Source", json_string(path));
        json_object_set_new(mp, "Driver", json_string(v->driver));
        json_object_set_new(mp, "Named", json_boolean(name && *name));
        return 0;
}

static json_t *new_mp(const char *type, const char *dst, bool rw)
{
        return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", type, "Source", "", "Destination", dst, "Mode", "",
                         "RW", rw, "Propagation", "");
}

static int resolve(Engine *e, json_t *cfg, json_t *hc, json_t *mps, char ***created, BerthError **err)
{
        size_t i;
        json_t *x;
        const char *vdriver = json_str(hc, "VolumeDriver");
        int r;
        /* VolumesFrom first: binds and mounts of the same destination replace them. */
        json_array_foreach(json_object_get(hc, "VolumesFrom"), i, x) {
                _cleanup_free_ char *id = NULL;
                bool rw;
                r = volume_from_parse(json_string_value(x), &id, &rw, err);
                if (r < 0)
                        return r;
                _cleanup_container_ Container *o = NULL;
                r = container_get(e, id, &o, err);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&e->lock);
                _cleanup_json_ json_t *omps = mountpoints_of_locked(o);
                pthread_mutex_unlock(&e->lock);
                size_t j;
                json_t *m;
                json_array_foreach(omps, j, m) {
                        json_t *cp = json_deep_copy(m);
                        json_object_set_new(cp, "RW", json_boolean(json_bool(m, "RW") && rw));
                        json_object_set_new(cp, "Mode", json_string(""));
                        json_object_set_new(cp, "CopyData", json_false());
                        set_or_replace(mps, cp);
                }
        }
        _cleanup_json_ json_t *mine = json_array(); /* destinations of Binds and Mounts: no duplicates */
        json_array_foreach(json_object_get(hc, "Binds"), i, x) {
                VolumeBind b;
                r = volume_bind_parse(json_string_value(x), &b, err);
                if (r < 0)
                        return r;
                if (find_dest(mine, b.destination)) {
                        r = berr_set(err, EINVAL, "Duplicate mount point: %s", b.destination);
                        volume_bind_done(&b);
                        return r;
                }
                json_t *mp = new_mp(b.bind ? "bind" : "volume", b.destination, b.rw);
                json_object_set_new(mp, "Mode", json_string(b.mode));
                if (b.bind) {
                        json_object_set_new(mp, "Source", json_string(b.source));
                        json_object_set_new(mp, "Propagation", json_string(b.propagation ?: "rprivate"));
                        json_object_set_new(mp, "Create", json_true());
                } else {
                        r = take_volume(e, mp, b.source, vdriver, NULL, NULL, created, err);
                        if (r == 0 && !*b.mode)
                                json_object_set_new(mp, "Mode", json_string("z"));
                        json_object_set_new(mp, "CopyData", json_boolean(!b.nocopy));
                }
                volume_bind_done(&b);
                if (r < 0) {
                        json_decref(mp);
                        return r;
                }
                json_array_append(mine, mp);
                set_or_replace(mps, mp);
        }
        json_array_foreach(json_object_get(hc, "Mounts"), i, x) {
                r = volume_mount_validate(x, true, err);
                if (r < 0)
                        return r;
                const char *type = json_str(x, "Type");
                _cleanup_free_ char *dst = volume_path_clean(json_str(x, "Target"));
                if (find_dest(mine, dst))
                        return berr_set(err, EINVAL, "Duplicate mount point: %s", dst);
                bool rw = !json_bool(x, "ReadOnly");
                json_t *mp = new_mp(type, dst, rw);
                if (streq(type, "bind")) {
                        _cleanup_free_ char *src = volume_path_clean(json_str(x, "Source"));
                        json_t *bo = json_object_get(x, "BindOptions");
                        const char *prop = json_str(bo, "Propagation");
                        json_object_set_new(mp, "Source", json_string(src));
                        json_object_set_new(mp, "Propagation", json_string(prop && *prop ? prop : "rprivate"));
                        if (json_bool(bo, "NonRecursive"))
                                json_object_set_new(mp, "NonRecursive", json_true());
                        if (json_bool(bo, "CreateMountpoint"))
                                json_object_set_new(mp, "Create", json_true());
                } else if (streq(type, "volume")) {
                        json_t *vo = json_object_get(x, "VolumeOptions");
                        json_t *dc = json_object_get(vo, "DriverConfig");
                        const char *drv = json_str(dc, "Name");
                        r = take_volume(e, mp, json_str(x, "Source"), drv && *drv ? drv : vdriver,
                                        json_object_get(dc, "Options"), json_object_get(vo, "Labels"), created, err);
                        if (r < 0) {
                                json_decref(mp);
                                return r;
                        }
                        json_object_set_new(mp, "Mode", json_string("z"));
                        json_object_set_new(mp, "CopyData", json_boolean(!json_bool(vo, "NoCopy")));
                        const char *sub = json_str(vo, "Subpath");
                        if (sub && *sub)
                                json_object_set_new(mp, "Subpath", json_string(sub));
                } else {
                        json_t *to = json_object_get(x, "TmpfsOptions");
                        _cleanup_free_ char *o = volume_tmpfs_options(json_int(to, "SizeBytes", 0),
                                                                      json_int(to, "Mode", 0), false);
                        json_object_set_new(mp, "TmpfsOptions", json_string(o));
                }
                json_array_append(mine, mp);
                set_or_replace(mps, mp);
        }
        /* The image's and Config's VOLUMEs: anonymous volumes where nothing else is mounted. */
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(cfg, "Volumes"), k, v) {
                _cleanup_free_ char *dst = volume_path_clean(k);
                if (k[0] != '/')
                        return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for "
                                        "type \"volume\": invalid mount path: '%s' mount path must be absolute", k, k);
                if (streq(dst, "/"))
                        return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for "
                                        "type \"volume\": invalid specification: destination can't be '/'", k);
                if (find_dest(mps, dst))
                        continue;
                json_t *mp = new_mp("volume", dst, true);
                r = take_volume(e, mp, NULL, vdriver, NULL, NULL, created, err);
                if (r < 0) {
                        json_decref(mp);
                        return r;
                }
                json_object_set_new(mp, "CopyData", json_true());
                json_array_append_new(mps, mp);
        }
        return 0;
}

int mountpoints_resolve(Engine *e, json_t *cfg, json_t *hc, json_t **ret, BerthError **err)
{
        _cleanup_strv_free_ char **created = NULL;
        json_t *mps = json_array();
        int r = resolve(e, cfg, hc, mps, &created, err);
        if (r < 0) {
                /* what this create made goes with it */
                for (size_t i = 0; created && created[i]; i++)
                        volume_remove(e->volumes, created[i], NULL);
                json_decref(mps);
                return r;
        }
        *ret = mps;
        return 0;
}

json_t *mountpoints_of_locked(Container *c)
{
        json_t *mps = json_object_get(c->config, "MountPoints");
        /* a copy: the caller drops it without the lock, and a reference count is not a lock */
        if (json_is_array(mps))
                return json_deep_copy(mps);
        /* a record from before mount points: its Binds were host paths only */
        mps = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(container_hostcfg(c), "Binds"), i, x) {
                VolumeBind b;
                if (volume_bind_parse(json_string_value(x), &b, NULL) < 0)
                        continue;
                if (b.bind) {
                        json_t *mp = new_mp("bind", b.destination, b.rw);
                        json_object_set_new(mp, "Source", json_string(b.source));
                        json_object_set_new(mp, "Mode", json_string(b.mode));
                        json_object_set_new(mp, "Propagation", json_string(b.propagation ?: "rprivate"));
                        json_object_set_new(mp, "Create", json_true());
                        set_or_replace(mps, mp);
                }
                volume_bind_done(&b);
        }
        json_array_foreach(json_object_get(container_hostcfg(c), "Mounts"), i, x) {
                const char *type = json_str(x, "Type") ?: "";
                if (!streq(type, "bind") && !streq(type, "tmpfs"))
                        continue;
                json_t *mp = new_mp(type, json_str(x, "Target") ?: "", !json_bool(x, "ReadOnly"));
                if (streq(type, "bind")) {
                        json_object_set_new(mp, "Source", json_string(json_str(x, "Source") ?: ""));
                        json_object_set_new(mp, "Propagation", json_string("rprivate"));
                } else {
                        json_t *to = json_object_get(x, "TmpfsOptions");
                        _cleanup_free_ char *o = volume_tmpfs_options(json_int(to, "SizeBytes", 0),
                                                                      json_int(to, "Mode", 0), false);
                        json_object_set_new(mp, "TmpfsOptions", json_string(o));
                }
                set_or_replace(mps, mp);
        }
        return mps;
}

json_t *mountpoints_api_json(json_t *mps)
{
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) {
                const char *type = json_str(m, "Type") ?: "";
                json_t *o = json_pack("{s:s}", "Type", type);
                if (streq(type, "volume"))
                        json_object_set_new(o, "Name", json_string(json_str(m, "Name") ?: ""));
                json_object_set_new(o, "Source", json_string(json_str(m, "Source") ?: ""));
                json_object_set_new(o, "Destination", json_string(json_str(m, "Destination") ?: ""));
                if (streq(type, "volume"))
                        json_object_set_new(o, "Driver", json_string(json_str(m, "Driver") ?: "local"));
                json_object_set_new(o, "Mode", json_string(json_str(m, "Mode") ?: ""));
                json_object_set_new(o, "RW", json_boolean(json_bool(m, "RW")));
                json_object_set_new(o, "Propagation", json_string(json_str(m, "Propagation") ?: ""));
                json_array_append_new(out, o);
        }
        return out;
}

static size_t depth(const char *p)
{
        size_t n = 0;
        for (; *p; p++)
                n += *p == '/';
        return n;
}

static int by_depth(const void *a, const void *b)
{
        json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        size_t dx = depth(json_str(x, "Destination") ?: ""), dy = depth(json_str(y, "Destination") ?: "");
        return dx < dy ? -1 : dx > dy ? 1 : 0;
}

static json_t *sorted_copy(json_t *mps)
{
        size_t n = json_array_size(mps);
        _cleanup_free_ json_t **v = xcalloc(n + 1, sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(mps, i);
        /* stable for equal depths: insertion sort keeps the order they were given in */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && by_depth(&v[j - 1], &v[j]) > 0; j--) {
                        json_t *t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                }
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append(out, v[i]);
        return out;
}

static void mount_event(Engine *e, const char *cid, json_t *mp, const char *action)
{
        json_t *extra = json_pack("{s:s}", "container", cid);
        if (streq(action, "mount")) {
                json_object_set_new(extra, "destination", json_string(json_str(mp, "Destination") ?: ""));
                json_object_set_new(extra, "read/write", json_string(json_bool(mp, "RW") ? "true" : "false"));
                json_object_set_new(extra, "propagation", json_string(json_str(mp, "Propagation") ?: ""));
        }
        events_volume(e->events, json_str(mp, "Name"), json_str(mp, "Driver"), action, extra);
}

/* The subpath inside the volume, resolved beneath it: the volume's content is the containers' to
 * write, so a symlink there must not lead the bind out of it. */
static int subpath_resolve(const char *volume, const char *sub, char **ret, BerthError **err)
{
        _cleanup_close_ int vfd = open(volume, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (vfd < 0)
                return berr_set(err, errno, "cannot access path %s: %s", volume, go_strerror(errno));
        struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
        _cleanup_close_ int fd = (int) syscall(SYS_openat2, vfd, sub, &how, sizeof(how));
        if (fd < 0)
                return berr_set(err, errno == EXDEV ? EINVAL : errno, "cannot access path %s/%s: %s", volume, sub,
                                errno == EXDEV ? "subpath leaves the volume" : go_strerror(errno));
        char link[64], buf[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, buf, sizeof(buf) - 1);
        if (n < 0)
                return berr_set(err, errno, "cannot access path %s/%s: %s", volume, sub, go_strerror(errno));
        buf[n] = 0;
        _cleanup_free_ char *real = realpath(volume, NULL);
        size_t rl = real ? strlen(real) : 0;
        if (!real || !startswith(buf, real) || (buf[rl] != '/' && buf[rl] != 0))
                return berr_set(err, EINVAL, "cannot access path %s/%s: subpath leaves the volume", volume, sub);
        *ret = xstrdup(buf);
        return 0;
}

int mountpoints_spec(Engine *e, Container *c, json_t *spec_mounts, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *all = mountpoints_of_locked(c);
        _cleanup_json_ json_t *mps = sorted_copy(all);
        pthread_mutex_unlock(&e->lock);
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) {
                const char *type = json_str(m, "Type") ?: "", *dst = json_str(m, "Destination") ?: "";
                bool rw = json_bool(m, "RW");
                const char *prop = json_str(m, "Propagation");
                if (streq(type, "tmpfs")) {
                        json_t *opts = json_pack("[sss]", "nosuid", "nodev", "noexec");
                        if (!rw)
                                json_array_append_new(opts, json_string("ro"));
                        _cleanup_free_ char *copy = xstrdup(json_str(m, "TmpfsOptions") ?: "");
                        char *save = NULL;
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                json_array_append_new(opts, json_string(t));
                        json_array_append_new(spec_mounts, json_pack("{s:s,s:s,s:s,s:o}", "source", "tmpfs",
                                                                     "destination", dst, "type", "tmpfs", "options",
                                                                     opts));
                        continue;
                }
                _cleanup_free_ char *src = NULL;
                bool copyup = false;
                if (streq(type, "volume")) {
                        _cleanup_volume_ Volume *v = NULL;
                        int r = volume_get(e->volumes, json_str(m, "Name") ?: "", &v, err);
                        if (r < 0)
                                return r;
                        r = volume_mount(e->volumes, v, c->id, &src, err);
                        if (r < 0)
                                return r;
                        mount_event(e, c->id, m, "mount");
                        const char *sub = json_str(m, "Subpath");
                        if (sub && *sub) {
                                char *full = NULL;
                                r = subpath_resolve(src, sub, &full, err);
                                if (r < 0)
                                        return r;
                                free(src);
                                src = full;
                        } else
                                copyup = json_bool(m, "CopyData");
                } else {
                        src = xstrdup(json_str(m, "Source") ?: "");
                        /* -v (unlike --mount) creates a missing host directory at each start, as dockerd
                         * does; a file in the way is left for the runtime's "not a directory" error. */
                        struct stat st;
                        if (json_bool(m, "Create") && stat(src, &st) < 0 && errno == ENOENT) {
                                int k = mkdir_p(src, 0755);
                                if (k < 0 && k != -ENOTDIR)
                                        return berr_set(err, EIO, "error while creating mount source path '%s': "
                                                        "mkdir %s: %s", src, src, go_strerror(k));
                        }
                }
                json_t *opts = json_pack("[ss]", json_bool(m, "NonRecursive") ? "bind" : "rbind", rw ? "rw" : "ro");
                if (prop && *prop)
                        json_array_append_new(opts, json_string(prop));
                if (copyup)
                        json_array_append_new(opts, json_string("copyup"));
                json_array_append_new(spec_mounts, json_pack("{s:s,s:s,s:s,s:o}", "source", src, "destination", dst,
                                                             "type", "bind", "options", opts));
        }
        return 0;
}

void mountpoints_release(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
        pthread_mutex_unlock(&e->lock);
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) {
                if (!streq(json_str(m, "Type") ?: "", "volume"))
                        continue;
                if (volume_unmount(e->volumes, json_str(m, "Name") ?: "", c->id))
                        mount_event(e, c->id, m, "unmount");
        }
}

char **mountpoints_volume_users_locked(Engine *e, const char *name)
{
        char **ids = NULL;
        ContainerTable *t = e->containers;
        for (size_t i = 0; t && i < t->n; i++) {
                Container *c = t->v[i];
                if (c->removed)
                        continue;
                _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
                size_t j;
                json_t *m;
                json_array_foreach(mps, j, m) if (streq(json_str(m, "Type") ?: "", "volume") &&
                                                 streq(json_str(m, "Name") ?: "", name) && !strv_contains(ids, c->id))
                        strv_extend(&ids, c->id);
        }
        return ids;
}

void mountpoints_remove_anonymous(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
        pthread_mutex_unlock(&e->lock);
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) {
                if (!streq(json_str(m, "Type") ?: "", "volume") || json_bool(m, "Named"))
                        continue;
                const char *name = json_str(m, "Name") ?: "";
                pthread_mutex_lock(&e->lock);
                _cleanup_strv_free_ char **users = mountpoints_volume_users_locked(e, name);
                pthread_mutex_unlock(&e->lock);
                bool other = false;
                for (size_t k = 0; users && users[k]; k++)
                        other |= !streq(users[k], c->id);
                if (!other)
                        volume_remove(e->volumes, name, NULL);
        }
}

void mountpoints_reconcile(Engine *e)
{
        size_t n;
        Container **all = container_list_all(e, &n);
        for (size_t i = 0; i < n; i++) {
                Container *c = all[i];
                pthread_mutex_lock(&e->lock);
                bool live = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
                _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
                pthread_mutex_unlock(&e->lock);
                if (!live)
                        continue;
                size_t j;
                json_t *m;
                json_array_foreach(mps, j, m) {
                        if (!streq(json_str(m, "Type") ?: "", "volume"))
                                continue;
                        _cleanup_volume_ Volume *v = NULL;
                        _cleanup_free_ char *p = NULL;
                        if (volume_get(e->volumes, json_str(m, "Name") ?: "", &v, NULL) == 0)
                                (void) volume_mount(e->volumes, v, c->id, &p, NULL);
                }
        }
        container_list_free(all, n);
        volume_reconcile(e->volumes);
}

int container_mount_points(Engine *e, Container *c, MountPoint **ret, size_t *n, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
        pthread_mutex_unlock(&e->lock);
        size_t k = json_array_size(mps);
        MountPoint *v = xcalloc(k + 1, sizeof(*v));
        size_t i;
        json_t *m;
        json_array_foreach(mps, i, m) {
                const char *type = json_str(m, "Type") ?: "";
                const char *src = json_str(m, "Source") ?: "";
                const char *sub = json_str(m, "Subpath");
                v[i].destination = xstrdup(json_str(m, "Destination") ?: "");
                v[i].type = xstrdup(type);
                v[i].name = xstrdup(json_str(m, "Name") ?: "");
                v[i].rw = json_bool(m, "RW");
                if (streq(type, "tmpfs") || !*src)
                        continue; /* nothing on the host: source stays NULL */
                /* a subpath is resolved beneath its volume, as a start does: the volume's symlinks are
                 * the containers' to write */
                int r = sub && *sub ? subpath_resolve(src, sub, &v[i].source, err) : 0;
                if (r < 0) {
                        mount_points_free(v, i + 1);
                        return r;
                }
                if (!v[i].source)
                        v[i].source = xstrdup(src);
        }
        *ret = v;
        *n = k;
        return 0;
}

void mount_points_free(MountPoint *m, size_t n)
{
        for (size_t i = 0; m && i < n; i++) {
                free(m[i].destination);
                free(m[i].source);
                free(m[i].type);
                free(m[i].name);
        }
        free(m);
}
