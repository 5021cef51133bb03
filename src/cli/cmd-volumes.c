/* berth volume create|ls|inspect|rm|prune, with docker's flags and output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

/* "k=v" of --label and --opt into obj; 125 after docker's message when there is no value. */
static int kv_flag(json_t *obj, const char *arg, const char *flag)
{
        (void) flag; /* docker sends a key without '=' with an empty value; the daemon judges it */
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *k = eq ? xstrndup(arg, (size_t) (eq - arg)) : xstrdup(arg);
        json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
        return 0;
}

int cmd_volume_create(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "driver", required_argument, NULL, 'd', "Specify volume driver name", NULL, "\"local\"" },
                { "label", required_argument, NULL, 'l', "Set metadata for a volume", "list" },
                { "opt", required_argument, NULL, 'o', "Set driver specific options", "map", "map[]" },
                { "name", required_argument, NULL, 'n', "Specify volume name" },
                CLI_HELP_OPTION,
                {},
        };
        _cleanup_json_ json_t *labels = json_object(), *dopts = json_object();
        const char *driver = "local", *name = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "d:o:", opts)) != -1) {
                switch (c) {
                case 'd': driver = optarg; break;
                case 'n': name = optarg; break;
                case 'l':
                        if (kv_flag(labels, optarg, "--label"))
                                return 125;
                        break;
                case 'o':
                        if (kv_flag(dopts, optarg, "--opt"))
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, "'berth %s' requires at most 1 argument", cli->cmd_name);
        if (optind < argc) {
                if (name && !streq(name, argv[optind])) {
                        fprintf(stderr, "conflicting options: either specify --name or provide positional arg, "
                                "not both\n");
                        return 1;
                }
                name = argv[optind];
        }
        _cleanup_json_ json_t *body = json_pack("{s:s,s:s,s:O,s:O}", "Name", name ? name : "", "Driver", driver,
                                                "DriverOpts", dopts, "Labels", labels);
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", "/volumes/create", body, &out, &resp);
        if (st < 0)
                return 1;
        if (st != 201 && st != 200)
                return cli_daemon_error(&resp);
        printf("%s\n", json_str(out, "Name") ?: "");
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static char *labels_string(json_t *labels)
{
        /* docker sorts nothing here: Go's map order; berth gives the keys sorted */
        size_t n = json_object_size(labels), i = 0;
        const char **keys = xcalloc(n + 1, sizeof(char *));
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(char *), cmp_str);
        size_t len = 1;
        for (i = 0; i < n; i++)
                len += strlen(keys[i]) + strlen(json_str(labels, keys[i]) ?: "") + 2;
        char *s = xcalloc(1, len);
        for (i = 0; i < n; i++) {
                if (i)
                        strcat(s, ",");
                strcat(s, keys[i]);
                strcat(s, "=");
                strcat(s, json_str(labels, keys[i]) ?: "");
        }
        free(keys);
        return s;
}

