/* berth: shared context of the command handlers. Each handler parses its own
 * flags with cli_getopt() and returns the process exit code. */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "cli/client.h"

typedef struct Cli Cli;
typedef int (*CmdFn)(Cli *cli, int argc, char **argv);

typedef struct Command {
        const char *name;
        CmdFn fn;
        const char *usage;   /* after "berth ", e.g. "rm [OPTIONS] CONTAINER [CONTAINER...]" */
        const char *summary;
} Command;

typedef struct CommandGroup {
        const char *name;
        const Command *table;
        const char *summary;
} CommandGroup;

struct Cli {
        Client *client;
        const Command *cmd;
        const char *cmd_name; /* "rm", "image ls" */
        const char *detach_keys; /* --detach-keys of run/start/attach/exec, NULL for the default */
        bool sig_proxy;          /* attached without a TTY: signals are sent on to the container */
        bool no_stdout, no_stderr; /* run -a left these streams out */
        const char *aliases;     /* "berth container ls, berth ps" for --help; NULL when it has none */
};

/* A command's flag: getopt_long's four fields, then what --help (and the man pages) print. A flag's short
 * form is its val when that letter is in the command's short option string. */
typedef struct CliOption {
        const char *name;
        int has_arg;
        int *flag;
        int val;
        const char *help; /* one-line description ("\n" starts another line); NULL: a hidden alias */
        const char *arg;  /* the value's type in --help: "string" (NULL), "list", "int", "duration", ... */
        const char *def;  /* printed as " (default DEF)" */
} CliOption;

#define CLI_OPT_HELP 0x1000
#define CLI_OPT_BAD (-2)
#define CLI_HELP_OPTION { "help", no_argument, NULL, CLI_OPT_HELP, NULL, NULL, NULL }
#define CLI_HELP_FORMAT                                                                                  \
        "Format output using a custom template:\n"                                                       \
        "'json':             Print in JSON format\n"                                                     \
        "'TEMPLATE':         Print output using the given Go template.\n"                                \
        "See 'man 1 berth' for the functions templates can use"
#define CLI_HELP_FORMAT_TABLE                                                                            \
        "Format output using a custom template:\n"                                                       \
        "'table':            Print output in table format with column headers (default)\n"               \
        "'table TEMPLATE':   Print output in table format using the given Go template\n"                 \
        "'json':             Print in JSON format\n"                                                     \
        "'TEMPLATE':         Print output using the given Go template.\n"                                \
        "See 'man 1 berth' for the functions templates can use"
/* Ends a handler's option switch: --help exits 0, bad flags 125 like docker. */
#define CLI_OPT_DEFAULT \
        default:        \
                return c == CLI_OPT_HELP ? 0 : 125

/* berth __complete (cli/complete.c): set while a handler is asked for its flags; --help then lists
 * the option table (cli_print_flags) instead of the usage. */
extern bool cli_list_flags;
void cli_print_flags(const char *shortopts, const CliOption *longopts);
int cmd_complete(Cli *cli, int argc, char **argv, const Command *commands, const CommandGroup *groups,
                 size_t n_groups);

