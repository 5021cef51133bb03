/* Rows of the networks and endpoints tables: loading, lookup by reference,
 * and the small SQL helper. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "state/events.h"
#include "netlink.h"
#include "network-internal.h"

void net_free(Net *n)
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
        free(n->subnet6_s);
        free(n->gw6_s);
        free(n->range6_s);
        free(n->aux);
        free(n->aux6);
        free(n);
}

char *net_col(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? xstrdup((const char *) t) : NULL;
}

#define NET_COLS                                                                                        \
        "id, name, driver, subnet, gateway, ip_range, internal, attachable, labels, options, bridge, created, " \
        "ipv6, subnet6, gateway6, ip_range6, aux, aux6"

static Net *net_from_row(sqlite3_stmt *st)
{
        Net *n = xcalloc(1, sizeof(*n));
        snprintf(n->id, sizeof(n->id), "%s", (const char *) sqlite3_column_text(st, 0));
        n->name = net_col(st, 1);
        n->driver = net_col(st, 2);
        n->subnet_s = net_col(st, 3);
        n->gw_s = net_col(st, 4);
        n->range_s = net_col(st, 5);
        n->internal = sqlite3_column_int(st, 6);
        n->attachable = sqlite3_column_int(st, 7);
        n->labels = net_col(st, 8);
        n->options = net_col(st, 9);
        n->bridge = net_col(st, 10);
        n->created = sqlite3_column_int64(st, 11);
        if (n->subnet_s && net_parse_cidr(n->subnet_s, &n->net, &n->prefix) == 0) {
                n->has_subnet = true;
                int gp;
                if (net_parse_cidr(n->gw_s, &n->gw, &gp) < 0)
                        n->gw.s_addr = htonl((ntohl(n->net.s_addr) & net_mask_of(n->prefix)) + 1);
                if (n->range_s && net_parse_cidr(n->range_s, &n->range, &n->range_prefix) == 0)
                        n->has_range = true;
        }
        n->ipv6 = sqlite3_column_int(st, 12);
        n->subnet6_s = net_col(st, 13);
        n->gw6_s = net_col(st, 14);
        n->range6_s = net_col(st, 15);
        n->aux = net_col(st, 16);
        n->aux6 = net_col(st, 17);
        if (n->subnet6_s && net_parse_cidr6(n->subnet6_s, &n->net6, &n->prefix6, true) == 0) {
                n->has_subnet6 = true;
                int gp;
                if (!n->gw6_s || net_parse_cidr6(n->gw6_s, &n->gw6, &gp, false) < 0) {
                        n->gw6 = n->net6;
                        net_mask6(&n->gw6, n->prefix6);
                        n->gw6.s6_addr[15] |= 1;
                }
                if (n->range6_s && net_parse_cidr6(n->range6_s, &n->range6, &n->range6_prefix, true) == 0)
                        n->has_range6 = true;
        }
        _cleanup_json_ json_t *o = json_loads(n->options ? n->options : "{}", 0, NULL);
        const char *mtu = json_str(o, "com.docker.network.driver.mtu");
        n->mtu = mtu && atoi(mtu) >= 68 ? (unsigned) atoi(mtu) : NET_MTU;
        const char *masq = json_str(o, "com.docker.network.bridge.enable_ip_masquerade");
        n->masquerade = !masq || go_parse_bool(masq) != 0;
        return n;
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static Net *net_dup(const Net *n)
{
        Net *d = xmalloc(sizeof(*d));
        *d = *n;
        d->name = dup_or_null(n->name);
        d->driver = dup_or_null(n->driver);
        d->bridge = dup_or_null(n->bridge);
        d->subnet_s = dup_or_null(n->subnet_s);
        d->gw_s = dup_or_null(n->gw_s);
        d->range_s = dup_or_null(n->range_s);
        d->labels = dup_or_null(n->labels);
        d->options = dup_or_null(n->options);
        d->subnet6_s = dup_or_null(n->subnet6_s);
        d->gw6_s = dup_or_null(n->gw6_s);
        d->range6_s = dup_or_null(n->range6_s);
        d->aux = dup_or_null(n->aux);
        d->aux6 = dup_or_null(n->aux6);
        return d;
}

/* Lookups by exact id or name, kept decoded: a container list asks for the same network once per
 * container. An entry is valid while the connection's change counter is what it was when the row
 * was read (a Net is made from its row alone); nothing is cached or served inside a transaction. */
#define NET_CACHE_MAX 8
static pthread_mutex_t net_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        uint64_t store;
        int64_t gen;
        char *ref;
        Net *net;
} net_cache[NET_CACHE_MAX];
static size_t net_cache_next;

