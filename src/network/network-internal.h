/* Shared between the files of src/network/. */
#pragma once

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "basic/error.h"
#include "basic/util.h"
#include "network/network.h"
#include "state/store.h"

typedef struct Proxy Proxy;
typedef struct Dns Dns;

struct NetState {
        pthread_mutex_t lock;
        bool userland_proxy;
        Proxy *proxies;
        Dns *dns;
};

/* ---- nft.c ---- */
typedef struct NftNet {
        const char *bridge;
        char subnet[32]; /* a.b.c.d/n */
        bool internal;
        bool masquerade;
} NftNet;
typedef struct NftPort {
        int proto; /* IPPROTO_TCP / IPPROTO_UDP */
        struct in_addr host_ip; /* 0 = any */
        int host_port;
        struct in_addr cip;
        int cport;
} NftPort;
/* Replaces `table ip berth` atomically with the rules for these networks and ports. */
int nft_apply(const NftNet *nets, size_t n_nets, const NftPort *ports, size_t n_ports, bool userland_proxy,
              BerthError **err);
/* Removes `table ip berth` (nothing else). */
int nft_flush(void);

/* ---- proxy.c: userland proxy in berthd's own threads ---- */
/* Binds host_ip:*host_port (0 = any free port, returned) and relays to target. */
int proxy_start(NetState *ns, const char *cid, int proto, struct in_addr host_ip, int *host_port,
                struct in_addr target, int target_port);
/* The same on [::] (IPv6 only), relaying to the container's IPv4 address as docker-proxy does. */
int proxy_start6_any(NetState *ns, const char *cid, int proto, int *host_port, struct in_addr target, int target_port);
void proxy_stop_container(NetState *ns, const char *cid); /* ns->lock held */
void proxy_stop_all(NetState *ns);

/* ---- dns.c ---- */
int dns_start(Network *e, NetState *ns);
void dns_stop(NetState *ns);
/* Opens 127.0.0.11:53 (udp, tcp) inside the container's netns nsfd. */
int dns_add_container(NetState *ns, const char *cid, int nsfd);
void dns_remove_container(NetState *ns, const char *cid);
/* Whether the container's listener is open (its namespace keeps it across connects). */
bool dns_has_container(NetState *ns, const char *cid);
/* Resolves an A name for the asking container; fills up to max addresses.
 * Returns the count, 0 when the name is not a container here. (endpoints.c) */
int network_dns_lookup(Network *e, const char *asker_cid, const char *name, struct in_addr *out, int max);
/* The IPv6 addresses of the same matches (AAAA); the count. */
int network_dns_lookup6(Network *e, const char *asker_cid, const char *name, struct in6_addr *out, int max);

/* ---- shared state and row types ---- */
#define NET_MTU 1500

static inline NetState *NS(Network *e)
{
        return e->state;
}

/* The parts of a container's config the module reads. */
static inline json_t *net_cfg(NetContainer *c)
{
        return json_object_get(c->config, "Config");
}
static inline json_t *net_hostcfg(NetContainer *c)
{
        return json_object_get(c->config, "HostConfig");
}
/* The engine's lookup (Network.lookup); never call it with ns->lock held. */
static inline int net_lookup(Network *e, const char *ref, NetContainer **ret, BerthError **err)
{
        if (!e->lookup)
                return berr_set(err, ENOENT, "No such container: %s", ref);
        return e->lookup(e->lookup_cls, ref, ret, err);
}

typedef struct Net {
        char id[65];
        char *name, *driver, *bridge;
        bool has_subnet;
        struct in_addr net, gw, range;
        int prefix, range_prefix;
        bool has_range;
        bool internal, attachable;
        char *subnet_s, *gw_s, *range_s;
        char *labels, *options;
        int64_t created;
        /* IPv6 (EnableIPv6 with an IPv6 pool): strings as the user gave them, as Docker shows them */
        bool ipv6, has_subnet6, has_range6;
        struct in6_addr net6, gw6, range6;
        int prefix6, range6_prefix;
        char *subnet6_s, *gw6_s, *range6_s;
        char *aux, *aux6; /* IPAM AuxiliaryAddresses of each pool: JSON objects */
        unsigned mtu;     /* com.docker.network.driver.mtu, NET_MTU by default */
        bool masquerade;  /* com.docker.network.bridge.enable_ip_masquerade */
} Net;

