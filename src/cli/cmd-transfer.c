/* berth save, load, export, commit, diff, port: images and containers as archives, and what a container
 * changed or published. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

static int write_cb(const char *buf, size_t len, void *ud)
{
        int fd = *(int *) ud;
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* GETs path into -o file (written beside it, renamed when complete, as docker does) or stdout, which
 * must not be a terminal. */
static int download(Cli *cli, const char *path, const char *output, const char *what)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *tmp = NULL;
        if (output && !streq(output, "-")) {
                tmp = xasprintf("%s.berth-tmp", output);
                fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0) {
                        fprintf(stderr, "failed to %s: failed to create a temporary file: %s\n", what,
                                strerror(errno));
                        return 1;
                }
        } else {
                if (isatty(STDOUT_FILENO)) {
                        fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
                        return 1;
                }
                fd = dup(STDOUT_FILENO);
        }
        _cleanup_free_ char *errbody = NULL;
        int st = client_stream(cli->client, "GET", path, NULL, -1, write_cb, &fd, &errbody);
        if (st < 0 || st >= 400) {
                if (tmp)
                        unlink(tmp);
                if (st >= 400) {
                        _cleanup_free_ char *m = client_error_message(errbody);
                        fprintf(stderr, "Error response from daemon: %s\n", m);
                }
                return 1;
        }
        if (tmp) {
                if (fsync(fd) < 0 || rename(tmp, output) < 0) {
                        fprintf(stderr, "failed to %s: %s\n", what, strerror(errno));
                        unlink(tmp);
                        return 1;
                }
        }
        return 0;
}

int cmd_save(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "output", required_argument, NULL, 'o', "Write to a file, instead of STDOUT" },
                { "platform", required_argument, NULL, 'P',
                  "Save only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")" },
                CLI_HELP_OPTION,
                {},
        };
        const char *output = NULL;
        _cleanup_free_ char *platform = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "o:", opts)) != -1) {
                switch (c) {
                case 'o': output = optarg; break;
                case 'P': free(platform); platform = client_escape(optarg); break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        fputs("/images/get", f);
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *e = client_escape(argv[i]);
                fprintf(f, "%cnames=%s", i == optind ? '?' : '&', e);
        }
        if (platform)
                fprintf(f, "&platform=%s", platform);
        fclose(f);
        _cleanup_free_ char *path = q;
        return download(cli, path, output, "save image");
}

int cmd_export(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "output", required_argument, NULL, 'o', "Write to a file, instead of STDOUT" },
                CLI_HELP_OPTION,
                {},
        };
        const char *output = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "o:", opts)) != -1) {
                switch (c) {
                case 'o': output = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires 1 argument", cli->cmd_name);
        _cleanup_free_ char *e = client_escape(argv[optind]);
        _cleanup_free_ char *path = xasprintf("/containers/%s/export", e);
        return download(cli, path, output, "export container");
}

int cmd_load(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "input", required_argument, NULL, 'i', "Read from tar archive file, instead of STDIN" },
                { "platform", required_argument, NULL, 'P',
                  "Load only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")" },
                { "quiet", no_argument, NULL, 'q', "Suppress the load output" },
                CLI_HELP_OPTION,
                {},
        };
        const char *input = NULL;
        _cleanup_free_ char *platform = NULL;
        bool quiet = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "i:q", opts)) != -1) {
                switch (c) {
                case 'i': input = optarg; break;
                case 'q': quiet = true; break;
                case 'P': free(platform); platform = client_escape(optarg); break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 0)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        _cleanup_close_ int fd = -EBADF;
        if (input) {
                fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        _cleanup_free_ char *m = xstrdup(strerror(errno));
                        m[0] = (char) tolower(m[0]); /* as Go words it */
                        fprintf(stderr, "open %s: %s\n", input, m);
                        return 1;
                }
        } else {
                if (isatty(STDIN_FILENO)) {
                        fprintf(stderr, "requested load from stdin, but stdin is empty\n");
                        return 1;
                }
                fd = dup(STDIN_FILENO);
        }
        /* quiet also when stdout is no terminal, as docker asks: the stream is then plain lines */
        bool q = quiet || !isatty(STDOUT_FILENO);
        _cleanup_free_ char *path = xasprintf("/images/load%s%s%s", q ? "?quiet=1" : "",
                                              platform ? (q ? "&platform=" : "?platform=") : "", platform ?: "");
        /* -q only asks berthd for no bars: "Loaded image: ..." is still printed, as docker does */
        return cli_progress_request(cli, path, fd, "application/x-tar", NULL, stdout);
}

