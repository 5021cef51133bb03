/* NetworkSettings of container inspect and lists. */
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

/* ---- inspect shapes ---- */

/* epcfg: the container's NetworkingConfig entry for n (may be NULL), which
 * answers for what the endpoint row does not hold: before the first start,
 * and DriverOpts and Links always. */
static json_t *loads_or_null(const char *s, bool array)
{
        json_t *v = s ? json_loads(s, 0, NULL) : NULL;
        if (v && (array ? json_array_size(v) : json_object_size(v)))
                return v;
        json_decref(v);
        return NULL;
}

/* Endpoint IPAMConfig as Docker shows it: the fields given, null when none. */
static json_t *ipam_json(Ep *p, json_t *epcfg)
{
        json_t *given = json_object_get(epcfg, "IPAMConfig");
        const char *v4 = p ? p->static_ip : json_str(given, "IPv4Address");
        const char *v6 = p ? p->static_ip6 : json_str(given, "IPv6Address");
        json_t *ll = p ? loads_or_null(p->linklocal, true)
                       : json_array_size(json_object_get(given, "LinkLocalIPs"))
                                 ? json_deep_copy(json_object_get(given, "LinkLocalIPs"))
                                 : NULL;
        if (!(v4 && *v4) && !(v6 && *v6) && !ll)
                return json_null();
        json_t *o = json_object();
        if (v4 && *v4)
                json_object_set_new(o, "IPv4Address", json_string(v4));
        if (v6 && *v6)
                json_object_set_new(o, "IPv6Address", json_string(v6));
        if (ll)
                json_object_set_new(o, "LinkLocalIPs", ll);
        return o;
}

/* epcfg: the container's NetworkingConfig entry for n (may be NULL), which
 * answers before the endpoint row exists (before the first start or connect). */
static json_t *ep_json(Net *n, Ep *p, bool running, json_t *epcfg)
{
        bool live = running && p && p->ip;
        json_t *aliases = p && p->aliases ? json_loads(p->aliases, 0, NULL) : NULL;
        if (!p && json_is_array(json_object_get(epcfg, "Aliases")))
                aliases = json_deep_copy(json_object_get(epcfg, "Aliases"));
        if (aliases && !json_array_size(aliases)) {
                json_decref(aliases);
                aliases = NULL;
        }
        json_t *dopts = p ? loads_or_null(p->driver_opts, false)
                          : json_object_size(json_object_get(epcfg, "DriverOpts"))
                                    ? json_deep_copy(json_object_get(epcfg, "DriverOpts"))
                                    : NULL;
        json_t *links = p ? loads_or_null(p->links, true)
                          : json_array_size(json_object_get(epcfg, "Links"))
                                    ? json_deep_copy(json_object_get(epcfg, "Links"))
                                    : NULL;
        _cleanup_free_ char *gw = live && n->has_subnet ? net_ip_str(n->gw) : xstrdup("");
        bool live6 = live && p->ip6 && n->has_subnet6;
        _cleanup_free_ char *gw6 = live6 ? net_ip6_str(&n->gw6) : xstrdup("");
        /* The MAC address given is shown before the endpoint is live too, as Docker does. */
        const char *smac = p ? p->static_mac : json_str(epcfg, "MacAddress");
        const char *mac = live ? p->mac : smac ? smac : "";
        json_t *dnsnames = json_null();
        if (live && !streq(n->name, "bridge")) {
                dnsnames = json_array();
                if (p->name && *p->name)
                        json_array_append_new(dnsnames, json_string(p->name));
                json_array_append_new(dnsnames, json_stringn(p->cid, 12));
                json_array_extend(dnsnames, aliases);
        }
        return json_pack("{s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:o,s:o}", "IPAMConfig", ipam_json(p, epcfg),
                         "Links", links ? links : json_null(), "Aliases", aliases ? aliases : json_null(), "MacAddress",
                         mac, "NetworkID", n->id, "EndpointID", live && p->endpoint_id ? p->endpoint_id : "", "Gateway",
                         gw, "IPAddress", live ? p->ip : "", "IPPrefixLen", live ? n->prefix : 0, "IPv6Gateway", gw6,
                         "GlobalIPv6Address", live6 ? p->ip6 : "", "GlobalIPv6PrefixLen", live6 ? n->prefix6 : 0,
                         "DriverOpts", dopts ? dopts : json_null(), "DNSNames", dnsnames);
}

json_t *network_settings_json(Network *e, NetContainer *c, bool running, bool summary)
{
        NetState *ns = NS(e);
        json_t *networks = json_object();
        if (ns) {
                /* Reads only (the store serialises): no network lock, the engine's lock may be held. */
                const char *mode = net_mode(c);
                json_t *epcfgs = json_object_get(json_object_get(c->config, "NetworkingConfig"), "EndpointsConfig");
                size_t n = 0;
                Ep *eps = net_eps_query(e, "container_id = ?1", c->id, &n);
                if (n == 0 && !startswith(mode, "container:")) {
                        /* Not started yet: what it will join. */
                        _cleanup_net_ Net *net = net_find(e, net_is_default_name(mode) ? "bridge" : mode, NULL);
                        if (net)
                                json_object_set_new(networks, net->name,
                                                    ep_json(net, NULL, false, json_object_get(epcfgs, net->name)));
                }
                for (size_t i = 0; i < n; i++) {
                        _cleanup_net_ Net *net = net_find(e, eps[i].nid, NULL);
                        if (net)
                                json_object_set_new(networks, net->name,
                                                    ep_json(net, &eps[i], running, json_object_get(epcfgs, net->name)));
                }
                net_eps_free(eps, n);
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
                              "LinkLocalIPv6PrefixLen", 0, "Ports", net_ports_json(e, c, running), "SandboxKey",
                              running && c->pid > 0 ? "" : "", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
                              "EndpointID", def ? json_str(def, "EndpointID") : "", "Gateway",
                              def ? json_str(def, "Gateway") : "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                              "IPAddress", def ? json_str(def, "IPAddress") : "", "IPPrefixLen",
                              def ? (int) json_int(def, "IPPrefixLen", 0) : 0, "IPv6Gateway", "", "MacAddress",
                              def ? json_str(def, "MacAddress") : "", "Networks", networks);
        return j;
}
