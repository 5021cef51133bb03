/* Networks and endpoints: the state store tables, IPAM, bridges, the
 * container hooks and the /networks verbs. See network.h. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/events.h"
#include "netlink.h"
#include "network-internal.h"

#define NET_MTU 1500

static const char *const steps[] = {
        /* 1 */
        "CREATE TABLE networks ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT UNIQUE NOT NULL,"
        "  driver TEXT NOT NULL,"     /* bridge, host, null */
        "  subnet TEXT,"              /* a.b.c.d/n, NULL for host/null */
        "  gateway TEXT,"
        "  ip_range TEXT,"
        "  internal INTEGER NOT NULL DEFAULT 0,"
        "  attachable INTEGER NOT NULL DEFAULT 0,"
        "  labels TEXT NOT NULL DEFAULT '{}',"
        "  options TEXT NOT NULL DEFAULT '{}',"
        "  bridge TEXT,"              /* host device */
        "  created INTEGER NOT NULL"
        ");"
        /* A container's membership of a network; ip is set while it is running. */
        "CREATE TABLE endpoints ("
        "  container_id TEXT NOT NULL,"
        "  network_id TEXT NOT NULL,"
        "  seq INTEGER NOT NULL,"       /* order of joining: eth0, eth1, ... */
        "  name TEXT NOT NULL DEFAULT '',"
        "  aliases TEXT NOT NULL DEFAULT '[]',"
        "  static_ip TEXT,"
        "  static_mac TEXT,"
        "  endpoint_id TEXT,"
        "  ip TEXT,"
        "  mac TEXT,"
        "  ifname TEXT,"
        "  PRIMARY KEY (container_id, network_id)"
        ");"
        "CREATE TABLE seeded (container_id TEXT PRIMARY KEY);"
        "CREATE TABLE ports ("
        "  container_id TEXT NOT NULL,"
        "  proto TEXT NOT NULL,"
        "  container_port INTEGER NOT NULL,"
        "  host_ip TEXT NOT NULL,"
        "  host_port INTEGER NOT NULL"
        ");",
        /* 2: memberships whose network was removed while the container was stopped;
         * such a container fails to start, as Docker's does ("network X not found"). */
        "CREATE TABLE lost_networks ("
        "  container_id TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  PRIMARY KEY (container_id, name)"
        ");",
};

/* ---- small helpers ---- */

static NetState *NS(Engine *e)
{
        return e->net;
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
} Net;

static void net_free(Net *n)
{
        if (!n)
                return;
        free(n->name);
        free(n->driver);
        free(n->bridge);
        free(n->subnet_s);
        free(n->gw_s);
        free(n->range_s);
        free(n->labels);
        free(n->options);
        free(n);
}
static inline void net_freep(Net **n) { net_free(*n); }
#define _cleanup_net_ _cleanup_(net_freep)

static char *col(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? strdup((const char *) t) : NULL;
}

static int parse_cidr(const char *s, struct in_addr *a, int *prefix)
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

static uint32_t mask_of(int prefix)
{
        return prefix ? ~0u << (32 - prefix) : 0;
}

static bool in_subnet(struct in_addr a, struct in_addr net, int prefix)
{
        return (ntohl(a.s_addr) & mask_of(prefix)) == (ntohl(net.s_addr) & mask_of(prefix));
}

static char *ip_str(struct in_addr a)
{
        char b[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, b, sizeof(b));
        return strdup(b);
}

#define NET_COLS "id, name, driver, subnet, gateway, ip_range, internal, attachable, labels, options, bridge, created"

static Net *net_from_row(sqlite3_stmt *st)
{
        Net *n = calloc(1, sizeof(*n));
        snprintf(n->id, sizeof(n->id), "%s", (const char *) sqlite3_column_text(st, 0));
        n->name = col(st, 1);
        n->driver = col(st, 2);
        n->subnet_s = col(st, 3);
        n->gw_s = col(st, 4);
        n->range_s = col(st, 5);
        n->internal = sqlite3_column_int(st, 6);
        n->attachable = sqlite3_column_int(st, 7);
        n->labels = col(st, 8);
        n->options = col(st, 9);
        n->bridge = col(st, 10);
        n->created = sqlite3_column_int64(st, 11);
        if (n->subnet_s && parse_cidr(n->subnet_s, &n->net, &n->prefix) == 0) {
                n->has_subnet = true;
                int gp;
                if (parse_cidr(n->gw_s, &n->gw, &gp) < 0)
                        n->gw.s_addr = htonl((ntohl(n->net.s_addr) & mask_of(n->prefix)) + 1);
                if (n->range_s && parse_cidr(n->range_s, &n->range, &n->range_prefix) == 0)
                        n->has_range = true;
        }
        return n;
}

/* By full id, name, or unique id prefix. */
static Net *net_find(Engine *e, const char *ref, int *ambiguous)
{
        if (ambiguous)
                *ambiguous = 0;
        if (!ref || !*ref)
                return NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT " NET_COLS " FROM networks WHERE id = ?1 OR name = ?1", NULL);
                if (!st)
                        return NULL;
                sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW)
                        return net_from_row(st);
        }
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT " NET_COLS " FROM networks WHERE substr(id, 1, length(?1)) = ?1", NULL);
        if (!st)
                return NULL;
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
        Net *found = NULL;
        while (sqlite3_step(st) == SQLITE_ROW) {
                if (found) {
                        net_free(found);
                        if (ambiguous)
                                *ambiguous = 1;
                        return NULL;
                }
                found = net_from_row(st);
        }
        return found;
}

static int net_get(Engine *e, const char *ref, Net **ret, BerthError **err)
{
        int amb;
        Net *n = net_find(e, ref, &amb);
        if (!n)
                return amb ? berr_set(err, EINVAL, "network %s is ambiguous", ref)
                           : berr_set(err, ENOENT, "network %s not found", ref);
        *ret = n;
        return 0;
}

static Net **net_list_all(Engine *e, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT " NET_COLS " FROM networks ORDER BY created", NULL);
        Net **v = NULL;
        size_t n = 0;
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                v = realloc(v, (n + 1) * sizeof(*v));
                v[n++] = net_from_row(st);
        }
        *ret_n = n;
        return v;
}

static void net_list_free(Net **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                net_free(v[i]);
        free(v);
}

static int exec_sql(Engine *e, const char *sql, const char *const *args, size_t n)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        if (!st)
                return -EIO;
        for (size_t i = 0; i < n; i++)
                if (args[i])
                        sqlite3_bind_text(st, (int) i + 1, args[i], -1, SQLITE_TRANSIENT);
                else
                        sqlite3_bind_null(st, (int) i + 1);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}
#define SQL(e, sql, ...) exec_sql((e), (sql), (const char *const[]){ __VA_ARGS__ }, \
                                  sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* ---- endpoints ---- */

typedef struct Ep {
        char cid[65], nid[65];
        int seq;
        char *name, *aliases, *static_ip, *static_mac, *endpoint_id, *ip, *mac, *ifname;
} Ep;

static void ep_free_fields(Ep *p)
{
        free(p->name);
        free(p->aliases);
        free(p->static_ip);
        free(p->static_mac);
        free(p->endpoint_id);
        free(p->ip);
        free(p->mac);
        free(p->ifname);
}

static void eps_free(Ep *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ep_free_fields(&v[i]);
        free(v);
}

#define EP_COLS "container_id, network_id, seq, name, aliases, static_ip, static_mac, endpoint_id, ip, mac, ifname"

/* where: "container_id = ?1" or "network_id = ?1" */
static Ep *eps_query(Engine *e, const char *where, const char *arg, size_t *ret_n)
{
        _cleanup_free_ char *sql = xasprintf("SELECT " EP_COLS " FROM endpoints WHERE %s ORDER BY seq", where);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        Ep *v = NULL;
        size_t n = 0;
        if (st && arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                v = realloc(v, (n + 1) * sizeof(*v));
                Ep *p = &v[n++];
                memset(p, 0, sizeof(*p));
                snprintf(p->cid, sizeof(p->cid), "%s", (const char *) sqlite3_column_text(st, 0));
                snprintf(p->nid, sizeof(p->nid), "%s", (const char *) sqlite3_column_text(st, 1));
                p->seq = sqlite3_column_int(st, 2);
                p->name = col(st, 3);
                p->aliases = col(st, 4);
                p->static_ip = col(st, 5);
                p->static_mac = col(st, 6);
                p->endpoint_id = col(st, 7);
                p->ip = col(st, 8);
                p->mac = col(st, 9);
                p->ifname = col(st, 10);
        }
        *ret_n = n;
        return v;
}

