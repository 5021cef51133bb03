/* Image endpoints: create (import; pull answers an error until registries
 * exist), list, inspect, history, tag, delete, prune. */
#include <string.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "image/image.h"
#include "image/reference.h"

static void images_create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *from_image = api_query(ar, "fromImage");
        const char *from_src = api_query(ar, "fromSrc");
        if (from_image && *from_image) {
                /* Pulling is a later issue. A 404 lets `docker run` and docker-py report a
                 * missing image the way they do for a repository that does not exist. */
                const char *tag = api_query(ar, "tag");
                _cleanup_free_ char *name = xasprintf("%s%s%s", from_image, tag && *tag && !strchr(from_image, '@') ? ":" : "",
                                                      tag && *tag && !strchr(from_image, '@') ? tag : "");
                _cleanup_image_ref_ ImageRef *ref = NULL;
                if (image_ref_parse(name, &ref, &err) < 0)
                        return api_reply_error(ar, err);
                _cleanup_free_ char *fam = image_ref_familiar_name(ref);
                return api_reply_errorf(ar, ENOENT,
                                        "pull access denied for %s, repository does not exist or may require 'docker login': "
                                        "berth cannot pull from registries yet; import or load the image instead",
                                        fam);
        }
        if (!from_src || !*from_src)
                return api_reply_errorf(ar, EINVAL, "fromImage or fromSrc is required");
        if (!streq(from_src, "-"))
                return api_reply_errorf(ar, ENOTSUP, "importing from a URL (%s) is not supported; send the tar as the body "
                                        "with fromSrc=-", from_src);
        _cleanup_strv_free_ char **changes = http_query_all(ar->http, "changes");
        ImageImportOptions o = {
                .repo = api_query(ar, "repo"),
                .tag = api_query(ar, "tag"),
                .message = api_query(ar, "message"),
                .changes = changes,
        };
        _cleanup_close_ int fd = http_body_fd(ar->http);
        if (fd < 0)
                return api_reply_errorf(ar, EIO, "cannot read request body");
        _cleanup_free_ char *id = NULL;
        if (image_import(ar->engine, fd, &o, &id, &err) < 0)
                return api_reply_error(ar, err);
        json_t *j = json_pack("{s:s}", "status", id);
        _cleanup_free_ char *line = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        _cleanup_free_ char *body = xasprintf("%s\r\n", line);
        http_respond(ar->http, 200, "application/json", body, strlen(body));
}

static void images_list(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        /* Before 1.41 `filter=<pattern>` was the reference filter. */
        const char *legacy = api_query(ar, "filter");
        if (ar->ver < 41 && legacy && *legacy) {
                json_t *rf = json_object_get(filters, "reference");
                if (!rf) {
                        rf = json_array();
                        json_object_set_new(filters, "reference", rf);
                }
                json_array_append_new(rf, json_string(legacy));
        }
        bool shared = ar->ver >= 42 && api_query_bool(ar, "shared-size", false);
        json_t *list = NULL;
        if (image_list(ar->engine, filters, api_query_bool(ar, "all", false), shared, &list, &err) < 0)
                return api_reply_error(ar, err);
        size_t i;
        json_t *img;
        json_array_foreach(list, i, img) compat_shape_image_summary(img, ar->ver);
        api_reply_json(ar, 200, list);
}

static void images_inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_inspect(ar->engine, ar->params[0], &j, &err) < 0) {
                if (err && err->code == ENOENT)
                        return api_reply_errorf(ar, ENOENT, "no such image: %s: %s", ar->params[0], err->msg);
                return api_reply_error(ar, err);
        }
        compat_shape_image_inspect(j, ar->ver);
        api_reply_json(ar, 200, j);
}

static void images_history(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_history(ar->engine, ar->params[0], &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

static void images_tag(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        if (image_tag(ar->engine, ar->params[0], api_query(ar, "repo"), api_query(ar, "tag"), &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 201);
}

static void images_delete(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_delete(ar->engine, ar->params[0], api_query_bool(ar, "force", false),
                         api_query_bool(ar, "noprune", false), &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

static void images_prune(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        json_t *j = NULL;
        if (image_prune(ar->engine, filters, &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

const ApiRoute api_routes_images[] = {
        { "POST", "/images/create", images_create },
        { "GET", "/images/json", images_list },
        { "POST", "/images/prune", images_prune },
        { "GET", "/images/{name*}/json", images_inspect },
        { "GET", "/images/{name*}/history", images_history },
        { "POST", "/images/{name*}/tag", images_tag },
        { "DELETE", "/images/{name*}", images_delete },
        { NULL, NULL, NULL },
};
