/* berth container/image/builder/system prune and system df: what berth's objects use, and removing the
 * unused ones, worded as docker words them. */
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

static bool confirm(const char *warning)
{
        printf("%s", warning);
        fflush(stdout);
        char line[64] = "";
        if (!fgets(line, sizeof(line), stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

static char *human(long long n)
{
        return fmt_human_size((double) n, 4);
}

/* POSTs a prune and appends docker's section to out; *space grows by SpaceReclaimed. 0 or the exit code. */
static int prune_one(Cli *cli, const char *what, json_t *filters, const char *extra, long long *space, FILE *out)
{
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/%s/prune%s%s%s%s", what, *fq || extra ? "?" : "", fq,
                                              *fq && extra ? "&" : "", extra ?: "");
        _cleanup_json_ json_t *res = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", path, NULL, &res, &resp);
        if (st < 0)
                return 1;
        if (st != 200)
                return cli_daemon_error(&resp);
        *space += json_int(res, "SpaceReclaimed", 0);
        size_t i;
        json_t *v;
        const char *key = streq(what, "containers") ? "ContainersDeleted"
                        : streq(what, "networks") ? "NetworksDeleted"
                        : streq(what, "volumes") ? "VolumesDeleted"
                        : streq(what, "build") ? "CachesDeleted" : NULL;
        if (key) {
                json_t *del = json_object_get(res, key);
                if (json_array_size(del) == 0)
                        return 0;
                fprintf(out, "%s\n", streq(what, "containers") ? "Deleted Containers:"
                                   : streq(what, "networks") ? "Deleted Networks:"
                                   : streq(what, "volumes") ? "Deleted Volumes:" : "Deleted build cache objects:");
                json_array_foreach(del, i, v)
                        fprintf(out, "%s\n", json_string_value(v) ?: "");
                fputc('\n', out);
                return 0;
        }
        json_t *del = json_object_get(res, "ImagesDeleted");
        if (json_array_size(del) == 0)
                return 0;
        fputs("Deleted Images:\n", out);
        json_array_foreach(del, i, v) {
                if (json_str(v, "Untagged"))
                        fprintf(out, "untagged: %s\n", json_str(v, "Untagged"));
                if (json_str(v, "Deleted"))
                        fprintf(out, "deleted: %s\n", json_str(v, "Deleted"));
        }
        fputc('\n', out);
        return 0;
}

typedef enum { P_CONTAINER, P_IMAGE, P_BUILDER, P_SYSTEM } PruneKind;

static int prune_cmd(Cli *cli, int argc, char **argv, PruneKind kind)
{
        static const CliOption container_opts[] = {
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"until=<timestamp>\")", "filter" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                CLI_HELP_OPTION,
                {},
        };
        static const CliOption image_opts[] = {
                { "all", no_argument, NULL, 'a', "Remove all unused images, not just dangling ones" },
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"until=<timestamp>\")", "filter" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                CLI_HELP_OPTION,
                {},
        };
        static const CliOption builder_opts[] = {
                { "all", no_argument, NULL, 'a', "Remove all unused build cache, not just dangling ones" },
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"until=24h\")", "filter" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                { "keep-storage", required_argument, NULL, 'K', "Amount of disk space to keep for cache", "bytes" },
                CLI_HELP_OPTION,
                {},
        };
        static const CliOption system_opts[] = {
                { "all", no_argument, NULL, 'a', "Remove all unused images not just dangling ones" },
                { "filter", required_argument, NULL, 'F', "Provide filter values (e.g. \"label=<key>=<value>\")",
                  "filter" },
                { "force", no_argument, NULL, 'f', "Do not prompt for confirmation" },
                { "volumes", no_argument, NULL, 'V', "Prune anonymous volumes" },
                CLI_HELP_OPTION,
                {},
        };
        const CliOption *opts = kind == P_CONTAINER ? container_opts : kind == P_IMAGE ? image_opts
                              : kind == P_BUILDER ? builder_opts : system_opts;
        bool all = false, force = false, volumes = false;
        _cleanup_free_ char *keep = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, kind == P_CONTAINER ? "f" : "af", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 'f': force = true; break;
                case 'V': volumes = true; break;
                case 'K': {
                        _cleanup_free_ char *e = client_escape(optarg);
                        free(keep);
                        keep = xasprintf("keep-storage=%s", e);
                        break;
                }
                case 'F': /* -f is --force here: docker names the flag without it */
                        if (filters_add(filters, optarg) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"--filter\" flag: bad format of "
                                        "filter (expected name=value)\n", optarg);
                                return 125;
                        }
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 0)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        const char *warning = NULL;
        _cleanup_free_ char *sys_warning = NULL;
        switch (kind) {
        case P_CONTAINER:
                warning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ";
                break;
        case P_IMAGE:
                warning = all ? "WARNING! This will remove all images without at least one container associated to "
                                "them.\nAre you sure you want to continue? [y/N] "
                              : "WARNING! This will remove all dangling images.\n"
                                "Are you sure you want to continue? [y/N] ";
                break;
        case P_BUILDER:
                warning = all ? "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
                              : "WARNING! This will remove all dangling build cache. Are you sure you want to "
                                "continue? [y/N] ";
                break;
        case P_SYSTEM:
                sys_warning = xasprintf("WARNING! This will remove:\n"
                                        "  - all stopped containers\n"
                                        "  - all networks not used by at least one container\n"
                                        "%s%s%s\n"
                                        "Are you sure you want to continue? [y/N] ",
                                        volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
                                        all ? "  - all images without at least one container associated to them\n"
                                            : "  - all dangling images\n",
                                        all ? "  - all build cache\n" : "  - unused build cache\n");
                warning = sys_warning;
                break;
        }
        if (!force && !confirm(warning))
                return 0;
        long long space = 0;
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int r = 0;
        _cleanup_json_ json_t *img_filters = json_deep_copy(filters);
        if (kind == P_IMAGE || kind == P_SYSTEM)
                json_object_set_new(img_filters, "dangling", json_pack("{s:b}", all ? "false" : "true", 1));
        switch (kind) {
        case P_CONTAINER:
                r = prune_one(cli, "containers", filters, NULL, &space, out);
                break;
        case P_IMAGE:
                r = prune_one(cli, "images", img_filters, NULL, &space, out);
                break;
        case P_BUILDER:
                r = prune_one(cli, "build", filters, all ? (keep ? NULL : "all=1") : keep, &space, out);
                if (r == 0 && all && keep) {
                        _cleanup_free_ char *x = xasprintf("all=1&%s", keep);
                        r = prune_one(cli, "build", filters, x, &space, out);
                }
                break;
        case P_SYSTEM:
                r = prune_one(cli, "containers", filters, NULL, &space, out);
                if (r == 0)
                        r = prune_one(cli, "networks", filters, NULL, &space, out);
                if (r == 0 && volumes)
                        r = prune_one(cli, "volumes", filters, NULL, &space, out);
                if (r == 0)
                        r = prune_one(cli, "images", img_filters, NULL, &space, out);
                if (r == 0)
                        r = prune_one(cli, "build", filters, all ? "all=1" : NULL, &space, out);
                break;
        }
        fclose(out);
        fputs(buf, stdout);
        free(buf);
        if (r != 0)
                return r;
        _cleanup_free_ char *h = human(space);
        printf("Total reclaimed space: %s\n", h);
        return 0;
}

