#include "lifecycle.h"

#include <sys/wait.h>

#include "engine/container.h"
#include "image/image.h"

int engine_start(Engine *e, BerthError **err)
{
        int r = image_store_reconcile(e, err);
        if (r < 0)
                return r;
        return container_restore_all(e, err);
}

void engine_reap_children(Engine *e _unused_)
{
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

void engine_stop(Engine *e)
{
        container_shutdown(e);
}
