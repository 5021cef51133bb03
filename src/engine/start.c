/* Starting a container: files it mounts, spec.json, the berth-monitor handshake
 * (docs/monitor.md), the exit watcher and what happens after an exit
 * (AutoRemove, restart policies). */
#include <dirent.h>
#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "state/events.h"
#include "engine/health.h"
#include "engine/links.h"
#include "engine/mountpoints.h"
#include "image/image.h"
#include "engine/netglue.h"
#include "engine/resources.h"
#include "engine/system.h"
#include "network/network.h"
#include "runtime/runtime.h"

/* berth bounds every json-file log unless told otherwise (10 files of 10 MiB) */
#define BERTH_LOG_MAX_SIZE (10LL * 1024 * 1024)
#define BERTH_LOG_MAX_FILE 10

/* ---- monitor socket ---- */

/* Socket paths under a deep exec root exceed sun_path; connecting through
 * /proc/self/fd/<dirfd>/ keeps the path short. */
int container_monitor_connect(Engine *e, const char *id)
{
        _cleanup_free_ char *dir = container_run_dir(e, id);
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/monitor.sock", dfd);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Reads one line (without the newline) byte by byte, so nothing after it is
 * consumed. timeout_ms < 0 waits forever. */
static int read_line(int fd, int timeout_ms, char **ret)
{
        size_t n = 0, cap = 256;
        char *buf = xmalloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (timeout_ms >= 0) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        int pr = poll(&p, 1, timeout_ms);
                        if (pr == 0) {
                                free(buf);
                                return -ETIMEDOUT;
                        }
                }
                char ch;
                ssize_t r = read(fd, &ch, 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        if (n > 0)
                                break;
                        free(buf);
                        return r == 0 ? -ECONNRESET : -errno;
                }
                if (ch == '\n')
                        break;
                if (n + 2 > cap) {
                        cap *= 2;
                        char *nb = xrealloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                buf[n++] = ch;
        }
        buf[n] = 0;
        *ret = buf;
        return 0;
}

int container_monitor_request(Engine *e, const char *id, const char *req, char **ret_line)
{
        _cleanup_close_ int fd = container_monitor_connect(e, id);
        if (fd < 0)
                return fd;
        int r = loop_send(fd, req, strlen(req));
        if (r == 0)
                r = loop_send(fd, "\n", 1);
        if (r < 0)
                return r;
        return read_line(fd, 30000, ret_line);
}

/* ---- files ---- */

static int write_text(const char *path, const char *s)
{
        return write_file_replace(path, s, strlen(s), 0644);
}

/* The init layer sits between the image and the upper dir and holds the
 * mount points berth itself needs, so they are never created in the upper
 * dir and never show up in commit, export or changes (Docker's "-init" layer). */
static int prepare_init_layer(const char *dir, BerthError **err)
{
        static const char *const dirs[] = { "init/etc", "init/dev/pts", "init/dev/shm", "init/proc", "init/sys" };
        static const char *const files[] = { "init/etc/hostname", "init/etc/hosts", "init/etc/resolv.conf",
                                             "init/.dockerenv", "init/dev/console" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = xasprintf("%s/%s", dir, dirs[i]);
                int r = mkdir_p(d, 0755);
                if (r < 0)
                        return berr_set(err, -r, "cannot create %s: %s", d, strerror(-r));
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *f = xasprintf("%s/%s", dir, files[i]);
                _cleanup_close_ int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0)
                        return berr_set(err, errno, "cannot create %s: %m", f);
        }
        return 0;
}

static int prepare_files(Engine *e, Container *c, BerthError **err)
{
        _cleanup_free_ char *dir = container_dir(e, c->id);
        const char *subs[] = { "upper", "work" };
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_free_ char *d = xasprintf("%s/%s", dir, subs[i]);
                int r = mkdir_p(d, 0755);
                if (r < 0)
                        return berr_set(err, -r, "cannot create %s: %s", d, strerror(-r));
        }
        int ri = prepare_init_layer(dir, err);
        if (ri < 0)
                return ri;
        /* hosts and resolv.conf depend on the networks: network_container_prepare writes them */
        const char *hostname = json_str(container_cfg(c), "Hostname");
        _cleanup_free_ char *hp = xasprintf("%s/hostname", dir);
        _cleanup_free_ char *hs = xasprintf("%s\n", hostname ? hostname : c->id);
        int r = write_text(hp, hs);
        if (r < 0)
                return berr_set(err, -r, "cannot write container files in %s: %s", dir, strerror(-r));
        return 0;
}

/* ---- spec.json ---- */

static char *cap_name(const char *s)
{
        char *n = startswith(s, "CAP_") || startswith(s, "cap_") ? xstrdup(s) : xasprintf("CAP_%s", s);
        for (char *p = n; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 32);
        return n;
}

