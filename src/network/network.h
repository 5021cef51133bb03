/* Networks: bridges, endpoints, IPAM, NAT and published ports, embedded DNS.
 * HTTP-free; the engine calls the container hooks, src/api/networks.c the verbs.
 *
 * State lives in the state store (module "network": tables networks and
 * endpoints); everything on the host (bridges, veths, the nftables table
 * `ip berth`, proxy listeners, DNS sockets) is derived from it and rebuilt or
 * reconciled on start-up.
 *
 * Locking: the module has its own mutex. Hooks and verbs must be called
 * WITHOUT e->lock; network_settings_json() may be called with e->lock held
 * (lock order: e->lock, then the network mutex). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "engine/engine.h"

typedef struct Container Container;

/* Migrates the tables, creates the default networks and the bridge, applies
 * the nftables table and removes what no endpoint accounts for. Call after
 * the containers are loaded (engine_start) so running ones are re-adopted. */
int network_start(Engine *e, bool userland_proxy, BerthError **err);
/* After the containers were restored: DNS sockets and proxies for running
 * containers, releases endpoints of dead ones, deletes stray links, rebuilds
 * the nftables table. */
void network_adopt(Engine *e);
/* Closes proxies and DNS sockets (containers keep their links and rules). */
void network_stop(Engine *e);

/* ---- container hooks (engine/start.c, stop, remove) ---- */

/* Before the monitor is spawned: validates the network mode, allocates
 * addresses, reserves published ports (Docker's "port is already allocated"),
 * and writes hosts / resolv.conf in the container directory. On error nothing
 * is left allocated. */
int network_container_prepare(Engine *e, Container *c, BerthError **err);
/* The netns path the container must join for --network container:X (caller
 * frees), NULL for its own or the host's. */
char *network_container_netns(Engine *e, Container *c);
/* After the monitor reported pid, before "start": veths, addresses, routes,
 * NAT, DNS. On error the caller kills the container and calls release. */
int network_container_attach(Engine *e, Container *c, int pid, BerthError **err);
/* After the container stopped (or a failed start): releases addresses, ports,
 * DNS sockets; the veths die with the namespace, stray ones are deleted. */
void network_container_release(Engine *e, const char *id);
/* The container is removed: forget its network memberships. */
void network_container_forget(Engine *e, const char *id);
/* Every container id the network tables mention (the start-up reconciler forgets those
 * without a container row). NULL-terminated, caller frees. */
char **network_container_ids(Engine *e);

/* NetworkSettings for inspect ({..., "Ports", "Networks"}) and the list shape
 * ({"Networks": ...}). May be called with e->lock held. */
json_t *network_settings_json(Engine *e, Container *c, bool running, bool summary);
json_t *network_ports_list_json(Engine *e, Container *c, bool running); /* /containers/json "Ports" */

/* ---- verbs (the /networks API) ---- */
int network_create(Engine *e, json_t *body, json_t **ret, BerthError **err); /* {"Id","Warning"} */
int network_list(Engine *e, json_t *filters, json_t **ret, BerthError **err);
int network_inspect(Engine *e, const char *ref, json_t **ret, BerthError **err);
int network_remove(Engine *e, const char *ref, BerthError **err);
int network_connect(Engine *e, const char *ref, json_t *body, BerthError **err);
int network_disconnect(Engine *e, const char *ref, json_t *body, BerthError **err);
int network_prune(Engine *e, json_t *filters, json_t **ret, BerthError **err);
