/* berthd: parses dockerd-style flags, takes the locks that keep a second
 * daemon away, opens the engine and serves the API until SIGTERM/SIGINT. */
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "api/api.h"
#include "api/dashboard.h"
#include "basic/json-util.h"
#include "basic/error.h"
#include "basic/log.h"
#include "basic/util.h"
#include "discovery/discovery.h"
#include "engine/engine.h"
#include "engine/lifecycle.h"
#include "daemon/config.h"
#include "http/server.h"

static char **arg_hosts;
static char *arg_data_root;
static char *arg_exec_root;
static char *arg_pidfile;
static char *arg_bip;
static char *arg_group;
static char **arg_insecure;
static bool arg_debug, arg_tls, arg_tlsverify, arg_no_userland_proxy, arg_docker_socket;
/* --tls=false / --tlsverify=false given explicitly: plain TCP on a non-loopback address is wanted */
static bool arg_tls_off_explicit;
static unsigned arg_idle_timeout = 60, arg_max_conns = 1000, arg_max_conns_per_ip = 256;
static unsigned arg_layer_max_ratio = 500;
static uint64_t arg_layer_max_size, arg_min_free_space = 256ull << 20;
static char *arg_tlscacert, *arg_tlscert, *arg_tlskey;
static int arg_log_level = LOG_LVL_INFO;
static char *arg_discovery, *arg_discovery_advertise;
static int arg_discovery_ttl;
static bool arg_dashboard;
static const char *arg_config_file = DAEMON_CONFIG_FILE;
static bool arg_config_file_explicit, arg_validate;
/* What the command line set (daemon.json keys), and the merged configuration in effect */
static json_t *arg_flags, *arg_config;

static void usage(FILE *f)
{
        fprintf(f, "Usage: berthd [OPTIONS]\n\nA Docker-compatible container engine.\n\nOptions:\n");
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++) {
                if (!o->flag || (o->flags & DOPT_HIDDEN))
                        continue;
                char sh[8] = "    ";
                if (o->short_flag)
                        snprintf(sh, sizeof(sh), "-%c, ", o->short_flag);
                _cleanup_free_ char *left = xasprintf("%s--%s%s%s", sh, o->flag, o->arg ? " " : "",
                                                     o->arg ? o->arg : "");
                fprintf(f, "  %-34s %s", left, o->help);
                if (o->def && o->type != DOPT_BOOL)
                        fprintf(f, " (default \"%s\")", o->def);
                fputc('\n', f);
        }
}

static const DaemonOption *option_by_short(int c)
{
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++)
                if (o->flag && o->short_flag == c)
                        return o;
        return NULL;
}

