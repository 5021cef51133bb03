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
#include "engine/container.h"
#include "engine/events.h"
#include "netlink.h"
#include "network-internal.h"

/* ---- endpoints ---- */

static char *container_name_of(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        char *n = strdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        return n;
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
        add_membership(e, c->id, primary->id, cname, pcfg);
        if (streq(primary->driver, "bridge")) {
                json_object_foreach(eps, k, v) {
                        if (v == pcfg)
                                continue;
                        _cleanup_net_ Net *n = net_find(e, net_is_default_name(k) ? "bridge" : k, NULL);
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
void net_release_locked(Engine *e, const char *cid)
{
        NetState *ns = NS(e);
        proxy_stop_container(ns, cid);
        dns_remove_container(ns, cid);
        size_t n;
        Ep *eps = net_eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
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
        net_eps_free(eps, n);
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
                net_apply_rules(e, NULL);
}

void network_container_release(Engine *e, const char *id)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        pthread_mutex_lock(&ns->lock);
        emit_eps(e, id, "disconnect");
        net_release_locked(e, id);
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
        net_release_locked(e, id);
        SQL(e, "DELETE FROM endpoints WHERE container_id = ?", id);
        SQL(e, "DELETE FROM seeded WHERE container_id = ?", id);
        SQL(e, "DELETE FROM lost_networks WHERE container_id = ?", id);
        pthread_mutex_unlock(&ns->lock);
}

char *network_container_netns(Engine *e, Container *c)
{
        const char *m = net_mode(c);
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
        const char *mode = net_mode(c);
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
                struct in_addr a = { 0 };
                r = net_ipam_alloc(e, net, eps[i].static_ip, &a, err);
                if (r < 0)
                        goto fail;
                _cleanup_free_ char *ip = net_ip_str(a);
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
        Ep *eps = net_eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cid, &n);
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
        net_eps_free(eps, n);
        return r;
}

int network_container_attach(Engine *e, Container *c, int pid, BerthError **err)
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

/* ---- connect and disconnect ---- */

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

/* The network of a connect or disconnect: a bridge network, with the
 * container's memberships recorded (ns->lock held). */
static int bridge_target_locked(Engine *e, const char *ref, Container *c, Net **ret, BerthError **err)
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

int network_connect(Engine *e, const char *ref, json_t *body, BerthError **err)
{
        NetState *ns = NS(e);
        _cleanup_container_ Container *c = NULL;
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
                                sip = net_col(st, 0);
                                smac = net_col(st, 1);
                        }
                }
                struct in_addr a = { 0 };
                r = net_ipam_alloc(e, n, sip, &a, err);
                if (r < 0) {
                        SQL(e, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", c->id, n->id);
                        goto out;
                }
                _cleanup_free_ char *ip = net_ip_str(a);
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
        events_network(e, n->id, n->name, n->driver, "disconnect", c->id);
        r = 0;
out:
        pthread_mutex_unlock(&ns->lock);
        return r;
}
