/* Networks: bridges, endpoints, IPAM, NAT and published ports, embedded DNS.
 * HTTP-free; the engine calls the container hooks, src/api/networks.c the verbs.
 *
 * State lives in the state store (module "network": tables networks and
 * endpoints); everything on the host (bridges, veths, the nftables table
 * `ip berth`, proxy listeners, DNS sockets) is derived from it and rebuilt or
 * reconciled on start-up.
 *
 * The module never sees the engine: containers come in as NetContainer values
 * the engine copies under its own lock, other containers (--network container:X,
 * connect, re-adoption) through the lookup callback in Network, which the module
 * calls without its mutex held. Events go to the journal (state/events.h).
 *
 * Locking: the module has its own mutex (NetState.lock); it is never held
 * together with the engine's lock. Hooks and verbs are called without the
 * engine's lock; network_settings_json() and network_ports_list_json() take no
 * network lock and may be called with it held. */
#pragma once

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/macro.h"

typedef struct Store Store;
typedef struct EventLog EventLog;
typedef struct NetState NetState;

/* What the module knows of a container: values the engine copied under its lock. */
typedef struct NetContainer {
        char id[65];
        char *name;     /* "" when none */
        char *dir;      /* the container directory: hosts, resolv.conf */
        json_t *config; /* {"Config","HostConfig","NetworkingConfig",...} (a reference the module may read) */
        int pid;        /* running or paused: the container's pid, else 0 */
        bool running;   /* running or paused */
        bool starting;  /* a start is under way */
} NetContainer;
void net_container_free(NetContainer *c);
static inline void net_container_freep(NetContainer **c) { net_container_free(*c); }
#define _cleanup_netc_ _cleanup_(net_container_freep)

/* A container by id, name or unique id prefix (-ENOENT with Docker's "No such container: x"). */
typedef int (*NetLookupFn)(void *cls, const char *ref, NetContainer **ret, BerthError **err);

/* Names the embedded DNS cannot answer from local endpoints (discovery registers one at start). */
typedef struct NetSrv {
        uint16_t port;      /* the published (host) port */
        char target[256];   /* a name lookup_a answers */
        struct in_addr addr;
} NetSrv;
/* Seconds the embedded DNS lets clients cache a resolver answer. */
#define NET_RESOLVER_TTL 5
typedef struct NetResolver {
        bool (*has_name)(void *cls, const char *name);
        int (*lookup_a)(void *cls, const char *name, struct in_addr *out, int max);
        int (*lookup_srv)(void *cls, const char *name, NetSrv *out, int max);
        void *cls;
} NetResolver;

/* The module's context, filled by its owner (the engine) before network_start. */
typedef struct Network {
        Store *store;
        EventLog *events;
        const char *bip;           /* --bip, NULL for the default */
        NetLookupFn lookup;
        void *lookup_cls;
        NetState *state;           /* set by network_start, NULL before it and after network_stop */
        const NetResolver *resolver; /* atomic; network_set_resolver */
} Network;

/* Registers (NULL: removes) the resolver of names no local endpoint has. r must stay valid until removed,
 * and the DNS server stopped (network_stop) before the resolver's data goes. */
void network_set_resolver(Network *e, const NetResolver *r);

/* Migrates the tables, creates the default networks and the bridge, applies
 * the nftables table and removes what no endpoint accounts for. Call after
 * the containers are loaded (engine_start) so running ones are re-adopted. */
int network_start(Network *e, bool userland_proxy, BerthError **err);
/* After the containers were restored: DNS sockets and proxies for running
 * containers, releases endpoints of dead ones, deletes stray links, rebuilds
 * the nftables table. */
void network_adopt(Network *e);
/* Closes proxies and DNS sockets (containers keep their links and rules). */
void network_stop(Network *e);

/* ---- container hooks (engine/start.c, stop, remove) ---- */

/* Before the monitor is spawned: validates the network mode, allocates
 * addresses, reserves published ports (Docker's "port is already allocated"),
 * and writes hosts / resolv.conf in the container directory. On error nothing
 * is left allocated. */
int network_container_prepare(Network *e, NetContainer *c, BerthError **err);
/* The netns path the container must join for --network container:X (caller
 * frees), NULL for its own or the host's. Looks the other container up: call without the engine's lock. */
char *network_container_netns(Network *e, NetContainer *c);
/* After the monitor reported pid, before "start": veths, addresses, routes,
 * NAT, DNS. On error the caller kills the container and calls release. */
int network_container_attach(Network *e, NetContainer *c, int pid, BerthError **err);
/* After the container stopped (or a failed start): releases addresses, ports,
 * DNS sockets; the veths die with the namespace, stray ones are deleted. */
void network_container_release(Network *e, const char *id);
/* The container is removed: forget its network memberships. */
void network_container_forget(Network *e, const char *id);
/* Every container id the network tables mention (the start-up reconciler forgets those
 * without a container row). NULL-terminated, caller frees. */
char **network_container_ids(Network *e);

/* NetworkSettings for inspect ({..., "Ports", "Networks"}) and the list shape
 * ({"Networks": ...}). May be called with the engine's lock held. */
json_t *network_settings_json(Network *e, NetContainer *c, bool running, bool summary);
json_t *network_ports_list_json(Network *e, NetContainer *c, bool running); /* /containers/json "Ports" */

/* ---- verbs (the /networks API) ---- */
int network_create(Network *e, json_t *body, json_t **ret, BerthError **err); /* {"Id","Warning"} */
int network_list(Network *e, json_t *filters, json_t **ret, BerthError **err);
int network_inspect(Network *e, const char *ref, json_t **ret, BerthError **err);
int network_remove(Network *e, const char *ref, BerthError **err);
int network_connect(Network *e, const char *ref, json_t *body, BerthError **err);
int network_disconnect(Network *e, const char *ref, json_t *body, BerthError **err);
int network_prune(Network *e, json_t *filters, json_t **ret, BerthError **err);