static int parse_args(int argc, char **argv)
{
        /* berthd's getopt table is built from daemon_options (daemon/config.c), as are
         * --help, daemon.json's keys and the man pages. */
        size_t n = 0;
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++)
                n++;
        _cleanup_free_ struct option *opts = xcalloc(n + 1, sizeof(*opts));
        char shortopts[64];
        size_t k = 0, sl = 0;
        for (size_t i = 0; i < n; i++) {
                const DaemonOption *o = &daemon_options[i];
                if (!o->flag)
                        continue;
                opts[k++] = (struct option){ o->flag, o->type == DOPT_BOOL ? optional_argument : required_argument,
                                             NULL, 256 + (int) i };
                if (o->short_flag && sl + 3 < sizeof(shortopts)) {
                        shortopts[sl++] = o->short_flag;
                        if (o->type != DOPT_BOOL)
                                shortopts[sl++] = ':';
                }
        }
        shortopts[sl] = 0;
        arg_flags = json_object();
        int c;
        while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) >= 0) {
                const DaemonOption *o = c >= 256 ? &daemon_options[c - 256] : option_by_short(c);
                if (!o) {
                        usage(stderr);
                        return -EINVAL;
                }
                if (streq(o->flag, "help")) {
                        usage(stdout);
                        exit(0);
                }
                if (streq(o->flag, "version")) {
                        printf("berthd version %s, API %s\n", BERTH_VERSION, API_VERSION_STRING);
                        exit(0);
                }
                if (streq(o->flag, "config-file")) {
                        arg_config_file = optarg;
                        arg_config_file_explicit = true;
                        continue;
                }
                if (streq(o->flag, "validate")) {
                        arg_validate = !optarg || streq(optarg, "true") || streq(optarg, "1");
                        continue;
                }
                _cleanup_berr_ BerthError *ferr = NULL;
                if (daemon_flag_set(arg_flags, o, optarg, &ferr) < 0) {
                        fprintf(stderr, "berthd: %s\n", ferr->msg);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berthd: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* Flags and daemon.json into one configuration. A missing default file is
 * fine; a missing file named by --config-file is not. */
static int load_config(json_t **ret, char **ret_error)
{
        _cleanup_json_ json_t *file = NULL;
        _cleanup_berr_ BerthError *lerr = NULL, *merr = NULL;
        int r = daemon_config_load(arg_config_file, &file, &lerr);
        if (r == -ENOENT && !arg_config_file_explicit)
                file = json_object();
        else if (r < 0) {
                *ret_error = xasprintf("unable to configure the daemon with file %s: %s", arg_config_file, lerr->msg);
                return r;
        }
        r = daemon_config_merge(arg_flags, file, ret, &merr);
        if (r < 0)
                *ret_error = xasprintf("unable to configure the daemon with file %s: %s", arg_config_file, merr->msg);
        return r;
}

static const char *cfg_str(json_t *cfg, const char *key)
{
        return json_string_value(json_object_get(cfg, key));
}

static bool cfg_bool(json_t *cfg, const char *key, bool def)
{
        json_t *v = json_object_get(cfg, key);
        return v ? json_is_true(v) : def;
}

static char **cfg_strv(json_t *cfg, const char *key)
{
        char **l = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(cfg, key), i, v)
                strv_extend(&l, json_string_value(v));
        return l;
}

static int cfg_log_level(json_t *cfg, char **ret_error)
{
        if (cfg_bool(cfg, "debug", false))
                return LOG_LVL_DEBUG;
        const char *l = cfg_str(cfg, "log-level");
        if (!l)
                return LOG_LVL_INFO;
        int lvl = log_level_from_string(l);
        if (lvl < 0)
                *ret_error = xasprintf("unknown log level \"%s\"", l);
        return lvl;
}

/* The merged configuration into the arg_ values; the strings stay owned by cfg. */
static int apply_config(json_t *cfg, char **ret_error)
{
        arg_log_level = cfg_log_level(cfg, ret_error);
        if (arg_log_level < 0)
                return -EINVAL;
        arg_debug = cfg_bool(cfg, "debug", false);
        arg_hosts = cfg_strv(cfg, "hosts");
        arg_data_root = (char *) cfg_str(cfg, "data-root");
        arg_exec_root = (char *) cfg_str(cfg, "exec-root");
        arg_pidfile = (char *) cfg_str(cfg, "pidfile");
        arg_bip = (char *) cfg_str(cfg, "bip");
        arg_group = (char *) cfg_str(cfg, "group");
        arg_insecure = cfg_strv(cfg, "insecure-registries");
        json_t *tls = json_object_get(cfg, "tls"), *tlsverify = json_object_get(cfg, "tlsverify");
        /* As dockerd: naming --tlsverify at all turns TLS on; =false explicitly
         * accepts clients that are not authenticated. */
        arg_tlsverify = json_is_true(tlsverify);
        arg_tls = json_is_true(tls) || tlsverify;
        arg_tls_off_explicit = json_is_false(tls) || json_is_false(tlsverify);
        arg_tlscacert = (char *) cfg_str(cfg, "tlscacert");
        arg_tlscert = (char *) cfg_str(cfg, "tlscert");
        arg_tlskey = (char *) cfg_str(cfg, "tlskey");
        arg_no_userland_proxy = !cfg_bool(cfg, "userland-proxy", true);
        arg_docker_socket = cfg_bool(cfg, "docker-socket", false);
        arg_dashboard = cfg_bool(cfg, "dashboard", false);
        arg_discovery = (char *) cfg_str(cfg, "discovery");
        if (arg_discovery) {
                _cleanup_berr_ BerthError *derr = NULL;
                _cleanup_strv_free_ char **eps = NULL;
                if (discovery_parse_url(arg_discovery, &eps, &derr) < 0) {
                        *ret_error = xstrdup(derr->msg);
                        return -EINVAL;
                }
        }
        arg_discovery_advertise = (char *) cfg_str(cfg, "discovery-advertise");
        json_t *ttl = json_object_get(cfg, "discovery-ttl");
        if (ttl) {
                json_int_t t = json_integer_value(ttl);
                if (t < 2 || t > 3600) {
                        *ret_error = xasprintf("--discovery-ttl wants 2..3600 seconds");
                        return -EINVAL;
                }
                arg_discovery_ttl = (int) t;
        }
        const struct {
                const char *key;
                unsigned *u;
                uint64_t *u64;
        } nums[] = {
                { "api-idle-timeout", &arg_idle_timeout, NULL },
                { "api-max-connections", &arg_max_conns, NULL },
                { "api-max-connections-per-ip", &arg_max_conns_per_ip, NULL },
                { "layer-max-ratio", &arg_layer_max_ratio, NULL },
                { "layer-max-size", NULL, &arg_layer_max_size },
                { "min-free-space", NULL, &arg_min_free_space },
        };
        for (size_t i = 0; i < ELEMENTSOF(nums); i++) {
                json_t *v = json_object_get(cfg, nums[i].key);
                if (!v)
                        continue;
                json_int_t x = json_integer_value(v);
                if (nums[i].u && x > 1000000) {
                        *ret_error = xasprintf("invalid value \"%lld\" for --%s", (long long) x, nums[i].key);
                        return -EINVAL;
                }
                if (nums[i].u)
                        *nums[i].u = (unsigned) x;
                else
                        *nums[i].u64 = (uint64_t) x;
        }
        return 0;
}

/* systemd's notification socket, taken from the environment at start so that
 * no child inherits it; "@name" is in the abstract namespace. */
static char *notify_socket;

static uint64_t monotonic_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* sd_notify(3) in a few lines: one datagram, best effort. */
static void notify_systemd(const char *state)
{
        if (!notify_socket)
                return;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = strlen(notify_socket);
        if (l < 2 || l >= sizeof(sa.sun_path) || (notify_socket[0] != '/' && notify_socket[0] != '@'))
                return;
        memcpy(sa.sun_path, notify_socket, l);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l)) < 0)
                log_warn("Failed to notify systemd (%s): %m", notify_socket);
}