/* getopt_long with docker's messages for unknown flags and --help. */
int cli_getopt(Cli *cli, int argc, char **argv, const char *shortopts, const CliOption *longopts);
/* docker's help of a command: usage, summary, and every visible option sorted, wrapped like pflag does. */
void cli_print_help(FILE *f, const Command *cmd, const char *aliases, const char *shortopts, const CliOption *opts);
/* "berth: 'berth rm' requires at least 1 argument" + usage; returns 1. */
int cli_args_error(Cli *cli, const char *what);
int cli_usage_error(Cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "Error response from daemon: ..." for a failed response; returns 1. */
int cli_daemon_error(const Response *r);

/* GET path answered 200 with a JSON body: 0 and *ret; otherwise the exit code 1, after printing the daemon's
 * error (connection errors are printed by the client). */
int cli_get_json(Cli *cli, const char *path, json_t **ret);

/* -f/--filter k=v into filters; 0, or 125 after docker's message for a malformed one. */
int cli_filter_flag(json_t *filters, const char *arg);

/* Rows of a docker formatter context (ps, images, ...) through --format; NULL format means the default
 * table given; type is the Go type named in "can't evaluate field" errors. Returns the exit code. */
int cli_print_rows(const char *format, const char *default_table, const char *type, json_t *header, json_t *rows,
                   size_t minwidth);
/* One value through a template as version and info do ("json" is {{json .}}); returns the exit code. */
int cli_format_one(const char *format, const char *name, const char *type, json_t *dot);

/* Seconds since a unix timestamp as docker's "X ago". */
char *cli_since(long long unix_secs);

/* A POST answered by a JSON progress stream (import, pull): prints status lines to out;
 * returns 0, or 1 after printing the error with err_prefix. */
int cli_progress_request(Cli *cli, const char *path, int upload_fd, const char *ctype, const char *err_prefix,
                         FILE *out);

/* docker inspect's output of found (an array): indented JSON, or each rendered with format. */
int cli_print_inspect(json_t *found, const char *format);

/* Commands. */
int cmd_version(Cli *cli, int argc, char **argv);
int cmd_info(Cli *cli, int argc, char **argv);
int cmd_images(Cli *cli, int argc, char **argv);
int cmd_import(Cli *cli, int argc, char **argv);
int cmd_build(Cli *cli, int argc, char **argv);
int cmd_tag(Cli *cli, int argc, char **argv);
int cmd_rmi(Cli *cli, int argc, char **argv);
int cmd_history(Cli *cli, int argc, char **argv);
int cmd_image_inspect(Cli *cli, int argc, char **argv);
int cmd_container_inspect(Cli *cli, int argc, char **argv);
int cmd_inspect(Cli *cli, int argc, char **argv);
int cmd_run(Cli *cli, int argc, char **argv);
int cmd_cp(Cli *cli, int argc, char **argv);
int cmd_create(Cli *cli, int argc, char **argv);
int cmd_start(Cli *cli, int argc, char **argv);
int cmd_stop(Cli *cli, int argc, char **argv);
int cmd_kill(Cli *cli, int argc, char **argv);
int cmd_restart(Cli *cli, int argc, char **argv);
int cmd_pause(Cli *cli, int argc, char **argv);
int cmd_unpause(Cli *cli, int argc, char **argv);
int cmd_rm(Cli *cli, int argc, char **argv);
int cmd_wait(Cli *cli, int argc, char **argv);
int cmd_rename(Cli *cli, int argc, char **argv);
int cmd_ps(Cli *cli, int argc, char **argv);
int cmd_logs(Cli *cli, int argc, char **argv);
int cmd_top(Cli *cli, int argc, char **argv);
int cmd_stats(Cli *cli, int argc, char **argv);
int cmd_update(Cli *cli, int argc, char **argv);

/* Shared by run and start -a: attach + wait + start. */
int cli_attach_and_wait(Cli *cli, const char *id, bool attach_stdin, bool tty, const char *wait_condition,
                        bool do_start, bool attach, bool detach_is_error);
/* Relays a hijacked stream (afd) to the terminal and stdin to it: raw mode for a TTY with stdin,
 * resize (POST resize_path?h=&w=) at once and on SIGWINCH, detach keys. Sets *ret_detached. */
int cli_hijack_loop(Cli *cli, int afd, const char *extra, size_t extra_len, bool tty, bool attach_stdin,
                    const char *resize_path, const char *detach_keys, bool *ret_detached);
int cmd_exec(Cli *cli, int argc, char **argv);
int cmd_attach(Cli *cli, int argc, char **argv);
/* cmd-volumes.c */
int cmd_events(Cli *cli, int argc, char **argv);
int cmd_network_create(Cli *cli, int argc, char **argv);
int cmd_network_ls(Cli *cli, int argc, char **argv);
int cmd_network_inspect(Cli *cli, int argc, char **argv);
int cmd_network_rm(Cli *cli, int argc, char **argv);
int cmd_network_connect(Cli *cli, int argc, char **argv);
int cmd_network_disconnect(Cli *cli, int argc, char **argv);
int cmd_network_prune(Cli *cli, int argc, char **argv);
int cmd_volume_create(Cli *cli, int argc, char **argv);
int cmd_volume_ls(Cli *cli, int argc, char **argv);
int cmd_volume_inspect(Cli *cli, int argc, char **argv);
int cmd_volume_rm(Cli *cli, int argc, char **argv);
int cmd_volume_prune(Cli *cli, int argc, char **argv);
/* cmd-registry.c */
int cmd_pull(Cli *cli, int argc, char **argv);
int cmd_push(Cli *cli, int argc, char **argv);
int cmd_login(Cli *cli, int argc, char **argv);
int cmd_logout(Cli *cli, int argc, char **argv);
int cmd_search(Cli *cli, int argc, char **argv);
/* cmd-transfer.c */
int cmd_save(Cli *cli, int argc, char **argv);
int cmd_load(Cli *cli, int argc, char **argv);
int cmd_export(Cli *cli, int argc, char **argv);
int cmd_commit(Cli *cli, int argc, char **argv);
int cmd_diff(Cli *cli, int argc, char **argv);
int cmd_port(Cli *cli, int argc, char **argv);
/* cmd-prune.c */
int cmd_container_prune(Cli *cli, int argc, char **argv);
int cmd_image_prune(Cli *cli, int argc, char **argv);
int cmd_builder_prune(Cli *cli, int argc, char **argv);
int cmd_system_prune(Cli *cli, int argc, char **argv);
int cmd_system_df(Cli *cli, int argc, char **argv);
