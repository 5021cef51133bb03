/* berth pull, push, login, logout, search: the commands that reach a registry through berthd. Credentials
 * live in docker's own ~/.docker/config.json ($DOCKER_CONFIG), base64 "user:password" under "auths", so
 * berth and docker share one login. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "basic/base64.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

#define DEFAULT_INDEX "https://index.docker.io/v1/"

/* A reference split as docker's reference package normalizes it: domain ("docker.io" when none),
 * path ("library/" added for official images), and the tag or digest suffix (":latest" when none and
 * add_latest). */
typedef struct Ref {
        char *domain, *path, *suffix; /* suffix: ":tag", "@sha256:...", or "" */
} Ref;

static void ref_clear(Ref *r)
{
        free(r->domain);
        free(r->path);
        free(r->suffix);
}

static void ref_parse(const char *s, bool add_latest, Ref *ret)
{
        const char *slash = strchr(s, '/');
        const char *name = s;
        if (slash && (memchr(s, '.', (size_t) (slash - s)) || memchr(s, ':', (size_t) (slash - s)) ||
                      ((size_t) (slash - s) == strlen("localhost") && startswith(s, "localhost")))) {
                ret->domain = xstrndup(s, (size_t) (slash - s));
                name = slash + 1;
        } else
                ret->domain = xstrdup("docker.io");
        const char *at = strchr(name, '@');
        const char *lslash = strrchr(name, '/');
        const char *colon = strrchr(name, ':');
        if (colon && lslash && colon < lslash)
                colon = NULL;
        if (at && colon && colon > at)
                colon = NULL;
        const char *end = at ?: colon ?: name + strlen(name);
        _cleanup_free_ char *path = xstrndup(name, (size_t) (end - name));
        if (streq(ret->domain, "docker.io") && !strchr(path, '/'))
                ret->path = xasprintf("library/%s", path);
        else
                ret->path = TAKE_PTR(path);
        ret->suffix = *end ? xstrdup(end) : xstrdup(add_latest ? ":latest" : "");
}

/* "docker.io/library/busybox:latest", as docker prints a reference in full */
static char *ref_full(const Ref *r)
{
        return xasprintf("%s/%s%s", r->domain, r->path, r->suffix);
}

/* docker's key in config.json for a registry: the index URL for Docker Hub, else the bare host. */
static char *config_key(const char *server)
{
        if (!server || streq(server, "docker.io") || streq(server, "index.docker.io") ||
            streq(server, "registry-1.docker.io") || streq(server, DEFAULT_INDEX) ||
            streq(server, "https://index.docker.io/v1"))
                return xstrdup(DEFAULT_INDEX);
        const char *h = server;
        if (startswith(h, "http://"))
                h += strlen("http://");
        else if (startswith(h, "https://"))
                h += strlen("https://");
        return xstrndup(h, strcspn(h, "/"));
}

static char *config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG");
        if (dir && *dir)
                return xasprintf("%s/config.json", dir);
        const char *home = getenv("HOME");
        return xasprintf("%s/.docker/config.json", home && *home ? home : "/root");
}

static json_t *config_load(const char *path)
{
        json_t *j = json_load_file(path, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                j = json_object();
        }
        return j;
}

/* Writes config.json atomically, mode 0600 as docker keeps it. */
static int config_save(const char *path, json_t *cfg)
{
        _cleanup_free_ char *dir = xstrdup(path);
        char *sl = strrchr(dir, '/');
        if (sl) {
                *sl = 0;
                (void) mkdir(dir, 0700);
        }
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-berth", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int r = json_dumpfd(cfg, fd, JSON_INDENT(8));
        if (r == 0 && write(fd, "\n", 1) != 1)
                r = -1;
        if (close(fd) < 0 || r < 0) {
                unlink(tmp);
                return -EIO;
        }
        if (rename(tmp, path) < 0) {
                int e = -errno;
                unlink(tmp);
                return e;
        }
        return 0;
}

/* The X-Registry-Auth for domain from config.json (base64url JSON as docker sends), or NULL. */
static char *stored_auth(const char *domain)
{
        _cleanup_free_ char *path = config_path(), *key = config_key(domain);
        _cleanup_json_ json_t *cfg = config_load(path);
        json_t *a = json_object_get(json_object_get(cfg, "auths"), key);
        const char *b64 = json_str(a, "auth");
        if (!b64)
                return NULL;
        size_t len = 0;
        _cleanup_free_ char *plain = base64_decode(b64, &len);
        if (!plain)
                return NULL;
        char *colon = memchr(plain, ':', len);
        if (!colon)
                return NULL;
        *colon = 0;
        _cleanup_json_ json_t *j = json_pack("{s:s, s:s%, s:s}", "username", plain, "password", colon + 1,
                                             len - (size_t) (colon + 1 - plain), "serveraddress", key);
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        char *enc = base64_encode(s, strlen(s));
        for (char *p = enc; *p; p++) /* URL-safe alphabet, as docker encodes it */
                if (*p == '+')
                        *p = '-';
                else if (*p == '/')
                        *p = '_';
        return enc;
}

