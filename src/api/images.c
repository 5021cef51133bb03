/* Image endpoints: create (import, pull), push, list, inspect, history, tag,
 * delete, prune, save (get), load; and POST /auth (login). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "image/image.h"
#include "image/reference.h"
#include "registry/registry.h"
#include "engine/commit.h"
#include "engine/engine.h"

/* ---- pull / push / login ---- */

typedef struct {
        Engine *e;
        RegistryPull *pull;
        RegistryPush *push;
} RegCtx;

static void reg_ctx_free(void *p)
{
        RegCtx *c = p;
        registry_pull_free(c->pull);
        registry_push_free(c->push);
        free(c);
}

static void reg_progress(void *cls, json_t *msg)
{
        http_stream_write_json(cls, msg);
}

static void reg_error_inband(HttpStream *s, BerthError *err)
{
        const char *m = err ? err->msg : "failed";
        _cleanup_json_ json_t *j = json_pack("{s:{s:s},s:s}", "errorDetail", "message", m, "error", m);
        http_stream_write_json(s, j);
}

static void pull_stream(HttpStream *s, void *p)
{
        RegCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        if (registry_pull_run(c->e->images, c->pull, reg_progress, s, &err) < 0)
                reg_error_inband(s, err);
}

static void push_stream(HttpStream *s, void *p)
{
        RegCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        if (registry_push_run(c->e->images, c->push, reg_progress, s, &err) < 0)
                reg_error_inband(s, err);
}

static void images_pull(ApiRequest *ar, const char *from_image)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *tag = api_query(ar, "tag");
        _cleanup_free_ char *name = NULL;
        if (tag && *tag && !strchr(from_image, '@')) {
                /* tag may be a digest ("sha256:...") */
                name = xasprintf("%s%s%s", from_image, startswith(tag, "sha256:") ? "@" : ":", tag);
        } else
                name = strdup(from_image);
        RegistryAuth auth;
        registry_auth_from_header(http_header(ar->http, "X-Registry-Auth"), &auth);
        RegistryPull *pull = NULL;
        int r = registry_pull_prepare(ar->engine->images, name, &auth, &pull, &err);
        registry_auth_clear(&auth);
        if (r < 0)
                return api_reply_error(ar, err);
        RegCtx *c = calloc(1, sizeof(*c));
        c->e = ar->engine;
        c->pull = pull;
        http_respond_stream(ar->http, 200, "application/json", pull_stream, c, reg_ctx_free);
}

