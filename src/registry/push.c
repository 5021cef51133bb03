/* Registry client: push. Layers go up as their kept uncompressed tars (media
 * type application/vnd.docker.image.rootfs.diff.tar, digest == diff id), then
 * the config, then a schema2 manifest. */
#include "registry-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/progress.h"
#include "basic/util.h"
#include "image/image-internal.h"

/* ---- push ---- */

struct RegistryPush {
        Reg *g;
        ImageRef *ref;
        char *image_id;
        char *config;
        size_t config_len;
        char **chains;
        ImageProgressFn progress;
        void *cls;
};

void registry_push_free(RegistryPush *p)
{
        if (!p)
                return;
        reg_free(p->g);
        image_ref_free(p->ref);
        free(p->image_id);
        free(p->config);
        strv_free(p->chains);
        free(p);
}

int registry_push_prepare(ImageStore *e, const char *name, const char *tag, const RegistryAuth *auth, RegistryPush **ret,
                          BerthError **err)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ImageRef *ref = NULL;
        int k = image_ref_parse(name, &ref, err);
        if (k < 0)
                return k;
        if (tag && *tag) {
                free(ref->tag);
                ref->tag = strdup(tag);
        }
        image_ref_default_tag(ref);
        RegistryPush *p = calloc(1, sizeof(*p));
        p->ref = ref;
        _cleanup_free_ char *full = image_ref_familiar(ref);
        _cleanup_free_ char *nm = image_ref_name(ref);
        if (image_resolve(e, full, &p->image_id, NULL) < 0) {
                k = berr_set(err, ENOENT, "An image does not exist locally with the tag: %s", full);
                goto fail;
        }
        size_t len;
        k = image_saved_layers(e, p->image_id, &p->chains, &p->config, &len, NULL, err);
        if (k < 0)
                goto fail;
        p->config_len = len;
        for (size_t i = 0; p->chains && p->chains[i]; i++) {
                _cleanup_free_ char *tp = image_layer_tar_path(e, p->chains[i]);
                if (access(tp, R_OK) < 0) {
                        k = berr_set(err, EIO, "layer %s has no kept tar (stored by an older berth); cannot push it",
                                     p->chains[i]);
                        goto fail;
                }
        }
        k = reg_open(e, ref, auth, true, &p->g, err);
        if (k < 0)
                goto fail;
        *ret = p;
        return 0;
fail:
        registry_push_free(p);
        return k;
}

static void pemit(RegistryPush *p, json_t *j)
{
        if (p->progress)
                p->progress(p->cls, j);
        json_decref(j);
}

static void pstatus(RegistryPush *p, const char *status, const char *id)
{
        pemit(p, progress_status(status, id));
}

typedef struct UpCtx {
        RegistryPush *p;
        const char *sid;
        int64_t total, last;
} UpCtx;

static void on_up(void *cls, int64_t sent)
{
        UpCtx *u = cls;
        if (sent - u->last < 512 * 1024 && sent != u->total)
                return;
        u->last = sent;
        pemit(u->p, progress_bytes("Pushing", u->sid, sent, u->total));
}

static int blob_exists(Reg *g, const char *digest, bool *ret, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", g->repo, digest);
        Req q = { .method = "HEAD", .url = url, .head = true };
        Resp r = { .fd = -1, .max = 64 * 1024 };
        int k = reg_do(g, &q, &r, err);
        long st = r.status;
        reg_resp_clear(&r);
        if (k < 0)
                return k;
        if (st == 401 || st == 403)
                return berr_set(err, EACCES, "unauthorized: authentication required");
        *ret = st == 200;
        return 0;
}

static char *abs_location(Reg *g, const char *loc)
{
        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return strdup(loc);
        return xasprintf("%s%s", g->base, loc);
}

static int upload_blob(Reg *g, const char *digest, ReqBody *body, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/uploads/", g->repo);
        Req q = { .method = "POST", .url = url };
        Resp r = { .fd = -1, .max = 64 * 1024 };
        ReqBody empty = { .mem = "", .len = 0, .fd = -1 };
        q.body = &empty;
        int k = reg_do(g, &q, &r, err);
        if (k == 0 && r.status != 202) {
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, r.status == 401 || r.status == 403 ? EACCES : EIO, "%s", t);
        }
        if (k == 0 && !r.location)
                k = berr_set(err, EIO, "registry sent no upload location");
        if (k < 0) {
                reg_resp_clear(&r);
                return k;
        }
        _cleanup_free_ char *loc = abs_location(g, r.location);
        reg_resp_clear(&r);
        CURL *c = curl_easy_init();
        _cleanup_free_ char *ed = curl_easy_escape(c, digest, 0);
        curl_easy_cleanup(c);
        _cleanup_free_ char *put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", ed);
        char *hdrs[] = { (char *) "Content-Type: application/octet-stream", NULL };
        Req q2 = { .method = "PUT", .url = put, .headers = hdrs, .body = body };
        Resp r2 = { .fd = -1, .max = 64 * 1024 };
        k = reg_do(g, &q2, &r2, err);
        if (k == 0 && r2.status != 201) {
                _cleanup_free_ char *t = reg_error_text(&r2);
                k = berr_set(err, EIO, "blob upload of %s failed: %s", digest, t);
        }
        reg_resp_clear(&r2);
        return k;
}

