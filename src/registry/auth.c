/* Registry client: credentials. X-Registry-Auth decoding, the 401 challenge retry, Bearer token fetch. */
#include "registry-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/json-util.h"
#include "basic/base64.h"
#include "basic/util.h"

/* ---- auth header ---- */

void registry_auth_clear(RegistryAuth *a)
{
        free(a->username);
        free(a->password);
        free(a->identitytoken);
        free(a->serveraddress);
        memset(a, 0, sizeof(*a));
}

void registry_auth_from_header(const char *hdr, RegistryAuth *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (!hdr || !*hdr)
                return;
        size_t len;
        _cleanup_free_ char *raw = base64_decode(hdr, &len);
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

json_t *registry_config_from_header(const char *hdr)
{
        if (!hdr || !*hdr)
                return NULL;
        size_t len;
        _cleanup_free_ char *raw = base64_decode(hdr, &len);
        if (!raw)
                return NULL;
        json_t *j = json_loadb(raw, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* ---- WWW-Authenticate ---- */

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

/* Whether the registry's password may go to the token realm it named: only
 * over https, or back to the registry host itself; a plain-http realm
 * elsewhere (a tampered challenge) gets an anonymous request. */
static bool realm_may_get_credentials(const Reg *g, const char *realm)
{
        if (startswith(realm, "https://"))
                return true;
        if (!startswith(realm, "http://"))
                return false;
        const char *h = realm + strlen("http://");
        size_t n = strcspn(h, "/?#");
        return g->host && strlen(g->host) == n && !strncasecmp(h, g->host, n);
}

int reg_token_fetch(Reg *g, const char *challenge, BerthError **err)
{
        _cleanup_free_ char *realm = challenge_param(challenge, "realm");
        _cleanup_free_ char *service = challenge_param(challenge, "service");
        if (!realm)
                return berr_set(err, EACCES, "unauthorized: bearer challenge without realm");
        CURL *c = curl_easy_init();
        _cleanup_free_ char *es = service ? curl_easy_escape(c, service, 0) : NULL;
        _cleanup_free_ char *scope = g->repo ? xasprintf("repository:%s:%s", g->repo, g->push ? "push,pull" : "pull") : NULL;
        _cleanup_free_ char *esc = scope ? curl_easy_escape(c, scope, 0) : NULL;
        bool creds = g->user && realm_may_get_credentials(g, realm);
        _cleanup_free_ char *eu = creds ? curl_easy_escape(c, g->user, 0) : NULL;
        curl_easy_cleanup(c);
        _cleanup_free_ char *url = xasprintf("%s%s%s%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
                                             es ? "service=" : "", es ?: "", esc ? "&scope=" : "", esc ?: "",
                                             eu ? "&account=" : "", eu ?: "",
                                             g->repo ? "" : "&client_id=docker&offline_token=true");
        Resp r = { .fd = -1, .max = 1024 * 1024 };
        CURL *h = reg_easy_new(&r);
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (creds) {
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
        reg_resp_clear(&r);
        return k;
}

/* ---- the 401 challenge retry ---- */

/* One request with the auth dance: a 401 answers with a challenge we satisfy once, then retry. */
int reg_do(Reg *g, Req *q, Resp *r, BerthError **err)
{
        _cleanup_free_ char *url = startswith(q->url, "http://") || startswith(q->url, "https://")
                                           ? strdup(q->url)
                                           : xasprintf("%s%s", g->base, q->url);
        for (int attempt = 0; attempt < 2; attempt++) {
                int64_t keep_got = r->got;
                int k = reg_send(g, q, url, r, err);
                if (k < 0)
                        return k;
                if (r->status != 401 || attempt == 1 || !r->www_auth)
                        return 0;
                r->got = keep_got;
                if (!strncasecmp(r->www_auth, "Bearer", 6)) {
                        k = reg_token_fetch(g, r->www_auth, err);
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