static char *container_name_of(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        char *n = strdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        return n;
}

static const char *netmode(Container *c)
{
        const char *m = json_str(container_hostcfg(c), "NetworkMode");
        return m && *m ? m : "default";
}

static bool is_default_name(const char *m)
{
        return streq(m, "default") || streq(m, "bridge");
}

static int add_membership(Engine *e, const char *cid, const char *nid, const char *name, json_t *epcfg)
{
        json_t *aliases = json_object_get(epcfg, "Aliases");
        _cleanup_free_ char *al = json_is_array(aliases) ? json_dumps(aliases, JSON_COMPACT) : strdup("[]");
        const char *sip = json_str(json_object_get(epcfg, "IPAMConfig"), "IPv4Address");
        const char *smac = json_str(epcfg, "MacAddress");
        return SQL(e,
                   "INSERT INTO endpoints (container_id, network_id, seq, name, aliases, static_ip, static_mac) "
                   "VALUES (?1, ?2, (SELECT coalesce(max(seq), -1) + 1 FROM endpoints WHERE container_id = ?1), ?3, ?4, "
                   "?5, ?6)",
                   cid, nid, name, al, sip && *sip ? sip : NULL, smac && *smac ? smac : NULL);
}

/* The memberships a container was created with (NetworkMode and
 * NetworkingConfig.EndpointsConfig), recorded once. ns->lock held. */
static int ensure_seeded(Engine *e, Container *c, BerthError **err)
{
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT 1 FROM seeded WHERE container_id = ?", NULL);
                if (!st)
                        return berr_set(err, EIO, "state store error");
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW)
                        return 0;
        }
        const char *mode = netmode(c);
        if (startswith(mode, "container:"))
                return SQL(e, "INSERT OR IGNORE INTO seeded VALUES (?)", c->id);
        _cleanup_net_ Net *primary = NULL;
        int r = net_get(e, is_default_name(mode) ? "bridge" : mode, &primary, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cname = container_name_of(e, c);
        json_t *eps = json_object_get(json_object_get(c->config, "NetworkingConfig"), "EndpointsConfig");
        json_t *pcfg = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(eps, k, v) {
                if (streq(k, primary->name) || streq(k, primary->id) || (is_default_name(k) && streq(primary->name, "bridge")))
                        pcfg = v;
        }
        add_membership(e, c->id, primary->id, cname, pcfg);
        if (streq(primary->driver, "bridge")) {
                json_object_foreach(eps, k, v) {
                        if (v == pcfg)
                                continue;
                        _cleanup_net_ Net *n = net_find(e, is_default_name(k) ? "bridge" : k, NULL);
                        if (!n)
                                return berr_set(err, ENOENT, "network %s not found", k);
                        if (streq(n->driver, "bridge"))
                                add_membership(e, c->id, n->id, cname, v);
                }
        }
        /* Config.MacAddress (API < 1.44) applies to the primary endpoint. */
        const char *mac = json_str(container_cfg(c), "MacAddress");
        if (mac && *mac)
                SQL(e, "UPDATE endpoints SET static_mac = ?1 WHERE container_id = ?2 AND network_id = ?3 AND static_mac IS NULL",
                    mac, c->id, primary->id);
        return SQL(e, "INSERT OR IGNORE INTO seeded VALUES (?)", c->id);
}

/* ---- bridges and nftables ---- */

static char *bridge_name_for(const char *id, const char *name)
{
        if (streq(name, "bridge"))
                return strdup("berth0");
        return xasprintf("berth-%.9s", id);
}

static void write_sysctl(const char *path, const char *v)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, v, strlen(v)) < 0) {
                /* best effort */
        }
}

static int bridge_ensure(Net *n, bool userland_proxy, BerthError **err)
{
        if (!streq(n->driver, "bridge") || !n->bridge || !n->has_subnet)
                return 0;
        int idx = nl_link_index(n->bridge);
        if (idx == 0) {
                int r = nl_bridge_add(n->bridge, NET_MTU, NULL);
                if (r < 0 && r != -EEXIST)
                        return berr_set(err, -r, "cannot create bridge %s: %s", n->bridge, strerror(-r));
                idx = nl_link_index(n->bridge);
        }
        if (idx <= 0)
                return berr_set(err, ENODEV, "bridge %s did not appear", n->bridge);
        int r = nl_addr_add(idx, n->gw, n->prefix);
        if (r < 0)
                return berr_set(err, -r, "cannot add %s to %s: %s", n->gw_s ? n->gw_s : "gateway", n->bridge, strerror(-r));
        nl_link_up(idx);
        _cleanup_free_ char *p = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
        write_sysctl(p, userland_proxy ? "0" : "1");
        return 0;
}

/* Rebuilds `table ip berth` from the store. ns->lock held. */
static int apply_rules(Engine *e, BerthError **err)
{
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        NftNet *fn = calloc(nn + 1, sizeof(*fn));
        size_t k = 0;
        for (size_t i = 0; i < nn; i++) {
                if (!streq(nets[i]->driver, "bridge") || !nets[i]->has_subnet)
                        continue;
                fn[k].bridge = nets[i]->bridge;
                struct in_addr base = { .s_addr = htonl(ntohl(nets[i]->net.s_addr) & mask_of(nets[i]->prefix)) };
                char b[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &base, b, sizeof(b));
                snprintf(fn[k].subnet, sizeof(fn[k].subnet), "%s/%d", b, nets[i]->prefix);
                fn[k].internal = nets[i]->internal;
                k++;
        }
        /* Published ports go to the container's first live bridge endpoint. */
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT p.proto, p.host_ip, p.host_port, p.container_port, "
                "(SELECT ip FROM endpoints WHERE container_id = p.container_id AND ip IS NOT NULL ORDER BY seq LIMIT 1) "
                "FROM ports p",
                NULL);
        NftPort *ports = NULL;
        size_t np = 0;
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                const char *cip = (const char *) sqlite3_column_text(st, 4);
                if (!cip || strchr((const char *) sqlite3_column_text(st, 1), ':'))
                        continue; /* the [::] side is the proxy's alone */
                ports = realloc(ports, (np + 1) * sizeof(*ports));
                NftPort *p = &ports[np];
                memset(p, 0, sizeof(*p));
                p->proto = streq((const char *) sqlite3_column_text(st, 0), "udp") ? IPPROTO_UDP : IPPROTO_TCP;
                inet_pton(AF_INET, (const char *) sqlite3_column_text(st, 1), &p->host_ip);
                p->host_port = sqlite3_column_int(st, 2);
                p->cport = sqlite3_column_int(st, 3);
                inet_pton(AF_INET, cip, &p->cip);
                np++;
        }
        int r = nft_apply(fn, k, ports, np, NS(e)->userland_proxy, err);
        free(ports);
        free(fn);
        net_list_free(nets, nn);
        return r;
}

/* ---- default networks ---- */

static int insert_net(Engine *e, const char *id, const char *name, const char *driver, const char *subnet,
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

static int default_networks(Engine *e, BerthError **err)
{
        const char *bip = e->cfg.bip && *e->cfg.bip ? e->cfg.bip : "172.17.0.1/16";
        struct in_addr a;
        int prefix;
        if (parse_cidr(bip, &a, &prefix) < 0 || prefix > 30)
                return berr_set(err, EINVAL, "invalid --bip %s", bip);
        struct in_addr base = { .s_addr = htonl(ntohl(a.s_addr) & mask_of(prefix)) };
        _cleanup_free_ char *b = ip_str(base), *g = ip_str(a);
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

int network_start(Engine *e, bool userland_proxy, BerthError **err)
{
        int r = store_migrate(e->store, "network", steps, ELEMENTSOF(steps), err);
        if (r < 0)
                return r;
        NetState *ns = calloc(1, sizeof(*ns));
        if (!ns)
                return berr_set(err, ENOMEM, "out of memory");
        pthread_mutex_init(&ns->lock, NULL);
        ns->userland_proxy = userland_proxy;
        e->net = ns;
        r = default_networks(e, err);
        if (r < 0)
                return r;
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        for (size_t i = 0; i < nn && r == 0; i++)
                r = bridge_ensure(nets[i], userland_proxy, err);
        net_list_free(nets, nn);
        if (r < 0)
                return r;
        return dns_start(e, ns) < 0 ? berr_set(err, EIO, "cannot start the embedded DNS server") : 0;
}

void network_stop(Engine *e)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        proxy_stop_all(ns);
        dns_stop(ns);
        pthread_mutex_destroy(&ns->lock);
        free(ns);
        e->net = NULL;
}

/* ---- files ---- */

static int write_text(const char *path, const char *s)
{
        return write_file_replace(path, s, strlen(s), 0644);
}

static void host_nameservers_filtered(char **out_lines, bool keep_search)
{
        _cleanup_free_ char *host = NULL;
        if (read_file("/etc/resolv.conf", &host, NULL) < 0)
                host = strdup("");
        size_t cap = strlen(host) + 1;
        char *out = calloc(1, cap);
        char *save = NULL;
        for (char *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (startswith(p, "nameserver")) {
                        const char *a = p + 10;
                        while (*a == ' ' || *a == '\t')
                                a++;
                        if (startswith(a, "127.") || startswith(a, "::1"))
                                continue;
                } else if (!keep_search || !(startswith(p, "search") || startswith(p, "domain") || startswith(p, "options")))
                        continue;
                strcat(out, line);
                strcat(out, "\n");
        }
        *out_lines = out;
}

static void strv_append_lines(char **buf, const char *prefix, json_t *arr, const char *sep)
{
        if (!json_array_size(arr))
                return;
        char *s = xasprintf("%s%s", *buf, prefix);
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x) {
                if (!json_is_string(x))
                        continue;
                char *n = xasprintf("%s%s%s", s, i ? sep : "", json_string_value(x));
                free(s);
                s = n;
        }
        free(*buf);
        *buf = xasprintf("%s\n", s);
        free(s);
}

