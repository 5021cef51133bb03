/* ps, stop, kill, restart, pause, unpause, rm, wait, rename, logs, top */
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"
#include "basic/stdcopy.h"

static char *ports_string(json_t *ports)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        size_t i;
        json_t *p;
        bool first = true;
        json_array_foreach(ports, i, p) {
                const char *ip = json_str(p, "IP");
                long long priv = json_int(p, "PrivatePort", 0), pub = json_int(p, "PublicPort", 0);
                const char *type = json_str(p, "Type") ?: "tcp";
                fputs(first ? "" : ", ", f);
                first = false;
                if (ip && *ip && pub) {
                        if (strchr(ip, ':'))
                                fprintf(f, "[%s]:%lld->%lld/%s", ip, pub, priv, type);
                        else
                                fprintf(f, "%s:%lld->%lld/%s", ip, pub, priv, type);
                } else
                        fprintf(f, "%lld/%s", priv, type);
        }
        fclose(f);
        return out;
}

static char *names_string(json_t *names, bool trunc)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        size_t i;
        json_t *n;
        bool first = true;
        json_array_foreach(names, i, n) {
                const char *s = json_string_value(n) ?: "";
                if (*s == '/')
                        s++;
                if (trunc && strchr(s, '/'))
                        continue; /* link aliases only with --no-trunc */
                fprintf(f, "%s%s", first ? "" : ",", s);
                first = false;
        }
        fclose(f);
        return out;
}

static char *image_string(json_t *ct, bool trunc)
{
        const char *image = json_str(ct, "Image") ?: "";
        if (!*image)
                return strdup("<no image>");
        if (!trunc)
                return strdup(image);
        const char *iid = json_str(ct, "ImageID") ?: "";
        _cleanup_free_ char *a = fmt_trunc_id(iid), *b = fmt_trunc_id(image);
        if (startswith(image, "sha256:") || (strlen(image) >= 12 && streq(a, b) && is_hex(image, strlen(image))))
                return fmt_trunc_id(image);
        /* drop a digest, keep the familiar name */
        const char *at = strchr(image, '@');
        _cleanup_free_ char *name = at ? strndup(image, (size_t) (at - image)) : strdup(image);
        const char *fam = name;
        if (startswith(fam, "docker.io/"))
                fam += 10;
        if (startswith(fam, "library/"))
                fam += 8;
        return strdup(fam);
}

static char *labels_string(json_t *labels)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach(labels, k, v) {
                fprintf(f, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ?: "");
                first = false;
        }
        fclose(f);
        return out;
}

