/* DELETE /containers/<parent>/<alias>?link=1 (`docker rm --link /client/alias`):
 * the link name has a slash, so it never reaches the one-segment container routes. */
#include <string.h>

#include "api.h"
#include "basic/util.h"
#include "engine/links.h"

static void remove_link(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *name = ar->params[0];
        if (!api_query_bool(ar, "link", false))
                return api_reply_errorf(ar, ENOENT, "No such container: %s", name);
        while (*name == '/')
                name++;
        const char *slash = strrchr(name, '/');
        if (!slash)
                return api_reply_errorf(ar, EINVAL, "Conflict, cannot remove the default link name of the container");
        _cleanup_free_ char *parent = xstrndup(name, (size_t) (slash - name));
        if (links_remove(ar->engine, parent, slash + 1, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 204);
}

const ApiRoute api_routes_links[] = {
        { "DELETE", "/containers/{name*}", remove_link },
        { NULL, NULL, NULL },
};
