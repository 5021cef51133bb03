/* Swarm, plugins: berth is a single-host engine that never joins a swarm and
 * runs no plugins, so these answer as a daemon outside a swarm does. Clients
 * (docker-py's teardown, compose) rely on the exact 503s to tell "not a swarm
 * member" from a failure. */
#include <string.h>

#include "api.h"
#include "basic/util.h"

#define NOT_A_MANAGER                                                                                     \
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect " \
        "this node to swarm and try again."

static void not_a_manager(ApiRequest *ar)
{
        api_reply_errorf(ar, ENETDOWN, NOT_A_MANAGER);
}

static void leave(ApiRequest *ar)
{
        api_reply_errorf(ar, ENETDOWN, "This node is not part of a swarm");
}

static void swarm_unsupported(ApiRequest *ar)
{
        api_reply_errorf(ar, ENOTSUP, "swarm mode is not supported by berth");
}

static void plugins_list(ApiRequest *ar)
{
        api_reply_json(ar, 200, json_array());
}

static void plugin_inspect(ApiRequest *ar)
{
        api_reply_errorf(ar, ENOENT, "plugin \"%s\" not found", ar->params[0]);
}

static void plugins_unsupported(ApiRequest *ar)
{
        api_reply_errorf(ar, ENOTSUP, "plugins are not supported by berth");
}

const ApiRoute api_routes_swarm[] = {
        { "POST", "/swarm/leave", leave },
        { "POST", "/swarm/init", swarm_unsupported },
        { "POST", "/swarm/join", swarm_unsupported },
        { "*", "/swarm", not_a_manager },
        { "*", "/swarm/{op}", not_a_manager },
        { "*", "/nodes", not_a_manager },
        { "*", "/nodes/{id}", not_a_manager },
        { "*", "/nodes/{id}/{op}", not_a_manager },
        { "*", "/services", not_a_manager },
        { "*", "/services/{id}", not_a_manager },
        { "*", "/services/{id}/{op}", not_a_manager },
        { "*", "/tasks", not_a_manager },
        { "*", "/tasks/{id}", not_a_manager },
        { "*", "/tasks/{id}/{op}", not_a_manager },
        { "*", "/secrets", not_a_manager },
        { "*", "/secrets/{id}", not_a_manager },
        { "*", "/secrets/{id}/{op}", not_a_manager },
        { "*", "/configs", not_a_manager },
        { "*", "/configs/{id}", not_a_manager },
        { "*", "/configs/{id}/{op}", not_a_manager },
        { "GET", "/plugins", plugins_list },
        { "GET", "/plugins/{name*}/json", plugin_inspect },
        { "*", "/plugins/{op}", plugins_unsupported },
        { "*", "/plugins/{name*}/{op}", plugins_unsupported },
        { NULL, NULL, NULL },
};
