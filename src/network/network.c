/* Networks and endpoints: the state store tables, bridges and nftables rules,
 * start/stop and re-adoption after a restart. See network.h; the rest of the
 * implementation is split over the files named in network-internal.h. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/util.h"
#include "state/events.h"
#include "netlink.h"
#include "network-internal.h"

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
        /* 3: IPv6 pools, auxiliary addresses; per endpoint IPv6, links, link-local addresses, driver options */
        "ALTER TABLE networks ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE networks ADD COLUMN subnet6 TEXT;"
        "ALTER TABLE networks ADD COLUMN gateway6 TEXT;"
        "ALTER TABLE networks ADD COLUMN ip_range6 TEXT;"
        "ALTER TABLE networks ADD COLUMN aux TEXT NOT NULL DEFAULT '{}';"
        "ALTER TABLE networks ADD COLUMN aux6 TEXT NOT NULL DEFAULT '{}';"
        "ALTER TABLE endpoints ADD COLUMN static_ip6 TEXT;"
        "ALTER TABLE endpoints ADD COLUMN ip6 TEXT;"
        "ALTER TABLE endpoints ADD COLUMN links TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE endpoints ADD COLUMN linklocal TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE endpoints ADD COLUMN driver_opts TEXT NOT NULL DEFAULT '{}';",
};

/* ---- bridges and nftables ---- */

static void write_sysctl(const char *path, const char *v)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, v, strlen(v)) < 0) {
                /* best effort */
        }
}

int net_bridge_ensure(Net *n, bool userland_proxy, BerthError **err)
{
        if (!streq(n->driver, "bridge") || !n->bridge || !n->has_subnet)
                return 0;
        int idx = nl_link_index(n->bridge);
        if (idx == 0) {
                int r = nl_bridge_add(n->bridge, n->mtu ? n->mtu : NET_MTU, NULL);
                if (r < 0 && r != -EEXIST)
                        return berr_set(err, -r, "cannot create bridge %s: %s", n->bridge, strerror(-r));
                idx = nl_link_index(n->bridge);
        }
        if (idx <= 0)
                return berr_set(err, ENODEV, "bridge %s did not appear", n->bridge);
        int r = nl_addr_add(idx, n->gw, n->prefix);
        if (r < 0)
                return berr_set(err, -r, "cannot add %s to %s: %s", n->gw_s ? n->gw_s : "gateway", n->bridge, strerror(-r));
        if (n->ipv6 && n->has_subnet6) {
                r = nl_addr6_add(idx, &n->gw6, n->prefix6);
                if (r < 0)
                        return berr_set(err, -r, "cannot add %s to %s: %s", n->gw6_s ? n->gw6_s : "the IPv6 gateway",
                                        n->bridge, strerror(-r));
                /* Containers reach each other and the gateway; routing beyond is the host's forwarding setting. */
        }
        nl_link_up(idx);
        _cleanup_free_ char *p = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
        write_sysctl(p, userland_proxy ? "0" : "1");
        return 0;
}

/* Rebuilds `table ip berth` from the store. ns->lock held. */
int net_apply_rules(Network *e, BerthError **err)
{
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        NftNet *fn = xcalloc(nn + 1, sizeof(*fn));
        size_t k = 0;
        for (size_t i = 0; i < nn; i++) {
                if (!streq(nets[i]->driver, "bridge") || !nets[i]->has_subnet)
                        continue;
                fn[k].bridge = nets[i]->bridge;
                struct in_addr base = { .s_addr = htonl(ntohl(nets[i]->net.s_addr) & net_mask_of(nets[i]->prefix)) };
                char b[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &base, b, sizeof(b));
                snprintf(fn[k].subnet, sizeof(fn[k].subnet), "%s/%d", b, nets[i]->prefix);
                fn[k].internal = nets[i]->internal;
                fn[k].masquerade = nets[i]->masquerade;
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
                ports = xrealloc(ports, (np + 1) * sizeof(*ports));
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

int network_start(Network *e, bool userland_proxy, BerthError **err)
{
        int r = store_migrate(e->store, "network", steps, ELEMENTSOF(steps), err);
        if (r < 0)
                return r;
        NetState *ns = xcalloc(1, sizeof(*ns));
        if (!ns)
                return berr_set(err, ENOMEM, "out of memory");
        pthread_mutex_init(&ns->lock, NULL);
        ns->userland_proxy = userland_proxy;
        e->state = ns;
        r = net_default_networks(e, err);
        if (r < 0)
                return r;
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        size_t nn;
        Net **nets = net_list_all(e, &nn);
        for (size_t i = 0; i < nn && r == 0; i++)
                r = net_bridge_ensure(nets[i], userland_proxy, err);
        net_list_free(nets, nn);
        if (r < 0)
                return r;
        return dns_start(e, ns) < 0 ? berr_set(err, EIO, "cannot start the embedded DNS server") : 0;
}

void network_stop(Network *e)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        proxy_stop_all(ns);
        dns_stop(ns);
        pthread_mutex_destroy(&ns->lock);
        free(ns);
        e->state = NULL;
}

/* ---- re-adoption after a restart ---- */

typedef struct {
        Network *e;
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

void network_adopt(Network *e)
{
        NetState *ns = NS(e);
        if (!ns)
                return;
        LinkScan s = { e, NULL, NULL };
        /* containers with live endpoints, and their pids: looked up before ns->lock is taken */
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT DISTINCT container_id FROM endpoints WHERE ip IS NOT NULL", NULL);
        _cleanup_strv_free_ char **cids = NULL;
        while (st && sqlite3_step(st) == SQLITE_ROW)
                strv_extend(&cids, (const char *) sqlite3_column_text(st, 0));
        size_t ncids = strv_length(cids);
        _cleanup_free_ int *pids = xcalloc(ncids + 1, sizeof(int));
        for (size_t i = 0; i < ncids; i++) {
                _cleanup_netc_ NetContainer *c = NULL;
                if (net_lookup(e, cids[i], &c, NULL) == 0 && c->running && !c->starting)
                        pids[i] = c->pid;
        }
        pthread_mutex_lock(&ns->lock);
        for (size_t i = 0; cids && cids[i]; i++) {
                int pid = pids[i];
                _cleanup_free_ char *p = pid > 0 ? xasprintf("/proc/%d/ns/net", pid) : NULL;
                _cleanup_close_ int nsfd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
                if (nsfd < 0) {
                        log_info("reconcile: released the addresses and ports of container %.12s: not running",
                                 cids[i]);
                        net_release_locked(e, cids[i]);
                        continue;
                }
                dns_add_container(ns, cids[i], nsfd);
                size_t n;
                Ep *eps = net_eps_query(e, "container_id = ?1 AND ip IS NOT NULL", cids[i], &n);
                for (size_t k = 0; k < n; k++) {
                        char host[IFNAMSIZ];
                        snprintf(host, sizeof(host), "bv%.8s%.4s", eps[k].cid, eps[k].nid);
                        strv_extend(&s.keep, host);
                }
                net_eps_free(eps, n);
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
                if (nl_link_del(s.delete[i]) == 0)
                        log_info("reconcile: deleted link %s: no running container or network owns it", s.delete[i]);
        strv_free(s.keep);
        strv_free(s.delete);
        net_apply_rules(e, NULL);
        pthread_mutex_unlock(&ns->lock);
}

void network_set_resolver(Network *e, const NetResolver *r)
{
        __atomic_store_n(&e->resolver, r, __ATOMIC_RELEASE);
}

void net_container_free(NetContainer *c)
{
        if (!c)
                return;
        free(c->name);
        free(c->dir);
        json_decref(c->config);
        free(c);
}