static int write_resolv(Engine *e, Container *c, bool embedded, const char *path)
{
        json_t *hc = container_hostcfg(c);
        json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
               *opts = json_object_get(hc, "DnsOptions");
        char *out = strdup("");
        if (embedded) {
                free(out);
                out = strdup("nameserver 127.0.0.11\n");
        } else if (json_array_size(dns)) {
                size_t i;
                json_t *x;
                json_array_foreach(dns, i, x) if (json_is_string(x)) {
                        char *n = xasprintf("%snameserver %s\n", out, json_string_value(x));
                        free(out);
                        out = n;
                }
        } else {
                free(out);
                host_nameservers_filtered(&out, false);
        }
        if (json_array_size(search))
                strv_append_lines(&out, "search ", search, " ");
        else {
                /* the host's search domains */
                _cleanup_free_ char *h = NULL;
                if (read_file("/etc/resolv.conf", &h, NULL) == 0) {
                        char *save = NULL;
                        for (char *line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                                if (startswith(line, "search ")) {
                                        char *n = xasprintf("%s%s\n", out, line);
                                        free(out);
                                        out = n;
                                }
                }
        }
        if (embedded || json_array_size(opts)) {
                _cleanup_json_ json_t *all = json_array();
                if (embedded)
                        json_array_append_new(all, json_string("ndots:0"));
                json_array_extend(all, json_is_array(opts) ? opts : NULL);
                strv_append_lines(&out, "options ", all, " ");
        }
        int r = write_text(path, out);
        free(out);
        return r;
}

static int write_hosts(Engine *e, Container *c, const char *path, const char *ip)
{
        json_t *cfg = container_cfg(c);
        const char *hostname = json_str(cfg, "Hostname");
        const char *domain = json_str(cfg, "Domainname");
        _cleanup_free_ char *fqdn = domain && *domain ? xasprintf("%s.%s %s", hostname, domain, hostname)
                                                      : xasprintf("%s", hostname ? hostname : "");
        _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                               "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        json_t *extra = json_object_get(container_hostcfg(c), "ExtraHosts");
        size_t i;
        json_t *x;
        json_array_foreach(extra, i, x) {
                const char *s = json_string_value(x);
                if (!s)
                        continue;
                /* host:ip (ip may be IPv6 with colons) */
                const char *colon = strchr(s, ':');
                if (!colon)
                        continue;
                const char *addr = colon + 1;
                if (streq(addr, "host-gateway"))
                        continue;
                char *n = xasprintf("%s%s\t%.*s\n", hosts, addr, (int) (colon - s), s);
                free(hosts);
                hosts = n;
        }
        char *n = ip ? xasprintf("%s%s\t%s\n", hosts, ip, fqdn) : xasprintf("%s", hosts);
        free(hosts);
        hosts = n;
        return write_text(path, hosts);
}

/* ---- IPAM ---- */

static bool ip_used(Engine *e, const char *nid, const char *ip)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT 1 FROM endpoints WHERE network_id = ?1 AND ip = ?2", NULL);
        if (!st)
                return true;
        sqlite3_bind_text(st, 1, nid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ip, -1, SQLITE_TRANSIENT);
        return sqlite3_step(st) == SQLITE_ROW;
}

static int ipam_alloc(Engine *e, Net *n, const char *static_ip, struct in_addr *ret, BerthError **err)
{
        if (!n->has_subnet)
                return berr_set(err, EINVAL, "network %s has no subnet", n->name);
        uint32_t base = ntohl(n->net.s_addr) & mask_of(n->prefix);
        uint32_t bcast = base | ~mask_of(n->prefix);
        if (static_ip) {
                struct in_addr a;
                if (inet_pton(AF_INET, static_ip, &a) != 1)
                        return berr_set(err, EINVAL, "invalid IPv4 address: %s", static_ip);
                if (!in_subnet(a, n->net, n->prefix))
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
                uint32_t rb = ntohl(n->range.s_addr) & mask_of(n->range_prefix);
                lo = rb > lo ? rb : lo;
                uint32_t rh = rb | ~mask_of(n->range_prefix);
                hi = rh < hi ? rh : hi;
                if (rb == lo && lo == (ntohl(n->range.s_addr) & mask_of(n->range_prefix)) && lo == base)
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

/* ---- published ports ---- */

typedef struct PortReq {
        char proto[4];
        int cport;
        char host_ip[INET6_ADDRSTRLEN];
        int hp_lo, hp_hi; /* 0,0 = any */
        bool dual;        /* no HostIp given: 0.0.0.0 and, when the host has IPv6, [::] (as Docker) */
} PortReq;

static int parse_port_key(const char *k, int *port, char proto[4])
{
        char *end;
        long p = strtol(k, &end, 10);
        if (p <= 0 || p > 65535)
                return -EINVAL;
        *port = (int) p;
        snprintf(proto, 4, "%s", *end == '/' ? end + 1 : "tcp");
        if (!streq(proto, "tcp") && !streq(proto, "udp"))
                return -EINVAL;
        return 0;
}

static int collect_ports(Container *c, PortReq **ret, size_t *ret_n, BerthError **err)
{
        json_t *hc = container_hostcfg(c);
        json_t *pb = json_object_get(hc, "PortBindings");
        PortReq *v = NULL;
        size_t n = 0;
        const char *k;
        json_t *arr;
        json_object_foreach(pb, k, arr) {
                int cport;
                char proto[4];
                if (parse_port_key(k, &cport, proto) < 0) {
                        free(v);
                        return berr_set(err, EINVAL, "invalid port specification: \"%s\"", k);
                }
                size_t i;
                json_t *b;
                json_array_foreach(arr, i, b) {
                        v = realloc(v, (n + 1) * sizeof(*v));
                        PortReq *p = &v[n++];
                        memset(p, 0, sizeof(*p));
                        snprintf(p->proto, sizeof(p->proto), "%s", proto);
                        p->cport = cport;
                        const char *hip = json_str(b, "HostIp"), *hp = json_str(b, "HostPort");
                        snprintf(p->host_ip, sizeof(p->host_ip), "%s", hip && *hip ? hip : "0.0.0.0");
                        p->dual = !(hip && *hip);
                        if (streq(p->host_ip, "[::]"))
                                strcpy(p->host_ip, "::");
                        if (hp && *hp) {
                                int lo = 0, hi = 0;
                                if (sscanf(hp, "%d-%d", &lo, &hi) < 1 || lo < 0 || lo > 65535) {
                                        free(v);
                                        return berr_set(err, EINVAL, "invalid port specification: \"%s\"", hp);
                                }
                                p->hp_lo = lo;
                                p->hp_hi = hi ? hi : lo;
                        }
                }
        }
        if (json_bool(hc, "PublishAllPorts")) {
                json_object_foreach(json_object_get(container_cfg(c), "ExposedPorts"), k, arr) {
                        int cport;
                        char proto[4];
                        if (parse_port_key(k, &cport, proto) < 0 || json_object_get(pb, k))
                                continue;
                        v = realloc(v, (n + 1) * sizeof(*v));
                        PortReq *p = &v[n++];
                        memset(p, 0, sizeof(*p));
                        snprintf(p->proto, sizeof(p->proto), "%s", proto);
                        p->cport = cport;
                        strcpy(p->host_ip, "0.0.0.0");
                        p->dual = true;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- container hooks ---- */

static bool has_bridge_eps(Engine *e, const char *cid)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT 1 FROM endpoints p JOIN networks n ON n.id = p.network_id WHERE p.container_id = ? AND n.driver = 'bridge'",
                NULL);
        if (!st)
                return false;
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
        return sqlite3_step(st) == SQLITE_ROW;
}

/* Network events for the container's live memberships (bridge endpoints
 * with an address, host/none memberships), as dockerd sends them on start
 * ("connect") and exit ("disconnect"). */
static void emit_eps(Engine *e, const char *cid, const char *action)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT n.id, n.name, n.driver FROM endpoints p JOIN networks n ON n.id = p.network_id "
                "WHERE p.container_id = ? AND (p.ip IS NOT NULL OR n.driver != 'bridge') ORDER BY p.seq",
                NULL);
        if (st)
                sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW)
                events_network(e, (const char *) sqlite3_column_text(st, 0), (const char *) sqlite3_column_text(st, 1),
                               (const char *) sqlite3_column_text(st, 2), action, cid);
}