/* Socket activation: "fd://" becomes one fd://N per socket systemd passed,
 * "fd://N" must be one of them. The variables are dropped so no child sees them. */
static int expand_fd_hosts(char **ret_error)
{
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        int n = pid && fds && atol(pid) == (long) getpid() ? atoi(fds) : 0;
        if (n < 0 || n > 64)
                n = 0;
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        for (int fd = 3; fd < 3 + n; fd++)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        char **out = NULL;
        for (size_t i = 0; arg_hosts && arg_hosts[i]; i++) {
                const char *h = arg_hosts[i];
                if (!startswith(h, "fd://")) {
                        strv_extend(&out, h);
                        continue;
                }
                if (n == 0) {
                        *ret_error = xasprintf("no sockets found via socket activation: make sure the service "
                                               "was started by systemd");
                        strv_free(out);
                        return -EINVAL;
                }
                if (streq(h, "fd://")) {
                        for (int fd = 3; fd < 3 + n; fd++)
                                strv_push(&out, xasprintf("fd://%d", fd));
                        continue;
                }
                int fd = atoi(h + 5);
                if (fd < 3 || fd >= 3 + n) {
                        *ret_error = xasprintf("too few socket activated files passed in by systemd for %s", h);
                        strv_free(out);
                        return -EINVAL;
                }
                strv_extend(&out, h);
        }
        strv_free(arg_hosts);
        arg_hosts = out;
        return 0;
}

/* A socket activated listener on TCP gets the TCP settings (TLS, per-IP limits). */
static bool host_is_tcp(const char *h)
{
        if (startswith(h, "tcp://"))
                return true;
        if (!startswith(h, "fd://"))
                return false;
        struct sockaddr_storage ss;
        socklen_t l = sizeof(ss);
        return getsockname(atoi(h + 5), (struct sockaddr *) &ss, &l) == 0 &&
               (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

/* "docker-socket": berth serves the Docker API on /var/run/docker.sock too, but
 * never takes the path from a running dockerd, nor replaces a file that is not
 * a socket. A socket no one answers on is stale and is replaced. */
static int docker_socket_check(const char *path, char **ret_error)
{
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                *ret_error = xasprintf("docker-socket: cannot check %s: %m", path);
                return -errno;
        }
        if (!S_ISSOCK(st.st_mode)) {
                *ret_error = xasprintf("docker-socket: %s exists and is not a socket; remove it or turn "
                                       "docker-socket off", path);
                return -EEXIST;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path)) {
                *ret_error = xasprintf("docker-socket: path too long: %s", path);
                return -EINVAL;
        }
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                *ret_error = xasprintf("docker-socket: %s belongs to a running daemon (is dockerd running?); "
                                       "stop it or turn docker-socket off", path);
                return -EBUSY;
        }
        return 0;
}

