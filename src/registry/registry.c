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
 * config, then a schema2 manifest. */
#include "registry.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "image/image-internal.h"
#include "image/reference.h"

#define MANIFEST_MAX (4 * 1024 * 1024)
#define CONFIG_MAX (8 * 1024 * 1024)
#define PARALLEL 3

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* ---- auth header ---- */

void registry_auth_clear(RegistryAuth *a)
{
        free(a->username);
        free(a->password);
        free(a->identitytoken);
        free(a->serveraddress);
        memset(a, 0, sizeof(*a));
}

static int b64val(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

static char *b64_decode(const char *s, size_t *ret_len)
{
        size_t n = strlen(s);
        char *out = malloc(n + 1);
        size_t o = 0;
        unsigned acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '=' || s[i] == '\n' || s[i] == '\r')
                        continue;
                int v = b64val(s[i]);
                if (v < 0) {
                        free(out);
                        return NULL;
                }
                acc = (acc << 6) | (unsigned) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char) ((acc >> bits) & 0xff);
                }
        }
        out[o] = 0;
        *ret_len = o;
        return out;
}

void registry_auth_from_header(const char *hdr, RegistryAuth *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (!hdr || !*hdr)
                return;
        size_t len;
        _cleanup_free_ char *raw = b64_decode(hdr, &len);
        if (!raw)
                return;
        _cleanup_json_ json_t *j = json_loadb(raw, len, 0, NULL);
        if (!json_is_object(j))
                return;
#define DUP(field, key)                                            \
        do {                                                       \
                const char *v = json_str(j, key);                  \
                ret->field = v && *v ? strdup(v) : NULL;           \
        } while (0)
        DUP(username, "username");
        DUP(password, "password");
        DUP(identitytoken, "identitytoken");
        DUP(serveraddress, "serveraddress");
#undef DUP
}

/* ---- the registry connection ---- */

typedef struct Reg {
        Engine *e;
        char *host;  /* as in the reference: "127.0.0.1:5000"; docker.io -> registry-1.docker.io */
        char *base;  /* "http://127.0.0.1:5000" */
        char *repo;  /* "library/busybox" */
        char *user, *pass;
        char *token; /* Bearer token once obtained */
        bool basic;  /* the registry asked for Basic */
        bool push;   /* scope push,pull */
        bool insecure;
} Reg;

static void reg_free(Reg *r)
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

typedef struct Resp {
        long status;
        char *body;
        size_t len, max;
        bool too_big;
        char *ctype, *digest, *location, *www_auth, *range;
        int64_t clen;
        /* streaming download */
        int fd;
        Sha256 *sha;
        int64_t got;
        void (*on_data)(void *cls, int64_t got);
        void *cls;
        bool write_failed;
} Resp;

static void resp_clear(Resp *r)
{
        free(r->body);
        free(r->ctype);
        free(r->digest);
        free(r->location);
        free(r->www_auth);
        free(r->range);
        memset(r, 0, sizeof(*r));
        r->fd = -1;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *cls)
{
        Resp *r = cls;
        size_t n = sz * nm;
        if (r->fd >= 0 && r->status >= 200 && r->status < 300) {
                size_t off = 0;
                while (off < n) {
                        ssize_t w = write(r->fd, p + off, n - off);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0) {
                                r->write_failed = true;
                                return 0;
                        }
                        off += (size_t) w;
                }
                if (r->sha)
                        sha256_update(r->sha, p, n);
                r->got += (int64_t) n;
                if (r->on_data)
                        r->on_data(r->cls, r->got);
                return n;
        }
        if (r->len + n > r->max) {
                r->too_big = true;
                return 0;
        }
        r->body = realloc(r->body, r->len + n + 1);
        memcpy(r->body + r->len, p, n);
        r->len += n;
        r->body[r->len] = 0;
        return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *cls)
{
        Resp *r = cls;
        size_t n = sz * nm;
        _cleanup_free_ char *line = strndup(p, n);
        char *c = strchr(line, ':');
        if (startswith(line, "HTTP/")) {
                /* a new response (redirect, 100): forget earlier headers */
                free(r->www_auth);
                r->www_auth = NULL;
                const char *sp = strchr(line, ' ');
                if (sp)
                        r->status = strtol(sp + 1, NULL, 10);
                return n;
        }
        if (!c)
                return n;
        *c = 0;
        char *v = c + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                v[--vl] = 0;
        char **dst = NULL;
        if (!strcasecmp(line, "content-type"))
                dst = &r->ctype;
        else if (!strcasecmp(line, "docker-content-digest"))
                dst = &r->digest;
        else if (!strcasecmp(line, "location"))
                dst = &r->location;
        else if (!strcasecmp(line, "www-authenticate"))
                dst = &r->www_auth;
        else if (!strcasecmp(line, "range"))
                dst = &r->range;
        else if (!strcasecmp(line, "content-length"))
                r->clen = strtoll(v, NULL, 10);
        if (dst) {
                free(*dst);
                *dst = strdup(v);
        }
        return n;
}

