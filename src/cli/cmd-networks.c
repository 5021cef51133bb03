/* berth network create|ls|inspect|rm|connect|disconnect|prune, with docker's flags and output. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"
#include "cli/opts.h"

/* Go's time.Time.String() of an RFC 3339 UTC time: "2006-01-02 15:04:05.123 +0000 UTC". */
static char *go_time_string(const char *rfc)
{
        if (!rfc || strlen(rfc) < 19 || rfc[strlen(rfc) - 1] != 'Z')
                return xstrdup(rfc ?: "");
        _cleanup_free_ char *t = xstrndup(rfc, strlen(rfc) - 1);
        t[10] = ' ';
        char *dot = strchr(t, '.');
        if (dot) {
                size_t l = strlen(t);
                while (l > 0 && t[l - 1] == '0')
                        t[--l] = 0;
                if (t[l - 1] == '.')
                        t[l - 1] = 0;
        }
        return xasprintf("%s +0000 UTC", t);
}

/* sortorder.NaturalLess: digit runs compare as numbers. */
static int natural_cmp(const char *a, const char *b)
{
        while (*a && *b) {
                if (isdigit((unsigned char) *a) && isdigit((unsigned char) *b)) {
                        const char *as = a, *bs = b;
                        while (*as == '0')
                                as++;
                        while (*bs == '0')
                                bs++;
                        const char *ae = as, *be = bs;
                        while (isdigit((unsigned char) *ae))
                                ae++;
                        while (isdigit((unsigned char) *be))
                                be++;
                        if (ae - as != be - bs)
                                return (ae - as) < (be - bs) ? -1 : 1;
                        int c = strncmp(as, bs, (size_t) (ae - as));
                        if (c)
                                return c;
                        a = ae;
                        b = be;
                        continue;
                }
                if (*a != *b)
                        return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
                a++;
                b++;
        }
        return *a ? 1 : *b ? -1 : 0;
}

static int cmp_by_name(const void *x, const void *y)
{
        return natural_cmp(json_str(*(json_t *const *) x, "Name") ?: "", json_str(*(json_t *const *) y, "Name") ?: "");
}

int cmd_network_ls(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "filter", required_argument, NULL, 'f', "Provide filter values (e.g. \"driver=bridge\")", "filter" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                { "no-trunc", no_argument, NULL, 'T', "Do not truncate the output" },
                { "quiet", no_argument, NULL, 'q', "Only display network IDs" },
                CLI_HELP_OPTION,
                {},
        };
        bool quiet = false, trunc = true;
        const char *format = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:q", opts)) != -1) {
                switch (c) {
                case 'q': quiet = true; break;
                case 'T': trunc = false; break;
                case 'F': format = optarg; break;
                case 'f':
                        if (cli_filter_flag(filters, optarg) != 0)
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (optind < argc)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/networks%s%s", *fq ? "?" : "", fq);
        _cleanup_json_ json_t *list = NULL;
        if (cli_get_json(cli, path, &list) != 0)
                return 1;
        size_t n = json_array_size(list);
        _cleanup_free_ json_t **sorted = xcalloc(n + 1, sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
                sorted[i] = json_array_get(list, i);
        qsort(sorted, n, sizeof(json_t *), cmp_by_name);
        _cleanup_json_ json_t *rows = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *nw = sorted[i];
                const char *id = json_str(nw, "Id") ?: "";
                _cleanup_free_ char *sid = trunc ? xstrndup(id, 12) : xstrdup(id);
                _cleanup_free_ char *created = go_time_string(json_str(nw, "Created"));
                _cleanup_strv_free_ char **lv = NULL;
                const char *k;
                json_t *v;
                json_t *labels = json_object_get(nw, "Labels");
                json_object_foreach(labels, k, v)
                        strv_push(&lv, xasprintf("%s=%s", k, json_string_value(v) ?: ""));
                _cleanup_free_ char *ls = fmt_strv_join(lv, ",");
                _cleanup_json_ json_t *lab = json_is_object(labels) ? json_incref(labels) : json_object();
                json_t *v4 = json_object_get(nw, "EnableIPv4");
                /* docker's networkContext, keys sorted as its JSON; "@Label" is its Label method */
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "CreatedAt", created,
                                                      "Driver", json_str(nw, "Driver") ?: "", "ID", sid, "IPv4",
                                                      !v4 || json_is_true(v4) ? "true" : "false", "IPv6",
                                                      json_bool(nw, "EnableIPv6") ? "true" : "false", "Internal",
                                                      json_bool(nw, "Internal") ? "true" : "false", "Labels", ls,
                                                      "Name", json_str(nw, "Name") ?: "", "Scope",
                                                      json_str(nw, "Scope") ?: "", "@Label", lab));
        }
        if (quiet)
                format = "{{.ID}}";
        _cleanup_json_ json_t *hdr = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "NETWORK ID", "Name",
                                               "NAME", "Driver", "DRIVER", "Scope", "SCOPE", "IPv4", "IPV4", "IPv6",
                                               "IPV6", "Internal", "INTERNAL", "Labels", "LABELS", "CreatedAt",
                                               "CREATED");
        return cli_print_rows(format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", "*network.networkContext",
                              hdr, rows, 10);
}