/* Holds an exclusive flock for the daemon's lifetime; the kernel drops it
 * when the process dies, so a stale file never blocks a restart. */
static int lock_file(const char *path, bool write_pid)
{
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                safe_close(fd);
                return r == -EWOULDBLOCK ? -EBUSY : r;
        }
        if (write_pid) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
                if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) n, 0) != n) {
                        safe_close(fd);
                        return -EIO;
                }
        }
        return fd;
}

/* -G: a name or a number; an unknown group is an error, never root. */
static int resolve_group(const char *name, gid_t *ret)
{
        *ret = 0;
        if (!name)
                return 0;
        struct group *g = getgrnam(name);
        if (g) {
                *ret = g->gr_gid;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long n = strtoul(name, &end, 10);
        if (*name && !*end && !errno && n < UINT32_MAX) {
                *ret = (gid_t) n;
                return 0;
        }
        return -ENOENT;
}

static bool tcp_host_is_loopback(const char *addr)
{
        const char *h = addr + strlen("tcp://");
        if (startswith(h, "[::1]:") || startswith(h, "localhost:"))
                return true;
        return startswith(h, "127.");
}

/* Checks every listener before any is opened: TLS that was asked for but
 * cannot be had, and unauthenticated TCP off loopback, stop the daemon. */
static int check_listeners(void)
{
        bool any_tcp = false;
        for (size_t i = 0; arg_hosts[i]; i++) {
                if (!startswith(arg_hosts[i], "tcp://"))
                        continue;
                any_tcp = true;
                if (arg_tlsverify || tcp_host_is_loopback(arg_hosts[i]))
                        continue;
                if (!arg_tls_off_explicit) {
                        log_error("API would be accessible on %s%s without %s. Access to the remote API is "
                                  "equivalent to root access on the host. Use --tlsverify, or pass --tls=false "
                                  "(or --tlsverify=false) explicitly to accept this",
                                  arg_tls ? "https://" : "http://", arg_hosts[i] + 6,
                                  arg_tls ? "client authentication" : "encryption");
                        return -EPERM;
                }
        }
        if (arg_tls && !any_tcp)
                log_warn("--tls has no effect: no tcp:// listener");
        return 0;
}

/* The configuration SIGHUP last loaded (arg_config until the first reload). */
static json_t *live_config;

/* SIGHUP: reads daemon.json again and applies the keys dockerd reloads that
 * berth has (DOPT_RELOAD); a bad file leaves everything as it was. */
static void reload_config(Engine *engine)
{
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_free_ char *msg = NULL;
        if (load_config(&cfg, &msg) < 0) {
                log_error("Error reloading the configuration, keeping the running one: %s", msg);
                return;
        }
        int lvl = cfg_log_level(cfg, &msg);
        if (lvl < 0) {
                log_error("Error reloading the configuration, keeping the running one: %s", msg);
                return;
        }
        json_t *old = live_config ? live_config : arg_config;
        _cleanup_strv_free_ char **changes = daemon_config_reload_changes(old, cfg);
        const char *key;
        json_t *v;
        json_object_foreach(cfg, key, v) {
                const DaemonOption *o = daemon_option_by_key(key);
                if (o && !(o->flags & DOPT_RELOAD) && !json_equal(v, json_object_get(old, key)))
                        log_warn("%s changed in %s: it takes effect when berthd restarts", key, arg_config_file);
        }
        json_object_foreach(old, key, v) {
                const DaemonOption *o = daemon_option_by_key(key);
                if (o && !(o->flags & DOPT_RELOAD) && !json_object_get(cfg, key))
                        log_warn("%s removed from %s: it takes effect when berthd restarts", key, arg_config_file);
        }
        log_set_level(lvl);
        _cleanup_strv_free_ char **insecure = cfg_strv(cfg, "insecure-registries");
        engine_reload(engine, cfg_bool(cfg, "debug", false), insecure);
        json_decref(live_config);
        live_config = TAKE_PTR(cfg);
        if (!changes)
                log_info("Reloaded configuration from %s: nothing changed", arg_config_file);
        for (size_t i = 0; changes && changes[i]; i++)
                log_info("Reloaded configuration from %s: %s", arg_config_file, changes[i]);
}

int main(int argc, char **argv)
{
        /* Idle memory (docs/hacking.md, Memory): fixed malloc thresholds, so that freeing one large
         * buffer does not raise them (glibc's dynamic threshold would then keep up to 64 MB of
         * freed heap resident). */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
        log_set_prefix("berthd");
        json_set_alloc_funcs(xmalloc, free); /* one out-of-memory policy, jansson included */
        if (parse_args(argc, argv) < 0)
                return 125;
        _cleanup_free_ char *cfg_msg = NULL;
        if (load_config(&arg_config, &cfg_msg) < 0 || apply_config(arg_config, &cfg_msg) < 0) {
                if (arg_validate)
                        fprintf(stderr, "%s\n", cfg_msg);
                else
                        log_error("%s", cfg_msg);
                return 1;
        }
        if (arg_validate) {
                printf("configuration OK\n");
                return 0;
        }
        log_set_level(arg_log_level);
        const char *ns = getenv("NOTIFY_SOCKET");
        notify_socket = ns ? xstrdup(ns) : NULL;
        unsetenv("NOTIFY_SOCKET");
        if (!arg_hosts)
                strv_extend(&arg_hosts, "unix:///run/berth/berth.sock");
        if (expand_fd_hosts(&cfg_msg) < 0) {
                log_error("%s", cfg_msg);
                return 1;
        }
        if (arg_docker_socket) {
                /* BERTH_DOCKER_SOCKET moves the path, for tests only */
                const char *ds = getenv("BERTH_DOCKER_SOCKET") ?: "/var/run/docker.sock";
                if (docker_socket_check(ds, &cfg_msg) < 0) {
                        log_error("%s", cfg_msg);
                        return 1;
                }
                strv_push(&arg_hosts, xasprintf("unix://%s", ds));
        }
        EngineConfig cfg = {
                .data_root = arg_data_root ? arg_data_root : "/var/lib/berth",
                .exec_root = arg_exec_root ? arg_exec_root : "/run/berth",
                .bip = arg_bip,
                .debug = arg_debug,
                .no_userland_proxy = arg_no_userland_proxy,
                .insecure_registries = arg_insecure,
                .discovery = arg_discovery,
                .discovery_advertise = arg_discovery_advertise,
                .discovery_ttl = arg_discovery_ttl,
                .layer_max_ratio = arg_layer_max_ratio,
                .layer_max_size = arg_layer_max_size,
                .min_free_space = arg_min_free_space,
        };
        gid_t socket_gid;
        if (resolve_group(arg_group, &socket_gid) < 0) {
                log_error("can't create unix socket: group %s not found", arg_group);
                return 1;
        }
        if (check_listeners() < 0)
                return 1;
        HttpListenerConfig lcfg = {
                .tls_cert = arg_tls ? arg_tlscert : NULL,
                .tls_key = arg_tls ? arg_tlskey : NULL,
                .tls_ca = arg_tlscacert,
                .tls_verify = arg_tlsverify,
                .idle_timeout = arg_idle_timeout,
                .max_conns = arg_max_conns,
                .max_conns_per_ip = arg_max_conns_per_ip,
        };
        for (size_t i = 0; arg_hosts[i]; i++) {
                _cleanup_berr_ BerthError *lerr = NULL;
                if (startswith(arg_hosts[i], "tcp://") && http_listener_check(arg_hosts[i], &lcfg, &lerr) < 0) {
                        log_error("failed to load listeners: %s", lerr->msg);
                        return 1;
                }
        }
        /* Every API connection is a descriptor; the per-IP and total caps
         * bound them, not the inherited soft limit. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        _cleanup_free_ char *pidfile = arg_pidfile ? xstrdup(arg_pidfile) : xasprintf("%s/berthd.pid", cfg.exec_root);

        if (mkdir_p(cfg.data_root, 0711) < 0 || mkdir_p(cfg.exec_root, 0711) < 0) {
                log_error("Failed to create %s or %s: %m", cfg.data_root, cfg.exec_root);
                return 1;
        }
        _cleanup_free_ char *pid_dir = xstrdup(pidfile);
        char *slash = strrchr(pid_dir, '/');
        if (slash && slash != pid_dir) {
                *slash = 0;
                mkdir_p(pid_dir, 0755);
        }
        _cleanup_close_ int pid_fd = lock_file(pidfile, true);
        if (pid_fd == -EBUSY) {
                log_error("pid file found, ensure berthd is not running or delete %s", pidfile);
                return 1;
        }
        if (pid_fd < 0) {
                log_error("Failed to open pid file %s: %s", pidfile, strerror(-pid_fd));
                return 1;
        }
        _cleanup_free_ char *root_lock = xasprintf("%s/berthd.lock", cfg.data_root);
        _cleanup_close_ int root_fd = lock_file(root_lock, true);
        if (root_fd == -EBUSY) {
                log_error("data root %s is in use by another berthd", cfg.data_root);
                unlink(pidfile);
                return 1;
        }

        /* Block the shutdown signals before any thread exists, so every
         * thread inherits the mask and only sigwait sees them. */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGCHLD);
        pthread_sigmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);

        _cleanup_berr_ BerthError *err = NULL;
        Engine *engine = NULL;
        if (engine_new(&cfg, &engine, &err) < 0) {
                log_error("Failed to start engine: %s", err->msg);
                unlink(pidfile);
                return 1;
        }
        if (engine_start(engine, &err) < 0) {
                log_error("Failed to restore state: %s", err->msg);
                engine_free(engine);
                unlink(pidfile);
                return 1;
        }
        _cleanup_free_ char *spool = xasprintf("%s/tmp", cfg.data_root);
        HttpServer *srv = http_server_new(api_dispatch, engine, spool);
        _cleanup_free_ char *server_hdr = xasprintf("berth/%s (linux)", BERTH_VERSION);
        http_server_add_default_header(srv, "Api-Version", API_VERSION_STRING);
        http_server_add_default_header(srv, "Docker-Experimental", "false");
        http_server_add_default_header(srv, "Ostype", "linux");
        http_server_add_default_header(srv, "Server", server_hdr);
        http_server_set_body_limit(srv, api_body_limit);
        api_dashboard_enable(arg_dashboard);
        HttpListenerConfig ucfg = {
                .socket_gid = socket_gid,
                .idle_timeout = arg_idle_timeout,
                .max_conns = arg_max_conns,
        };
        for (size_t i = 0; arg_hosts[i]; i++) {
                _cleanup_berr_ BerthError *lerr = NULL;
                bool tcp = host_is_tcp(arg_hosts[i]);
                if (http_server_listen(srv, arg_hosts[i], tcp ? &lcfg : &ucfg, &lerr) < 0) {
                        log_error("%s", lerr->msg);
                        http_server_free(srv);
                        engine_free(engine);
                        unlink(pidfile);
                        return 1;
                }
                if (tcp && !arg_tls)
                        log_warn("Binding to %s without TLS: anyone who reaches it (and any web page a local "
                                 "browser opens) controls this host", arg_hosts[i]);
                else if (tcp && !arg_tlsverify)
                        log_warn("Binding to %s with TLS but without --tlsverify: clients are not authenticated, "
                                 "anyone who reaches it controls this host", arg_hosts[i]);
                log_info("API listen on %s%s", arg_hosts[i],
                         !tcp ? "" : arg_tlsverify ? " (TLS, client certificates required)" : arg_tls ? " (TLS)" : "");
        }
        log_info("berthd %s started (API %s, data root %s)", BERTH_VERSION, API_VERSION_STRING, cfg.data_root);
        notify_systemd("READY=1");

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&ss, &si);
                if (sig == SIGCHLD) {
                        engine_reap_children(engine);
                        continue;
                }
                if (sig == SIGHUP) {
                        /* systemd wants the time the reload started with RELOADING=1 */
                        _cleanup_free_ char *msg = xasprintf("RELOADING=1\nMONOTONIC_USEC=%llu",
                                                             (unsigned long long) (monotonic_ns() / 1000));
                        notify_systemd(msg);
                        reload_config(engine);
                        notify_systemd("READY=1");
                        continue;
                }
                if (sig == SIGTERM || sig == SIGINT) {
                        log_info("Received %s, shutting down", strsignal(sig));
                        notify_systemd("STOPPING=1");
                        break;
                }
        }
        http_server_free(srv);
        engine_stop(engine);
        engine_free(engine);
        unlink(pidfile);
        strv_free(arg_hosts);
        strv_free(arg_insecure);
        json_decref(live_config);
        json_decref(arg_config);
        json_decref(arg_flags);
        free(notify_socket);
        return 0;
}