static void distribution_inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *name = ar->params[0];
        /* a bare image id names nothing on a registry */
        if (startswith(name, "sha256:") || (strlen(name) == 64 && is_hex(name, 64)))
                return api_reply_errorf(ar, EIO, "no manifest found for full image ID");
        RegistryAuth auth;
        registry_auth_from_header(http_header(ar->http, "X-Registry-Auth"), &auth);
        json_t *j = NULL;
        int r = registry_distribution_inspect(ar->engine->images, name, &auth, &j, &err);
        registry_auth_clear(&auth);
        if (r < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

static void images_push(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        RegistryAuth auth;
        registry_auth_from_header(http_header(ar->http, "X-Registry-Auth"), &auth);
        RegistryPush *push = NULL;
        int r = registry_push_prepare(ar->engine->images, ar->params[0], api_query(ar, "tag"), &auth, &push, &err);
        registry_auth_clear(&auth);
        if (r < 0)
                return api_reply_error(ar, err);
        RegCtx *c = calloc(1, sizeof(*c));
        c->e = ar->engine;
        c->push = push;
        http_respond_stream(ar->http, 200, "application/json", push_stream, c, reg_ctx_free);
}

static const JsonFieldType auth_fields[] = {
        { "username", JT_STR }, { "password", JT_STR }, { "auth", JT_STR }, { "email", JT_STR },
        { "serveraddress", JT_STR }, { "identitytoken", JT_STR }, { "registrytoken", JT_STR },
};

static void auth_login(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        /* a wrongly typed field is Docker's 400, not a login without it */
        const JsonFieldType *bad = json_check_fields(body, auth_fields, ELEMENTSOF(auth_fields));
        if (bad)
                return api_reply_errorf(ar, EINVAL, "json: cannot unmarshal %s into Go struct field AuthConfig.%s of "
                                        "type string", json_kind(json_object_get(body, bad->key)), bad->key);
        RegistryAuth auth = { 0 };
        const char *u = json_str(body, "username"), *pw = json_str(body, "password"), *sa = json_str(body, "serveraddress");
        auth.username = u && *u ? strdup(u) : NULL;
        auth.password = pw ? strdup(pw) : NULL;
        auth.serveraddress = sa && *sa ? strdup(sa) : NULL;
        int r = registry_login(ar->engine->images, &auth, &err);
        registry_auth_clear(&auth);
        if (r < 0 && err->code == EACCES) { /* docker login expects 401 for refused credentials */
                _cleanup_json_ json_t *j = json_pack("{s:s}", "message", err->msg);
                return http_respond_json(ar->http, 401, j);
        }
        if (r < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:s,s:s}", "IdentityToken", "", "Status", "Login Succeeded"));
}

static void images_create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *from_image = api_query(ar, "fromImage");
        const char *from_src = api_query(ar, "fromSrc");
        if (from_image && *from_image)
                return images_pull(ar, from_image);
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
        if (image_import(ar->engine->images, fd, &o, &id, &err) < 0)
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
        if (image_list(ar->engine->images, filters, api_query_bool(ar, "all", false), shared, &list, &err) < 0)
                return api_reply_error(ar, err);
        size_t i;
        json_t *img;
        json_array_foreach(list, i, img) compat_shape_image_summary(img, ar->ver);
        api_reply_json(ar, 200, list);
}

/* docker-compose 1.x reads the ContainerConfig of the image of every container it recreates (for the
 * image's volumes), a field that left image inspect in API 1.45, and negotiates the daemon's newest
 * version: the field is kept for that client, which could not recreate a service without it. */
static bool client_is_compose_v1(ApiRequest *ar)
{
        const char *ua = http_header(ar->http, "User-Agent");
        return ua && startswith(ua, "docker-compose/1.");
}

static void images_inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_inspect(ar->engine->images, ar->params[0], &j, &err) < 0) {
                if (err && err->code == ENOENT)
                        return api_reply_errorf(ar, ENOENT, "no such image: %s: %s", ar->params[0], err->msg);
                return api_reply_error(ar, err);
        }
        json_t *cc = client_is_compose_v1(ar) ? json_incref(json_object_get(j, "ContainerConfig")) : NULL;
        compat_shape_image_inspect(j, ar->ver);
        if (cc)
                json_object_set_new(j, "ContainerConfig", cc);
        api_reply_json(ar, 200, j);
}

