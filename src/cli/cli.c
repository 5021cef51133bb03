/* Helpers shared by the command handlers: flag errors, usage, tables. */
#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/format.h"

static void print_usage_tail(Cli *cli)
{
        fprintf(stderr, "\nUsage:  berth %s\n\nRun 'berth %s --help' for more information\n", cli->cmd->usage,
                cli->cmd_name);
}

/* pflag's wrapN: the text up to the last space before i, unless all of it fits within i + slop. */
static size_t wrap_cut(const char *s, size_t i, size_t slop, size_t *next)
{
        size_t len = strlen(s);
        if (i + slop > len) {
                *next = len;
                return len;
        }
        size_t w = 0, nl = 0;
        for (size_t k = 0; k < i; k++) {
                if (s[k] == ' ' || s[k] == '\t' || s[k] == '\n')
                        w = k;
                if (s[k] == '\n')
                        nl = k;
        }
        if (w == 0) {
                *next = len;
                return len;
        }
        if (nl > 0 && nl < w) {
                *next = nl + 1;
                return nl;
        }
        *next = w + 1;
        return w;
}

/* pflag's wrap: text from column indent to width, continuation lines indented. */
static void wrap_text(FILE *f, size_t indent, size_t width, const char *s)
{
        size_t wrap = width > indent ? width - indent : 0;
        if (wrap < 24) {
                indent = 16;
                wrap = width > indent ? width - indent : 0;
                fprintf(f, "\n%*s", (int) indent, "");
        }
        wrap -= 5;
        bool first = true;
        while (*s) {
                size_t next, l = wrap_cut(s, wrap, 5, &next);
                if (!first)
                        fprintf(f, "\n%*s", (int) indent, "");
                first = false;
                for (size_t k = 0; k < l; k++) {
                        fputc(s[k], f);
                        if (s[k] == '\n')
                                fprintf(f, "%*s", (int) indent, "");
                }
                s += next;
        }
}

static int cmp_opt(const void *a, const void *b)
{
        return strcmp((*(const CliOption *const *) a)->name, (*(const CliOption *const *) b)->name);
}

void cli_print_help(FILE *f, const Command *cmd, const char *aliases, const char *shortopts, const CliOption *opts)
{
        fprintf(f, "Usage:  berth %s\n\n%s\n", cmd->usage, cmd->summary);
        if (aliases)
                fprintf(f, "\nAliases:\n  %s\n", aliases);
        size_t n = 0;
        for (const CliOption *o = opts; o && o->name; o++)
                if (o->help)
                        n++;
        if (!n)
                return;
        _cleanup_free_ const CliOption **v = xcalloc(n, sizeof(CliOption *));
        _cleanup_strv_free_ char **heads = NULL;
        n = 0;
        for (const CliOption *o = opts; o->name; o++)
                if (o->help)
                        v[n++] = o;
        qsort(v, n, sizeof(CliOption *), cmp_opt);
        size_t maxlen = 0;
        for (size_t i = 0; i < n; i++) {
                const CliOption *o = v[i];
                bool shortform = o->val > 0 && o->val < 128 && isalnum(o->val) && shortopts &&
                                 strchr(shortopts, o->val);
                /* an optional argument is a boolean's "=false" */
                const char *type = o->arg ? o->arg : o->has_arg == required_argument ? "string" : NULL;
                char *h = shortform ? xasprintf("  -%c, --%s%s%s", o->val, o->name, type ? " " : "", type ?: "")
                                    : xasprintf("      --%s%s%s", o->name, type ? " " : "", type ?: "");
                if (strlen(h) > maxlen)
                        maxlen = strlen(h);
                strv_push(&heads, h);
        }
        size_t width = 80;
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                width = ws.ws_col;
        fputs("\nOptions:\n", f);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text = v[i]->def ? xasprintf("%s (default %s)", v[i]->help, v[i]->def)
                                                      : xstrdup(v[i]->help);
                fprintf(f, "%-*s", (int) (maxlen + 3), heads[i]);
                wrap_text(f, maxlen + 3, width - 1, text);
                fputc('\n', f);
        }
}

