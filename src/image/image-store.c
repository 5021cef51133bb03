/* The image store: metadata in the state store (tables layers, images, refs); layer contents
 * under <data-root>/image/layers/<chain-hex>/diff. Every change is one SQLite
 * transaction made after the layer directory is complete (renamed into place),
 * so a crash leaves at worst an unreferenced directory, which
 * image_store_reconcile() removes. This file: reconcile, lookups, the rows, tag.
 * The rest: image-import.c, image-list.c (list, inspect, history, df), image-delete.c
 * (rmi, prune), image-layers.c (adding layers and images). */
#include "image.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "state/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

char *image_layers_dir(ImageStore *e)
{
        return xasprintf("%s/image/layers", e->data_root);
}

char *image_layer_path(ImageStore *e, const char *chain_id)
{
        const char *hex = startswith(chain_id, "sha256:") ? chain_id + 7 : chain_id;
        return xasprintf("%s/image/layers/%s", e->data_root, hex);
}

void image_unlockp(ImageStore **e)
{
        if (*e)
                pthread_mutex_unlock((*e)->lock);
}
char *image_col_text(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? strdup((const char *) t) : NULL;
}

/* ---- reconcile ---- */

/* Removes every entry of dir (logged with why), which only interrupted operations leave. */
static void sweep_dir(const char *dir, const char *what, const char *why)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                int r = rm_rf(p);
                if (r < 0)
                        log_warn("reconcile: cannot remove %s %s: %s", what, p, strerror(-r));
                else
                        log_info("reconcile: removed %s %s: %s", what, p, why);
        }
}

/* Layers no image uses: what a pull, load or commit leaves when it is interrupted between its
 * layers and its image row. Not while a container still uses a removed image (rmi -f): its
 * rootfs needs them (the same rule as image_delete's layer collection). */
static void drop_unused_layers(ImageStore *e)
{
        if (image_count_sql(e, "SELECT count(*) FROM containers WHERE image_id NOT IN (SELECT id FROM images)", NULL) > 0)
                return;
        _cleanup_strv_free_ char **dead = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                        e->store,
                        "WITH RECURSIVE used(c) AS (SELECT top_layer FROM images WHERE top_layer IS NOT NULL "
                        "UNION SELECT l.parent FROM layers l JOIN used u ON l.chain_id=u.c WHERE l.parent IS NOT NULL) "
                        "SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT c FROM used)",
                        NULL);
                while (st && sqlite3_step(st) == SQLITE_ROW)
                        strv_push(&dead, image_col_text(st, 0));
        }
        if (!dead)
                return;
        if (store_begin(e->store) < 0)
                return;
        bool ok = true;
        for (size_t i = 0; ok && dead[i]; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "DELETE FROM layers WHERE chain_id=?", NULL);
                ok = st != NULL;
                if (ok) {
                        sqlite3_bind_text(st, 1, dead[i], -1, SQLITE_STATIC);
                        ok = sqlite3_step(st) == SQLITE_DONE;
                }
        }
        if (!ok || store_commit(e->store) < 0) {
                store_rollback(e->store);
                log_warn("reconcile: cannot delete unused layer rows: %s", sqlite3_errmsg(e->store->db));
                return;
        }
        /* rows first, directories after: a crash in between leaves directories the next start removes */
        for (size_t i = 0; dead[i]; i++) {
                _cleanup_free_ char *p = image_layer_path(e, dead[i]);
                rm_rf(p);
                log_info("reconcile: removed layer %s: no image uses it (an interrupted pull, load or commit)",
                         dead[i]);
        }
}

int image_store_reconcile(ImageStore *e, BerthError **err)
{
        _cleanup_free_ char *ld = image_layers_dir(e);
        int r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        LOCKED(e);
        drop_unused_layers(e);
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
                                log_info("reconcile: removed layer directory %s: no layer row (an interrupted "
                                         "layer store or image removal)", p);
                        }
                }
        }
        /* Nothing is in flight at start: whatever an import, load, commit, export or pull left
         * in tmp/ and image/blobs/ is garbage (a pull resumes a blob only within one daemon's life). */
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", e->data_root);
        sweep_dir(tmp, "temporary file", "left by an interrupted import, load, commit or export");
        _cleanup_free_ char *blobs = xasprintf("%s/image/blobs", e->data_root);
        sweep_dir(blobs, "downloaded blob", "left by an interrupted pull");
        return 0;
}

/* ---- lookups (caller holds e->lock) ---- */

static bool image_exists(ImageStore *e, const char *id)
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
int image_resolve_locked(ImageStore *e, const char *ref, char **ret_id, char **ret_ref, BerthError **err)
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
                        *ret_id = image_col_text(st, 0);
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
                        _cleanup_free_ char *id = image_col_text(st, 0);
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

int image_resolve(ImageStore *e, const char *ref, char **ret_id, BerthError **err)
{
        LOCKED(e);
        return image_resolve_locked(e, ref, ret_id, NULL, err);
}

void image_row_clear(ImgRow *r)
{
        free(r->id);
        free(r->config);
        free(r->top_layer);
        free(r->parent);
        memset(r, 0, sizeof(*r));
}

