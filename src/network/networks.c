/* The networks themselves: default networks, create, list, inspect, remove,
 * prune. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "state/events.h"
#include "netlink.h"
#include "network-internal.h"

static char *bridge_name_for(const char *id, const char *name)
{
        if (streq(name, "bridge"))
                return strdup("berth0");
        return xasprintf("berth-%.9s", id);
}

/* ---- default networks ---- */

static int insert_net(Network *e, const char *id, const char *name, const char *driver, const char *subnet,
                      const char *gw, const char *range, bool internal, bool attachable, const char *labels,
                      const char *options)
{
        _cleanup_free_ char *br = streq(driver, "bridge") ? bridge_name_for(id, name) : NULL;
        _cleanup_free_ char *created = xasprintf("%lld", (long long) now_ns());
        return SQL(e,
                   "INSERT INTO networks (id, name, driver, subnet, gateway, ip_range, internal, attachable, labels, "
                   "options, bridge, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                   id, name, driver, subnet, gw, range, internal ? "1" : "0", attachable ? "1" : "0",
                   labels ? labels : "{}", options ? options : "{}", br, created);
}

int net_default_networks(Network *e, BerthError **err)
{
        const char *bip = e->bip && *e->bip ? e->bip : "172.17.0.1/16";
        struct in_addr a;
        int prefix;
        if (net_parse_cidr(bip, &a, &prefix) < 0 || prefix > 30)
                return berr_set(err, EINVAL, "invalid --bip %s", bip);
        struct in_addr base = { .s_addr = htonl(ntohl(a.s_addr) & net_mask_of(prefix)) };
        _cleanup_free_ char *b = net_ip_str(base), *g = net_ip_str(a);
        _cleanup_free_ char *subnet = xasprintf("%s/%d", b, prefix);
        const char *names[] = { "bridge", "host", "none" }, *drivers[] = { "bridge", "host", "null" };
        for (size_t i = 0; i < 3; i++) {
                _cleanup_net_ Net *n = net_find(e, names[i], NULL);
                if (n) {
                        /* --bip may change between runs: the default bridge follows it. */
                        if (i == 0 && (!n->subnet_s || !streq(n->subnet_s, subnet) || !n->gw_s || !streq(n->gw_s, g))) {
                                if (n->has_subnet && n->bridge) {
                                        int idx = nl_link_index(n->bridge);
                                        if (idx > 0)
                                                nl_addr_del(idx, n->gw, n->prefix);
                                }
                                SQL(e, "UPDATE networks SET subnet = ?1, gateway = ?2 WHERE id = ?3", subnet, g, n->id);
                        }
                        continue;
                }
                char id[65];
                random_hex_id(id);
                const char *opts = i == 0 ? "{\"com.docker.network.bridge.default_bridge\":\"true\","
                                            "\"com.docker.network.bridge.enable_icc\":\"true\","
                                            "\"com.docker.network.bridge.enable_ip_masquerade\":\"true\","
                                            "\"com.docker.network.bridge.host_binding_ipv4\":\"0.0.0.0\","
                                            "\"com.docker.network.bridge.name\":\"berth0\","
                                            "\"com.docker.network.driver.mtu\":\"1500\"}"
                                          : "{}";
                int r = insert_net(e, id, names[i], drivers[i], i == 0 ? subnet : NULL, i == 0 ? g : NULL, NULL,
                                   false, false, "{}", opts);
                if (r < 0)
                        return berr_set(err, -r, "cannot record network %s", names[i]);
        }
        return 0;
}

/* ---- verbs ---- */

static bool builtin(Net *n)
{
        return streq(n->name, "bridge") || streq(n->name, "host") || streq(n->name, "none");
}

/* A pool's AuxiliaryAddresses, from its stored JSON text, when it has any. */
static void set_aux_addresses(json_t *pool, const char *aux_text)
{
        json_t *aux = json_loads(aux_text ? aux_text : "{}", 0, NULL);
        if (json_object_size(aux))
                json_object_set_new(pool, "AuxiliaryAddresses", aux);
        else
                json_decref(aux);
}

/* 2^bits, saturating where JSON's (signed) integers end */
static json_int_t pow2_sat(int bits)
{
        return bits >= 63 ? INT64_MAX : (json_int_t) 1 << bits;
}

static bool in4(const char *ip, struct in_addr net, int prefix)
{
        struct in_addr a;
        return ip && inet_pton(AF_INET, ip, &a) == 1 &&
               (ntohl(a.s_addr) & net_mask_of(prefix)) == (ntohl(net.s_addr) & net_mask_of(prefix));
}