static void *del_links_thread(void *arg)
{
        int *idx = arg;
        for (size_t i = 0; idx[i] > 0; i++)
                nl_link_del_index(idx[i]);
        free(idx);
        return NULL;
}

/* Deleting a veth waits for an RCU grace period (~10 ms), which would sit on
 * the path of `docker run --rm` and `docker rm`; a detached thread does it by
 * ifindex (a quick restart reusing the name deletes the old link itself, by
 * name, and the index cannot match the new link). If berthd dies first, the
 * start-up reconciler removes stray bv* links. */
static void del_links_later(int *idx)
{
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        if (pthread_create(&t, &at, del_links_thread, idx) != 0)
                del_links_thread(idx);
        pthread_attr_destroy(&at);
}

/* ns->lock held */
static void release_locked(Engine *e, const char *cid)
{
        NetState *ns = NS(e);
        proxy_stop_container(ns, cid);
        dns_remove_container(ns, cid);
        size_t n;
        Ep *eps = eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
        int *idx = calloc(n + 1, sizeof(*idx));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char host[IFNAMSIZ];
                snprintf(host, sizeof(host), "bv%.8s%.4s", eps[i].cid, eps[i].nid);
                int ix = idx ? nl_link_index(host) : -1;
                if (ix > 0)
                        idx[k++] = ix;
                else if (ix < 0)
                        nl_link_del(host);
        }
        if (idx && k > 0)
                del_links_later(TAKE_PTR(idx));
        free(idx);
        eps_free(eps, n);
        SQL(e, "UPDATE endpoints SET ip = NULL, mac = NULL, endpoint_id = NULL, ifname = NULL WHERE container_id = ?", cid);
        bool had_ports = false;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT 1 FROM ports WHERE container_id = ?", NULL);
                if (st) {
                        sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
                        had_ports = sqlite3_step(st) == SQLITE_ROW;
                } else
                        had_ports = true;
        }
        SQL(e, "DELETE FROM ports WHERE container_id = ?", cid);
        if (n && had_ports)
                apply_rules(e, NULL);
}

void network_container_release(Engine *e, const char *id)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        emit_eps(e, id, "disconnect");
        release_locked(e, id);
        pthread_mutex_unlock(&ns->lock);
}

void network_container_forget(Engine *e, const char *id)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        /* rm -f can get here before the exit handler released the endpoints */
        emit_eps(e, id, "disconnect");
        release_locked(e, id);
        SQL(e, "DELETE FROM endpoints WHERE container_id = ?", id);
        SQL(e, "DELETE FROM seeded WHERE container_id = ?", id);
        SQL(e, "DELETE FROM lost_networks WHERE container_id = ?", id);
        pthread_mutex_unlock(&ns->lock);
}

char *network_container_netns(Engine *e, Container *c)
{
        const char *m = netmode(c);
        if (!startswith(m, "container:"))
                return NULL;
        _cleanup_container_ Container *o = NULL;
        if (container_get(e, m + 10, &o, NULL) < 0)
                return NULL;
        pthread_mutex_lock(&e->lock);
        int pid = o->status == CSTATUS_RUNNING || o->status == CSTATUS_PAUSED ? o->pid : 0;
        pthread_mutex_unlock(&e->lock);
        return pid > 0 ? xasprintf("/proc/%d/ns/net", pid) : NULL;
}

static void mac_for(struct in_addr a, char out[18])
{
        const uint8_t *b = (const uint8_t *) &a.s_addr;
        snprintf(out, 18, "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
}

/* A network this stopped container was on has been removed: a network of that
 * name created since takes its place (Docker resolves by name too), else the
 * start fails with Docker's error. */
static int check_lost(Engine *e, Container *c, BerthError **err)
{
        _cleanup_strv_free_ char **names = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT name FROM lost_networks WHERE container_id = ? ORDER BY name", NULL);
                if (!st)
                        return berr_set(err, EIO, "state store error");
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                while (sqlite3_step(st) == SQLITE_ROW)
                        strv_push(&names, strdup((const char *) sqlite3_column_text(st, 0)));
        }
        _cleanup_free_ char *cname = NULL;
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_net_ Net *n = net_find(e, names[i], NULL);
                if (!n || !streq(n->name, names[i]))
                        return berr_set(err, ENOENT, "network %s not found", names[i]);
                if (!cname)
                        cname = container_name_of(e, c);
                add_membership(e, c->id, n->id, cname, NULL);
                SQL(e, "DELETE FROM lost_networks WHERE container_id = ?1 AND name = ?2", c->id, names[i]);
        }
        return 0;
}