static Net *net_cache_get(uint64_t store, int64_t gen, const char *ref)
{
        Net *n = NULL;
        pthread_mutex_lock(&net_cache_lock);
        for (size_t i = 0; i < NET_CACHE_MAX && !n; i++)
                if (net_cache[i].net && net_cache[i].store == store && net_cache[i].gen == gen && streq(net_cache[i].ref, ref))
                        n = net_dup(net_cache[i].net);
        pthread_mutex_unlock(&net_cache_lock);
        return n;
}

static void net_cache_put(uint64_t store, int64_t gen, const char *ref, const Net *n)
{
        Net *copy = net_dup(n);
        char *r = xstrdup(ref);
        pthread_mutex_lock(&net_cache_lock);
        size_t i = net_cache_next++ % NET_CACHE_MAX;
        Net *old = net_cache[i].net;
        char *old_ref = net_cache[i].ref;
        net_cache[i].store = store;
        net_cache[i].gen = gen;
        net_cache[i].ref = r;
        net_cache[i].net = copy;
        pthread_mutex_unlock(&net_cache_lock);
        net_free(old);
        free(old_ref);
}

/* By full id, name, or unique id prefix. */
Net *net_find(Network *e, const char *ref, int *ambiguous)
{
        if (ambiguous)
                *ambiguous = 0;
        if (!ref || !*ref)
                return NULL;
        sqlite3 *db = e->store->db;
        bool cacheable = sqlite3_get_autocommit(db);
        int64_t gen = sqlite3_total_changes64(db);
        if (cacheable) {
                Net *n = net_cache_get(e->store->serial, gen, ref);
                if (n)
                        return n;
        }
        {
                _cleanup_stmt_ sqlite3_stmt *st =
                        store_prepare(e->store, "SELECT " NET_COLS " FROM networks WHERE id = ?1 OR name = ?1", NULL);
                if (!st)
                        return NULL;
                sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        Net *n = net_from_row(st);
                        if (cacheable)
                                net_cache_put(e->store->serial, gen, ref, n);
                        return n;
                }
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

int net_get(Network *e, const char *ref, Net **ret, BerthError **err)
{
        int amb;
        Net *n = net_find(e, ref, &amb);
        if (!n)
                return amb ? berr_set(err, EINVAL, "network %s is ambiguous", ref)
                           : berr_set(err, ENOENT, "network %s not found", ref);
        *ret = n;
        return 0;
}

Net **net_list_all(Network *e, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st =
                store_prepare(e->store, "SELECT " NET_COLS " FROM networks ORDER BY created", NULL);
        Net **v = NULL;
        size_t n = 0;
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = net_from_row(st);
        }
        *ret_n = n;
        return v;
}

void net_list_free(Net **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                net_free(v[i]);
        free(v);
}

int net_exec_sql(Network *e, const char *sql, const char *const *args, size_t n)
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
        free(p->static_ip6);
        free(p->ip6);
        free(p->links);
        free(p->linklocal);
        free(p->driver_opts);
}

void net_eps_free(Ep *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ep_free_fields(&v[i]);
        free(v);
}

#define EP_COLS                                                                                          \
        "container_id, network_id, seq, name, aliases, static_ip, static_mac, endpoint_id, ip, mac, ifname, " \
        "static_ip6, ip6, links, linklocal, driver_opts"

/* where: "container_id = ?1" or "network_id = ?1" */
Ep *net_eps_query(Network *e, const char *where, const char *arg, size_t *ret_n)
{
        _cleanup_free_ char *sql = xasprintf("SELECT " EP_COLS " FROM endpoints WHERE %s ORDER BY seq", where);
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        Ep *v = NULL;
        size_t n = 0;
        if (st && arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                Ep *p = &v[n++];
                memset(p, 0, sizeof(*p));
                snprintf(p->cid, sizeof(p->cid), "%s", (const char *) sqlite3_column_text(st, 0));
                snprintf(p->nid, sizeof(p->nid), "%s", (const char *) sqlite3_column_text(st, 1));
                p->seq = sqlite3_column_int(st, 2);
                p->name = net_col(st, 3);
                p->aliases = net_col(st, 4);
                p->static_ip = net_col(st, 5);
                p->static_mac = net_col(st, 6);
                p->endpoint_id = net_col(st, 7);
                p->ip = net_col(st, 8);
                p->mac = net_col(st, 9);
                p->ifname = net_col(st, 10);
                p->static_ip6 = net_col(st, 11);
                p->ip6 = net_col(st, 12);
                p->links = net_col(st, 13);
                p->linklocal = net_col(st, 14);
                p->driver_opts = net_col(st, 15);
        }
        *ret_n = n;
        return v;
}

const char *net_mode(NetContainer *c)
{
        const char *m = json_str(net_hostcfg(c), "NetworkMode");
        return m && *m ? m : "default";
}

bool net_is_default_name(const char *m)
{
        return streq(m, "default") || streq(m, "bridge");
}