static json_t *capabilities(json_t *hc)
{
        json_t *add = json_object_get(hc, "CapAdd"), *drop = json_object_get(hc, "CapDrop");
        if (!json_array_size(add) && !json_array_size(drop))
                return json_null();
        json_t *caps = json_array();
        size_t i;
        json_t *x;
        bool drop_all = false;
        json_array_foreach(drop, i, x) if (json_is_string(x) && !strcasecmp(json_string_value(x), "ALL")) drop_all = true;
        if (!drop_all)
                for (size_t k = 0; rt_default_capabilities[k]; k++) {
                        bool dropped = false;
                        json_array_foreach(drop, i, x) {
                                _cleanup_free_ char *n = json_is_string(x) ? cap_name(json_string_value(x)) : NULL;
                                if (n && streq(n, rt_default_capabilities[k]))
                                        dropped = true;
                        }
                        if (!dropped)
                                json_array_append_new(caps, json_string(rt_default_capabilities[k]));
                }
        json_array_foreach(add, i, x) {
                if (!json_is_string(x))
                        continue;
                if (!strcasecmp(json_string_value(x), "ALL")) {
                        /* every capability, and the seccomp profile's capability rules with them (spec.c) */
                        json_decref(caps);
                        return json_string("ALL");
                }
                _cleanup_free_ char *n = cap_name(json_string_value(x));
                bool have = false;
                size_t j;
                json_t *y;
                json_array_foreach(caps, j, y) if (streq(json_string_value(y), n)) have = true;
                if (!have)
                        json_array_append_new(caps, json_string(n));
        }
        return caps;
}

static int build_mounts(Engine *e, Container *c, json_t *mounts, BerthError **err)
{
        int r = mountpoints_spec(e, c, mounts, err);
        if (r < 0)
                return r;
        /* after the mount points, as in Docker: a volume on /etc does not hide them */
        _cleanup_free_ char *dir = container_dir(e, c->id);
        const char *files[][2] = { { "hostname", "/etc/hostname" }, { "hosts", "/etc/hosts" },
                                   { "resolv.conf", "/etc/resolv.conf" } };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                json_array_append_new(mounts, json_pack("{s:s++,s:s,s:s,s:[ss]}", "source", dir, "/", files[i][0],
                                                        "destination", files[i][1], "type", "bind", "options",
                                                        "rbind", "rw"));
        return 0;
}

static void add_device(const struct stat *st, const char *path, const char *perm, json_t *devices, json_t *rules)
{
        char type = S_ISCHR(st->st_mode) ? 'c' : 'b';
        json_array_append_new(devices, json_pack("{s:s,s:s#,s:I,s:I,s:I,s:I,s:I}", "path", path, "type", &type, 1,
                                                 "major", (json_int_t) major(st->st_rdev), "minor",
                                                 (json_int_t) minor(st->st_rdev), "file_mode",
                                                 (json_int_t) (st->st_mode & 07777), "uid", (json_int_t) st->st_uid,
                                                 "gid", (json_int_t) st->st_gid));
        json_array_append_new(rules, json_sprintf("%c %u:%u %s", type, major(st->st_rdev), minor(st->st_rdev), perm));
}

static void add_device_dir(const char *host, const char *in, const char *perm, json_t *devices, json_t *rules,
                           int depth)
{
        DIR *d = depth < 8 ? opendir(host) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *hp = xasprintf("%s/%s", host, de->d_name);
                _cleanup_free_ char *ip = xasprintf("%s/%s", in, de->d_name);
                struct stat st;
                if (lstat(hp, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        add_device_dir(hp, ip, perm, devices, rules, depth + 1);
                else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                        add_device(&st, ip, perm, devices, rules);
        }
        if (d)
                closedir(d);
}

/* HostConfig.Devices and DeviceCgroupRules as spec.json's "devices" and "device_rules". */
static int build_devices(json_t *hc, json_t *devices, json_t *rules, BerthError **err)
{
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(hc, "Devices"), i, d) {
                const char *host = json_str(d, "PathOnHost"), *in = json_str(d, "PathInContainer");
                const char *perm = json_str(d, "CgroupPermissions");
                struct stat st;
                if (!host || stat(host, &st) < 0)
                        return berr_set(err, EINVAL,
                                        "error gathering device information while adding custom device \"%s\": %s",
                                        host ? host : "", strerror(host ? errno : EINVAL));
                if (S_ISDIR(st.st_mode)) { /* every device below it, as Docker does */
                        add_device_dir(host, in && *in ? in : host, perm && *perm ? perm : "rwm", devices, rules, 0);
                        continue;
                }
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        return berr_set(err, EINVAL,
                                        "error gathering device information while adding custom device \"%s\": "
                                        "not a device node", host);
                add_device(&st, in && *in ? in : host, perm && *perm ? perm : "rwm", devices, rules);
        }
        json_array_foreach(json_object_get(hc, "DeviceCgroupRules"), i, d) json_array_append(rules, d);
        return 0;
}

/* SecurityOpt, namespaces, sysctls, ulimits and HostConfig.Tmpfs into spec.json (all validated at
 * create); the mount points are build_mounts'. */