int cmd_container_prune(Cli *cli, int argc, char **argv) { return prune_cmd(cli, argc, argv, P_CONTAINER); }
int cmd_image_prune(Cli *cli, int argc, char **argv) { return prune_cmd(cli, argc, argv, P_IMAGE); }
int cmd_builder_prune(Cli *cli, int argc, char **argv) { return prune_cmd(cli, argc, argv, P_BUILDER); }
int cmd_system_prune(Cli *cli, int argc, char **argv) { return prune_cmd(cli, argc, argv, P_SYSTEM); }

static bool container_active(json_t *c)
{
        const char *s = json_str(c, "State") ?: "";
        return strstr(s, "running") || strstr(s, "paused") || strstr(s, "restarting");
}

static char *with_pct(long long reclaimable, long long total)
{
        _cleanup_free_ char *h = human(reclaimable);
        if (total > 0)
                return xasprintf("%s (%lld%%)", h, reclaimable * 100 / total);
        return xstrdup(h);
}

static json_t *df_row(const char *type, size_t total, size_t active, long long size, char *reclaimable)
{
        _cleanup_free_ char *hs = human(size);
        json_t *row = json_pack("{s:s, s:s%, s:s%, s:s, s:s}", "Type", type, "TotalCount", "", (size_t) 0, "Active",
                                "", (size_t) 0, "Size", hs, "Reclaimable", reclaimable);
        json_object_set_new(row, "TotalCount", json_sprintf("%zu", total));
        json_object_set_new(row, "Active", json_sprintf("%zu", active));
        free(reclaimable);
        return row;
}