static bool in6(const char *ip, const struct in6_addr *net, int prefix)
{
        struct in6_addr a;
        if (!ip || inet_pton(AF_INET6, ip, &a) != 1)
                return false;
        for (int i = 0; i < 16 && prefix > 0; i++, prefix -= 8) {
                unsigned char m = (unsigned char) (prefix >= 8 ? 0xff : 0xff << (8 - prefix));
                if ((a.s6_addr[i] & m) != (net->s6_addr[i] & m))
                        return false;
        }
        return true;
}

/* Status.IPAM of network inspect (1.52): per subnet, the addresses taken or reserved (the network
 * address, IPv4's broadcast address, the gateway, auxiliary addresses, endpoints) and those left to
 * allocate in its dynamic range. */
static json_t *ipam_status(Net *n, const Ep *eps, size_t ne)
{
        json_t *subnets = json_object();
        if (n->has_subnet) {
                struct in_addr rnet = n->has_range ? n->range : n->net;
                int rprefix = n->has_range ? n->range_prefix : n->prefix;
                json_int_t used = n->prefix <= 30 ? 3 : 1, range_used = 0;
                _cleanup_free_ char *gw = net_ip_str(n->gw);
                if (in4(gw, rnet, rprefix))
                        range_used++;
                if (!n->has_range && n->prefix <= 30)
                        range_used += 2; /* the network and broadcast addresses */
                _cleanup_json_ json_t *aux = json_loads(n->aux ? n->aux : "{}", 0, NULL);
                const char *k;
                json_t *v;
                json_object_foreach(aux, k, v) {
                        used++;
                        range_used += in4(json_string_value(v), rnet, rprefix);
                }
                for (size_t i = 0; i < ne; i++)
                        if (in4(eps[i].ip, n->net, n->prefix)) {
                                used++;
                                range_used += in4(eps[i].ip, rnet, rprefix);
                        }
                struct in_addr base = { .s_addr = htonl(ntohl(n->net.s_addr) & net_mask_of(n->prefix)) };
                _cleanup_free_ char *b = net_ip_str(base);
                _cleanup_free_ char *sub = xasprintf("%s/%d", b, n->prefix);
                json_int_t avail = pow2_sat(32 - rprefix) - range_used;
                json_object_set_new(subnets, sub, json_pack("{s:I,s:I}", "IPsInUse", used, "DynamicIPsAvailable",
                                                            avail > 0 ? avail : 0));
        }
        if (n->has_subnet6 && n->subnet6_s) {
                const struct in6_addr *rnet = n->has_range6 ? &n->range6 : &n->net6;
                int rprefix = n->has_range6 ? n->range6_prefix : n->prefix6;
                json_int_t used = 2, range_used = n->has_range6 ? 0 : 1; /* the network address, the gateway */
                char gw[INET6_ADDRSTRLEN];
                if (inet_ntop(AF_INET6, &n->gw6, gw, sizeof(gw)) && in6(gw, rnet, rprefix))
                        range_used++;
                _cleanup_json_ json_t *aux = json_loads(n->aux6 ? n->aux6 : "{}", 0, NULL);
                const char *k;
                json_t *v;
                json_object_foreach(aux, k, v) {
                        used++;
                        range_used += in6(json_string_value(v), rnet, rprefix);
                }
                for (size_t i = 0; i < ne; i++)
                        if (in6(eps[i].ip6, &n->net6, n->prefix6)) {
                                used++;
                                range_used += in6(eps[i].ip6, rnet, rprefix);
                        }
                json_int_t size = pow2_sat(128 - rprefix);
                json_int_t avail = size == INT64_MAX ? size : size - range_used;
                json_object_set_new(subnets, n->subnet6_s, json_pack("{s:I,s:I}", "IPsInUse", used,
                                                                     "DynamicIPsAvailable", avail > 0 ? avail : 0));
        }
        return json_pack("{s:{s:o}}", "IPAM", "Subnets", subnets);
}