static void spec_add_security(json_t *hc, json_t *spec, bool priv)
{
        size_t i;
        json_t *v;
        bool seccomp = !priv, nnp = false;
        json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
                const char *o = json_string_value(v);
                const char *val = strpbrk(o, "=:") ? strpbrk(o, "=:") + 1 : "";
                if (streq(o, "no-new-privileges"))
                        nnp = true;
                else if (startswith(o, "no-new-privileges"))
                        nnp = streq(val, "true") || streq(val, "1");
                else if (startswith(o, "seccomp") && streq(val, "unconfined"))
                        seccomp = false;
                else if (startswith(o, "seccomp") && !streq(val, "builtin")) {
                        json_t *p = json_loads(val, 0, NULL);
                        if (json_is_object(p))
                                json_object_set_new(spec, "seccomp_profile", p);
                        else
                                json_decref(p);
                }
        }
        json_object_set_new(spec, "seccomp", json_boolean(seccomp));
        if (seccomp && !json_object_get(spec, "seccomp_profile")) {
                /* the default profile compiled here once per capability set, not in every start and exec */
                json_t *cj = json_object_get(spec, "capabilities");
                _cleanup_strv_free_ char **caps = NULL;
                size_t k;
                json_t *x;
                json_array_foreach(cj, k, x) strv_extend(&caps, json_string_value(x));
                if (json_is_array(cj) && !caps)
                        caps = xcalloc(1, sizeof(char *)); /* CapDrop ALL: an empty set, not the default */
                _cleanup_free_ char *bpf = rt_seccomp_default_bpf(caps, json_is_string(cj));
                if (bpf)
                        json_object_set_new(spec, "seccomp_bpf", json_string(bpf));
        }
        json_object_set_new(spec, "no_new_privileges", json_boolean(nnp));
        json_t *ns = json_object_get(spec, "namespaces");
        const char *pid = json_str(hc, "PidMode"), *ipc = json_str(hc, "IpcMode"), *uts = json_str(hc, "UTSMode");
        json_object_set_new(ns, "pid", json_boolean(!(pid && streq(pid, "host"))));
        json_object_set_new(ns, "ipc", json_boolean(!(ipc && streq(ipc, "host"))));
        json_object_set_new(ns, "uts", json_boolean(!(uts && streq(uts, "host"))));
        json_t *sysctls = json_object_get(hc, "Sysctls");
        json_object_set_new(spec, "sysctls", json_is_object(sysctls) ? json_deep_copy(sysctls) : json_object());
        json_t *rl = json_array();
        json_array_foreach(json_object_get(hc, "Ulimits"), i, v)
                json_array_append_new(rl, json_pack("{s:s,s:I,s:I}", "type", json_str(v, "Name"), "soft",
                                                    (json_int_t) json_int(v, "Soft", 0), "hard",
                                                    (json_int_t) json_int(v, "Hard", 0)));
        json_object_set_new(spec, "rlimits", rl);
        json_t *mounts = json_object_get(spec, "mounts");
        const char *k;
        json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
                /* Docker's tmpfs defaults, then the user's options. */
                json_t *opts = json_pack("[sss]", "nosuid", "nodev", "noexec");
                const char *u = json_string_value(v);
                _cleanup_free_ char *copy = xstrdup(u ? u : "");
                char *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                        json_array_append_new(opts, json_string(t));
                json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "source", "tmpfs", "destination", k,
                                                        "type", "tmpfs", "options", opts));
        }
}

