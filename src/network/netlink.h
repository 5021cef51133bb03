/* rtnetlink through libmnl: links (bridge, veth), addresses, routes. Every
 * function works in the network namespace of the calling thread; use
 * netns_run() to act inside another one. Return -errno. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs fn(arg) on a short-lived thread that has joined the network namespace
 * nsfd, and returns what fn returned (or -errno if the join failed). */
int netns_run(int nsfd, int (*fn)(void *arg), void *arg);

int nl_link_index(const char *name); /* 0 when absent (< 0 on error) */
int nl_bridge_add(const char *name, unsigned mtu, const uint8_t mac[6]);
/* Creates host <-> peer, the peer created directly inside the namespace nsfd
 * under peer_name with peer_mac (NULL: random); the host side is enslaved to
 * master_index and brought up. */
int nl_veth_add(const char *host, const char *peer_name, int nsfd, const uint8_t *peer_mac, unsigned mtu,
                int master_index);
int nl_link_del(const char *name);
int nl_link_del_index(int ifindex); /* by index: safe when the name may have been reused since */
int nl_link_up(int ifindex);
int nl_addr_add(int ifindex, struct in_addr addr, int prefix);
int nl_addr_del(int ifindex, struct in_addr addr, int prefix);
int nl_route_default(struct in_addr gw, int ifindex);
/* IPv6: the address is added without duplicate address detection (usable at once, as Docker's). */
int nl_addr6_add(int ifindex, const struct in6_addr *addr, int prefix);
int nl_addr6_del(int ifindex, const struct in6_addr *addr, int prefix);
int nl_route6_default(const struct in6_addr *gw, int ifindex);

/* Lists link names (callback per link with its name, kind "veth"/"bridge"/"" and master index). */
typedef void (*NlLinkFn)(void *arg, const char *name, int ifindex, const char *kind, int master);
int nl_link_list(NlLinkFn fn, void *arg);
