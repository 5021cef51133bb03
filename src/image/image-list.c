/* Reading the image store: list (with filters), inspect, history, system df. */
#include "image.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "state/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

/* ---- list ---- */

/* The row of the image ref names (caller holds e->lock); its id is row.id. */
static int load_ref_locked(ImageStore *e, const char *ref, ImgRow *ret, BerthError **err)
{
        _cleanup_free_ char *id = NULL;
        int r = image_resolve_locked(e, ref, &id, NULL, err);
        if (r < 0)
                return r;
        return image_row_load(e, id, ret, err);
}

int image_parse_time_filter(const char *v, int64_t *ret_ns, BerthError **err)
{
        if (parse_docker_time(v, now_ns(), ret_ns) < 0)
                return berr_set(err, EINVAL, "invalid value for 'until' filter: failed to parse value as time or "
                                "duration: \"%s\"", v ? v : "");
        return 0;
}

static bool ref_matches(const char *pattern, const char *full)
{
        _cleanup_image_ref_ ImageRef *r = NULL;
        if (image_ref_parse(full, &r, NULL) < 0)
                return false;
        _cleanup_free_ char *fam = image_ref_familiar(r);
        _cleanup_free_ char *name = image_ref_familiar_name(r);
        return fnmatch(pattern, fam, FNM_PATHNAME) == 0 || fnmatch(pattern, name, FNM_PATHNAME) == 0;
}

int image_check_filters(json_t *filters, const char *const *allowed, BerthError **err)
{
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v)
        {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (streq(allowed[i], k))
                                ok = true;
                if (!ok)
                        return berr_set(err, EINVAL, "invalid filter '%s'", k);
        }
        return 0;
}

/* Args.GetBoolOrDefault("dangling"): true/1 or false/0, never both. */
int image_dangling_filter(json_t *filters, int *ret, BerthError **err)
{
        json_t *d = json_object_get(filters, "dangling");
        *ret = -1;
        bool v;
        int r = json_filter_bool(d, "dangling", false, &v, err);
        if (r == 0 && d)
                *ret = v;
        return r;
}

