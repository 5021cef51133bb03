/* The image store: import, resolve, list, inspect, tag, delete, prune.
 * Metadata in the state store (tables layers, images, refs); layer contents
 * under <data-root>/image/layers/<chain-hex>/diff. Every change is one SQLite
 * transaction made after the layer directory is complete (renamed into place),
 * so a crash leaves at worst an unreferenced directory, which
 * image_store_reconcile() removes. */
#include "image.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

#define TMP_PREFIX "layer-"

static char *layers_dir(Engine *e)
{
        return xasprintf("%s/image/layers", e->cfg.data_root);
}

static char *layer_path(Engine *e, const char *chain_id)
{
        const char *hex = startswith(chain_id, "sha256:") ? chain_id + 7 : chain_id;
        return xasprintf("%s/image/layers/%s", e->cfg.data_root, hex);
}

static void unlockp(Engine **e)
{
        if (*e)
                pthread_mutex_unlock(&(*e)->lock);
}
#define LOCKED(e)                                                \
        pthread_mutex_lock(&(e)->lock);                          \
        _cleanup_(unlockp) _unused_ Engine *_locked_ = (e)

static char *col_text(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? strdup((const char *) t) : NULL;
}

/* ---- reconcile ---- */

int image_store_reconcile(Engine *e, BerthError **err)
{
        _cleanup_free_ char *ld = layers_dir(e);
        int r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        LOCKED(e);
        {
                _cleanup_closedir_ DIR *d = opendir(ld);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *cid = xasprintf("sha256:%s", de->d_name);
                        _cleanup_stmt_ sqlite3_stmt *st =
                                store_prepare(e->store, "SELECT 1 FROM layers WHERE chain_id=?", err);
                        if (!st)
                                return -EIO;
                        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
                        if (sqlite3_step(st) != SQLITE_ROW) {
                                _cleanup_free_ char *p = xasprintf("%s/%s", ld, de->d_name);
                                rm_rf(p);
                        }
                }
        }
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", e->cfg.data_root);
        _cleanup_closedir_ DIR *d = opendir(tmp);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (!startswith(de->d_name, TMP_PREFIX))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", tmp, de->d_name);
                rm_rf(p);
        }
        return 0;
}

/* ---- lookups (caller holds e->lock) ---- */

static bool image_exists(Engine *e, const char *id)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT 1 FROM images WHERE id=?", NULL);
        if (!st)
                return false;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW;
}

static int not_found(const char *ref, BerthError **err)
{
        _cleanup_image_ref_ ImageRef *r = NULL;
        if (image_ref_parse(ref, &r, NULL) == 0) {
                image_ref_default_tag(r);
                _cleanup_free_ char *f = image_ref_familiar(r);
                return berr_set(err, ENOENT, "No such image: %s", f);
        }
        return berr_set(err, ENOENT, "No such image: %s", ref);
}

/* ret_ref: the stored reference name the lookup matched, NULL for id lookups. */
static int resolve_locked(Engine *e, const char *ref, char **ret_id, char **ret_ref, BerthError **err)
{
        if (ret_ref)
                *ret_ref = NULL;
        if (!ref || !*ref)
                return berr_set(err, EINVAL, "invalid reference format");
        if ((strlen(ref) == 64 && is_hex(ref, 64)) || image_digest_valid(ref)) {
                _cleanup_free_ char *id = strlen(ref) == 64 ? xasprintf("sha256:%s", ref) : strdup(ref);
                if (!image_exists(e, id))
                        return berr_set(err, ENOENT, "No such image: %s", id);
                *ret_id = TAKE_PTR(id);
                return 0;
        }
        _cleanup_image_ref_ ImageRef *r = NULL;
        BerthError *perr = NULL;
        int pr = image_ref_parse(ref, &r, &perr);
        if (pr == 0) {
                image_ref_default_tag(r);
                _cleanup_free_ char *full = image_ref_full(r);
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT image_id FROM refs WHERE name=?", err);
                if (!st) {
                        berr_free(perr);
                        return -EIO;
                }
                sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        *ret_id = col_text(st, 0);
                        if (ret_ref)
                                *ret_ref = TAKE_PTR(full);
                        return 0;
                }
        }
        /* A unique prefix of an id, with or without "sha256:". */
        const char *hex = startswith(ref, "sha256:") ? ref + 7 : ref;
        size_t hl = strlen(hex);
        if (hl > 0 && hl <= 64 && is_hex(hex, hl)) {
                _cleanup_free_ char *pat = xasprintf("sha256:%s%%", hex);
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT id FROM images WHERE id LIKE ? LIMIT 2", err);
                if (!st) {
                        berr_free(perr);
                        return -EIO;
                }
                sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        _cleanup_free_ char *id = col_text(st, 0);
                        if (sqlite3_step(st) == SQLITE_ROW) {
                                berr_free(perr);
                                return berr_set(err, ENOENT, "No such image: %s (ambiguous id prefix, %s matches several images)",
                                                ref, ref);
                        }
                        berr_free(perr);
                        *ret_id = TAKE_PTR(id);
                        return 0;
                }
        }
        if (pr < 0) {
                int k = berr_set(err, perr->code, "%s", perr->msg);
                berr_free(perr);
                return k;
        }
        return not_found(ref, err);
}

int image_resolve(Engine *e, const char *ref, char **ret_id, BerthError **err)
{
        LOCKED(e);
        return resolve_locked(e, ref, ret_id, NULL, err);
}

typedef struct ImgRow {
        char *id;
        char *config;
        char *top_layer;
        char *parent;
        int64_t created;
        int64_t added;
} ImgRow;

static void img_row_clear(ImgRow *r)
{
        free(r->id);
        free(r->config);
        free(r->top_layer);
        free(r->parent);
        memset(r, 0, sizeof(*r));
}

