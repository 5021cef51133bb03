/* The container's /etc/hosts and /etc/resolv.conf. */
#include "network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/resolvconf.h"
#include "basic/util.h"
#include "state/events.h"
#include "netlink.h"
#include "network-internal.h"

/* ---- files ---- */

int net_write_text(const char *path, const char *s)
{
        return write_file_replace(path, s, strlen(s), 0644);
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

int net_write_resolv(Network *e, NetContainer *c, bool embedded, const char *path)
{
        json_t *hc = net_hostcfg(c);
        json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
               *opts = json_object_get(hc, "DnsOptions");
        char *out = xstrdup("");
        if (embedded) {
                free(out);
                out = xstrdup("nameserver 127.0.0.11\n");
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
                out = resolv_conf_from_host(RESOLV_NAMESERVERS);
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
        int r = net_write_text(path, out);
        free(out);
        return r;
}

int net_write_hosts(Network *e, NetContainer *c, const char *path, const char *ip)
{
        json_t *cfg = net_cfg(c);
        const char *hostname = json_str(cfg, "Hostname");
        const char *domain = json_str(cfg, "Domainname");
        _cleanup_free_ char *fqdn = domain && *domain ? xasprintf("%s.%s %s", hostname, domain, hostname)
                                                      : xasprintf("%s", hostname ? hostname : "");
        _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                               "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        json_t *extra = json_object_get(net_hostcfg(c), "ExtraHosts");
        /* the host network without extra hosts: the host's own /etc/hosts, as libnetwork copies it */
        if (streq(net_mode(c), "host") && !json_array_size(extra)) {
                _cleanup_free_ char *data = NULL;
                if (read_file("/etc/hosts", &data, NULL) == 0)
                        return net_write_text(path, data);
        }
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
        return net_write_text(path, hosts);
}