static json_t *summary(ImageStore *e, ImgRow *row, json_t *cfg, char **names, json_t *ref_filter, bool shared_size)
{
        json_t *tags, *digests;
        image_split_refs(names, &tags, &digests);
        if (ref_filter && json_array_size(ref_filter) > 0) {
                json_t *ft = json_array();
                for (size_t i = 0; names && names[i]; i++) {
                        if (strchr(names[i], '@'))
                                continue;
                        size_t k;
                        json_t *p;
                        json_array_foreach(ref_filter, k, p) if (ref_matches(json_string_value(p), names[i]))
                        {
                                _cleanup_free_ char *f = image_ref_familiarize(names[i]);
                                json_array_append_new(ft, json_string(f));
                                break;
                        }
                }
                json_decref(tags);
                tags = ft;
        }
        json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
        int64_t size = image_size(e, row->top_layer);
        json_t *j = json_object();
        json_object_set_new(j, "Containers", json_integer(image_containers_using(e, row->id)));
        json_object_set_new(j, "Created", json_integer(row->created / 1000000000LL));
        json_object_set_new(j, "Id", json_string(row->id));
        json_object_set_new(j, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
        json_object_set_new(j, "ParentId", json_string(row->parent ? row->parent : ""));
        json_object_set_new(j, "RepoDigests", digests);
        json_object_set_new(j, "RepoTags", tags);
        json_object_set_new(j, "SharedSize", json_integer(shared_size ? 0 : -1));
        json_object_set_new(j, "Size", json_integer(size));
        return j;
}

int image_list(ImageStore *e, json_t *filters, bool all, bool shared_size, json_t **ret, BerthError **err)
{
        static const char *const allowed[] = { "dangling", "label", "before", "since", "reference", "until", NULL };
        int r = image_check_filters(filters, allowed, err);
        if (r < 0)
                return r;
        int dangling;
        r = image_dangling_filter(filters, &dangling, err);
        if (r < 0)
                return r;
        LOCKED(e);
        int64_t before = INT64_MAX, since = INT64_MIN, until = INT64_MAX;
        json_t *bf = json_object_get(filters, "before"), *sf = json_object_get(filters, "since");
        for (int w = 0; w < 2; w++) {
                json_t *arr = w ? sf : bf;
                if (!arr || json_array_size(arr) == 0)
                        continue;
                _cleanup_(image_row_clear) ImgRow b = { 0 };
                r = load_ref_locked(e, json_string_value(json_array_get(arr, 0)), &b, err);
                if (r < 0)
                        return r;
                if (w)
                        since = b.created;
                else
                        before = b.created;
        }
        json_t *uf = json_object_get(filters, "until");
        if (uf && json_array_size(uf) > 0) {
                r = image_parse_time_filter(json_string_value(json_array_get(uf, 0)), &until, err);
                if (r < 0)
                        return r;
        }
        json_t *label_f = json_object_get(filters, "label");
        json_t *ref_f = json_object_get(filters, "reference");

        /* The plain list (what `docker images` asks for) is cached. Every input of it (images, refs,
         * layers, containers) is in the store, so any row change there since makes it stale; reads
         * inside an open transaction may see changes that are then rolled back, so never cache those. */
        bool cacheable = !all && !shared_size && json_object_size(filters) == 0 &&
                         sqlite3_get_autocommit(e->store->db);
        int64_t gen = sqlite3_total_changes64(e->store->db);
        if (cacheable && e->list_cache && e->list_cache_gen == gen) {
                *ret = json_deep_copy(e->list_cache);
                return 0;
        }

        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT " IMG_COLS " FROM images ORDER BY created DESC, id", err);
        if (!st)
                return -EIO;
        json_t *out = json_array();
        while (sqlite3_step(st) == SQLITE_ROW) {
                _cleanup_(image_row_clear) ImgRow row = { 0 };
                image_row_fill(st, &row);
                _cleanup_strv_free_ char **names = image_ref_names(e, row.id);
                bool tagged = false;
                for (size_t i = 0; names && names[i]; i++)
                        if (!strchr(names[i], '@'))
                                tagged = true;
                if (dangling == 1 && names)
                        continue;
                if (dangling == 0 && !names)
                        continue;
                if (!all && !tagged && !names && image_has_children(e, row.id))
                        continue;
                if (!(row.created < before && row.created > since && row.created <= until))
                        continue;
                _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
                if (label_f && json_array_size(label_f) > 0 &&
                    !json_labels_match(json_object_get(json_object_get(cfg, "config"), "Labels"), label_f))
                        continue;
                json_t *s = summary(e, &row, cfg, names, ref_f, shared_size);
                if (ref_f && json_array_size(ref_f) > 0 && json_array_size(json_object_get(s, "RepoTags")) == 0) {
                        json_decref(s);
                        continue;
                }
                json_array_append_new(out, s);
        }
        if (cacheable) {
                json_decref(e->list_cache);
                e->list_cache = json_deep_copy(out);
                e->list_cache_gen = gen;
        }
        *ret = out;
        return 0;
}

/* ---- inspect, history ---- */

/* The image config's "config" in the 1.52 inspect shape: only set fields. */
static json_t *inspect_config(json_t *c)
{
        static const char *const keys[] = { "User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped",
                                            "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopSignal",
                                            "Shell" };
        json_t *o = json_object();
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_t *v = json_object_get(c, keys[i]);
                if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
                    (json_is_false(v)) || (json_is_array(v) && json_array_size(v) == 0 && !streq(keys[i], "Cmd")) ||
                    (json_is_object(v) && json_object_size(v) == 0))
                        continue;
                json_object_set(o, keys[i], v);
        }
        return o;
}

