/* images, import, tag, rmi, history, image inspect, inspect */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

/* units.HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits. */
/* docker's units.HumanSizeWithPrecision(size, 3) */
static char *size3(double b)
{
        return fmt_human_size(b, 3);
}

static char *created_at(long long secs)
{
        time_t t = (time_t) secs;
        struct tm tm;
        char buf[64];
        localtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        return strdup(buf);
}

/* "docker.io/library/busybox:latest" -> repo "busybox", tag "latest". */
static void split_ref(const char *ref, char **repo, char **tag)
{
        const char *at = strchr(ref, '@');
        const char *slash = strrchr(ref, '/');
        const char *colon = strrchr(ref, ':');
        size_t end = at ? (size_t) (at - ref) : strlen(ref);
        if (colon && (!slash || colon > slash) && (!at || colon < at)) {
                *tag = strndup(colon + 1, end - (size_t) (colon + 1 - ref));
                end = (size_t) (colon - ref);
        } else
                *tag = at ? strdup(at + 1) : strdup("<none>");
        _cleanup_free_ char *r = strndup(ref, end);
        const char *fam = r;
        if (startswith(fam, "docker.io/"))
                fam += strlen("docker.io/");
        if (startswith(fam, "library/") && !strchr(fam + strlen("library/"), '/'))
                fam += strlen("library/");
        *repo = strdup(fam);
}

static json_t *image_row(json_t *img, const char *repo, const char *tag, const char *digest, bool trunc)
{
        const char *id = json_str(img, "Id") ?: "";
        _cleanup_free_ char *sid = trunc ? fmt_trunc_id(id) : strdup(id);
        long long created = json_int(img, "Created", 0);
        _cleanup_free_ char *since = cli_since(created);
        _cleanup_free_ char *at = created_at(created);
        long long size = json_int(img, "Size", 0);
        _cleanup_free_ char *hs = size3((double) size), *hv = fmt_human_size((double) size, 4);
        long long shared = json_int(img, "SharedSize", -1);
        _cleanup_free_ char *hshared = shared < 0 ? strdup("N/A") : size3((double) shared);
        _cleanup_free_ char *huniq = shared < 0 ? strdup("N/A") : size3((double) (size - shared));
        long long ncont = json_int(img, "Containers", -1);
        _cleanup_free_ char *cont = ncont < 0 ? strdup("N/A") : xasprintf("%lld", ncont);
        /* docker's imageContext, keys sorted as its JSON */
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Containers", cont, "CreatedAt", at,
                         "CreatedSince", since, "Digest", digest, "ID", sid, "Repository", repo, "SharedSize", hshared,
                         "Size", hs, "Tag", tag, "UniqueSize", huniq, "VirtualSize", hv);
}

