/* Registry client: pull run. Config blob, then every layer whose chain is not
 * local, downloaded in parallel into <data-root>/image/blobs/<hex>.partial
 * (resumed with Range after an interruption), verified, unpacked (diff id
 * verified) and registered as a layer. A process-wide table of digests in
 * flight makes two pulls of the same blob download it once. */
#include "registry-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/progress.h"
#include "basic/util.h"
#include "image/image-internal.h"

#define CONFIG_MAX (8 * 1024 * 1024)
#define PARALLEL 3

static bool sha_matches(const char *data, size_t len, const char *digest)
{
        char hex[65];
        sha256_hex(data, len, hex);
        return startswith(digest, "sha256:") && streq(digest + 7, hex);
}

void registry_pull_free(RegistryPull *p)
{
        if (!p)
                return;
        reg_free(p->g);
        image_ref_free(p->ref);
        free(p->manifest_digest);
        free(p->config_digest);
        free(p->config);
        reg_layers_free(p->layers, p->n);
        berr_free(p->ferr);
        pthread_mutex_destroy(&p->plock);
        free(p);
}

int reg_config_chain(const char *config, size_t len, Layer *layers, size_t n, BerthError **err)
{
        _cleanup_json_ json_t *cfg = json_loadb(config, len, 0, NULL);
        json_t *dids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        if (!json_is_array(dids) || json_array_size(dids) != n)
                return berr_set(err, EINVAL, "invalid image config: %zu diff ids for %zu layers", json_array_size(dids),
                                n);
        for (size_t i = 0; i < n; i++) {
                const char *d = json_string_value(json_array_get(dids, i));
                if (!d || !image_digest_valid(d))
                        return berr_set(err, EINVAL, "invalid image config: bad diff id %zu", i);
                Layer *l = &layers[i];
                free(l->diff_id);
                l->diff_id = xstrdup(d);
                if (i)
                        memcpy(l->parent, layers[i - 1].chain, 72);
                image_chain_id(i ? l->parent : NULL, d, l->chain);
        }
        return 0;
}

static int fetch_small_blob(Reg *g, const char *digest, size_t max, char **ret, size_t *ret_len, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", g->repo, digest);
        Req q = { .method = "GET", .url = url };
        Resp r = { .fd = -1, .max = max };
        int k = reg_do(g, &q, &r, err);
        if (k == 0 && r.status != 200) {
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, r.status == 404 ? ENOENT : EIO, "error fetching blob %s: %s", digest, t);
        }
        if (k == 0 && !sha_matches(r.body ?: "", r.len, digest))
                k = berr_set(err, EINVAL, "blob %s: digest mismatch (content hashes otherwise)", digest);
        if (k == 0) {
                *ret = TAKE_PTR(r.body);
                *ret_len = r.len;
        }
        reg_resp_clear(&r);
        return k;
}

static void emit(RegistryPull *p, json_t *j)
{
        if (p->progress) {
                pthread_mutex_lock(&p->plock);
                p->progress(p->cls, j);
                pthread_mutex_unlock(&p->plock);
        }
        json_decref(j);
}

static void emit_status(RegistryPull *p, const char *status, const char *id)
{
        emit(p, progress_status(status, id));
}

static void emit_progress(RegistryPull *p, const char *status, const char *id, int64_t cur, int64_t total)
{
        emit(p, progress_bytes(status, id, cur, total));
}

/* Process-wide: blob digests being fetched right now. */
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static char **inflight;

static void inflight_acquire(const char *key, bool *waited)
{
        pthread_mutex_lock(&inflight_lock);
        *waited = false;
        while (strv_contains(inflight, key)) {
                *waited = true;
                pthread_cond_wait(&inflight_cond, &inflight_lock);
        }
        strv_extend(&inflight, key);
        pthread_mutex_unlock(&inflight_lock);
}

static void inflight_release(const char *key)
{
        pthread_mutex_lock(&inflight_lock);
        size_t n = strv_length(inflight), j = 0;
        for (size_t i = 0; i < n; i++) {
                if (streq(inflight[i], key)) {
                        free(inflight[i]);
                        continue;
                }
                inflight[j++] = inflight[i];
        }
        if (inflight)
                inflight[j] = NULL;
        pthread_cond_broadcast(&inflight_cond);
        pthread_mutex_unlock(&inflight_lock);
}