typedef struct Ep {
        char cid[65], nid[65];
        int seq;
        char *name, *aliases, *static_ip, *static_mac, *endpoint_id, *ip, *mac, *ifname;
        char *static_ip6, *ip6;
        char *links, *linklocal, *driver_opts; /* JSON: ["name:alias"], ["169.254.1.1"], {} */
} Ep;

typedef struct PortReq {
        char proto[4];
        int cport;
        char host_ip[INET6_ADDRSTRLEN];
        int hp_lo, hp_hi; /* 0,0 = any */
        bool dual;        /* no HostIp given: 0.0.0.0 and, when the host has IPv6, [::] (as Docker) */
} PortReq;

/* ---- network.c ---- */
/* Creates the network's bridge if it is missing, with its gateway address. */
int net_bridge_ensure(Net *n, bool userland_proxy, BerthError **err);
/* Rebuilds `table ip berth` from the store. ns->lock held. */
int net_apply_rules(Network *e, BerthError **err);

/* ---- netstore.c: rows of the networks and endpoints tables ---- */
void net_free(Net *n);
static inline void net_freep(Net **n) { net_free(*n); }
#define _cleanup_net_ _cleanup_(net_freep)
/* A text column, strdup'ed (NULL stays NULL). */
char *net_col(sqlite3_stmt *st, int i);
/* By full id, name, or unique id prefix. */
Net *net_find(Network *e, const char *ref, int *ambiguous);
/* net_find with Docker's "not found" / "ambiguous" errors. */
int net_get(Network *e, const char *ref, Net **ret, BerthError **err);
Net **net_list_all(Network *e, size_t *ret_n);
void net_list_free(Net **v, size_t n);
/* Runs one statement with text (or NULL) parameters; -EEXIST on a constraint. */
int net_exec_sql(Network *e, const char *sql, const char *const *args, size_t n);
#define SQL(e, sql, ...) net_exec_sql((e), (sql), (const char *const[]){ __VA_ARGS__ }, \
                                      sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
void net_eps_free(Ep *v, size_t n);
/* where: "container_id = ?1" or "network_id = ?1" */
Ep *net_eps_query(Network *e, const char *where, const char *arg, size_t *ret_n);
/* HostConfig.NetworkMode, "default" when unset. */
const char *net_mode(NetContainer *c);
bool net_is_default_name(const char *m);

/* ---- ipam.c ---- */
/* Go's strconv.ParseBool: 1 or 0, -EINVAL. */
int net_parse_cidr(const char *s, struct in_addr *a, int *prefix);
uint32_t net_mask_of(int prefix);
bool net_in_subnet(struct in_addr a, struct in_addr net, int prefix);
char *net_ip_str(struct in_addr a);
/* The static address if it is free and valid, else the lowest free one. */
int net_ipam_alloc(Network *e, Net *n, const char *static_ip, struct in_addr *ret, BerthError **err);
/* IPv6: a.b::c/n, the prefix required when want_prefix. */
int net_parse_cidr6(const char *s, struct in6_addr *a, int *prefix, bool want_prefix);
bool net_in_subnet6(const struct in6_addr *a, const struct in6_addr *net, int prefix);
void net_mask6(struct in6_addr *a, int prefix);
char *net_ip6_str(const struct in6_addr *a);
/* The same on the network's IPv6 pool; *ret NULL (and 0) when the network has none. */
int net_ipam_alloc6(Network *e, Net *n, const char *static_ip, char **ret, BerthError **err);
/* Checks an endpoint's settings (EndpointsConfig / connect's EndpointConfig) against network n. */
int net_check_epcfg(Net *n, json_t *epcfg, BerthError **err);

/* ---- networks.c ---- */
/* Records bridge, host and none (and makes the default bridge follow --bip). */
int net_default_networks(Network *e, BerthError **err);

/* ---- netfiles.c ---- */
int net_write_text(const char *path, const char *s);
int net_write_resolv(Network *e, NetContainer *c, bool embedded, const char *path);
int net_write_hosts(Network *e, NetContainer *c, const char *path, const char *ip);

/* ---- ports.c ---- */
/* HostConfig.PortBindings (and PublishAllPorts) as a list of requests. */
int net_collect_ports(NetContainer *c, PortReq **ret, size_t *ret_n, BerthError **err);
/* NetworkSettings.Ports. */
json_t *net_ports_json(Network *e, NetContainer *c, bool running);

/* ---- endpoints.c ---- */
/* Stops proxies and DNS, deletes veths, clears addresses and ports. ns->lock held. */
void net_release_locked(Network *e, const char *cid);