int cmd_images(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all", no_argument, NULL, 'a', "Show all images (default hides intermediate images)" },
                { "quiet", no_argument, NULL, 'q', "Only show image IDs" },
                { "filter", required_argument, NULL, 'f', "Filter output based on conditions provided", "filter" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                { "no-trunc", no_argument, NULL, 'T', "Don't truncate output" },
                { "digests", no_argument, NULL, 'd', "Show digests" },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, quiet = false, trunc = true, digests = false;
        const char *format = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "aqf:", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 'q': quiet = true; break;
                case 'T': trunc = false; break;
                case 'd': digests = true; break;
                case 'F': format = optarg; break;
                case 'f':
                        if (cli_filter_flag(filters, optarg) != 0)
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, "'berth %s' requires at most 1 argument", cli->cmd_name);
        if (optind < argc) {
                _cleanup_free_ char *kv = xasprintf("reference=%s", argv[optind]);
                filters_add(filters, kv);
        }
        _cleanup_free_ char *fq = filters_query(filters);
        _cleanup_free_ char *path = xasprintf("/images/json%s%s%s%s", all || *fq ? "?" : "", all ? "all=1" : "",
                                              all && *fq ? "&" : "", fq);
        _cleanup_json_ json_t *list = NULL;
        Response resp = { 0 };
        int st = client_json(cli->client, "GET", path, NULL, &list, &resp);
        if (st < 0)
                return 1;
        if (st != 200 || !json_is_array(list)) {
                cli_daemon_error(&resp);
                response_clear(&resp);
                return 1;
        }
        response_clear(&resp);

        _cleanup_json_ json_t *rows = json_array();
        size_t i;
        json_t *img;
        json_array_foreach(list, i, img) {
                json_t *tags = json_object_get(img, "RepoTags");
                json_t *dig = json_object_get(img, "RepoDigests");
                size_t before = json_array_size(rows), j, k;
                json_t *t, *d;
                /* repos with tags: one row per tag (per digest of that repo with --digests) */
                json_array_foreach(tags, j, t) {
                        _cleanup_free_ char *repo = NULL, *tag = NULL;
                        split_ref(json_string_value(t) ?: "", &repo, &tag);
                        if (streq(repo, "<none>"))
                                continue;
                        bool any = false;
                        if (digests)
                                json_array_foreach(dig, k, d) {
                                        _cleanup_free_ char *drepo = NULL, *dg = NULL;
                                        split_ref(json_string_value(d) ?: "", &drepo, &dg);
                                        if (streq(drepo, repo)) {
                                                json_array_append_new(rows, image_row(img, repo, tag, dg, trunc));
                                                any = true;
                                        }
                                }
                        if (!any)
                                json_array_append_new(rows, image_row(img, repo, tag, "<none>", trunc));
                }
                /* digest-only repos */
                json_array_foreach(dig, k, d) {
                        _cleanup_free_ char *drepo = NULL, *dg = NULL;
                        split_ref(json_string_value(d) ?: "", &drepo, &dg);
                        bool tagged = false;
                        json_array_foreach(tags, j, t) {
                                _cleanup_free_ char *repo = NULL, *tag = NULL;
                                split_ref(json_string_value(t) ?: "", &repo, &tag);
                                tagged |= streq(repo, drepo);
                        }
                        if (!tagged)
                                json_array_append_new(rows, image_row(img, drepo, "<none>", digests ? dg : "<none>",
                                                                      trunc));
                }
                if (json_array_size(rows) == before)
                        json_array_append_new(rows, image_row(img, "<none>", "<none>", "<none>", trunc));
        }
        if (quiet)
                format = "{{.ID}}";
        const char *deflt = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                    : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
        _cleanup_json_ json_t *hdr = json_pack(
                "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE ID", "Repository", "REPOSITORY", "Tag",
                "TAG", "Digest", "DIGEST", "CreatedSince", "CREATED", "CreatedAt", "CREATED AT", "Size", "SIZE",
                "VirtualSize", "VIRTUAL SIZE", "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "Containers",
                "CONTAINERS");
        return cli_print_rows(format, deflt, "*formatter.imageContext", hdr, rows, 10);
}

typedef struct ProgressCtx {
        FILE *out;
        char *pending;
        size_t len;
        bool failed;
        bool tty;
        char **ids; /* the layer lines drawn since the last line without an id, top to bottom */
} ProgressCtx;

