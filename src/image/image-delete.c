/* rmi and image prune: untag, delete, and garbage-collect unused layers. */
#include "image.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "state/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

/* ---- delete ---- */

static int remove_ref(ImageStore *e, const char *name, json_t *records)
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
        return xstrndup(name, n);
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

static char *container_with(ImageStore *e, const char *id, bool running)
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
        return sqlite3_step(st) == SQLITE_ROW ? image_col_text(st, 0) : NULL;
}

/* Returns 0, or -EBUSY with Docker's conflict text; *used tells a container conflict. */
static int delete_conflict(ImageStore *e, const char *id, int mask, bool *used, BerthError **err)
{
        char sid[13];
        image_short_id(id, sid);
        if (used)
                *used = false;
        if ((mask & CONFLICT_CHILD) && image_has_children(e, id))
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
        if ((mask & CONFLICT_REFERENCE) && image_count_sql(e, "SELECT count(*) FROM refs WHERE image_id=?", id) > 0)
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

/* Layer directories whose rows the transaction in progress deletes: removed only once it
 * committed (a rollback keeps rows and directories). Guarded by e->lock, which is held across
 * every transaction of this file. */
static char **pending_dirs;

static void pending_dirs_flush(bool committed)
{
        for (size_t i = 0; committed && pending_dirs && pending_dirs[i]; i++)
                rm_rf(pending_dirs[i]);
        pending_dirs = strv_free(pending_dirs);
}

/* Deletes layers no image uses any more, unless a container still points at
 * a removed image (its rootfs needs them). Adds their chain ids to records. */
static int64_t gc_layers(ImageStore *e, json_t *records)
{
        if (image_count_sql(e, "SELECT count(*) FROM containers WHERE image_id NOT IN (SELECT id FROM images)", NULL) > 0)
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
                        strv_push(&dead, image_col_text(st, 0));
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
        /* Directories go after the rows are committed: a crash in between leaves directories
         * without rows, which image_store_reconcile removes. */
        for (size_t i = 0; dead && dead[i]; i++)
                strv_push(&pending_dirs, image_layer_path(e, dead[i]));
        strv_free(dead);
        return freed;
}

/* imageDeleteHelper: conflicts, references, the image row, its layers, parents. */
static int delete_helper(ImageStore *e, const char *id, json_t *records, bool force, bool prune, bool quiet,
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
        _cleanup_(image_row_clear) ImgRow row = { 0 };
        int r = image_row_load(e, id, &row, err);
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

static int delete_locked(ImageStore *e, const char *ref, bool force, bool prune, json_t *records, int64_t *freed,
                         BerthError **err)
{
        _cleanup_free_ char *id = NULL, *matched = NULL;
        int r = image_resolve_locked(e, ref, &id, &matched, err);
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

int image_delete(ImageStore *e, const char *ref, bool force, bool noprune, json_t **ret, BerthError **err)
{
        LOCKED(e);
        json_t *records = json_array();
        _cleanup_free_ char *id = NULL;
        image_resolve_locked(e, ref, &id, NULL, NULL); /* for the events: dockerd names untag and delete by id */
        if (store_begin(e->store) < 0) {
                json_decref(records);
                return berr_set(err, EIO, "state database: cannot begin a transaction");
        }
        int r = delete_locked(e, ref, force, !noprune, records, NULL, err);
        if (r < 0) {
                store_rollback(e->store);
                pending_dirs_flush(false);
                json_decref(records);
                return r;
        }
        if (store_commit(e->store) < 0) {
                store_rollback(e->store);
                pending_dirs_flush(false);
                json_decref(records);
                return berr_set(err, EIO, "state database: cannot commit");
        }
        crash_point("rmi-after-commit");
        pending_dirs_flush(true);
        size_t i;
        json_t *rec;
        json_array_foreach(records, i, rec) {
                if (json_str(rec, "Untagged") && id)
                        events_image(e->events, id, id, NULL, "untag");
                else if (json_str(rec, "Deleted"))
                        events_image(e->events, json_str(rec, "Deleted"), json_str(rec, "Deleted"), NULL, "delete");
        }
        *ret = records;
        return 0;
}

/* ---- prune ---- */

int image_prune(ImageStore *e, json_t *filters, json_t **ret, BerthError **err)
{
        static const char *const allowed[] = { "dangling", "until", "label", "label!", NULL };
        int r = image_check_filters(filters, allowed, err);
        if (r < 0)
                return r;
        int dangling;
        r = image_dangling_filter(filters, &dangling, err);
        if (r < 0)
                return r;
        bool dangling_only = dangling != 0;
        int64_t until = INT64_MAX;
        json_t *uf = json_object_get(filters, "until");
        if (uf && json_array_size(uf) > 0) {
                r = image_parse_time_filter(json_string_value(json_array_get(uf, 0)), &until, err);
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
                        _cleanup_(image_row_clear) ImgRow row = { 0 };
                        image_row_fill(st, &row);
                        if (image_containers_using(e, row.id) > 0 || image_has_children(e, row.id))
                                continue;
                        _cleanup_strv_free_ char **names = image_ref_names(e, row.id);
                        if (dangling_only && names)
                                continue;
                        if (row.created > until)
                                continue;
                        _cleanup_json_ json_t *cfg = json_loads(row.config, 0, NULL);
                        json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
                        json_t *lf = json_object_get(filters, "label"), *nlf = json_object_get(filters, "label!");
                        if (!json_labels_match(labels, lf) ||
                            (json_array_size(nlf) && json_labels_match(labels, nlf)))
                                continue;
                        strv_extend(&cands, row.id);
                }
        }
        json_t *records = json_array();
        int64_t freed = 0;
        for (size_t i = 0; cands && cands[i]; i++) {
                if (store_begin(e->store) < 0) {
                        log_error("image prune: state database: cannot begin a transaction");
                        break;
                }
                json_t *rec = json_array();
                int64_t f = 0;
                if (delete_locked(e, cands[i], false, true, rec, &f, NULL) < 0 || store_commit(e->store) < 0) {
                        store_rollback(e->store);
                        pending_dirs_flush(false);
                        json_decref(rec);
                        continue;
                }
                pending_dirs_flush(true);
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