static void fill_row(sqlite3_stmt *st, ImgRow *r)
{
        r->id = col_text(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        r->config = malloc((size_t) n + 1);
        if (b)
                memcpy(r->config, b, (size_t) n);
        r->config[n] = 0;
        r->top_layer = col_text(st, 2);
        r->parent = col_text(st, 3);
        r->created = sqlite3_column_int64(st, 4);
        r->added = sqlite3_column_int64(st, 5);
}

#define IMG_COLS "id, config, top_layer, parent, created, added"

static int load_row(Engine *e, const char *id, ImgRow *ret, BerthError **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT " IMG_COLS " FROM images WHERE id=?", err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
                return berr_set(err, ENOENT, "No such image: %s", id);
        fill_row(st, ret);
        return 0;
}

/* Chain ids bottom to top. */
static char **layer_chain(Engine *e, const char *top)
{
        char **l = NULL;
        _cleanup_free_ char *cur = top ? strdup(top) : NULL;
        while (cur) {
                strv_extend(&l, cur);
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT parent FROM layers WHERE chain_id=?", NULL);
                if (!st)
                        break;
                sqlite3_bind_text(st, 1, cur, -1, SQLITE_STATIC);
                char *next = sqlite3_step(st) == SQLITE_ROW ? col_text(st, 0) : NULL;
                free(cur);
                cur = next;
        }
        size_t n = strv_length(l);
        for (size_t i = 0; i < n / 2; i++) {
                char *t = l[i];
                l[i] = l[n - 1 - i];
                l[n - 1 - i] = t;
        }
        return l;
}

static int64_t layer_size(Engine *e, const char *chain)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT size FROM layers WHERE chain_id=?", NULL);
        if (!st)
                return 0;
        sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

static int64_t image_size(Engine *e, const char *top)
{
        _cleanup_strv_free_ char **chain = layer_chain(e, top);
        int64_t s = 0;
        for (size_t i = 0; chain && chain[i]; i++)
                s += layer_size(e, chain[i]);
        return s;
}

/* Stored reference names of an image, sorted. */
static char **image_ref_names(Engine *e, const char *id)
{
        char **l = NULL;
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT name FROM refs WHERE image_id=? ORDER BY name", NULL);
        if (!st)
                return NULL;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
                strv_push(&l, col_text(st, 0));
        return l;
}

static void split_refs(char **names, json_t **tags, json_t **digests)
{
        *tags = json_array();
        *digests = json_array();
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *f = image_ref_familiarize(names[i]);
                json_array_append_new(strchr(names[i], '@') ? *digests : *tags, json_string(f));
        }
}