int cmd_network_inspect(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT },
                { "verbose", no_argument, NULL, 'v', "Verbose output for diagnostics" },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL;
        bool verbose = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:v", opts)) != -1) {
                switch (c) {
                case 'f': format = optarg; break;
                case 'v': verbose = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        _cleanup_json_ json_t *found = json_array();
        _cleanup_strv_free_ char **errors = NULL;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *esc = url_escape(argv[i]);
                _cleanup_free_ char *path = xasprintf("/networks/%s%s", esc, verbose ? "?verbose=true" : "");
                _cleanup_json_ json_t *obj = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "GET", path, NULL, &obj, &resp);
                if (st < 0)
                        return 1;
                if (st != 200 || !obj) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        strv_push(&errors, xasprintf("Error response from daemon: %s", m));
                        continue;
                }
                json_array_append(found, obj);
        }
        int ret = cli_print_inspect(found, format);
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "%s\n", *e);
        return errors ? 1 : ret;
}

/* addr (an address or a CIDR's address part) inside subnet "a.b.c.d/n" or "v6/n". */
static bool in_subnet(const char *subnet, const char *addr)
{
        const char *slash = strchr(subnet, '/');
        if (!slash)
                return false;
        _cleanup_free_ char *net = xstrndup(subnet, (size_t) (slash - subnet));
        _cleanup_free_ char *a = xstrndup(addr, strcspn(addr, "/"));
        int bits = atoi(slash + 1);
        unsigned char n[16], x[16];
        int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(fam, net, n) != 1 || inet_pton(fam, a, x) != 1)
                return false;
        for (int i = 0; i < bits; i++)
                if (((n[i / 8] ^ x[i / 8]) >> (7 - i % 8)) & 1)
                        return false;
        return true;
}

/* --subnet, --gateway, --ip-range and --aux-address into IPAM.Config as docker pairs them: each
 * gateway, range and aux address goes to the subnet that contains it. */
