/* Exec endpoints: create, start (hijacked or detached), resize, inspect. */
#include <string.h>

#include "api.h"
#include "basic/json-util.h"
#include "basic/stdcopy.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "engine/exec.h"

#define ID(ar) ((ar)->params[0])

static void create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        if (!body)
                body = json_object();
        _cleanup_free_ char *id = NULL;
        if (exec_create(ar->engine, ID(ar), body, &id, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 201, json_pack("{s:s}", "Id", id));
}

typedef struct {
        Engine *e;
        Exec *x;
        bool prepared;
        bool framed;
        BerthError *err; /* a start that may not run: written in-band, like dockerd */
} StartCtx;

static void start_fn(int fd, void *p)
{
        StartCtx *ctx = p;
        if (ctx->prepared)
                (void) exec_run(ctx->e, ctx->x, fd, ctx->framed, NULL);
        else if (ctx->err) {
                _cleanup_free_ char *text = xasprintf("%s\r\n", ctx->err->msg);
                size_t n = strlen(text);
                unsigned char hdr[STDCOPY_HEADER_LEN];
                stdcopy_header(hdr, STDCOPY_STDOUT, n);
                if (ctx->framed)
                        (void) !write(fd, hdr, sizeof(hdr));
                (void) !write(fd, text, n);
        }
        berr_free(ctx->err);
        exec_unref(ctx->e, ctx->x);
        free(ctx);
}

static void start(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        static const JsonFieldType fields[] = { { "Detach", JT_BOOL }, { "Tty", JT_BOOL }, { "ConsoleSize", JT_ARR } };
        const JsonFieldType *bad = json_check_fields(body, fields, ELEMENTSOF(fields));
        if (bad)
                return api_reply_errorf(ar, EINVAL, "json: cannot unmarshal %s into Go struct field ExecStartCheck.%s",
                                        json_kind(json_object_get(body, bad->key)), bad->key);
        Exec *x = NULL;
        if (exec_get(ar->engine, ID(ar), &x, &err) < 0)
                return api_reply_error(ar, err);
        int r = exec_start_prepare(ar->engine, x, &err);
        if (json_bool(body, "Detach")) {
                if (r == 0)
                        r = exec_run(ar->engine, x, -1, false, &err);
                exec_unref(ar->engine, x);
                if (r < 0)
                        return api_reply_error(ar, err);
                return api_reply_empty(ar, 200);
        }
        StartCtx *ctx = calloc(1, sizeof(*ctx));
        ctx->e = ar->engine;
        ctx->x = x;
        ctx->prepared = r == 0;
        ctx->err = TAKE_PTR(err);
        /* Framing follows the start request's Tty, as in dockerd, not the exec's. */
        json_t *tv = json_object_get_ci(body, "Tty");
        ctx->framed = !(tv ? json_is_true(tv) : exec_tty(x));
        const char *ct = ar->ver >= 42 && ctx->framed ? "application/vnd.docker.multiplexed-stream"
                                               : "application/vnd.docker.raw-stream";
        http_hijack(ar->http, ct, start_fn, ctx);
}

static void resize(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        long long h = 0, w = 0;
        if (api_query_int(ar, "h", 0, &h, &err) < 0 || api_query_int(ar, "w", 0, &w, &err) < 0)
                return api_reply_error(ar, err);
        if (exec_resize(ar->engine, ID(ar), (int) h, (int) w, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 200);
}

static void inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        Exec *x = NULL;
        if (exec_get(ar->engine, ID(ar), &x, &err) < 0)
                return api_reply_error(ar, err);
        json_t *j = exec_inspect_json(ar->engine, x);
        exec_unref(ar->engine, x);
        api_reply_json(ar, 200, j);
}

const ApiRoute api_routes_exec[] = {
        { "POST", "/containers/{id}/exec", create },
        { "POST", "/exec/{id}/start", start },
        { "POST", "/exec/{id}/resize", resize },
        { "GET", "/exec/{id}/json", inspect },
        { NULL, NULL, NULL },
};