static int write_spec(Engine *e, Container *c, BerthError **err)
{
        /* A copy taken under the lock: spec.json takes references to its values, and an inspect
         * on another thread takes them too (a reference count is not a lock). */
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *conf = json_deep_copy(c->config);
        pthread_mutex_unlock(&e->lock);
        json_t *cfg = json_object_get(conf, "Config"), *hc = json_object_get(conf, "HostConfig");
        _cleanup_strv_free_ char **layers = NULL;
        int r = image_layer_dirs(e->images, c->image_id, &layers, err);
        if (r < 0)
                return r;
        json_t *args = json_array();
        json_array_append(args, json_object_get(conf, "Path"));
        json_array_extend(args, json_object_get(conf, "Args"));
        json_t *env = container_process_env(e, c, json_bool(cfg, "Tty"));
        size_t i;
        json_t *jl = json_array();
        for (i = 0; layers && layers[i]; i++)
                json_array_append_new(jl, json_string(layers[i]));
        _cleanup_free_ char *cdir = container_dir(e, c->id);
        _cleanup_free_ char *init_layer = xasprintf("%s/init", cdir);
        json_array_append_new(jl, json_string(init_layer));
        json_t *mounts = json_array();
        r = build_mounts(e, c, mounts, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                json_decref(jl);
                json_decref(mounts);
                return r;
        }
        json_t *devices = json_array(), *device_rules = json_array();
        r = build_devices(hc, devices, device_rules, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                json_decref(jl);
                json_decref(mounts);
                json_decref(devices);
                json_decref(device_rules);
                return r;
        }
        json_t *cgres = NULL;
        r = container_resources_spec(hc, &cgres, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                json_decref(jl);
                json_decref(mounts);
                json_decref(devices);
                json_decref(device_rules);
                return r;
        }
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir), *work = xasprintf("%s/work", dir);
        _cleanup_free_ char *logp = container_log_path(e, c->id), *exitp = xasprintf("%s/exit.json", dir);
        _cleanup_free_ char *cg = xasprintf("berth/%s", c->id);
        const char *cwd = json_str(cfg, "WorkingDir");
        json_t *lcfg = json_object_get(json_object_get(hc, "LogConfig"), "Config");
        /* Without a max-size, berth still bounds the log (BERTH_LOG_MAX_SIZE x BERTH_LOG_MAX_FILE),
         * so a chatty container cannot fill the disk; Docker's own default is unbounded. */
        long long max_size = BERTH_LOG_MAX_SIZE, max_file = BERTH_LOG_MAX_FILE;
        const char *ms = json_str(lcfg, "max-size"), *mf = json_str(lcfg, "max-file");
        if (ms) {
                max_size = parse_ram_bytes(ms);
                max_file = 1;
        }
        if (mf)
                max_file = atoll(mf) > 0 ? atoll(mf) : 1;
        bool log_none = streq(json_str(json_object_get(hc, "LogConfig"), "Type") ?: "", "none");
        bool priv = json_bool(hc, "Privileged");
        const char *netmode = json_str(hc, "NetworkMode");
        bool hostnet = netmode && streq(netmode, "host");
        json_t *masked = json_object_get(hc, "MaskedPaths"), *ro = json_object_get(hc, "ReadonlyPaths");
        char *netns_path = engine_network_netns(e, c); /* --network container:X */
        json_t *netns = netns_path ? json_string(netns_path) : json_null();
        free(netns_path);
        json_t *spec = json_pack(
                "{s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:o,s:s,s:s,s:o,s:b,s:o,s:o,s:I,s:s,"
                "s:o,s:o,s:{s:b,s:b,s:b,s:b,s:b},s:o,s:b,s:b,s:s,s:I,s:I,s:s,s:o,s:o}",
                "id", c->id, "args", args, "env", env, "cwd", cwd && *cwd ? cwd : "/", "user",
                json_str(cfg, "User") ? json_str(cfg, "User") : "", "hostname", json_str(cfg, "Hostname"),
                "domainname", json_str(cfg, "Domainname") ? json_str(cfg, "Domainname") : "", "tty",
                json_bool(cfg, "Tty"), "open_stdin", json_bool(cfg, "OpenStdin"), "stdin_once",
                json_bool(cfg, "StdinOnce"), "init", json_bool(hc, "Init"), "layers", jl, "upper", upper, "work",
                work, "mounts", mounts, "readonly_rootfs", json_bool(hc, "ReadonlyRootfs"), "masked_paths",
                json_is_array(masked) && !priv ? json_incref(masked) : json_array(), "readonly_paths",
                json_is_array(ro) && !priv ? json_incref(ro) : json_array(), "shm_size",
                (json_int_t) json_int(hc, "ShmSize", 67108864), "cgroup", cg, "cgroup_resources", cgres, "netns", netns, "namespaces", "pid", true, "ipc",
                true, "uts", true, "net", !hostnet, "cgroup", true, "capabilities", capabilities(hc), "privileged",
                priv, "seccomp", !priv, "log_path", log_none ? "" : logp, "log_max_size", (json_int_t) max_size,
                "log_max_file", (json_int_t) max_file, "exit_file", exitp, "devices", devices, "device_rules",
                device_rules);
        if (!spec)
                return berr_set(err, EIO, "cannot build spec.json");
        /* compress: checked at create (it needs max-size and max-file >= 2); the local driver's default */
        const char *cs = json_str(lcfg, "compress");
        json_object_set_new(spec, "log_compress", json_boolean(cs ? go_parse_bool(cs) == 1 : false));
        json_t *group_add = json_object_get(hc, "GroupAdd");
        if (json_is_array(group_add))
                json_object_set(spec, "group_add", group_add);
        _cleanup_json_ json_t *spec_owner = spec;
        spec_add_security(hc, spec, priv);
        json_object_set_new(spec, "oom_score_adj", json_integer(json_int(hc, "OomScoreAdj", 0)));
        _cleanup_free_ char *s = json_dumps(spec, JSON_INDENT(1));
        _cleanup_free_ char *rdir = container_run_dir(e, c->id);
        r = mkdir_p(rdir, 0700);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", rdir, strerror(-r));
        _cleanup_free_ char *sp = xasprintf("%s/spec.json", rdir);
        r = write_file_replace(sp, s, strlen(s), 0600);
        if (r < 0)
                return berr_set(err, -r, "cannot write %s: %s", sp, strerror(-r));
        return 0;
}

/* ---- spawning the monitor ---- */

char *engine_monitor_path(void)
{
        const char *env = getenv("BERTH_MONITOR");
        if (env && *env)
                return xstrdup(env);
        char buf[4096];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n <= 0)
                return xstrdup(BERTH_LIBEXECDIR "/berth-monitor");
        buf[n] = 0;
        char *d = dirname(buf);
        _cleanup_free_ char *p = xasprintf("%s/berth-monitor", d);
        if (access(p, X_OK) == 0)
                return TAKE_PTR(p);
        return xstrdup(BERTH_LIBEXECDIR "/berth-monitor");
}

