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

/* Go's ParseCIDR takes a prefix of decimal digits only: no sign, no space, not empty. */
static bool prefix_digits(const char *s)
{
        return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 3;
}

int net_parse_cidr(const char *s, struct in_addr *a, int *prefix)
{
        if (!s)
                return -EINVAL;
        char buf[64];
        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        snprintf(buf, sizeof(buf), "%s", s);
        char *slash = strchr(buf, '/');
        int p = 32;
        if (slash) {
                *slash = 0;
                char *end;
                long v = strtol(slash + 1, &end, 10);
                if (!prefix_digits(slash + 1) || *end || v < 0 || v > 32)
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

int net_parse_cidr6(const char *s, struct in6_addr *a, int *prefix, bool want_prefix)
{
        if (!s)
                return -EINVAL;
        char buf[64];
        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        snprintf(buf, sizeof(buf), "%s", s);
        char *slash = strchr(buf, '/');
        int p = 128;
        if (slash) {
                *slash = 0;
                char *end;
                long v = strtol(slash + 1, &end, 10);
                if (!prefix_digits(slash + 1) || *end || v < 0 || v > 128)
                        return -EINVAL;
                p = (int) v;
        } else if (want_prefix)
                return -EINVAL;
        if (!strchr(buf, ':') || inet_pton(AF_INET6, buf, a) != 1)
                return -EINVAL;
        *prefix = p;
        return 0;
}

void net_mask6(struct in6_addr *a, int prefix)
{
        for (int i = 0; i < 16; i++) {
                int bits = prefix - i * 8;
                a->s6_addr[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
        }
}

bool net_in_subnet6(const struct in6_addr *a, const struct in6_addr *net, int prefix)
{
        struct in6_addr x = *a, y = *net;
        net_mask6(&x, prefix);
        net_mask6(&y, prefix);
        return memcmp(&x, &y, sizeof(x)) == 0;
}

char *net_ip6_str(const struct in6_addr *a)
{
        char b[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, a, b, sizeof(b));
        return xstrdup(b);
}

/* ---- IPAM ---- */

static bool aux_has(const char *aux, const char *ip);

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
                    ip_used(e, n->id, static_ip) || aux_has(n->aux, static_ip))
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
                        used = xrealloc(used, (nu + 1) * sizeof(*used));
                        used[nu++] = ntohl(a.s_addr);
                }
        }
        _cleanup_json_ json_t *aux = json_loads(n->aux ? n->aux : "{}", 0, NULL);
        {
                const char *k;
                json_t *v;
                json_object_foreach(aux, k, v) {
                        struct in_addr a;
                        if (json_is_string(v) && inet_pton(AF_INET, json_string_value(v), &a) == 1) {
                                used = xrealloc(used, (nu + 1) * sizeof(*used));
                                used[nu++] = ntohl(a.s_addr);
                        }
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

static bool ip6_used(Network *e, Net *n, const struct in6_addr *a)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT ip6 FROM endpoints WHERE network_id = ?1 AND ip6 IS NOT NULL", NULL);
        if (!st)
                return true;
        sqlite3_bind_text(st, 1, n->id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
                struct in6_addr b;
                if (inet_pton(AF_INET6, (const char *) sqlite3_column_text(st, 0), &b) == 1 && !memcmp(a, &b, sizeof(b)))
                        return true;
        }
        return false;
}

static bool aux_has(const char *aux, const char *ip)
{
        _cleanup_json_ json_t *o = json_loads(aux ? aux : "{}", 0, NULL);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) if (json_is_string(v) && streq(json_string_value(v), ip)) return true;
        return false;
}

