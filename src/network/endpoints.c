/* A container's endpoints: memberships, address assignment and veths at
 * start, release at exit, connect/disconnect, and name lookups for the
 * embedded DNS. */
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

/* ---- endpoints ---- */

static char *container_name_of(Network *e, NetContainer *c)
{
        return xstrdup(c->name ? c->name : "");
}

static char *json_or(json_t *v, bool array)
{
        if (array ? json_array_size(v) > 0 : json_object_size(v) > 0)
                return json_dumps(v, JSON_COMPACT);
        return xstrdup(array ? "[]" : "{}");
}

static int add_membership(Network *e, const char *cid, const char *nid, const char *name, json_t *epcfg)
{
        json_t *aliases = json_object_get(epcfg, "Aliases");
        _cleanup_free_ char *al = json_is_array(aliases) ? json_dumps(aliases, JSON_COMPACT) : xstrdup("[]");
        json_t *ipam = json_object_get(epcfg, "IPAMConfig");
        const char *sip = json_str(ipam, "IPv4Address"), *sip6 = json_str(ipam, "IPv6Address");
        const char *smac = json_str(epcfg, "MacAddress");
        _cleanup_free_ char *links = json_or(json_object_get(epcfg, "Links"), true);
        _cleanup_free_ char *ll = json_or(json_object_get(ipam, "LinkLocalIPs"), true);
        _cleanup_free_ char *dopts = json_or(json_object_get(epcfg, "DriverOpts"), false);
        return SQL(e,
                   "INSERT INTO endpoints (container_id, network_id, seq, name, aliases, static_ip, static_mac, static_ip6, "
                   "links, linklocal, driver_opts) "
                   "VALUES (?1, ?2, (SELECT coalesce(max(seq), -1) + 1 FROM endpoints WHERE container_id = ?1), ?3, ?4, "
                   "?5, ?6, ?7, ?8, ?9, ?10)",
                   cid, nid, name, al, sip && *sip ? sip : NULL, smac && *smac ? smac : NULL, sip6 && *sip6 ? sip6 : NULL,
                   links, ll, dopts);
}

/* The memberships a container was created with (NetworkMode and
 * NetworkingConfig.EndpointsConfig), recorded once. ns->lock held. */
static int ensure_seeded(Network *e, NetContainer *c, BerthError **err)
{
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, "SELECT 1 FROM seeded WHERE container_id = ?", NULL);
                if (!st)
                        return berr_set(err, EIO, "state store error");
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW)
                        return 0;
        }
        const char *mode = net_mode(c);
        if (startswith(mode, "container:"))
                return SQL(e, "INSERT OR IGNORE INTO seeded VALUES (?)", c->id);
        _cleanup_net_ Net *primary = NULL;
        int r = net_get(e, net_is_default_name(mode) ? "bridge" : mode, &primary, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cname = container_name_of(e, c);
        json_t *eps = json_object_get(json_object_get(c->config, "NetworkingConfig"), "EndpointsConfig");
        json_t *pcfg = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(eps, k, v) {
                if (streq(k, primary->name) || streq(k, primary->id) || (net_is_default_name(k) && streq(primary->name, "bridge")))
                        pcfg = v;
        }
        if (streq(primary->driver, "bridge")) {
                r = net_check_epcfg(primary, pcfg, err);
                if (r < 0)
                        return r;
        }
        add_membership(e, c->id, primary->id, cname, pcfg);
        if (streq(primary->driver, "bridge")) {
                json_object_foreach(eps, k, v) {
                        if (v == pcfg)
                                continue;
                        _cleanup_net_ Net *n = net_find(e, net_is_default_name(k) ? "bridge" : k, NULL);
                        if (!n)
                                return berr_set(err, ENOENT, "network %s not found", k);
                        if (!streq(n->driver, "bridge"))
                                continue;
                        r = net_check_epcfg(n, v, err);
                        if (r < 0)
                                return r;
                        add_membership(e, c->id, n->id, cname, v);
                }
        }
        /* Config.MacAddress (API < 1.44) applies to the primary endpoint. */
        const char *mac = json_str(net_cfg(c), "MacAddress");
        if (mac && *mac)
                SQL(e, "UPDATE endpoints SET static_mac = ?1 WHERE container_id = ?2 AND network_id = ?3 AND static_mac IS NULL",
                    mac, c->id, primary->id);
        return SQL(e, "INSERT OR IGNORE INTO seeded VALUES (?)", c->id);
}

/* ---- container hooks ---- */