static json_t *net_json(Network *e, Net *n)
{
        _cleanup_free_ char *created = format_rfc3339(n->created, true);
        json_t *cfg = json_array();
        if (n->has_subnet) {
                struct in_addr base = { .s_addr = htonl(ntohl(n->net.s_addr) & net_mask_of(n->prefix)) };
                _cleanup_free_ char *b = net_ip_str(base), *g = net_ip_str(n->gw);
                _cleanup_free_ char *sub = xasprintf("%s/%d", b, n->prefix);
                json_t *c = json_pack("{s:s,s:s}", "Subnet", sub, "Gateway", g);
                if (n->range_s)
                        json_object_set_new(c, "IPRange", json_string(n->range_s));
                set_aux_addresses(c, n->aux);
                json_array_append_new(cfg, c);
        }
        if (n->subnet6_s) {
                json_t *c = json_pack("{s:s}", "Subnet", n->subnet6_s);
                if (n->range6_s)
                        json_object_set_new(c, "IPRange", json_string(n->range6_s));
                if (n->gw6_s)
                        json_object_set_new(c, "Gateway", json_string(n->gw6_s));
                set_aux_addresses(c, n->aux6);
                json_array_append_new(cfg, c);
        }
        json_t *containers = json_object();
        size_t ne;
        Ep *eps = net_eps_query(e, "network_id = ?1 AND ip IS NOT NULL", n->id, &ne);
        for (size_t i = 0; i < ne; i++) {
                _cleanup_free_ char *v4 = xasprintf("%s/%d", eps[i].ip, n->prefix);
                _cleanup_free_ char *v6 = eps[i].ip6 ? xasprintf("%s/%d", eps[i].ip6, n->prefix6) : xstrdup("");
                json_object_set_new(containers, eps[i].cid,
                                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", eps[i].name ? eps[i].name : "",
                                              "EndpointID", eps[i].endpoint_id ? eps[i].endpoint_id : "", "MacAddress",
                                              eps[i].mac ? eps[i].mac : "", "IPv4Address", v4, "IPv6Address", v6));
        }
        net_eps_free(eps, ne);
        json_t *labels = json_loads(n->labels ? n->labels : "{}", 0, NULL);
        json_t *opts = json_loads(n->options ? n->options : "{}", 0, NULL);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:{s:s,s:n,s:o},s:b,s:b,s:b,s:{s:s},s:b,s:o,s:o,s:o}",
                         "Name", n->name, "Id", n->id, "Created", created, "Scope", "local", "Driver", n->driver,
                         "EnableIPv4", true, "EnableIPv6", n->ipv6, "IPAM", "Driver", "default", "Options", "Config", cfg, "Internal",
                         n->internal, "Attachable", n->attachable, "Ingress", false, "ConfigFrom", "Network", "",
                         "ConfigOnly", false, "Containers", containers, "Options", opts ? opts : json_object(), "Labels",
                         labels ? labels : json_object());
}

static bool subnet_overlaps(Network *e, struct in_addr a, int prefix)
{
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        bool over = false;
        for (size_t i = 0; i < nn && !over; i++) {
                if (!nets[i]->has_subnet)
                        continue;
                int p = prefix < nets[i]->prefix ? prefix : nets[i]->prefix;
                over = net_in_subnet(a, nets[i]->net, p);
        }
        net_list_free(nets, nn);
        return over;
}

/* Options of Docker's bridge driver that berth honours; any other is refused rather than stored and ignored. */
static int check_options(json_t *opts, bool *ipv6, BerthError **err)
{
        if (opts && !json_is_null(opts) && !json_is_object(opts))
                return berr_set(err, EINVAL, "network options must be an object");
        const char *k;
        json_t *v;
        json_object_foreach(opts, k, v) {
                const char *s = json_string_value(v);
                if (!s)
                        return berr_set(err, EINVAL, "network option %s: the value must be a string", k);
                if (streq(k, "com.docker.network.bridge.name")) {
                        if (!*s || strlen(s) >= IFNAMSIZ || strchr(s, '/') || strpbrk(s, " \t\n:") ||
                            streq(s, ".") || streq(s, ".."))
                                return berr_set(err, EINVAL, "invalid bridge name: %s", s);
                        if (nl_link_index(s) > 0)
                                return berr_set(err, EEXIST, "bridge %s already exists on the host", s);
                } else if (streq(k, "com.docker.network.driver.mtu")) {
                        char *end;
                        errno = 0;
                        long m = strtol(s, &end, 10);
                        if (!*s || *end || errno)
                                return berr_set(err, EINVAL, "failed to parse %s value: %s (strconv.Atoi: parsing \"%s\": "
                                                             "invalid syntax)", k, s, s);
                        if (m < 68 || m > 65535)
                                return berr_set(err, EINVAL, "invalid MTU number: %ld", m);
                } else if (streq(k, "com.docker.network.bridge.enable_ip_masquerade") ||
                           streq(k, "com.docker.network.bridge.enable_icc") || streq(k, "com.docker.network.enable_ipv6")) {
                        int b = go_parse_bool(s);
                        if (b < 0)
                                return berr_set(err, EINVAL, "failed to parse %s value: %s (strconv.ParseBool: parsing "
                                                             "\"%s\": invalid syntax)", k, s, s);
                        if (streq(k, "com.docker.network.bridge.enable_icc") && !b)
                                return berr_set(err, ENOTSUP, "network option %s=false is not supported by berth", k);
                        if (streq(k, "com.docker.network.enable_ipv6") && b)
                                *ipv6 = true;
                } else if (streq(k, "com.docker.network.bridge.host_binding_ipv4")) {
                        struct in_addr a;
                        if (inet_pton(AF_INET, s, &a) != 1)
                                return berr_set(err, EINVAL, "failed to parse %s value: %s", k, s);
                        if (a.s_addr != 0)
                                return berr_set(err, ENOTSUP, "network option %s other than 0.0.0.0 is not supported by berth",
                                                k);
                } else
                        return berr_set(err, ENOTSUP, "network option %s is not supported by berth", k);
        }
        return 0;
}

