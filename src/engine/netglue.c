/* Values and callbacks for network/ and discovery/ (see netglue.h). */
#include "netglue.h"

#include <stdlib.h>

#include "basic/util.h"
#include "discovery/discovery.h"

/* e->lock held. copy: a deep copy of the config for a reader that runs without the lock. */
static NetContainer *netc_fill_locked(Engine *e, Container *c, bool copy)
{
        NetContainer *n = xcalloc(1, sizeof(*n));
        snprintf(n->id, sizeof(n->id), "%s", c->id);
        n->name = xstrdup(c->name ? c->name : "");
        n->dir = container_dir(e, c->id);
        n->config = copy ? json_deep_copy(c->config) : json_incref(c->config);
        n->running = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        n->pid = n->running ? c->pid : 0;
        n->starting = c->starting;
        return n;
}

NetContainer *engine_netc_locked(Engine *e, Container *c)
{
        return netc_fill_locked(e, c, false);
}

NetContainer *engine_netc(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        NetContainer *n = netc_fill_locked(e, c, true);
        pthread_mutex_unlock(&e->lock);
        return n;
}

json_t *container_network_settings(Engine *e, Container *c, bool running, bool summary)
{
        _cleanup_netc_ NetContainer *n = engine_netc_locked(e, c);
        return network_settings_json(e->net, n, running, summary);
}

json_t *container_network_ports(Engine *e, Container *c, bool running)
{
        _cleanup_netc_ NetContainer *n = engine_netc_locked(e, c);
        return network_ports_list_json(e->net, n, running);
}

char *engine_network_netns(Engine *e, Container *c)
{
        _cleanup_netc_ NetContainer *n = engine_netc(e, c);
        return network_container_netns(e->net, n);
}

int engine_network_prepare(Engine *e, Container *c, BerthError **err)
{
        _cleanup_netc_ NetContainer *n = engine_netc(e, c);
        return network_container_prepare(e->net, n, err);
}

int engine_network_attach(Engine *e, Container *c, int pid, BerthError **err)
{
        _cleanup_netc_ NetContainer *n = engine_netc(e, c);
        return network_container_attach(e->net, n, pid, err);
}

static int netc_lookup(void *cls, const char *ref, NetContainer **ret, BerthError **err)
{
        Engine *e = cls;
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        *ret = engine_netc(e, c);
        return 0;
}

Network *engine_network_new(Engine *e)
{
        Network *n = xcalloc(1, sizeof(*n));
        *n = (Network) { .store = e->store, .events = e->events, .bip = e->cfg.bip, .lookup = netc_lookup,
                         .lookup_cls = e };
        return n;
}

/* ---- discovery ---- */

/* The name and NetworkSettings of a running container, NULL when it is not running (or gone). */
static json_t *disc_record(void *cls, const char *cid, char **ret_name)
{
        Engine *e = cls;
        _cleanup_container_ Container *c = NULL;
        if (container_get(e, cid, &c, NULL) < 0)
                return NULL;
        pthread_mutex_lock(&e->lock);
        bool running = (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) && !c->removed;
        _cleanup_free_ char *name = xstrdup(c->name ? c->name : c->id);
        _cleanup_netc_ NetContainer *n = netc_fill_locked(e, c, true);
        pthread_mutex_unlock(&e->lock);
        if (!running)
                return NULL;
        json_t *ns = network_settings_json(e->net, n, true, false);
        *ret_name = TAKE_PTR(name);
        return ns;
}

static char **disc_container_ids(void *cls)
{
        Engine *e = cls;
        size_t n = 0;
        Container **all = container_list_all(e, &n);
        char **ids = NULL;
        for (size_t i = 0; i < n; i++) {
                strv_extend(&ids, all[i]->id);
                container_unref(all[i]);
        }
        free(all);
        return ids;
}

int engine_discovery_start(Engine *e, BerthError **err)
{
        DiscoveryHost h = {
                .url = e->cfg.discovery,
                .advertise = e->cfg.discovery_advertise,
                .ttl = e->cfg.discovery_ttl,
                .engine_id = e->id,
                .events = e->events,
                .net = e->net,
                .record = disc_record,
                .container_ids = disc_container_ids,
                .cls = e,
        };
        Discovery *d = NULL;
        int r = discovery_start(&h, &d, err);
        if (r < 0)
                return r;
        __atomic_store_n(&e->discovery, d, __ATOMIC_RELEASE);
        return 0;
}

void engine_discovery_stop(Engine *e)
{
        Discovery *d = __atomic_exchange_n(&e->discovery, NULL, __ATOMIC_ACQ_REL);
        discovery_stop(d);
}