typedef struct ReqBody {
        const char *mem;
        size_t len;
        int fd; /* -1 for mem */
        int64_t fsize;
        void (*on_sent)(void *cls, int64_t sent);
        void *cls;
        int64_t sent;
} ReqBody;

static size_t on_read(char *buf, size_t sz, size_t nm, void *cls)
{
        ReqBody *b = cls;
        size_t want = sz * nm;
        if (b->fd >= 0) {
                ssize_t n = read(b->fd, buf, want);
                if (n < 0)
                        return CURL_READFUNC_ABORT;
                b->sent += n;
                if (b->on_sent)
                        b->on_sent(b->cls, b->sent);
                return (size_t) n;
        }
        size_t left = b->len - (size_t) b->sent;
        size_t n = left < want ? left : want;
        memcpy(buf, b->mem + b->sent, n);
        b->sent += (int64_t) n;
        return n;
}

/* Value of key="v" in a WWW-Authenticate challenge. */
static char *challenge_param(const char *ch, const char *key)
{
        size_t kl = strlen(key);
        for (const char *p = ch; (p = strcasestr(p, key)); p += kl) {
                if (p != ch && p[-1] != ' ' && p[-1] != ',')
                        continue;
                if (p[kl] != '=')
                        continue;
                const char *v = p + kl + 1;
                if (*v == '"') {
                        const char *end = strchr(v + 1, '"');
                        return end ? strndup(v + 1, (size_t) (end - v - 1)) : NULL;
                }
                return strndup(v, strcspn(v, ", "));
        }
        return NULL;
}

static CURL *easy_new(Resp *resp)
{
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "docker/20.10.24 berth/" BERTH_VERSION);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        return c;
}

