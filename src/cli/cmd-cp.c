/* berth cp: files between a container and the local filesystem through the archive API.
 * The local side is tar(1): it makes the archive sent and unpacks the one received. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <strings.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"

/* "ctr:/path" -> ctr and path; NULL for a local path (one with a slash before any colon). */
static char *split_container(const char *arg, const char **ret_path)
{
        const char *colon = strchr(arg, ':');
        if (!colon || colon == arg)
                return NULL;
        const char *slash = strchr(arg, '/');
        if (slash && slash < colon)
                return NULL;
        *ret_path = colon + 1;
        return xstrndup(arg, (size_t) (colon - arg));
}

/* docker cp's size: units.HumanSizeWithPrecision(size, 3), one digit less than human_size(). */
static void cp_size(double size, char *buf, size_t n)
{
        static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB" };
        size_t i = 0;
        while (size >= 1000 && i < 5) {
                size /= 1000;
                i++;
        }
        snprintf(buf, n, "%.3g%s", size, u[i]);
}

static void report(bool quiet, unsigned long long bytes, const char *to)
{
        if (quiet || !isatty(STDERR_FILENO))
                return; /* docker prints it only to a terminal */
        char h[32];
        cp_size((double) bytes, h, sizeof(h));
        fprintf(stderr, "Successfully copied %s to %s\n", h, to);
}

static bool ends_with_dot(const char *p)
{
        size_t n = strlen(p);
        return (n == 1 && p[0] == '.') || (n >= 2 && streq(p + n - 2, "/.")) || (n >= 3 && streq(p + n - 3, "/./"));
}

/* A tar(1) --transform renaming the top element old (and what is below it) to new. */
static char *transform_expr(const char *old, const char *new)
{
        _cleanup_free_ char *o = xmalloc(2 * strlen(old) + 1), *w = xmalloc(2 * strlen(new) + 1);
        char *p = o;
        for (const char *s = old; *s; s++) {
                if (strchr("\\.[]*^$,", *s))
                        *p++ = '\\';
                *p++ = *s;
        }
        *p = 0;
        p = w;
        for (const char *s = new; *s; s++) {
                if (strchr("\\&,", *s))
                        *p++ = '\\';
                *p++ = *s;
        }
        *p = 0;
        return xasprintf("s,^%s\\(/\\|$\\),%s\\1,S", o, w);
}