static bool has_bridge_eps(Network *e, const char *cid)
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
static void emit_eps(Network *e, const char *cid, const char *action)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT n.id, n.name, n.driver FROM endpoints p JOIN networks n ON n.id = p.network_id "
                "WHERE p.container_id = ? AND (p.ip IS NOT NULL OR n.driver != 'bridge') ORDER BY p.seq",
                NULL);
        if (st)
                sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW)
                events_network(e->events, (const char *) sqlite3_column_text(st, 0), (const char *) sqlite3_column_text(st, 1),
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
void net_release_locked(Network *e, const char *cid)
{
        NetState *ns = NS(e);
        proxy_stop_container(ns, cid);
        dns_remove_container(ns, cid);
        size_t n;
        Ep *eps = net_eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
        int *idx = xcalloc(n + 1, sizeof(*idx));
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
        net_eps_free(eps, n);
        SQL(e, "UPDATE endpoints SET ip = NULL, ip6 = NULL, mac = NULL, endpoint_id = NULL, ifname = NULL WHERE container_id = ?",
            cid);
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
                net_apply_rules(e, NULL);
}

void network_container_release(Network *e, const char *id)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        emit_eps(e, id, "disconnect");
        net_release_locked(e, id);
        pthread_mutex_unlock(&ns->lock);
}

void network_container_forget(Network *e, const char *id)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        /* rm -f can get here before the exit handler released the endpoints */
        emit_eps(e, id, "disconnect");
        net_release_locked(e, id);
        SQL(e, "DELETE FROM endpoints WHERE container_id = ?", id);
        SQL(e, "DELETE FROM seeded WHERE container_id = ?", id);
        SQL(e, "DELETE FROM lost_networks WHERE container_id = ?", id);
        pthread_mutex_unlock(&ns->lock);
}

char **network_container_ids(Network *e)
{
        NetState *ns = NS(e);
        if (!ns)
                return NULL;
        char **ids = NULL;
        pthread_mutex_lock(&ns->lock);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                "SELECT container_id FROM endpoints UNION SELECT container_id FROM ports "
                "UNION SELECT container_id FROM seeded UNION SELECT container_id FROM lost_networks",
                NULL);
        while (st && sqlite3_step(st) == SQLITE_ROW)
                if (sqlite3_column_text(st, 0))
                        strv_extend(&ids, (const char *) sqlite3_column_text(st, 0));
        pthread_mutex_unlock(&ns->lock);
        return ids;
}

char *network_container_netns(Network *e, NetContainer *c)
{
        const char *m = net_mode(c);
        if (!startswith(m, "container:"))
                return NULL;
        _cleanup_netc_ NetContainer *o = NULL;
        if (net_lookup(e, m + 10, &o, NULL) < 0)
                return NULL;
        int pid = o->pid;
        return pid > 0 ? xasprintf("/proc/%d/ns/net", pid) : NULL;
}