static int token_fetch(Reg *g, const char *challenge, BerthError **err)
{
        _cleanup_free_ char *realm = challenge_param(challenge, "realm");
        _cleanup_free_ char *service = challenge_param(challenge, "service");
        if (!realm)
                return berr_set(err, EACCES, "unauthorized: bearer challenge without realm");
        CURL *c = curl_easy_init();
        _cleanup_free_ char *es = service ? curl_easy_escape(c, service, 0) : NULL;
        _cleanup_free_ char *scope = g->repo ? xasprintf("repository:%s:%s", g->repo, g->push ? "push,pull" : "pull") : NULL;
        _cleanup_free_ char *esc = scope ? curl_easy_escape(c, scope, 0) : NULL;
        _cleanup_free_ char *eu = g->user ? curl_easy_escape(c, g->user, 0) : NULL;
        curl_easy_cleanup(c);
        _cleanup_free_ char *url = xasprintf("%s%s%s%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
                                             es ? "service=" : "", es ?: "", esc ? "&scope=" : "", esc ?: "",
                                             eu ? "&account=" : "", eu ?: "",
                                             g->repo ? "" : "&client_id=docker&offline_token=true");
        Resp r = { .fd = -1, .max = 1024 * 1024 };
        CURL *h = easy_new(&r);
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (g->user) {
                curl_easy_setopt(h, CURLOPT_USERNAME, g->user);
                curl_easy_setopt(h, CURLOPT_PASSWORD, g->pass ?: "");
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        }
        CURLcode cc = curl_easy_perform(h);
        curl_easy_cleanup(h);
        int k = 0;
        if (cc != CURLE_OK)
                k = berr_set(err, EIO, "Get \"%s\": %s", realm, curl_easy_strerror(cc));
        else if (r.status == 401 || r.status == 403)
                k = berr_set(err, EACCES, "unauthorized: incorrect username or password");
        else if (r.status != 200)
                k = berr_set(err, EIO, "token endpoint %s answered %ld", realm, r.status);
        else {
                _cleanup_json_ json_t *j = json_loadb(r.body ?: "", r.len, 0, NULL);
                const char *t = json_str(j, "token") ?: json_str(j, "access_token");
                if (!t || !*t)
                        k = berr_set(err, EIO, "token endpoint %s sent no token", realm);
                else {
                        free(g->token);
                        g->token = strdup(t);
                }
        }
        resp_clear(&r);
        return k;
}

typedef struct Req {
        const char *method;
        const char *url;      /* absolute, or a path below base */
        char **headers;       /* "Name: value" */
        ReqBody *body;        /* NULL for none */
        bool head;
} Req;

/* One request with the auth dance: a 401 answers with a challenge we satisfy once, then retry. */
static int reg_do(Reg *g, Req *q, Resp *r, BerthError **err)
{
        _cleanup_free_ char *url = startswith(q->url, "http://") || startswith(q->url, "https://")
                                           ? strdup(q->url)
                                           : xasprintf("%s%s", g->base, q->url);
        for (int attempt = 0; attempt < 2; attempt++) {
                int64_t keep_got = r->got;
                r->status = 0;
                r->len = 0;
                r->too_big = false;
                CURL *c = easy_new(r);
                struct curl_slist *hl = NULL;
                for (size_t i = 0; q->headers && q->headers[i]; i++)
                        hl = curl_slist_append(hl, q->headers[i]);
                _cleanup_free_ char *authz = NULL;
                if (g->token)
                        authz = xasprintf("Authorization: Bearer %s", g->token);
                if (authz)
                        hl = curl_slist_append(hl, authz);
                else if (g->basic && g->user) {
                        curl_easy_setopt(c, CURLOPT_USERNAME, g->user);
                        curl_easy_setopt(c, CURLOPT_PASSWORD, g->pass ?: "");
                        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
                }
                curl_easy_setopt(c, CURLOPT_URL, url);
                if (g->insecure) {
                        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
                }
                if (q->head)
                        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
                else if (q->body) {
                        q->body->sent = 0;
                        if (q->body->fd >= 0)
                                lseek(q->body->fd, 0, SEEK_SET);
                        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
                        curl_easy_setopt(c, CURLOPT_READDATA, q->body);
                        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                                         (curl_off_t) (q->body->fd >= 0 ? q->body->fsize : (int64_t) q->body->len));
                        hl = curl_slist_append(hl, "Expect:");
                }
                if (q->method && !streq(q->method, "GET") && !streq(q->method, "HEAD"))
                        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
                else if (streq(q->method, "GET") && !q->body) {
                        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* blob storage may redirect */
                        curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
                }
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
                CURLcode cc = curl_easy_perform(c);
                curl_easy_cleanup(c);
                curl_slist_free_all(hl);
                if (r->write_failed)
                        return berr_set(err, EIO, "cannot write the download: %m");
                if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->too_big))
                        return berr_set(err, EIO, "%s \"%s\": %s", q->method, url, curl_easy_strerror(cc));
                if (r->too_big)
                        return berr_set(err, EINVAL, "%s \"%s\": response too large", q->method, url);
                if (r->status != 401 || attempt == 1 || !r->www_auth)
                        return 0;
                r->got = keep_got;
                if (!strncasecmp(r->www_auth, "Bearer", 6)) {
                        int k = token_fetch(g, r->www_auth, err);
                        if (k < 0)
                                return k;
                } else if (!strncasecmp(r->www_auth, "Basic", 5)) {
                        if (!g->user || g->basic)
                                return 0;
                        g->basic = true;
                } else
                        return 0;
        }
        return 0;
}

