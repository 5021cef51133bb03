/* run, create, start: the create -> attach -> wait -> start flow of docker run. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "basic/stdcopy.h"
#include "basic/detachkeys.h"
#include <fcntl.h>

typedef struct RunOpts {
        bool detach, rm, interactive, tty, init, privileged;
        const char *name, *workdir, *user, *entrypoint, *restart, *hostname, *network, *stop_signal;
        bool entrypoint_set;
        char **env, **binds, **links;
        json_t *labels, *exposed, *bindings;
        /* --health-*: the values, and whether any was given */
        const char *health_cmd;
        int64_t health_interval, health_timeout, health_start_period, health_start_interval;
        long long health_retries;
        bool no_healthcheck;
} RunOpts;

static void run_opts_free(RunOpts *o)
{
        strv_free(o->env);
        strv_free(o->binds);
        strv_free(o->links);
        json_decref(o->labels);
        json_decref(o->exposed);
        json_decref(o->bindings);
}

static int run_error(Cli *cli, int code, const char *msg)
{
        fprintf(stderr, "berth: %s", msg);
        fprintf(stderr, "\n\nRun 'berth %s --help' for more information\n", cli->cmd_name);
        return code;
}

/* Parses run/create flags; returns -1 to continue, or an exit code. */
static int parse_run(Cli *cli, int argc, char **argv, RunOpts *o, bool is_run)
{
        enum { O_RM = 0x100, O_NAME, O_ENVFILE, O_ENTRYPOINT, O_RESTART, O_INIT, O_NETWORK, O_LINK, O_PRIV,
               O_STOPSIG, O_DKEYS, O_HCMD, O_HINTERVAL, O_HTIMEOUT, O_HRETRIES, O_HSTART, O_HSTARTINT, O_NOHC };
        static const struct option opts[] = {
                { "detach", no_argument, NULL, 'd' },
                { "rm", no_argument, NULL, O_RM },
                { "name", required_argument, NULL, O_NAME },
                { "env", required_argument, NULL, 'e' },
                { "env-file", required_argument, NULL, O_ENVFILE },
                { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "entrypoint", required_argument, NULL, O_ENTRYPOINT },
                { "restart", required_argument, NULL, O_RESTART },
                { "label", required_argument, NULL, 'l' },
                { "init", no_argument, NULL, O_INIT },
                { "hostname", required_argument, NULL, 'h' },
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "publish", required_argument, NULL, 'p' },
                { "volume", required_argument, NULL, 'v' },
                { "network", required_argument, NULL, O_NETWORK },
                { "net", required_argument, NULL, O_NETWORK },
                { "link", required_argument, NULL, O_LINK },
                { "privileged", no_argument, NULL, O_PRIV },
                { "stop-signal", required_argument, NULL, O_STOPSIG },
                { "detach-keys", required_argument, NULL, O_DKEYS },
                { "health-cmd", required_argument, NULL, O_HCMD },
                { "health-interval", required_argument, NULL, O_HINTERVAL },
                { "health-timeout", required_argument, NULL, O_HTIMEOUT },
                { "health-retries", required_argument, NULL, O_HRETRIES },
                { "health-start-period", required_argument, NULL, O_HSTART },
                { "health-start-interval", required_argument, NULL, O_HSTARTINT },
                { "no-healthcheck", no_argument, NULL, O_NOHC },
                CLI_HELP_OPTION,
                {},
        };
        o->labels = json_object();
        o->exposed = json_object();
        o->bindings = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, is_run ? "+de:w:u:l:h:itp:v:" : "+e:w:u:l:h:itp:v:", opts)) != -1) {
                switch (c) {
                case 'd': o->detach = true; break;
                case O_RM: o->rm = true; break;
                case O_NAME: o->name = optarg; break;
                case 'e': strv_push(&o->env, opts_env_value(optarg)); break;
                case O_ENVFILE:
                        if (opts_env_file(optarg, &o->env) < 0) {
                                fprintf(stderr, "open %s: %s\n", optarg, strerror(errno));
                                return 125;
                        }
                        break;
                case 'w': o->workdir = optarg; break;
                case 'u': o->user = optarg; break;
                case O_ENTRYPOINT: o->entrypoint = optarg; o->entrypoint_set = true; break;
                case O_RESTART: o->restart = optarg; break;
                case 'l': opts_label(o->labels, optarg); break;
                case O_INIT: o->init = true; break;
                case 'h': o->hostname = optarg; break;
                case 'i': o->interactive = true; break;
                case 't': o->tty = true; break;
                case 'p':
                        if (opts_publish(optarg, o->exposed, o->bindings) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"-p, --publish\" flag: invalid "
                                        "port specification\n", optarg);
                                return 125;
                        }
                        break;
                case 'v': strv_extend(&o->binds, optarg); break;
                case O_NETWORK: o->network = optarg; break;
                case O_LINK: strv_extend(&o->links, optarg); break;
                case O_PRIV: o->privileged = true; break;
                case O_STOPSIG: o->stop_signal = optarg; break;
                case O_DKEYS: cli->detach_keys = optarg; break;
                case O_HCMD: o->health_cmd = optarg; break;
                case O_HINTERVAL:
                case O_HTIMEOUT:
                case O_HSTART:
                case O_HSTARTINT: {
                        static const char *const names[] = { "--health-interval", "--health-timeout",
                                                             "--health-start-period", "--health-start-interval" };
                        int k = c == O_HINTERVAL ? 0 : c == O_HTIMEOUT ? 1 : c == O_HSTART ? 2 : 3;
                        int64_t *dst[] = { &o->health_interval, &o->health_timeout, &o->health_start_period,
                                           &o->health_start_interval };
                        bool neg = optarg[0] == '-';
                        if (parse_go_duration(optarg + (neg || optarg[0] == '+'), dst[k]) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: time: invalid duration "
                                        "\"%s\"\nSee 'berth %s --help'.\n", optarg, names[k], optarg, cli->cmd_name);
                                return 125;
                        }
                        if (neg)
                                *dst[k] = -*dst[k];
                        break;
                }
                case O_HRETRIES: {
                        char *end;
                        errno = 0;
                        o->health_retries = strtoll(optarg, &end, 0);
                        if (!*optarg || *end || errno) {
                                fprintf(stderr, "invalid argument \"%s\" for \"--health-retries\" flag: strconv.ParseInt: "
                                        "parsing \"%s\": invalid syntax\nSee 'berth %s --help'.\n", optarg, optarg,
                                        cli->cmd_name);
                                return 125;
                        }
                        break;
                }
                case O_NOHC: o->no_healthcheck = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1) {
                fprintf(stderr, "berth: 'berth %s' requires at least 1 argument\n\nUsage:  berth %s\n\n"
                        "See 'berth %s --help' for more information\n", cli->cmd_name, cli->cmd->usage,
                        cli->cmd_name);
                return 1;
        }
        if (o->rm && o->restart && !streq(o->restart, "no"))
                return run_error(cli, 125, "Conflicting options: --restart and --rm");
        /* the docker CLI's checks, in its order */
        bool any_health = o->health_cmd || o->health_interval || o->health_timeout || o->health_start_period ||
                          o->health_start_interval || o->health_retries;
        if (o->no_healthcheck && any_health)
                return run_error(cli, 125, "--no-healthcheck conflicts with --health-* options");
        static const char *const neg[] = { "--health-interval", "--health-timeout", "--health-retries",
                                           "--health-start-period", "--health-start-interval" };
        long long vals[] = { o->health_interval, o->health_timeout, o->health_retries, o->health_start_period,
                             o->health_start_interval };
        for (size_t i = 0; i < ELEMENTSOF(vals); i++)
                if (vals[i] < 0) {
                        _cleanup_free_ char *m = xasprintf("%s cannot be negative", neg[i]);
                        return run_error(cli, 125, m);
                }
        return -1;
}

