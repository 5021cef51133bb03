/* Layers and images added from outside (load, pull, commit): image-internal.h. */
#include "image.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "state/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

/* ---- layers and images from outside (load, pull, commit): image-internal.h ---- */

char *image_layer_tar_path(ImageStore *e, const char *chain_id)
{
        _cleanup_free_ char *lp = image_layer_path(e, chain_id);
        return xasprintf("%s/layer.tar", lp);
}

void image_chain_id(const char *parent_chain, const char *diff_id, char out[72])
{
        if (!parent_chain) {
                snprintf(out, 72, "%s", diff_id);
                return;
        }
        _cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
        char hex[65];
        sha256_hex(s, strlen(s), hex);
        snprintf(out, 72, "sha256:%s", hex);
}

UnpackLimits image_unpack_limits(ImageStore *e)
{
        return (UnpackLimits){ e->layer_max_ratio, e->layer_max_size, e->min_free_space };
}

bool image_layer_known(ImageStore *e, const char *chain_id)
{
        LOCKED(e);
        return image_count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain_id) > 0;
}

int image_layer_add(ImageStore *e, const char *parent_chain, int fd, const char *expect_diff_id, char ret_chain[72],
                    bool *ret_created, BerthError **err)
{
        return image_layer_add_file(e, parent_chain, fd, NULL, expect_diff_id, ret_chain, ret_created, err);
}

int image_layer_add_file(ImageStore *e, const char *parent_chain, int fd, const char *keep_path, const char *expect_diff_id,
                         char ret_chain[72], bool *ret_created, BerthError **err)
{
        int r;
        if (ret_created)
                *ret_created = false;
        _cleanup_free_ char *ld = image_layers_dir(e);
        r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", e->data_root);
        mkdir_p(tmpdir, 0700);
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/" TMP_PREFIX "XXXXXX", e->data_root);
        if (!mkdtemp(tmpl))
                return berr_set(err, errno, "cannot create a temporary directory in %s/tmp: %m", e->data_root);
        _cleanup_free_ char *diff = xasprintf("%s/diff", tmpl);
        _cleanup_free_ char *tp = xasprintf("%s/layer.tar", tmpl);
        LayerUnpackInfo info;
        UnpackLimits lim = image_unpack_limits(e);
        if (mkdir(diff, 0755) < 0) {
                r = berr_set(err, errno, "cannot create %s: %m", diff);
                goto fail;
        }
        if (keep_path) {
                /* fd is already the uncompressed tar, kept at keep_path: adopt the file instead of copying it. */
                r = image_unpack_fd_tee(fd, diff, -1, &lim, &info, err);
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
                r = image_unpack_fd_tee(fd, diff, tfd, &lim, &info, err);
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
        image_chain_id(parent_chain, info.diff_id, chain);
        {
                LOCKED(e);
                if (image_count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain) == 0) {
                        _cleanup_free_ char *final = image_layer_path(e, chain);
                        rm_rf(final); /* a stray directory the store does not know */
                        if (rename(tmpl, final) < 0) {
                                r = berr_set(err, errno, "cannot move layer into %s: %m", final);
                                goto fail;
                        }
                        crash_point("layer-after-rename"); /* a layer directory without its row */
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

void image_layers_drop_unused(ImageStore *e, char **chains)
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
                if (image_count_sql(e, "SELECT count(*) FROM layers WHERE parent=?", chains[i]) > 0)
                        continue;
                _cleanup_stmt_ sqlite3_stmt *d = store_prepare(e->store, "DELETE FROM layers WHERE chain_id=?", NULL);
                if (!d)
                        continue;
                sqlite3_bind_text(d, 1, chains[i], -1, SQLITE_STATIC);
                if (sqlite3_step(d) == SQLITE_DONE) {
                        _cleanup_free_ char *p = image_layer_path(e, chains[i]);
                        rm_rf(p);
                }
        }
}

int image_config_check(const char *config, size_t len, json_t **ret_cfg, int64_t *ret_created, BerthError **err)
{
        json_error_t je;
        _cleanup_json_ json_t *cfg = json_loadb(config, len, 0, &je);
        if (!json_is_object(cfg))
                return berr_set(err, EINVAL, "invalid image config: %s", cfg ? "not an object" : je.text);
        json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        if (ids && !json_is_array(ids))
                return berr_set(err, EINVAL, "invalid image config: rootfs.diff_ids is not an array");
        size_t i;
        json_t *d;
        json_array_foreach(ids, i, d)
                if (!json_is_string(d) || !image_digest_valid(json_string_value(d)))
                        return berr_set(err, EINVAL, "invalid image config: bad diff id");
        int64_t created = 0;
        if (json_str(cfg, "created"))
                parse_rfc3339(json_str(cfg, "created"), &created);
        *ret_cfg = TAKE_PTR(cfg);
        *ret_created = created;
        return 0;
}

int image_add(ImageStore *e, const char *config, size_t len, const char *parent_id, char **refs, char **ret_id,
              BerthError **err)
{
        _cleanup_json_ json_t *cfg = NULL;
        int64_t created;
        int r = image_config_check(config, len, &cfg, &created, err);
        if (r < 0)
                return r;
        json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        char hex[65];
        sha256_hex(config, len, hex);
        _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
        char chain[72] = "";
        size_t i;
        json_t *d;
        LOCKED(e);
        json_array_foreach(ids, i, d)
        {
                const char *di = json_string_value(d);
                char next[72];
                image_chain_id(i ? chain : NULL, di, next);
                memcpy(chain, next, sizeof(chain));
                if (image_count_sql(e, "SELECT count(*) FROM layers WHERE chain_id=?", chain) == 0)
                        return berr_set(err, ENOENT, "layer %s of image %s is not in the store", di, id);
        }
        if (store_begin(e->store) < 0)
                return berr_set(err, EIO, "state database: cannot begin a transaction");
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