static int ipam_config(char **subnets, char **gateways, char **ranges, json_t *aux, json_t **ret)
{
        _cleanup_json_ json_t *cfg = json_array();
        for (char **s = subnets; s && *s; s++)
                json_array_append_new(cfg, json_pack("{s:s}", "Subnet", *s));
        size_t n = json_array_size(cfg);
        struct {
                char **list;
                const char *key, *what, *twice;
        } kinds[] = {
                { ranges, "IPRange", "ip-range", "ranges" },
                { gateways, "Gateway", "gateway", "gateways" },
        };
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                for (char **g = kinds[k].list; g && *g; g++) {
                        bool matched = false;
                        for (size_t i = 0; i < n && !matched; i++) {
                                json_t *c = json_array_get(cfg, i);
                                if (!in_subnet(json_str(c, "Subnet"), *g))
                                        continue;
                                matched = true;
                                const char *had = json_str(c, kinds[k].key);
                                if (had) {
                                        fprintf(stderr, "berth: cannot configure multiple %s (%s, %s) %s the same "
                                                "subnet (%s)\n", kinds[k].twice, had, *g, k ? "for" : "on",
                                                json_str(c, "Subnet"));
                                        return -EINVAL;
                                }
                                json_object_set_new(c, kinds[k].key, json_string(*g));
                        }
                        if (!matched) {
                                fprintf(stderr, "berth: no matching subnet for %s %s\n", kinds[k].what, *g);
                                return -EINVAL;
                        }
                }
        const char *k;
        json_t *v;
        json_object_foreach(aux, k, v) {
                bool matched = false;
                for (size_t i = 0; i < n && !matched; i++) {
                        json_t *c = json_array_get(cfg, i);
                        if (!in_subnet(json_str(c, "Subnet"), json_string_value(v)))
                                continue;
                        matched = true;
                        json_t *m = json_object_get(c, "AuxiliaryAddresses");
                        if (!m) {
                                m = json_object();
                                json_object_set_new(c, "AuxiliaryAddresses", m);
                        }
                        json_object_set(m, k, v);
                }
                if (!matched) {
                        fprintf(stderr, "berth: no matching subnet for aux-address %s\n", json_string_value(v));
                        return -EINVAL;
                }
        }
        *ret = TAKE_PTR(cfg);
        return 0;
}

static int kv_into(json_t *obj, const char *arg, const char *flag)
{
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
                fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: bad format for map: %s\n", arg, flag, arg);
                return 125;
        }
        _cleanup_free_ char *k = xstrndup(arg, (size_t) (eq - arg));
        json_object_set_new(obj, k, json_string(eq + 1));
        return 0;
}

