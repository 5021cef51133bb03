/* Request dispatch: strips /vX.Y once, checks the version, matches the route
 * tables, and turns engine errors into Docker's JSON errors. */
#include <malloc.h>
#include <stdarg.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "router-internal.h"
#include "dashboard.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"

const ApiRoute *const api_route_tables[] = {
        api_routes_system,
        api_routes_images,
        api_routes_containers,
        api_routes_archive,
        api_routes_exec,
        api_routes_events,
        api_routes_links, /* after containers: only multi-segment names reach it */
        api_routes_networks,
        api_routes_build,
        api_routes_volumes,
        api_routes_swarm,
        NULL,
};

/* Matches path against pattern, filling captures. Greedy captures take the
 * longest prefix after which the remaining literal pattern matches. */
static bool match(const char *pat, const char *path, char **caps, int *ncaps)
{
        while (*pat) {
                if (*pat == '{') {
                        const char *close = strchr(pat, '}');
                        bool greedy = close[-1] == '*';
                        const char *rest = close + 1;
                        if (greedy) {
                                size_t plen = strlen(path);
                                for (size_t len = plen; len >= 1; len--) {
                                        int save = *ncaps;
                                        if (match(rest, path + len, caps, ncaps)) {
                                                /* rest's captures were appended first; ours goes before them */
                                                for (int k = *ncaps; k > save; k--)
                                                        caps[k] = caps[k - 1];
                                                caps[save] = xstrndup(path, len);
                                                (*ncaps)++;
                                                return true;
                                        }
                                        for (int k = save; k < *ncaps; k++)
                                                free(caps[k]);
                                        *ncaps = save;
                                }
                                return false;
                        }
                        size_t len = strcspn(path, "/");
                        if (len == 0 || *ncaps >= 3)
                                return false;
                        int save = *ncaps;
                        caps[(*ncaps)++] = xstrndup(path, len);
                        if (match(rest, path + len, caps, ncaps))
                                return true;
                        for (int k = save; k < *ncaps; k++)
                                free(caps[k]);
                        *ncaps = save;
                        return false;
                }
                if (*pat != *path)
                        return false;
                pat++;
                path++;
        }
        return *path == 0;
}

bool api_route_match(const char *pattern, const char *path, char **caps, int *ncaps)
{
        return match(pattern, path, caps, ncaps);
}

/* "/v1.41/..." -> 41 and the rest; plain paths get the newest version. */
int api_split_version(const char *url, int *ver, const char **rest, bool *bad_format)
{
        *bad_format = false;
        if (url[0] != '/' || url[1] != 'v' || !(url[2] >= '0' && url[2] <= '9')) {
                *ver = API_VERSION_MAX;
                *rest = url;
                return 0;
        }
        char *end;
        long major = strtol(url + 2, &end, 10);
        long minor = 0;
        if (*end == '.')
                minor = strtol(end + 1, &end, 10);
        else {
                *bad_format = true;
        }
        if (*end != '/' && *end != 0) {
                *ver = API_VERSION_MAX;
                *rest = url;
                return 0;
        }
        *rest = *end ? end : "/";
        if (major != 1) {
                *ver = major > 1 ? 1000 : 0;
                return 0;
        }
        *ver = (int) minor;
        return 0;
}

/* Pulls, imports, loads, builds, commits and pushes allocate tens of MB in passing (decoded
 * manifests, tar buffers, spooled bodies); give those pages back to the system once they are
 * done, so an idle daemon does not keep the high-water mark of its last large operation. */
static bool heavy_request(const char *method, const char *path)
{
        static const char *const prefixes[] = { "/images/create", "/images/load", "/build", "/commit", NULL };
        if (!streq(method, "POST") && !streq(method, "PUT"))
                return false;
        for (size_t i = 0; prefixes[i]; i++)
                if (startswith(path, prefixes[i]))
                        return true;
        if (startswith(path, "/images/") && endswith(path, "/push"))
                return true;
        return endswith(path, "/archive"); /* docker cp into a container */
}