int cli_getopt(Cli *cli, int argc, char **argv, const char *shortopts, const CliOption *longopts)
{
        /* getopt_long's own table, built once: a process runs one command */
        static const CliOption *built;
        static struct option *gopts;
        if (built != longopts) {
                size_t n = 0;
                while (longopts[n].name)
                        n++;
                free(gopts);
                gopts = xcalloc(n + 1, sizeof(struct option));
                for (size_t i = 0; i < n; i++)
                        gopts[i] = (struct option){ longopts[i].name, longopts[i].has_arg, longopts[i].flag,
                                                    longopts[i].val };
                built = longopts;
        }
        opterr = 0;
        int idx = -1, prev = optind ? optind : 1;
        int c = getopt_long(argc, argv, shortopts, gopts, &idx);
        /* getopt takes a unique prefix of a long name; docker's flags must be spelled out */
        if (idx >= 0 && c != '?' && prev < argc && startswith(argv[prev], "--")) {
                size_t l = strcspn(argv[prev] + 2, "=");
                if (strlen(longopts[idx].name) != l) {
                        fprintf(stderr, "unknown flag: %.*s\n", (int) (l + 2), argv[prev]);
                        print_usage_tail(cli);
                        return CLI_OPT_BAD;
                }
        }
        if (c == CLI_OPT_HELP && cli_list_flags) {
                cli_print_flags(shortopts, longopts);
                return CLI_OPT_HELP;
        }
        if (c == CLI_OPT_HELP) {
                cli_print_help(stdout, cli->cmd, cli->aliases, shortopts, longopts);
                return CLI_OPT_HELP;
        }
        if (c == '?' || c == ':') {
                const char *arg = argv[optind - 1];
                /* getopt stays on a cluster of short flags ("-it=x") until its last letter */
                if (optopt && optind < argc && (startswith(arg, "--") || !strchr(arg, optopt)) &&
                    strchr(argv[optind], optopt))
                        arg = argv[optind];
                if (c == ':' || (optopt && strchr(shortopts, optopt) && !startswith(arg, "--")))
                        fprintf(stderr, "flag needs an argument: '%c' in -%c\n", optopt, optopt);
                else if (startswith(arg, "--")) {
                        bool known = false;
                        size_t l = strcspn(arg + 2, "=");
                        for (const CliOption *o = longopts; o && o->name; o++)
                                if (strlen(o->name) == l && strneq(o->name, arg + 2, l))
                                        known = true;
                        if (known)
                                fprintf(stderr, "flag needs an argument: %s\n", arg);
                        else
                                fprintf(stderr, "unknown flag: %.*s\n", (int) (l + 2), arg);
                } else
                        fprintf(stderr, "unknown shorthand flag: '%c' in %s\n", optopt, arg);
                print_usage_tail(cli);
                return CLI_OPT_BAD;
        }
        return c;
}

int cli_args_error(Cli *cli, const char *what)
{
        fprintf(stderr, "berth: 'berth %s' requires %s\n", cli->cmd_name, what);
        print_usage_tail(cli);
        return 1;
}

int cli_usage_error(Cli *cli, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("berth: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        print_usage_tail(cli);
        return 1;
}

int cli_daemon_error(const Response *r)
{
        client_print_error(r->body);
        return 1;
}

int cli_get_json(Cli *cli, const char *path, json_t **ret)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "GET", path, NULL, &j, &resp);
        if (st < 0)
                return 1;
        if (st != 200 || !j)
                return cli_daemon_error(&resp);
        *ret = TAKE_PTR(j);
        return 0;
}

int cli_filter_flag(json_t *filters, const char *arg)
{
        if (filters_add(filters, arg) < 0) {
                fprintf(stderr, "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of "
                        "filter (expected name=value)\n", arg);
                return 125;
        }
        return 0;
}

int cli_print_rows(const char *format, const char *default_table, const char *type, json_t *header, json_t *rows,
                   size_t minwidth)
{
        /* docker 28's ps words its template errors differently from the other formatters */
        bool ps = type && streq(type, "*formatter.ContainerContext");
        bool table;
        _cleanup_free_ char *text = fmt_prepare(format && *format ? format : default_table, &table);
        Template t;
        char *err = NULL;
        if (tmpl_parse(text, "", &t, &err) < 0) {
                fprintf(stderr, "%s: %s\n", ps ? "failed to parse template" : "template parsing error", err);
                free(err);
                return 1;
        }
        t.type = type;
        TabWriter tw;
        tab_init(&tw, minwidth);
        char *out = NULL;
        size_t outlen = 0;
        FILE *f = open_memstream(&out, &outlen);
        int r = 0;
        if (table) {
                _cleanup_free_ char *s = NULL;
                r = tmpl_exec(&t, header, true, &s, &err);
                if (r >= 0)
                        tab_add(&tw, s);
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
                if (r < 0)
                        break;
                /* docker marshals a formatter context as a map: {{json .}} has its keys in order */
                _cleanup_strv_free_ char **keys = NULL;
                const char *k;
                json_t *v;
                json_object_foreach(row, k, v)
                        strv_extend(&keys, k);
                fmt_strv_sort(keys);
                _cleanup_json_ json_t *sorted = json_object();
                for (size_t n = 0; keys && keys[n]; n++)
                        json_object_set(sorted, keys[n], json_object_get(row, keys[n]));
                _cleanup_free_ char *s = NULL;
                r = tmpl_exec(&t, sorted, false, &s, &err);
                if (r < 0)
                        break;
                if (table)
                        tab_add(&tw, s);
                else
                        fprintf(f, "%s\n", s);
        }
        fclose(f);
        _cleanup_free_ char *plain = out;
        tmpl_free(&t);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", ps ? "failed to execute template" : "template parsing error", err);
                free(err);
                free(tab_render(&tw));
                return 1;
        }
        if (table)
                tab_flush(&tw, stdout);
        else
                fputs(plain, stdout);
        return 0;
}

int cli_format_one(const char *format, const char *name, const char *type, json_t *dot)
{
        Template t;
        char *err = NULL;
        const char *text = streq(format, "json") ? "{{json .}}" : format;
        if (tmpl_parse(text, name, &t, &err) < 0) {
                fprintf(stderr, "template parsing error: %s\n", err);
                free(err);
                return 64;
        }
        t.type = type;
        _cleanup_free_ char *out = NULL;
        int r = tmpl_exec(&t, dot, false, &out, &err);
        tmpl_free(&t);
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                free(err);
                return 1;
        }
        printf("%s\n", out);
        return 0;
}

char *cli_since(long long unix_secs)
{
        long long d = (long long) time(NULL) - unix_secs;
        _cleanup_free_ char *h = human_duration(d);
        return xasprintf("%s ago", h);
}
