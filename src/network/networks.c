/* The networks themselves: default networks, create, list, inspect, remove,
 * prune. */
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
                json_array_append_new(cfg, c);
        }
        json_t *containers = json_object();
        size_t ne;
        Ep *eps = net_eps_query(e, "network_id = ?1 AND ip IS NOT NULL", n->id, &ne);
        for (size_t i = 0; i < ne; i++) {
                _cleanup_free_ char *v4 = xasprintf("%s/%d", eps[i].ip, n->prefix);
                json_object_set_new(containers, eps[i].cid,
                                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", eps[i].name ? eps[i].name : "",
                                              "EndpointID", eps[i].endpoint_id ? eps[i].endpoint_id : "", "MacAddress",
                                              eps[i].mac ? eps[i].mac : "", "IPv4Address", v4, "IPv6Address", ""));
        }
        net_eps_free(eps, ne);
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

int network_create(Network *e, json_t *body, json_t **ret, BerthError **err)
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
                if (net_parse_cidr(subnet, &a, &prefix) < 0 || !strchr(subnet, '/') || prefix > 30) {
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
        a.s_addr = htonl(ntohl(a.s_addr) & net_mask_of(prefix));
        if (gw && *gw) {
                if (net_parse_cidr(gw, &g, &gp) < 0 || !net_in_subnet(g, a, prefix)) {
                        r = berr_set(err, EINVAL, "invalid gateway %s: not in subnet", gw);
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
        return 0;
}

static int remove_locked(Network *e, Net *n, BerthError **err)
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