typedef struct DlCtx {
        RegistryPull *p;
        Layer *l;
        int64_t last;
} DlCtx;

static void on_dl(void *cls, int64_t got)
{
        DlCtx *d = cls;
        if (got - d->last < 512 * 1024 && got != d->l->size)
                return;
        d->last = got;
        emit_progress(d->p, "Downloading", d->l->sid, got, d->l->size);
}

/* Downloads one blob to blobs/<hex> (resuming blobs/<hex>.partial), verified. */
static int download_blob(RegistryPull *p, Layer *l, char **ret_path, BerthError **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/image/blobs", p->e->data_root);
        mkdir_p(dir, 0700);
        char *path = xasprintf("%s/%s", dir, l->digest + 7);
        _cleanup_free_ char *part = xasprintf("%s.partial", path);
        struct stat st;
        if (stat(path, &st) == 0) {
                *ret_path = path; /* verified before it was renamed */
                return 0;
        }
        int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
                free(path);
                return berr_set(err, errno, "cannot create %s: %m", part);
        }
        int64_t have = 0;
        Sha256 *sha = sha256_new();
        /* hash what an interrupted pull left behind */
        {
                /* heap: large static TLS would shrink every thread's stack */
                _cleanup_free_ char *buf = malloc(256 * 1024);
                ssize_t n;
                while (buf && (n = read(fd, buf, 256 * 1024)) > 0) {
                        sha256_update(sha, buf, (size_t) n);
                        have += n;
                }
        }
        if (l->size >= 0 && have > l->size) {
                sha256_free(sha);
                sha = sha256_new();
                have = 0;
                ftruncate(fd, 0);
                lseek(fd, 0, SEEK_SET);
        }
        _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", p->g->repo, l->digest);
        _cleanup_free_ char *range = have > 0 ? xasprintf("Range: bytes=%lld-", (long long) have) : NULL;
        char *hdrs[] = { range, NULL };
        DlCtx dc = { .p = p, .l = l, .last = have };
        Resp r = { .fd = fd, .max = 64 * 1024, .sha = sha, .got = have, .on_data = on_dl, .cls = &dc };
        Req q = { .method = "GET", .url = url, .headers = range ? hdrs : NULL };
        int k = 0;
        if (have > 0 && have == l->size) {
                r.status = 206; /* complete already: only verify */
        } else {
                /* A 200 to a Range request restarts from zero: handled by truncating first. */
                k = reg_do(p->g, &q, &r, err);
                if (k == 0 && r.status == 200 && have > 0) {
                        sha256_free(sha);
                        sha = sha256_new();
                        ftruncate(fd, 0);
                        lseek(fd, 0, SEEK_SET);
                        reg_resp_clear(&r);
                        r = (Resp) { .fd = fd, .max = 64 * 1024, .sha = sha, .on_data = on_dl, .cls = &dc };
                        Req q2 = { .method = "GET", .url = url };
                        k = reg_do(p->g, &q2, &r, err);
                }
        }
        if (k == 0 && r.status != 200 && r.status != 206) {
                _cleanup_free_ char *t = reg_error_text(&r);
                k = berr_set(err, EIO, "error pulling layer %s: %s", l->digest, t);
        }
        int64_t total = r.got;
        reg_resp_clear(&r);
        if (k == 0 && l->size >= 0 && total != l->size)
                k = berr_set(err, EINVAL, "layer %s: got %lld bytes, the manifest says %lld", l->digest,
                             (long long) total, (long long) l->size);
        char hex[65];
        sha256_finish_hex(sha, hex);
        close(fd);
        if (k == 0 && !streq(hex, l->digest + 7)) {
                unlink(part); /* wrong content: never resume from it */
                k = berr_set(err, EINVAL, "filesystem layer verification failed for digest %s", l->digest);
        }
        if (k == 0 && rename(part, path) < 0)
                k = berr_set(err, errno, "cannot store blob %s: %m", path);
        if (k < 0) {
                free(path);
                return k;
        }
        *ret_path = path;
        return 0;
}