void image_row_fill(sqlite3_stmt *st, ImgRow *r)
{
        r->id = image_col_text(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        r->config = malloc((size_t) n + 1);
        if (b)
                memcpy(r->config, b, (size_t) n);
        r->config[n] = 0;
        r->top_layer = image_col_text(st, 2);
        r->parent = image_col_text(st, 3);
        r->created = sqlite3_column_int64(st, 4);
        r->added = sqlite3_column_int64(st, 5);
}

int image_row_load(ImageStore *e, const char *id, ImgRow *ret, BerthError **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT " IMG_COLS " FROM images WHERE id=?", err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
                return berr_set(err, ENOENT, "No such image: %s", id);
        image_row_fill(st, ret);
        return 0;
}

/* Chain ids bottom to top. */
char **image_layer_chain(ImageStore *e, const char *top)
{
        char **l = NULL;
        _cleanup_free_ char *cur = top ? strdup(top) : NULL;
        while (cur) {
                strv_extend(&l, cur);
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT parent FROM layers WHERE chain_id=?", NULL);
                if (!st)
                        break;
                sqlite3_bind_text(st, 1, cur, -1, SQLITE_STATIC);
                char *next = sqlite3_step(st) == SQLITE_ROW ? image_col_text(st, 0) : NULL;
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

int64_t image_layer_size(ImageStore *e, const char *chain)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT size FROM layers WHERE chain_id=?", NULL);
        if (!st)
                return 0;
        sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

int64_t image_size(ImageStore *e, const char *top)
{
        _cleanup_strv_free_ char **chain = image_layer_chain(e, top);
        int64_t s = 0;
        for (size_t i = 0; chain && chain[i]; i++)
                s += image_layer_size(e, chain[i]);
        return s;
}

/* Stored reference names of an image, sorted. */
char **image_ref_names(ImageStore *e, const char *id)
{
        char **l = NULL;
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT name FROM refs WHERE image_id=? ORDER BY name", NULL);
        if (!st)
                return NULL;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
                strv_push(&l, image_col_text(st, 0));
        return l;
}

void image_split_refs(char **names, json_t **tags, json_t **digests)
{
        *tags = json_array();
        *digests = json_array();
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *f = image_ref_familiarize(names[i]);
                json_array_append_new(strchr(names[i], '@') ? *digests : *tags, json_string(f));
        }
}

long long image_count_sql(ImageStore *e, const char *sql, const char *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        if (!st)
                return 0;
        if (arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

long long image_containers_using(ImageStore *e, const char *id)
{
        return image_count_sql(e, "SELECT count(*) FROM containers WHERE image_id=?", id);
}

bool image_has_children(ImageStore *e, const char *id)
{
        return image_count_sql(e, "SELECT count(*) FROM images WHERE parent=?", id) > 0;
}

int image_children(ImageStore *e, const char *parent, char ***ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                parent ? "SELECT id FROM images WHERE parent=?1 ORDER BY added" : "SELECT id FROM images WHERE parent IS NULL ORDER BY added",
                err);
        if (!st)
                return -EIO;
        if (parent)
                sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
        char **v = NULL;
        while (sqlite3_step(st) == SQLITE_ROW)
                strv_push(&v, image_col_text(st, 0));
        *ret = v;
        return 0;
}

int image_create(ImageStore *e, const char *config, size_t len, const char *parent, char **ret_id, BerthError **err)
{
        return image_add(e, config, len, parent, NULL, ret_id, err);
}

int image_set_parent(ImageStore *e, const char *id, const char *parent, BerthError **err)
{
        LOCKED(e);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "UPDATE images SET parent=?1 WHERE id=?2", err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return berr_set(err, EIO, "state database: cannot set the parent of %s", id);
        return 0;
}

/* ---- the three functions the container code uses ---- */

int image_get_config(ImageStore *e, const char *id, json_t **ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = image_row_load(e, id, &row, err);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *j = json_loads(row.config, 0, &je);
        if (!j)
                return berr_set(err, EIO, "image %s: corrupt config: %s", id, je.text);
        *ret = j;
        return 0;
}

int image_layer_dirs(ImageStore *e, const char *id, char ***ret, BerthError **err)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = image_row_load(e, id, &row, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **chain = image_layer_chain(e, row.top_layer);
        char **dirs = NULL;
        for (size_t i = 0; chain && chain[i]; i++) {
                _cleanup_free_ char *lp = image_layer_path(e, chain[i]);
                strv_push(&dirs, xasprintf("%s/diff", lp));
        }
        if (!dirs)
                dirs = calloc(1, sizeof(char *));
        *ret = dirs;
        return 0;
}

/* ---- tag ---- */

int image_tag(ImageStore *e, const char *src, const char *repo, const char *tag, BerthError **err)
{
        if (!repo || !*repo)
                return berr_set(err, EINVAL, "repository name must have at least one component");
        _cleanup_image_ref_ ImageRef *ref = NULL;
        int r = image_ref_parse_target(repo, tag, "refusing to create a tag with a digest reference", &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *full = image_ref_full(ref);
        LOCKED(e);
        _cleanup_free_ char *id = NULL;
        r = image_resolve_locked(e, src, &id, NULL, err);
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
        events_image(e->events, id, familiar, NULL, "tag");
        return 0;
}

int image_saved_layers(ImageStore *e, const char *id, char ***ret_chains, char **ret_config, size_t *ret_len,
                       char ***ret_refs, BerthError **err)
{
        LOCKED(e);
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = image_row_load(e, id, &row, err);
        if (r < 0)
                return r;
        *ret_chains = image_layer_chain(e, row.top_layer);
        *ret_len = strlen(row.config);
        *ret_config = TAKE_PTR(row.config);
        if (ret_refs)
                *ret_refs = image_ref_names(e, id);
        return 0;
}

int image_resolve_ref(ImageStore *e, const char *ref, char **ret_id, char **ret_matched, BerthError **err)
{
        LOCKED(e);
        return image_resolve_locked(e, ref, ret_id, ret_matched, err);
}

char **image_repo_refs(ImageStore *e, const char *repo_name)
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
                        strv_push(&l, image_col_text(st, 1));
                }
        }
        return l;
}
