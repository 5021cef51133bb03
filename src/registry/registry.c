/* Registry v2 client: see registry.h and formats.md §3.
 *
 * Pull: manifest (by tag or digest; lists/indexes resolved to linux/<arch>),
 * config blob, then every layer whose chain is not local, downloaded in
 * parallel into <data-root>/image/blobs/<hex>.partial (resumed with Range after
 * an interruption), verified, unpacked (diff id verified) and registered as a
 * layer. A finished blob is removed once its layer exists; the layer itself is
 * what later pulls reuse. A process-wide table of digests in flight makes two
 * pulls of the same blob download it once.
 *
 * Push: layers go up as their kept uncompressed tars (media type
 * application/vnd.docker.image.rootfs.diff.tar, digest == diff id), then the
 * config, then a schema2 manifest.
 *
 * The client is split by concern; registry-internal.h lists the files. This
 * one connects to a registry. */
#include "registry-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

void reg_free(Reg *r)
{
        if (!r)
                return;
        free(r->host);
        free(r->base);
        free(r->repo);
        free(r->user);
        free(r->pass);
        free(r->token);
        free(r);
}

static bool host_insecure_locked(ImageStore *e, const char *host);

/* The list changes on SIGHUP (engine_reload), under the store's lock. */
static bool host_insecure(ImageStore *e, const char *host)
{
        pthread_mutex_lock(e->lock);
        bool r = host_insecure_locked(e, host);
        pthread_mutex_unlock(e->lock);
        return r;
}

static bool host_insecure_locked(ImageStore *e, const char *host)
{
        _cleanup_free_ char *h = strdup(host);
        char *colon = strrchr(h, ':');
        if (colon && !strchr(colon, ']'))
                *colon = 0;
        if (streq(h, "localhost"))
                return true;
        struct in_addr a;
        if (inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127)
                return true;
        for (size_t i = 0; e->insecure_registries && e->insecure_registries[i]; i++) {
                const char *ir = e->insecure_registries[i];
                if (streq(ir, host) || streq(ir, h))
                        return true;
                const char *sl = strchr(ir, '/');
                struct in_addr net;
                if (sl && inet_pton(AF_INET, h, &a) == 1) {
                        _cleanup_free_ char *n = strndup(ir, (size_t) (sl - ir));
                        int bits = atoi(sl + 1);
                        if (inet_pton(AF_INET, n, &net) == 1 && bits >= 0 && bits <= 32) {
                                uint32_t m = bits == 0 ? 0 : htonl(~0u << (32 - bits));
                                if ((a.s_addr & m) == (net.s_addr & m))
                                        return true;
                        }
                }
        }
        return false;
}

/* Connects: picks https, or http for insecure registries when https fails, and answers GET /v2/. */
int reg_open(ImageStore *e, const ImageRef *ref, const RegistryAuth *auth, bool push, Reg **ret, BerthError **err)
{
        Reg *g = calloc(1, sizeof(*g));
        g->e = e;
        g->host = strdup(streq(ref->domain, "docker.io") ? "registry-1.docker.io" : ref->domain);
        g->repo = ref->path ? strdup(ref->path) : NULL;
        g->push = push;
        if (auth && auth->username) {
                g->user = strdup(auth->username);
                g->pass = strdup(auth->password ?: "");
        }
        bool insecure = host_insecure(e, ref->domain);
        g->insecure = insecure;
        const char *schemes[2] = { "https", insecure ? "http" : NULL };
        int k = -EIO;
        for (int i = 0; i < 2 && schemes[i]; i++) {
                free(g->base);
                g->base = xasprintf("%s://%s", schemes[i], g->host);
                Resp r = { .fd = -1, .max = 64 * 1024 };
                Req q = { .method = "GET", .url = "/v2/" };
                BerthError *e2 = NULL;
                k = reg_do(g, &q, &r, &e2);
                long st = r.status;
                reg_resp_clear(&r);
                if (k < 0 && i == 0 && insecure && e2 && e2->code == EIO) {
                        berr_free(e2);
                        continue;
                }
                if (k < 0) {
                        int c = berr_set(err, e2->code, "%s", e2->msg);
                        berr_free(e2);
                        reg_free(g);
                        return c;
                }
                if (st == 401 && g->user) {
                        reg_free(g);
                        return berr_set(err, EACCES, "unauthorized: incorrect username or password");
                }
                if (st != 200 && st != 401) {
                        reg_free(g);
                        return berr_set(err, EIO, "registry %s answered %ld to GET /v2/", ref->domain, st);
                }
                break;
        }
        if (k < 0) {
                reg_free(g);
                return berr_set(err, EIO, "cannot reach registry %s", ref->domain);
        }
        *ret = g;
        return 0;
}

/* ---- login ---- */

int registry_login(ImageStore *e, const RegistryAuth *auth, BerthError **err)
{
        const char *sa = auth->serveraddress ?: "docker.io";
        if (startswith(sa, "https://"))
                sa += 8;
        else if (startswith(sa, "http://"))
                sa += 7;
        _cleanup_free_ char *host = strndup(sa, strcspn(sa, "/"));
        if (streq(host, "index.docker.io") || streq(host, "registry-1.docker.io"))
                strcpy(host, "docker.io");
        ImageRef ref = { .domain = host };
        Reg *g = NULL;
        int k = reg_open(e, &ref, auth, false, &g, err);
        if (k < 0)
                return k;
        /* reg_open already exchanged credentials for a token or set Basic; check they now pass. */
        Resp r = { .fd = -1, .max = 64 * 1024 };
        Req q = { .method = "GET", .url = "/v2/" };
        k = reg_do(g, &q, &r, err);
        if (k == 0 && r.status == 401)
                k = berr_set(err, EACCES, "login attempt to %s/v2/ failed with status: 401 Unauthorized", g->base);
        else if (k == 0 && r.status != 200)
                k = berr_set(err, EIO, "login attempt to %s/v2/ failed with status: %ld", g->base, r.status);
        reg_resp_clear(&r);
        reg_free(g);
        return k;
}