int cmd_network_create(Cli *cli, int argc, char **argv)
{
        enum { O_ATTACH = 0x100, O_AUX, O_GW, O_INTERNAL, O_RANGE, O_IPAMDRV, O_IPAMOPT, O_IPV4, O_IPV6, O_LABEL,
               O_SUBNET, O_SCOPE };
        static const CliOption opts[] = {
                { "attachable", optional_argument, NULL, O_ATTACH, "Enable manual container attachment" },
                { "aux-address", required_argument, NULL, O_AUX,
                  "Auxiliary IPv4 or IPv6 addresses used by Network driver", "map", "map[]" },
                { "driver", required_argument, NULL, 'd', "Driver to manage the Network", NULL, "\"bridge\"" },
                { "gateway", required_argument, NULL, O_GW, "IPv4 or IPv6 Gateway for the master subnet", "strings" },
                { "internal", optional_argument, NULL, O_INTERNAL, "Restrict external access to the network" },
                { "ip-range", required_argument, NULL, O_RANGE, "Allocate container ip from a sub-range", "strings" },
                { "ipam-driver", required_argument, NULL, O_IPAMDRV, "IP Address Management Driver", NULL,
                  "\"default\"" },
                { "ipam-opt", required_argument, NULL, O_IPAMOPT, "Set IPAM driver specific options", "map",
                  "map[]" },
                { "ipv4", optional_argument, NULL, O_IPV4, "Enable or disable IPv4 address assignment", NULL,
                  "true" },
                { "ipv6", optional_argument, NULL, O_IPV6, "Enable or disable IPv6 address assignment" },
                { "label", required_argument, NULL, O_LABEL, "Set metadata on a network", "list" },
                { "opt", required_argument, NULL, 'o', "Set driver specific options", "map", "map[]" },
                { "scope", required_argument, NULL, O_SCOPE, "Control the network's scope" },
                { "subnet", required_argument, NULL, O_SUBNET,
                  "Subnet in CIDR format that represents a network segment", "strings" },
                CLI_HELP_OPTION,
                {},
        };
        const char *driver = "bridge", *ipam_driver = "default", *scope = "";
        bool attachable = false, internal = false, v4 = true, v6 = false, v4_set = false, v6_set = false;
        _cleanup_strv_free_ char **subnets = NULL, **gateways = NULL, **ranges = NULL;
        _cleanup_json_ json_t *aux = json_object(), *ipam_opts = json_object(), *labels = json_object(),
                              *dopts = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "d:o:", opts)) != -1) {
                bool *b = c == O_ATTACH ? &attachable : c == O_INTERNAL ? &internal : c == O_IPV4 ? &v4
                        : c == O_IPV6 ? &v6 : NULL;
                if (b) {
                        if (optarg && opts_parse_bool(optarg, b) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: "
                                        "parsing \"%s\": invalid syntax\n", optarg,
                                        c == O_ATTACH ? "attachable" : c == O_INTERNAL ? "internal"
                                        : c == O_IPV4 ? "ipv4" : "ipv6", optarg);
                                return 125;
                        }
                        if (!optarg)
                                *b = true;
                        v4_set |= c == O_IPV4;
                        v6_set |= c == O_IPV6;
                        continue;
                }
                switch (c) {
                case 'd': driver = optarg; break;
                case O_SCOPE: scope = optarg; break;
                case O_IPAMDRV: ipam_driver = optarg; break;
                case O_SUBNET: strv_extend(&subnets, optarg); break;
                case O_GW: strv_extend(&gateways, optarg); break;
                case O_RANGE: strv_extend(&ranges, optarg); break;
                case O_AUX:
                        if (kv_into(aux, optarg, "--aux-address"))
                                return 125;
                        break;
                case O_IPAMOPT:
                        if (kv_into(ipam_opts, optarg, "--ipam-opt"))
                                return 125;
                        break;
                case 'o':
                        if (kv_into(dopts, optarg, "-o, --opt"))
                                return 125;
                        break;
                case O_LABEL: opts_label(labels, optarg); break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_args_error(cli, "exactly 1 argument");
        json_t *cfg = NULL;
        if (ipam_config(subnets, gateways, ranges, aux, &cfg) < 0)
                return 1;
        _cleanup_json_ json_t *body = json_pack("{s:s,s:s,s:s,s:{s:s,s:o,s:O},s:b,s:b,s:O,s:O}", "Name",
                                                argv[optind], "Driver", driver, "Scope", scope, "IPAM", "Driver",
                                                ipam_driver, "Config", cfg, "Options", ipam_opts, "Internal",
                                                internal, "Attachable", attachable, "Options", dopts, "Labels",
                                                labels);
        if (v4_set)
                json_object_set_new(body, "EnableIPv4", json_boolean(v4));
        if (v6_set)
                json_object_set_new(body, "EnableIPv6", json_boolean(v6));
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", "/networks/create", body, &out, &resp);
        if (st < 0)
                return 1;
        if (st >= 300 || !out)
                return cli_daemon_error(&resp);
        printf("%s\n", json_str(out, "Id") ?: "");
        return 0;
}

int cmd_network_rm(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "force", no_argument, NULL, 'f', "Do not error if the network does not exist" },
                CLI_HELP_OPTION,
                {},
        };
        bool force = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f': force = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *esc = url_escape(argv[i]);
                _cleanup_free_ char *path = xasprintf("/networks/%s", esc);
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "DELETE", path, NULL, NULL, 0, &resp);
                if (st < 0)
                        return 1;
                if (st == 404 && force)
                        continue;
                if (st >= 300) {
                        cli_daemon_error(&resp);
                        ret = 1;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return ret;
}