/* One IPAM pool as given: subnet, range, gateway, auxiliary addresses. */
typedef struct Pool {
        json_t *cfg;
        const char *subnet, *range, *gw;
        json_t *aux;
} Pool;

static int split_pools(json_t *ipam, Pool *v4, Pool *v6, BerthError **err)
{
        const char *drv = json_str(ipam, "Driver");
        if (drv && *drv && !streq(drv, "default"))
                return berr_set(err, ENOTSUP, "IPAM driver %s is not supported by berth (only \"default\")", drv);
        json_t *o = json_object_get(ipam, "Options");
        if (json_object_size(o))
                return berr_set(err, ENOTSUP, "IPAM options are not supported by berth");
        json_t *cfgs = json_object_get(ipam, "Config");
        size_t i;
        json_t *c;
        json_array_foreach(cfgs, i, c) {
                Pool p = { c, json_str(c, "Subnet"), json_str(c, "IPRange"), json_str(c, "Gateway"),
                           json_object_get(c, "AuxiliaryAddresses") };
                if (p.subnet && !*p.subnet)
                        p.subnet = NULL;
                if (p.range && !*p.range)
                        p.range = NULL;
                if (p.gw && !*p.gw)
                        p.gw = NULL;
                const char *any = p.subnet ? p.subnet : p.range ? p.range : p.gw;
                if (!p.subnet && (p.range || p.gw || json_object_size(p.aux)))
                        return berr_set(err, EINVAL, "invalid pool request: a subnet is required with an ip-range, "
                                                     "a gateway or auxiliary addresses");
                bool six = any && strchr(any, ':');
                Pool *dst = six ? v6 : v4;
                if (dst->cfg)
                        return berr_set(err, ENOTSUP, "berth supports one IPv4 and one IPv6 pool per network");
                *dst = p;
        }
        return 0;
}

static int check_aux(json_t *aux, bool six, const void *net, int prefix, const char *subnet, BerthError **err)
{
        if (aux && !json_is_null(aux) && !json_is_object(aux))
                return berr_set(err, EINVAL, "AuxiliaryAddresses must be an object");
        const char *k;
        json_t *v;
        json_object_foreach(aux, k, v) {
                const char *s = json_string_value(v);
                struct in_addr a;
                struct in6_addr a6;
                bool ok = s && (six ? inet_pton(AF_INET6, s, &a6) == 1 && net_in_subnet6(&a6, net, prefix)
                                    : inet_pton(AF_INET, s, &a) == 1 && net_in_subnet(a, *(const struct in_addr *) net, prefix));
                if (!ok)
                        return berr_set(err, EINVAL, "auxiliary address: (%s:%s) must belong to the master pool: %s", k,
                                        s ? s : "", subnet);
        }
        return 0;
}

static bool subnet6_overlaps(Network *e, const struct in6_addr *a, int prefix)
{
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        bool over = false;
        for (size_t i = 0; i < nn && !over; i++)
                if (nets[i]->has_subnet6)
                        over = net_in_subnet6(a, &nets[i]->net6, prefix < nets[i]->prefix6 ? prefix : nets[i]->prefix6);
        net_list_free(nets, nn);
        return over;
}