/* One sealed in-memory copy of berth-monitor (runtime/sealed.c) that every monitor runs from,
 * made again when the file on disk changes (an upgrade). */
static pthread_mutex_t sealed_lock = PTHREAD_MUTEX_INITIALIZER;
static int sealed_fd = -1;
static struct stat sealed_st;

static int sealed_monitor(const char *path)
{
        struct stat st;
        int sr = stat(path, &st) < 0 ? -errno : 0;
        pthread_mutex_lock(&sealed_lock);
        if (sr < 0 || st.st_size == 0) {
                /* the binary is being replaced (an upgrade, a rebuild): the copy we have still runs */
                int fd = sealed_fd >= 0 ? sealed_fd : (sr < 0 ? sr : -ENOEXEC);
                pthread_mutex_unlock(&sealed_lock);
                return fd;
        }
        if (sealed_fd < 0 || st.st_ino != sealed_st.st_ino || st.st_dev != sealed_st.st_dev ||
            st.st_mtim.tv_sec != sealed_st.st_mtim.tv_sec || st.st_mtim.tv_nsec != sealed_st.st_mtim.tv_nsec ||
            st.st_size != sealed_st.st_size) {
                int fd;
                int r = rt_sealed_copy(path, &fd);
                if (r < 0) {
                        int old = sealed_fd;
                        pthread_mutex_unlock(&sealed_lock);
                        return old >= 0 ? old : r;
                }
                /* A monitor being spawned may still be opening the old copy: leak it rather than race;
                 * this happens once per upgrade of the binary. */
                sealed_fd = fd;
                sealed_st = st;
        }
        int fd = sealed_fd;
        pthread_mutex_unlock(&sealed_lock);
        return fd;
}

/* Runs berth-monitor with the sync pipe on fd 3 and returns its first line.
 * posix_spawn (a vfork-style clone) instead of fork: fork copied berthd's page tables and
 * then faulted them back in copy-on-write, the largest cost of a start on berthd's side
 * (page-table updates are hypercalls on this kind of VM). */
static int spawn_monitor(Engine *e, Container *c, char **ret_line, BerthError **err)
{
        _cleanup_free_ char *mon = engine_monitor_path();
        _cleanup_free_ char *rdir = container_run_dir(e, c->id);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return berr_set(err, errno, "pipe: %m");
        if (p[1] <= 3) { /* dup2 onto itself would keep O_CLOEXEC */
                int fd = fcntl(p[1], F_DUPFD_CLOEXEC, 4);
                close(p[1]);
                if (fd < 0) {
                        close(p[0]);
                        return berr_set(err, errno, "fcntl: %m");
                }
                p[1] = fd;
        }
        int sfd = sealed_monitor(mon);
        if (sfd < 0) {
                close(p[0]);
                close(p[1]);
                return berr_set(err, EIO, "cannot make a sealed copy of berth-monitor (%s): %s", mon,
                                strerror(-sfd));
        }
        /* Executed through berthd's descriptor: the child closes everything above 3 before exec. */
        _cleanup_free_ char *exe = xasprintf("/proc/%d/fd/%d", (int) getpid(), sfd);
        _cleanup_free_ char *mdir_buf = xstrdup(mon);
        _cleanup_free_ char *mdir = xasprintf("BERTH_MONITOR_DIR=%s", dirname(mdir_buf));
        size_t nenv = 0;
        while (environ[nenv])
                nenv++;
        _cleanup_free_ char **envp = xcalloc(nenv + 2, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < nenv; i++)
                if (!startswith(environ[i], "BERTH_MONITOR_DIR="))
                        envp[k++] = environ[i];
        envp[k++] = mdir;
        _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        char *argv[] = { mon, rdir, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t none, def;
        sigemptyset(&none);
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE); /* berthd ignores it; the monitor wants the default */
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&at);
        if (devnull >= 0)
                posix_spawn_file_actions_adddup2(&fa, devnull, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], 3);
        posix_spawn_file_actions_addclosefrom_np(&fa, 4);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &def);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid;
        int r = posix_spawn(&pid, exe, &fa, &at, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                return berr_set(err, r, "cannot run berth-monitor (%s): %s", mon, strerror(r));
        }
        /* The monitor double-forks; this reaps the intermediate (or the main
         * thread's SIGCHLD reaper already did). */
        waitpid(pid, NULL, 0);
        char *line = NULL;
        r = read_line(p[0], 60000, &line);
        close(p[0]);
        if (r < 0)
                return berr_set(err, EIO, "berth-monitor (%s) did not report: %s", mon, strerror(-r));
        *ret_line = line;
        return 0;
}

/* ---- state transitions ---- */

static void broadcast(Container *c)
{
        pthread_cond_broadcast(&c->cond);
}

