/* Shared between the files of src/network/. */
#pragma once

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "engine/engine.h"

typedef struct Proxy Proxy;
typedef struct Dns Dns;

typedef struct NetState {
        pthread_mutex_t lock;
        bool userland_proxy;
        Proxy *proxies;
        Dns *dns;
} NetState;

/* ---- nft.c ---- */
typedef struct NftNet {
        const char *bridge;
        char subnet[32]; /* a.b.c.d/n */
        bool internal;
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
int dns_start(Engine *e, NetState *ns);
void dns_stop(NetState *ns);
/* Opens 127.0.0.11:53 (udp, tcp) inside the container's netns nsfd. */
int dns_add_container(NetState *ns, const char *cid, int nsfd);
void dns_remove_container(NetState *ns, const char *cid);
/* Resolves an A name for the asking container; fills up to max addresses.
 * Returns the count, 0 when the name is not a container here. (network.c) */
int network_dns_lookup(Engine *e, const char *asker_cid, const char *name, struct in_addr *out, int max);