static int connect_like(Cli *cli, int argc, char **argv, bool connect)
{
        enum { O_ALIAS = 0x100, O_IP, O_IP6, O_LINK, O_DRVOPT, O_GWPRIO };
        static const CliOption copts[] = {
                { "alias", required_argument, NULL, O_ALIAS, "Add network-scoped alias for the container", "strings" },
                { "driver-opt", required_argument, NULL, O_DRVOPT, "driver options for the network", "strings" },
                { "ip", required_argument, NULL, O_IP, "IPv4 address (e.g., \"172.30.100.104\")" },
                { "ip6", required_argument, NULL, O_IP6, "IPv6 address (e.g., \"2001:db8::33\")" },
                { "link", required_argument, NULL, O_LINK, "Add link to another container", "list" },
                CLI_HELP_OPTION,
                {},
        };
        static const CliOption dopts[] = {
                { "force", no_argument, NULL, 'f', "Force the container to disconnect from a network" },
                CLI_HELP_OPTION,
                {},
        };
        _cleanup_strv_free_ char **aliases = NULL, **links = NULL;
        _cleanup_json_ json_t *driver_opts = json_object();
        const char *ip = NULL, *ip6 = NULL;
        bool force = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, connect ? "" : "f", connect ? copts : dopts)) != -1) {
                switch (c) {
                case O_ALIAS: strv_extend(&aliases, optarg); break;
                case O_LINK: strv_extend(&links, optarg); break;
                case O_IP: ip = optarg; break;
                case O_IP6: ip6 = optarg; break;
                case O_DRVOPT:
                        if (kv_into(driver_opts, optarg, "--driver-opt"))
                                return 125;
                        break;
                case 'f': force = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 2)
                return cli_args_error(cli, "exactly 2 arguments");
        _cleanup_free_ char *esc = url_escape(argv[optind]);
        _cleanup_free_ char *path = xasprintf("/networks/%s/%s", esc, connect ? "connect" : "disconnect");
        _cleanup_json_ json_t *body = NULL;
        if (connect) {
                json_t *ep = json_object();
                if (aliases)
                        json_object_set_new(ep, "Aliases", opts_strv_json(aliases));
                if (links)
                        json_object_set_new(ep, "Links", opts_strv_json(links));
                if (ip || ip6) {
                        json_t *ipam = json_object();
                        if (ip)
                                json_object_set_new(ipam, "IPv4Address", json_string(ip));
                        if (ip6)
                                json_object_set_new(ipam, "IPv6Address", json_string(ip6));
                        json_object_set_new(ep, "IPAMConfig", ipam);
                }
                if (json_object_size(driver_opts))
                        json_object_set(ep, "DriverOpts", driver_opts);
                body = json_pack("{s:s,s:o}", "Container", argv[optind + 1], "EndpointConfig", ep);
        } else
                body = json_pack("{s:s,s:b}", "Container", argv[optind + 1], "Force", force);
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", path, body, &out, &resp);
        if (st < 0)
                return 1;
        if (st >= 300)
                return cli_daemon_error(&resp);
        return 0;
}

int cmd_network_connect(Cli *cli, int argc, char **argv)
{
        return connect_like(cli, argc, argv, true);
}

int cmd_network_disconnect(Cli *cli, int argc, char **argv)
{
        return connect_like(cli, argc, argv, false);
}

int cmd_network_prune(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"until=<timestamp>\")",
                  "filter" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                CLI_HELP_OPTION,
                {},
        };
        bool force = false;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f': force = true; break;
                case 'F':
                        if (cli_filter_flag(filters, optarg) != 0)
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 0)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        if (!force) {
                printf("WARNING! This will remove all custom networks not used by at least one container.\n"
                       "Are you sure you want to continue? [y/N] ");
                fflush(stdout);
                char line[64] = "";
                if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
                        return 0;
        }
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/networks/prune%s%s", *fq ? "?" : "", fq);
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", path, NULL, &out, &resp);
        if (st < 0)
                return 1;
        if (st != 200)
                return cli_daemon_error(&resp);
        json_t *del = json_object_get(out, "NetworksDeleted");
        if (json_array_size(del) > 0) {
                printf("Deleted Networks:\n");
                size_t i;
                json_t *v;
                json_array_foreach(del, i, v)
                        printf("%s\n", json_string_value(v) ?: "");
        }
        return 0;
}