int registry_push_run(ImageStore *e, RegistryPush *p, ImageProgressFn progress, void *cls, BerthError **err)
{
        p->progress = progress;
        p->cls = cls;
        {
                _cleanup_free_ char *full = image_ref_name(p->ref);
                _cleanup_free_ char *s = xasprintf("The push refers to repository [%s]", full);
                pstatus(p, s, NULL);
        }
        _cleanup_json_ json_t *cfg = json_loadb(p->config, p->config_len, 0, NULL);
        json_t *dids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        size_t n = strv_length(p->chains);
        json_t *mlayers = json_array();
        for (size_t i = n; i-- > 0;) {
                char sid[13];
                image_short_id(json_string_value(json_array_get(dids, i)) ?: "sha256:000000000000", sid);
                pstatus(p, "Preparing", sid);
        }
        int k = 0;
        for (size_t i = n; i-- > 0;) {
                const char *did = json_string_value(json_array_get(dids, i));
                if (!did) {
                        k = berr_set(err, EIO, "image config lacks diff id %zu", i);
                        break;
                }
                char sid[13];
                image_short_id(did, sid);
                _cleanup_free_ char *tp = image_layer_tar_path(e, p->chains[i]);
                _cleanup_close_ int fd = open(tp, O_RDONLY | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0) {
                        k = berr_set(err, EIO, "cannot open %s: %m", tp);
                        break;
                }
                json_array_insert_new(mlayers, 0, json_pack("{s:s,s:I,s:s}", "mediaType", MT_DOCKER_LAYER_TAR, "size",
                                                             (json_int_t) st.st_size, "digest", did));
                bool exists = false;
                k = blob_exists(p->g, did, &exists, err);
                if (k < 0)
                        break;
                if (exists) {
                        pstatus(p, "Layer already exists", sid);
                        continue;
                }
                UpCtx u = { .p = p, .sid = sid, .total = st.st_size };
                ReqBody b = { .fd = fd, .fsize = st.st_size, .on_sent = on_up, .cls = &u };
                k = upload_blob(p->g, did, &b, err);
                if (k < 0)
                        break;
                pstatus(p, "Pushed", sid);
        }
        if (k < 0) {
                json_decref(mlayers);
                return k;
        }
        bool cexists = false;
        k = blob_exists(p->g, p->image_id, &cexists, err);
        if (k == 0 && !cexists) {
                ReqBody b = { .mem = p->config, .len = p->config_len, .fd = -1 };
                k = upload_blob(p->g, p->image_id, &b, err);
        }
        if (k < 0) {
                json_decref(mlayers);
                return k;
        }
        json_t *m = json_object();
        json_object_set_new(m, "schemaVersion", json_integer(2));
        json_object_set_new(m, "mediaType", json_string(MT_DOCKER_MANIFEST));
        json_object_set_new(m, "config", json_pack("{s:s,s:I,s:s}", "mediaType", MT_DOCKER_CONFIG, "size",
                                                   (json_int_t) p->config_len, "digest", p->image_id));
        json_object_set_new(m, "layers", mlayers);
        _cleanup_free_ char *mb = json_dumps(m, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
        json_decref(m);
        char hex[65];
        sha256_hex(mb, strlen(mb), hex);
        _cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", p->g->repo, p->ref->tag);
        char *hdrs[] = { (char *) "Content-Type: " MT_DOCKER_MANIFEST, NULL };
        ReqBody b = { .mem = mb, .len = strlen(mb), .fd = -1 };
        Req q = { .method = "PUT", .url = url, .headers = hdrs, .body = &b };
        Resp r = { .fd = -1, .max = 64 * 1024 };
        k = reg_do(p->g, &q, &r, err);
        if (k == 0 && r.status != 201) {
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, EIO, "manifest upload failed: %s", t);
        }
        reg_resp_clear(&r);
        if (k < 0)
                return k;
        _cleanup_free_ char *dg = xasprintf("sha256:%s", hex);
        _cleanup_free_ char *s = xasprintf("%s: digest: %s size: %zu", p->ref->tag, dg, strlen(mb));
        pstatus(p, s, NULL);
        pemit(p, json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail", "aux", "Tag", p->ref->tag, "Digest", dg, "Size",
                           (json_int_t) strlen(mb)));
        /* RepoDigests: name@digest */
        _cleanup_free_ char *name = image_ref_name(p->ref);
        _cleanup_free_ char *dref = xasprintf("%s@%s", name, dg);
        char *refs[] = { dref, NULL };
        image_add(e, p->config, p->config_len, NULL, refs, NULL, NULL);
        return 0;
}