/* The registry's error text: "manifest unknown: manifest unknown" from {"errors":[{code,message,...}]}. */
static char *reg_error_text(Resp *r)
{
        _cleanup_json_ json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        if (e0) {
                const char *code = json_str(e0, "code");
                const char *msg = json_str(e0, "message");
                _cleanup_free_ char *lc = code ? strdup(code) : NULL;
                for (char *p = lc; p && *p; p++)
                        *p = *p == '_' ? ' ' : (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                return xasprintf("%s: %s", lc ?: "error", msg ?: "");
        }
        return xasprintf("%ld", r->status);
}

static bool host_insecure(Engine *e, const char *host)
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
        for (size_t i = 0; e->cfg.insecure_registries && e->cfg.insecure_registries[i]; i++) {
                const char *ir = e->cfg.insecure_registries[i];
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
static int reg_open(Engine *e, const ImageRef *ref, const RegistryAuth *auth, bool push, Reg **ret, BerthError **err)
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
                resp_clear(&r);
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

int registry_login(Engine *e, const RegistryAuth *auth, BerthError **err)
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
        resp_clear(&r);
        reg_free(g);
        return k;
}

/* ---- helpers ---- */

static bool sha_matches(const char *data, size_t len, const char *digest)
{
        char hex[65];
        sha256_hex(data, len, hex);
        return startswith(digest, "sha256:") && streq(digest + 7, hex);
}

static const char ACCEPT[] = "Accept: " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", " MT_OCI_INDEX
                             ", application/json";

static char *familiar_tagged(const ImageRef *ref)
{
        return image_ref_familiar(ref);
}

/* ---- pull ---- */

typedef struct Layer {
        char *digest;   /* blob digest */
        char *diff_id;
        int64_t size;
        char chain[72];
        char parent[72];
        bool present;
        char sid[13];
} Layer;

struct RegistryPull {
        Reg *g;
        ImageRef *ref;
        char *manifest_digest;
        char *config_digest;
        char *config;
        size_t config_len;
        Layer *layers;
        size_t n;
        /* progress */
        ImageProgressFn progress;
        void *cls;
        pthread_mutex_t plock;
        /* work queue */
        size_t next;
        int failed;
        BerthError *ferr;
        Engine *e;
};

void registry_pull_free(RegistryPull *p)
{
        if (!p)
                return;
        reg_free(p->g);
        image_ref_free(p->ref);
        free(p->manifest_digest);
        free(p->config_digest);
        free(p->config);
        for (size_t i = 0; i < p->n; i++) {
                free(p->layers[i].digest);
                free(p->layers[i].diff_id);
        }
        free(p->layers);
        berr_free(p->ferr);
        pthread_mutex_destroy(&p->plock);
        free(p);
}

static int fetch_manifest(RegistryPull *p, const char *what, char **ret, size_t *ret_len, char **ret_type,
                          char **ret_digest, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", p->g->repo, what);
        char *hdrs[] = { (char *) ACCEPT, NULL };
        Req q = { .method = "GET", .url = url, .headers = hdrs };
        Resp r = { .fd = -1, .max = MANIFEST_MAX };
        int k = reg_do(p->g, &q, &r, err);
        if (k < 0) {
                resp_clear(&r);
                return k;
        }
        _cleanup_free_ char *name = image_ref_name(p->ref);
        if (r.status == 404) {
                _cleanup_free_ char *t = reg_error_text(&r);
                _cleanup_free_ char *fam = familiar_tagged(p->ref);
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
                resp_clear(&r);
                return k;
        }
        char hex[65];
        sha256_hex(r.body ?: "", r.len, hex);
        _cleanup_free_ char *dg = xasprintf("sha256:%s", hex);
        if (startswith(what, "sha256:") && !streq(dg, what)) {
                resp_clear(&r);
                return berr_set(err, EINVAL, "manifest verification failed for digest %s", what);
        }
        *ret = TAKE_PTR(r.body);
        *ret_len = r.len;
        *ret_type = r.ctype ? strndup(r.ctype, strcspn(r.ctype, ";")) : NULL;
        *ret_digest = TAKE_PTR(dg);
        resp_clear(&r);
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
        resp_clear(&r);
        return k;
}

int registry_pull_prepare(Engine *e, const char *refstr, const RegistryAuth *auth, RegistryPull **ret, BerthError **err)
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
        RegistryPull *p = calloc(1, sizeof(*p));
        pthread_mutex_init(&p->plock, NULL);
        p->ref = ref;
        p->e = e;
        k = reg_open(e, ref, auth, false, &p->g, err);
        if (k < 0)
                goto fail;
        k = fetch_manifest(p, ref->digest ? ref->digest : ref->tag, &body, &len, &type, &dg, err);
        if (k < 0)
                goto fail;
        m = json_loadb(body, len, 0, NULL);
        if (!json_is_object(m)) {
                k = berr_set(err, EINVAL, "invalid manifest: not JSON");
                goto fail;
        }
        const char *mt = json_str(m, "mediaType") ?: type;
        if (mt && (streq(mt, MT_DOCKER_LIST) || streq(mt, MT_OCI_INDEX) || json_object_get(m, "manifests"))) {
                const char *pick = NULL;
                size_t i;
                json_t *d;
                json_array_foreach(json_object_get(m, "manifests"), i, d)
                {
                        json_t *pl = json_object_get(d, "platform");
                        if (streq(json_str(pl, "os") ?: "", "linux") &&
                            streq(json_str(pl, "architecture") ?: "", go_arch())) {
                                pick = json_str(d, "digest");
                                break;
                        }
                }
                if (!pick || !image_digest_valid(pick)) {
                        k = berr_set(err, ENOENT, "no matching manifest for linux/%s in the manifest list entries",
                                     go_arch());
                        goto fail;
                }
                _cleanup_free_ char *pd = strdup(pick);
                free(body);
                free(type);
                _cleanup_free_ char *dg2 = NULL;
                body = NULL;
                type = NULL;
                k = fetch_manifest(p, pd, &body, &len, &type, &dg2, err);
                if (k < 0)
                        goto fail;
                json_decref(m);
                m = json_loadb(body, len, 0, NULL);
                if (!json_is_object(m) || json_object_get(m, "manifests")) {
                        k = berr_set(err, EINVAL, "invalid manifest %s", pd);
                        goto fail;
                }
        }
        if (json_int(m, "schemaVersion", 0) != 2) {
                k = berr_set(err, EINVAL, "unsupported manifest (schema version %lld)", json_int(m, "schemaVersion", 0));
                goto fail;
        }
        p->manifest_digest = TAKE_PTR(dg); /* the digest of what the tag names (list or manifest) */
        const char *cd = json_str(json_object_get(m, "config"), "digest");
        json_t *ls = json_object_get(m, "layers");
        if (!cd || !image_digest_valid(cd) || !json_is_array(ls)) {
                k = berr_set(err, EINVAL, "invalid manifest: no config or layers");
                goto fail;
        }
        p->config_digest = strdup(cd);
        p->n = json_array_size(ls);
        p->layers = calloc(p->n ? p->n : 1, sizeof(Layer));
        size_t i;
        json_t *l;
        json_array_foreach(ls, i, l)
        {
                const char *d = json_str(l, "digest");
                if (!d || !image_digest_valid(d) || json_object_get(l, "urls")) {
                        k = berr_set(err, EINVAL, "invalid manifest: layer %zu has no usable digest", i);
                        goto fail;
                }
                p->layers[i].digest = strdup(d);
                p->layers[i].size = json_int(l, "size", -1);
                image_short_id(d, p->layers[i].sid);
        }
        *ret = p;
        return 0;
fail:
        registry_pull_free(p);
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
        json_t *j = json_object();
        json_object_set_new(j, "status", json_string(status));
        if (id) {
                json_object_set_new(j, "progressDetail", json_object());
                json_object_set_new(j, "id", json_string(id));
        }
        emit(p, j);
}