int cmd_volume_ls(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "quiet", no_argument, NULL, 'q', "Only display volume names" },
                { "filter", required_argument, NULL, 'f', "Provide filter values (e.g. \"dangling=true\")", "filter" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                CLI_HELP_OPTION,
                {},
        };
        bool quiet = false;
        const char *format = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "qf:", opts)) != -1) {
                switch (c) {
                case 'q': quiet = true; break;
                case 'F': format = optarg; break;
                case 'f':
                        if (cli_filter_flag(filters, optarg) != 0)
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 0)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/volumes%s%s", *fq ? "?" : "", fq);
        _cleanup_json_ json_t *out = NULL;
        if (cli_get_json(cli, path, &out) != 0)
                return 1;
        json_t *vols = json_object_get(out, "Volumes");
        _cleanup_json_ json_t *rows = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(vols, i, v) {
                _cleanup_free_ char *labels = labels_string(json_object_get(v, "Labels"));
                /* docker's volumeContext, keys sorted as its JSON; "@Label" is its Label method */
                json_t *l = json_object_get(v, "Labels");
                _cleanup_json_ json_t *lab = json_is_object(l) ? json_incref(l) : json_object();
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}",
                                                      "Availability", "N/A", "Driver", json_str(v, "Driver") ?: "",
                                                      "Group", "N/A", "Labels", labels, "Links", "N/A",
                                                      "Mountpoint", json_str(v, "Mountpoint") ?: "", "Name",
                                                      json_str(v, "Name") ?: "", "Scope", json_str(v, "Scope") ?: "",
                                                      "Size", "N/A", "Status", "N/A", "@Label", lab));
        }
        /* docker lists them by name */
        size_t n = json_array_size(rows);
        for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && strcmp(json_str(json_array_get(rows, b - 1), "Name"),
                                                   json_str(json_array_get(rows, b), "Name")) > 0; b--) {
                        json_t *t = json_incref(json_array_get(rows, b));
                        json_array_set(rows, b, json_array_get(rows, b - 1));
                        json_array_set_new(rows, b - 1, t);
                }
        if (quiet)
                format = "{{.Name}}";
        _cleanup_json_ json_t *hdr = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Name", "VOLUME NAME", "Driver",
                                               "DRIVER", "Scope", "SCOPE", "Mountpoint", "MOUNTPOINT", "Labels",
                                               "LABELS", "Links", "LINKS", "Size", "SIZE");
        return cli_print_rows(format, "table {{.Driver}}\t{{.Name}}", "*formatter.volumeContext", hdr, rows, 10);
}

int cmd_volume_inspect(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f': format = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        _cleanup_json_ json_t *found = json_array();
        int ret = 0;
        _cleanup_strv_free_ char **errors = NULL;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *esc = url_escape(argv[i]);
                _cleanup_free_ char *path = xasprintf("/volumes/%s", esc);
                json_t *obj = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "GET", path, NULL, &obj, &resp);
                if (st < 0)
                        return 1;
                if (st != 200) {
                        json_decref(obj);
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        strv_push(&errors, xasprintf("Error response from daemon: %s", m));
                        continue;
                }
                json_array_append_new(found, obj);
        }
        ret = cli_print_inspect(found, format);
        fflush(stdout);
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "%s\n", *e);
        return errors ? 1 : ret;
}

int cmd_volume_rm(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "force", no_argument, NULL, 'f', "Force the removal of one or more volumes" },
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
                _cleanup_free_ char *path = xasprintf("/volumes/%s%s", esc, force ? "?force=1" : "");
                _cleanup_json_ json_t *out = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "DELETE", path, NULL, &out, &resp);
                if (st < 0)
                        return 1;
                if (st >= 300) {
                        cli_daemon_error(&resp);
                        ret = 1;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return ret;
}

int cmd_volume_prune(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all", no_argument, NULL, 'a', "Remove all unused volumes, not just anonymous ones" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"label=<label>\")", "filter" },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, force = false;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "af", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
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
        if (all && json_object_get(filters, "all")) {
                fprintf(stderr, "conflicting options: cannot specify both --all and --filter all=1\n");
                return 1;
        }
        if (all)
                filters_add(filters, "all=true");
        if (!force) {
                printf("WARNING! This will remove %s local volumes not used by at least one container.\n"
                       "Are you sure you want to continue? [y/N] ", all ? "all" : "anonymous");
                fflush(stdout);
                char line[64] = "";
                if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
                        return 0;
        }
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/volumes/prune%s%s", *fq ? "?" : "", fq);
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", path, NULL, &out, &resp);
        if (st < 0)
                return 1;
        if (st != 200)
                return cli_daemon_error(&resp);
        json_t *del = json_object_get(out, "VolumesDeleted");
        if (json_array_size(del) > 0) {
                printf("Deleted Volumes:\n");
                size_t i;
                json_t *v;
                json_array_foreach(del, i, v) printf("%s\n", json_string_value(v) ?: "");
                printf("\n");
        }
        _cleanup_free_ char *sz = human_size((double) json_int(out, "SpaceReclaimed", 0));
        printf("Total reclaimed space: %s\n", sz);
        return 0;
}