static void images_history(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_history(ar->engine->images, ar->params[0], &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

static void images_tag(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        if (image_tag(ar->engine->images, ar->params[0], api_query(ar, "repo"), api_query(ar, "tag"), &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 201);
}

static void images_delete(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (image_delete(ar->engine->images, ar->params[0], api_query_bool(ar, "force", false),
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
        if (image_prune(ar->engine->images, filters, &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

/* ---- save / load ---- */

typedef struct {
        Engine *e;
        char **names;
        int fd;
        bool quiet;
        HttpStream *s;
} ArchiveCtx;

static void archive_ctx_free(void *p)
{
        ArchiveCtx *c = p;
        strv_free(c->names);
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

static int save_write(void *cls, const void *buf, size_t len)
{
        return http_stream_write(cls, buf, len);
}

static void save_stream(HttpStream *s, void *p)
{
        ArchiveCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        /* After the first byte an error can only end the transfer as failed. */
        if (image_save(c->e->images, c->names, save_write, s, &err) < 0)
                http_stream_abort(s);
}

static void images_save(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        char **names = NULL;
        if (ar->params[0])
                strv_extend(&names, ar->params[0]);
        else
                names = http_query_all(ar->http, "names");
        if (!names || !names[0]) {
                strv_free(names);
                return api_reply_errorf(ar, EINVAL, "no images specified");
        }
        if (image_save_check(ar->engine->images, names, &err) < 0) {
                strv_free(names);
                return api_reply_error(ar, err);
        }
        ArchiveCtx *c = calloc(1, sizeof(*c));
        c->e = ar->engine;
        c->names = names;
        c->fd = -1;
        http_respond_stream(ar->http, 200, "application/x-tar", save_stream, c, archive_ctx_free);
}

static void load_progress(void *cls, json_t *msg)
{
        http_stream_write_json(cls, msg);
}

static void load_stream(HttpStream *s, void *p)
{
        ArchiveCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        if (image_load(c->e->images, c->fd, c->quiet, load_progress, s, &err) < 0) {
                const char *m = err ? err->msg : "load failed";
                _cleanup_json_ json_t *j = json_pack("{s:{s:s},s:s}", "errorDetail", "message", m, "error", m);
                http_stream_write_json(s, j);
        }
}

static void images_load(ApiRequest *ar)
{
        int fd = http_body_fd(ar->http);
        if (fd < 0)
                return api_reply_errorf(ar, EIO, "cannot read request body");
        ArchiveCtx *c = calloc(1, sizeof(*c));
        c->e = ar->engine;
        c->fd = fd;
        c->quiet = api_query_bool(ar, "quiet", false);
        http_respond_stream(ar->http, 200, "application/json", load_stream, c, archive_ctx_free);
}

/* ---- commit ---- */

static void commit(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *cid = api_query(ar, "container");
        if (!cid || !*cid)
                return api_reply_errorf(ar, EINVAL, "container is required");
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        _cleanup_strv_free_ char **changes = http_query_all(ar->http, "changes");
        const char *comment = api_query(ar, "comment");
        if (!comment || !*comment)
                comment = api_query(ar, "m"); /* the v1.13 spelling */
        ImageCommitOptions o = {
                .repo = api_query(ar, "repo"),
                .tag = api_query(ar, "tag"),
                .comment = comment,
                .author = api_query(ar, "author"),
                .changes = changes,
                .config = body,
        };
        _cleanup_free_ char *id = NULL;
        if (container_commit(ar->engine, cid, api_query_bool(ar, "pause", true), &o, &id, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 201, json_pack("{s:s}", "Id", id));
}

/* ---- export ---- */

typedef struct {
        Engine *e;
        char **dirs;
} ExportCtx;

static void export_free(void *p)
{
        ExportCtx *c = p;
        strv_free(c->dirs);
        free(c);
}

static void export_stream(HttpStream *s, void *p)
{
        ExportCtx *c = p;
        _cleanup_berr_ BerthError *err = NULL;
        /* After the first byte an error can only cut the tar short. */
        container_export_run(c->e, c->dirs, save_write, s, &err);
}

static void container_export(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        char **dirs = NULL;
        if (container_export_dirs(ar->engine, ar->params[0], &dirs, &err) < 0)
                return api_reply_error(ar, err);
        ExportCtx *c = calloc(1, sizeof(*c));
        c->e = ar->engine;
        c->dirs = dirs;
        http_respond_stream(ar->http, 200, "application/octet-stream", export_stream, c, export_free);
}

const ApiRoute api_routes_images[] = {
        { "POST", "/images/create", images_create, API_UPLOAD_BODY_MAX },
        { "GET", "/images/json", images_list },
        { "GET", "/images/get", images_save },
        { "POST", "/images/load", images_load, API_UPLOAD_BODY_MAX },
        { "GET", "/images/{name*}/get", images_save },
        { "POST", "/images/{name*}/push", images_push },
        { "POST", "/auth", auth_login },
        { "POST", "/commit", commit },
        { "GET", "/containers/{id}/export", container_export },
        { "POST", "/images/prune", images_prune },
        { "GET", "/images/{name*}/json", images_inspect },
        { "GET", "/distribution/{name*}/json", distribution_inspect },
        { "GET", "/images/{name*}/history", images_history },
        { "POST", "/images/{name*}/tag", images_tag },
        { "DELETE", "/images/{name*}", images_delete },
        { NULL, NULL, NULL },
};
