/* Published ports: port bindings of a container, NetworkSettings.Ports and
 * the Ports of container lists. */
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

/* ---- published ports ---- */

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

int net_collect_ports(NetContainer *c, PortReq **ret, size_t *ret_n, BerthError **err)
{
        json_t *hc = net_hostcfg(c);
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
                        v = xrealloc(v, (n + 1) * sizeof(*v));
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
                json_object_foreach(json_object_get(net_cfg(c), "ExposedPorts"), k, arr) {
                        int cport;
                        char proto[4];
                        if (parse_port_key(k, &cport, proto) < 0 || json_object_get(pb, k))
                                continue;
                        v = xrealloc(v, (n + 1) * sizeof(*v));
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

json_t *net_ports_json(Network *e, NetContainer *c, bool running)
{
        json_t *ports = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(net_cfg(c), "ExposedPorts"), k, v) json_object_set_new(ports, k, json_null());
        json_object_foreach(json_object_get(net_hostcfg(c), "PortBindings"), k, v) {
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

json_t *network_ports_list_json(Network *e, NetContainer *c, bool running)
{
        json_t *out = json_array();
        _cleanup_json_ json_t *ports = net_ports_json(e, c, running);
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