static int build_create_body(RunOpts *o, const char *image, char **cmd, json_t **ret)
{
        json_t *restart = NULL;
        if (opts_restart(o->restart ? o->restart : "no", &restart) < 0)
                return -EINVAL;
        json_t *entry = json_null();
        if (o->entrypoint_set) {
                entry = json_array();
                json_array_append_new(entry, json_string(o->entrypoint));
        }
        bool attach = !o->detach;
        json_t *host = json_pack("{s:o,s:s,s:O,s:o,s:b,s:b,s:o}", "Binds", opts_strv_json(o->binds), "NetworkMode",
                                 o->network ? o->network : "default", "PortBindings", o->bindings, "RestartPolicy",
                                 restart, "AutoRemove", o->rm, "Privileged", o->privileged, "Links",
                                 opts_strv_json(o->links));
        if (o->init)
                json_object_set_new(host, "Init", json_true());
        json_t *endpoints = json_object();
        if (!o->network)
                json_object_set_new(endpoints, "default", json_object());
        json_t *body = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:o,s:s,s:O,s:s,s:o,s:O,s:o,s:{s:o}}",
                                 "Hostname", o->hostname ?: "", "Domainname", "", "User", o->user ?: "",
                                 "AttachStdin", o->interactive && attach, "AttachStdout", attach, "AttachStderr",
                                 attach, "Tty", o->tty, "OpenStdin", o->interactive, "StdinOnce",
                                 o->interactive && attach, "Env", opts_strv_json(o->env), "Cmd",
                                 opts_strv_json(cmd), "Image", image, "ExposedPorts", o->exposed, "WorkingDir", o->workdir ?: "", "Entrypoint",
                                 entry, "Labels", o->labels, "HostConfig", host, "NetworkingConfig",
                                 "EndpointsConfig", endpoints);
        if (o->stop_signal)
                json_object_set_new(body, "StopSignal", json_string(o->stop_signal));
        if (o->no_healthcheck)
                json_object_set_new(body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        else if (o->health_cmd || o->health_interval || o->health_timeout || o->health_start_period ||
                 o->health_start_interval || o->health_retries) {
                json_t *hc = json_pack("{s:I,s:I,s:I,s:I,s:I}", "Interval", (json_int_t) o->health_interval, "Timeout",
                                       (json_int_t) o->health_timeout, "StartPeriod",
                                       (json_int_t) o->health_start_period, "StartInterval",
                                       (json_int_t) o->health_start_interval, "Retries",
                                       (json_int_t) o->health_retries);
                if (o->health_cmd)
                        json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", o->health_cmd));
                json_object_set_new(body, "Healthcheck", hc);
        }
        *ret = body;
        return 0;
}