/* The IPv6 pool: validated; gateway defaults to the subnet's first address. ns->lock held. */
static int check_pool6(Network *e, Pool *p, bool enabled, char **ret_gw, BerthError **err)
{
        struct in6_addr a, g, r;
        int prefix, gp, rp;
        if (net_parse_cidr6(p->subnet, &a, &prefix, true) < 0)
                return berr_set(err, EINVAL, "invalid subnet %s: invalid CIDR address: %s", p->subnet, p->subnet);
        if (prefix > 126)
                return berr_set(err, EINVAL, "invalid subnet %s: the prefix must be at most /126", p->subnet);
        if (subnet6_overlaps(e, &a, prefix))
                return berr_set(err, EPERM, "Pool overlaps with other one on this address space");
        if (p->range && (net_parse_cidr6(p->range, &r, &rp, true) < 0 || rp < prefix || !net_in_subnet6(&r, &a, prefix)))
                return berr_set(err, EINVAL, "invalid ip-range %s: not in subnet %s", p->range, p->subnet);
        if (p->gw) {
                if (net_parse_cidr6(p->gw, &g, &gp, false) < 0)
                        return berr_set(err, EINVAL, "invalid gateway %s", p->gw);
                if (!net_in_subnet6(&g, &a, prefix))
                        return berr_set(err, EINVAL, "failed to allocate gateway (%s): Requested address is out of range",
                                        p->gw);
        }
        int q = check_aux(p->aux, true, &a, prefix, p->subnet, err);
        if (q < 0)
                return q;
        if (p->gw)
                *ret_gw = xstrdup(p->gw);
        else if (enabled) {
                g = a;
                net_mask6(&g, prefix);
                g.s6_addr[15] |= 1;
                *ret_gw = net_ip6_str(&g);
        }
        return 0;
}

static const JsonFieldType create_fields[] = {
        { "Name", JT_STR }, { "CheckDuplicate", JT_BOOL }, { "Driver", JT_STR }, { "Scope", JT_STR },
        { "Internal", JT_BOOL }, { "Attachable", JT_BOOL }, { "Ingress", JT_BOOL }, { "ConfigOnly", JT_BOOL },
        { "ConfigFrom", JT_OBJ }, { "IPAM", JT_OBJ }, { "EnableIPv4", JT_BOOL }, { "EnableIPv6", JT_BOOL },
        { "Options", JT_STRMAP }, { "Labels", JT_STRMAP },
};
static const JsonFieldType ipam_fields[] = {
        { "Driver", JT_STR }, { "Config", JT_ARR }, { "Options", JT_STRMAP },
};
static const JsonFieldType ipam_config_fields[] = {
        { "Subnet", JT_STR }, { "IPRange", JT_STR }, { "Gateway", JT_STR }, { "AuxiliaryAddresses", JT_STRMAP },
};

/* Wrongly typed fields are Docker's 400 (json.Unmarshal), not silently dropped. */
static int check_create_types(json_t *body, BerthError **err)
{
        const JsonFieldType *bad = json_check_fields(body, create_fields, ELEMENTSOF(create_fields));
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field CreateRequest.%s",
                                json_kind(json_object_get(body, bad->key)), bad->key);
        json_t *ipam = json_object_get(body, "IPAM");
        bad = json_check_fields(ipam, ipam_fields, ELEMENTSOF(ipam_fields));
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field IPAM.IPAM.%s",
                                json_kind(json_object_get(ipam, bad->key)), bad->key);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(ipam, "Config"), i, c) {
                if (!json_is_object(c))
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field IPAM.IPAM.Config "
                                        "of type network.IPAMConfig", json_kind(c));
                bad = json_check_fields(c, ipam_config_fields, ELEMENTSOF(ipam_config_fields));
                if (bad)
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                        "IPAMConfig.IPAM.Config.%s", json_kind(json_object_get(c, bad->key)), bad->key);
        }
        return 0;
}

