/* Request dispatch: strips /vX.Y once, checks the version, matches the route
 * tables, and turns engine errors into Docker's JSON errors. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "router-internal.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"

static const ApiRoute *const route_tables[] = {
        api_routes_system,
        api_routes_images,
        api_routes_containers,
        api_routes_exec,
        api_routes_events,
        api_routes_links, /* after containers: only multi-segment names reach it */
        api_routes_networks,
        api_routes_volumes,
        api_routes_swarm,
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
                                                caps[save] = strndup(path, len);
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
                        caps[(*ncaps)++] = strndup(path, len);
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

void api_dispatch(HttpRequest *req, void *engine)
{
        ApiRequest ar = { .http = req, .engine = engine };
        int64_t start = now_ns();
        const char *url = http_path(req);
        bool bad;
        const char *method = http_method(req);
        api_split_version(url, &ar.ver, &ar.path, &bad);

        if (ar.ver > API_VERSION_MAX) {
                const char *v = url + 2;
                _cleanup_free_ char *vs = strndup(v, strcspn(v, "/"));
                api_reply_errorf(&ar, EINVAL, "client version %s is too new. Maximum supported API version is %s",
                                 vs, API_VERSION_STRING);
                goto done;
        }
        if (ar.ver < API_VERSION_MIN) {
                const char *v = url + 2;
                _cleanup_free_ char *vs = strndup(v, strcspn(v, "/"));
                api_reply_errorf(&ar, EINVAL, "client version %s is too old. Minimum supported API version is %s, "
                                 "please upgrade your client to a newer version", vs, API_MIN_VERSION_STRING);
                goto done;
        }

        bool path_known = false;
        for (size_t t = 0; t < ELEMENTSOF(route_tables); t++) {
                for (const ApiRoute *rt = route_tables[t]; rt->method; rt++) {
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
                        goto done;
                }
        }
        (void) path_known;
        api_reply_errorf(&ar, ENOENT, "page not found");
done:
        log_debug("%s %s -> %s (%.1f ms)", method, url, http_responded(req) ? "ok" : "hijacked",
                  (double) (now_ns() - start) / 1e6);
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
        static const char *falses[] = { "", "0", "no", "false", "none", "False", "FALSE" };
        for (size_t i = 0; i < ELEMENTSOF(falses); i++)
                if (streq(v, falses[i]))
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
        if (errno || *end)
                return berr_set(err, EINVAL, "invalid value for %s: %s", key, v);
        *ret = n;
        return 0;
}

#define API_JSON_BODY_MAX (16 * 1024 * 1024)

int api_body_json(ApiRequest *ar, json_t **ret, BerthError **err)
{
        const char *body;
        size_t len;
        int r = http_body(ar->http, API_JSON_BODY_MAX, &body, &len);
        if (r == -E2BIG)
                return berr_set(err, E2BIG, "request body too large (limit %d bytes)", API_JSON_BODY_MAX);
        if (r < 0)
                return berr_set(err, EIO, "cannot read request body");
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
