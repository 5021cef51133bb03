/* The engine's side of network/ and discovery/: the values they get of containers, built under e->lock,
 * and the callbacks they call (network/network.h, discovery/discovery.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "engine/container.h"
#include "network/network.h"

/* c's values, copied under e->lock; the caller does not hold it. */
NetContainer *engine_netc(Engine *e, Container *c);
/* The same for a caller that holds e->lock. */
NetContainer *engine_netc_locked(Engine *e, Container *c);
/* network_settings_json / network_ports_list_json of c; the caller holds e->lock. */
json_t *container_network_settings(Engine *e, Container *c, bool running, bool summary);
json_t *container_network_ports(Engine *e, Container *c, bool running);

/* The container hooks of network/network.h with c's values (called without e->lock). */
char *engine_network_netns(Engine *e, Container *c);
int engine_network_prepare(Engine *e, Container *c, BerthError **err);
int engine_network_attach(Engine *e, Container *c, int pid, BerthError **err);

/* The Network context of e (engine_new): its store, journal, --bip and the container lookup. */
Network *engine_network_new(Engine *e);
/* Starts discovery when --discovery is set (sets e->discovery). */
int engine_discovery_start(Engine *e, BerthError **err);
void engine_discovery_stop(Engine *e);
