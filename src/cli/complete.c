/* berth __complete: what the shell completion scripts (contrib/completion)
 * and the man page generator (scripts/gen-man) ask the CLI. The commands
 * and their flags come from the tables berth parses with, names of objects
 * from the daemon, so neither can drift.
 *
 *   berth __complete commands           name<TAB>usage<TAB>summary, groups as "group sub"; a usage's
 *                                       forms joined by a literal \n
 *   berth __complete flags CMD [SUB]    --long<TAB>-s<TAB>arg|"" for each flag of CMD
 *   berth __complete containers|running|images|networks|volumes */
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"

bool cli_list_flags;

/* A usage with several forms (cp) is one line here, the forms joined by a literal "\n". */
static void print_usage_field(const char *usage)
{
        for (const char *p = usage; *p; p++) {
                if (*p != '\n') {
                        putchar(*p);
                        continue;
                }
                fputs("\\n", stdout);
                p += strspn(p + 1, " \t");
                if (startswith(p + 1, "berth "))
                        p += strlen("berth ");
        }
}

void cli_print_flags(const char *shortopts, const CliOption *longopts)
{
        for (const CliOption *o = longopts; o && o->name; o++) {
                if (o->val == CLI_OPT_HELP)
                        continue;
                char sh[3] = "";
                if (o->val > 0 && o->val < 128 && strchr(shortopts, o->val))
                        snprintf(sh, sizeof(sh), "-%c", o->val);
                /* the 4th column, the description, is what the man pages print (newlines as spaces) */
                _cleanup_free_ char *help = o->help ? xstrdup(o->help) : xstrdup("");
                for (char *c = help; *c; c++)
                        if (*c == '\n' || *c == '\t')
                                *c = ' ';
                printf("--%s\t%s\t%s\t%s\n", o->name, sh, o->has_arg == required_argument ? "arg" : "", help);
        }
        /* short options without a long name */
        for (const char *s = shortopts; *s; s++) {
                if (*s == ':' || *s == '+' || *s == '-')
                        continue;
                bool has_long = false;
                for (const CliOption *o = longopts; o && o->name; o++)
                        if (o->val == *s)
                                has_long = true;
                if (!has_long)
                        printf("\t-%c\t%s\n", *s, s[1] == ':' ? "arg" : "");
        }
        printf("--help\t\t\n");
}

static int names(Cli *cli, const char *what)
{
        const char *path = streq(what, "containers") ? "/containers/json?all=1"
                           : streq(what, "running")  ? "/containers/json"
                           : streq(what, "images")   ? "/images/json"
                           : streq(what, "networks") ? "/networks"
                                                     : "/volumes";
        _cleanup_json_ json_t *j = NULL;
        int r = cli_get_json(cli, path, &j);
        if (r)
                return r;
        json_t *list = streq(what, "volumes") ? json_object_get(j, "Volumes") : j;
        size_t i, k;
        json_t *e, *n;
        json_array_foreach(list, i, e) {
                if (streq(what, "containers") || streq(what, "running")) {
                        json_array_foreach(json_object_get(e, "Names"), k, n) {
                                const char *s = json_string_value(n);
                                if (s && !strchr(s + 1, '/')) /* not a link alias */
                                        printf("%s\n", s[0] == '/' ? s + 1 : s);
                        }
                } else if (streq(what, "images")) {
                        json_array_foreach(json_object_get(e, "RepoTags"), k, n)
                                if (json_string_value(n) && !streq(json_string_value(n), "<none>:<none>"))
                                        printf("%s\n", json_string_value(n));
                } else if (json_str(e, "Name"))
                        printf("%s\n", json_str(e, "Name"));
        }
        return 0;
}

int cmd_complete(Cli *cli, int argc, char **argv, const Command *commands, const CommandGroup *groups,
                 size_t n_groups)
{
        if (argc < 2) {
                fprintf(stderr, "usage: berth __complete commands|flags CMD|containers|running|images|networks|volumes\n");
                return 1;
        }
        const char *what = argv[1];
        if (streq(what, "commands")) {
                for (const Command *c = commands; c->name; c++) {
                        printf("%s\t", c->name);
                        print_usage_field(c->usage);
                        printf("\t%s\n", c->summary);
                }
                for (size_t g = 0; g < n_groups; g++) {
                        printf("%s\t%s COMMAND\t%s\n", groups[g].name, groups[g].name, groups[g].summary);
                        for (const Command *c = groups[g].table; c->name; c++) {
                                printf("%s %s\t", groups[g].name, c->name);
                                print_usage_field(c->usage);
                                printf("\t%s\n", c->summary);
                        }
                }
                return 0;
        }
        if (streq(what, "flags")) {
                if (argc < 3)
                        return 1;
                const Command *cmd = NULL;
                const char *name = argv[2];
                for (size_t g = 0; g < n_groups && argc > 3; g++)
                        if (streq(groups[g].name, argv[2]))
                                for (const Command *c = groups[g].table; c->name; c++)
                                        if (streq(c->name, argv[3]))
                                                cmd = c, name = argv[3];
                for (const Command *c = commands; !cmd && c->name; c++)
                        if (streq(c->name, argv[2]))
                                cmd = c;
                if (!cmd)
                        return 1;
                /* The handler's own option table answers: cli_getopt prints it for --help. */
                char *sub[] = { (char *) name, (char *) "--help", NULL };
                cli_list_flags = true;
                optind = 0;
                cli->cmd = cmd;
                cli->cmd_name = name;
                return cmd->fn(cli, 2, sub);
        }
        if (streq(what, "containers") || streq(what, "running") || streq(what, "images") || streq(what, "networks") ||
            streq(what, "volumes"))
                return names(cli, what);
        fprintf(stderr, "berth __complete: unknown request %s\n", what);
        return 1;
}