int cmd_pull(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all-tags", no_argument, NULL, 'a', "Download all tagged images in the repository" },
                { "disable-content-trust", no_argument, NULL, 'T', "Skip image verification", NULL, "true" },
                { "platform", required_argument, NULL, 'P', "Set platform if server is multi-platform capable" },
                { "quiet", no_argument, NULL, 'q', "Suppress verbose output" },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, quiet = false;
        const char *platform = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "aq", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 'q': quiet = true; break;
                case 'P': platform = optarg; break;
                case 'T': break; /* content trust is off in berth: the flag keeps docker's default */
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires 1 argument", cli->cmd_name);
        const char *arg = argv[optind];
        if (all) {
                fprintf(stderr, "berth: pull --all-tags is not supported by berth; pull each tag by name\n");
                return 1;
        }
        Ref ref = { 0 };
        ref_parse(arg, true, &ref);
        _cleanup_free_ char *full = ref_full(&ref);
        bool no_suffix = !strchr(arg + (strrchr(arg, '/') ? strrchr(arg, '/') - arg : 0), ':') && !strchr(arg, '@');
        if (no_suffix && !quiet)
                printf("Using default tag: latest\n");
        fflush(stdout);
        cli->client->registry_auth = stored_auth(ref.domain);
        const char *sfx = ref.suffix;
        _cleanup_free_ char *repo = xasprintf("%s/%s", ref.domain, ref.path);
        _cleanup_free_ char *er = client_escape(repo), *et = client_escape(sfx[0] ? sfx + 1 : "latest");
        _cleanup_free_ char *ep = platform ? client_escape(platform) : NULL;
        _cleanup_free_ char *path = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", er, et,
                                              ep ? "&platform=" : "", ep ?: "");
        ref_clear(&ref);
        _cleanup_fclose_ FILE *devnull = quiet ? fopen("/dev/null", "we") : NULL;
        int r = cli_progress_request(cli, path, -1, NULL, NULL, devnull ?: stdout);
        if (r == 0)
                printf("%s\n", full);
        return r;
}

int cmd_push(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all-tags", no_argument, NULL, 'a', "Push all tags of an image to the repository" },
                { "disable-content-trust", no_argument, NULL, 'T', "Skip image signing", NULL, "true" },
                { "platform", required_argument, NULL, 'P',
                  "Push a platform-specific manifest as a single-platform image to the registry." },
                { "quiet", no_argument, NULL, 'q', "Suppress verbose output" },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, quiet = false;
        const char *platform = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "aq", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 'q': quiet = true; break;
                case 'P': platform = optarg; break;
                case 'T': break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires 1 argument", cli->cmd_name);
        if (platform) {
                fprintf(stderr, "berth: push --platform is not supported by berth; berth stores one platform per "
                                "image\n");
                return 1;
        }
        const char *arg = argv[optind];
        Ref ref = { 0 };
        ref_parse(arg, false, &ref);
        if (all && ref.suffix[0]) {
                ref_clear(&ref);
                fprintf(stderr, "tag can't be used with --all-tags/-a\n");
                return 1;
        }
        if (!all && !ref.suffix[0]) {
                free(ref.suffix);
                ref.suffix = xstrdup(":latest");
                if (!quiet)
                        printf("Using default tag: latest\n");
                fflush(stdout);
        }
        _cleanup_free_ char *full = ref_full(&ref);
        cli->client->registry_auth = stored_auth(ref.domain);
        if (!cli->client->registry_auth)
                cli->client->registry_auth = xstrdup("e30="); /* "{}": docker always sends the header */
        /* the name as given (without its tag): berthd resolves it as the image's own reference */
        const char *s = arg + strcspn(arg, "@");
        const char *ls = strrchr(arg, '/');
        const char *colon = strrchr(ls ? ls : arg, ':');
        size_t nlen = colon ? (size_t) (colon - arg) : (size_t) (s - arg);
        _cleanup_free_ char *name = xstrndup(arg, nlen);
        _cleanup_free_ char *path = NULL;
        if (ref.suffix[0] == ':') {
                _cleanup_free_ char *et = client_escape(ref.suffix + 1);
                path = xasprintf("/images/%s/push?tag=%s", name, et);
        } else
                path = xasprintf("/images/%s/push", name);
        ref_clear(&ref);
        _cleanup_fclose_ FILE *devnull = quiet ? fopen("/dev/null", "we") : NULL;
        int r = cli_progress_request(cli, path, -1, NULL, NULL, devnull ?: stdout);
        if (r == 0 && quiet)
                printf("%s\n", full);
        return r;
}