/* "busybox" -> "busybox:latest" for messages and the pull. */
static char *tagged(const char *image)
{
        const char *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
        if (strchr(image, '@') || (colon && (!slash || colon > slash)))
                return strdup(image);
        return xasprintf("%s:latest", image);
}

int cli_progress_request(Cli *cli, const char *path, int upload_fd, const char *ctype, const char *err_prefix,
                         FILE *out);

/* Returns the new id, or NULL after printing the error (ret_code set). */
static char *create_container(Cli *cli, RunOpts *o, const char *image, char **cmd, int *ret_code)
{
        _cleanup_json_ json_t *body = NULL;
        if (build_create_body(o, image, cmd, &body) < 0) {
                _cleanup_free_ char *m = xasprintf("invalid restart policy format: %s", o->restart);
                *ret_code = run_error(cli, 125, m);
                return NULL;
        }
        _cleanup_free_ char *en = o->name ? client_escape(o->name) : NULL;
        _cleanup_free_ char *path = o->name ? xasprintf("/containers/create?name=%s", en)
                                            : strdup("/containers/create");
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_json_ json_t *out = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "POST", path, body, &out, &resp);
                if (st < 0) {
                        *ret_code = 125;
                        return NULL;
                }
                if (st == 404 && attempt == 0) {
                        /* docker's --pull=missing: only a 404 triggers the pull */
                        _cleanup_free_ char *ref = tagged(image);
                        fprintf(stderr, "Unable to find image '%s' locally\n", ref);
                        const char *at = strchr(ref, '@');
                        const char *colon = strrchr(ref, ':');
                        _cleanup_free_ char *repo = at ? strndup(ref, (size_t) (at - ref))
                                                       : strndup(ref, (size_t) (colon - ref));
                        _cleanup_free_ char *tag = strdup(at ? at + 1 : colon + 1);
                        _cleanup_free_ char *er = client_escape(repo), *et = client_escape(tag);
                        _cleanup_free_ char *ppath = xasprintf("/images/create?fromImage=%s&tag=%s", er, et);
                        if (cli_progress_request(cli, ppath, -1, NULL, "berth: ", stderr) != 0) {
                                fprintf(stderr, "\nRun 'berth %s --help' for more information\n", cli->cmd_name);
                                *ret_code = 125;
                                return NULL;
                        }
                        continue;
                }
                if (st >= 300 || !out) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        _cleanup_free_ char *full = xasprintf("Error response from daemon: %s", m);
                        *ret_code = run_error(cli, 125, full);
                        return NULL;
                }
                size_t i;
                json_t *w;
                json_array_foreach(json_object_get(out, "Warnings"), i, w)
                        fprintf(stderr, "WARNING: %s\n", json_string_value(w) ?: "");
                return strdup(json_str(out, "Id") ?: "");
        }
        *ret_code = 125;
        return NULL;
}

