/* exec and attach: hijacked streams to a running container. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/opts.h"

int cmd_exec(Cli *cli, int argc, char **argv)
{
        enum { O_PRIV = 0x100, O_DKEYS, O_ENVFILE };
        static const CliOption opts[] = {
                { "detach", no_argument, NULL, 'd', "Detached mode: run command in the background" },
                { "interactive", no_argument, NULL, 'i', "Keep STDIN open even if not attached" },
                { "tty", no_argument, NULL, 't', "Allocate a pseudo-TTY" },
                { "env", required_argument, NULL, 'e', "Set environment variables", "list" },
                { "env-file", required_argument, NULL, O_ENVFILE, "Read in a file of environment variables", "list" },
                { "user", required_argument, NULL, 'u', "Username or UID (format: \"<name|uid>[:<group|gid>]\")" },
                { "workdir", required_argument, NULL, 'w', "Working directory inside the container" },
                { "privileged", no_argument, NULL, O_PRIV, "Give extended privileges to the command" },
                { "detach-keys", required_argument, NULL, O_DKEYS, "Override the key sequence for detaching a container" },
                CLI_HELP_OPTION,
                {},
        };
        bool detach = false, interactive = false, tty = false, privileged = false;
        const char *user = "", *workdir = "";
        _cleanup_strv_free_ char **env = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "+dite:u:w:", opts)) != -1) {
                switch (c) {
                case 'd': detach = true; break;
                case 'i': interactive = true; break;
                case 't': tty = true; break;
                case 'e': strv_push(&env, opts_env_value(optarg)); break;
                case O_ENVFILE:
                        if (opts_env_file(optarg, &env) < 0) {
                                fprintf(stderr, "open %s: %s\n", optarg, strerror(errno));
                                return 125;
                        }
                        break;
                case 'u': user = optarg; break;
                case 'w': workdir = optarg; break;
                case O_PRIV: privileged = true; break;
                case O_DKEYS: cli->detach_keys = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 2)
                return cli_args_error(cli, "at least 2 arguments");
        if (tty && interactive && !detach && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "the input device is not a TTY\n");
                return 1;
        }
        const char *container = argv[optind];
        json_t *cmd = json_array();
        for (int i = optind + 1; i < argc; i++)
                json_array_append_new(cmd, json_string(argv[i]));
        _cleanup_json_ json_t *body = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:s,s:o,s:s,s:o}", "User", user,
                                                "Privileged", privileged, "Tty", tty, "AttachStdin",
                                                interactive && !detach, "AttachStderr", !detach, "AttachStdout",
                                                !detach, "Detach", detach, "DetachKeys",
                                                cli->detach_keys ? cli->detach_keys : "", "Env", opts_strv_json(env),
                                                "WorkingDir", workdir, "Cmd", cmd);
        _cleanup_free_ char *ec = client_escape(container);
        _cleanup_free_ char *cpath = xasprintf("/containers/%s/exec", ec);
        _cleanup_json_ json_t *created = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", cpath, body, &created, &resp);
        if (st < 0)
                return 1;
        if (st >= 300 || !json_str(created, "Id"))
                return cli_daemon_error(&resp);
        const char *id = json_str(created, "Id");
        _cleanup_free_ char *spath = xasprintf("/exec/%s/start", id);
        if (detach) {
                _cleanup_free_ char *sb = xasprintf("{\"Detach\":true,\"Tty\":%s}", tty ? "true" : "false");
                _cleanup_response_ Response sresp = { 0 };
                st = client_request(cli->client, "POST", spath, "application/json", sb, strlen(sb), &sresp);
                if (st < 0)
                        return 1;
                return st >= 300 ? cli_daemon_error(&sresp) : 0;
        }
        signal(SIGPIPE, SIG_IGN);
        _cleanup_free_ char *sb = xasprintf("{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
        _cleanup_free_ char *extra = NULL;
        size_t extra_len = 0;
        _cleanup_close_ int afd = client_hijack(cli->client, "POST", spath, "application/json", sb, &extra,
                                                &extra_len);
        if (afd < 0)
                return 1;
        _cleanup_free_ char *rpath = xasprintf("/exec/%s/resize", id);
        bool detached = false;
        cli_hijack_loop(cli, afd, extra, extra_len, tty, interactive, rpath, cli->detach_keys, &detached);
        if (detached)
                return 0;
        _cleanup_free_ char *ipath = xasprintf("/exec/%s/json", id);
        _cleanup_json_ json_t *info = NULL;
        if (cli_get_json(cli, ipath, &info) != 0)
                return 1;
        return (int) json_int(info, "ExitCode", 126);
}

int cmd_attach(Cli *cli, int argc, char **argv)
{
        enum { O_NOSTDIN = 0x100, O_DKEYS, O_SIGPROXY };
        static const CliOption opts[] = {
                { "no-stdin", no_argument, NULL, O_NOSTDIN, "Do not attach STDIN" },
                { "detach-keys", required_argument, NULL, O_DKEYS, "Override the key sequence for detaching a container" },
                { "sig-proxy", optional_argument, NULL, O_SIGPROXY, "Proxy all received signals to the process", NULL, "true" },
                CLI_HELP_OPTION,
                {},
        };
        bool no_stdin = false;
        int c;
        cli->sig_proxy = true;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) {
                case O_NOSTDIN: no_stdin = true; break;
                case O_DKEYS: cli->detach_keys = optarg; break;
                case O_SIGPROXY:
                        if (!optarg)
                                cli->sig_proxy = true;
                        else if (opts_parse_bool(optarg, &cli->sig_proxy) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"--sig-proxy\" flag: "
                                        "strconv.ParseBool: parsing \"%s\": invalid syntax\n", optarg, optarg);
                                return 125;
                        }
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_args_error(cli, "exactly 1 argument");
        _cleanup_free_ char *en = client_escape(argv[optind]);
        _cleanup_free_ char *ipath = xasprintf("/containers/%s/json", en);
        _cleanup_json_ json_t *info = NULL;
        if (cli_get_json(cli, ipath, &info) != 0)
                return 1;
        json_t *state = json_object_get(info, "State");
        if (!json_bool(state, "Running")) {
                fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
                return 1;
        }
        if (json_bool(state, "Paused")) {
                fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
                return 1;
        }
        json_t *cfg = json_object_get(info, "Config");
        bool tty = json_bool(cfg, "Tty"), in = json_bool(cfg, "OpenStdin") && !no_stdin;
        if (tty && in && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "the input device is not a TTY\n");
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);
        return cli_attach_and_wait(cli, json_str(info, "Id"), in, tty, NULL, false, true, true);
}
