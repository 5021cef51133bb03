/* Network endpoints: create, list, inspect, remove, connect, disconnect, prune.
 * The work is in src/network/; this file translates HTTP. */
#include <string.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "network/network.h"

#define ID(ar) ((ar)->params[0])

static void create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        if (!body)
                return api_reply_errorf(ar, EINVAL, "network name is required");
        if (ar->ver < 48)
                json_object_del(body, "EnableIPv4"); /* unknown before 1.48, as dockerd drops it */
        json_t *ret = NULL;
        if (network_create(ar->engine->net, body, &ret, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 201, ret);
}

static void list(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        json_t *ret = NULL;
        if (network_list(ar->engine->net, filters, &ret, &err) < 0)
                return api_reply_error(ar, err);
        size_t i;
        json_t *n;
        json_array_foreach(ret, i, n) compat_shape_network(n, ar->ver, true);
        api_reply_json(ar, 200, ret);
}

static void inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *ret = NULL;
        if (network_inspect(ar->engine->net, ID(ar), &ret, &err) < 0)
                return api_reply_error(ar, err);
        compat_shape_network(ret, ar->ver, false);
        api_reply_json(ar, 200, ret);
}

static void remove_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        if (network_remove(ar->engine->net, ID(ar), &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 204);
}

static void connect_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        if (network_connect(ar->engine->net, ID(ar), body, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 200);
}

static void disconnect_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        if (network_disconnect(ar->engine->net, ID(ar), body, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 200);
}

static void prune(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        json_t *ret = NULL;
        if (network_prune(ar->engine->net, filters, &ret, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, ret);
}

const ApiRoute api_routes_networks[] = {
        { "POST", "/networks/create", create },
        { "POST", "/networks/prune", prune },
        { "GET", "/networks", list },
        { "GET", "/networks/{id}", inspect },
        { "DELETE", "/networks/{id}", remove_ },
        { "POST", "/networks/{id}/connect", connect_ },
        { "POST", "/networks/{id}/disconnect", disconnect_ },
        { NULL },
};