/* docker/cli toStatusError: the exit code of a failed start from its message. */
static int start_error_code(const char *msg)
{
        if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
            strstr(msg, "system cannot find the file specified"))
                return 127;
        if (strstr(msg, "permission denied") || strstr(msg, "is a directory"))
                return 126;
        return 125;
}

static int term_out(int stream, const char *buf, size_t len, void *ud)
{
        int fd = stream == 2 ? STDERR_FILENO : STDOUT_FILENO;
        (void) loop_write(fd, buf, len); /* a reader that went away: keep draining */
        return 0;
}

static struct termios saved_tio;
static bool tio_saved;

static void restore_term(void)
{
        if (tio_saved)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        tio_saved = false;
}

static void resize(Cli *cli, const char *resize_path)
{
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return;
        _cleanup_free_ char *path = xasprintf("%s?h=%u&w=%u", resize_path, ws.ws_row, ws.ws_col);
        client_request(cli->client, "POST", path, NULL, NULL, 0, NULL);
}

static int winch_pipe[2] = { -1, -1 };

static void on_winch(int sig _unused_)
{
        int saved = errno;
        (void) !write(winch_pipe[1], "w", 1);
        errno = saved;
}

int cli_hijack_loop(Cli *cli, int afd, const char *extra, size_t extra_len, bool tty, bool attach_stdin,
                    const char *resize_path, const char *detach_keys, bool *ret_detached)
{
        *ret_detached = false;
        DetachKeys dk = { 0 };
        bool use_keys = tty && attach_stdin;
        if (use_keys && detach_keys_parse(detach_keys, &dk) < 0)
                dk.n = 0;
        if (tty && attach_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
                struct termios raw = saved_tio;
                cfmakeraw(&raw);
                tio_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
                atexit(restore_term);
        }
        if (tty && resize_path) {
                resize(cli, resize_path);
                if (winch_pipe[0] < 0 && pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
                        struct sigaction sa = { .sa_handler = on_winch };
                        sigemptyset(&sa.sa_mask);
                        sigaction(SIGWINCH, &sa, NULL);
                }
        }
        StdDemux demux = { 0 };
        if (extra_len > 0) {
                if (tty)
                        term_out(1, extra, extra_len, NULL);
                else
                        stdcopy_feed(&demux, extra, extra_len, term_out, NULL);
        }
        bool in_open = attach_stdin;
        char buf[32768], fbuf[32768 + DETACH_KEYS_MAX];
        for (;;) {
                struct pollfd p[3] = { { .fd = afd, .events = POLLIN },
                                       { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                                       { .fd = tty && resize_path ? winch_pipe[0] : -1, .events = POLLIN } };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[2].revents) {
                        char drain[64];
                        while (read(winch_pipe[0], drain, sizeof(drain)) > 0)
                                ;
                        resize(cli, resize_path);
                }
                if (p[0].revents) {
                        ssize_t n = read(afd, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        if (tty)
                                term_out(1, buf, (size_t) n, NULL);
                        else if (stdcopy_feed(&demux, buf, (size_t) n, term_out, NULL) < 0) {
                                fprintf(stderr, "Unrecognized input header\n");
                                break;
                        }
                }
                if (in_open && p[1].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                /* half-close: the daemon closes the container's stdin */
                                shutdown(afd, SHUT_WR);
                                in_open = false;
                                continue;
                        }
                        bool detached = false;
                        size_t len = use_keys ? detach_keys_feed(&dk, buf, (size_t) n, fbuf, &detached) : (size_t) n;
                        if (loop_write(afd, use_keys ? fbuf : buf, len) < 0)
                                in_open = false;
                        if (detached) {
                                *ret_detached = true;
                                break;
                        }
                }
        }
        restore_term();
        return 0;
}