/* docker's JSONProgress.String(): the bar from progressDetail, for the terminal's width. */
static char *progress_string(json_t *detail, int width)
{
        long long cur = json_int(detail, "current", 0), total = json_int(detail, "total", 0);
        long long start = json_int(detail, "start", 0);
        const char *units = json_str(detail, "units");
        bool bytes = !units || !*units;
        if (cur <= 0 && total <= 0)
                return xstrdup("");
        _cleanup_free_ char *hc = fmt_human_size((double) cur, 4), *ht = fmt_human_size((double) total, 4);
        if (total <= 0)
                return bytes ? xasprintf("%8s", hc) : xasprintf("%lld %s", cur, units);
        int pct = (int) ((double) cur / (double) total * 100) / 2;
        if (pct > 50)
                pct = 50;
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (width > 110) {
                fputc('[', f);
                for (int i = 0; i < pct; i++)
                        fputc('=', f);
                fputc('>', f);
                for (int i = pct; i < 50; i++)
                        fputc(' ', f);
                fputs("] ", f);
        }
        if (json_bool(detail, "hidecounts"))
                ;
        else if (bytes && cur > total)
                fprintf(f, "%8s", hc); /* no total when the current count is off */
        else if (bytes)
                fprintf(f, "%8s/%s", hc, ht);
        else if (cur > total)
                fprintf(f, "%lld %s", cur, units);
        else
                fprintf(f, "%lld/%lld %s", cur, total, units);
        if (cur > 0 && start > 0 && pct < 50 && width > 50) {
                long long left = (long long) ((double) (time(NULL) - start) / (double) cur * (double) (total - cur));
                if (left >= 3600)
                        fprintf(f, " %lldh%lldm%llds", left / 3600, left % 3600 / 60, left % 60);
                else if (left >= 60)
                        fprintf(f, " %lldm%llds", left / 60, left % 60);
                else
                        fprintf(f, " %llds", left);
        }
        fclose(f);
        return out;
}

/* One JSON message per line, shown as docker's jsonmessage does: on a terminal each layer keeps its
 * own line, redrawn in place with the cursor moved up to it; elsewhere progress updates are left out
 * and every other message is a line of its own. */
static void progress_line(ProgressCtx *p, const char *line, size_t n)
{
        _cleanup_json_ json_t *j = json_loadb(line, n, 0, NULL);
        if (!j)
                return;
        const char *e = json_str(j, "error");
        if (e) {
                fprintf(stderr, "%s\n", e);
                p->failed = true;
                return;
        }
        const char *s = json_str(j, "stream");
        const char *status = json_str(j, "status") ?: "";
        const char *id = json_str(j, "id");
        const char *prog = json_str(j, "progress");
        bool has_progress = json_object_get(j, "progressDetail") != NULL || prog;
        if (!s && !json_str(j, "status"))
                return;
        size_t diff = 0;
        if (id && *id && has_progress) {
                size_t n_ids = strv_length(p->ids), line_no = n_ids;
                for (size_t i = 0; i < n_ids; i++)
                        if (streq(p->ids[i], id))
                                line_no = i;
                if (line_no == n_ids) {
                        strv_extend(&p->ids, id);
                        if (p->tty)
                                fputc('\n', p->out);
                        n_ids++;
                }
                diff = n_ids - line_no;
                if (p->tty)
                        fprintf(p->out, "\x1b[%zuA", diff);
        } else {
                p->ids = strv_free(p->ids);
        }
        const char *endl = "";
        if (p->tty && !s && has_progress) {
                fputs("\x1b[2K\r", p->out);
                endl = "\r";
        } else if (prog && *prog && !s) {
                return; /* no bars off a terminal */
        }
        if (id && *id)
                fprintf(p->out, "%s: ", id);
        if (p->tty && has_progress && !s) {
                struct winsize ws;
                int width = ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 200;
                _cleanup_free_ char *bar = progress_string(json_object_get(j, "progressDetail"), width);
                fprintf(p->out, "%s %s%s", status, bar, endl);
        }
        else if (s)
                fputs(s, p->out);
        else
                fprintf(p->out, "%s%s\n", status, endl);
        if (id && *id && p->tty && diff)
                fprintf(p->out, "\x1b[%zuB", diff);
        fflush(p->out);
}

static int progress_cb(const char *buf, size_t len, void *ud)
{
        ProgressCtx *p = ud;
        p->pending = realloc(p->pending, p->len + len + 1);
        memcpy(p->pending + p->len, buf, len);
        p->len += len;
        char *nl;
        while ((nl = memchr(p->pending, '\n', p->len))) {
                size_t l = (size_t) (nl - p->pending);
                progress_line(p, p->pending, l);
                memmove(p->pending, nl + 1, p->len - l - 1);
                p->len -= l + 1;
        }
        return 0;
}