/* Reads a line from stdin without its newline; echo off on a terminal for passwords. */
static char *read_line(const char *prompt, bool secret)
{
        bool tty = isatty(STDIN_FILENO);
        struct termios old, raw;
        if (prompt) {
                fputs(prompt, stdout);
                fflush(stdout);
        }
        if (secret && tty && tcgetattr(STDIN_FILENO, &old) == 0) {
                raw = old;
                raw.c_lflag &= ~(tcflag_t) ECHO;
                tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        } else
                tty = false;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (secret && tty) {
                tcsetattr(STDIN_FILENO, TCSANOW, &old);
                putchar('\n');
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        return line;
}

int cmd_login(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "password", required_argument, NULL, 'p', "Password or Personal Access Token (PAT)" },
                { "password-stdin", no_argument, NULL, 'S', "Take the Password or Personal Access Token (PAT) from stdin" },
                { "username", required_argument, NULL, 'u', "Username" },
                CLI_HELP_OPTION,
                {},
        };
        const char *user = NULL, *pass = NULL;
        bool pass_stdin = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "p:u:", opts)) != -1) {
                switch (c) {
                case 'p': pass = optarg; break;
                case 'u': user = optarg; break;
                case 'S': pass_stdin = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, "'berth %s' requires at most 1 argument", cli->cmd_name);
        if (pass && pass_stdin) {
                fprintf(stderr, "conflicting options: cannot specify both --password and --password-stdin\n");
                return 1;
        }
        if (pass_stdin && !user) {
                fprintf(stderr, "the --password-stdin option requires --username to be set\n");
                return 1;
        }
        const char *server = optind < argc ? argv[optind] : NULL;
        _cleanup_free_ char *key = config_key(server);
        _cleanup_free_ char *user_buf = NULL, *pass_buf = NULL;
        if (pass && !pass_stdin)
                fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
        if (pass_stdin) {
                pass_buf = read_line(NULL, false);
                pass = pass_buf ?: "";
        }
        if ((!user || !pass) && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
                return 1;
        }
        if (!user) {
                user_buf = read_line("Username: ", false);
                if (!user_buf || !*user_buf) {
                        fprintf(stderr, "Error: Non-null Username Required\n");
                        return 1;
                }
                user = user_buf;
        }
        if (!pass) {
                pass_buf = read_line("Password: ", true);
                if (!pass_buf || !*pass_buf) {
                        fprintf(stderr, "Error: Password Required\n");
                        return 1;
                }
                pass = pass_buf;
        }
        _cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:s}", "username", user, "password", pass,
                                                "serveraddress", key);
        _cleanup_json_ json_t *out = NULL;
        _cleanup_response_ Response resp = { 0 };
        int st = client_json(cli->client, "POST", "/auth", body, &out, &resp);
        if (st < 0)
                return 1;
        if (st >= 300)
                return cli_daemon_error(&resp);
        _cleanup_free_ char *path = config_path();
        _cleanup_json_ json_t *cfg = config_load(path);
        json_t *auths = json_object_get(cfg, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                json_object_set_new(cfg, "auths", auths);
        }
        _cleanup_free_ char *up = xasprintf("%s:%s", user, pass);
        _cleanup_free_ char *b64 = base64_encode(up, strlen(up));
        json_object_set_new(auths, key, json_pack("{s:s}", "auth", b64));
        int r = config_save(path, cfg);
        if (r < 0) {
                fprintf(stderr, "Error saving credentials: %s: %s\n", path, strerror(-r));
                return 1;
        }
        fprintf(stderr, "\nWARNING! Your credentials are stored unencrypted in '%s'.\n"
                        "Configure a credential helper to remove this warning. See\n"
                        "https://docs.docker.com/go/credential-store/\n\n", path);
        printf("%s\n", json_str(out, "Status") ?: "Login Succeeded");
        return 0;
}

int cmd_logout(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = { CLI_HELP_OPTION, {} };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) { CLI_OPT_DEFAULT; }
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, "'berth %s' requires at most 1 argument", cli->cmd_name);
        _cleanup_free_ char *key = config_key(optind < argc ? argv[optind] : NULL);
        _cleanup_free_ char *path = config_path();
        _cleanup_json_ json_t *cfg = config_load(path);
        json_t *auths = json_object_get(cfg, "auths");
        printf("Removing login credentials for %s\n", key);
        /* docker also erases the entries older clients stored with a scheme */
        _cleanup_free_ char *http = xasprintf("http://%s", key), *https = xasprintf("https://%s", key);
        bool had = json_object_del(auths, key) == 0;
        if (!streq(key, DEFAULT_INDEX)) {
                had |= json_object_del(auths, http) == 0;
                had |= json_object_del(auths, https) == 0;
        }
        if (!had)
                return 0;
        int r = config_save(path, cfg);
        if (r < 0) {
                fprintf(stderr, "WARNING: could not erase credentials: %s: %s\n", key, strerror(-r));
                return 1;
        }
        return 0;
}

int cmd_search(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "filter", required_argument, NULL, 'f', "Filter output based on conditions provided", "filter" },
                { "format", required_argument, NULL, 'F', "Pretty-print search using a Go template" },
                { "limit", required_argument, NULL, 'L', "Max number of search results", "int" },
                { "no-trunc", no_argument, NULL, 'N', "Don't truncate output" },
                CLI_HELP_OPTION,
                {},
        };
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f': case 'F': case 'L': case 'N': break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, "'berth %s' requires 1 argument", cli->cmd_name);
        fprintf(stderr, "berth: search is not supported by berth: berthd does not serve /images/search\n");
        return 1;
}