int cmd_ps(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all", no_argument, NULL, 'a', "Show all containers (default shows just running)" },
                { "quiet", no_argument, NULL, 'q', "Only display container IDs" },
                { "filter", required_argument, NULL, 'f', "Filter output based on conditions provided", "filter" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                { "no-trunc", no_argument, NULL, 'T', "Don't truncate output" },
                { "last", required_argument, NULL, 'n', "Show n last created containers (includes all states)", "int", "-1" },
                { "latest", no_argument, NULL, 'l', "Show the latest created container (includes all states)" },
                { "size", no_argument, NULL, 's', "Display total file sizes" },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, quiet = false, trunc = true, size = false;
        long last = -1;
        const char *format = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "aqf:n:ls", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 'q': quiet = true; break;
                case 'T': trunc = false; break;
                case 's': size = true; break;
                case 'l': last = 1; break;
                case 'n': last = atol(optarg); break;
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
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        fputs("/containers/json", f);
        char sep = '?';
        if (all) {
                fprintf(f, "%call=1", sep);
                sep = '&';
        }
        if (last > 0) {
                fprintf(f, "%climit=%ld", sep, last);
                sep = '&';
        }
        if (size) {
                fprintf(f, "%csize=1", sep);
                sep = '&';
        }
        if (*fq)
                fprintf(f, "%c%s", sep, fq);
        fclose(f);
        _cleanup_free_ char *path = q;
        _cleanup_json_ json_t *list = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "GET", path, NULL, &list, &resp);
        if (st < 0)
                return 1;
        if (st != 200 || !json_is_array(list))
                return cli_daemon_error(&resp);

        _cleanup_json_ json_t *rows = json_array();
        size_t i;
        json_t *ct;
        json_array_foreach(list, i, ct) {
                const char *id = json_str(ct, "Id") ?: "";
                _cleanup_free_ char *sid = trunc ? strndup(id, 12) : strdup(id);
                _cleanup_free_ char *image = image_string(ct, trunc);
                const char *cmd = json_str(ct, "Command") ?: "";
                _cleanup_free_ char *cmdt = trunc ? fmt_ellipsis(cmd, 20) : strdup(cmd);
                _cleanup_free_ char *cmdq = fmt_go_quote(cmdt);
                long long created = json_int(ct, "Created", 0);
                _cleanup_free_ char *since = cli_since(created);
                char at[64];
                time_t t = (time_t) created;
                struct tm tm;
                localtime_r(&t, &tm);
                strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
                _cleanup_free_ char *ports = ports_string(json_object_get(ct, "Ports"));
                _cleanup_free_ char *names = names_string(json_object_get(ct, "Names"), trunc);
                _cleanup_free_ char *labels = labels_string(json_object_get(ct, "Labels"));
                _cleanup_free_ char *sz = NULL;
                long long rw = json_int(ct, "SizeRw", 0), rootfs = json_int(ct, "SizeRootFs", 0);
                {
                        /* docker names the virtual size only when the daemon counted it */
                        _cleanup_free_ char *a = fmt_human_size((double) rw, 3);
                        _cleanup_free_ char *b = fmt_human_size((double) rootfs, 3);
                        sz = rootfs > 0 ? xasprintf("%s (virtual %s)", a, b) : xstrdup(a);
                }
                /* docker's ContainerContext, keys sorted as its JSON; "@Label" is its Label method */
                _cleanup_strv_free_ char **netv = NULL, **mountv = NULL;
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(json_object_get(ct, "NetworkSettings"), "Networks"), k, v)
                        strv_extend(&netv, k);
                fmt_strv_sort(netv);
                _cleanup_free_ char *nets = fmt_strv_join(netv, ",");
                size_t nvol = 0, mi;
                json_t *m;
                json_array_foreach(json_object_get(ct, "Mounts"), mi, m) {
                        const char *mname = json_str(m, "Name");
                        if (!mname || !*mname)
                                mname = json_str(m, "Source") ?: "";
                        strv_push(&mountv, trunc ? fmt_ellipsis(mname, 15) : xstrdup(mname));
                        if (streq(json_str(m, "Driver") ?: "", "local"))
                                nvol++;
                }
                _cleanup_free_ char *mounts = fmt_strv_join(mountv, ",");
                _cleanup_free_ char *vols = xasprintf("%zu", nvol);
                json_t *l = json_object_get(ct, "Labels");
                _cleanup_json_ json_t *lab = json_is_object(l) ? json_incref(l) : json_object();
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:s,s:s,s:s,s:s,s:s,s:O}",
                                                      "Command", cmdq, "CreatedAt", at, "ID", sid, "Image", image,
                                                      "Labels", labels, "LocalVolumes", vols, "Mounts", mounts, "Names",
                                                      names, "Networks", nets, "Platform", "Ports", ports,
                                                      "RunningFor", since, "Size", sz, "State",
                                                      json_str(ct, "State") ?: "", "Status",
                                                      json_str(ct, "Status") ?: "", "@Label", lab));
        }
        if (quiet)
                format = "{{.ID}}";
        _cleanup_json_ json_t *hdr = json_pack(
                "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Image", "IMAGE",
                "Command", "COMMAND", "RunningFor", "CREATED", "CreatedAt", "CREATED AT", "Status", "STATUS", "State",
                "STATE", "Ports", "PORTS", "Names", "NAMES", "Labels", "LABELS", "Size", "SIZE", "Networks",
                "NETWORKS", "Mounts", "MOUNTS", "LocalVolumes", "LOCAL VOLUMES");
        const char *deflt = size ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
                                   "\t{{.Names}}\t{{.Size}}"
                                 : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
                                   "\t{{.Names}}";
        return cli_print_rows(format, deflt, "*formatter.ContainerContext", hdr, rows, 10);
}

