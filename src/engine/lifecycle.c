#include "lifecycle.h"

#include <sys/wait.h>

#include "engine/container.h"
#include "engine/mountpoints.h"
#include "engine/netglue.h"
#include "image/image.h"
#include "network/network.h"

int engine_start(Engine *e, BerthError **err)
{
        int r = image_store_reconcile(e->images, err);
        if (r < 0)
                return r;
        r = network_start(e->net, !e->cfg.no_userland_proxy, err);
        if (r < 0)
                return r;
        r = container_restore_all(e, err);
        if (r < 0)
                return r;
        mountpoints_reconcile(e); /* the running containers' volumes stay mounted, the rest go */
        network_adopt(e->net);
        /* after the restore: it registers the running containers; never waits for etcd */
        return engine_discovery_start(e, err);
}

void engine_reap_children(Engine *e _unused_)
{
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

void engine_stop(Engine *e)
{
        container_shutdown(e);
        network_stop(e->net); /* the DNS thread reads the discovery cache: stop it first */
        engine_discovery_stop(e);
}