int cli_attach_and_wait(Cli *cli, const char *id, bool attach_stdin, bool tty, const char *wait_condition,
                        bool do_start, bool attach, bool detach_is_error)
{
        _cleanup_close_ int afd = -EBADF;
        _cleanup_free_ char *extra = NULL;
        size_t extra_len = 0;
        if (attach) {
                _cleanup_free_ char *apath = xasprintf("/containers/%s/attach?stderr=1%s&stdout=1&stream=1", id,
                                                       attach_stdin ? "&stdin=1" : "");
                afd = client_hijack(cli->client, "POST", apath, NULL, NULL, &extra, &extra_len);
                if (afd < 0)
                        return 125;
        }
        /* The wait's headers must arrive before start, or a fast exit is missed. */
        _cleanup_close_ int wfd = client_raw_connect(cli->client);
        if (wfd < 0)
                return 125;
        _cleanup_free_ char *wpath = wait_condition ? xasprintf("/containers/%s/wait?condition=%s", id, wait_condition)
                                                    : xasprintf("/containers/%s/wait", id);
        RawResponse wresp = { 0 };
        if (client_raw_send(cli->client, wfd, "POST", wpath, NULL, NULL, 0, false) < 0 ||
            client_raw_read_head(wfd, &wresp) < 0) {
                fprintf(stderr, "berth: error waiting for container: connection closed\n");
                return 125;
        }
        if (wresp.status >= 400) {
                _cleanup_free_ char *b = NULL;
                client_raw_read_body(&wresp, &b, NULL);
                _cleanup_free_ char *m = client_error_message(b);
                fprintf(stderr, "berth: Error response from daemon: %s\n", m);
                raw_response_clear(&wresp);
                return 125;
        }
        if (do_start) {
                _cleanup_free_ char *spath = xasprintf("/containers/%s/start", id);
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "POST", spath, NULL, NULL, 0, &resp);
                if (st < 0 || st >= 400) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        if (st >= 0)
                                fprintf(stderr, "berth: Error response from daemon: %s\n\nRun 'berth %s --help' "
                                        "for more information\n", m, cli->cmd_name);
                        raw_response_clear(&wresp);
                        return st < 0 ? 125 : start_error_code(m);
                }
        }
        bool detached = false;
        if (attach) {
                _cleanup_free_ char *rpath = xasprintf("/containers/%s/resize", id);
                cli_hijack_loop(cli, afd, extra, extra_len, tty, attach_stdin, rpath, cli->detach_keys, &detached);
        }
        if (detached) {
                raw_response_clear(&wresp);
                if (detach_is_error) {
                        fprintf(stderr, "read escape sequence\n");
                        return 1;
                }
                return 0;
        }
        _cleanup_free_ char *wbody = NULL;
        client_raw_read_body(&wresp, &wbody, NULL);
        raw_response_clear(&wresp);
        _cleanup_json_ json_t *w = wbody ? json_loads(wbody, 0, NULL) : NULL;
        if (!w) {
                fprintf(stderr, "berth: error waiting for container: unexpected EOF\n");
                return 125;
        }
        json_t *err = json_object_get(w, "Error");
        if (json_is_object(err) && json_str(err, "Message") && *json_str(err, "Message")) {
                fprintf(stderr, "berth: error waiting for container: %s\n", json_str(err, "Message"));
                return 125;
        }
        return (int) json_int(w, "StatusCode", 125);
}