/* Runs a progress-stream request; returns 0 on success, 1 on error (printed). */
int cli_progress_request(Cli *cli, const char *path, int upload_fd, const char *ctype, const char *err_prefix,
                         FILE *out)
{
        ProgressCtx p = { .out = out, .tty = isatty(fileno(out)) };
        _cleanup_free_ char *errbody = NULL;
        int st = client_stream(cli->client, "POST", path, ctype, upload_fd, progress_cb, &p, &errbody);
        if (p.len > 0)
                progress_line(&p, p.pending, p.len);
        free(p.pending);
        strv_free(p.ids);
        if (st < 0)
                return 1;
        if (st >= 400) {
                _cleanup_free_ char *m = client_error_message(errbody);
                fprintf(stderr, "%sError response from daemon: %s\n", err_prefix ?: "", m);
                return 1;
        }
        return p.failed ? 1 : 0;
}

int cmd_import(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "change", required_argument, NULL, 'c', "Apply Dockerfile instruction to the created image", "list" },
                { "message", required_argument, NULL, 'm', "Set commit message for imported image" },
                { "platform", required_argument, NULL, 'p', "Set platform if server is multi-platform capable" },
                CLI_HELP_OPTION,
                {},
        };
        _cleanup_strv_free_ char **changes = NULL;
        const char *message = NULL, *platform = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "c:m:", opts)) != -1) {
                switch (c) {
                case 'c': strv_extend(&changes, optarg); break;
                case 'm': message = optarg; break;
                case 'p': platform = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        if (argc - optind > 2)
                return cli_usage_error(cli, "'berth %s' requires at most 2 arguments", cli->cmd_name);
        const char *src = argv[optind];
        const char *ref = optind + 1 < argc ? argv[optind + 1] : NULL;
        bool url = startswith(src, "http://") || startswith(src, "https://");
        _cleanup_close_ int fd = -EBADF;
        if (!url) {
                if (streq(src, "-"))
                        fd = dup(STDIN_FILENO);
                else {
                        fd = open(src, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                fprintf(stderr, "open %s: %s\n", src, strerror(errno));
                                return 1;
                        }
                }
        }
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        _cleanup_free_ char *esrc = client_escape(url ? src : "-");
        fprintf(f, "/images/create?fromSrc=%s", esrc);
        if (ref) {
                _cleanup_free_ char *e = client_escape(ref);
                fprintf(f, "&repo=%s", e);
        }
        for (char **ch = changes; ch && *ch; ch++) {
                _cleanup_free_ char *e = client_escape(*ch);
                fprintf(f, "&changes=%s", e);
        }
        if (message) {
                _cleanup_free_ char *e = client_escape(message);
                fprintf(f, "&message=%s", e);
        }
        if (platform) {
                _cleanup_free_ char *e = client_escape(platform);
                fprintf(f, "&platform=%s", e);
        }
        fclose(f);
        _cleanup_free_ char *path = q;
        return cli_progress_request(cli, path, fd, "text/plain", NULL, stdout);
}

int cmd_tag(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        if (argc - optind != 2)
                return cli_usage_error(cli, "'berth %s' requires 2 arguments", cli->cmd_name);
        const char *target = argv[optind + 1];
        const char *slash = strrchr(target, '/'), *colon = strrchr(target, ':');
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        if (colon && (!slash || colon > slash)) {
                repo = strndup(target, (size_t) (colon - target));
                tag = strdup(colon + 1);
        } else {
                repo = strdup(target);
                tag = strdup("latest");
        }
        _cleanup_free_ char *er = client_escape(repo), *et = client_escape(tag);
        _cleanup_free_ char *path = xasprintf("/images/%s/tag?repo=%s&tag=%s", argv[optind], er, et);
        _cleanup_response_ Response resp = { 0 };
        int st = client_request(cli->client, "POST", path, NULL, NULL, 0, &resp);
        if (st < 0)
                return 1;
        if (st >= 300)
                return cli_daemon_error(&resp);
        return 0;
}

int cmd_rmi(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "force", no_argument, NULL, 'f', "Force removal of the image" },
                { "no-prune", no_argument, NULL, 'n', "Do not delete untagged parents" },
                CLI_HELP_OPTION,
                {},
        };
        bool force = false, noprune = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f': force = true; break;
                case 'n': noprune = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/images/%s%s%s%s", argv[i], force || noprune ? "?" : "",
                                                      force ? "force=1" : "",
                                                      noprune ? (force ? "&noprune=1" : "noprune=1") : "");
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
                size_t j;
                json_t *e;
                json_array_foreach(out, j, e) {
                        if (json_str(e, "Untagged"))
                                printf("Untagged: %s\n", json_str(e, "Untagged"));
                        if (json_str(e, "Deleted"))
                                printf("Deleted: %s\n", json_str(e, "Deleted"));
                }
        }
        return ret;
}

