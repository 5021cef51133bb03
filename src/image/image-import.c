/* docker import: one layer from a tar stream, a config made up around it. */
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
#include "basic/version.h"
#include "state/events.h"
#include "image/image-internal.h"
#include "image/reference.h"

/* ---- import ---- */

/* container.Config in Go's field order (the order Docker writes). */
json_t *image_ordered_container_config(json_t *c)
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

int image_import(ImageStore *e, int fd, const ImageImportOptions *o, char **ret_id, BerthError **err)
{
        int r;
        _cleanup_image_ref_ ImageRef *ref = NULL;
        r = image_ref_parse_target(o->repo, o->tag, "cannot import digest reference", &ref, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *cc = json_object();
        r = image_apply_changes(cc, o->changes, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *ld = image_layers_dir(e);
        r = mkdir_p(ld, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", ld, strerror(-r));
        _cleanup_free_ char *tmpl = xasprintf("%s/tmp/" TMP_PREFIX "XXXXXX", e->data_root);
        if (!mkdtemp(tmpl))
                return berr_set(err, errno, "cannot create a temporary directory in %s/tmp: %m", e->data_root);
        _cleanup_free_ char *diff = xasprintf("%s/diff", tmpl);
        _cleanup_free_ char *created = NULL, *bytes = NULL, *id = NULL, *refname = NULL, *final = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        LayerUnpackInfo info;
        UnpackLimits lim = image_unpack_limits(e);
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
                r = image_unpack_fd_tee(fd, diff, tfd, &lim, &info, err);
                if (r < 0)
                        goto fail;
        }

        char chain[72];
        image_chain_id(NULL, info.diff_id, chain);
        int64_t now = now_ns();
        created = format_rfc3339(now, true);
        const char *msg = o->message && *o->message ? o->message : "Imported from -";
        /* Top-level keys sorted (Docker marshals the config through a map); nested in struct order. */
        cfg = json_object();
        json_object_set_new(cfg, "architecture", json_string(go_arch()));
        json_object_set_new(cfg, "comment", json_string(msg));
        json_object_set_new(cfg, "config", image_ordered_container_config(cc));
        json_object_set_new(cfg, "container_config", image_ordered_container_config(NULL));
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
                final = image_layer_path(e, chain);
                bool created_dir = false;
                if (rename(tmpl, final) == 0)
                        created_dir = true;
                else if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = berr_set(err, errno, "cannot move layer into %s: %m", final);
                        goto fail;
                }
                crash_point("import-after-rename"); /* a layer directory without its rows */
                if (store_begin(e->store) < 0) {
                        r = berr_set(err, EIO, "state database: cannot begin a transaction");
                        if (created_dir)
                                rm_rf(final);
                        goto fail;
                }
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
        events_image(e->events, id, id, NULL, "import");
        *ret_id = TAKE_PTR(id);
        return 0;
fail:
        rm_rf(tmpl);
        return r;
}
