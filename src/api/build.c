/* POST /build (the classic builder, build/builder.h) and POST /build/prune. Every query option
 * of the spec is either used or refused with a 400 naming it. */
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "build/builder.h"
#include "engine/engine.h"
#include "registry/registry.h"

typedef struct BuildCtx {
        Build *b;
} BuildCtx;

static void build_ctx_free(void *p)
{
        BuildCtx *c = p;
        build_free(c->b);
        free(c);
}

static void build_out(void *cls, json_t *msg)
{
        http_stream_write_json(cls, msg);
}

static bool build_gone(void *cls)
{
        return http_stream_client_gone(cls);
}

static void build_stream(HttpStream *s, void *p)
{
        BuildCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_free_ char *id = NULL;
        int code = 0;
        if (build_run(c->b, build_out, build_gone, s, &id, &code, &err) < 0) {
                const char *m = err ? err->msg : "build failed";
                _cleanup_json_ json_t *j = code ? json_pack("{s:{s:i,s:s},s:s}", "errorDetail", "code", code, "message", m,
                                                            "error", m)
                                                : json_pack("{s:{s:s},s:s}", "errorDetail", "message", m, "error", m);
                http_stream_write_json(s, j);
        }
}

/* A JSON query value of the given type (object or array); NULL and 0 when absent. */
static int query_json(ApiRequest *ar, const char *key, bool array, json_t **ret, BerthError **err)
{
        *ret = NULL;
        const char *v = api_query(ar, key);
        if (!v || !*v)
                return 0;
        json_error_t je;
        json_t *j = json_loads(v, JSON_DECODE_ANY, &je);
        if (json_is_null(j)) {
                json_decref(j);
                return 0;
        }
        if (!j || (array ? !json_is_array(j) : !json_is_object(j))) {
                json_decref(j);
                return berr_set(err, EINVAL, "failed to parse %s: %s", key, j ? "wrong type" : je.text);
        }
        *ret = j;
        return 0;
}