static long long count_sql(Engine *e, const char *sql, const char *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        if (!st)
                return 0;
        if (arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

static long long containers_using(Engine *e, const char *id)
{
        return count_sql(e, "SELECT count(*) FROM containers WHERE image_id=?", id);
}

static bool has_children(Engine *e, const char *id)
{
        return count_sql(e, "SELECT count(*) FROM images WHERE parent=?", id) > 0;
}

/* ---- the three functions the container code uses ---- */

int image_get_config(Engine *e, const char *id, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        int r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *j = json_loads(row.config, 0, &je);
        if (!j)
                return berr_set(err, EIO, "image %s: corrupt config: %s", id, je.text);
        *ret = j;
        return 0;
}

int image_layer_dirs(Engine *e, const char *id, char ***ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        int r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **chain = layer_chain(e, row.top_layer);
        char **dirs = NULL;
        for (size_t i = 0; chain && chain[i]; i++) {
                _cleanup_free_ char *lp = layer_path(e, chain[i]);
                strv_push(&dirs, xasprintf("%s/diff", lp));
        }
        if (!dirs)
                dirs = calloc(1, sizeof(char *));
        *ret = dirs;
        return 0;
}

/* ---- import ---- */

static const char *go_arch(void)
{
        static struct utsname u;
        uname(&u);
        if (streq(u.machine, "x86_64"))
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        return u.machine;
}

/* container.Config in Go's field order (the order Docker writes). */
static json_t *ordered_container_config(json_t *c)
{
        static const char *const keys[] = { "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                                            "AttachStderr", "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env",
                                            "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir",
                                            "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels",
                                            "StopSignal", "StopTimeout", "Shell" };
        static const char *const omitempty[] = { "ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled",
                                                 "MacAddress", "StopSignal", "StopTimeout", "Shell" };
        json_t *o = json_object();
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_t *v = json_object_get(c, keys[i]);
                bool omit = false;
                for (size_t k = 0; k < ELEMENTSOF(omitempty); k++)
                        if (streq(keys[i], omitempty[k]))
                                omit = true;
                if (omit) {
                        if (v && !json_is_null(v))
                                json_object_set(o, keys[i], v);
                        continue;
                }
                if (v) {
                        json_object_set(o, keys[i], v);
                        continue;
                }
                const char *k = keys[i];
                if (streq(k, "Hostname") || streq(k, "Domainname") || streq(k, "User") || streq(k, "Image") ||
                    streq(k, "WorkingDir"))
                        json_object_set_new(o, k, json_string(""));
                else if (startswith(k, "Attach") || streq(k, "Tty") || streq(k, "OpenStdin") || streq(k, "StdinOnce"))
                        json_object_set_new(o, k, json_false());
                else
                        json_object_set_new(o, k, json_null());
        }
        return o;
}

static int chain_of(const char *parent_chain, const char *diff_id, char out[72])
{
        if (!parent_chain) {
                snprintf(out, 72, "%s", diff_id);
                return 0;
        }
        _cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
        char hex[65];
        sha256_hex(s, strlen(s), hex);
        snprintf(out, 72, "sha256:%s", hex);
        return 0;
}

int image_import(Engine *e, int fd, const ImageImportOptions *o, char **ret_id, BerthError **err)
{
        int r;
        _cleanup_image_ref_ ImageRef *ref = NULL;
        if (o->repo && *o->repo) {
                r = image_ref_parse(o->repo, &ref, err);
                if (r < 0)
                        return r;
                if (ref->digest)
                        return berr_set(err, EINVAL, "cannot import digest reference");
                if (o->tag && *o->tag) {
                        if (!image_ref_valid_tag(o->tag))
                                return berr_set(err, EINVAL, "invalid tag format");
                        free(ref->tag);
                        ref->tag = strdup(o->tag);
                }
                image_ref_default_tag(ref);
        }
        _cleanup_json_ json_t *cc = json_object();
        r = image_apply_changes(cc, o->changes, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *ld = layers_dir(e);
        r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/" TMP_PREFIX "XXXXXX", e->cfg.data_root);
        if (!mkdtemp(tmpl))
                return berr_set(err, errno, "cannot create a temporary directory in %s/tmp: %m", e->cfg.data_root);
        _cleanup_free_ char *diff = xasprintf("%s/diff", tmpl);
        _cleanup_free_ char *created = NULL, *bytes = NULL, *id = NULL, *refname = NULL, *final = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        LayerUnpackInfo info;
        if (mkdir(diff, 0755) < 0) {
                r = berr_set(err, errno, "cannot create %s: %m", diff);
                goto fail;
        }
        {
                /* The uncompressed tar is kept next to diff/: save and push need the exact bytes. */
                _cleanup_free_ char *tp = xasprintf("%s/layer.tar", tmpl);
                _cleanup_close_ int tfd = open(tp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (tfd < 0) {
                        r = berr_set(err, errno, "cannot create %s: %m", tp);
                        goto fail;
                }
                r = image_unpack_fd_tee(fd, diff, tfd, &info, err);
                if (r < 0)
                        goto fail;
        }

        char chain[72];
        chain_of(NULL, info.diff_id, chain);
        int64_t now = now_ns();
        created = format_rfc3339(now, true);
        const char *msg = o->message && *o->message ? o->message : "Imported from -";
        /* Top-level keys sorted (Docker marshals the config through a map); nested in struct order. */
        cfg = json_object();
        json_object_set_new(cfg, "architecture", json_string(go_arch()));
        json_object_set_new(cfg, "comment", json_string(msg));
        json_object_set_new(cfg, "config", ordered_container_config(cc));
        json_object_set_new(cfg, "container_config", ordered_container_config(NULL));
        json_object_set_new(cfg, "created", json_string(created));
        json_object_set_new(cfg, "docker_version", json_string(BERTH_VERSION));
        json_object_set_new(cfg, "history", json_pack("[{s:s,s:s}]", "created", created, "comment", msg));
        json_object_set_new(cfg, "os", json_string("linux"));
        json_object_set_new(cfg, "rootfs", json_pack("{s:s,s:[s]}", "type", "layers", "diff_ids", info.diff_id));
        bytes = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char hex[65];
        sha256_hex(bytes, strlen(bytes), hex);
        id = xasprintf("sha256:%s", hex);
        refname = ref ? image_ref_full(ref) : NULL;

        {
                LOCKED(e);
                final = layer_path(e, chain);
                bool created_dir = false;
                if (rename(tmpl, final) == 0)
                        created_dir = true;
                else if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = berr_set(err, errno, "cannot move layer into %s: %m", final);
                        goto fail;
                }
                store_begin(e->store);
                _cleanup_stmt_ sqlite3_stmt *l = store_prepare(
                        e->store, "INSERT OR IGNORE INTO layers(chain_id,diff_id,parent,size,created) VALUES(?,?,NULL,?,?)",
                        err);
                _cleanup_stmt_ sqlite3_stmt *im = store_prepare(
                        e->store,
                        "INSERT OR IGNORE INTO images(id,config,top_layer,parent,created,added) VALUES(?,?,?,NULL,?,?)",
                        err);
                _cleanup_stmt_ sqlite3_stmt *rf = store_prepare(
                        e->store, "INSERT OR REPLACE INTO refs(name,image_id,added) VALUES(?,?,?)", err);
                bool ok = l && im && rf;
                if (ok) {
                        sqlite3_bind_text(l, 1, chain, -1, SQLITE_STATIC);
                        sqlite3_bind_text(l, 2, info.diff_id, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(l, 3, info.size);
                        sqlite3_bind_int64(l, 4, now);
                        ok = sqlite3_step(l) == SQLITE_DONE;
                }
                if (ok) {
                        sqlite3_bind_text(im, 1, id, -1, SQLITE_STATIC);
                        sqlite3_bind_blob(im, 2, bytes, (int) strlen(bytes), SQLITE_STATIC);
                        sqlite3_bind_text(im, 3, chain, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(im, 4, now);
                        sqlite3_bind_int64(im, 5, now);
                        ok = sqlite3_step(im) == SQLITE_DONE;
                }
                if (ok && refname) {
                        sqlite3_bind_text(rf, 1, refname, -1, SQLITE_STATIC);
                        sqlite3_bind_text(rf, 2, id, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(rf, 3, now);
                        ok = sqlite3_step(rf) == SQLITE_DONE;
                }
                if (!ok || store_commit(e->store) < 0) {
                        if (!(err && *err))
                                berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
                        store_rollback(e->store);
                        if (created_dir)
                                rm_rf(final);
                        r = -EIO;
                        goto fail;
                }
        }
        rm_rf(tmpl); /* still there when the layer already existed */
        events_image(e, id, id, NULL, "import");
        *ret_id = TAKE_PTR(id);
        return 0;
fail:
        rm_rf(tmpl);
        return r;
}

/* ---- list ---- */

static int parse_time_filter(const char *v, int64_t *ret_ns, BerthError **err)
{
        char *end;
        double d = strtod(v, &end);
        if (end != v && *end == 0) {
                *ret_ns = (int64_t) (d * 1e9);
                return 0;
        }
        if (parse_rfc3339(v, ret_ns) == 0)
                return 0;
        /* Go durations relative to now: 10m, 1h30m, 45s */
        const char *p = v;
        double total = 0;
        while (*p) {
                double n = strtod(p, &end);
                if (end == p)
                        return berr_set(err, EINVAL, "failed to parse value as time or duration: \"%s\"", v);
                p = end;
                double mult;
                if (startswith(p, "ms"))
                        mult = 1e-3, p += 2;
                else if (*p == 'h')
                        mult = 3600, p++;
                else if (*p == 'm')
                        mult = 60, p++;
                else if (*p == 's')
                        mult = 1, p++;
                else
                        return berr_set(err, EINVAL, "failed to parse value as time or duration: \"%s\"", v);
                total += n * mult;
        }
        *ret_ns = now_ns() - (int64_t) (total * 1e9);
        return 0;
}

static bool labels_match(json_t *labels, json_t *want, bool negate)
{
        size_t i;
        json_t *v;
        json_array_foreach(want, i, v)
        {
                const char *s = json_string_value(v);
                const char *eq = strchr(s, '=');
                _cleanup_free_ char *k = eq ? strndup(s, (size_t) (eq - s)) : strdup(s);
                const char *have = json_str(labels, k);
                bool m = have && (!eq || streq(have, eq + 1));
                if (negate ? m : !m)
                        return false;
        }
        return true;
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

static int check_filters(json_t *filters, const char *const *allowed, BerthError **err)
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

static int dangling_filter(json_t *filters, int *ret, BerthError **err)
{
        json_t *d = json_object_get(filters, "dangling");
        *ret = -1;
        if (!d || json_array_size(d) == 0)
                return 0;
        const char *v = json_string_value(json_array_get(d, 0));
        if (streq(v, "true") || streq(v, "1"))
                *ret = 1;
        else if (streq(v, "false") || streq(v, "0"))
                *ret = 0;
        else
                return berr_set(err, EINVAL, "Invalid filter 'dangling=%s'", v);
        return 0;
}

static json_t *summary(Engine *e, ImgRow *row, json_t *cfg, char **names, json_t *ref_filter, bool shared_size)
{
        json_t *tags, *digests;
        split_refs(names, &tags, &digests);
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
        json_object_set_new(j, "Containers", json_integer(containers_using(e, row->id)));
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

int image_list(Engine *e, json_t *filters, bool all, bool shared_size, json_t **ret, BerthError **err)
{
        static const char *const allowed[] = { "dangling", "label", "before", "since", "reference", "until", NULL };
        int r = check_filters(filters, allowed, err);
        if (r < 0)
                return r;
        int dangling;
        r = dangling_filter(filters, &dangling, err);
        if (r < 0)
                return r;
        LOCKED(e);
        int64_t before = INT64_MAX, since = INT64_MIN, until = INT64_MAX;
        json_t *bf = json_object_get(filters, "before"), *sf = json_object_get(filters, "since");
        for (int w = 0; w < 2; w++) {
                json_t *arr = w ? sf : bf;
                if (!arr || json_array_size(arr) == 0)
                        continue;
                _cleanup_free_ char *id = NULL;
                r = resolve_locked(e, json_string_value(json_array_get(arr, 0)), &id, NULL, err);
                if (r < 0)
                        return r;
                _cleanup_(img_row_clear) ImgRow b = { 0 };
                r = load_row(e, id, &b, err);
                if (r < 0)
                        return r;
                if (w)
                        since = b.created;
                else
                        before = b.created;
        }
        json_t *uf = json_object_get(filters, "until");
        if (uf && json_array_size(uf) > 0) {
                r = parse_time_filter(json_string_value(json_array_get(uf, 0)), &until, err);
                if (r < 0)
                        return r;
        }
        json_t *label_f = json_object_get(filters, "label");
        json_t *ref_f = json_object_get(filters, "reference");

        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT " IMG_COLS " FROM images ORDER BY created DESC, id", err);
        if (!st)
                return -EIO;
        json_t *out = json_array();
        while (sqlite3_step(st) == SQLITE_ROW) {
                _cleanup_(img_row_clear) ImgRow row = { 0 };
                fill_row(st, &row);
                _cleanup_strv_free_ char **names = image_ref_names(e, row.id);
                bool tagged = false;
                for (size_t i = 0; names && names[i]; i++)
                        if (!strchr(names[i], '@'))
                                tagged = true;
                if (dangling == 1 && names)
                        continue;
                if (dangling == 0 && !names)
                        continue;
                if (!all && !tagged && !names && has_children(e, row.id))
                        continue;
                if (!(row.created < before && row.created > since && row.created <= until))
                        continue;
                _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
                if (label_f && json_array_size(label_f) > 0 &&
                    !labels_match(json_object_get(json_object_get(cfg, "config"), "Labels"), label_f, false))
                        continue;
                json_t *s = summary(e, &row, cfg, names, ref_f, shared_size);
                if (ref_f && json_array_size(ref_f) > 0 && json_array_size(json_object_get(s, "RepoTags")) == 0) {
                        json_decref(s);
                        continue;
                }
                json_array_append_new(out, s);
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

int image_inspect(Engine *e, const char *ref, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_free_ char *id = NULL;
        int r = resolve_locked(e, ref, &id, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
        if (!cfg)
                return berr_set(err, EIO, "image %s: corrupt config", id);
        _cleanup_strv_free_ char **names = image_ref_names(e, id);
        json_t *tags, *digests;
        split_refs(names, &tags, &digests);
        int64_t size = image_size(e, row.top_layer);
        _cleanup_strv_free_ char **chain = layer_chain(e, row.top_layer);
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
        json_object_set_new(j, "ContainerConfig", ordered_container_config(json_object_get(cfg, "container_config")));
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
                _cleanup_free_ char *top = layer_path(e, chain[n - 1]);
                _cleanup_free_ char *upper = xasprintf("%s/diff", top);
                json_object_set_new(gd, "UpperDir", json_string(upper));
                if (n > 1) {
                        size_t cap = 1;
                        for (size_t i = 0; i + 1 < n; i++)
                                cap += strlen(e->cfg.data_root) + 100;
                        char *lower = calloc(1, cap);
                        for (size_t i = n - 1; i-- > 0;) {
                                _cleanup_free_ char *lp = layer_path(e, chain[i]);
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
        int64_t last = count_sql(e, "SELECT coalesce(max(added),0) FROM refs WHERE image_id=?", id);
        if (last > 0) {
                _cleanup_free_ char *t = format_rfc3339(last, true);
                json_object_set_new(meta, "LastTagTime", json_string(t));
        }
        json_object_set_new(j, "Metadata", meta);
        *ret = j;
        return 0;
}

int image_history(Engine *e, const char *ref, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_free_ char *id = NULL;
        int r = resolve_locked(e, ref, &id, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
        _cleanup_strv_free_ char **chain = layer_chain(e, row.top_layer);
        json_t *out = json_array();
        size_t li = 0, i;
        json_t *h;
        json_array_foreach(json_object_get(cfg, "history"), i, h)
        {
                int64_t size = 0;
                if (!json_bool(h, "empty_layer")) {
                        if (chain && li < strv_length(chain))
                                size = layer_size(e, chain[li]);
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
        _cleanup_free_ char *cur = strdup(id);
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
                _cleanup_(img_row_clear) ImgRow pr = { 0 };
                char *next = NULL;
                if (load_row(e, cur, &pr, NULL) == 0 && pr.parent)
                        next = strdup(pr.parent);
                free(cur);
                cur = next;
        }
        *ret = out;
        return 0;
}

/* ---- tag ---- */

int image_tag(Engine *e, const char *src, const char *repo, const char *tag, BerthError **err)
{
        if (!repo || !*repo)
                return berr_set(err, EINVAL, "repository name must have at least one component");
        _cleanup_image_ref_ ImageRef *ref = NULL;
        int r = image_ref_parse(repo, &ref, err);
        if (r < 0)
                return r;
        if (ref->digest)
                return berr_set(err, EINVAL, "refusing to create a tag with a digest reference");
        if (tag && *tag) {
                if (!image_ref_valid_tag(tag))
                        return berr_set(err, EINVAL, "invalid tag format");
                free(ref->tag);
                ref->tag = strdup(tag);
        }
        image_ref_default_tag(ref);
        _cleanup_free_ char *full = image_ref_full(ref);
        LOCKED(e);
        _cleanup_free_ char *id = NULL;
        r = resolve_locked(e, src, &id, NULL, err);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "INSERT OR REPLACE INTO refs(name,image_id,added) VALUES(?,?,?)", err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ns());
        if (sqlite3_step(st) != SQLITE_DONE)
                return berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
        _cleanup_free_ char *familiar = image_ref_familiarize(full);
        events_image(e, id, familiar, NULL, "tag");
        return 0;
}

/* ---- delete ---- */

static int remove_ref(Engine *e, const char *name, json_t *records)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM refs WHERE name=?", NULL);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return -EIO;
        _cleanup_free_ char *f = image_ref_familiarize(name);
        json_array_append_new(records, json_pack("{s:s}", "Untagged", f));
        return 0;
}

/* Repository part of a stored name ("docker.io/library/busybox"). */
static char *repo_of(const char *name)
{
        const char *at = strchr(name, '@');
        size_t n = at ? (size_t) (at - name) : strlen(name);
        const char *slash = memrchr(name, '/', n);
        const char *colon = memrchr(slash ? slash : name, ':', n - (size_t) ((slash ? slash : name) - name));
        if (!at && colon)
                n = (size_t) (colon - name);
        return strndup(name, n);
}

/* At most one tag, and all references in one repository (isSingleReference). */
static bool single_reference(char **names)
{
        int tags = 0;
        _cleanup_free_ char *repo = NULL;
        for (size_t i = 0; names && names[i]; i++) {
                if (!strchr(names[i], '@'))
                        tags++;
                _cleanup_free_ char *r = repo_of(names[i]);
                if (!repo)
                        repo = TAKE_PTR(r);
                else if (!streq(repo, r))
                        return false;
        }
        return tags <= 1;
}

enum { CONFLICT_CHILD = 1, CONFLICT_RUNNING = 2, CONFLICT_REFERENCE = 4, CONFLICT_STOPPED = 8 };
#define CONFLICT_HARD (CONFLICT_CHILD | CONFLICT_RUNNING)
#define CONFLICT_SOFT (CONFLICT_REFERENCE | CONFLICT_STOPPED)

static char *container_with(Engine *e, const char *id, bool running)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                running ? "SELECT id FROM containers WHERE image_id=? AND json_extract(state,'$.Status') IN "
                          "('running','paused','restarting') LIMIT 1"
                        : "SELECT id FROM containers WHERE image_id=? AND coalesce(json_extract(state,'$.Status'),'') "
                          "NOT IN ('running','paused','restarting') LIMIT 1",
                NULL);
        if (!st)
                return NULL;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW ? col_text(st, 0) : NULL;
}

/* Returns 0, or -EBUSY with Docker's conflict text; *used tells a container conflict. */
static int delete_conflict(Engine *e, const char *id, int mask, bool *used, BerthError **err)
{
        char sid[13];
        image_short_id(id, sid);
        if (used)
                *used = false;
        if ((mask & CONFLICT_CHILD) && has_children(e, id))
                return berr_set(err, EBUSY, "conflict: unable to delete %s (cannot be forced) - image has dependent child images",
                                sid);
        if (mask & CONFLICT_RUNNING) {
                _cleanup_free_ char *c = container_with(e, id, true);
                if (c) {
                        if (used)
                                *used = true;
                        return berr_set(err, EBUSY,
                                        "conflict: unable to delete %s (cannot be forced) - image is being used by running container %.12s",
                                        sid, c);
                }
        }
        if ((mask & CONFLICT_REFERENCE) && count_sql(e, "SELECT count(*) FROM refs WHERE image_id=?", id) > 0)
                return berr_set(err, EBUSY, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories",
                                sid);
        if (mask & CONFLICT_STOPPED) {
                _cleanup_free_ char *c = container_with(e, id, false);
                if (c) {
                        if (used)
                                *used = true;
                        return berr_set(err, EBUSY,
                                        "conflict: unable to delete %s (must be forced) - image is being used by stopped container %.12s",
                                        sid, c);
                }
        }
        return 0;
}

/* Deletes layers no image uses any more, unless a container still points at
 * a removed image (its rootfs needs them). Adds their chain ids to records. */
static int64_t gc_layers(Engine *e, json_t *records)
{
        if (count_sql(e, "SELECT count(*) FROM containers WHERE image_id NOT IN (SELECT id FROM images)", NULL) > 0)
                return 0;
        int64_t freed = 0;
        char **dead = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                        e->store,
                        "WITH RECURSIVE used(c) AS (SELECT top_layer FROM images WHERE top_layer IS NOT NULL "
                        "UNION SELECT l.parent FROM layers l JOIN used u ON l.chain_id=u.c WHERE l.parent IS NOT NULL) "
                        "SELECT chain_id, size FROM layers WHERE chain_id NOT IN (SELECT c FROM used) "
                        "ORDER BY created DESC",
                        NULL);
                while (st && sqlite3_step(st) == SQLITE_ROW) {
                        strv_push(&dead, col_text(st, 0));
                        freed += sqlite3_column_int64(st, 1);
                }
        }
        for (size_t i = 0; dead && dead[i]; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM layers WHERE chain_id=?", NULL);
                if (!st)
                        continue;
                sqlite3_bind_text(st, 1, dead[i], -1, SQLITE_STATIC);
                sqlite3_step(st);
                if (records)
                        json_array_append_new(records, json_pack("{s:s}", "Deleted", dead[i]));
        }
        /* Directories go after the rows: a crash in between leaves strays reconcile removes. */
        for (size_t i = 0; dead && dead[i]; i++) {
                _cleanup_free_ char *p = layer_path(e, dead[i]);
                rm_rf(p);
        }
        strv_free(dead);
        return freed;
}

/* imageDeleteHelper: conflicts, references, the image row, its layers, parents. */
static int delete_helper(Engine *e, const char *id, json_t *records, bool force, bool prune, bool quiet,
                         int64_t *freed, BerthError **err)
{
        int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
        bool used;
        BerthError *cerr = NULL;
        if (delete_conflict(e, id, mask, &used, &cerr) < 0) {
                _cleanup_strv_free_ char **names = image_ref_names(e, id);
                if (quiet && (names || used)) {
                        berr_free(cerr);
                        return 0;
                }
                int k = berr_set(err, cerr->code, "%s", cerr->msg);
                berr_free(cerr);
                return k;
        }
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        int r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = image_ref_names(e, id);
        for (size_t i = 0; names && names[i]; i++)
                remove_ref(e, names[i], records);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM images WHERE id=?", err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
        json_array_append_new(records, json_pack("{s:s}", "Deleted", id));
        int64_t f = gc_layers(e, records);
        if (freed)
                *freed += f;
        if (!prune || !row.parent)
                return 0;
        return delete_helper(e, row.parent, records, false, true, true, freed, err);
}

static int delete_locked(Engine *e, const char *ref, bool force, bool prune, json_t *records, int64_t *freed,
                         BerthError **err)
{
        _cleanup_free_ char *id = NULL, *matched = NULL;
        int r = resolve_locked(e, ref, &id, &matched, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = image_ref_names(e, id);
        bool removed_ref = false;
        if (matched) {
                /* A name was given: untag it first. */
                if (!force && single_reference(names)) {
                        _cleanup_free_ char *c = container_with(e, id, true);
                        if (!c)
                                c = container_with(e, id, false);
                        if (c) {
                                char sid[13];
                                image_short_id(id, sid);
                                return berr_set(err, EBUSY,
                                                "conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is using its referenced image %s",
                                                ref, c, sid);
                        }
                }
                r = remove_ref(e, matched, records);
                if (r < 0)
                        return berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
                strv_free(names);
                names = image_ref_names(e, id);
                if (!strchr(matched, '@')) {
                        /* Digest references of the same repository go with its last tag. */
                        _cleanup_free_ char *repo = repo_of(matched);
                        bool other_tag = false;
                        for (size_t i = 0; names && names[i]; i++) {
                                _cleanup_free_ char *rr = repo_of(names[i]);
                                if (!strchr(names[i], '@') && streq(rr, repo))
                                        other_tag = true;
                        }
                        for (size_t i = 0; !other_tag && names && names[i]; i++) {
                                _cleanup_free_ char *rr = repo_of(names[i]);
                                if (strchr(names[i], '@') && streq(rr, repo))
                                        remove_ref(e, names[i], records);
                        }
                        strv_free(names);
                        names = image_ref_names(e, id);
                }
                if (names)
                        return 0;
                removed_ref = true;
        } else if (single_reference(names)) {
                int mask = CONFLICT_HARD | (force ? 0 : (CONFLICT_SOFT & ~CONFLICT_REFERENCE));
                r = delete_conflict(e, id, mask, NULL, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; names && names[i]; i++)
                        remove_ref(e, names[i], records);
        }
        return delete_helper(e, id, records, force, prune, removed_ref, freed, err);
}

int image_delete(Engine *e, const char *ref, bool force, bool noprune, json_t **ret, BerthError **err)
{
        LOCKED(e);
        json_t *records = json_array();
        _cleanup_free_ char *id = NULL;
        resolve_locked(e, ref, &id, NULL, NULL); /* for the events: dockerd names untag and delete by id */
        store_begin(e->store);
        int r = delete_locked(e, ref, force, !noprune, records, NULL, err);
        if (r < 0) {
                store_rollback(e->store);
                json_decref(records);
                return r;
        }
        if (store_commit(e->store) < 0) {
                store_rollback(e->store);
                json_decref(records);
                return berr_set(err, EIO, "state database: cannot commit");
        }
        size_t i;
        json_t *rec;
        json_array_foreach(records, i, rec) {
                if (json_str(rec, "Untagged") && id)
                        events_image(e, id, id, NULL, "untag");
                else if (json_str(rec, "Deleted"))
                        events_image(e, json_str(rec, "Deleted"), json_str(rec, "Deleted"), NULL, "delete");
        }
        *ret = records;
        return 0;
}

/* ---- prune ---- */

int image_prune(Engine *e, json_t *filters, json_t **ret, BerthError **err)
{
        static const char *const allowed[] = { "dangling", "until", "label", "label!", NULL };
        int r = check_filters(filters, allowed, err);
        if (r < 0)
                return r;
        int dangling;
        r = dangling_filter(filters, &dangling, err);
        if (r < 0)
                return r;
        bool dangling_only = dangling != 0;
        int64_t until = INT64_MAX;
        json_t *uf = json_object_get(filters, "until");
        if (uf && json_array_size(uf) > 0) {
                r = parse_time_filter(json_string_value(json_array_get(uf, 0)), &until, err);
                if (r < 0)
                        return r;
        }
        LOCKED(e);
        char **cands = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT " IMG_COLS " FROM images", err);
                if (!st)
                        return -EIO;
                while (sqlite3_step(st) == SQLITE_ROW) {
                        _cleanup_(img_row_clear) ImgRow row = { 0 };
                        fill_row(st, &row);
                        if (containers_using(e, row.id) > 0 || has_children(e, row.id))
                                continue;
                        _cleanup_strv_free_ char **names = image_ref_names(e, row.id);
                        if (dangling_only && names)
                                continue;
                        if (row.created > until)
                                continue;
                        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
                        json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
                        json_t *lf = json_object_get(filters, "label"), *nlf = json_object_get(filters, "label!");
                        if (lf && !labels_match(labels, lf, false))
                                continue;
                        if (nlf && json_array_size(nlf) > 0 && !labels_match(labels, nlf, true))
                                continue;
                        strv_extend(&cands, row.id);
                }
        }
        json_t *records = json_array();
        int64_t freed = 0;
        for (size_t i = 0; cands && cands[i]; i++) {
                store_begin(e->store);
                json_t *rec = json_array();
                int64_t f = 0;
                if (delete_locked(e, cands[i], false, true, rec, &f, NULL) < 0 || store_commit(e->store) < 0) {
                        store_rollback(e->store);
                        json_decref(rec);
                        continue;
                }
                json_array_extend(records, rec);
                json_decref(rec);
                freed += f;
        }
        strv_free(cands);
        json_t *j = json_object();
        json_object_set_new(j, "ImagesDeleted", json_array_size(records) ? records : json_null());
        if (!json_array_size(records))
                json_decref(records);
        json_object_set_new(j, "SpaceReclaimed", json_integer(freed));
        *ret = j;
        return 0;
}

/* ---- system df ---- */

int image_disk_usage(Engine *e, json_t **ret_images, long long *ret_layers_size, BerthError **err)
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
                _cleanup_(img_row_clear) ImgRow row = { 0 };
                if (load_row(e, json_str(img, "Id"), &row, NULL) < 0)
                        continue;
                _cleanup_strv_free_ char **chain = layer_chain(e, row.top_layer);
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
                                shared += layer_size(e, chain[k]);
                }
                json_object_set_new(img, "SharedSize", json_integer(shared));
        }
        *ret_layers_size = count_sql(e, "SELECT coalesce(sum(size),0) FROM layers", NULL);
        *ret_images = list;
        return 0;
}

/* ---- layers and images from outside (load, pull, commit): image-internal.h ---- */

char *image_layer_tar_path(Engine *e, const char *chain_id)
{
        _cleanup_free_ char *lp = layer_path(e, chain_id);
        return xasprintf("%s/layer.tar", lp);
}

void image_chain_id(const char *parent_chain, const char *diff_id, char out[72])
{
        chain_of(parent_chain, diff_id, out);
}

bool image_layer_known(Engine *e, const char *chain_id)
{
        LOCKED(e);
        return count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain_id) > 0;
}

int image_layer_add(Engine *e, const char *parent_chain, int fd, const char *expect_diff_id, char ret_chain[72],
                    bool *ret_created, BerthError **err)
{
        return image_layer_add_file(e, parent_chain, fd, NULL, expect_diff_id, ret_chain, ret_created, err);
}

int image_layer_add_file(Engine *e, const char *parent_chain, int fd, const char *keep_path, const char *expect_diff_id,
                         char ret_chain[72], bool *ret_created, BerthError **err)
{
        int r;
        if (ret_created)
                *ret_created = false;
        _cleanup_free_ char *ld = layers_dir(e);
        r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", e->cfg.data_root);
        mkdir_p(tmpdir, 0700);
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/" TMP_PREFIX "XXXXXX", e->cfg.data_root);
        if (!mkdtemp(tmpl))
                return berr_set(err, errno, "cannot create a temporary directory in %s/tmp: %m", e->cfg.data_root);
        _cleanup_free_ char *diff = xasprintf("%s/diff", tmpl);
        _cleanup_free_ char *tp = xasprintf("%s/layer.tar", tmpl);
        LayerUnpackInfo info;
        if (mkdir(diff, 0755) < 0) {
                r = berr_set(err, errno, "cannot create %s: %m", diff);
                goto fail;
        }
        if (keep_path) {
                /* fd is already the uncompressed tar, kept at keep_path: adopt the file instead of copying it. */
                r = image_unpack_fd_tee(fd, diff, -1, &info, err);
                if (r < 0)
                        goto fail;
                if (info.compressed) {
                        /* not the uncompressed tar after all: unpack again, keeping the decompressed stream */
                        keep_path = NULL;
                        rm_rf(diff);
                        if (mkdir(diff, 0755) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                                r = berr_set(err, errno, "cannot retry unpacking: %m");
                                goto fail;
                        }
                }
        }
        if (!keep_path) {
                _cleanup_close_ int tfd = open(tp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (tfd < 0) {
                        r = berr_set(err, errno, "cannot create %s: %m", tp);
                        goto fail;
                }
                r = image_unpack_fd_tee(fd, diff, tfd, &info, err);
                if (r < 0)
                        goto fail;
                if (fsync(tfd) < 0) {
                        r = berr_set(err, errno, "cannot write %s: %m", tp);
                        goto fail;
                }
        }
        if (expect_diff_id && !streq(expect_diff_id, info.diff_id)) {
                r = berr_set(err, EINVAL, "invalid diffID for layer: expected \"%s\", got \"%s\"", expect_diff_id,
                             info.diff_id);
                goto fail;
        }
        if (keep_path && rename(keep_path, tp) < 0) {
                r = berr_set(err, errno, "cannot keep %s: %m", keep_path);
                goto fail;
        }
        char chain[72];
        chain_of(parent_chain, info.diff_id, chain);
        {
                LOCKED(e);
                if (count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain) == 0) {
                        _cleanup_free_ char *final = layer_path(e, chain);
                        rm_rf(final); /* a stray directory the store does not know */
                        if (rename(tmpl, final) < 0) {
                                r = berr_set(err, errno, "cannot move layer into %s: %m", final);
                                goto fail;
                        }
                        _cleanup_stmt_ sqlite3_stmt *l = store_prepare(
                                e->store,
                                "INSERT OR IGNORE INTO layers(chain_id,diff_id,parent,size,created) VALUES(?,?,?,?,?)", err);
                        if (!l) {
                                rm_rf(final);
                                return -EIO;
                        }
                        sqlite3_bind_text(l, 1, chain, -1, SQLITE_STATIC);
                        sqlite3_bind_text(l, 2, info.diff_id, -1, SQLITE_STATIC);
                        if (parent_chain)
                                sqlite3_bind_text(l, 3, parent_chain, -1, SQLITE_STATIC);
                        else
                                sqlite3_bind_null(l, 3);
                        sqlite3_bind_int64(l, 4, info.size);
                        sqlite3_bind_int64(l, 5, now_ns());
                        if (sqlite3_step(l) != SQLITE_DONE) {
                                rm_rf(final);
                                return berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
                        }
                        if (ret_created)
                                *ret_created = true;
                }
        }
        rm_rf(tmpl);
        memcpy(ret_chain, chain, 72);
        return 0;
fail:
        rm_rf(tmpl);
        return r;
}

void image_layers_drop_unused(Engine *e, char **chains)
{
        LOCKED(e);
        for (size_t i = 0; chains && chains[i]; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                        e->store,
                        "WITH RECURSIVE used(c) AS (SELECT top_layer FROM images WHERE top_layer IS NOT NULL "
                        "UNION SELECT l.parent FROM layers l JOIN used u ON l.chain_id=u.c WHERE l.parent IS NOT NULL) "
                        "SELECT count(*) FROM used WHERE c=?",
                        NULL);
                if (!st)
                        continue;
                sqlite3_bind_text(st, 1, chains[i], -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) > 0)
                        continue;
                if (count_sql(e, "SELECT count(*) FROM layers WHERE parent=?", chains[i]) > 0)
                        continue;
                _cleanup_stmt_ sqlite3_stmt *d = store_prepare(e->store, "DELETE FROM layers WHERE chain_id=?", NULL);
                if (!d)
                        continue;
                sqlite3_bind_text(d, 1, chains[i], -1, SQLITE_STATIC);
                if (sqlite3_step(d) == SQLITE_DONE) {
                        _cleanup_free_ char *p = layer_path(e, chains[i]);
                        rm_rf(p);
                }
        }
}

int image_add(Engine *e, const char *config, size_t len, const char *parent_id, char **refs, char **ret_id,
              BerthError **err)
{
        json_error_t je;
        _cleanup_json_ json_t *cfg = json_loadb(config, len, 0, &je);
        if (!json_is_object(cfg))
                return berr_set(err, EINVAL, "invalid image config: %s", cfg ? "not an object" : je.text);
        json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        if (ids && !json_is_array(ids))
                return berr_set(err, EINVAL, "invalid image config: rootfs.diff_ids is not an array");
        char hex[65];
        sha256_hex(config, len, hex);
        _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
        int64_t created = 0;
        if (json_str(cfg, "created"))
                parse_rfc3339(json_str(cfg, "created"), &created);
        char chain[72] = "";
        size_t i;
        json_t *d;
        LOCKED(e);
        json_array_foreach(ids, i, d)
        {
                const char *di = json_string_value(d);
                if (!di || !image_digest_valid(di))
                        return berr_set(err, EINVAL, "invalid image config: bad diff id");
                char next[72];
                chain_of(i ? chain : NULL, di, next);
                memcpy(chain, next, sizeof(chain));
                if (count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain) == 0)
                        return berr_set(err, ENOENT, "layer %s of image %s is not in the store", di, id);
        }
        store_begin(e->store);
        _cleanup_stmt_ sqlite3_stmt *im = store_prepare(
                e->store, "INSERT OR IGNORE INTO images(id,config,top_layer,parent,created,added) VALUES(?,?,?,?,?,?)",
                err);
        bool ok = im != NULL;
        if (ok) {
                sqlite3_bind_text(im, 1, id, -1, SQLITE_STATIC);
                sqlite3_bind_blob(im, 2, config, (int) len, SQLITE_STATIC);
                if (*chain)
                        sqlite3_bind_text(im, 3, chain, -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(im, 3);
                if (parent_id)
                        sqlite3_bind_text(im, 4, parent_id, -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(im, 4);
                sqlite3_bind_int64(im, 5, created);
                sqlite3_bind_int64(im, 6, now_ns());
                ok = sqlite3_step(im) == SQLITE_DONE;
        }
        for (size_t k = 0; ok && refs && refs[k]; k++) {
                _cleanup_stmt_ sqlite3_stmt *rf = store_prepare(
                        e->store, "INSERT OR REPLACE INTO refs(name,image_id,added) VALUES(?,?,?)", err);
                ok = rf != NULL;
                if (!ok)
                        break;
                sqlite3_bind_text(rf, 1, refs[k], -1, SQLITE_STATIC);
                sqlite3_bind_text(rf, 2, id, -1, SQLITE_STATIC);
                sqlite3_bind_int64(rf, 3, now_ns());
                ok = sqlite3_step(rf) == SQLITE_DONE;
        }
        if (!ok || store_commit(e->store) < 0) {
                if (!(err && *err))
                        berr_set(err, EIO, "state database: %s", sqlite3_errmsg(e->store->db));
                store_rollback(e->store);
                return -EIO;
        }
        if (ret_id)
                *ret_id = TAKE_PTR(id);
        return 0;
}

int image_saved_layers(Engine *e, const char *id, char ***ret_chains, char **ret_config, size_t *ret_len,
                       char ***ret_refs, BerthError **err)
{
        LOCKED(e);
        _cleanup_(img_row_clear) ImgRow row = { 0 };
        int r = load_row(e, id, &row, err);
        if (r < 0)
                return r;
        *ret_chains = layer_chain(e, row.top_layer);
        *ret_len = strlen(row.config);
        *ret_config = TAKE_PTR(row.config);
        if (ret_refs)
                *ret_refs = image_ref_names(e, id);
        return 0;
}

int image_resolve_ref(Engine *e, const char *ref, char **ret_id, char **ret_matched, BerthError **err)
{
        LOCKED(e);
        return resolve_locked(e, ref, ret_id, ret_matched, err);
}

char **image_repo_refs(Engine *e, const char *repo_name)
{
        LOCKED(e);
        char **l = NULL;
        _cleanup_free_ char *pat = xasprintf("%s:*", repo_name);
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT name, image_id FROM refs WHERE name GLOB ? ORDER BY name", NULL);
        if (!st)
                return NULL;
        sqlite3_bind_text(st, 1, pat, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *n = (const char *) sqlite3_column_text(st, 0);
                if (n && !strchr(n + strlen(repo_name) + 1, '/') && !strchr(n, '@')) {
                        strv_extend(&l, n);
                        strv_push(&l, col_text(st, 1));
                }
        }
        return l;
}

json_t *image_ordered_container_config(json_t *c)
{
        return ordered_container_config(c);
}