static char *progress_bar(int64_t cur, int64_t total)
{
        _cleanup_free_ char *a = human_size((double) cur), *b = human_size((double) total);
        if (total <= 0)
                return xasprintf("%s", a);
        int w = 50, filled = (int) (cur * w / total);
        if (filled > w)
                filled = w;
        char bar[64];
        int o = 0;
        for (int i = 0; i < w; i++)
                bar[o++] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[o] = 0;
        return xasprintf("[%s]  %s/%s", bar, a, b);
}

static void emit_progress(RegistryPull *p, const char *status, const char *id, int64_t cur, int64_t total)
{
        _cleanup_free_ char *bar = progress_bar(cur, total);
        json_t *j = json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", status, "progressDetail", "current",
                              (json_int_t) cur, "total", (json_int_t) total, "progress", bar, "id", id);
        emit(p, j);
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
        _cleanup_free_ char *dir = xasprintf("%s/image/blobs", p->e->cfg.data_root);
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
                        resp_clear(&r);
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
        resp_clear(&r);
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

int registry_pull_run(Engine *e, RegistryPull *p, ImageProgressFn progress, void *cls, BerthError **err)
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
        _cleanup_json_ json_t *cfg = json_loadb(p->config, p->config_len, 0, NULL);
        json_t *dids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        if (!json_is_array(dids) || json_array_size(dids) != p->n)
                return berr_set(err, EINVAL, "invalid image config: %zu diff ids for %zu layers",
                                json_array_size(dids), p->n);
        for (size_t i = 0; i < p->n; i++) {
                const char *d = json_string_value(json_array_get(dids, i));
                if (!d || !image_digest_valid(d))
                        return berr_set(err, EINVAL, "invalid image config: bad diff id %zu", i);
                Layer *l = &p->layers[i];
                l->diff_id = strdup(d);
                if (i)
                        memcpy(l->parent, p->layers[i - 1].chain, 72);
                image_chain_id(i ? l->parent : NULL, d, l->chain);
        }
        _cleanup_free_ char *fam = familiar_tagged(p->ref);
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