static int pull_layer(RegistryPull *p, Layer *l, BerthError **err)
{
        bool waited;
        inflight_acquire(l->digest, &waited);
        int k = 0;
        _cleanup_free_ char *path = NULL;
        if (image_layer_known(p->e, l->chain)) {
                emit_status(p, waited ? "Download complete" : "Already exists", l->sid);
                if (waited)
                        emit_status(p, "Pull complete", l->sid);
                goto out;
        }
        k = download_blob(p, l, &path, err);
        if (k < 0)
                goto out;
        crash_point("pull-after-blob"); /* a verified blob not unpacked yet */
        emit_status(p, "Verifying Checksum", l->sid);
        emit_status(p, "Download complete", l->sid);
        emit_progress(p, "Extracting", l->sid, 0, l->size);
        {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        k = berr_set(err, errno, "cannot open %s: %m", path);
                        goto out;
                }
                char got[72];
                /* An uncompressed blob (digest == diff id) becomes the kept layer tar as it is. */
                bool plain = streq(l->digest, l->diff_id);
                k = image_layer_add_file(p->e, *l->parent ? l->parent : NULL, fd, plain ? path : NULL, l->diff_id,
                                         got, NULL, err);
                if (k < 0) {
                        unlink(path); /* it does not unpack to what the config says: fetch again next time */
                        goto out;
                }
        }
        unlink(path); /* gone already when it was adopted */
        emit_progress(p, "Extracting", l->sid, l->size, l->size);
        emit_status(p, "Pull complete", l->sid);
out:
        inflight_release(l->digest);
        return k;
}

static void *pull_worker(void *arg)
{
        RegistryPull *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->plock);
                size_t i = p->next++;
                bool stop = p->failed;
                pthread_mutex_unlock(&p->plock);
                if (i >= p->n || stop)
                        break;
                BerthError *e = NULL;
                if (pull_layer(p, &p->layers[i], &e) < 0) {
                        pthread_mutex_lock(&p->plock);
                        if (!p->failed) {
                                p->failed = 1;
                                p->ferr = e;
                                e = NULL;
                        }
                        pthread_mutex_unlock(&p->plock);
                        berr_free(e);
                }
        }
        return NULL;
}

