/* berth build: the context directory as a tar (.dockerignore applied, as the docker CLI does), sent to
 * POST /build; the classic progress printed as it arrives. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "build/dockerignore.h"
#include "cli/cli.h"

typedef struct TarCtx {
        struct archive *a;
        struct archive *disk;
        const char *root;
        DockerIgnore *ignore;
        const char *keep1, *keep2; /* never excluded: the Dockerfile and .dockerignore */
        int err;
} TarCtx;

static int add_file(TarCtx *t, const char *full, const char *name, const struct stat *st)
{
        struct archive_entry *en = archive_entry_new();
        archive_entry_copy_sourcepath(en, full);
        if (archive_read_disk_entry_from_file(t->disk, en, -1, st) != ARCHIVE_OK) {
                fprintf(stderr, "error checking context: %s\n", archive_error_string(t->disk));
                archive_entry_free(en);
                return -EIO;
        }
        archive_entry_set_pathname(en, name);
        archive_entry_set_uid(en, 0);
        archive_entry_set_gid(en, 0);
        archive_entry_set_uname(en, "");
        archive_entry_set_gname(en, "");
        int r = archive_write_header(t->a, en);
        archive_entry_free(en);
        if (r != ARCHIVE_OK)
                return -EIO;
        if (S_ISREG(st->st_mode)) {
                _cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        fprintf(stderr, "error checking context: can't open '%s': %s\n", full, strerror(errno));
                        return -errno;
                }
                char buf[65536];
                ssize_t n;
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (archive_write_data(t->a, buf, (size_t) n) != n)
                                return -EIO;
        }
        return 0;
}

