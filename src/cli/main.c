/* berth: the command-line client. Global flags, then a table from command
 * name to handler (one file per command family, like crun). */
#include <getopt.h>
#include <string.h>

#include "basic/util.h"
#include "cli/cli.h"

static const Command commands[] = {
        { "attach", cmd_attach, "attach [OPTIONS] CONTAINER",
          "Attach local standard input, output, and error streams to a running container" },
        { "build", cmd_build, "build [OPTIONS] PATH", "Build an image from a Dockerfile" },
        { "cp", cmd_cp, "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
          "Copy files/folders between a container and the local filesystem" },
        { "commit", cmd_commit, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
          "Create a new image from a container's changes" },
        { "create", cmd_create, "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container" },
        { "diff", cmd_diff, "diff CONTAINER", "Inspect changes to files or directories on a container's filesystem" },
        { "events", cmd_events, "events [OPTIONS]", "Get real time events from the server" },
        { "exec", cmd_exec, "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
          "Execute a command in a running container" },
        { "export", cmd_export, "export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive" },
        { "history", cmd_history, "history [OPTIONS] IMAGE", "Show the history of an image" },
        { "images", cmd_images, "images [OPTIONS] [REPOSITORY[:TAG]]", "List images" },
        { "import", cmd_import, "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
          "Import the contents from a tarball to create a filesystem image" },
        { "info", cmd_info, "info [OPTIONS]", "Display system-wide information" },
        { "inspect", cmd_inspect, "inspect [OPTIONS] NAME|ID [NAME|ID...]",
          "Return low-level information on Docker objects" },
        { "kill", cmd_kill, "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers" },
        { "load", cmd_load, "load [OPTIONS]", "Load an image from a tar archive or STDIN" },
        { "login", cmd_login, "login [OPTIONS] [SERVER]", "Authenticate to a registry" },
        { "logout", cmd_logout, "logout [SERVER]", "Log out from a registry" },
        { "logs", cmd_logs, "logs [OPTIONS] CONTAINER", "Fetch the logs of a container" },
        { "pause", cmd_pause, "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers" },
        { "port", cmd_port, "port CONTAINER [PRIVATE_PORT[/PROTO]]",
          "List port mappings or a specific mapping for the container" },
        { "ps", cmd_ps, "ps [OPTIONS]", "List containers" },
        { "pull", cmd_pull, "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry" },
        { "push", cmd_push, "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry" },
        { "rename", cmd_rename, "rename CONTAINER NEW_NAME", "Rename a container" },
        { "restart", cmd_restart, "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers" },
        { "rm", cmd_rm, "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers" },
        { "rmi", cmd_rmi, "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images" },
        { "run", cmd_run, "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image" },
        { "save", cmd_save, "save [OPTIONS] IMAGE [IMAGE...]",
          "Save one or more images to a tar archive (streamed to STDOUT by default)" },
        { "search", cmd_search, "search [OPTIONS] TERM", "Search Docker Hub for images" },
        { "start", cmd_start, "start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers" },
        { "stats", cmd_stats, "stats [OPTIONS] [CONTAINER...]",
          "Display a live stream of container(s) resource usage statistics" },
        { "stop", cmd_stop, "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers" },
        { "tag", cmd_tag, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
          "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
        { "top", cmd_top, "top CONTAINER [ps OPTIONS]", "Display the running processes of a container" },
        { "update", cmd_update, "update [OPTIONS] CONTAINER [CONTAINER...]",
          "Update configuration of one or more containers" },
        { "unpause", cmd_unpause, "unpause CONTAINER [CONTAINER...]",
          "Unpause all processes within one or more containers" },
        { "version", cmd_version, "version [OPTIONS]", "Show the berth version information" },
        { "wait", cmd_wait, "wait CONTAINER [CONTAINER...]",
          "Block until one or more containers stop, then print their exit codes" },
        { NULL, NULL, NULL, NULL },
};

static const Command image_commands[] = {
        { "build", cmd_build, "image build [OPTIONS] PATH", "Build an image from a Dockerfile" },
        { "history", cmd_history, "image history [OPTIONS] IMAGE", "Show the history of an image" },
        { "import", cmd_import, "image import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import a tarball" },
        { "inspect", cmd_image_inspect, "image inspect [OPTIONS] IMAGE [IMAGE...]",
          "Display detailed information on one or more images" },
        { "load", cmd_load, "image load [OPTIONS]", "Load an image from a tar archive or STDIN" },
        { "ls", cmd_images, "image ls [OPTIONS] [REPOSITORY[:TAG]]", "List images" },
        { "list", cmd_images, "image ls [OPTIONS] [REPOSITORY[:TAG]]", "List images" },
        { "prune", cmd_image_prune, "image prune [OPTIONS]", "Remove unused images" },
        { "pull", cmd_pull, "image pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry" },
        { "push", cmd_push, "image push [OPTIONS] NAME[:TAG]", "Upload an image to a registry" },
        { "rm", cmd_rmi, "image rm [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images" },
        { "remove", cmd_rmi, "image rm [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images" },
        { "save", cmd_save, "image save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive" },
        { "tag", cmd_tag, "image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Tag an image" },
        { NULL, NULL, NULL, NULL },
};

static const Command container_commands[] = {
        { "attach", cmd_attach, "container attach [OPTIONS] CONTAINER", "Attach to a running container" },
        { "commit", cmd_commit, "container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
          "Create a new image from a container's changes" },
        { "diff", cmd_diff, "container diff CONTAINER", "Inspect changes to files or directories" },
        { "export", cmd_export, "container export [OPTIONS] CONTAINER", "Export a container's filesystem" },
        { "exec", cmd_exec, "container exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a container" },
        { "cp", cmd_cp, "container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-", "Copy files/folders" },
        { "create", cmd_create, "container create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container" },
        { "inspect", cmd_container_inspect, "container inspect [OPTIONS] CONTAINER [CONTAINER...]",
          "Display detailed information on one or more containers" },
        { "kill", cmd_kill, "container kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill containers" },
        { "logs", cmd_logs, "container logs [OPTIONS] CONTAINER", "Fetch the logs of a container" },
        { "ls", cmd_ps, "container ls [OPTIONS]", "List containers" },
        { "list", cmd_ps, "container ls [OPTIONS]", "List containers" },
        { "ps", cmd_ps, "container ls [OPTIONS]", "List containers" },
        { "pause", cmd_pause, "container pause CONTAINER [CONTAINER...]", "Pause containers" },
        { "port", cmd_port, "container port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings" },
        { "prune", cmd_container_prune, "container prune [OPTIONS]", "Remove all stopped containers" },
        { "rename", cmd_rename, "container rename CONTAINER NEW_NAME", "Rename a container" },
        { "restart", cmd_restart, "container restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart containers" },
        { "rm", cmd_rm, "container rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove containers" },
        { "remove", cmd_rm, "container rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove containers" },
        { "run", cmd_run, "container run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a container" },
        { "start", cmd_start, "container start [OPTIONS] CONTAINER [CONTAINER...]", "Start containers" },
        { "stop", cmd_stop, "container stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop containers" },
        { "top", cmd_top, "container top CONTAINER [ps OPTIONS]", "Display the running processes" },
        { "stats", cmd_stats, "container stats [OPTIONS] [CONTAINER...]", "Display resource usage statistics" },
        { "update", cmd_update, "container update [OPTIONS] CONTAINER [CONTAINER...]",
          "Update configuration of one or more containers" },
        { "unpause", cmd_unpause, "container unpause CONTAINER [CONTAINER...]", "Unpause containers" },
        { "wait", cmd_wait, "container wait CONTAINER [CONTAINER...]", "Wait for containers to stop" },
        { NULL, NULL, NULL, NULL },
};

static const Command system_commands[] = {
        { "df", cmd_system_df, "system df [OPTIONS]", "Show berth disk usage" },
        { "events", cmd_events, "system events [OPTIONS]", "Get real time events from the server" },
        { "info", cmd_info, "system info [OPTIONS]", "Display system-wide information" },
        { "prune", cmd_system_prune, "system prune [OPTIONS]", "Remove unused data" },
        { NULL, NULL, NULL, NULL },
};

static const Command network_commands[] = {
        { "connect", cmd_network_connect, "network connect [OPTIONS] NETWORK CONTAINER",
          "Connect a container to a network" },
        { "create", cmd_network_create, "network create [OPTIONS] NETWORK", "Create a network" },
        { "disconnect", cmd_network_disconnect, "network disconnect [OPTIONS] NETWORK CONTAINER",
          "Disconnect a container from a network" },
        { "inspect", cmd_network_inspect, "network inspect [OPTIONS] NETWORK [NETWORK...]",
          "Display detailed information on one or more networks" },
        { "ls", cmd_network_ls, "network ls [OPTIONS]", "List networks" },
        { "list", cmd_network_ls, "network ls [OPTIONS]", "List networks" },
        { "prune", cmd_network_prune, "network prune [OPTIONS]", "Remove all unused networks" },
        { "rm", cmd_network_rm, "network rm NETWORK [NETWORK...]", "Remove one or more networks" },
        { "remove", cmd_network_rm, "network rm NETWORK [NETWORK...]", "Remove one or more networks" },
        { NULL, NULL, NULL, NULL },
};

static const Command volume_commands[] = {
        { "create", cmd_volume_create, "volume create [OPTIONS] [VOLUME]", "Create a volume" },
        { "inspect", cmd_volume_inspect, "volume inspect [OPTIONS] VOLUME [VOLUME...]",
          "Display detailed information on one or more volumes" },
        { "ls", cmd_volume_ls, "volume ls [OPTIONS]", "List volumes" },
        { "list", cmd_volume_ls, "volume ls [OPTIONS]", "List volumes" },
        { "prune", cmd_volume_prune, "volume prune [OPTIONS]", "Remove unused local volumes" },
        { "rm", cmd_volume_rm, "volume rm [OPTIONS] VOLUME [VOLUME...]",
          "Remove one or more volumes. You cannot remove a volume that is in use by a container." },
        { "remove", cmd_volume_rm, "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes" },
        { NULL, NULL, NULL, NULL },
};

static const Command builder_commands[] = {
        { "build", cmd_build, "builder build [OPTIONS] PATH", "Build an image from a Dockerfile" },
        { "prune", cmd_builder_prune, "builder prune [OPTIONS]", "Remove build cache" },
        { NULL, NULL, NULL, NULL },
};

static const CommandGroup groups[] = {
        { "builder", builder_commands, "Manage builds" },
        { "container", container_commands, "Manage containers" },
        { "image", image_commands, "Manage images" },
        { "system", system_commands, "Manage berth" },
        { "network", network_commands, "Manage networks" },
        { "volume", volume_commands, "Manage volumes" },
};

/* docker's command groups that berth leaves out on purpose */
static const char *const unsupported[] = {
        "swarm", "plugin", "context", "trust", "manifest", "secret", "config", "service", "stack", "node",
        "checkpoint", "buildx", "compose", "scout", "sbom", "init",
};

/* docker's subcommands that berth leaves out on purpose, with the reason */
static const struct {
        const char *group, *name, *why;
} unsupported_sub[] = {
        { "volume", "update", "it updates swarm cluster volumes" },
        { "system", "dial-stdio", "choose the daemon with -H or DOCKER_HOST" },
};

static void print_table(FILE *f, const Command *t)
{
        for (; t->name; t++)
                fprintf(f, "  %-10s  %s\n", t->name, t->summary);
}

static void usage(FILE *f)
{
        fputs("\nUsage:  berth [OPTIONS] COMMAND\n\nA Docker-compatible container engine client\n\n"
              "Commands:\n", f);
        print_table(f, commands);
        fputs("\nManagement Commands:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                fprintf(f, "  %-10s  %s\n", groups[i].name, groups[i].summary);
        fputs("\nGlobal Options:\n"
              "  -D, --debug              Enable debug mode\n"
              "  -H, --host string        Daemon socket to connect to\n"
              "                           (default $DOCKER_HOST, then " CLIENT_DEFAULT_HOST ")\n"
              "  -l, --log-level string   Set the logging level (accepted, unused)\n"
              "  -v, --version            Print version information and quit\n"
              "      --help               Print usage\n"
              "\nRun 'berth COMMAND --help' for more information on a command.\n", f);
}

/* docker's "Aliases:" of a command: every name that runs the same handler, groups first. */
static char *find_aliases(CmdFn fn)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        int n = 0;
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                for (const Command *t = groups[i].table; t->name; t++)
                        if (t->fn == fn)
                                fprintf(f, "%sberth %s %s", n++ ? ", " : "", groups[i].name, t->name);
        for (const Command *t = commands; t->name; t++)
                if (t->fn == fn)
                        fprintf(f, "%sberth %s", n++ ? ", " : "", t->name);
        fclose(f);
        if (n < 2) {
                free(out);
                return NULL;
        }
        return out;
}

static const Command *find(const Command *t, const char *name)
{
        for (; t->name; t++)
                if (streq(t->name, name))
                        return t;
        return NULL;
}

int main(int argc, char **argv)
{
        json_set_alloc_funcs(xmalloc, free); /* one out-of-memory policy, jansson included */
        static const struct option opts[] = {
                { "host", required_argument, NULL, 'H' },
                { "debug", no_argument, NULL, 'D' },
                { "log-level", required_argument, NULL, 'l' },
                { "version", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *host = NULL;
        bool debug = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+H:Dl:vh", opts, NULL)) != -1) {
                switch (c) {
                case 'H':
                        host = optarg;
                        break;
                case 'D':
                        debug = true;
                        break;
                case 'l':
                        break;
                case 'v':
                        printf("berth version %s, build %s\n", "0.1.0", BERTH_GIT_COMMIT);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        if (optopt)
                                fprintf(stderr, "unknown shorthand flag: '%c' in %s\n", optopt, argv[optind - 1]);
                        else
                                fprintf(stderr, "unknown flag: %s\n", argv[optind - 1]);
                        fputs("See 'berth --help'.\n", stderr);
                        return 125;
                }
        }
        if (optind >= argc) {
                usage(stdout);
                return 0;
        }
        if (!host)
                host = getenv("DOCKER_HOST");
        if (!host || !*host)
                host = CLIENT_DEFAULT_HOST;

        /* "berth help CMD [SUB]" is "berth CMD [SUB] --help" */
        _cleanup_free_ char **help_argv = NULL;
        if (streq(argv[optind], "help")) {
                if (optind + 1 >= argc) {
                        usage(stdout);
                        return 0;
                }
                int n = argc - optind - 1;
                help_argv = xcalloc((size_t) n + 2, sizeof(char *));
                for (int i = 0; i < n; i++)
                        help_argv[i] = argv[optind + 1 + i];
                help_argv[n] = (char *) "--help";
                bool known = find(commands, help_argv[0]) != NULL;
                for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                        known |= streq(groups[i].name, help_argv[0]);
                if (!known) {
                        fprintf(stderr, "unknown help topic: %s\n", help_argv[0]);
                        return 1;
                }
                argv = help_argv;
                argc = n + 1;
                optind = 0;
        }
        const char *name = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
                if (streq(unsupported[i], name)) {
                        fprintf(stderr, "berth: '%s' is not supported by berth%s\n", name,
                                streq(name, "context") ? "; choose the daemon with -H or DOCKER_HOST" : "");
                        return 1;
                }
        if (streq(name, "__complete")) {
                Cli cli = { 0 };
                if (client_new(host, debug, &cli.client) < 0)
                        return 1;
                int r = cmd_complete(&cli, argc - optind, argv + optind, commands, groups, ELEMENTSOF(groups));
                fflush(stdout);
                client_free(cli.client);
                return r;
        }
        const Command *cmd = find(commands, name);
        char *cmd_name = NULL;
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        if (!cmd) {
                for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                        if (!streq(groups[i].name, name))
                                continue;
                        if (sub_argc < 2 || streq(sub_argv[1], "--help")) {
                                printf("Usage:  berth %s COMMAND\n\n%s\n\nCommands:\n", name, groups[i].summary);
                                print_table(stdout, groups[i].table);
                                return 0;
                        }
                        cmd = find(groups[i].table, sub_argv[1]);
                        for (size_t u = 0; !cmd && u < ELEMENTSOF(unsupported_sub); u++)
                                if (streq(unsupported_sub[u].group, name) && streq(unsupported_sub[u].name, sub_argv[1])) {
                                        fprintf(stderr, "berth: '%s %s' is not supported by berth: %s\n", name,
                                                sub_argv[1], unsupported_sub[u].why);
                                        return 1;
                                }
                        if (!cmd) {
                                fprintf(stderr, "berth: unknown command: berth %s %s\n\nRun 'berth %s --help' "
                                        "for more information\n", name, sub_argv[1], name);
                                return 1;
                        }
                        cmd_name = xasprintf("%s %s", name, sub_argv[1]);
                        sub_argc--;
                        sub_argv++;
                }
        }
        if (!cmd) {
                fprintf(stderr, "berth: unknown command: berth %s\n\nRun 'berth --help' for more information\n",
                        name);
                return 1;
        }
        Cli cli = { .cmd = cmd, .cmd_name = cmd_name ?: cmd->name };
        _cleanup_free_ char *aliases = find_aliases(cmd->fn);
        cli.aliases = aliases;
        if (client_new(host, debug, &cli.client) < 0)
                return 1;
        optind = 0;
        int r = cmd->fn(&cli, sub_argc, sub_argv);
        fflush(stdout);
        client_free(cli.client);
        free(cmd_name);
        return r;
}