int registry_pull_run(ImageStore *e, RegistryPull *p, ImageProgressFn progress, void *cls, BerthError **err)
{
        p->progress = progress;
        p->cls = cls;
        {
                json_t *j = json_pack("{s:s,s:s}", "status", "", "id", p->ref->tag ? p->ref->tag : p->ref->digest);
                _cleanup_free_ char *s = xasprintf("Pulling from %s", p->ref->path);
                json_object_set_new(j, "status", json_string(s));
                emit(p, j);
        }
        int k = fetch_small_blob(p->g, p->config_digest, CONFIG_MAX, &p->config, &p->config_len, err);
        if (k < 0)
                return k;
        k = reg_config_chain(p->config, p->config_len, p->layers, p->n, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *fam = reg_familiar_tagged(p->ref);
        _cleanup_free_ char *existing = NULL, *tagged = NULL;
        bool had = image_resolve(e, p->config_digest, &existing, NULL) == 0;
        /* "up to date" when the name already pointed at this image (moby: tagUpdated) */
        bool same_tag = image_resolve(e, fam, &tagged, NULL) == 0 && streq(tagged, p->config_digest);
        bool all = true;
        for (size_t i = 0; i < p->n; i++)
                if (!image_layer_known(e, p->layers[i].chain))
                        all = false;
        if (!all || !had) {
                for (size_t i = 0; i < p->n; i++)
                        if (!image_layer_known(e, p->layers[i].chain))
                                emit_status(p, "Pulling fs layer", p->layers[i].sid);
                pthread_t th[PARALLEL];
                int nt = p->n < PARALLEL ? (int) p->n : PARALLEL;
                for (int t = 0; t < nt; t++)
                        pthread_create(&th[t], NULL, pull_worker, p);
                for (int t = 0; t < nt; t++)
                        pthread_join(th[t], NULL);
                if (p->failed)
                        return berr_set(err, p->ferr ? p->ferr->code : EIO, "%s", p->ferr ? p->ferr->msg : "pull failed");
        }
        char **refs = NULL;
        _cleanup_free_ char *name = image_ref_name(p->ref);
        if (p->ref->tag && !p->ref->digest)
                strv_push(&refs, image_ref_full(p->ref));
        strv_push(&refs, xasprintf("%s@%s", name, p->ref->digest ? p->ref->digest : p->manifest_digest));
        k = image_add(e, p->config, p->config_len, NULL, refs, NULL, err);
        strv_free(refs);
        if (k < 0)
                return k;
        _cleanup_free_ char *ds = xasprintf("Digest: %s", p->manifest_digest);
        emit_status(p, ds, NULL);
        _cleanup_free_ char *ss = xasprintf("Status: %s for %s", had && all && same_tag ? "Image is up to date" : "Downloaded newer image",
                                            fam);
        emit_status(p, ss, NULL);
        return 0;
}

/* The platform of an image config as Docker's ocispec.Platform marshals it. */
static json_t *config_platform(const char *cfg, size_t len)
{
        _cleanup_json_ json_t *c = json_loadb(cfg, len, 0, NULL);
        if (!json_str(c, "os") && !json_str(c, "architecture"))
                return NULL;
        json_t *p = json_pack("{s:s,s:s}", "architecture", json_str(c, "architecture") ?: "", "os",
                              json_str(c, "os") ?: "");
        const char *keys[] = { "os.version", "os.features", "variant" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_t *v = json_object_get(c, keys[i]);
                if ((json_is_string(v) && *json_string_value(v)) || json_array_size(v))
                        json_object_set(p, keys[i], v);
        }
        return p;
}

int registry_distribution_inspect(ImageStore *e, const char *refstr, const RegistryAuth *auth, json_t **ret,
                                  BerthError **err)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ImageRef *ref = NULL;
        int k = image_ref_parse(refstr, &ref, err);
        if (k < 0)
                return k;
        image_ref_default_tag(ref);
        RegistryPull *p = xcalloc(1, sizeof(*p));
        pthread_mutex_init(&p->plock, NULL);
        p->ref = ref;
        p->e = e;
        _cleanup_free_ char *body = NULL, *type = NULL, *dg = NULL, *cfg = NULL;
        _cleanup_json_ json_t *m = NULL;
        size_t len = 0, cfg_len = 0;
        k = reg_open(e, ref, auth, false, &p->g, err);
        if (k == 0)
                k = reg_fetch_manifest(p, ref->digest ? ref->digest : ref->tag, &body, &len, &type, &dg, err);
        if (k < 0) {
                if ((p->status == 401 || p->status == 403) && err && *err)
                        (*err)->code = EUNATCH;
                goto out;
        }
        m = json_loadb(body, len, 0, NULL);
        if (!json_is_object(m)) {
                k = berr_set(err, EINVAL, "invalid manifest: not JSON");
                goto out;
        }
        const char *mt = json_str(m, "mediaType") ?: type ?: "";
        json_t *platforms = json_array();
        if (json_object_get(m, "manifests")) {
                size_t i;
                json_t *d;
                json_array_foreach(json_object_get(m, "manifests"), i, d) {
                        json_t *pl = json_object_get(d, "platform");
                        json_t *o = json_pack("{s:s,s:s}", "architecture", json_str(pl, "architecture") ?: "", "os",
                                              json_str(pl, "os") ?: "");
                        const char *keys[] = { "os.version", "os.features", "variant" };
                        for (size_t n = 0; n < ELEMENTSOF(keys); n++) {
                                json_t *v = json_object_get(pl, keys[n]);
                                if ((json_is_string(v) && *json_string_value(v)) || json_array_size(v))
                                        json_object_set(o, keys[n], v);
                        }
                        json_array_append_new(platforms, o);
                }
        } else {
                /* a single manifest: its config says the platform (a config that cannot be read gives none,
                 * as in dockerd) */
                const char *cd = json_str(json_object_get(m, "config"), "digest");
                _cleanup_berr_ BerthError *cerr = NULL;
                if (cd && image_digest_valid(cd) && fetch_small_blob(p->g, cd, CONFIG_MAX, &cfg, &cfg_len, &cerr) == 0) {
                        json_t *pl = config_platform(cfg, cfg_len);
                        if (pl)
                                json_array_append_new(platforms, pl);
                }
        }
        *ret = json_pack("{s:{s:s,s:s,s:I},s:o}", "Descriptor", "mediaType", mt, "digest", dg, "size",
                         (json_int_t) len, "Platforms", platforms);
        k = 0;
out:
        registry_pull_free(p);
        return k;
}
