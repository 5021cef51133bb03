/* The volume verbs (engine/volumes.h). */
#include "engine/volumes.h"

#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/mountpoints.h"
#include "volume/volume.h"

int engine_volume_create(Engine *e, json_t *body, json_t **ret, BerthError **err)
{
        json_t *labels = json_object_get(body, "Labels"), *opts = json_object_get(body, "DriverOpts");
        if (labels && !json_is_null(labels) && !json_is_object(labels))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field CreateOptions.Labels of "
                                "type map[string]string", json_kind(labels));
        if (opts && !json_is_null(opts) && !json_is_object(opts))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field CreateOptions.DriverOpts "
                                "of type map[string]string", json_kind(opts));
        json_t *name = json_object_get(body, "Name"), *driver = json_object_get(body, "Driver");
        const char *bad_key = NULL;
        json_t *bad = NULL;
        if (name && !json_is_null(name) && !json_is_string(name))
                bad_key = "Name", bad = name;
        else if (driver && !json_is_null(driver) && !json_is_string(driver))
                bad_key = "Driver", bad = driver;
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field CreateOptions.%s of "
                                "type string", json_kind(bad), bad_key);
        if (json_object_get(body, "ClusterVolumeSpec") && !json_is_null(json_object_get(body, "ClusterVolumeSpec")))
                return berr_set(err, EINVAL, "cluster volumes are not supported: this node is not a swarm manager");
        /* a volume without a name is anonymous, as moby marks it */
        const char *n = json_string_value(name);
        _cleanup_json_ json_t *lab = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        if (!n || !*n)
                json_object_set_new(lab, VOLUME_ANONYMOUS_LABEL, json_string(""));
        _cleanup_volume_ Volume *v = NULL;
        int r = volume_create(e->volumes, n, json_string_value(driver), opts, lab, &v, NULL, err);
        if (r < 0)
                return r;
        *ret = volume_json(e->volumes, v);
        return 0;
}

int engine_volume_inspect(Engine *e, const char *name, json_t **ret, BerthError **err)
{
        _cleanup_volume_ Volume *v = NULL;
        int r = volume_get(e->volumes, name, &v, err);
        if (r < 0)
                return r;
        *ret = volume_json(e->volumes, v);
        return 0;
}

static size_t users_count(Engine *e, const char *name)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_strv_free_ char **u = mountpoints_volume_users_locked(e, name);
        pthread_mutex_unlock(&e->lock);
        return strv_length(u);
}

int engine_volume_list(Engine *e, json_t *filters, bool usage, json_t **ret, BerthError **err)
{
        bool dangling = false;
        json_t *dv = json_object_get(filters, "dangling");
        if (dv && json_filter_bool(dv, "dangling", false, &dangling, err) < 0)
                return -EINVAL;
        Volume **all = NULL;
        size_t n = 0;
        int r = volume_list(e->volumes, &all, &n, err);
        if (r < 0)
                return r;
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
                Volume *v = all[i];
                json_t *names = json_object_get(filters, "name"), *drivers = json_object_get(filters, "driver");
                json_t *lab = json_object_get(filters, "label"), *nlab = json_object_get(filters, "label!");
                if (json_array_size(names) && !json_filter_match(names, v->name))
                        continue;
                if (json_array_size(drivers) && !json_filter_match(drivers, v->driver))
                        continue;
                if (json_array_size(lab) && !json_labels_match(v->labels, lab))
                        continue;
                if (json_array_size(nlab) && json_labels_match(v->labels, nlab))
                        continue;
                size_t refs = (dv || usage) ? users_count(e, v->name) : 0;
                if (dv && dangling != (refs == 0))
                        continue;
                json_t *j = volume_json(e->volumes, v);
                if (usage) {
                        _cleanup_free_ char *p = volume_data_path(e->volumes, v->name);
                        json_object_set_new(j, "UsageData", json_pack("{s:I,s:I}", "Size", (json_int_t) dir_size(p),
                                                                      "RefCount", (json_int_t) refs));
                }
                json_array_append_new(out, j);
        }
        volume_list_free(all, n);
        *ret = out;
        return 0;
}

static int remove_unused(Engine *e, const char *name, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_strv_free_ char **users = mountpoints_volume_users_locked(e, name);
        pthread_mutex_unlock(&e->lock);
        if (users) {
                size_t len = 1;
                for (size_t i = 0; users[i]; i++)
                        len += strlen(users[i]) + 2;
                _cleanup_free_ char *list = xcalloc(1, len);
                for (size_t i = 0; users[i]; i++) {
                        if (i)
                                strcat(list, ", ");
                        strcat(list, users[i]);
                }
                return berr_set(err, EBUSY, "remove %s: volume is in use - [%s]", name, list);
        }
        return volume_remove(e->volumes, name, err);
}

int engine_volume_remove(Engine *e, const char *name, bool force, BerthError **err)
{
        _cleanup_berr_ BerthError *gerr = NULL;
        _cleanup_volume_ Volume *v = NULL;
        int r = volume_get(e->volumes, name, &v, &gerr);
        if (r == -ENOENT && force)
                return 0;
        if (r < 0) {
                if (err)
                        *err = TAKE_PTR(gerr);
                return r;
        }
        return remove_unused(e, v->name, err);
}

int engine_volume_prune(Engine *e, json_t *filters, bool all, json_t **ret_deleted, long long *ret_reclaimed,
                        BerthError **err)
{
        Volume **vols = NULL;
        size_t n = 0;
        int r = volume_list(e->volumes, &vols, &n, err);
        if (r < 0)
                return r;
        json_t *deleted = json_array();
        long long reclaimed = 0;
        json_t *lab = json_object_get(filters, "label"), *nlab = json_object_get(filters, "label!");
        for (size_t i = 0; i < n; i++) {
                Volume *v = vols[i];
                if (!all && !volume_is_anonymous(v))
                        continue;
                if (json_array_size(lab) && !json_labels_match(v->labels, lab))
                        continue;
                if (json_array_size(nlab) && json_labels_match(v->labels, nlab))
                        continue;
                _cleanup_free_ char *p = volume_data_path(e->volumes, v->name);
                long long size = dir_size(p);
                if (remove_unused(e, v->name, NULL) == 0) {
                        json_array_append_new(deleted, json_string(v->name));
                        reclaimed += size > 0 ? size : 0;
                }
        }
        volume_list_free(vols, n);
        *ret_deleted = deleted;
        *ret_reclaimed = reclaimed;
        return 0;
}