/* cli_print_rows with a header built in place */
static int print_rows(const char *format, const char *table, const char *type, json_t *header, json_t *rows)
{
        _cleanup_json_ json_t *h = header;
        return cli_print_rows(format, table, type, h, rows, 10);
}

static int df_verbose(json_t *df)
{
        json_t *images = json_object_get(df, "Images"), *containers = json_object_get(df, "Containers");
        json_t *volumes = json_object_get(df, "Volumes"), *cache = json_object_get(df, "BuildCache");
        size_t i;
        json_t *v;
        _cleanup_json_ json_t *rows = json_array();
        json_array_foreach(images, i, v) {
                json_t *tags = json_object_get(v, "RepoTags");
                const char *rt = json_string_value(json_array_get(tags, 0));
                _cleanup_free_ char *repo = NULL, *tag = NULL;
                if (rt && !streq(rt, "<none>:<none>")) {
                        const char *colon = strrchr(rt, ':');
                        repo = xstrndup(rt, (size_t) (colon - rt));
                        tag = xstrdup(colon + 1);
                }
                _cleanup_free_ char *id = fmt_trunc_id(json_str(v, "Id") ?: "");
                _cleanup_free_ char *created = cli_since(json_int(v, "Created", 0));
                long long size = json_int(v, "Size", 0), shared = json_int(v, "SharedSize", -1);
                _cleanup_free_ char *hs = fmt_human_size((double) size, 3), *hsh = human(shared < 0 ? 0 : shared);
                _cleanup_free_ char *hu = human(shared < 0 ? size : size - shared);
                _cleanup_free_ char *ago = xasprintf("%s ago", created);
                json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "Repository",
                                                      repo ?: "<none>", "Tag", tag ?: "<none>", "ID", id, "CreatedSince",
                                                      ago, "Size", hs, "SharedSize", hsh, "UniqueSize", hu,
                                                      "Containers", (json_int_t) json_int(v, "Containers", 0)));
        }
        printf("Images space usage:\n\n");
        int r = print_rows(NULL, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
                               "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", NULL,
                               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY", "Tag",
                                         "TAG", "ID", "IMAGE ID", "CreatedSince", "CREATED", "Size", "SIZE",
                                         "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "Containers",
                                         "CONTAINERS"), rows);
        if (r != 0)
                return r;
        json_array_clear(rows);
        json_array_foreach(containers, i, v) {
                _cleanup_free_ char *id = fmt_trunc_id(json_str(v, "Id") ?: "");
                const char *cmd = json_str(v, "Command") ?: "";
                _cleanup_free_ char *q = xasprintf("\"%s\"", cmd);
                _cleanup_free_ char *qc = fmt_ellipsis(q, 20);
                _cleanup_free_ char *created = cli_since(json_int(v, "Created", 0));
                _cleanup_free_ char *ago = xasprintf("%s ago", created);
                _cleanup_free_ char *hs = human(json_int(v, "SizeRw", 0));
                const char *name = json_string_value(json_array_get(json_object_get(v, "Names"), 0)) ?: "";
                size_t nvol = 0, j;
                json_t *m;
                json_array_foreach(json_object_get(v, "Mounts"), j, m)
                        if (streq(json_str(m, "Type") ?: "", "volume"))
                                nvol++;
                json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "ID", id, "Image",
                                                      json_str(v, "Image") ?: "", "Command", qc, "LocalVolumes",
                                                      (json_int_t) nvol, "Size", hs, "RunningFor", ago, "Status",
                                                      json_str(v, "Status") ?: "", "Names",
                                                      name[0] == '/' ? name + 1 : name));
        }
        printf("\nContainers space usage:\n\n");
        r = print_rows(NULL, "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
                           "{{.RunningFor}}\t{{.Status}}\t{{.Names}}", NULL,
                           json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CONTAINER ID", "Image", "IMAGE",
                                     "Command", "COMMAND", "LocalVolumes", "LOCAL VOLUMES", "Size", "SIZE",
                                     "RunningFor", "CREATED", "Status", "STATUS", "Names", "NAMES"), rows);
        if (r != 0)
                return r;
        json_array_clear(rows);
        json_array_foreach(volumes, i, v) {
                json_t *u = json_object_get(v, "UsageData");
                long long sz = json_int(u, "Size", -1);
                _cleanup_free_ char *hs = sz < 0 ? xstrdup("N/A") : human(sz);
                json_array_append_new(rows, json_pack("{s:s, s:I, s:s}", "Name", json_str(v, "Name") ?: "", "Links",
                                                      (json_int_t) json_int(u, "RefCount", 0), "Size", hs));
        }
        printf("\nLocal Volumes space usage:\n\n");
        r = print_rows(NULL, "table {{.Name}}\t{{.Links}}\t{{.Size}}", NULL,
                           json_pack("{s:s, s:s, s:s}", "Name", "VOLUME NAME", "Links", "LINKS", "Size", "SIZE"), rows);
        if (r != 0)
                return r;
        json_array_clear(rows);
        long long bsize = 0;
        json_array_foreach(cache, i, v) {
                if (!json_bool(v, "Shared"))
                        bsize += json_int(v, "Size", 0);
                _cleanup_free_ char *hs = human(json_int(v, "Size", 0));
                json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "ID",
                                                      json_str(v, "ID") ?: "", "CacheType", json_str(v, "Type") ?: "",
                                                      "Size", hs, "CreatedSince", "", "LastUsedSince", "", "UsageCount",
                                                      (json_int_t) json_int(v, "UsageCount", 0), "Shared",
                                                      json_bool(v, "Shared")));
        }
        _cleanup_free_ char *hb = human(json_int(df, "BuilderSize", bsize));
        printf("\nBuild cache usage: %s\n\n", hb);
        return print_rows(NULL, "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
                              "{{.UsageCount}}\t{{.Shared}}", NULL,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CACHE ID", "CacheType",
                                        "CACHE TYPE", "Size", "SIZE", "CreatedSince", "CREATED", "LastUsedSince",
                                        "LAST USED", "UsageCount", "USAGE", "Shared", "SHARED"), rows);
}