int image_inspect(ImageStore *e, const char *ref, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = load_ref_locked(e, ref, &row, err);
        if (r < 0)
                return r;
        const char *id = row.id;
        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
        if (!cfg)
                return berr_set(err, EIO, "image %s: corrupt config", id);
        _cleanup_strv_free_ char **names = image_ref_names(e, id);
        json_t *tags, *digests;
        image_split_refs(names, &tags, &digests);
        int64_t size = image_size(e, row.top_layer);
        _cleanup_strv_free_ char **chain = image_layer_chain(e, row.top_layer);
        json_t *j = json_object();
        json_object_set_new(j, "Id", json_string(id));
        json_object_set_new(j, "RepoTags", tags);
        json_object_set_new(j, "RepoDigests", digests);
        if (row.parent)
                json_object_set_new(j, "Parent", json_string(row.parent));
        const char *s;
        if ((s = json_str(cfg, "comment")) && *s)
                json_object_set_new(j, "Comment", json_string(s));
        if ((s = json_str(cfg, "created")))
                json_object_set_new(j, "Created", json_string(s));
        /* Kept for the compat layer (API < 1.45), removed there for newer clients. */
        json_object_set_new(j, "Container", json_string(json_str(cfg, "container") ?: ""));
        json_object_set_new(j, "ContainerConfig",
                            image_ordered_container_config(json_object_get(cfg, "container_config")));
        if ((s = json_str(cfg, "docker_version")) && *s)
                json_object_set_new(j, "DockerVersion", json_string(s));
        if ((s = json_str(cfg, "author")) && *s)
                json_object_set_new(j, "Author", json_string(s));
        json_object_set_new(j, "Config", inspect_config(json_object_get(cfg, "config")));
        json_object_set_new(j, "Architecture", json_string(json_str(cfg, "architecture") ?: ""));
        if ((s = json_str(cfg, "variant")) && *s)
                json_object_set_new(j, "Variant", json_string(s));
        json_object_set_new(j, "Os", json_string(json_str(cfg, "os") ?: "linux"));
        if ((s = json_str(cfg, "os.version")) && *s)
                json_object_set_new(j, "OsVersion", json_string(s));
        json_object_set_new(j, "Size", json_integer(size));
        json_t *gd = json_object();
        size_t n = strv_length(chain);
        if (n > 0) {
                _cleanup_free_ char *top = image_layer_path(e, chain[n - 1]);
                _cleanup_free_ char *upper = xasprintf("%s/diff", top);
                /* overlay2's names for the top layer's directories, as Docker shows them */
                json_object_set_new(gd, "MergedDir", json_sprintf("%s/merged", top));
                json_object_set_new(gd, "UpperDir", json_string(upper));
                json_object_set_new(gd, "WorkDir", json_sprintf("%s/work", top));
                if (n > 1) {
                        size_t cap = 1;
                        for (size_t i = 0; i + 1 < n; i++)
                                cap += strlen(e->data_root) + 100;
                        char *lower = xcalloc(1, cap);
                        for (size_t i = n - 1; i-- > 0;) {
                                _cleanup_free_ char *lp = image_layer_path(e, chain[i]);
                                if (*lower)
                                        strcat(lower, ":");
                                strcat(lower, lp);
                                strcat(lower, "/diff");
                        }
                        json_object_set_new(gd, "LowerDir", json_string(lower));
                        free(lower);
                }
        }
        json_object_set_new(j, "GraphDriver", json_pack("{s:o,s:s}", "Data", gd, "Name", "overlay2"));
        json_t *layers = json_array();
        json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        size_t i;
        json_t *v;
        json_array_foreach(diffs, i, v) json_array_append(layers, v);
        json_object_set_new(j, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers));
        json_t *meta = json_object();
        int64_t last = image_count_sql(e, "SELECT coalesce(max(added),0) FROM refs WHERE image_id=?", id);
        if (last > 0) {
                _cleanup_free_ char *t = format_rfc3339(last, true);
                json_object_set_new(meta, "LastTagTime", json_string(t));
        }
        json_object_set_new(j, "Metadata", meta);
        *ret = j;
        return 0;
}