int cmd_history(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "human", optional_argument, NULL, 'H', "Print sizes and dates in human readable format", NULL, "true" },
                { "no-trunc", no_argument, NULL, 'T', "Don't truncate output" },
                { "quiet", no_argument, NULL, 'q', "Only show image IDs" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT_TABLE },
                CLI_HELP_OPTION,
                {},
        };
        bool human = true, trunc = true, quiet = false;
        const char *format = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "H::q", opts)) != -1) {
                switch (c) {
                case 'H':
                        if (optarg) {
                                const char *v = optarg[0] == '=' ? optarg + 1 : optarg;
                                human = !(streq(v, "false") || streq(v, "0"));
                        } else
                                human = true;
                        break;
                case 'T': trunc = false; break;
                case 'q': quiet = true; break;
                case 'F': format = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires exactly 1 argument", cli->cmd_name);
        _cleanup_free_ char *path = xasprintf("/images/%s/history", argv[optind]);
        _cleanup_json_ json_t *list = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "GET", path, NULL, &list, &resp);
        if (st < 0)
                return 1;
        if (st != 200)
                return cli_daemon_error(&resp);
        _cleanup_json_ json_t *rows = json_array();
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h) {
                const char *id = json_str(h, "Id") ?: "<missing>";
                _cleanup_free_ char *sid = trunc && !streq(id, "<missing>") ? fmt_trunc_id(id) : strdup(id);
                long long created = json_int(h, "Created", 0);
                _cleanup_free_ char *since = NULL;
                if (human)
                        since = cli_since(created);
                else {
                        _cleanup_free_ char *s = format_rfc3339(created * 1000000000LL, true);
                        since = strdup(s);
                }
                _cleanup_free_ char *by = strdup(json_str(h, "CreatedBy") ?: "");
                for (char *p = by; *p; p++)
                        if (*p == '\t')
                                *p = ' ';
                _cleanup_free_ char *byt = trunc ? fmt_ellipsis(by, 45) : strdup(by);
                long long size = json_int(h, "Size", 0);
                _cleanup_free_ char *hs = human ? size3((double) size) : xasprintf("%lld", size);
                _cleanup_free_ char *at = format_rfc3339(created * 1000000000LL, true);
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Comment",
                                                      json_str(h, "Comment") ?: "", "CreatedAt", at, "CreatedBy", byt,
                                                      "CreatedSince", since, "ID", sid, "Size", hs));
        }
        if (quiet)
                format = "{{.ID}}";
        _cleanup_json_ json_t *hdr = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE", "CreatedSince", "CREATED",
                                               "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE",
                                               "Comment", "COMMENT");
        return cli_print_rows(format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
                              "*image.historyContext", hdr, rows, 10);
}

/* ---- inspect ---- */