static int prepare_locked(Engine *e, Container *c, BerthError **err)
{
        const char *mode = netmode(c);
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *hostsp = xasprintf("%s/hosts", dir), *resolvp = xasprintf("%s/resolv.conf", dir);
        if (startswith(mode, "container:")) {
                _cleanup_container_ Container *o = NULL;
                int r = container_get(e, mode + 10, &o, err);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&e->lock);
                bool running = o->status == CSTATUS_RUNNING || o->status == CSTATUS_PAUSED;
                pthread_mutex_unlock(&e->lock);
                if (!running)
                        return berr_set(err, EBUSY, "cannot join network namespace of a non running container: container %s is %s",
                                        o->id, "not running");
                /* Share the other container's view of names. */
                _cleanup_free_ char *odir = container_dir(e, o->id);
                const char *files[] = { "hosts", "resolv.conf" };
                for (size_t i = 0; i < 2; i++) {
                        _cleanup_free_ char *src = xasprintf("%s/%s", odir, files[i]), *dst = xasprintf("%s/%s", dir, files[i]);
                        _cleanup_free_ char *data = NULL;
                        if (read_file(src, &data, NULL) == 0)
                                write_text(dst, data);
                }
                return 0;
        }
        int r = ensure_seeded(e, c, err);
        if (r < 0)
                return r;
        r = check_lost(e, c, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cname = container_name_of(e, c);
        size_t n;
        Ep *eps = eps_query(e, "container_id = ?1", c->id, &n);
        char *first_ip = NULL;
        bool embedded = false;
        int ifn = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_net_ Net *net = net_find(e, eps[i].nid, NULL);
                if (!net || !streq(net->driver, "bridge"))
                        continue;
                struct in_addr a = { 0 };
                r = ipam_alloc(e, net, eps[i].static_ip, &a, err);
                if (r < 0)
                        goto fail;
                _cleanup_free_ char *ip = ip_str(a);
                char mac[18];
                if (eps[i].static_mac)
                        snprintf(mac, sizeof(mac), "%s", eps[i].static_mac);
                else
                        mac_for(a, mac);
                char eid[65];
                random_hex_id(eid);
                _cleanup_free_ char *ifname = xasprintf("eth%d", ifn++);
                if (SQL(e, "UPDATE endpoints SET ip = ?1, mac = ?2, endpoint_id = ?3, ifname = ?4, name = ?5 "
                           "WHERE container_id = ?6 AND network_id = ?7",
                        ip, mac, eid, ifname, cname, c->id, net->id) < 0) {
                        r = berr_set(err, EIO, "cannot record endpoint");
                        goto fail;
                }
                if (!first_ip)
                        first_ip = strdup(ip);
                embedded = true;
        }
        eps_free(eps, n);
        eps = NULL;
        n = 0;

        /* Published ports: the proxy's bind is the reservation. */
        if (first_ip) {
                PortReq *pr = NULL;
                size_t np = 0;
                r = collect_ports(c, &pr, &np, err);
                if (r < 0)
                        goto fail;
                struct in_addr cip;
                inet_pton(AF_INET, first_ip, &cip);
                for (size_t i = 0; i < np; i++) {
                        struct in_addr hip;
                        bool v6only = streq(pr[i].host_ip, "::");
                        if (!v6only && inet_pton(AF_INET, pr[i].host_ip, &hip) != 1) {
                                if (strchr(pr[i].host_ip, ':'))
                                        continue; /* IPv6 host addresses other than [::]: not supported, skipped */
                                free(pr);
                                r = berr_set(err, EINVAL, "invalid host IP address: %s", pr[i].host_ip);
                                goto fail;
                        }
                        int proto = streq(pr[i].proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
                        int got = -EADDRINUSE, hp = 0;
                        for (int p = pr[i].hp_lo; p <= pr[i].hp_hi; p++) {
                                hp = p;
                                got = v6only ? proxy_start6_any(NS(e), c->id, proto, &hp, cip, pr[i].cport)
                                             : proxy_start(NS(e), c->id, proto, hip, &hp, cip, pr[i].cport);
                                if (got != -EADDRINUSE)
                                        break;
                        }
                        if (got < 0) {
                                if (got == -EADDRINUSE) {
                                        _cleanup_free_ char *ps = pr[i].hp_lo == pr[i].hp_hi
                                                                          ? xasprintf("%d", pr[i].hp_lo)
                                                                          : xasprintf("%d-%d", pr[i].hp_lo, pr[i].hp_hi);
                                        r = berr_set(err, EIO,
                                                     "driver failed programming external connectivity on endpoint %s (%s): "
                                                     "Bind for %s:%s failed: port is already allocated",
                                                     cname, c->id, pr[i].host_ip, ps);
                                } else
                                        r = berr_set(err, -got, "cannot publish port %d: %s", pr[i].cport, strerror(-got));
                                free(pr);
                                goto fail;
                        }
                        _cleanup_free_ char *cps = xasprintf("%d", pr[i].cport), *hps = xasprintf("%d", hp);
                        SQL(e, "INSERT INTO ports VALUES (?1, ?2, ?3, ?4, ?5)", c->id, pr[i].proto, cps,
                            pr[i].host_ip, hps);
                        /* The IPv6 side of a port published without an address, on the same port; best
                         * effort: a host without IPv6, or with [::]:port taken by another program,
                         * publishes the IPv4 side only. It needs no rule: no NAT64, the proxy relays. */
                        int hp6 = hp;
                        if (pr[i].dual && proxy_start6_any(NS(e), c->id, proto, &hp6, cip, pr[i].cport) == 0)
                                SQL(e, "INSERT INTO ports VALUES (?1, ?2, ?3, ?4, ?5)", c->id, pr[i].proto, cps, "::",
                                    hps);
                }
                /* The table depends on networks and published ports only: a container
                 * without ports leaves it as it is (saves a libnftables run per start). */
                if (np > 0) {
                        free(pr);
                        r = apply_rules(e, err);
                        if (r < 0)
                                goto fail;
                } else
                        free(pr);
        }
        r = write_hosts(e, c, hostsp, first_ip);
        if (r == 0)
                r = write_resolv(e, c, embedded, resolvp);
        if (r < 0) {
                r = berr_set(err, -r, "cannot write container files in %s: %s", dir, strerror(-r));
                goto fail;
        }
        free(first_ip);
        return 0;
fail:
        eps_free(eps, n);
        free(first_ip);
        release_locked(e, c->id);
        return r;
}

int network_container_prepare(Engine *e, Container *c, BerthError **err)
{
        NetState *ns = NS(e);
        if (!ns)
                return 0;
        pthread_mutex_lock(&ns->lock);
        int r = prepare_locked(e, c, err);
        pthread_mutex_unlock(&ns->lock);
        return r;
}

typedef struct {
        Engine *e;
        Ep *eps;
        size_t n;
        Net **nets;
        int err_line;
} CfgCtx;