int registry_push_prepare(Engine *e, const char *name, const char *tag, const RegistryAuth *auth, RegistryPush **ret,
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
        json_t *j = json_object();
        json_object_set_new(j, "status", json_string(status));
        if (id) {
                json_object_set_new(j, "progressDetail", json_object());
                json_object_set_new(j, "id", json_string(id));
        }
        pemit(p, j);
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
        _cleanup_free_ char *bar = progress_bar(sent, u->total);
        pemit(u->p, json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", "Pushing", "progressDetail", "current",
                              (json_int_t) sent, "total", (json_int_t) u->total, "progress", bar, "id", u->sid));
}

static int blob_exists(Reg *g, const char *digest, bool *ret, BerthError **err)
{
        _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", g->repo, digest);
        Req q = { .method = "HEAD", .url = url, .head = true };
        Resp r = { .fd = -1, .max = 64 * 1024 };
        int k = reg_do(g, &q, &r, err);
        long st = r.status;
        resp_clear(&r);
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
                resp_clear(&r);
                return k;
        }
        _cleanup_free_ char *loc = abs_location(g, r.location);
        resp_clear(&r);
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
        resp_clear(&r2);
        return k;
}

int registry_push_run(Engine *e, RegistryPush *p, ImageProgressFn progress, void *cls, BerthError **err)
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
        resp_clear(&r);
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