/* One POST per container; prints each name on success. */
static int simple_verb(Cli *cli, int argc, char **argv, int first, const char *verb, const char *query)
{
        if (argc - first < 1)
                return cli_args_error(cli, "at least 1 argument");
        int ret = 0;
        for (int i = first; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/containers/%s/%s%s%s", argv[i], verb, query && *query ? "?" : "",
                                                      query ? query : "");
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "POST", path, NULL, NULL, 0, &resp);
                if (st < 0)
                        return 1;
                if (st >= 400) {
                        cli_daemon_error(&resp);
                        ret = 1;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return ret;
}

static int stop_like(Cli *cli, int argc, char **argv, const char *verb)
{
        static const CliOption opts[] = {
                { "time", required_argument, NULL, 't', NULL, "int" },
                { "timeout", required_argument, NULL, 't', "Seconds to wait before killing the container", "int" },
                { "signal", required_argument, NULL, 's', "Signal to send to the container" },
                CLI_HELP_OPTION,
                {},
        };
        const char *t = NULL, *sig = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "t:s:", opts)) != -1) {
                switch (c) {
                case 't': t = optarg; break;
                case 's': sig = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (t && (!*t || strspn(t + (t[0] == '-'), "0123456789") != strlen(t + (t[0] == '-')))) {
                fprintf(stderr, "invalid argument \"%s\" for \"-t, --time\" flag: strconv.ParseInt: parsing "
                        "\"%s\": invalid syntax\n", t, t);
                return 125;
        }
        _cleanup_free_ char *es = sig ? client_escape(sig) : NULL;
        _cleanup_free_ char *q = xasprintf("%s%s%s%s%s", sig ? "signal=" : "", sig ? es : "", sig && t ? "&" : "",
                                           t ? "t=" : "", t ? t : "");
        return simple_verb(cli, argc, argv, optind, verb, q);
}

int cmd_stop(Cli *cli, int argc, char **argv)
{
        return stop_like(cli, argc, argv, "stop");
}

int cmd_restart(Cli *cli, int argc, char **argv)
{
        return stop_like(cli, argc, argv, "restart");
}

int cmd_kill(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "signal", required_argument, NULL, 's', "Signal to send to the container", NULL, "\"KILL\"" },
                CLI_HELP_OPTION,
                {},
        };
        const char *sig = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "s:", opts)) != -1) {
                switch (c) {
                case 's': sig = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        _cleanup_free_ char *es = sig ? client_escape(sig) : NULL;
        _cleanup_free_ char *q = sig ? xasprintf("signal=%s", es) : NULL;
        return simple_verb(cli, argc, argv, optind, "kill", q);
}

static int no_flags(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        return -1;
}

int cmd_pause(Cli *cli, int argc, char **argv)
{
        int r = no_flags(cli, argc, argv);
        return r >= 0 ? r : simple_verb(cli, argc, argv, optind, "pause", NULL);
}

int cmd_unpause(Cli *cli, int argc, char **argv)
{
        int r = no_flags(cli, argc, argv);
        return r >= 0 ? r : simple_verb(cli, argc, argv, optind, "unpause", NULL);
}

int cmd_rm(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "force", no_argument, NULL, 'f', "Force the removal of a running container (uses SIGKILL)" },
                { "volumes", no_argument, NULL, 'v', "Remove anonymous volumes associated with the container" },
                { "link", no_argument, NULL, 'l', "Remove the specified link" },
                CLI_HELP_OPTION,
                {},
        };
        bool force = false, vols = false, link = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "fvl", opts)) != -1) {
                switch (c) {
                case 'f': force = true; break;
                case 'v': vols = true; break;
                case 'l': link = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/containers/%s?force=%d&link=%d&v=%d", argv[i], force, link,
                                                      vols);
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "DELETE", path, NULL, NULL, 0, &resp);
                if (st < 0)
                        return 1;
                if (st >= 400) {
                        cli_daemon_error(&resp);
                        ret = 1;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return ret;
}