void api_dispatch(HttpRequest *req, void *engine)
{
        ApiRequest ar = { .http = req, .engine = engine };
        int64_t start = now_ns();
        const char *url = http_path(req);
        bool bad;
        const char *method = http_method(req);
        api_split_version(url, &ar.ver, &ar.path, &bad);

        if (api_dashboard_serve(req, url))
                goto done;
        /* A web page must not drive the API through a user's browser (docs/dashboard.md). */
        const char *origin = http_header(req, "Origin");
        if (!api_origin_allowed(method, origin, http_header(req, "Host"), http_is_tls(req))) {
                api_reply_errorf(&ar, EPERM, "cross-origin request refused: Origin %s is not this daemon's address",
                                 origin);
                goto done;
        }
        if (ar.ver > API_VERSION_MAX) {
                const char *v = url + 2;
                _cleanup_free_ char *vs = xstrndup(v, strcspn(v, "/"));
                api_reply_errorf(&ar, EINVAL, "client version %s is too new. Maximum supported API version is %s",
                                 vs, API_VERSION_STRING);
                goto done;
        }
        if (ar.ver < API_VERSION_MIN) {
                const char *v = url + 2;
                _cleanup_free_ char *vs = xstrndup(v, strcspn(v, "/"));
                api_reply_errorf(&ar, EINVAL, "client version %s is too old. Minimum supported API version is %s, "
                                 "please upgrade your client to a newer version", vs, API_MIN_VERSION_STRING);
                goto done;
        }

        bool path_known = false;
        for (size_t t = 0; api_route_tables[t]; t++) {
                for (const ApiRoute *rt = api_route_tables[t]; rt->method; rt++) {
                        char *caps[4] = { 0 };
                        int n = 0;
                        if (!match(rt->pattern, ar.path, caps, &n))
                                continue;
                        bool same = streq(rt->method, "*") || streq(rt->method, method) || (streq(method, "HEAD") && streq(rt->method, "HEAD"));
                        if (!same) {
                                path_known = true;
                                for (int k = 0; k < n; k++)
                                        free(caps[k]);
                                continue;
                        }
                        memcpy(ar.params, caps, sizeof(caps));
                        rt->handler(&ar);
                        for (int k = 0; k < 4; k++)
                                free(ar.params[k]);
                        if (heavy_request(method, ar.path))
                                malloc_trim(0);
                        goto done;
                }
        }
        (void) path_known;
        api_reply_errorf(&ar, ENOENT, "page not found");
done:
        log_debug("%s %s -> %s (%.1f ms)", method, url, http_responded(req) ? "ok" : "hijacked",
                  (double) (now_ns() - start) / 1e6);
}

uint64_t api_body_limit(const char *method, const char *url)
{
        int ver;
        bool bad;
        const char *path;
        api_split_version(url, &ver, &path, &bad);
        for (size_t t = 0; api_route_tables[t]; t++)
                for (const ApiRoute *rt = api_route_tables[t]; rt->method; rt++) {
                        char *caps[4] = { 0 };
                        int n = 0;
                        if (!(streq(rt->method, "*") || streq(rt->method, method)) || !match(rt->pattern, path, caps, &n))
                                continue;
                        for (int k = 0; k < n; k++)
                                free(caps[k]);
                        return rt->body_max ? rt->body_max : API_BODY_MAX;
                }
        return API_BODY_MAX;
}

/* ---- responses ---- */

void api_reply_json(ApiRequest *ar, unsigned status, json_t *j)
{
        http_respond_json(ar->http, status, j);
        json_decref(j);
}

void api_reply_empty(ApiRequest *ar, unsigned status)
{
        http_respond(ar->http, status, NULL, NULL, 0);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* Messages quote what the client sent: invalid UTF-8 becomes U+FFFD, as Go's encoder does. */
static char *utf8_sanitize(const char *msg)
{
        size_t n = strlen(msg);
        char *out = xmalloc(n * 3 + 1), *o = out;
        for (size_t i = 0; i < n;) {
                size_t l = utf8_seq((const unsigned char *) msg + i, n - i);
                if (l == 0) {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                        continue;
                }
                memcpy(o, msg + i, l);
                o += l;
                i += l;
        }
        *o = 0;
        return out;
}

void api_reply_error(ApiRequest *ar, const BerthError *err)
{
        int code = err ? err->code : EIO;
        const char *msg = err && err->msg ? err->msg : "internal error";
        unsigned status = api_status_for_errno(code);
        if (status == 304) {
                api_reply_empty(ar, 304);
                return;
        }
        if (status >= 500)
                log_error("%s %s: %s", http_method(ar->http), http_path(ar->http), msg);
        json_t *j = json_pack("{s:s}", "message", msg);
        if (!j) {
                _cleanup_free_ char *clean = utf8_sanitize(msg);
                j = json_pack("{s:s}", "message", clean);
        }
        api_reply_json(ar, status, j);
}

void api_reply_errorf(ApiRequest *ar, int code, const char *fmt, ...)
{
        BerthError e = { .code = code < 0 ? -code : code };
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&e.msg, fmt, ap) < 0)
                e.msg = NULL;
        va_end(ap);
        api_reply_error(ar, &e);
        free(e.msg);
}

/* ---- request helpers ---- */