int cmd_system_df(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                { "verbose", no_argument, NULL, 'v', "Show detailed information on space usage" },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL;
        bool verbose = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "v", opts)) != -1) {
                switch (c) {
                case 'F': format = optarg; break;
                case 'v': verbose = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 0)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        if (verbose && format) {
                fprintf(stderr, "berth: system df --format with --verbose is not supported by berth\n");
                return 1;
        }
        _cleanup_json_ json_t *df = NULL;
        int r = cli_get_json(cli, "/system/df", &df);
        if (r != 0)
                return r;
        if (verbose)
                return df_verbose(df);
        json_t *images = json_object_get(df, "Images"), *containers = json_object_get(df, "Containers");
        json_t *volumes = json_object_get(df, "Volumes"), *cache = json_object_get(df, "BuildCache");
        size_t i, active;
        json_t *v;
        long long total = json_int(df, "LayersSize", 0), used = 0;
        _cleanup_json_ json_t *rows = json_array();

        active = 0;
        json_array_foreach(images, i, v)
                if (json_int(v, "Containers", 0) > 0) {
                        active++;
                        long long sz = json_int(v, "Size", -1), sh = json_int(v, "SharedSize", -1);
                        if (sz != -1 && sh != -1)
                                used += sz - sh;
                }
        json_array_append_new(rows, df_row("Images", json_array_size(images), active, total,
                                           with_pct(total - used, total)));

        active = 0;
        total = used = 0;
        json_array_foreach(containers, i, v) {
                long long sz = json_int(v, "SizeRw", 0);
                total += sz;
                if (container_active(v))
                        active++;
                else
                        used += sz; /* here: reclaimable */
        }
        json_array_append_new(rows, df_row("Containers", json_array_size(containers), active, total,
                                           with_pct(used, total)));

        active = 0;
        total = used = 0;
        json_array_foreach(volumes, i, v) {
                json_t *u = json_object_get(v, "UsageData");
                long long sz = json_int(u, "Size", -1);
                if (sz != -1)
                        total += sz;
                if (json_int(u, "RefCount", 0) > 0)
                        active++;
                else if (sz != -1)
                        used += sz;
        }
        json_array_append_new(rows, df_row("Local Volumes", json_array_size(volumes), active, total,
                                           with_pct(used, total)));

        active = 0;
        total = used = 0;
        json_array_foreach(cache, i, v) {
                bool shared = json_bool(v, "Shared");
                if (json_bool(v, "InUse")) {
                        active++;
                        if (!shared)
                                used += json_int(v, "Size", 0);
                }
                if (!shared)
                        total += json_int(v, "Size", 0);
        }
        if (json_object_get(df, "BuilderSize"))
                total = json_int(df, "BuilderSize", total);
        json_array_append_new(rows, df_row("Build Cache", json_array_size(cache), active, total, human(total - used)));

        return print_rows(format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                          "*formatter.diskUsageImagesContext",
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active",
                                    "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE"), rows);
}