int cmd_commit(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "author", required_argument, NULL, 'a',
                  "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")" },
                { "change", required_argument, NULL, 'c', "Apply Dockerfile instruction to the created image", "list" },
                { "message", required_argument, NULL, 'm', "Commit message" },
                { "pause", optional_argument, NULL, 'p', "Pause container during commit", "",
                  "true" },
                CLI_HELP_OPTION,
                {},
        };
        const char *author = NULL, *message = NULL;
        _cleanup_strv_free_ char **changes = NULL;
        bool pause = true;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "a:c:m:p", opts)) != -1) {
                switch (c) {
                case 'a': author = optarg; break;
                case 'c': strv_extend(&changes, optarg); break;
                case 'm': message = optarg; break;
                case 'p':
                        if (!optarg || streq(optarg, "true") || streq(optarg, "1"))
                                pause = true;
                        else if (streq(optarg, "false") || streq(optarg, "0"))
                                pause = false;
                        else
                                return cli_usage_error(cli, "invalid argument \"%s\" for \"-p, --pause\" flag: "
                                                       "strconv.ParseBool: parsing \"%s\": invalid syntax",
                                                       optarg, optarg);
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage_error(cli, "'berth %s' requires at least 1 and at most 2 arguments",
                                       cli->cmd_name);
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        _cleanup_free_ char *ec = client_escape(argv[optind]);
        fprintf(f, "/commit?container=%s&pause=%d", ec, pause);
        if (optind + 1 < argc) {
                const char *ref = argv[optind + 1];
                const char *ls = strrchr(ref, '/'), *colon = strrchr(ref, ':');
                if (colon && ls && colon < ls)
                        colon = NULL;
                _cleanup_free_ char *repo = colon ? xstrndup(ref, (size_t) (colon - ref)) : xstrdup(ref);
                _cleanup_free_ char *er = client_escape(repo);
                fprintf(f, "&repo=%s", er);
                if (colon) {
                        _cleanup_free_ char *et = client_escape(colon + 1);
                        fprintf(f, "&tag=%s", et);
                }
        }
        if (message) {
                _cleanup_free_ char *e = client_escape(message);
                fprintf(f, "&comment=%s", e);
        }
        if (author) {
                _cleanup_free_ char *e = client_escape(author);
                fprintf(f, "&author=%s", e);
        }
        for (char **ch = changes; ch && *ch; ch++) {
                _cleanup_free_ char *e = client_escape(*ch);
                fprintf(f, "&changes=%s", e);
        }
        fclose(f);
        _cleanup_free_ char *path = q;
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", path, NULL, &out, &resp);
        if (st < 0)
                return 1;
        if (st >= 300)
                return cli_daemon_error(&resp);
        printf("%s\n", json_str(out, "Id") ?: "");
        return 0;
}

int cmd_diff(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires 1 argument", cli->cmd_name);
        _cleanup_free_ char *e = client_escape(argv[optind]);
        _cleanup_free_ char *path = xasprintf("/containers/%s/changes", e);
        _cleanup_json_ json_t *out = NULL;
        int r = cli_get_json(cli, path, &out);
        if (r != 0)
                return r;
        size_t i;
        json_t *ch;
        json_array_foreach(out, i, ch) {
                long long k = json_int(ch, "Kind", 0);
                printf("%c %s\n", k == 1 ? 'A' : k == 2 ? 'D' : 'C', json_str(ch, "Path") ?: "");
        }
        return 0;
}

/* "80/tcp" sorts by number, then protocol, as docker's port listing does */
static int cmp_port(const void *a, const void *b)
{
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        long px = strtol(x, NULL, 10), py = strtol(y, NULL, 10);
        if (px != py)
                return px < py ? -1 : 1;
        return strcmp(x, y);
}

static void print_bindings(const char *prefix, json_t *binds)
{
        size_t i;
        json_t *b;
        json_array_foreach(binds, i, b) {
                const char *ip = json_str(b, "HostIp") ?: "";
                const char *port = json_str(b, "HostPort") ?: "";
                bool v6 = strchr(ip, ':') != NULL;
                printf("%s%s%s%s:%s\n", prefix, v6 ? "[" : "", *ip ? ip : "0.0.0.0", v6 ? "]" : "", port);
        }
}

int cmd_port(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage_error(cli, "'berth %s' requires at least 1 and at most 2 arguments",
                                       cli->cmd_name);
        _cleanup_free_ char *e = client_escape(argv[optind]);
        _cleanup_free_ char *path = xasprintf("/containers/%s/json", e);
        _cleanup_json_ json_t *out = NULL;
        int r = cli_get_json(cli, path, &out);
        if (r != 0)
                return r;
        json_t *ports = json_object_get(json_object_get(out, "NetworkSettings"), "Ports");
        if (optind + 1 < argc) {
                const char *want = argv[optind + 1];
                _cleanup_free_ char *key = strchr(want, '/') ? xstrdup(want) : xasprintf("%s/tcp", want);
                json_t *binds = json_object_get(ports, key);
                if (json_array_size(binds) == 0) {
                        fprintf(stderr, "Error: No public port '%s' published for %s\n", want, argv[optind]);
                        return 1;
                }
                print_bindings("", binds);
                return 0;
        }
        size_t n = json_object_size(ports), k = 0;
        _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
        const char *key;
        json_t *v;
        json_object_foreach(ports, key, v)
                keys[k++] = key;
        qsort(keys, k, sizeof(char *), cmp_port);
        for (size_t i = 0; i < k; i++) {
                _cleanup_free_ char *prefix = xasprintf("%s -> ", keys[i]);
                print_bindings(prefix, json_object_get(ports, keys[i]));
        }
        return 0;
}