int image_history(ImageStore *e, const char *ref, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = load_ref_locked(e, ref, &row, err);
        if (r < 0)
                return r;
        const char *id = row.id;
        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
        _cleanup_strv_free_ char **chain = image_layer_chain(e, row.top_layer);
        json_t *out = json_array();
        size_t li = 0, i;
        json_t *h;
        json_array_foreach(json_object_get(cfg, "history"), i, h)
        {
                int64_t size = 0;
                if (!json_bool(h, "empty_layer")) {
                        if (chain && li < strv_length(chain))
                                size = image_layer_size(e, chain[li]);
                        li++;
                }
                int64_t created = 0;
                if (json_str(h, "created"))
                        parse_rfc3339(json_str(h, "created"), &created);
                json_t *item = json_object();
                json_object_set_new(item, "Comment", json_string(json_str(h, "comment") ?: ""));
                json_object_set_new(item, "Created", json_integer(created / 1000000000LL));
                json_object_set_new(item, "CreatedBy", json_string(json_str(h, "created_by") ?: ""));
                json_object_set_new(item, "Id", json_string("<missing>"));
                json_object_set_new(item, "Size", json_integer(size));
                json_object_set_new(item, "Tags", json_null());
                json_array_insert_new(out, 0, item);
        }
        /* The newest entry is this image; walk local parents for the ones below. */
        _cleanup_free_ char *cur = xstrdup(id);
        for (i = 0; i < json_array_size(out) && cur; i++) {
                json_t *item = json_array_get(out, i);
                json_object_set_new(item, "Id", json_string(cur));
                _cleanup_strv_free_ char **names = image_ref_names(e, cur);
                json_t *tags = json_array();
                for (size_t k = 0; names && names[k]; k++)
                        if (!strchr(names[k], '@')) {
                                _cleanup_free_ char *f = image_ref_familiarize(names[k]);
                                json_array_append_new(tags, json_string(f));
                        }
                json_object_set_new(item, "Tags", json_array_size(tags) ? tags : json_null());
                if (!json_array_size(tags))
                        json_decref(tags);
                _cleanup_(image_row_clear) ImgRow pr = { 0 };
                char *next = NULL;
                if (image_row_load(e, cur, &pr, NULL) == 0 && pr.parent)
                        next = xstrdup(pr.parent);
                free(cur);
                cur = next;
        }
        *ret = out;
        return 0;
}

/* ---- system df ---- */

int image_disk_usage(ImageStore *e, json_t **ret_images, long long *ret_layers_size, BerthError **err)
{
        _cleanup_json_ json_t *filters = json_object();
        json_t *list = NULL;
        int r = image_list(e, filters, true, true, &list, err);
        if (r < 0)
                return r;
        LOCKED(e);
        /* SharedSize: bytes of layers this image shares with at least one other image. */
        size_t i;
        json_t *img;
        json_array_foreach(list, i, img)
        {
                _cleanup_(image_row_clear) ImgRow row = { 0 };
                if (image_row_load(e, json_str(img, "Id"), &row, NULL) < 0)
                        continue;
                _cleanup_strv_free_ char **chain = image_layer_chain(e, row.top_layer);
                int64_t shared = 0;
                for (size_t k = 0; chain && chain[k]; k++) {
                        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                                e->store,
                                "WITH RECURSIVE ch(img,c) AS (SELECT id, top_layer FROM images WHERE top_layer IS NOT NULL "
                                "UNION SELECT ch.img, l.parent FROM layers l JOIN ch ON l.chain_id=ch.c WHERE l.parent IS NOT NULL) "
                                "SELECT count(DISTINCT img) FROM ch WHERE c=?",
                                NULL);
                        if (!st)
                                continue;
                        sqlite3_bind_text(st, 1, chain[k], -1, SQLITE_STATIC);
                        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 1)
                                shared += image_layer_size(e, chain[k]);
                }
                json_object_set_new(img, "SharedSize", json_integer(shared));
        }
        *ret_layers_size = image_count_sql(e, "SELECT coalesce(sum(size),0) FROM layers", NULL);
        *ret_images = list;
        return 0;
}

long long image_total_size(ImageStore *e, const char *id)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        if (image_row_load(e, id, &row, NULL) < 0)
                return 0;
        return image_size(e, row.top_layer);
}