static void build(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *v;
        /* what berth does not implement is refused, never ignored */
        v = api_query(ar, "version");
        if (v && *v && !streq(v, "1"))
                return api_reply_errorf(ar, EINVAL, streq(v, "2") ? "BuildKit is not supported by berth: use the classic "
                                                                    "builder (version=1, DOCKER_BUILDKIT=0)"
                                                                  : "unsupported builder version \"%s\"", v);
        if (api_query_bool(ar, "squash", false))
                return api_reply_errorf(ar, EINVAL, "squash is not supported by berth's builder");
        static const char *const refused[] = { "remote", "outputs", "session", "buildid", "isolation", "cgroupparent",
                                               "securityopt", NULL };
        for (size_t i = 0; refused[i]; i++) {
                v = api_query(ar, refused[i]);
                if (v && *v && !streq(v, "[]") && !streq(v, "null") && !(streq(refused[i], "isolation") && streq(v, "default")))
                        return api_reply_errorf(ar, EINVAL, "build option %s is not supported by berth", refused[i]);
        }
        v = api_query(ar, "ulimits");
        if (v && *v && !streq(v, "null") && !streq(v, "[]") && !streq(v, "{}"))
                return api_reply_errorf(ar, EINVAL, "build option ulimits is not supported by berth");
        v = api_query(ar, "platform");
        if (v && *v && !streq(v, "linux/amd64") && !streq(v, "linux"))
                return api_reply_errorf(ar, EINVAL, "platform \"%s\" is not supported: berth builds only linux/amd64 images", v);

        _cleanup_json_ json_t *buildargs = NULL, *labels = NULL, *cachefrom = NULL;
        if (query_json(ar, "buildargs", false, &buildargs, &err) < 0 || query_json(ar, "labels", false, &labels, &err) < 0 ||
            query_json(ar, "cachefrom", true, &cachefrom, &err) < 0)
                return api_reply_error(ar, err);
        const char *k;
        json_t *jv;
        json_object_foreach(buildargs, k, jv) if (!json_is_string(jv) && !json_is_null(jv))
                return api_reply_errorf(ar, EINVAL, "failed to parse buildargs: value of %s is not a string", k);
        json_object_foreach(labels, k, jv) if (!json_is_string(jv))
                return api_reply_errorf(ar, EINVAL, "failed to parse labels: value of %s is not a string", k);
        _cleanup_strv_free_ char **cache = NULL;
        size_t i;
        json_array_foreach(cachefrom, i, jv) if (json_is_string(jv)) strv_extend(&cache, json_string_value(jv));

        long long shm = 0, mem = 0, swap = 0, shares = 0, period = 0, quota = 0;
        if (api_query_int(ar, "shmsize", 0, &shm, &err) < 0 || api_query_int(ar, "memory", 0, &mem, &err) < 0 ||
            api_query_int(ar, "memswap", 0, &swap, &err) < 0 || api_query_int(ar, "cpushares", 0, &shares, &err) < 0 ||
            api_query_int(ar, "cpuperiod", 0, &period, &err) < 0 || api_query_int(ar, "cpuquota", 0, &quota, &err) < 0)
                return api_reply_error(ar, err);
        if (shm < 0)
                return api_reply_errorf(ar, EINVAL, "shmsize: the size must be positive");

        _cleanup_strv_free_ char **tags = http_query_all(ar->http, "t");
        _cleanup_strv_free_ char **hosts = NULL;
        {
                _cleanup_strv_free_ char **raw = http_query_all(ar->http, "extrahosts");
                for (size_t n = 0; raw && raw[n]; n++) {
                        _cleanup_free_ char *copy = xstrdup(raw[n]);
                        char *save = NULL;
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                strv_extend(&hosts, t);
                }
        }
        _cleanup_json_ json_t *regcfg = registry_config_from_header(http_header(ar->http, "X-Registry-Config"));
        /* labels of the request go on the final image: LABEL steps appended to the Dockerfile's end are what dockerd does */
        BuildOptions o = {
                .tags = tags,
                .dockerfile = api_query(ar, "dockerfile"),
                .buildargs = buildargs,
                .labels = labels,
                .target = api_query(ar, "target"),
                .nocache = api_query_bool(ar, "nocache", false),
                .pull = api_query_bool(ar, "pull", false),
                .rm = api_query_bool(ar, "rm", true),
                .forcerm = api_query_bool(ar, "forcerm", false),
                .quiet = api_query_bool(ar, "q", false),
                .cachefrom = cache,
                .extrahosts = hosts,
                .networkmode = api_query(ar, "networkmode"),
                .shmsize = shm,
                .memory = mem,
                .memswap = swap,
                .cpushares = shares,
                .cpuperiod = period,
                .cpuquota = quota,
                .cpusetcpus = api_query(ar, "cpusetcpus"),
                .registry_config = regcfg,
        };
        int fd = http_body_fd(ar->http);
        if (fd < 0)
                return api_reply_errorf(ar, EIO, "cannot read request body");
        Build *b = NULL;
        int r = build_prepare(ar->engine, fd, &o, &b, &err);
        close(fd);
        if (r < 0)
                return api_reply_error(ar, err);
        BuildCtx *c = xcalloc(1, sizeof(*c));
        c->b = b;
        http_respond_stream(ar->http, 200, "application/json", build_stream, c, build_ctx_free);
}

static void build_prune_handler(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        /* the classic builder's cache is its intermediate images: the image filters apply; BuildKit's
         * record filters have nothing to select */
        static const char *const known[] = { "until", "id", "parent", "type", "description", "inuse", "shared",
                                             "private", "label", "label!", "unused-for", NULL };
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v)
        {
                bool ok = false;
                for (size_t n = 0; known[n] && !ok; n++)
                        ok = streq(known[n], k);
                if (!ok)
                        return api_reply_errorf(ar, EINVAL, "failed to prune build cache: invalid filter '%s'", k);
                if (!streq(k, "until") && !streq(k, "label") && !streq(k, "label!"))
                        return api_reply_errorf(ar, EINVAL, "build cache prune filter '%s' is not supported by berth: "
                                                            "its build cache is intermediate images (until, label)", k);
        }
        static const char *const ints[] = { "keep-storage", "reserved-space", "max-used-space", "min-free-space" };
        for (size_t n = 0; n < ELEMENTSOF(ints); n++) {
                long long x;
                if (api_query_int(ar, ints[n], 0, &x, &err) < 0)
                        return api_reply_error(ar, err);
                if (x)
                        return api_reply_errorf(ar, EINVAL, "build cache prune option %s is not supported by berth", ints[n]);
        }
        /* all=1 (docker system prune -a) is the same set: no cache record is kept for reuse beyond them */
        (void) api_query_bool(ar, "all", false);
        json_t *res = NULL;
        if (build_prune(ar->engine, filters, &res, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, res);
}

const ApiRoute api_routes_build[] = {
        { "POST", "/build", build, API_UPLOAD_BODY_MAX },
        { "POST", "/build/prune", build_prune_handler },
        { NULL, NULL, NULL },
};