int network_create(Network *e, json_t *body, json_t **ret, BerthError **err)
{
        int tr = check_create_types(body, err);
        if (tr < 0)
                return tr;
        json_t *v4 = json_object_get(body, "EnableIPv4");
        if (json_is_false(v4))
                return berr_set(err, EINVAL, "EnableIPv4=false is not supported by berth: every network has IPv4");
        NetState *ns = NS(e);
        const char *name = json_str(body, "Name");
        if (!name || !*name)
                return berr_set(err, EINVAL, "network name is required");
        const char *driver = json_str(body, "Driver");
        if (!driver || !*driver)
                driver = "bridge";
        if (streq(driver, "host") || streq(driver, "null"))
                return berr_set(err, EPERM, "only one instance of \"%s\" network is allowed", driver);
        if (!streq(driver, "bridge"))
                return berr_set(err, ENOENT, "plugin \"%s\" not found", driver);
        json_t *opts = json_object_get(body, "Options");
        json_t *labels = json_object_get(body, "Labels");
        bool ipv6 = json_bool(body, "EnableIPv6");
        int r = check_options(opts, &ipv6, err);
        if (r < 0)
                return r;
        Pool p4 = { 0 }, p6 = { 0 };
        r = split_pools(json_object_get(body, "IPAM"), &p4, &p6, err);
        if (r < 0)
                return r;
        if (ipv6 && !p6.cfg)
                /* dockerd answers pool exhaustion with 404 */
                return berr_set(err, ENOENT, "could not find an available, non-overlapping IPv6 address pool "
                                "among the defaults to assign to the network");
        const char *subnet = p4.subnet, *gw = p4.gw, *range = p4.range;

        _cleanup_free_ char *subnet_s = NULL, *gw_s = NULL, *ls = NULL, *os = NULL, *gw6 = NULL, *aux = NULL,
                            *aux6 = NULL;
        pthread_mutex_lock(&ns->lock);
        {
                _cleanup_net_ Net *dup = net_find(e, name, NULL);
                if (dup && streq(dup->name, name)) {
                        r = berr_set(err, EEXIST, "network with name %s already exists", name);
                        goto out;
                }
        }
        struct in_addr a, g;
        int prefix, gp;
        if (subnet && *subnet) {
                if (net_parse_cidr(subnet, &a, &prefix) < 0 || !strchr(subnet, '/') || prefix > 30) {
                        r = berr_set(err, EINVAL, "invalid subnet %s: invalid CIDR address: %s", subnet, subnet);
                        goto out;
                }
                if (subnet_overlaps(e, a, prefix)) {
                        r = berr_set(err, EPERM, "Pool overlaps with other one on this address space");
                        goto out;
                }
        } else {
                bool found = false;
                for (int i = 17; i <= 31 && !found; i++) {
                        a.s_addr = htonl((172u << 24) | ((unsigned) i << 16));
                        prefix = 16;
                        found = !subnet_overlaps(e, a, prefix);
                }
                for (int i = 0; i < 256 && !found; i += 16) {
                        a.s_addr = htonl((192u << 24) | (168u << 16) | ((unsigned) i << 8));
                        prefix = 20;
                        found = !subnet_overlaps(e, a, prefix);
                }
                if (!found) {
                        r = berr_set(err, ENOENT, "could not find an available, non-overlapping IPv4 address pool "
                                                  "among the defaults to assign to the network");
                        goto out;
                }
        }
        a.s_addr = htonl(ntohl(a.s_addr) & net_mask_of(prefix));
        if (gw && *gw) {
                if (net_parse_cidr(gw, &g, &gp) < 0) {
                        r = berr_set(err, EINVAL, "invalid gateway %s", gw);
                        goto out;
                }
                if (!net_in_subnet(g, a, prefix)) {
                        r = berr_set(err, EINVAL, "failed to allocate gateway (%s): Requested address is out of range", gw);
                        goto out;
                }
        } else
                g.s_addr = htonl(ntohl(a.s_addr) + 1);
        if (range && *range) {
                struct in_addr ra;
                int rp;
                if (net_parse_cidr(range, &ra, &rp) < 0 || rp < prefix || !net_in_subnet(ra, a, prefix)) {
                        r = berr_set(err, EINVAL, "invalid ip-range %s: not in subnet", range);
                        goto out;
                }
        }
        {
                _cleanup_free_ char *b = net_ip_str(a);
                subnet_s = xasprintf("%s/%d", b, prefix);
                gw_s = net_ip_str(g);
        }
        r = check_aux(p4.aux, false, &a, prefix, subnet_s, err);
        if (r < 0)
                goto out;
        if (p6.cfg) {
                r = check_pool6(e, &p6, ipv6, &gw6, err);
                if (r < 0)
                        goto out;
        }
        aux = json_object_size(p4.aux) ? json_dumps(p4.aux, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
        aux6 = json_object_size(p6.aux) ? json_dumps(p6.aux, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
        char id[65];
        random_hex_id(id);
        ls = json_is_object(labels) ? json_dumps(labels, JSON_COMPACT) : strdup("{}");
        os = json_is_object(opts) ? json_dumps(opts, JSON_COMPACT) : strdup("{}");
        r = insert_net(e, id, name, "bridge", subnet_s, gw_s, range && *range ? range : NULL, json_bool(body, "Internal"),
                       json_bool(body, "Attachable"), ls, os);
        if (r < 0) {
                r = berr_set(err, r == -EEXIST ? EEXIST : EIO, "network with name %s already exists", name);
                goto out;
        }
        if (SQL(e, "UPDATE networks SET ipv6 = ?1, subnet6 = ?2, gateway6 = ?3, ip_range6 = ?4, aux = ?5, aux6 = ?6 "
                   "WHERE id = ?7",
                ipv6 ? "1" : "0", p6.subnet, gw6, p6.range, aux, aux6, id) < 0) {
                SQL(e, "DELETE FROM networks WHERE id = ?", id);
                r = berr_set(err, EIO, "cannot record network %s", name);
                goto out;
        }
        const char *brname = json_str(opts, "com.docker.network.bridge.name");
        if (brname && *brname && strlen(brname) < IFNAMSIZ)
                SQL(e, "UPDATE networks SET bridge = ?1 WHERE id = ?2", brname, id);
        /* A crash here leaves a row without its bridge: network_start makes the bridges of all rows. */
        crash_point("network-create-after-record");
        {
                _cleanup_net_ Net *n = net_find(e, id, NULL);
                r = n ? net_bridge_ensure(n, ns->userland_proxy, err) : berr_set(err, EIO, "network vanished");
                if (r == 0)
                        r = net_apply_rules(e, err);
                if (r < 0) {
                        if (n && n->bridge)
                                nl_link_del(n->bridge);
                        SQL(e, "DELETE FROM networks WHERE id = ?", id);
                        goto out;
                }
        }
        *ret = json_pack("{s:s,s:s}", "Id", id, "Warning", "");
        events_network(e->events, id, name, "bridge", "create", NULL);
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}

static bool any_str(json_t *arr, bool (*pred)(const char *want, void *ctx), void *ctx)
{
        if (!json_is_array(arr))
                return true;
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x) if (json_is_string(x) && pred(json_string_value(x), ctx)) return true;
        return false;
}

static bool m_driver(const char *w, void *n) { return streq(((Net *) n)->driver, w); }
static bool m_type(const char *w, void *n)
{
        return streq(w, "builtin") ? builtin(n) : streq(w, "custom") ? !builtin(n) : false;
}
static bool m_label(const char *w, void *n)
{
        _cleanup_json_ json_t *l = json_loads(((Net *) n)->labels ? ((Net *) n)->labels : "{}", 0, NULL);
        const char *eq = strchr(w, '=');
        _cleanup_free_ char *k = eq ? strndup(w, (size_t) (eq - w)) : strdup(w);
        json_t *v = json_object_get(l, k);
        if (!v)
                return false;
        return !eq || (json_is_string(v) && streq(json_string_value(v), eq + 1));
}

static bool m_scope(const char *w, void *n) { return streq(w, "local"); }

static bool net_in_use(Network *e, const char *nid)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT 1 FROM endpoints WHERE network_id = ? AND ip IS NOT NULL", NULL);
        if (!st)
                return true;
        sqlite3_bind_text(st, 1, nid, -1, SQLITE_TRANSIENT);
        return sqlite3_step(st) == SQLITE_ROW;
}

