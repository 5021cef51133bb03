#include "commit.h"

#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/engine.h"

int container_commit(Engine *e, const char *ref, bool pause, ImageCommitOptions *o, char **ret_id, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        bool running = c->status == CSTATUS_RUNNING;
        pthread_mutex_unlock(&e->lock);
        /* Freeze a running container so the upper dir does not change under the tar. */
        bool paused = false;
        if (pause && running)
                paused = container_pause(e, c->id, true, NULL) == 0;
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        o->container_id = c->id;
        o->container_config = container_cfg(c);
        r = image_commit(e, c->image_id, upper, o, ret_id, err);
        if (paused)
                container_pause(e, c->id, false, NULL);
        return r;
}
