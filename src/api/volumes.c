/* Volumes (engine/volumes.h). */
#include <string.h>

#include "api.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/volumes.h"

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
        static const char *const allowed[] = { "dangling", "name", "driver", "label", "label!", NULL };
        _cleanup_json_ json_t *filters = query_filters(ar, allowed, "");
        if (!filters)
                return;
        _cleanup_berr_ BerthError *err = NULL;
        json_t *vols = NULL;
        if (engine_volume_list(ar->engine, filters, false, &vols, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:o,s:n}", "Volumes", vols, "Warnings"));
}

static void volume_inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *v = NULL;
        if (engine_volume_inspect(ar->engine, ar->params[0], &v, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, v);
}

static void volume_delete(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        if (engine_volume_remove(ar->engine, ar->params[0], api_query_bool(ar, "force", false), &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 204);
}

static void volume_create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        json_t *v = NULL;
        if (engine_volume_create(ar->engine, body ? body : json_object(), &v, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 201, v);
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
        /* Before API 1.42 prune removed every unused volume; since, only anonymous ones unless all. */
        bool prune_all = ar->ver < 42;
        if (json_array_size(all) == 1) {
                /* Go's strconv.ParseBool */
                static const char *const bools[] = { "1", "t", "T", "TRUE", "true", "True",
                                                     "0", "f", "F", "FALSE", "false", "False" };
                const char *v = json_string_value(json_array_get(all, 0));
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(bools); i++)
                        if (streq(v, bools[i])) {
                                ok = true;
                                if (ar->ver >= 42)
                                        prune_all = i < 6;
                        }
                if (!ok)
                        return api_reply_errorf(ar, EINVAL, "invalid filter 'all': strconv.ParseBool: parsing "
                                                "\"%s\": invalid syntax", v);
        }
        _cleanup_berr_ BerthError *err = NULL;
        json_t *deleted = NULL;
        long long reclaimed = 0;
        if (engine_volume_prune(ar->engine, filters, prune_all, &deleted, &reclaimed, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
                                          (json_int_t) reclaimed));
}

const ApiRoute api_routes_volumes[] = {
        { "GET", "/volumes", volumes_list },
        { "POST", "/volumes/create", volume_create },
        { "POST", "/volumes/prune", volumes_prune },
        { "GET", "/volumes/{name}", volume_inspect },
        { "DELETE", "/volumes/{name}", volume_delete },
        { NULL, NULL, NULL },
};
