/* Service discovery across hosts: an etcd-backed registry (docs/discovery.md).
 *
 * With `berthd --discovery etcd://host:port[,host:port...]`, berthd keeps one
 * lease in etcd (TTL --discovery-ttl, default 5 s, kept alive every TTL/3 s)
 * and, for every running container, puts
 *   /berth/v1/services/<container-name>/<engine-id>
 * = {"name","container","engine","host","addresses":[{"network","ip"}],
 *    "ports":[{"proto","container_port","host_ip","host_port"}]}
 * attached to that lease. A registrar thread follows the event journal
 * (engine/events.h) so container start never waits for etcd; a watcher thread
 * keeps a cache of every host's entries, which the embedded DNS
 * (network/dns.c) answers from. When etcd is unreachable the cache is served
 * as it was; when it is back the lease is granted anew and everything is
 * registered again.
 *
 * Locking: the cache has its own mutex, taken by the lookups only briefly;
 * they may be called from any thread, with or without e->lock. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "engine/engine.h"

typedef struct Discovery Discovery;

#define DISCOVERY_PREFIX "/berth/v1/services/"
#define DISCOVERY_DEFAULT_TTL 5
#define DISCOVERY_DNS_TTL 5

/* Parses "etcd://h:p[,h:p...]" into "h:p" strings; -EINVAL with a message. */
int discovery_parse_url(const char *url, char ***ret, BerthError **err);

/* Starts the threads when e->cfg.discovery is set (sets e->discovery);
 * a no-op otherwise. Fails only on bad configuration, never because etcd is
 * unreachable. */
int discovery_start(Engine *e, BerthError **err);
/* Stops the threads. The lease is left to expire (containers keep running
 * across a daemon restart; the next berthd registers them again). */
void discovery_stop(Engine *e);

/* ---- lookups for the embedded DNS ---- */
typedef struct DiscoverySrv {
        uint16_t port;      /* the published (host) port */
        char target[256];   /* <engine-id[:12]>.<name>, answered by discovery_lookup_a */
        struct in_addr addr;
} DiscoverySrv;

/* True when some host registered a service of that name (case-insensitive). */
bool discovery_has_name(Discovery *d, const char *name);
/* A records for <name> (every host's address) or <engine12>.<name>. */
int discovery_lookup_a(Discovery *d, const char *name, struct in_addr *out, int max);
/* SRV records for _<container-port>._<proto>.<name> and _<name>._<proto>. */
int discovery_lookup_srv(Discovery *d, const char *name, DiscoverySrv *out, int max);
