/* Service discovery across hosts: an etcd-backed registry (docs/discovery.md).
 *
 * With `berthd --discovery etcd://host:port[,host:port...]`, berthd keeps one
 * lease in etcd (TTL --discovery-ttl, default 5 s, kept alive every TTL/3 s)
 * and, for every running container, puts
 *   /berth/v1/services/<container-name>/<engine-id>
 * = {"name","container","engine","host","addresses":[{"network","ip"}],
 *    "ports":[{"proto","container_port","host_ip","host_port"}]}
 * attached to that lease. A registrar thread follows the event journal
 * (state/events.h) so container start never waits for etcd; a watcher thread
 * keeps a cache of every host's entries, which the embedded DNS
 * (network/dns.c) answers from through the resolver discovery registers
 * (network_set_resolver). What it needs of containers comes from the engine's
 * callbacks in DiscoveryHost. When etcd is unreachable the cache is served
 * as it was; when it is back the lease is granted anew and everything is
 * registered again.
 *
 * Locking: the cache has its own mutex, taken by the lookups only briefly;
 * they may be called from any thread, with or without the engine's lock. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "basic/error.h"
#include "network/network.h"

typedef struct Discovery Discovery;
typedef struct EventLog EventLog;

/* What discovery gets from its owner (the engine); copied by discovery_start. */
typedef struct DiscoveryHost {
        const char *url;       /* --discovery etcd://h:p[,...]; NULL or "" for none */
        const char *advertise; /* --discovery-advertise, NULL or "" to detect */
        int ttl;               /* --discovery-ttl, 0 = default */
        const char *engine_id; /* must outlive the Discovery */
        EventLog *events;      /* followed by the registrar */
        Network *net;          /* where the resolver for the embedded DNS is registered */
        /* The container's name (*ret_name) and NetworkSettings ({"Ports","Networks"}) when it is running,
         * NULL otherwise. Called without any discovery lock. */
        json_t *(*record)(void *cls, const char *cid, char **ret_name);
        /* The ids of every container (strv, caller frees). */
        char **(*container_ids)(void *cls);
        void *cls;
} DiscoveryHost;

#define DISCOVERY_PREFIX "/berth/v1/services/"
#define DISCOVERY_DEFAULT_TTL 5
#define DISCOVERY_DNS_TTL NET_RESOLVER_TTL

/* Parses "etcd://h:p[,h:p...]" into "h:p" strings; -EINVAL with a message. */
int discovery_parse_url(const char *url, char ***ret, BerthError **err);

/* Starts the threads when h->url is set (*ret the Discovery, NULL otherwise) and registers the DNS
 * resolver. Fails only on bad configuration, never because etcd is unreachable. */
int discovery_start(const DiscoveryHost *h, Discovery **ret, BerthError **err);
/* Removes the resolver and stops the threads (NULL: nothing). Call after network_stop (the DNS thread
 * reads the cache). The lease is left to expire (containers keep running across a daemon restart; the
 * next berthd registers them again). */
void discovery_stop(Discovery *d);

/* ---- lookups for the embedded DNS ---- */
/* target: <engine-id[:12]>.<name>, answered by discovery_lookup_a */
typedef NetSrv DiscoverySrv;

/* True when some host registered a service of that name (case-insensitive). */
bool discovery_has_name(Discovery *d, const char *name);
/* A records for <name> (every host's address) or <engine12>.<name>. */
int discovery_lookup_a(Discovery *d, const char *name, struct in_addr *out, int max);
/* SRV records for _<container-port>._<proto>.<name> and _<name>._<proto>. */
int discovery_lookup_srv(Discovery *d, const char *name, DiscoverySrv *out, int max);