static void mac_for(struct in_addr a, char out[18])
{
        const uint8_t *b = (const uint8_t *) &a.s_addr;
        snprintf(out, 18, "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
}

/* Addresses for the endpoint (cid, net): its static ones or the lowest free, and its MAC, interface name and
 * endpoint id, recorded in the row; *ret_ip the IPv4 address. ns->lock held. */
static int ep_assign(Network *e, Net *net, const char *cid, const char *ifname, const char *cname, char **ret_ip,
                     BerthError **err)
{
        _cleanup_free_ char *sip = NULL, *sip6 = NULL, *smac = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                        e->store,
                        "SELECT static_ip, static_ip6, static_mac FROM endpoints WHERE container_id = ?1 AND network_id = ?2",
                        NULL);
                if (!st)
                        return berr_set(err, EIO, "state store error");
                sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 2, net->id, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        sip = net_col(st, 0);
                        sip6 = net_col(st, 1);
                        smac = net_col(st, 2);
                }
        }
        struct in_addr a = { 0 };
        int r = net_ipam_alloc(e, net, sip, &a, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *ip6 = NULL;
        r = net_ipam_alloc6(e, net, sip6, &ip6, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *ip = net_ip_str(a);
        char mac[18];
        if (smac)
                snprintf(mac, sizeof(mac), "%s", smac);
        else
                mac_for(a, mac);
        char eid[65];
        random_hex_id(eid);
        r = cname ? SQL(e, "UPDATE endpoints SET ip = ?1, mac = ?2, endpoint_id = ?3, ifname = ?4, ip6 = ?5, name = ?6 "
                           "WHERE container_id = ?7 AND network_id = ?8",
                        ip, mac, eid, ifname, ip6, cname, cid, net->id)
                  : SQL(e, "UPDATE endpoints SET ip = ?1, mac = ?2, endpoint_id = ?3, ifname = ?4, ip6 = ?5 "
                           "WHERE container_id = ?6 AND network_id = ?7",
                        ip, mac, eid, ifname, ip6, cid, net->id);
        if (r < 0)
                return berr_set(err, EIO, "cannot record endpoint");
        if (ret_ip)
                *ret_ip = TAKE_PTR(ip);
        return 0;
}

/* A network this stopped container was on has been removed: a network of that
 * name created since takes its place (Docker resolves by name too), else the
 * start fails with Docker's error. */
static int check_lost(Network *e, NetContainer *c, BerthError **err)
{
        _cleanup_strv_free_ char **names = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT name FROM lost_networks WHERE container_id = ? ORDER BY name", NULL);
                if (!st)
                        return berr_set(err, EIO, "state store error");
                sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
                while (sqlite3_step(st) == SQLITE_ROW)
                        strv_push(&names, xstrdup((const char *) sqlite3_column_text(st, 0)));
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

/* o: the container of --network container:X, looked up before ns->lock was taken. */
static int prepare_locked(Network *e, NetContainer *c, NetContainer *o, BerthError **err)
{
        const char *mode = net_mode(c);
        const char *dir = c->dir;
        _cleanup_free_ char *hostsp = xasprintf("%s/hosts", dir), *resolvp = xasprintf("%s/resolv.conf", dir);
        if (startswith(mode, "container:")) {
                bool running = o->running;
                if (!running)
                        return berr_set(err, EBUSY, "cannot join network namespace of a non running container: container %s is %s",
                                        o->id, "not running");
                /* Share the other container's view of names. */
                const char *odir = o->dir;
                const char *files[] = { "hosts", "resolv.conf" };
                for (size_t i = 0; i < 2; i++) {
                        _cleanup_free_ char *src = xasprintf("%s/%s", odir, files[i]), *dst = xasprintf("%s/%s", dir, files[i]);
                        _cleanup_free_ char *data = NULL;
                        if (read_file(src, &data, NULL) == 0)
                                net_write_text(dst, data);
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
        Ep *eps = net_eps_query(e, "container_id = ?1", c->id, &n);
        char *first_ip = NULL;
        bool embedded = false;
        int ifn = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_net_ Net *net = net_find(e, eps[i].nid, NULL);
                if (!net || !streq(net->driver, "bridge"))
                        continue;
                _cleanup_free_ char *ifname = xasprintf("eth%d", ifn++), *ip = NULL;
                r = ep_assign(e, net, c->id, ifname, cname, &ip, err);
                if (r < 0)
                        goto fail;
                if (!first_ip)
                        first_ip = xstrdup(ip);
                embedded = true;
        }
        net_eps_free(eps, n);
        eps = NULL;
        n = 0;

        /* Published ports: the proxy's bind is the reservation. */
        if (first_ip) {
                PortReq *pr = NULL;
                size_t np = 0;
                r = net_collect_ports(c, &pr, &np, err);
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
                                r = berr_set(err, EINVAL, "invalid host IP address: %s", pr[i].host_ip);
                                free(pr);
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
                        r = net_apply_rules(e, err);
                        if (r < 0)
                                goto fail;
                } else
                        free(pr);
        }
        r = net_write_hosts(e, c, hostsp, first_ip);
        if (r == 0)
                r = net_write_resolv(e, c, embedded, resolvp);
        if (r < 0) {
                r = berr_set(err, -r, "cannot write container files in %s: %s", dir, strerror(-r));
                goto fail;
        }
        free(first_ip);
        return 0;
fail:
        net_eps_free(eps, n);
        free(first_ip);
        net_release_locked(e, c->id);
        return r;
}

int network_container_prepare(Network *e, NetContainer *c, BerthError **err)
{
        NetState *ns = NS(e);
        if (!ns)
                return 0;
        _cleanup_netc_ NetContainer *o = NULL;
        if (startswith(net_mode(c), "container:")) {
                int r = net_lookup(e, net_mode(c) + 10, &o, err);
                if (r < 0)
                        return r;
        }
        pthread_mutex_lock(&ns->lock);
        int r = prepare_locked(e, c, o, err);
        pthread_mutex_unlock(&ns->lock);
        return r;
}

typedef struct {
        Network *e;
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
                struct in6_addr a6;
                if (r == 0 && x->eps[i].ip6 && inet_pton(AF_INET6, x->eps[i].ip6, &a6) == 1)
                        r = nl_addr6_add(idx, &a6, x->nets[i]->prefix6);
                _cleanup_json_ json_t *ll = json_loads(x->eps[i].linklocal ? x->eps[i].linklocal : "[]", 0, NULL);
                size_t k;
                json_t *v;
                json_array_foreach(ll, k, v) {
                        const char *s = json_string_value(v);
                        struct in_addr l4;
                        if (r == 0 && s && inet_pton(AF_INET, s, &l4) == 1)
                                r = nl_addr_add(idx, l4, 16);
                        else if (r == 0 && s && inet_pton(AF_INET6, s, &a6) == 1)
                                r = nl_addr6_add(idx, &a6, 64);
                }
                if (r == 0)
                        r = nl_link_up(idx);
                if (r == 0 && !routed && !x->nets[i]->internal) {
                        r = nl_route_default(x->nets[i]->gw, idx);
                        if (r == 0 && x->eps[i].ip6 && x->nets[i]->has_subnet6)
                                r = nl_route6_default(&x->nets[i]->gw6, idx);
                        routed = true;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int attach_eps(Network *e, const char *cid, int nsfd, const char *only_nid, BerthError **err)
{
        size_t n;
        Ep *eps = net_eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
        Net **nets = xcalloc(n + 1, sizeof(*nets));
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
                int q = nl_veth_add(host, eps[i].ifname, nsfd, has_mac ? mac : NULL, nets[i]->mtu ? nets[i]->mtu : NET_MTU,
                                    bidx);
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
        net_eps_free(eps, n);
        return r;
}

int network_container_attach(Network *e, NetContainer *c, int pid, BerthError **err)
{
        NetState *ns = NS(e);
        if (!ns || startswith(net_mode(c), "container:"))
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

/* ---- DNS lookups ---- */

/* The asker's endpoint links ["target:alias"] on this network make alias a name of target. */
static bool link_names(const char *links, const char *alias, const char *target)
{
        if (!links || !target || !*target || streq(links, "[]"))
                return false;
        _cleanup_json_ json_t *l = json_loads(links, 0, NULL);
        size_t i;
        json_t *x;
        json_array_foreach(l, i, x) {
                const char *s = json_string_value(x);
                if (!s)
                        continue;
                if (*s == '/')
                        s++;
                const char *colon = strchr(s, ':');
                const char *al = colon ? colon + 1 : s;
                size_t tl = colon ? (size_t) (colon - s) : strlen(s);
                if (*al == '/')
                        al++;
                if (!strcasecmp(al, alias) && strlen(target) == tl && !strncasecmp(s, target, tl))
                        return true;
        }
        return false;
}

/* Matching endpoints' addresses: family AF_INET (ip) or AF_INET6 (ip6) into out (in_addr or in6_addr). */
static int dns_lookup(Network *e, const char *asker, const char *qname, int family, void *out, int max)
{
        NetState *ns = NS(e);
        if (!ns)
                return 0;
        size_t len = strlen(qname);
        _cleanup_free_ char *name = xstrndup(qname, len && qname[len - 1] == '.' ? len - 1 : len);
        size_t asz = family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        int found = 0;
        /* Endpoints on networks the asker is on (live), matched by name, short id, aliases, the asker's links. */
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                e->store,
                family == AF_INET
                        ? "SELECT b.ip, b.name, b.container_id, b.aliases, a.links FROM endpoints a JOIN endpoints b "
                          "ON a.network_id = b.network_id "
                          "WHERE a.container_id = ?1 AND a.ip IS NOT NULL AND b.ip IS NOT NULL"
                        : "SELECT b.ip6, b.name, b.container_id, b.aliases, a.links FROM endpoints a JOIN endpoints b "
                          "ON a.network_id = b.network_id "
                          "WHERE a.container_id = ?1 AND a.ip IS NOT NULL AND b.ip6 IS NOT NULL",
                NULL);
        if (st)
                sqlite3_bind_text(st, 1, asker, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW && found < max) {
                const char *ip = (const char *) sqlite3_column_text(st, 0);
                const char *n = (const char *) sqlite3_column_text(st, 1);
                const char *cid = (const char *) sqlite3_column_text(st, 2);
                const char *al = (const char *) sqlite3_column_text(st, 3);
                const char *links = (const char *) sqlite3_column_text(st, 4);
                bool match = (n && !strcasecmp(n, name)) || link_names(links, name, n) ||
                             (strlen(name) >= 12 && strlen(name) <= 64 && strncasecmp(cid, name, strlen(name)) == 0);
                if (!match && al) {
                        _cleanup_json_ json_t *a = json_loads(al, 0, NULL);
                        size_t i;
                        json_t *x;
                        json_array_foreach(a, i, x) if (json_is_string(x) && !strcasecmp(json_string_value(x), name)) match = true;
                }
                if (!match)
                        continue;
                uint8_t addr[sizeof(struct in6_addr)];
                if (inet_pton(family, ip, addr) != 1)
                        continue;
                bool dup = false;
                for (int i = 0; i < found; i++)
                        dup |= memcmp((uint8_t *) out + (size_t) i * asz, addr, asz) == 0;
                if (!dup)
                        memcpy((uint8_t *) out + (size_t) found++ * asz, addr, asz);
        }
        return found;
}

int network_dns_lookup(Network *e, const char *asker, const char *qname, struct in_addr *out, int max)
{
        return dns_lookup(e, asker, qname, AF_INET, out, max);
}

int network_dns_lookup6(Network *e, const char *asker, const char *qname, struct in6_addr *out, int max)
{
        return dns_lookup(e, asker, qname, AF_INET6, out, max);
}

/* ---- connect and disconnect ---- */

/* Container, running pid (0 if not running) and name, without holding ns->lock. */
static int conn_target(Network *e, json_t *body, NetContainer **ret, int *pid, char **name, BerthError **err)
{
        const char *ref = json_str(body, "Container");
        if (!ref || !*ref)
                return berr_set(err, EINVAL, "container is required");
        NetContainer *c = NULL;
        int r = net_lookup(e, ref, &c, err);
        if (r < 0)
                return r;
        *pid = c->pid;
        *name = xstrdup(c->name ? c->name : "");
        *ret = c;
        return 0;
}

/* The network of a connect or disconnect: a bridge network, with the
 * container's memberships recorded (ns->lock held). */
static int bridge_target_locked(Network *e, const char *ref, NetContainer *c, Net **ret, BerthError **err)
{
        _cleanup_net_ Net *n = NULL;
        int r = net_get(e, ref, &n, err);
        if (r < 0)
                return r;
        if (!streq(n->driver, "bridge"))
                return berr_set(err, EPERM,
                                "container cannot be disconnected from host network or connected to host network");
        r = ensure_seeded(e, c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

int network_connect(Network *e, const char *ref, json_t *body, BerthError **err)
{
        NetState *ns = NS(e);
        _cleanup_netc_ NetContainer *c = NULL;
        _cleanup_free_ char *cname = NULL;
        int pid;
        int r = conn_target(e, body, &c, &pid, &cname, err);
        if (r < 0)
                return r;
        const char *mode = net_mode(c);
        if (streq(mode, "host") || streq(mode, "none") || startswith(mode, "container:"))
                return berr_set(err, EPERM, "container cannot be disconnected from host network or connected to host network");
        pthread_mutex_lock(&ns->lock);
        _cleanup_net_ Net *n = NULL;
        r = bridge_target_locked(e, ref, c, &n, err);
        if (r < 0)
                goto out;
        json_t *epcfg = json_object_get(body, "EndpointConfig");
        r = net_check_epcfg(n, epcfg, err);
        if (r < 0)
                goto out;
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
                r = ep_assign(e, n, c->id, ifname, NULL, NULL, err);
                if (r < 0) {
                        SQL(e, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", c->id, n->id);
                        goto out;
                }
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
                /* A running container keeps its namespace and so its listener: re-opening it would race
                 * the close of the old socket (the UDP bind fails while that is still open). */
                if (!dns_has_container(ns, c->id))
                        dns_add_container(ns, c->id, nsfd);
                events_network(e->events, n->id, n->name, n->driver, "connect", c->id);
        }
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}

int network_disconnect(Network *e, const char *ref, json_t *body, BerthError **err)
{
        NetState *ns = NS(e);
        _cleanup_netc_ NetContainer *c = NULL;
        _cleanup_free_ char *cname = NULL;
        int pid;
        int r = conn_target(e, body, &c, &pid, &cname, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&ns->lock);
        _cleanup_net_ Net *n = NULL;
        r = bridge_target_locked(e, ref, c, &n, err);
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
        net_apply_rules(e, NULL);
        events_network(e->events, n->id, n->name, n->driver, "disconnect", c->id);
        r = 0;
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}