int cmd_wait(Cli *cli, int argc, char **argv)
{
        int r = no_flags(cli, argc, argv);
        if (r >= 0)
                return r;
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/containers/%s/wait", argv[i]);
                _cleanup_json_ json_t *out = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "POST", path, NULL, &out, &resp);
                if (st < 0)
                        return 1;
                if (st >= 400 || !out) {
                        cli_daemon_error(&resp);
                        ret = 1;
                        continue;
                }
                json_t *err = json_object_get(out, "Error");
                if (json_is_object(err) && json_str(err, "Message")) {
                        fprintf(stderr, "Error response from daemon: %s\n", json_str(err, "Message"));
                        ret = 1;
                        continue;
                }
                printf("%lld\n", json_int(out, "StatusCode", 0));
        }
        return ret;
}

int cmd_rename(Cli *cli, int argc, char **argv)
{
        int r = no_flags(cli, argc, argv);
        if (r >= 0)
                return r;
        if (argc - optind != 2)
                return cli_usage_error(cli, "'berth %s' requires exactly 2 arguments", cli->cmd_name);
        const char *newname = argv[optind + 1];
        while (*newname == '/')
                newname++;
        if (!*newname) {
                fprintf(stderr, "Error: neither old nor new names may be empty\n");
                return 1;
        }
        _cleanup_free_ char *en = client_escape(newname);
        _cleanup_free_ char *path = xasprintf("/containers/%s/rename?name=%s", argv[optind], en);
        _cleanup_response_ Response resp = { 0 };
        int st = client_request(cli->client, "POST", path, NULL, NULL, 0, &resp);
        if (st < 0)
                return 1;
        if (st >= 400) {
                _cleanup_free_ char *m = client_error_message(resp.body);
                fprintf(stderr, "Error response from daemon: %s\nError: failed to rename container named %s\n", m,
                        argv[optind]);
                return 1;
        }
        return 0;
}

/* ---- logs ---- */

typedef struct LogCtx {
        bool tty;
        StdDemux demux;
} LogCtx;

static int log_out(int stream, const char *buf, size_t len, void *ud)
{
        FILE *f = stream == 2 ? stderr : stdout;
        fwrite(buf, 1, len, f);
        fflush(f);
        return 0;
}

static int log_cb(const char *buf, size_t len, void *ud)
{
        LogCtx *l = ud;
        if (l->tty) {
                fwrite(buf, 1, len, stdout);
                fflush(stdout);
                return 0;
        }
        return stdcopy_feed(&l->demux, buf, len, log_out, NULL);
}

/* "10m", "1h30m", "42s" relative, or RFC3339/unix seconds -> "secs[.nanos]" */
static char *time_param(const char *v)
{
        int64_t ns;
        if (parse_rfc3339(v, &ns) >= 0)
                return xasprintf("%lld.%09lld", (long long) (ns / 1000000000LL), (long long) (ns % 1000000000LL));
        if (strspn(v, "0123456789.") == strlen(v))
                return strdup(v);
        double total = 0;
        const char *p = v;
        while (*p) {
                char *end;
                double n = strtod(p, &end);
                if (end == p)
                        return NULL;
                p = end;
                if (startswith(p, "ms"))
                        total += n / 1000, p += 2;
                else if (*p == 'h')
                        total += n * 3600, p++;
                else if (*p == 'm')
                        total += n * 60, p++;
                else if (*p == 's')
                        total += n, p++;
                else
                        return NULL;
        }
        return xasprintf("%lld", (long long) time(NULL) - (long long) total);
}

