/* Helpers shared by the command handlers: flag errors, usage, tables. */
#include "cli/cli.h"

#include <stdarg.h>
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

int cli_getopt(Cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
        opterr = 0;
        int idx = 0;
        int c = getopt_long(argc, argv, shortopts, longopts, &idx);
        if (c == CLI_OPT_HELP && cli_list_flags) {
                cli_print_flags(shortopts, longopts);
                return CLI_OPT_HELP;
        }
        if (c == CLI_OPT_HELP) {
                printf("\nUsage:  berth %s\n\n%s\n", cli->cmd->usage, cli->cmd->summary);
                return CLI_OPT_HELP;
        }
        if (c == '?' || c == ':') {
                const char *arg = argv[optind - 1];
                if (c == ':' || (optopt && strchr(shortopts, optopt) && !startswith(arg, "--")))
                        fprintf(stderr, "flag needs an argument: '%c' in -%c\n", optopt, optopt);
                else if (startswith(arg, "--")) {
                        bool known = false;
                        size_t l = strcspn(arg + 2, "=");
                        for (const struct option *o = longopts; o && o->name; o++)
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

int cli_print_rows(const char *format, const char *default_table, json_t *header, json_t *rows, size_t minwidth)
{
        Template t;
        tmpl_parse(format && *format ? format : default_table, &t);
        TabWriter tw;
        tab_init(&tw, minwidth);
        int r = 0;
        char *err = NULL;
        if (t.table) {
                _cleanup_free_ char *s = NULL;
                r = tmpl_render(&t, header, &s, &err);
                if (r >= 0)
                        tab_add(&tw, s);
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
                if (r < 0)
                        break;
                _cleanup_free_ char *s = NULL;
                r = tmpl_render(&t, row, &s, &err);
                if (r < 0)
                        break;
                if (t.table)
                        tab_add(&tw, s);
                else
                        printf("%s\n", s);
        }
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                free(err);
                free(tab_render(&tw));
                tmpl_free(&t);
                return 1;
        }
        if (t.table)
                tab_flush(&tw, stdout);
        tmpl_free(&t);
        return 0;
}

char *cli_since(long long unix_secs)
{
        long long d = (long long) time(NULL) - unix_secs;
        _cleanup_free_ char *h = human_duration(d);
        return xasprintf("%s ago", h);
}
