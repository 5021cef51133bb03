/* Volumes and the build cache, which berth does not have yet: the read and prune endpoints answer
 * honestly as a daemon that holds none (docker system prune calls them all and stops at the first
 * error), with dockerd's filter checks; creating a volume is refused clearly. */
#include <string.h>

#include "api.h"
#include "basic/json-util.h"
#include "basic/util.h"

/* Args.Validate: every key is one of allowed; prefix is how the endpoint wraps the error. */
static bool filters_valid(ApiRequest *ar, json_t *filters, const char *const *allowed, const char *prefix)
{
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v) {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (streq(allowed[i], k))
                                ok = true;
                if (!ok) {
                        api_reply_errorf(ar, EINVAL, "%sinvalid filter '%s'", prefix, k);
                        return false;
                }
        }
        return true;
}

static json_t *query_filters(ApiRequest *ar, const char *const *allowed, const char *prefix)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0) {
                api_reply_error(ar, err);
                return NULL;
        }
        if (!filters_valid(ar, filters, allowed, prefix)) {
                json_decref(filters);
                return NULL;
        }
        return filters;
}

static void volumes_list(ApiRequest *ar)
{
        static const char *const allowed[] = { "dangling", "name", "driver", "label", NULL };
        _cleanup_json_ json_t *filters = query_filters(ar, allowed, "");
        if (!filters)
                return;
        _cleanup_berr_ BerthError *err = NULL;
        bool dangling;
        if (json_filter_bool(json_object_get(filters, "dangling"), "dangling", false, &dangling, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:[],s:n}", "Volumes", "Warnings"));
}

static void volume_missing(ApiRequest *ar)
{
        /* force: dockerd ignores a volume that does not exist */
        if (streq(http_method(ar->http), "DELETE") && api_query_bool(ar, "force", false))
                return api_reply_empty(ar, 204);
        api_reply_errorf(ar, ENOENT, "get %s: no such volume", ar->params[0]);
}

static void volume_create(ApiRequest *ar)
{
        api_reply_errorf(ar, ENOTSUP, "volumes are not supported by berth yet; use a bind mount (-v /host/path:/path)");
}

static void volumes_prune(ApiRequest *ar)
{
        static const char *const allowed[] = { "label", "label!", "all", NULL };
        _cleanup_json_ json_t *filters = query_filters(ar, allowed, "");
        if (!filters)
                return;
        json_t *all = json_object_get(filters, "all");
        if (json_array_size(all) > 1)
                return api_reply_errorf(ar, EINVAL, "invalid filter 'all=[%s %s]': only one value is expected",
                                        json_string_value(json_array_get(all, 0)),
                                        json_string_value(json_array_get(all, 1)));
        if (json_array_size(all) == 1) {
                /* Go's strconv.ParseBool */
                static const char *const bools[] = { "1", "t", "T", "TRUE", "true", "True",
                                                     "0", "f", "F", "FALSE", "false", "False" };
                const char *v = json_string_value(json_array_get(all, 0));
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(bools); i++)
                        if (streq(v, bools[i]))
                                ok = true;
                if (!ok)
                        return api_reply_errorf(ar, EINVAL, "invalid filter 'all': strconv.ParseBool: parsing "
                                                "\"%s\": invalid syntax", v);
        }
        api_reply_json(ar, 200, json_pack("{s:[],s:i}", "VolumesDeleted", "SpaceReclaimed", 0));
}

static void build_prune(ApiRequest *ar)
{
        static const char *const allowed[] = { "until", "id", "parent", "type", "description", "inuse", "shared",
                                               "private", "label", "label!", "unused-for", NULL };
        _cleanup_json_ json_t *filters = query_filters(ar, allowed, "failed to prune build cache: ");
        if (!filters)
                return;
        static const char *const ints[] = { "keep-storage", "reserved-space", "max-used-space", "min-free-space" };
        for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
                _cleanup_berr_ BerthError *err = NULL;
                long long n;
                if (api_query_int(ar, ints[i], 0, &n, &err) < 0)
                        return api_reply_error(ar, err);
        }
        api_reply_json(ar, 200, json_pack("{s:n,s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

const ApiRoute api_routes_volumes[] = {
        { "GET", "/volumes", volumes_list },
        { "POST", "/volumes/create", volume_create },
        { "POST", "/volumes/prune", volumes_prune },
        { "GET", "/volumes/{name}", volume_missing },
        { "DELETE", "/volumes/{name}", volume_missing },
        { "POST", "/build/prune", build_prune },
        { NULL, NULL, NULL },
};