/* Records a failed start like Docker: exit code 127/126 for a missing or
 * non-executable command, 128 otherwise. Wakes waiters, ends pending attaches
 * and applies AutoRemove, so `run --rm` returns and leaves nothing behind. */
static void record_failed_start(Engine *e, Container *c, const char *msg, int exit_code)
{
        network_container_release(e->net, c->id);
        mountpoints_release(e, c);
        pthread_mutex_lock(&e->lock);
        /* Docker leaves a never-started container "created", with the exit code set. */
        c->status = c->started_at ? CSTATUS_EXITED : CSTATUS_CREATED;
        c->exit_code = exit_code;
        free(c->error);
        c->error = xstrdup(msg);
        c->pid = c->monitor_pid = 0;
        c->finished_at = now_ns();
        c->starting = false;
        /* No exit: the process never ran (Docker's waiters see the client cancel). */
        container_save_fact(e, c, "a failed start");
        broadcast(c);
        bool autorm = json_bool(container_hostcfg(c), "AutoRemove");
        pthread_mutex_unlock(&e->lock);
        container_cancel_pending_attaches(e, c);
        if (autorm && container_remove_obj(e, c, true, NULL) == 0)
                mountpoints_remove_anonymous(e, c); /* --rm takes the anonymous volumes too */
}

/* A start that failed. A runtime's message (runtime) gets its exit code from its text as dockerd does
 * (daemon/errors.go, setExitCodeFromError): 126 and 127 answer HTTP 400, the rest 500. */
static int start_failed(Engine *e, Container *c, const char *msg, bool runtime, BerthError **err)
{
        _cleanup_free_ char *lower = xstrdup(msg), *full = NULL;
        for (char *p = lower; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        int exit_code = 128;
        if (!runtime)
                lower[0] = 0; /* berth's own failures: 128 and HTTP 500 */
        if (strstr(lower, "permission denied"))
                exit_code = 126;
        else if (strstr(lower, "is a directory")) {
                /* the docker CLI looks for "permission denied" to exit 126 */
                full = xasprintf("%s: permission denied", msg);
                exit_code = 126;
        } else if (strstr(lower, "not a directory")) {
                full = xasprintf("%s: Are you trying to mount a directory onto a file (or vice-versa)? Check if "
                                 "the specified host path exists and is the expected type", msg);
                exit_code = 127;
        } else if (strstr(lower, "executable file not found") || strstr(lower, "no such file or directory"))
                exit_code = 127;
        if (full)
                msg = full;
        record_failed_start(e, c, msg, exit_code);
        return berr_set(err, exit_code == 128 ? EIO : EINVAL, "%s", msg);
}

int container_start_obj(Engine *e, Container *c, BerthError **err)
{
        int r;
        pthread_mutex_lock(&e->lock);
        if (c->removed || c->status == CSTATUS_REMOVING || c->removing) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, ENOENT, "No such container: %s", c->id);
        }
        if (c->status == CSTATUS_PAUSED) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EBUSY, "cannot start a paused container, try unpause instead");
        }
        if (c->status == CSTATUS_RUNNING || c->starting) {
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EALREADY, "container already started");
        }
        /* dockerd verifies the settings again at start: an image's healthcheck was not checked at create */
        r = health_config_validate(json_object_get(container_cfg(c), "Healthcheck"), err);
        if (r < 0) {
                pthread_mutex_unlock(&e->lock);
                return r;
        }
        /* The intent first: whatever a crash leaves of this start (files, addresses, a monitor, a
         * cgroup) belongs to a row that says "Starting", which the reconciler rolls back. */
        c->starting = true;
        bool was_stopped = c->manually_stopped;
        c->manually_stopped = false;
        r = container_save_state(e, c);
        if (r < 0) {
                c->starting = false;
                c->manually_stopped = was_stopped;
                pthread_mutex_unlock(&e->lock);
                return berr_set(err, EIO, "cannot record the start of container %s in the state store: %s", c->id,
                               strerror(-r));
        }
        pthread_mutex_unlock(&e->lock);

        _cleanup_free_ char *line = NULL;
        _cleanup_json_ json_t *j = NULL;
        r = prepare_files(e, c, err);
        if (r == 0)
                r = engine_network_prepare(e, c, err); /* addresses, ports, hosts, resolv.conf */
        if (r == 0)
                r = links_prepare(e, c, err); /* linked containers run; their hosts lines */
        if (r == 0)
                r = write_spec(e, c, err);
        if (r == 0) {
                _cleanup_free_ char *dir = container_dir(e, c->id);
                _cleanup_free_ char *exitp = xasprintf("%s/exit.json", dir);
                unlink(exitp);
                crash_point("start-before-spawn");
                r = spawn_monitor(e, c, &line, err);
        }
        if (r < 0) {
                /* The error already carries its own class (a taken port, an unknown network). */
                record_failed_start(e, c, err && *err ? (*err)->msg : strerror(-r), 128);
                return r;
        }
        j = json_loads(line, 0, NULL);
        if (!json_is_object(j))
                return start_failed(e, c, "berth-monitor sent an unreadable reply", false, err);
        if (json_str(j, "error"))
                return start_failed(e, c, json_str(j, "error"), true, err);
        int pid = (int) json_int(j, "pid", 0), mpid = (int) json_int(j, "monitor_pid", 0);
        crash_point("start-after-spawn");
        /* Interfaces, routes and DNS before the process runs. */
        {
                _cleanup_berr_ BerthError *nerr = NULL;
                if (engine_network_attach(e, c, pid, &nerr) < 0) {
                        container_kill_cgroup(c->id, SIGKILL);
                        return start_failed(e, c, nerr->msg, false, err);
                }
        }

        /* Attaches made before start see everything the process prints. */
        container_connect_pending_attaches(e, c);
        container_initial_console_size(e, c);
        _cleanup_free_ char *reply = NULL;
        r = container_monitor_request(e, c->id, "{\"op\":\"start\"}", &reply);
        if (r < 0) {
                container_kill_cgroup(c->id, SIGKILL);
                return start_failed(e, c, "berth-monitor did not answer start", false, err);
        }
        json_decref(j);
        j = json_loads(reply, 0, NULL);
        if (!json_is_object(j) || json_str(j, "error"))
                return start_failed(e, c, json_str(j, "error") ? json_str(j, "error") : "bad start reply", true,
                                    err);
        crash_point("start-before-record");

        pthread_mutex_lock(&e->lock);
        int64_t prev_started = c->started_at;
        c->status = CSTATUS_RUNNING;
        c->pid = pid;
        c->monitor_pid = mpid;
        c->started_at = now_ns();
        c->exit_code = 0;
        free(c->error);
        c->error = NULL;
        c->oom_killed = false;
        c->starting = false;
        c->start_seq++;
        /* State.Health starts over with each run, its log kept (dockerd's initHealthMonitor) */
        if (health_settings(json_object_get(container_cfg(c), "Healthcheck")).kind != HEALTH_PROBE_NONE) {
                if (!c->health)
                        c->health = health_new();
                health_reset(c->health);
        }
        if (container_save_state(e, c) < 0) {
                /* Never running in memory only: the process goes, the start fails. */
                c->started_at = prev_started;
                c->start_seq--;
                pthread_mutex_unlock(&e->lock);
                container_kill_cgroup(c->id, SIGKILL);
                return start_failed(e, c, "cannot record the start in the state store", 0, err);
        }
        broadcast(c);
        pthread_mutex_unlock(&e->lock);
        crash_point("start-after-record");
        events_container(e, c, "start", NULL);
        links_update_parents(e, c);
        container_start_watcher(e, c);
        health_schedule(e, c);
        return 0;
}