static bool net_matches(Network *e, Net *n, json_t *filters, BerthError **err)
{
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v) {
                if (streq(k, "name")) {
                        if (!json_filter_match(v, n->name))
                                return false;
                } else if (streq(k, "id")) {
                        /* as moby's IDAlsoMatchesName: an id term matches names too */
                        if (!json_filter_match(v, n->id) && !json_filter_match(v, n->name))
                                return false;
                } else if (streq(k, "driver")) {
                        if (!any_str(v, m_driver, n))
                                return false;
                } else if (streq(k, "type")) {
                        if (!any_str(v, m_type, n))
                                return false;
                } else if (streq(k, "label")) {
                        size_t i;
                        json_t *x;
                        json_array_foreach(v, i, x) if (json_is_string(x) && !m_label(json_string_value(x), n)) return false;
                } else if (streq(k, "dangling")) {
                        const char *d = json_string_value(json_array_get(v, 0));
                        bool want = streq(d, "true") || streq(d, "1");
                        bool dangling = !builtin(n) && !net_in_use(e, n->id);
                        if (want != dangling)
                                return false;
                } else if (streq(k, "scope")) {
                        if (!any_str(v, m_scope, n))
                                return false;
                } else {
                        berr_set(err, EINVAL, "invalid filter '%s'", k);
                        return false;
                }
        }
        return true;
}

int network_list(Network *e, json_t *filters, json_t **ret, BerthError **err)
{
        /* the values moby's network filter refuses, in its words and statuses */
        json_t *dv = json_object_get(filters, "dangling");
        if (json_array_size(dv) > 1)
                return berr_set(err, EINVAL, "got more than one value for filter key \"dangling\"");
        const char *d = json_string_value(json_array_get(dv, 0));
        if (d && !streq(d, "true") && !streq(d, "1") && !streq(d, "false") && !streq(d, "0"))
                return berr_set(err, EINVAL, "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or "
                                "\"false\" (or \"0\")");
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(filters, "type"), k, x) {
                const char *t = json_string_value(x);
                if (!streq(t, "builtin") && !streq(t, "custom"))
                        return berr_set(err, EIO, "invalid filter: 'type'='%s'", t);
        }
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        json_t *out = json_array();
        for (size_t i = 0; i < nn; i++) {
                BerthError *ferr = NULL;
                bool m = net_matches(e, nets[i], filters, &ferr);
                if (ferr) {
                        *err = ferr;
                        json_decref(out);
                        net_list_free(nets, nn);
                        return -ferr->code;
                }
                if (m)
                        json_array_append_new(out, net_json(e, nets[i]));
        }
        net_list_free(nets, nn);
        *ret = out;
        return 0;
}