/* Runs inside the container's netns. */
static int configure_in_ns(void *arg)
{
        CfgCtx *x = arg;
        bool routed = false;
        for (size_t i = 0; i < x->n; i++) {
                if (!x->nets[i])
                        continue;
                int idx = nl_link_index(x->eps[i].ifname);
                if (idx <= 0)
                        return idx < 0 ? idx : -ENODEV;
                struct in_addr a;
                inet_pton(AF_INET, x->eps[i].ip, &a);
                int r = nl_addr_add(idx, a, x->nets[i]->prefix);
                if (r == 0)
                        r = nl_link_up(idx);
                if (r == 0 && !routed && !x->nets[i]->internal) {
                        r = nl_route_default(x->nets[i]->gw, idx);
                        routed = true;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int attach_eps(Engine *e, const char *cid, int nsfd, const char *only_nid, BerthError **err)
{
        size_t n;
        Ep *eps = eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
        Net **nets = calloc(n + 1, sizeof(*nets));
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                if (only_nid && !streq(eps[i].nid, only_nid))
                        continue;
                nets[i] = net_find(e, eps[i].nid, NULL);
                if (!nets[i])
                        continue;
                int bidx = nl_link_index(nets[i]->bridge);
                if (bidx <= 0) {
                        r = berr_set(err, ENODEV, "bridge %s is missing", nets[i]->bridge);
                        break;
                }
                char host[IFNAMSIZ];
                snprintf(host, sizeof(host), "bv%.8s%.4s", cid, eps[i].nid);
                uint8_t mac[6];
                unsigned m[6];
                bool has_mac = eps[i].mac && sscanf(eps[i].mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
                                                    &m[5]) == 6;
                for (int k = 0; k < 6; k++)
                        mac[k] = (uint8_t) m[k];
                nl_link_del(host); /* a leftover of an earlier life */
                int q = nl_veth_add(host, eps[i].ifname, nsfd, has_mac ? mac : NULL, NET_MTU, bidx);
                if (q < 0)
                        r = berr_set(err, -q, "cannot create veth %s: %s", host, strerror(-q));
        }
        if (r == 0) {
                CfgCtx x = { e, eps, n, nets, 0 };
                int q = netns_run(nsfd, configure_in_ns, &x);
                if (q < 0)
                        r = berr_set(err, -q, "cannot configure the container's interfaces: %s", strerror(-q));
        }
        for (size_t i = 0; i < n; i++)
                net_free(nets[i]);
        free(nets);
        eps_free(eps, n);
        return r;
}

int network_container_attach(Engine *e, Container *c, int pid, BerthError **err)
{
        NetState *ns = NS(e);
        if (!ns || startswith(netmode(c), "container:"))
                return 0;
        if (!has_bridge_eps(e, c->id)) {
                emit_eps(e, c->id, "connect");
                return 0;
        }
        _cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", pid);
        _cleanup_close_ int nsfd = open(p, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return berr_set(err, errno, "cannot open %s: %m", p);
        pthread_mutex_lock(&ns->lock);
        int r = attach_eps(e, c->id, nsfd, NULL, err);
        if (r == 0) {
                dns_add_container(ns, c->id, nsfd);
                emit_eps(e, c->id, "connect");
        }
        pthread_mutex_unlock(&ns->lock);
        return r;
}

/* ---- re-adoption after a restart ---- */

typedef struct {
        Engine *e;
        char **keep;
        char **delete;
} LinkScan;

static void scan_link(void *arg, const char *name, int ifindex, const char *kind, int master)
{
        LinkScan *s = arg;
        if ((startswith(name, "bv") && streq(kind, "veth")) || (startswith(name, "berth") && streq(kind, "bridge")))
                if (!strv_contains(s->keep, name))
                        strv_extend(&s->delete, name);
}

void network_adopt(Engine *e)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        LinkScan s = { e, NULL, NULL };
        /* containers with live endpoints */
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT DISTINCT container_id FROM endpoints WHERE ip IS NOT NULL", NULL);
        _cleanup_strv_free_ char **cids = NULL;
        while (st && sqlite3_step(st) == SQLITE_ROW)
                strv_extend(&cids, (const char *) sqlite3_column_text(st, 0));
        for (size_t i = 0; cids && cids[i]; i++) {
                _cleanup_container_ Container *c = NULL;
                int pid = 0;
                if (container_get(e, cids[i], &c, NULL) == 0) {
                        pthread_mutex_lock(&e->lock);
                        if ((c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) && !c->starting)
                                pid = c->pid;
                        pthread_mutex_unlock(&e->lock);
                }
                _cleanup_free_ char *p = pid > 0 ? xasprintf("/proc/%d/ns/net", pid) : NULL;
                _cleanup_close_ int nsfd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
                if (nsfd < 0) {
                        release_locked(e, cids[i]);
                        continue;
                }
                dns_add_container(ns, cids[i], nsfd);
                size_t n;
                Ep *eps = eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cids[i], &n);
                for (size_t k = 0; k < n; k++) {
                        char host[IFNAMSIZ];
                        snprintf(host, sizeof(host), "bv%.8s%.4s", eps[k].cid, eps[k].nid);
                        strv_extend(&s.keep, host);
                }
                eps_free(eps, n);
                /* the proxies, on the same host ports */
                _cleanup_stmt_ sqlite3_stmt *pst = store_prepare(
                        e->store,
                        "SELECT p.proto, p.host_ip, p.host_port, p.container_port, "
                        "(SELECT ip FROM endpoints WHERE container_id = p.container_id AND ip IS NOT NULL ORDER BY seq LIMIT 1) "
                        "FROM ports p WHERE container_id = ?",
                        NULL);
                if (pst)
                        sqlite3_bind_text(pst, 1, cids[i], -1, SQLITE_TRANSIENT);
                while (pst && sqlite3_step(pst) == SQLITE_ROW) {
                        struct in_addr hip = { 0 }, cip = { 0 };
                        const char *hs = (const char *) sqlite3_column_text(pst, 1);
                        inet_pton(AF_INET, hs, &hip);
                        const char *cs = (const char *) sqlite3_column_text(pst, 4);
                        if (!cs)
                                continue;
                        inet_pton(AF_INET, cs, &cip);
                        int hp = sqlite3_column_int(pst, 2);
                        int proto = streq((const char *) sqlite3_column_text(pst, 0), "udp") ? IPPROTO_UDP : IPPROTO_TCP;
                        if (streq(hs, "::"))
                                proxy_start6_any(ns, cids[i], proto, &hp, cip, sqlite3_column_int(pst, 3));
                        else
                                proxy_start(ns, cids[i], proto, hip, &hp, cip, sqlite3_column_int(pst, 3));
                }
        }
        /* bridges we own */
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        for (size_t i = 0; i < nn; i++)
                if (nets[i]->bridge)
                        strv_extend(&s.keep, nets[i]->bridge);
        net_list_free(nets, nn);
        nl_link_list(scan_link, &s);
        for (size_t i = 0; s.delete && s.delete[i]; i++)
                nl_link_del(s.delete[i]);
        strv_free(s.keep);
        strv_free(s.delete);
        apply_rules(e, NULL);
        pthread_mutex_unlock(&ns->lock);
}

/* ---- inspect shapes ---- */

static json_t *ep_json(Net *n, Ep *p, bool running)
{
        bool live = running && p && p->ip;
        json_t *aliases = p && p->aliases ? json_loads(p->aliases, 0, NULL) : NULL;
        if (aliases && !json_array_size(aliases)) {
                json_decref(aliases);
                aliases = NULL;
        }
        json_t *ipam = p && p->static_ip ? json_pack("{s:s}", "IPv4Address", p->static_ip) : json_null();
        _cleanup_free_ char *gw = live && n->has_subnet ? ip_str(n->gw) : strdup("");
        json_t *dnsnames = json_null();
        if (live && !streq(n->name, "bridge")) {
                dnsnames = json_array();
                if (p->name && *p->name)
                        json_array_append_new(dnsnames, json_string(p->name));
                json_array_append_new(dnsnames, json_stringn(p->cid, 12));
                json_array_extend(dnsnames, aliases);
        }
        return json_pack("{s:o,s:n,s:o,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:n,s:o}", "IPAMConfig", ipam, "Links",
                         "Aliases", aliases ? aliases : json_null(), "MacAddress", live ? p->mac : "", "NetworkID",
                         n->id, "EndpointID", live && p->endpoint_id ? p->endpoint_id : "", "Gateway", gw, "IPAddress",
                         live ? p->ip : "", "IPPrefixLen", live ? n->prefix : 0, "IPv6Gateway", "",
                         "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DriverOpts", "DNSNames", dnsnames);
}

static json_t *ports_json(Engine *e, Container *c, bool running)
{
        json_t *ports = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(container_cfg(c), "ExposedPorts"), k, v) json_object_set_new(ports, k, json_null());
        json_object_foreach(json_object_get(container_hostcfg(c), "PortBindings"), k, v) {
                char key[32];
                int p;
                char proto[4];
                if (parse_port_key(k, &p, proto) == 0) {
                        snprintf(key, sizeof(key), "%d/%s", p, proto);
                        json_object_set_new(ports, key, json_null());
                }
        }
        if (!running)
                return ports;
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store, "SELECT proto, container_port, host_ip, host_port FROM ports WHERE container_id = ? ORDER BY rowid",
                NULL);
        if (st)
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                _cleanup_free_ char *key = xasprintf("%d/%s", sqlite3_column_int(st, 1), sqlite3_column_text(st, 0));
                json_t *arr = json_object_get(ports, key);
                if (!json_is_array(arr)) {
                        arr = json_array();
                        json_object_set_new(ports, key, arr);
                }
                _cleanup_free_ char *hp = xasprintf("%d", sqlite3_column_int(st, 3));
                json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp", sqlite3_column_text(st, 2), "HostPort", hp));
        }
        return ports;
}

json_t *network_ports_list_json(Engine *e, Container *c, bool running)
{
        json_t *out = json_array();
        _cleanup_json_ json_t *ports = ports_json(e, c, running);
        const char *k;
        json_t *v;
        json_object_foreach(ports, k, v) {
                int p;
                char proto[4];
                if (parse_port_key(k, &p, proto) < 0)
                        continue;
                if (!json_array_size(v)) {
                        json_array_append_new(out, json_pack("{s:i,s:s}", "PrivatePort", p, "Type", proto));
                        continue;
                }
                size_t i;
                json_t *b;
                json_array_foreach(v, i, b) json_array_append_new(
                        out, json_pack("{s:s,s:i,s:i,s:s}", "IP", json_str(b, "HostIp"), "PrivatePort", p, "PublicPort",
                                       atoi(json_str(b, "HostPort")), "Type", proto));
        }
        return out;
}

json_t *network_settings_json(Engine *e, Container *c, bool running, bool summary)
{
        NetState *ns = NS(e);
        json_t *networks = json_object();
        if (ns) {
                /* Reads only (the store serialises): no network lock under e->lock. */
                const char *mode = netmode(c);
                size_t n = 0;
                Ep *eps = eps_query(e, "container_id = ?1", c->id, &n);
                if (n == 0 && !startswith(mode, "container:")) {
                        /* Not started yet: what it will join. */
                        _cleanup_net_ Net *net = net_find(e, is_default_name(mode) ? "bridge" : mode, NULL);
                        if (net)
                                json_object_set_new(networks, net->name, ep_json(net, NULL, false));
                }
                for (size_t i = 0; i < n; i++) {
                        _cleanup_net_ Net *net = net_find(e, eps[i].nid, NULL);
                        if (net)
                                json_object_set_new(networks, net->name, ep_json(net, &eps[i], running));
                }
                eps_free(eps, n);
        }
        if (summary)
                return json_pack("{s:o}", "Networks", networks);
        json_t *first = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(networks, k, v) if (!first) first = v;
        json_t *def = json_object_get(networks, "bridge");
        json_t *j = json_pack("{s:s,s:s,s:b,s:s,s:i,s:o,s:s,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:o}", "Bridge", "",
                              "SandboxID", "", "HairpinMode", false, "LinkLocalIPv6Address", "",
                              "LinkLocalIPv6PrefixLen", 0, "Ports", ports_json(e, c, running), "SandboxKey",
                              running && c->pid > 0 ? "" : "", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
                              "EndpointID", def ? json_str(def, "EndpointID") : "", "Gateway",
                              def ? json_str(def, "Gateway") : "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                              "IPAddress", def ? json_str(def, "IPAddress") : "", "IPPrefixLen",
                              def ? (int) json_int(def, "IPPrefixLen", 0) : 0, "IPv6Gateway", "", "MacAddress",
                              def ? json_str(def, "MacAddress") : "", "Networks", networks);
        return j;
}

/* ---- DNS lookups ---- */