const char *api_query(ApiRequest *ar, const char *key)
{
        return http_query(ar->http, key);
}

bool api_query_bool(ApiRequest *ar, const char *key, bool dflt)
{
        const char *v = http_query(ar->http, key);
        if (!v)
                return dflt;
        /* Docker's httputils.BoolValue: trimmed, case-insensitive */
        while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
                v++;
        size_t n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
                n--;
        static const char *const falses[] = { "", "0", "no", "false", "none" };
        for (size_t i = 0; i < ELEMENTSOF(falses); i++)
                if (strlen(falses[i]) == n && strncasecmp(v, falses[i], n) == 0)
                        return false;
        return true;
}

int api_query_int(ApiRequest *ar, const char *key, long long dflt, long long *ret, BerthError **err)
{
        const char *v = http_query(ar->http, key);
        if (!v || !*v) {
                *ret = dflt;
                return 0;
        }
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        /* strtoll skips leading blanks, Go's strconv does not */
        if (errno || *end || !(v[0] == '-' || v[0] == '+' || (v[0] >= '0' && v[0] <= '9')))
                return berr_set(err, EINVAL, "invalid value for %s: %s", key, v);
        *ret = n;
        return 0;
}

/* Docker's CheckForJSON: a body must say it is JSON. A web page can send
 * text/plain, form or multipart bodies to a local API without a CORS
 * preflight, never application/json, so this is what stops it. */
bool api_content_type_is_json(const char *ct)
{
        if (!ct)
                return false;
        while (*ct == ' ' || *ct == '\t')
                ct++;
        size_t n = strcspn(ct, "; \t");
        return n == strlen("application/json") && !strncasecmp(ct, "application/json", n);
}

int api_body_json(ApiRequest *ar, json_t **ret, BerthError **err)
{
        const char *body;
        size_t len;
        int r = http_body(ar->http, API_BODY_MAX, &body, &len);
        if (r == -E2BIG)
                return berr_set(err, E2BIG, "request body too large (limit %d bytes)", API_BODY_MAX);
        if (r < 0)
                return berr_set(err, EIO, "cannot read request body");
        const char *ct = http_header(ar->http, "Content-Type");
        if (len > 0 && !api_content_type_is_json(ct))
                return berr_set(err, EINVAL, "Content-Type specified (%s) must be 'application/json'", ct ?: "");
        return api_parse_json_object(body, len, ret, err);
}

int api_parse_json_object(const char *body, size_t len, json_t **ret, BerthError **err)
{
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
                i++;
        if (i == len) {
                *ret = NULL;
                return 0;
        }
        if (json_text_too_deep(body, len, JSON_MAX_DEPTH))
                return berr_set(err, EINVAL, "invalid JSON: nested deeper than %d levels", JSON_MAX_DEPTH);
        json_error_t je;
        json_t *j = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, &je);
        if (!j)
                return berr_set(err, EINVAL, "invalid JSON: %s (at byte %d)", je.text, je.position);
        if (!json_is_object(j)) {
                json_decref(j);
                return berr_set(err, EINVAL, "invalid JSON: expected an object");
        }
        *ret = j;
        return 0;
}

int api_query_filters(ApiRequest *ar, json_t **ret, BerthError **err)
{
        return api_parse_filters(http_query(ar->http, "filters"), ret, err);
}

int api_parse_filters(const char *f, json_t **ret, BerthError **err)
{
        json_t *out = json_object();
        if (!f || !*f) {
                *ret = out;
                return 0;
        }
        if (json_text_too_deep(f, strlen(f), JSON_MAX_DEPTH)) {
                json_decref(out);
                return berr_set(err, EINVAL, "invalid filter: nested deeper than %d levels", JSON_MAX_DEPTH);
        }
        json_error_t je;
        _cleanup_json_ json_t *j = json_loads(f, 0, &je);
        if (!j || !json_is_object(j)) {
                json_decref(out);
                return berr_set(err, EINVAL, "invalid filter: %s", j ? "expected an object" : je.text);
        }
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
                json_t *arr = json_array();
                if (json_is_array(v)) {
                        size_t i;
                        json_t *e;
                        json_array_foreach(v, i, e) if (json_is_string(e)) json_array_append(arr, e);
                } else if (json_is_object(v)) {
                        const char *vk;
                        json_t *vv;
                        json_object_foreach(v, vk, vv) if (json_is_true(vv)) json_array_append_new(arr, json_string(vk));
                } else {
                        json_decref(arr);
                        json_decref(out);
                        return berr_set(err, EINVAL, "invalid filter '%s'", k);
                }
                json_object_set_new(out, k, arr);
        }
        *ret = out;
        return 0;
}