static int walk(TarCtx *t, const char *rel)
{
        _cleanup_free_ char *dpath = *rel ? xasprintf("%s/%s", t->root, rel) : xstrdup(t->root);
        _cleanup_closedir_ DIR *d = opendir(dpath);
        if (!d) {
                fprintf(stderr, "error checking context: can't stat '%s'\n", dpath);
                return -errno;
        }
        _cleanup_strv_free_ char **names = dir_names_sorted(d);
 size_t n = strv_length(names);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *crel = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                _cleanup_free_ char *full = xasprintf("%s/%s", t->root, crel);
                struct stat st;
                if (lstat(full, &st) < 0)
                        continue;
                bool keep = streq(crel, t->keep1) || streq(crel, t->keep2);
                bool excluded = !keep && dockerignore_match(t->ignore, crel);
                if (excluded && !(S_ISDIR(st.st_mode) && t->ignore->exceptions))
                        continue;
                if (!excluded) {
                        int r = add_file(t, full, crel, &st);
                        if (r < 0)
                                return r;
                }
                if (S_ISDIR(st.st_mode)) {
                        int r = walk(t, crel);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The context as a tar in a temporary file; dockerfile_extra (an outside Dockerfile's bytes) goes in
 * as extra_name. */
static int make_context(const char *dir, const char *dockerfile_rel, const char *extra_name, const char *extra,
                        size_t extra_len, int *ret_fd, off_t *ret_size)
{
        FILE *tmp = tmpfile();
        if (!tmp)
                return -errno;
        int fd = dup(fileno(tmp));
        fclose(tmp);
        if (fd < 0)
                return -errno;
        _cleanup_dockerignore_ DockerIgnore *ig = NULL;
        {
                _cleanup_free_ char *p = xasprintf("%s/.dockerignore", dir);
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                if (read_file(p, &text, &len) == 0) {
                        BerthError *err = NULL;
                        if (dockerignore_parse(text, len, &ig, &err) < 0) {
                                fprintf(stderr, "error checking context: %s\n", err->msg);
                                berr_free(err);
                                close(fd);
                                return -EINVAL;
                        }
                }
        }
        TarCtx t = { .a = archive_write_new(), .disk = archive_read_disk_new(), .root = dir, .ignore = ig,
                     .keep1 = dockerfile_rel ? dockerfile_rel : "Dockerfile", .keep2 = ".dockerignore" };
        archive_read_disk_set_behavior(t.disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                                       ARCHIVE_READDISK_NO_FFLAGS);
        archive_write_set_format_pax_restricted(t.a);
        int r = archive_write_open_fd(t.a, fd) == ARCHIVE_OK ? 0 : -EIO;
        if (r == 0)
                r = walk(&t, "");
        if (r == 0 && extra) {
                struct archive_entry *en = archive_entry_new();
                archive_entry_set_pathname(en, extra_name);
                archive_entry_set_filetype(en, AE_IFREG);
                archive_entry_set_perm(en, 0600);
                archive_entry_set_size(en, (la_int64_t) extra_len);
                archive_entry_set_mtime(en, time(NULL), 0);
                if (archive_write_header(t.a, en) != ARCHIVE_OK ||
                    archive_write_data(t.a, extra, extra_len) != (la_ssize_t) extra_len)
                        r = -EIO;
                archive_entry_free(en);
        }
        if (archive_write_close(t.a) != ARCHIVE_OK)
                r = -EIO;
        archive_write_free(t.a);
        archive_read_free(t.disk);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_size = lseek(fd, 0, SEEK_END);
        lseek(fd, 0, SEEK_SET);
        *ret_fd = fd;
        return 0;
}

/* berth build -: stdin is a tar (plain or compressed, as libarchive sees it) or a Dockerfile. */
static int build_stdin(Cli *cli, const char *query, const char *file)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 65536 > cap) {
                        cap = cap ? cap * 2 : 1 << 20;
                        char *n = xrealloc(data, cap);
                        data = n;
                }
                ssize_t k = read(STDIN_FILENO, data + len, cap - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        fprintf(stderr, "unable to read stdin: %s\n", strerror(errno));
                        return 1;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        bool is_tar = false;
        {
                struct archive *a = archive_read_new();
                archive_read_support_filter_all(a);
                archive_read_support_format_tar(a);
                struct archive_entry *en;
                is_tar = archive_read_open_memory(a, data, len) == ARCHIVE_OK && archive_read_next_header(a, &en) == ARCHIVE_OK;
                archive_read_free(a);
        }
        FILE *tmp = tmpfile();
        if (!tmp)
                return 1;
        _cleanup_close_ int fd = dup(fileno(tmp));
        fclose(tmp);
        _cleanup_free_ char *path = NULL;
        if (is_tar) {
                if (loop_write(fd, data, len) < 0)
                        return 1;
                _cleanup_free_ char *e = file ? client_escape(file) : NULL;
                path = e ? xasprintf("%s&dockerfile=%s", query, e) : xstrdup(query);
        } else {
                struct archive *a = archive_write_new();
                archive_write_set_format_pax_restricted(a);
                archive_write_open_fd(a, fd);
                struct archive_entry *en = archive_entry_new();
                archive_entry_set_pathname(en, "Dockerfile");
                archive_entry_set_filetype(en, AE_IFREG);
                archive_entry_set_perm(en, 0600);
                archive_entry_set_size(en, (la_int64_t) len);
                archive_entry_set_mtime(en, time(NULL), 0);
                int ok = archive_write_header(a, en) == ARCHIVE_OK && archive_write_data(a, data, len) == (la_ssize_t) len;
                archive_entry_free(en);
                ok = archive_write_close(a) == ARCHIVE_OK && ok;
                archive_write_free(a);
                if (!ok)
                        return 1;
                path = xasprintf("%s&dockerfile=Dockerfile", query);
        }
        lseek(fd, 0, SEEK_SET);
        return cli_progress_request(cli, path, fd, "application/x-tar", NULL, stdout);
}

static void add_query(FILE *f, const char *k, const char *v)
{
        _cleanup_free_ char *e = client_escape(v);
        fprintf(f, "&%s=%s", k, e);
}

int cmd_build(Cli *cli, int argc, char **argv)
{
        enum { O_BUILD_ARG = 0x2000, O_TARGET, O_NO_CACHE, O_LABEL, O_NETWORK, O_ADD_HOST, O_PULL, O_RM, O_FORCE_RM,
               O_CACHE_FROM, O_SHM, O_MEMSWAP, O_CPUSET, O_CPUPERIOD, O_CPUQUOTA, O_PLATFORM };
        static const CliOption opts[] = {
                { "tag", required_argument, NULL, 't', "Name and optionally a tag in the \"name:tag\" format", "list" },
                { "file", required_argument, NULL, 'f', "Name of the Dockerfile (Default is \"PATH/Dockerfile\")" },
                { "quiet", no_argument, NULL, 'q', "Suppress the build output and print image ID on success" },
                { "build-arg", required_argument, NULL, O_BUILD_ARG, "Set build-time variables", "list" },
                { "target", required_argument, NULL, O_TARGET, "Set the target build stage to build." },
                { "no-cache", no_argument, NULL, O_NO_CACHE, "Do not use cache when building the image" },
                { "label", required_argument, NULL, O_LABEL, "Set metadata for an image", "list" },
                { "network", required_argument, NULL, O_NETWORK, "Set the networking mode for the RUN instructions during build", NULL, "\"default\"" },
                { "add-host", required_argument, NULL, O_ADD_HOST, "Add a custom host-to-IP mapping (\"host:ip\")", "list" },
                { "pull", no_argument, NULL, O_PULL, "Always attempt to pull a newer version of the image" },
                { "rm", optional_argument, NULL, O_RM, "Remove intermediate containers after a successful build", NULL, "true" },
                { "force-rm", no_argument, NULL, O_FORCE_RM, "Always remove intermediate containers" },
                { "cache-from", required_argument, NULL, O_CACHE_FROM, "Images to consider as cache sources", "strings" },
                { "shm-size", required_argument, NULL, O_SHM, "Size of \"/dev/shm\"", "bytes" },
                { "memory", required_argument, NULL, 'm', "Memory limit", "bytes" },
                { "memory-swap", required_argument, NULL, O_MEMSWAP, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "bytes" },
                { "cpu-shares", required_argument, NULL, 'c', "CPU shares (relative weight)", "int" },
                { "cpuset-cpus", required_argument, NULL, O_CPUSET, "CPUs in which to allow execution (0-3, 0,1)" },
                { "cpu-period", required_argument, NULL, O_CPUPERIOD, "Limit the CPU CFS (Completely Fair Scheduler) period", "int" },
                { "cpu-quota", required_argument, NULL, O_CPUQUOTA, "Limit the CPU CFS (Completely Fair Scheduler) quota", "int" },
                { "platform", required_argument, NULL, O_PLATFORM, "Set platform if server is multi-platform capable" },
                CLI_HELP_OPTION,
                {},
        };
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        fputs("/build?version=1", f);
        _cleanup_json_ json_t *args = json_object(), *labels = json_object(), *cache = json_array();
        const char *file = NULL;
        bool quiet = false;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "t:f:qm:c:", opts)) != -1) {
                switch (c) {
                case 't': add_query(f, "t", optarg); break;
                case 'f': file = optarg; break;
                case 'q': quiet = true; add_query(f, "q", "1"); break;
                case O_BUILD_ARG: {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(optarg, (size_t) (eq - optarg)) : xstrdup(optarg);
                        const char *v = eq ? eq + 1 : getenv(k);
                        json_object_set_new(args, k, v ? json_string(v) : json_null());
                        break;
                }
                case O_LABEL: {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(optarg, (size_t) (eq - optarg)) : xstrdup(optarg);
                        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
                        break;
                }
                case O_TARGET: add_query(f, "target", optarg); break;
                case O_NO_CACHE: add_query(f, "nocache", "1"); break;
                case O_NETWORK: add_query(f, "networkmode", optarg); break;
                case O_ADD_HOST: add_query(f, "extrahosts", optarg); break;
                case O_PULL: add_query(f, "pull", "1"); break;
                case O_RM: add_query(f, "rm", optarg && (streq(optarg, "false") || streq(optarg, "0")) ? "0" : "1"); break;
                case O_FORCE_RM: add_query(f, "forcerm", "1"); break;
                case O_CACHE_FROM: json_array_append_new(cache, json_string(optarg)); break;
                case O_SHM:
                case 'm':
                case O_MEMSWAP: {
                        long long n = streq(optarg, "-1") ? -1 : parse_ram_bytes(optarg);
                        if (n < -1) {
                                fprintf(stderr, "invalid size: '%s'\n", optarg);
                                fclose(f);
                                free(q);
                                return 125;
                        }
                        _cleanup_free_ char *v = xasprintf("%lld", n);
                        add_query(f, c == O_SHM ? "shmsize" : c == 'm' ? "memory" : "memswap", v);
                        break;
                }
                case 'c': add_query(f, "cpushares", optarg); break;
                case O_CPUSET: add_query(f, "cpusetcpus", optarg); break;
                case O_CPUPERIOD: add_query(f, "cpuperiod", optarg); break;
                case O_CPUQUOTA: add_query(f, "cpuquota", optarg); break;
                case O_PLATFORM: add_query(f, "platform", optarg); break;
                default:
                        fclose(f);
                        free(q);
                        return c == CLI_OPT_HELP ? 0 : 125;
                }
        }
        if (argc - optind != 1) {
                fclose(f);
                free(q);
                return cli_args_error(cli, "exactly 1 argument");
        }
        const char *dir = argv[optind];
        if (json_object_size(args)) {
                _cleanup_free_ char *s = json_dumps(args, JSON_COMPACT);
                add_query(f, "buildargs", s);
        }
        if (json_object_size(labels)) {
                _cleanup_free_ char *s = json_dumps(labels, JSON_COMPACT);
                add_query(f, "labels", s);
        }
        if (json_array_size(cache)) {
                _cleanup_free_ char *s = json_dumps(cache, JSON_COMPACT);
                add_query(f, "cachefrom", s);
        }
        if (streq(dir, "-")) {
                /* stdin: a tar context as it is, or a Dockerfile alone (a context of just it) */
                fclose(f);
                _cleanup_free_ char *path = q;
                return build_stdin(cli, path, file);
        }
        /* the Dockerfile: inside the context it is named by its relative path, outside it goes in */
        _cleanup_free_ char *rdir = realpath(dir, NULL);
        if (!rdir) {
                fclose(f);
                free(q);
                fprintf(stderr, "unable to prepare context: path \"%s\" not found\n", dir);
                return 1;
        }
        _cleanup_free_ char *dfpath = file ? (file[0] == '/' ? xstrdup(file) : xasprintf("%s", file))
                                           : xasprintf("%s/Dockerfile", rdir);
        _cleanup_free_ char *rdf = realpath(dfpath, NULL);
        _cleanup_free_ char *extra = NULL, *extra_name = NULL, *rel = NULL;
        size_t extra_len = 0;
        if (!rdf) {
                fclose(f);
                free(q);
                fprintf(stderr, "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat %s: "
                                "no such file or directory\n", dfpath);
                return 1;
        }
        size_t dl = strlen(rdir);
        if (strncmp(rdf, rdir, dl) == 0 && rdf[dl] == '/')
                rel = xstrdup(rdf + dl + 1);
        else {
                if (read_file(rdf, &extra, &extra_len) < 0) {
                        fclose(f);
                        free(q);
                        fprintf(stderr, "unable to read %s\n", rdf);
                        return 1;
                }
                char hex[65];
                random_hex_id(hex);
                extra_name = xasprintf(".dockerfile.%.20s", hex);
                rel = xstrdup(extra_name);
        }
        add_query(f, "dockerfile", rel);
        fclose(f);
        _cleanup_free_ char *path = q;
        int fd = -1;
        off_t size = 0;
        int r = make_context(rdir, rel, extra_name, extra, extra_len, &fd, &size);
        if (r < 0)
                return 1;
        _cleanup_close_ int fdp = fd;
        if (!quiet) {
                _cleanup_free_ char *hs = human_size((double) size);
                printf("Sending build context to berth daemon  %s\n", hs);
                fflush(stdout);
        }
        return cli_progress_request(cli, path, fd, "application/x-tar", NULL, stdout);
}