int network_dns_lookup(Engine *e, const char *asker, const char *qname, struct in_addr *out, int max)
{
        NetState *ns = NS(e);
        if (!ns)
                return 0;
        size_t len = strlen(qname);
        _cleanup_free_ char *name = strndup(qname, len && qname[len - 1] == '.' ? len - 1 : len);
        int found = 0;
        /* Endpoints on networks the asker is on (live), matched by name, short id, aliases. */
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT b.ip, b.name, b.container_id, b.aliases FROM endpoints a JOIN endpoints b ON a.network_id = b.network_id "
                "WHERE a.container_id = ?1 AND a.ip IS NOT NULL AND b.ip IS NOT NULL",
                NULL);
        if (st)
                sqlite3_bind_text(st, 1, asker, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW && found < max) {
                const char *ip = (const char *) sqlite3_column_text(st, 0);
                const char *n = (const char *) sqlite3_column_text(st, 1);
                const char *cid = (const char *) sqlite3_column_text(st, 2);
                const char *al = (const char *) sqlite3_column_text(st, 3);
                bool match = (n && !strcasecmp(n, name)) ||
                             (strlen(name) >= 12 && strlen(name) <= 64 && strncasecmp(cid, name, strlen(name)) == 0);
                if (!match && al) {
                        _cleanup_json_ json_t *a = json_loads(al, 0, NULL);
                        size_t i;
                        json_t *x;
                        json_array_foreach(a, i, x) if (json_is_string(x) && !strcasecmp(json_string_value(x), name)) match = true;
                }
                if (!match)
                        continue;
                struct in_addr addr;
                if (inet_pton(AF_INET, ip, &addr) != 1)
                        continue;
                bool dup = false;
                for (int i = 0; i < found; i++)
                        dup |= out[i].s_addr == addr.s_addr;
                if (!dup)
                        out[found++] = addr;
        }
        return found;
}

/* ---- verbs ---- */

static bool builtin(Net *n)
{
        return streq(n->name, "bridge") || streq(n->name, "host") || streq(n->name, "none");
}

static json_t *net_json(Engine *e, Net *n)
{
        _cleanup_free_ char *created = format_rfc3339(n->created, true);
        json_t *cfg = json_array();
        if (n->has_subnet) {
                struct in_addr base = { .s_addr = htonl(ntohl(n->net.s_addr) & mask_of(n->prefix)) };
                _cleanup_free_ char *b = ip_str(base), *g = ip_str(n->gw);
                _cleanup_free_ char *sub = xasprintf("%s/%d", b, n->prefix);
                json_t *c = json_pack("{s:s,s:s}", "Subnet", sub, "Gateway", g);
                if (n->range_s)
                        json_object_set_new(c, "IPRange", json_string(n->range_s));
                json_array_append_new(cfg, c);
        }
        json_t *containers = json_object();
        size_t ne;
        Ep *eps = eps_query(e, "network_id = ?1 AND ip IS NOT NULL", n->id, &ne);
        for (size_t i = 0; i < ne; i++) {
                _cleanup_free_ char *v4 = xasprintf("%s/%d", eps[i].ip, n->prefix);
                json_object_set_new(containers, eps[i].cid,
                                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", eps[i].name ? eps[i].name : "",
                                              "EndpointID", eps[i].endpoint_id ? eps[i].endpoint_id : "", "MacAddress",
                                              eps[i].mac ? eps[i].mac : "", "IPv4Address", v4, "IPv6Address", ""));
        }
        eps_free(eps, ne);
        json_t *labels = json_loads(n->labels ? n->labels : "{}", 0, NULL);
        json_t *opts = json_loads(n->options ? n->options : "{}", 0, NULL);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:o,s:o},s:b,s:b,s:b,s:{s:s},s:b,s:o,s:o,s:o}", "Name",
                         n->name, "Id", n->id, "Created", created, "Scope", "local", "Driver", n->driver,
                         "EnableIPv6", false, "IPAM", "Driver", "default", "Options",
                         builtin(n) ? json_null() : json_object(), "Config", cfg, "Internal", n->internal,
                         "Attachable", n->attachable, "Ingress", false, "ConfigFrom", "Network", "", "ConfigOnly",
                         false, "Containers", containers, "Options", opts ? opts : json_object(), "Labels",
                         labels ? labels : json_object());
}

static bool subnet_overlaps(Engine *e, struct in_addr a, int prefix)
{
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        bool over = false;
        for (size_t i = 0; i < nn && !over; i++) {
                if (!nets[i]->has_subnet)
                        continue;
                int p = prefix < nets[i]->prefix ? prefix : nets[i]->prefix;
                over = in_subnet(a, nets[i]->net, p);
        }
        net_list_free(nets, nn);
        return over;
}

static bool valid_net_name(const char *s)
{
        if (!s || !*s || strlen(s) > 128)
                return false;
        for (const char *p = s; *p; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
                      (p > s && (*p == '_' || *p == '.' || *p == '-'))))
                        return false;
        return true;
}

int network_create(Engine *e, json_t *body, json_t **ret, BerthError **err)
{
        NetState *ns = NS(e);
        const char *name = json_str(body, "Name");
        if (!name || !*name)
                return berr_set(err, EINVAL, "network name is required");
        if (!valid_net_name(name))
                return berr_set(err, EINVAL, "invalid network name \"%s\"", name);
        const char *driver = json_str(body, "Driver");
        if (!driver || !*driver)
                driver = "bridge";
        if (streq(driver, "host") || streq(driver, "null"))
                return berr_set(err, EPERM, "only one instance of \"%s\" network is allowed", driver);
        if (!streq(driver, "bridge"))
                return berr_set(err, ENOENT, "plugin \"%s\" not found", driver);
        json_t *ipam = json_object_get(body, "IPAM");
        json_t *cfgs = json_object_get(ipam, "Config");
        if (json_array_size(cfgs) > 1)
                return berr_set(err, ENOTSUP, "berth supports one IPv4 pool per network");
        json_t *c0 = json_array_get(cfgs, 0);
        const char *subnet = json_str(c0, "Subnet"), *gw = json_str(c0, "Gateway"), *range = json_str(c0, "IPRange");
        json_t *opts = json_object_get(body, "Options");
        json_t *labels = json_object_get(body, "Labels");

        _cleanup_free_ char *subnet_s = NULL, *gw_s = NULL, *ls = NULL, *os = NULL;
        pthread_mutex_lock(&ns->lock);
        int r;
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
                if (parse_cidr(subnet, &a, &prefix) < 0 || !strchr(subnet, '/') || prefix > 30) {
                        r = berr_set(err, EINVAL, "invalid subnet %s: invalid CIDR address: %s", subnet, subnet);
                        goto out;
                }
                if (subnet_overlaps(e, a, prefix)) {
                        r = berr_set(err, EPERM, "invalid pool request: Pool overlaps with other one on this address space");
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
                        r = berr_set(err, ENOSPC, "could not find an available, non-overlapping IPv4 address pool "
                                                  "among the defaults to assign to the network");
                        goto out;
                }
        }
        a.s_addr = htonl(ntohl(a.s_addr) & mask_of(prefix));
        if (gw && *gw) {
                if (parse_cidr(gw, &g, &gp) < 0 || !in_subnet(g, a, prefix)) {
                        r = berr_set(err, EINVAL, "invalid gateway %s: not in subnet", gw);
                        goto out;
                }
        } else
                g.s_addr = htonl(ntohl(a.s_addr) + 1);
        if (range && *range) {
                struct in_addr ra;
                int rp;
                if (parse_cidr(range, &ra, &rp) < 0 || rp < prefix || !in_subnet(ra, a, prefix)) {
                        r = berr_set(err, EINVAL, "invalid ip-range %s: not in subnet", range);
                        goto out;
                }
        }
        {
                _cleanup_free_ char *b = ip_str(a);
                subnet_s = xasprintf("%s/%d", b, prefix);
                gw_s = ip_str(g);
        }
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
        const char *brname = json_str(opts, "com.docker.network.bridge.name");
        if (brname && *brname && strlen(brname) < IFNAMSIZ)
                SQL(e, "UPDATE networks SET bridge = ?1 WHERE id = ?2", brname, id);
        {
                _cleanup_net_ Net *n = net_find(e, id, NULL);
                r = n ? bridge_ensure(n, ns->userland_proxy, err) : berr_set(err, EIO, "network vanished");
                if (r == 0)
                        r = apply_rules(e, err);
                if (r < 0) {
                        if (n && n->bridge)
                                nl_link_del(n->bridge);
                        SQL(e, "DELETE FROM networks WHERE id = ?", id);
                        goto out;
                }
        }
        *ret = json_pack("{s:s,s:s}", "Id", id, "Warning", "");
        events_network(e, id, name, "bridge", "create", NULL);
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