/* Flags and arguments of run/create, then POST /containers/create: the new id, or NULL and *ret_code, the
 * exit code (0 for --help). The caller frees o either way. */
static char *parse_and_create(Cli *cli, int argc, char **argv, RunOpts *o, bool is_run, int *ret_code)
{
        int r = parse_run(cli, argc, argv, o, is_run);
        if (r >= 0) {
                *ret_code = r;
                return NULL;
        }
        const char *image = argv[optind];
        char **cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
        *ret_code = 125;
        return create_container(cli, o, image, cmd, ret_code);
}

int cmd_run(Cli *cli, int argc, char **argv)
{
        RunOpts o = { 0 };
        int code;
        _cleanup_free_ char *id = parse_and_create(cli, argc, argv, &o, true, &code);
        if (!id) {
                run_opts_free(&o);
                return code;
        }
        if (o.detach) {
                _cleanup_free_ char *spath = xasprintf("/containers/%s/start", id);
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "POST", spath, NULL, NULL, 0, &resp);
                run_opts_free(&o);
                if (st < 0)
                        return 125;
                if (st >= 400) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        fprintf(stderr, "berth: Error response from daemon: %s\n\nRun 'berth %s --help' for more "
                                "information\n", m, cli->cmd_name);
                        return start_error_code(m);
                }
                printf("%s\n", id);
                return 0;
        }
        signal(SIGPIPE, SIG_IGN);
        int r = cli_attach_and_wait(cli, id, o.interactive, o.tty, o.rm ? "removed" : "next-exit", true, true,
                                    false);
        run_opts_free(&o);
        return r;
}

int cmd_create(Cli *cli, int argc, char **argv)
{
        RunOpts o = { 0 };
        int code;
        _cleanup_free_ char *id = parse_and_create(cli, argc, argv, &o, false, &code);
        run_opts_free(&o);
        if (!id)
                return code;
        printf("%s\n", id);
        return 0;
}

int cmd_start(Cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "attach", no_argument, NULL, 'a' },
                { "interactive", no_argument, NULL, 'i' },
                { "detach-keys", required_argument, NULL, 0x100 },
                CLI_HELP_OPTION,
                {},
        };
        bool attach = false, interactive = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "ai", opts)) != -1) {
                switch (c) {
                case 'a': attach = true; break;
                case 'i': interactive = true; break;
                case 0x100: cli->detach_keys = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        if (attach || interactive) {
                if (argc - optind > 1) {
                        fprintf(stderr, "berth: you cannot start and attach multiple containers at once\n");
                        return 1;
                }
                _cleanup_free_ char *ipath = xasprintf("/containers/%s/json", argv[optind]);
                _cleanup_json_ json_t *info = NULL;
                if (cli_get_json(cli, ipath, &info) != 0)
                        return 1;
                json_t *cfg = json_object_get(info, "Config");
                signal(SIGPIPE, SIG_IGN);
                int r = cli_attach_and_wait(cli, json_str(info, "Id"), interactive && json_bool(cfg, "OpenStdin"),
                                            json_bool(cfg, "Tty"), "next-exit", true, true, false);
                return r;
        }
        int ret = 0;
        _cleanup_strv_free_ char **failed = NULL;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/containers/%s/start", argv[i]);
                _cleanup_response_ Response resp = { 0 };
                int st = client_request(cli->client, "POST", path, NULL, NULL, 0, &resp);
                if (st < 0)
                        return 1;
                if (st >= 400) {
                        cli_daemon_error(&resp);
                        strv_extend(&failed, argv[i]);
                        ret = 1;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        if (failed) {
                fprintf(stderr, "Error: failed to start containers: ");
                for (char **f = failed; *f; f++)
                        fprintf(stderr, "%s%s", *f, f[1] ? ", " : "\n");
        }
        return ret;
}