int container_start(Engine *e, const char *ref, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        return container_start_obj(e, c, err);
}

/* ---- exits ---- */

static bool should_restart(Container *c)
{
        json_t *rp = json_object_get(container_hostcfg(c), "RestartPolicy");
        const char *name = json_str(rp, "Name");
        if (!name || c->manually_stopped)
                return false;
        if (streq(name, "always") || streq(name, "unless-stopped"))
                return true;
        if (streq(name, "on-failure")) {
                long long max = json_int(rp, "MaximumRetryCount", 0);
                return c->exit_code != 0 && (max == 0 || c->restart_count < max);
        }
        return false;
}

void container_handle_exit(Engine *e, Container *c, json_t *exit_info)
{
        pthread_mutex_lock(&e->lock);
        bool live = !c->removed && (c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED);
        pthread_mutex_unlock(&e->lock);
        /* before the exit is told: a stop returns with the volumes' file systems unmounted */
        if (live)
                mountpoints_release(e, c);
        pthread_mutex_lock(&e->lock);
        if (c->removed || (c->status != CSTATUS_RUNNING && c->status != CSTATUS_PAUSED)) {
                pthread_mutex_unlock(&e->lock);
                return;
        }
        c->status = CSTATUS_EXITED;
        c->exit_code = exit_info ? (int) json_int(exit_info, "ExitCode", 255) : 255;
        bool oom_reported = c->oom_killed; /* by the exit watcher, at the kill */
        c->oom_killed = oom_reported || (exit_info && json_bool(exit_info, "OOMKilled"));
        free(c->error);
        const char *er = exit_info ? json_str(exit_info, "Error") : "container monitor exited unexpectedly";
        c->error = er && *er ? xstrdup(er) : NULL;
        int64_t fin = 0;
        const char *fa = exit_info ? json_str(exit_info, "FinishedAt") : NULL;
        if (!fa || parse_rfc3339(fa, &fin) < 0)
                fin = now_ns();
        c->finished_at = fin;
        c->pid = c->monitor_pid = 0;
        c->exit_seq++;
        bool autorm = json_bool(container_hostcfg(c), "AutoRemove");
        bool restart = !autorm && should_restart(c);
        int64_t ran_ns = c->finished_at - c->started_at;
        if (restart)
                c->status = CSTATUS_RESTARTING;
        /* the probes stop; dockerd reports a stopped schedule as unhealthy */
        if (c->health)
                c->health->status = HEALTH_UNHEALTHY;
        container_save_fact(e, c, "an exit");
        /* Before the broadcast, so "die" precedes whatever a stop or wait reports next. */
        if (c->oom_killed && !oom_reported)
                events_container_locked(e, c, "oom", NULL);
        events_container_locked(e, c, "die", json_pack("{s:o}", "exitCode", json_sprintf("%d", c->exit_code)));
        broadcast(c);
        int count = c->restart_count;
        pthread_mutex_unlock(&e->lock);
        health_unschedule(e, c);
        container_remove_cgroup(c->id);
        network_container_release(e->net, c->id);

        if (autorm) {
                if (container_remove_obj(e, c, true, NULL) == 0)
                        mountpoints_remove_anonymous(e, c); /* --rm takes the anonymous volumes too */
                return;
        }
        if (!restart)
                return;
        /* Docker's back-off: 100 ms doubling, reset after 10 s of running. */
        int64_t delay_ms = ran_ns > 10LL * 1000000000LL ? 100 : 100LL << (count < 8 ? count : 8);
        if (delay_ms > 60000)
                delay_ms = 60000;
        for (int64_t waited = 0; waited < delay_ms; waited += 50) {
                nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000000L }, NULL);
                pthread_mutex_lock(&e->lock);
                bool stopping = e->containers->stopping; /* set by container_shutdown under the lock */
                pthread_mutex_unlock(&e->lock);
                if (stopping)
                        return;
        }
        pthread_mutex_lock(&e->lock);
        bool go = !c->removed && c->status == CSTATUS_RESTARTING && !c->manually_stopped;
        if (go) {
                c->status = CSTATUS_EXITED;
                c->restart_count++;
        } else if (c->status == CSTATUS_RESTARTING)
                c->status = CSTATUS_EXITED;
        container_save_fact(e, c, "a restart");
        pthread_mutex_unlock(&e->lock);
        if (go) {
                _cleanup_berr_ BerthError *err = NULL;
                container_start_obj(e, c, &err);
        }
}