static bool m_name(const char *w, void *n) { return strstr(((Net *) n)->name, w) != NULL; }
static bool m_id(const char *w, void *n) { return startswith(((Net *) n)->id, w); }
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

static bool net_in_use(Engine *e, const char *nid)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT 1 FROM endpoints WHERE network_id = ? AND ip IS NOT NULL", NULL);
        if (!st)
                return true;
        sqlite3_bind_text(st, 1, nid, -1, SQLITE_TRANSIENT);
        return sqlite3_step(st) == SQLITE_ROW;
}

static bool net_matches(Engine *e, Net *n, json_t *filters, BerthError **err)
{
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v) {
                if (streq(k, "name")) {
                        if (!any_str(v, m_name, n))
                                return false;
                } else if (streq(k, "id")) {
                        if (!any_str(v, m_id, n))
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
                        bool want = d && (streq(d, "true") || streq(d, "1"));
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

int network_list(Engine *e, json_t *filters, json_t **ret, BerthError **err)
{
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

int network_inspect(Engine *e, const char *ref, json_t **ret, BerthError **err)
{
        _cleanup_net_ Net *n = NULL;
        int r = net_get(e, ref, &n, err);
        if (r < 0)
                return r;
        *ret = net_json(e, n);
        return 0;
}

static int remove_locked(Engine *e, Net *n, BerthError **err)
{
        if (builtin(n))
                return berr_set(err, EPERM, "%s is a pre-defined network and cannot be removed", n->name);
        if (net_in_use(e, n->id))
                return berr_set(err, EBUSY, "error while removing network: network %s id %s has active endpoints",
                                n->name, n->id);
        SQL(e, "INSERT OR IGNORE INTO lost_networks SELECT container_id, ?1 FROM endpoints WHERE network_id = ?2",
            n->name, n->id);
        SQL(e, "DELETE FROM endpoints WHERE network_id = ?", n->id);
        SQL(e, "DELETE FROM networks WHERE id = ?", n->id);
        if (n->bridge)
                nl_link_del(n->bridge);
        apply_rules(e, NULL);
        events_network(e, n->id, n->name, n->driver, "destroy", NULL);
        return 0;
}

int network_remove(Engine *e, const char *ref, BerthError **err)
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

int network_prune(Engine *e, json_t *filters, json_t **ret, BerthError **err)
{
        NetState *ns = NS(e);
        json_t *deleted = json_array();
        pthread_mutex_lock(&ns->lock);
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        for (size_t i = 0; i < nn; i++) {
                if (builtin(nets[i]))
                        continue;
                json_t *lab = json_object_get(filters, "label");
                size_t k;
                json_t *x;
                bool ok = true;
                json_array_foreach(lab, k, x) if (json_is_string(x) && !m_label(json_string_value(x), nets[i])) ok = false;
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

/* Container, running pid (0 if not running) and name, without holding ns->lock. */
static int conn_target(Engine *e, json_t *body, Container **ret, int *pid, char **name, BerthError **err)
{
        const char *ref = json_str(body, "Container");
        if (!ref || !*ref)
                return berr_set(err, EINVAL, "container is required");
        Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        *pid = (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED) ? c->pid : 0;
        *name = strdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        *ret = c;
        return 0;
}

int network_connect(Engine *e, const char *ref, json_t *body, BerthError **err)
{
        NetState *ns = NS(e);
        _cleanup_container_ Container *c = NULL;
        _cleanup_free_ char *cname = NULL;
        int pid;
        int r = conn_target(e, body, &c, &pid, &cname, err);
        if (r < 0)
                return r;
        const char *mode = netmode(c);
        if (streq(mode, "host") || streq(mode, "none") || startswith(mode, "container:"))
                return berr_set(err, EPERM, "container cannot be disconnected from host network or connected to host network");
        pthread_mutex_lock(&ns->lock);
        _cleanup_net_ Net *n = NULL;
        r = net_get(e, ref, &n, err);
        if (r < 0)
                goto out;
        if (!streq(n->driver, "bridge")) {
                r = berr_set(err, EPERM, "container cannot be disconnected from host network or connected to host network");
                goto out;
        }
        r = ensure_seeded(e, c, err);
        if (r < 0)
                goto out;
        json_t *epcfg = json_object_get(body, "EndpointConfig");
        r = add_membership(e, c->id, n->id, cname, epcfg);
        if (r == -EEXIST) {
                r = berr_set(err, EPERM, "endpoint with name %s already exists in network %s", cname, n->name);
                goto out;
        }
        if (r < 0) {
                r = berr_set(err, EIO, "cannot record endpoint");
                goto out;
        }
        if (pid > 0) {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                        e->store, "SELECT static_ip, static_mac FROM endpoints WHERE container_id = ?1 AND network_id = ?2", NULL);
                _cleanup_free_ char *sip = NULL, *smac = NULL;
                if (st) {
                        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                        sqlite3_bind_text(st, 2, n->id, -1, SQLITE_TRANSIENT);
                        if (sqlite3_step(st) == SQLITE_ROW) {
                                sip = col(st, 0);
                                smac = col(st, 1);
                        }
                }
                struct in_addr a = { 0 };
                r = ipam_alloc(e, n, sip, &a, err);
                if (r < 0) {
                        SQL(e, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", c->id, n->id);
                        goto out;
                }
                _cleanup_free_ char *ip = ip_str(a);
                char mac[18];
                if (smac)
                        snprintf(mac, sizeof(mac), "%s", smac);
                else
                        mac_for(a, mac);
                char eid[65];
                random_hex_id(eid);
                _cleanup_stmt_ sqlite3_stmt *cs = store_prepare(
                        e->store, "SELECT count(*) FROM endpoints WHERE container_id = ? AND ip IS NOT NULL", NULL);
                int live = 0;
                if (cs) {
                        sqlite3_bind_text(cs, 1, c->id, -1, SQLITE_TRANSIENT);
                        if (sqlite3_step(cs) == SQLITE_ROW)
                                live = sqlite3_column_int(cs, 0);
                }
                /* eth<N>: the first name not in use */
                _cleanup_free_ char *ifname = xasprintf("eth%d", live);
                SQL(e, "UPDATE endpoints SET ip = ?1, mac = ?2, endpoint_id = ?3, ifname = ?4 WHERE container_id = ?5 AND network_id = ?6",
                    ip, mac, eid, ifname, c->id, n->id);
                _cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", pid);
                _cleanup_close_ int nsfd = open(p, O_RDONLY | O_CLOEXEC);
                r = nsfd < 0 ? berr_set(err, errno, "cannot open %s: %m", p) : attach_eps(e, c->id, nsfd, n->id, err);
                if (r < 0) {
                        char host[IFNAMSIZ];
                        snprintf(host, sizeof(host), "bv%.8s%.4s", c->id, n->id);
                        nl_link_del(host);
                        SQL(e, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", c->id, n->id);
                        goto out;
                }
                dns_add_container(ns, c->id, nsfd);
                events_network(e, n->id, n->name, n->driver, "connect", c->id);
        }
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}

int network_disconnect(Engine *e, const char *ref, json_t *body, BerthError **err)
{
        NetState *ns = NS(e);
        _cleanup_container_ Container *c = NULL;
        _cleanup_free_ char *cname = NULL;
        int pid;
        int r = conn_target(e, body, &c, &pid, &cname, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&ns->lock);
        _cleanup_net_ Net *n = NULL;
        r = net_get(e, ref, &n, err);
        if (r < 0)
                goto out;
        if (!streq(n->driver, "bridge")) {
                r = berr_set(err, EPERM, "container cannot be disconnected from host network or connected to host network");
                goto out;
        }
        r = ensure_seeded(e, c, err);
        if (r < 0)
                goto out;
        {
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT 1 FROM endpoints WHERE container_id = ?1 AND network_id = ?2", NULL);
                bool member = false;
                if (st) {
                        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                        sqlite3_bind_text(st, 2, n->id, -1, SQLITE_TRANSIENT);
                        member = sqlite3_step(st) == SQLITE_ROW;
                }
                if (!member) {
                        r = berr_set(err, EPERM, "container %s is not connected to network %s", c->id, n->name);
                        goto out;
                }
        }
        char host[IFNAMSIZ];
        snprintf(host, sizeof(host), "bv%.8s%.4s", c->id, n->id);
        nl_link_del(host);
        SQL(e, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", c->id, n->id);
        apply_rules(e, NULL);
        events_network(e, n->id, n->name, n->driver, "disconnect", c->id);
        r = 0;
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}
