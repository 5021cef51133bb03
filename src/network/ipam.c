/* IPv4 addresses: CIDR parsing and address allocation on a network. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "state/events.h"
#include "netlink.h"
#include "network-internal.h"

int net_parse_cidr(const char *s, struct in_addr *a, int *prefix)
{
        if (!s)
                return -EINVAL;
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", s);
        char *slash = strchr(buf, '/');
        int p = 32;
        if (slash) {
                *slash = 0;
                char *end;
                long v = strtol(slash + 1, &end, 10);
                if (*end || v < 0 || v > 32)
                        return -EINVAL;
                p = (int) v;
        }
        if (inet_pton(AF_INET, buf, a) != 1)
                return -EINVAL;
        *prefix = p;
        return 0;
}

uint32_t net_mask_of(int prefix)
{
        return prefix ? ~0u << (32 - prefix) : 0;
}

bool net_in_subnet(struct in_addr a, struct in_addr net, int prefix)
{
        return (ntohl(a.s_addr) & net_mask_of(prefix)) == (ntohl(net.s_addr) & net_mask_of(prefix));
}

char *net_ip_str(struct in_addr a)
{
        char b[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, b, sizeof(b));
        return strdup(b);
}

/* ---- IPAM ---- */

static bool ip_used(Network *e, const char *nid, const char *ip)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT 1 FROM endpoints WHERE network_id = ?1 AND ip = ?2", NULL);
        if (!st)
                return true;
        sqlite3_bind_text(st, 1, nid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ip, -1, SQLITE_TRANSIENT);
        return sqlite3_step(st) == SQLITE_ROW;
}

int net_ipam_alloc(Network *e, Net *n, const char *static_ip, struct in_addr *ret, BerthError **err)
{
        if (!n->has_subnet)
                return berr_set(err, EINVAL, "network %s has no subnet", n->name);
        uint32_t base = ntohl(n->net.s_addr) & net_mask_of(n->prefix);
        uint32_t bcast = base | ~net_mask_of(n->prefix);
        if (static_ip) {
                struct in_addr a;
                if (inet_pton(AF_INET, static_ip, &a) != 1)
                        return berr_set(err, EINVAL, "invalid IPv4 address: %s", static_ip);
                if (!net_in_subnet(a, n->net, n->prefix))
                        return berr_set(err, EINVAL, "no configured subnet or ip-range contain the IP address %s",
                                        static_ip);
                if (a.s_addr == n->gw.s_addr || ntohl(a.s_addr) == base || ntohl(a.s_addr) == bcast ||
                    ip_used(e, n->id, static_ip))
                        return berr_set(err, EEXIST, "Address already in use");
                *ret = a;
                return 0;
        }
        uint32_t lo = base + 1, hi = bcast - 1;
        if (n->has_range) {
                uint32_t rb = ntohl(n->range.s_addr) & net_mask_of(n->range_prefix);
                lo = rb > lo ? rb : lo;
                uint32_t rh = rb | ~net_mask_of(n->range_prefix);
                hi = rh < hi ? rh : hi;
                if (rb == lo && lo == (ntohl(n->range.s_addr) & net_mask_of(n->range_prefix)) && lo == base)
                        lo = base + 1;
        }
        /* The set of used addresses, then the lowest free one. */
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT ip FROM endpoints WHERE network_id = ? AND ip IS NOT NULL", NULL);
        if (!st)
                return berr_set(err, EIO, "state store error");
        sqlite3_bind_text(st, 1, n->id, -1, SQLITE_TRANSIENT);
        uint32_t *used = NULL;
        size_t nu = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
                struct in_addr a;
                if (inet_pton(AF_INET, (const char *) sqlite3_column_text(st, 0), &a) == 1) {
                        used = realloc(used, (nu + 1) * sizeof(*used));
                        used[nu++] = ntohl(a.s_addr);
                }
        }
        for (uint32_t x = lo; x <= hi && x >= lo; x++) {
                if (x == ntohl(n->gw.s_addr))
                        continue;
                bool taken = false;
                for (size_t i = 0; i < nu && !taken; i++)
                        taken = used[i] == x;
                if (!taken) {
                        free(used);
                        ret->s_addr = htonl(x);
                        return 0;
                }
        }
        free(used);
        return berr_set(err, ENOSPC, "no available IPv4 addresses on this network's address pools: %s (%s)", n->name,
                        n->id);
}