int network_inspect(Network *e, const char *ref, json_t **ret, BerthError **err)
{
        _cleanup_net_ Net *n = NULL;
        int r = net_get(e, ref, &n, err);
        if (r < 0)
                return r;
        *ret = net_json(e, n);
        size_t ne;
        Ep *eps = net_eps_query(e, "network_id = ?1", n->id, &ne);
        json_object_set_new(*ret, "Status", ipam_status(n, eps, ne));
        net_eps_free(eps, ne);
        return 0;
}

static int remove_locked(Network *e, Net *n, BerthError **err)
{
        if (builtin(n))
                return berr_set(err, EPERM, "%s is a pre-defined network and cannot be removed", n->name);
        if (net_in_use(e, n->id))
                return berr_set(err, EBUSY, "error while removing network: network %s id %s has active endpoints",
                                n->name, n->id);
        if (store_begin(e->store) < 0)
                return berr_set(err, EIO, "error while removing network: state database is busy");
        int r = SQL(e, "INSERT OR IGNORE INTO lost_networks SELECT container_id, ?1 FROM endpoints WHERE network_id = ?2",
                    n->name, n->id);
        if (r == 0)
                r = SQL(e, "DELETE FROM endpoints WHERE network_id = ?", n->id);
        if (r == 0)
                r = SQL(e, "DELETE FROM networks WHERE id = ?", n->id);
        if (r < 0 || store_commit(e->store) < 0) {
                store_rollback(e->store);
                return berr_set(err, EIO, "error while removing network %s: cannot update the state database", n->name);
        }
        /* A crash here leaves a bridge without a row: network_adopt deletes it. */
        crash_point("network-remove-after-record");
        if (n->bridge)
                nl_link_del(n->bridge);
        net_apply_rules(e, NULL);
        events_network(e->events, n->id, n->name, n->driver, "destroy", NULL);
        return 0;
}

int network_remove(Network *e, const char *ref, BerthError **err)
{
        NetState *ns = NS(e);
        pthread_mutex_lock(&ns->lock);
        _cleanup_net_ Net *n = NULL;
        int r = net_get(e, ref, &n, err);
        if (r == 0)
                r = remove_locked(e, n, err);
        pthread_mutex_unlock(&ns->lock);
        return r;
}

int network_prune(Network *e, json_t *filters, json_t **ret, BerthError **err)
{
        NetState *ns = NS(e);
        const char *key;
        json_t *v;
        json_object_foreach(filters, key, v) if (!streq(key, "until") && !streq(key, "label") && !streq(key, "label!"))
                return berr_set(err, EINVAL, "invalid filter '%s'", key);
        int64_t until = 0;
        json_t *uf = json_object_get(filters, "until");
        if (json_array_size(uf)) {
                const char *u = json_string_value(json_array_get(uf, 0));
                if (parse_docker_time(u, now_ns(), &until) < 0)
                        return berr_set(err, EINVAL, "invalid filter 'until=%s'", u ? u : "");
        }
        json_t *lab = json_object_get(filters, "label"), *nolab = json_object_get(filters, "label!");
        json_t *deleted = json_array();
        pthread_mutex_lock(&ns->lock);
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        for (size_t i = 0; i < nn; i++) {
                if (builtin(nets[i]) || (until && nets[i]->created >= until))
                        continue;
                size_t k;
                json_t *x;
                bool ok = true;
                json_array_foreach(lab, k, x) if (json_is_string(x) && !m_label(json_string_value(x), nets[i])) ok = false;
                /* label! spares what matches all of its entries (moby's matchLabels) */
                bool all_nolab = json_array_size(nolab) > 0;
                json_array_foreach(nolab, k, x) if (json_is_string(x) && !m_label(json_string_value(x), nets[i]))
                        all_nolab = false;
                if (all_nolab)
                        ok = false;
                if (!ok)
                        continue;
                _cleanup_berr_ BerthError *rerr = NULL;
                if (remove_locked(e, nets[i], &rerr) == 0)
                        json_array_append_new(deleted, json_string(nets[i]->name));
        }
        net_list_free(nets, nn);
        pthread_mutex_unlock(&ns->lock);
        *ret = json_pack("{s:o}", "NetworksDeleted", deleted);
        return 0;
}