typedef struct {
        Engine *e;
        Container *c;
} WatcherArg;

static void *watcher_thread(void *p)
{
        WatcherArg *a = p;
        Engine *e = a->e;
        Container *c = a->c;
        free(a);
        ContainerTable *t = e->containers;
        int fd = container_monitor_connect(e, c->id);
        _cleanup_free_ char *line = NULL;
        if (fd >= 0) {
                pthread_mutex_lock(&e->lock);
                c->watcher_fd = fd;
                pthread_mutex_unlock(&e->lock);
                if (loop_send(fd, "{\"op\":\"wait\"}\n", 14) == 0) {
                        /* the exit comes on fd; OOM kills before it on the cgroup's watch fd */
                        ContainerOomWatch ow;
                        container_oom_watch_start(e, c, &ow);
                        for (;;) {
                                struct pollfd pf[2] = { { fd, POLLIN, 0 }, { ow.fd, POLLIN, 0 } };
                                int n = poll(pf, ow.fd >= 0 ? 2 : 1, container_oom_watch_timeout(&ow));
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n < 0 || pf[0].revents) {
                                        read_line(fd, -1, &line);
                                        break;
                                }
                                if (n == 0 || pf[1].revents)
                                        container_oom_watch_event(e, c, &ow);
                        }
                        container_oom_watch_stop(&ow);
                }
                pthread_mutex_lock(&e->lock);
                c->watcher_fd = -1;
                pthread_mutex_unlock(&e->lock);
                close(fd);
        }
        pthread_mutex_lock(&e->lock);
        bool stopping = t->stopping;
        pthread_mutex_unlock(&e->lock);
        if (!stopping) {
                json_t *info = line ? json_loads(line, 0, NULL) : NULL;
                if (!json_is_object(info)) {
                        json_decref(info);
                        /* The monitor writes exit.json before it answers anyone. */
                        _cleanup_free_ char *dir = container_dir(e, c->id);
                        _cleanup_free_ char *path = xasprintf("%s/exit.json", dir);
                        _cleanup_free_ char *data = NULL;
                        for (int i = 0; i < 20 && read_file(path, &data, NULL) < 0; i++)
                                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000000L }, NULL);
                        info = data ? json_loads(data, 0, NULL) : NULL;
                }
                container_handle_exit(e, c, info);
                json_decref(info);
        }
        pthread_mutex_lock(&e->lock);
        t->n_watchers--;
        pthread_mutex_unlock(&e->lock);
        container_unref(c);
        return NULL;
}

int container_start_watcher(Engine *e, Container *c)
{
        WatcherArg *a = xcalloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->e = e;
        a->c = container_ref(c);
        pthread_mutex_lock(&e->lock);
        e->containers->n_watchers++;
        pthread_mutex_unlock(&e->lock);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &attr, watcher_thread, a);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                pthread_mutex_lock(&e->lock);
                e->containers->n_watchers--;
                pthread_mutex_unlock(&e->lock);
                container_unref(c);
                free(a);
                return -r;
        }
        return 0;
}