int cmd_logs(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "follow", no_argument, NULL, 'f', "Follow log output" },
                { "tail", required_argument, NULL, 'n', "Number of lines to show from the end of the logs", NULL, "\"all\"" },
                { "timestamps", no_argument, NULL, 't', "Show timestamps" },
                { "since", required_argument, NULL, 'S', "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)" },
                { "until", required_argument, NULL, 'U', "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)" },
                { "details", no_argument, NULL, 'd', "Show extra details provided to logs" },
                CLI_HELP_OPTION,
                {},
        };
        bool follow = false, ts = false, details = false;
        const char *tail = "all", *since = NULL, *until = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "fn:t", opts)) != -1) {
                switch (c) {
                case 'f': follow = true; break;
                case 'n': tail = optarg; break;
                case 't': ts = true; break;
                case 'S': since = optarg; break;
                case 'U': until = optarg; break;
                case 'd': details = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires exactly 1 argument", cli->cmd_name);
        _cleanup_free_ char *ipath = xasprintf("/containers/%s/json", argv[optind]);
        _cleanup_json_ json_t *info = NULL;
        if (cli_get_json(cli, ipath, &info) != 0)
                return 1;
        LogCtx l = { .tty = json_bool(json_object_get(info, "Config"), "Tty") };
        _cleanup_free_ char *sp = since ? time_param(since) : NULL, *up = until ? time_param(until) : NULL;
        if ((since && !sp) || (until && !up)) {
                fprintf(stderr, "invalid value for \"%s\": %s\n", since && !sp ? "since" : "until",
                        since && !sp ? since : until);
                return 1;
        }
        _cleanup_free_ char *et = client_escape(tail);
        _cleanup_free_ char *path = xasprintf("/containers/%s/logs?stderr=1&stdout=1&tail=%s%s%s%s%s%s%s%s",
                                              json_str(info, "Id") ?: argv[optind], et, follow ? "&follow=1" : "",
                                              ts ? "&timestamps=1" : "", details ? "&details=1" : "",
                                              sp ? "&since=" : "", sp ?: "", up ? "&until=" : "", up ?: "");
        _cleanup_free_ char *errbody = NULL;
        int st = client_stream(cli->client, "GET", path, NULL, -1, log_cb, &l, &errbody);
        if (st < 0 && st != -ECANCELED)
                return 1;
        if (st >= 400) {
                _cleanup_free_ char *m = client_error_message(errbody);
                fprintf(stderr, "Error response from daemon: %s\n", m);
                return 1;
        }
        return 0;
}

int cmd_top(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        /* "+": everything after the container is ps options */
        while ((c = cli_getopt(cli, argc, argv, "+", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        _cleanup_free_ char *path = NULL;
        if (argc - optind > 1) {
                char *args = NULL;
                size_t alen = 0;
                FILE *f = open_memstream(&args, &alen);
                for (int i = optind + 1; i < argc; i++)
                        fprintf(f, "%s%s", i > optind + 1 ? " " : "", argv[i]);
                fclose(f);
                _cleanup_free_ char *ea = client_escape(args);
                free(args);
                path = xasprintf("/containers/%s/top?ps_args=%s", argv[optind], ea);
        } else
                path = xasprintf("/containers/%s/top", argv[optind]);
        _cleanup_json_ json_t *out = NULL;
        if (cli_get_json(cli, path, &out) != 0)
                return 1;
        TabWriter tw;
        tab_init(&tw, 20);
        size_t i;
        json_t *e;
        char *line = NULL;
        size_t llen = 0;
        FILE *f = open_memstream(&line, &llen);
        json_array_foreach(json_object_get(out, "Titles"), i, e)
                fprintf(f, "%s%s", i ? "\t" : "", json_string_value(e) ?: "");
        fclose(f);
        tab_add(&tw, line);
        free(line);
        json_t *proc;
        json_array_foreach(json_object_get(out, "Processes"), i, proc) {
                size_t j;
                line = NULL;
                f = open_memstream(&line, &llen);
                json_array_foreach(proc, j, e) fprintf(f, "%s%s", j ? "\t" : "", json_string_value(e) ?: "");
                fclose(f);
                tab_add(&tw, line);
                free(line);
        }
        tab_flush(&tw, stdout);
        return 0;
}