static pid_t spawn(char **argv, int in, int out)
{
        pid_t pid = fork();
        if (pid == 0) {
                if (in >= 0)
                        dup2(in, 0);
                if (out >= 0)
                        dup2(out, 1);
                execvp(argv[0], argv);
                fprintf(stderr, "berth: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        return pid;
}

static int wait_ok(pid_t pid)
{
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The tar of the local path src, its top element named name, in an unlinked temporary file. */
static int make_tar(const char *src, const char *name, int *ret_fd)
{
        _cleanup_free_ char *d = xstrdup(src), *b = xstrdup(src);
        const char *dir = dirname(d), *base = basename(b);
        if (ends_with_dot(src)) {
                dir = src;
                base = ".";
        }
        _cleanup_free_ char *tr = transform_expr(base, name);
        const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        int fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0) { /* a filesystem without O_TMPFILE */
                _cleanup_free_ char *t = xasprintf("%s/berth-cp-XXXXXX", tmpdir);
                fd = mkostemp(t, O_CLOEXEC);
                if (fd >= 0)
                        unlink(t);
        }
        if (fd < 0) {
                fprintf(stderr, "berth: cannot create a temporary file: %s\n", strerror(errno));
                return -1;
        }
        char *argv[] = { "tar", "-c", "--numeric-owner", "-C", (char *) dir, "--transform", tr, "--", (char *) base,
                         NULL };
        if (wait_ok(spawn(argv, -1, fd)) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return -1;
        }
        *ret_fd = fd;
        return 0;
}

static int put_tar(Cli *cli, const char *ctr, const char *path, int fd, bool copy_uid_gid, long *ret_status,
                   char **ret_err)
{
        _cleanup_free_ char *ec = client_escape(ctr), *ep = client_escape(path);
        _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s%s", ec, ep,
                                             copy_uid_gid ? "&copyUIDGID=true" : "");
        int r = client_stream(cli->client, "PUT", url, "application/x-tar", fd, NULL, NULL, ret_err);
        if (r < 0)
                return r;
        *ret_status = r;
        return 0;
}

static int copy_to(Cli *cli, const char *src, const char *ctr, const char *path, const char *dest_arg,
                   bool copy_uid_gid, bool follow, bool quiet)
{
        _cleanup_close_ int fd = -1;
        long status = 0;
        _cleanup_free_ char *errbody = NULL;
        if (streq(src, "-")) {
                if (put_tar(cli, ctr, path, STDIN_FILENO, copy_uid_gid, &status, &errbody) < 0)
                        return 1;
                if (status == 400 && errbody && strstr(errbody, "extraction point is not a directory")) {
                        fprintf(stderr, "destination \"%s\" must be a directory\n", dest_arg);
                        return 1;
                }
                return status >= 400 ? (client_print_error(errbody), 1) : 0;
        }
        struct stat st;
        if (lstat(src, &st) < 0) {
                fprintf(stderr, "lstat %s: %s\n", src, go_strerror(-errno));
                return 1;
        }
        /* Into the directory path under the source's own name... */
        _cleanup_free_ char *sb = xstrdup(src);
        const char *name = ends_with_dot(src) ? "." : basename(sb);
        _cleanup_free_ char *real = NULL;
        if (follow && S_ISLNK(st.st_mode)) { /* -L: what the link points to, under the link's name */
                real = realpath(src, NULL);
                if (!real || stat(real, &st) < 0) {
                        fprintf(stderr, "lstat %s: %s\n", src, go_strerror(-errno));
                        return 1;
                }
                src = real;
        }
        if (make_tar(src, name, &fd) < 0)
                return 1;
        off_t size = lseek(fd, 0, SEEK_END);
        lseek(fd, 0, SEEK_SET);
        if (put_tar(cli, ctr, path, fd, copy_uid_gid, &status, &errbody) < 0)
                return 1;
        bool not_dir = status == 400 && errbody && strstr(errbody, "extraction point is not a directory");
        if (status == 404 || not_dir) {
                /* ...or, path being missing or a file, as path itself: into its parent under its name. */
                if (not_dir && S_ISDIR(st.st_mode)) {
                        fprintf(stderr, "cannot copy directory\n");
                        return 1;
                }
                _cleanup_free_ char *pd = xstrdup(path), *pb = xstrdup(path);
                const char *parent = dirname(pd), *newname = basename(pb);
                fd = safe_close(fd);
                free(errbody);
                errbody = NULL;
                if (make_tar(src, newname, &fd) < 0)
                        return 1;
                size = lseek(fd, 0, SEEK_END);
                lseek(fd, 0, SEEK_SET);
                if (put_tar(cli, ctr, parent, fd, copy_uid_gid, &status, &errbody) < 0)
                        return 1;
        }
        if (status >= 400) {
                client_print_error(errbody);
                return 1;
        }
        report(quiet, (unsigned long long) size, dest_arg);
        return 0;
}

/* HEAD of a container path: its linkTarget when it is a symlink (the daemon resolved it in
 * the container), else NULL; any failure is left for the GET that follows to report. */
static char *link_target(Cli *cli, const char *ctr, const char *path)
{
        _cleanup_free_ char *ec = client_escape(ctr), *ep = client_escape(path);
        _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s", ec, ep);
        if (client_negotiate(cli->client) < 0)
                return NULL;
        _cleanup_close_ int fd = client_raw_connect(cli->client);
        RawResponse rr = { .fd = -1 };
        if (fd < 0 || client_raw_send(cli->client, fd, "HEAD", url, NULL, NULL, 0, false) < 0 ||
            client_raw_read_head(fd, &rr) < 0 || rr.status != 200 || !rr.head) {
                raw_response_clear(&rr);
                return NULL;
        }
        char *result = NULL;
        const char *key = "\nX-Docker-Container-Path-Stat:";
        for (const char *p = rr.head; (p = strchr(p, '\n')); p++) {
                if (strncasecmp(p, key, strlen(key)) != 0)
                        continue;
                const char *v = p + strlen(key);
                v += strspn(v, " ");
                size_t n = strcspn(v, "\r\n");
                _cleanup_free_ unsigned char *dec = xmalloc(n + 1);
                int dn = EVP_DecodeBlock(dec, (const unsigned char *) v, (int) n);
                if (dn <= 0)
                        break;
                _cleanup_json_ json_t *j = json_loadb((const char *) dec, (size_t) dn, JSON_DISABLE_EOF_CHECK, NULL);
                const char *lt = json_str(j, "linkTarget");
                if (lt && *lt)
                        result = xstrdup(lt);
                break;
        }
        raw_response_clear(&rr);
        return result;
}

typedef struct GetCtx {
        int fd;         /* where the tar goes, -1 until the first byte when unpacking */
        const char *dir; /* unpack into it with tar -x, started at the first byte */
        const char *transform; /* tar --transform of the names, or NULL */
        pid_t pid;
        unsigned long long bytes;
} GetCtx;

static int get_write(const char *buf, size_t len, void *userdata)
{
        GetCtx *g = userdata;
        if (g->fd < 0) {
                /* Only now: an error answer never reaches tar. */
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -1;
                char *argv[] = { "tar", "-x", "--numeric-owner", "-C", (char *) g->dir, "-f", "-",
                                 g->transform ? "--transform" : NULL, (char *) g->transform, NULL };
                g->pid = spawn(argv, p[0], -1);
                close(p[0]);
                g->fd = p[1];
        }
        g->bytes += len;
        return loop_write(g->fd, buf, len) < 0 ? -1 : 0;
}

/* GET the tar of path: to g->fd, or unpacked into g->dir. */
static int get_tar(Cli *cli, const char *ctr, const char *path, GetCtx *g)
{
        _cleanup_free_ char *ec = client_escape(ctr), *ep = client_escape(path);
        _cleanup_free_ char *url = xasprintf("/containers/%s/archive?path=%s", ec, ep);
        _cleanup_free_ char *errbody = NULL;
        int r = client_stream(cli->client, "GET", url, NULL, -1, get_write, g, &errbody);
        if (g->dir && g->fd >= 0) {
                g->fd = safe_close(g->fd);
                if (wait_ok(g->pid) < 0 && r >= 0 && r < 400) {
                        fprintf(stderr, "berth: cannot extract the archive into %s\n", g->dir);
                        return -1;
                }
        }
        if (r < 0)
                return -1;
        if (r >= 400) {
                client_print_error(errbody);
                return -1;
        }
        return 0;
}

static int extract_into(Cli *cli, const char *ctr, const char *path, const char *dir, const char *transform,
                        unsigned long long *bytes)
{
        GetCtx g = { .fd = -1, .dir = dir, .transform = transform };
        int r = get_tar(cli, ctr, path, &g);
        *bytes = g.bytes;
        return r;
}

static int copy_from(Cli *cli, const char *ctr, const char *path, const char *dest, bool follow, bool quiet)
{
        unsigned long long bytes = 0;
        /* -L: the symlink's target under the symlink's name, as docker rebases it. */
        _cleanup_free_ char *target = follow ? link_target(cli, ctr, path) : NULL, *transform = NULL;
        _cleanup_free_ char *lb = xstrdup(path);
        const char *want = basename(lb);
        if (target) {
                _cleanup_free_ char *tb = xstrdup(target);
                transform = transform_expr(basename(tb), want);
                path = target;
        }
        if (streq(dest, "-")) {
                GetCtx g = { .fd = STDOUT_FILENO };
                return get_tar(cli, ctr, path, &g) < 0 ? 1 : 0;
        }
        struct stat st;
        bool exists = stat(dest, &st) == 0;
        if (exists && S_ISDIR(st.st_mode)) {
                if (extract_into(cli, ctr, path, dest, transform, &bytes) < 0)
                        return 1;
                report(quiet, bytes, dest);
                return 0;
        }
        /* A new name (or a file replaced): unpack next to it, then move into place. */
        _cleanup_free_ char *dd = xstrdup(dest);
        _cleanup_free_ char *tmp = xasprintf("%s/.berth-cp-XXXXXX", dirname(dd));
        if (!mkdtemp(tmp)) {
                fprintf(stderr, "berth: cannot create a directory next to %s: %s\n", dest, strerror(errno));
                return 1;
        }
        int r = extract_into(cli, ctr, path, tmp, transform, &bytes);
        _cleanup_free_ char *clean = xstrdup(path);
        size_t n = strlen(clean);
        while (n > 1 && clean[n - 1] == '/')
                clean[--n] = 0;
        bool content = ends_with_dot(path) || streq(clean, "/");
        _cleanup_free_ char *from = NULL;
        if (r == 0 && content)
                from = xstrdup(tmp);
        else if (r == 0 && target)
                from = xasprintf("%s/%s", tmp, want);
        else if (r == 0) {
                _cleanup_free_ char *pb = xstrdup(clean);
                from = xasprintf("%s/%s", tmp, basename(pb));
        }
        if (r == 0) {
                struct stat fs;
                if (exists && lstat(from, &fs) == 0 && S_ISDIR(fs.st_mode)) {
                        fprintf(stderr, "cannot overwrite non-directory \"%s\" with directory \"%s\"\n", dest, path);
                        r = -1;
                } else if (rename(from, dest) < 0) {
                        fprintf(stderr, "berth: cannot move the copy to %s: %s\n", dest, strerror(errno));
                        r = -1;
                }
        }
        char *rm[] = { "rm", "-rf", "--", tmp, NULL };
        if (access(tmp, F_OK) == 0)
                wait_ok(spawn(rm, -1, -1));
        if (r < 0)
                return 1;
        report(quiet, bytes, dest);
        return 0;
}

int cmd_cp(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "archive", no_argument, NULL, 'a', "Archive mode (copy all uid/gid information)" },
                { "follow-link", no_argument, NULL, 'L', "Always follow symbol link in SRC_PATH" },
                { "quiet", no_argument, NULL, 'q', "Suppress progress output during copy. Progress output is "
                  "automatically suppressed if no terminal is attached" },
                CLI_HELP_OPTION,
                {},
        };
        bool archive = false, quiet = false, follow = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "aLq", opts)) != -1) {
                switch (c) {
                case 'a': archive = true; break;
                case 'q': quiet = true; break;
                case 'L': follow = true; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (argc - optind != 2)
                return cli_args_error(cli, "exactly 2 arguments");
        const char *src = argv[optind], *dst = argv[optind + 1];
        const char *spath = NULL, *dpath = NULL;
        _cleanup_free_ char *sc = split_container(src, &spath), *dc = split_container(dst, &dpath);
        if (sc && dc)
                return cli_usage_error(cli, "copying between containers is not supported");
        if (!sc && !dc)
                return cli_usage_error(cli, "must specify at least one container source");
        signal(SIGPIPE, SIG_IGN);
        if (sc)
                return copy_from(cli, sc, *spath ? spath : "/", dst, follow, quiet);
        return copy_to(cli, src, dc, *dpath ? dpath : "/", dst, archive, follow, quiet);
}