int net_ipam_alloc6(Network *e, Net *n, const char *static_ip, char **ret, BerthError **err)
{
        *ret = NULL;
        if (!n->ipv6 || !n->has_subnet6) {
                if (static_ip)
                        return berr_set(err, EINVAL, "invalid address %s: It does not belong to any of this network's subnets",
                                        static_ip);
                return 0;
        }
        struct in6_addr a;
        if (static_ip) {
                if (inet_pton(AF_INET6, static_ip, &a) != 1)
                        return berr_set(err, EINVAL, "invalid IPv6 address: %s", static_ip);
                if (!net_in_subnet6(&a, &n->net6, n->prefix6))
                        return berr_set(err, EINVAL, "no configured subnet or ip-range contain the IP address %s", static_ip);
                if (!memcmp(&a, &n->gw6, sizeof(a)) || ip6_used(e, n, &a) || aux_has(n->aux6, static_ip))
                        return berr_set(err, EEXIST, "Address already in use");
                *ret = net_ip6_str(&a);
                return 0;
        }
        /* The lowest free address of the range (or subnet), searched in its last 16 bits. */
        struct in6_addr base = n->has_range6 ? n->range6 : n->net6;
        int bp = n->has_range6 ? n->range6_prefix : n->prefix6;
        net_mask6(&base, bp);
        uint32_t span = bp >= 128 ? 1 : bp >= 112 ? (1u << (128 - bp)) : 65536;
        for (uint32_t i = 1; i < span; i++) {
                a = base;
                uint32_t lo = ((uint32_t) a.s6_addr[14] << 8 | a.s6_addr[15]) + i;
                a.s6_addr[14] = (uint8_t) (lo >> 8);
                a.s6_addr[15] = (uint8_t) lo;
                if (!memcmp(&a, &n->gw6, sizeof(a)) || ip6_used(e, n, &a))
                        continue;
                _cleanup_free_ char *s = net_ip6_str(&a);
                if (aux_has(n->aux6, s))
                        continue;
                *ret = TAKE_PTR(s);
                return 0;
        }
        return berr_set(err, ENOSPC, "no available IPv6 addresses on this network's address pools: %s (%s)", n->name,
                        n->id);
}

static bool valid_mac(const char *s)
{
        unsigned m[6];
        char tail;
        return strlen(s) == 17 && sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &tail) == 6;
}

int net_check_epcfg(Net *n, json_t *epcfg, BerthError **err)
{
        if (!epcfg || json_is_null(epcfg))
                return 0;
        json_t *ipam = json_object_get(epcfg, "IPAMConfig");
        const char *v4 = json_str(ipam, "IPv4Address"), *v6 = json_str(ipam, "IPv6Address");
        struct in_addr a;
        struct in6_addr a6;
        if (v4 && *v4 && inet_pton(AF_INET, v4, &a) != 1)
                return berr_set(err, EINVAL, "invalid IPv4 address: %s", v4);
        if (v6 && *v6 && inet_pton(AF_INET6, v6, &a6) != 1)
                return berr_set(err, EINVAL, "invalid IPv6 address: %s", v6);
        if (((v4 && *v4) || (v6 && *v6)) && n && net_is_default_name(n->name))
                return berr_set(err, EINVAL, "user specified IP address is supported on user defined networks only");
        if (v6 && *v6 && n && (!n->ipv6 || !n->has_subnet6))
                return berr_set(err, EINVAL, "user specified IP address is supported only when connecting to networks "
                                             "with user configured subnets");
        json_t *ll = json_object_get(ipam, "LinkLocalIPs");
        size_t i;
        json_t *x;
        if (ll && !json_is_null(ll) && !json_is_array(ll))
                return berr_set(err, EINVAL, "LinkLocalIPs must be a list of addresses");
        json_array_foreach(ll, i, x) {
                const char *s = json_string_value(x);
                if (!s || (inet_pton(AF_INET, s, &a) != 1 && inet_pton(AF_INET6, s, &a6) != 1))
                        return berr_set(err, EINVAL, "invalid link-local IP address: %s", s ? s : "");
        }
        const char *mac = json_str(epcfg, "MacAddress");
        if (mac && *mac && !valid_mac(mac))
                return berr_set(err, EINVAL, "invalid MAC address: %s", mac);
        json_t *links = json_object_get(epcfg, "Links");
        if (links && !json_is_null(links) && !json_is_array(links))
                return berr_set(err, EINVAL, "Links must be a list of name:alias");
        json_array_foreach(links, i, x) {
                const char *s = json_string_value(x);
                if (!s || !*s)
                        return berr_set(err, EINVAL, "invalid link: %s", s ? s : "");
        }
        return 0;
}