/* docker's inspect: "json" is the array on one line; a template runs per object with missingkey=error. */
int cli_print_inspect(json_t *found, const char *format)
{
        if (format && streq(format, "json")) {
                _cleanup_free_ char *s = fmt_json(found);
                printf("%s\n", s);
                return 0;
        }
        if (format) {
                Template t;
                char *err = NULL;
                if (tmpl_parse(format, "", &t, &err) < 0) {
                        fprintf(stderr, "template parsing error: %s\n", err);
                        free(err);
                        return 64;
                }
                t.missing_error = true;
                size_t i;
                json_t *o;
                int ret = 0;
                bool printed = false;
                /* an object the template fails on is reported and skipped; docker prints an empty line
                 * when nothing else was printed */
                json_array_foreach(found, i, o) {
                        _cleanup_free_ char *s = NULL;
                        if (tmpl_exec(&t, o, false, &s, &err) < 0) {
                                fprintf(stderr, "template parsing error: %s\n", err);
                                free(err);
                                ret = 1;
                                continue;
                        }
                        printf("%s\n", s);
                        printed = true;
                }
                if (!printed)
                        putchar('\n');
                tmpl_free(&t);
                return ret;
        }
        _cleanup_free_ char *s = json_dumps(found, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s ? s : "[]");
        return 0;
}

/* kind: "container", "image" or NULL for both. */
static int inspect_common(Cli *cli, int argc, char **argv, const char *kind)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT },
                { "size", no_argument, NULL, 's', "Display total file sizes if the type is container" },
                { "type", required_argument, NULL, 't', "Only inspect objects of the given type" },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL, *type = kind;
        bool size = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:s", opts)) != -1) {
                switch (c) {
                case 'f': format = optarg; break;
                case 's': size = true; break;
                case 't':
                        if (!streq(optarg, "container") && !streq(optarg, "image")) {
                                fprintf(stderr, "\"%s\" is not a valid value for --type\n", optarg);
                                return 1;
                        }
                        type = optarg;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        _cleanup_json_ json_t *found = json_array();
        _cleanup_strv_free_ char **errors = NULL;
        for (int i = optind; i < argc; i++) {
                const char *name = argv[i];
                json_t *obj = NULL;
                _cleanup_free_ char *lasterr = NULL;
                bool other_error = false;
                for (int k = 0; k < 2 && !obj; k++) {
                        const char *what = k == 0 ? "container" : "image";
                        if (type && !streq(type, what))
                                continue;
                        _cleanup_free_ char *path = xasprintf(
                                "/%ss/%s/json%s", what, name, size && k == 0 ? "?size=1" : "");
                        _cleanup_response_ Response resp = { 0 };
                        int st = client_json(cli->client, "GET", path, NULL, &obj, &resp);
                        if (st < 0)
                                return 1;
                        if (st != 200) {
                                free(lasterr);
                                lasterr = client_error_message(resp.body);
                                if (st != 404)
                                        other_error = true;
                                if (obj) {
                                        json_decref(obj);
                                        obj = NULL;
                                }
                                if (other_error)
                                        break;
                        }
                }
                if (obj) {
                        json_array_append_new(found, obj);
                        continue;
                }
                if (type && !other_error)
                        strv_push(&errors, xasprintf("Error: No such %s: %s", type, name));
                else if (other_error)
                        strv_push(&errors, xasprintf("Error response from daemon: %s", lasterr));
                else
                        strv_push(&errors, xasprintf("Error: No such object: %s", name));
        }
        int ret = cli_print_inspect(found, format);
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "%s\n", *e);
        return errors ? 1 : ret;
}

int cmd_inspect(Cli *cli, int argc, char **argv)
{
        return inspect_common(cli, argc, argv, NULL);
}

int cmd_image_inspect(Cli *cli, int argc, char **argv)
{
        return inspect_common(cli, argc, argv, "image");
}

int cmd_container_inspect(Cli *cli, int argc, char **argv)
{
        return inspect_common(cli, argc, argv, "container");
}
