/* Registry client: manifest (by tag or digest; lists/indexes resolved to linux/<arch>) and pull preparation. */
#include "registry-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "image/image-internal.h"

#define MANIFEST_MAX (4 * 1024 * 1024)

static const char ACCEPT[] = "Accept: " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", " MT_OCI_INDEX
                             ", application/json";

char *reg_familiar_tagged(const ImageRef *ref)
{
        return image_ref_familiar(ref);
}

int reg_fetch_manifest(RegistryPull *p, const char *what, char **ret, size_t *ret_len, char **ret_type,
                       char **ret_digest, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", p->g->repo, what);
        char *hdrs[] = { (char *) ACCEPT, NULL };
        Req q = { .method = "GET", .url = url, .headers = hdrs };
        Resp r = { .fd = -1, .max = MANIFEST_MAX };
        int k = reg_do(p->g, &q, &r, err);
        if (k < 0) {
                reg_resp_clear(&r);
                return k;
        }
        _cleanup_free_ char *name = image_ref_name(p->ref);
        p->status = r.status;
        if (r.status == 404) {
                _cleanup_free_ char *t = reg_error_text(&r);
                _cleanup_free_ char *fam = reg_familiar_tagged(p->ref);
                k = berr_set(err, ENOENT, "manifest for %s not found: %s", fam, t);
        } else if (r.status == 401 || r.status == 403) {
                _cleanup_free_ char *fam = image_ref_familiar_name(p->ref);
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, ENOENT, "pull access denied for %s, repository does not exist or may require "
                             "'docker login': %s", fam, t);
        } else if (r.status != 200) {
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, EIO, "error fetching manifest %s: %s", what, t);
        }
        if (k < 0) {
                reg_resp_clear(&r);
                return k;
        }
        char hex[65];
        sha256_hex(r.body ?: "", r.len, hex);
        _cleanup_free_ char *dg = xasprintf("sha256:%s", hex);
        if (startswith(what, "sha256:") && !streq(dg, what)) {
                reg_resp_clear(&r);
                return berr_set(err, EINVAL, "manifest verification failed for digest %s", what);
        }
        *ret = TAKE_PTR(r.body);
        *ret_len = r.len;
        *ret_type = r.ctype ? xstrndup(r.ctype, strcspn(r.ctype, ";")) : NULL;
        *ret_digest = TAKE_PTR(dg);
        reg_resp_clear(&r);
        return 0;
}

bool reg_manifest_is_list(json_t *m, const char *ctype)
{
        const char *mt = json_str(m, "mediaType") ?: ctype;
        return mt && (streq(mt, MT_DOCKER_LIST) || streq(mt, MT_OCI_INDEX) || json_object_get(m, "manifests"));
}

int reg_manifest_pick(json_t *list, const char *arch, char **ret_digest, BerthError **err)
{
        const char *pick = NULL;
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(list, "manifests"), i, d)
        {
                json_t *pl = json_object_get(d, "platform");
                if (streq(json_str(pl, "os") ?: "", "linux") && streq(json_str(pl, "architecture") ?: "", arch)) {
                        pick = json_str(d, "digest");
                        break;
                }
        }
        if (!pick || !image_digest_valid(pick))
                return berr_set(err, ENOENT, "no matching manifest for linux/%s in the manifest list entries", arch);
        *ret_digest = xstrdup(pick);
        return 0;
}

void reg_layers_free(Layer *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].digest);
                free(l[i].diff_id);
        }
        free(l);
}

int reg_manifest_layers(json_t *m, char **ret_config, Layer **ret_layers, size_t *ret_n, BerthError **err)
{
        if (json_int(m, "schemaVersion", 0) != 2)
                return berr_set(err, EINVAL, "unsupported manifest (schema version %lld)", json_int(m, "schemaVersion", 0));
        const char *cd = json_str(json_object_get(m, "config"), "digest");
        json_t *ls = json_object_get(m, "layers");
        if (!cd || !image_digest_valid(cd) || !json_is_array(ls))
                return berr_set(err, EINVAL, "invalid manifest: no config or layers");
        size_t n = json_array_size(ls);
        Layer *layers = xcalloc(n ? n : 1, sizeof(Layer));
        size_t i;
        json_t *l;
        json_array_foreach(ls, i, l)
        {
                const char *d = json_str(l, "digest");
                if (!d || !image_digest_valid(d) || json_object_get(l, "urls")) {
                        reg_layers_free(layers, n);
                        return berr_set(err, EINVAL, "invalid manifest: layer %zu has no usable digest", i);
                }
                layers[i].digest = xstrdup(d);
                layers[i].size = json_int(l, "size", -1);
                image_short_id(d, layers[i].sid);
        }
        *ret_config = xstrdup(cd);
        *ret_layers = layers;
        *ret_n = n;
        return 0;
}

int registry_pull_prepare(ImageStore *e, const char *refstr, const RegistryAuth *auth, RegistryPull **ret, BerthError **err)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ImageRef *ref = NULL;
        _cleanup_free_ char *body = NULL, *type = NULL, *dg = NULL;
        _cleanup_json_ json_t *m = NULL;
        size_t len;
        int k = image_ref_parse(refstr, &ref, err);
        if (k < 0)
                return k;
        image_ref_default_tag(ref);
        RegistryPull *p = xcalloc(1, sizeof(*p));
        pthread_mutex_init(&p->plock, NULL);
        p->ref = ref;
        p->e = e;
        k = reg_open(e, ref, auth, false, &p->g, err);
        if (k < 0)
                goto fail;
        k = reg_fetch_manifest(p, ref->digest ? ref->digest : ref->tag, &body, &len, &type, &dg, err);
        if (k < 0)
                goto fail;
        m = json_loadb(body, len, 0, NULL);
        if (!json_is_object(m)) {
                k = berr_set(err, EINVAL, "invalid manifest: not JSON");
                goto fail;
        }
        if (reg_manifest_is_list(m, type)) {
                _cleanup_free_ char *pd = NULL;
                k = reg_manifest_pick(m, go_arch(), &pd, err);
                if (k < 0)
                        goto fail;
                free(body);
                free(type);
                _cleanup_free_ char *dg2 = NULL;
                body = NULL;
                type = NULL;
                k = reg_fetch_manifest(p, pd, &body, &len, &type, &dg2, err);
                if (k < 0)
                        goto fail;
                json_decref(m);
                m = json_loadb(body, len, 0, NULL);
                if (!json_is_object(m) || json_object_get(m, "manifests")) {
                        k = berr_set(err, EINVAL, "invalid manifest %s", pd);
                        goto fail;
                }
        }
        k = reg_manifest_layers(m, &p->config_digest, &p->layers, &p->n, err);
        if (k < 0)
                goto fail;
        p->manifest_digest = TAKE_PTR(dg); /* the digest of what the tag names (list or manifest) */
        *ret = p;
        return 0;
fail:
        registry_pull_free(p);
        return k;
}
