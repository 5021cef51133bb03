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
#include <sys/stat.h>

#include "api/api.h"
#include "basic/error.h"
#include "basic/log.h"
#include "basic/util.h"
#include "discovery/discovery.h"
#include "engine/engine.h"
#include "engine/lifecycle.h"
#include "http/server.h"

static char **arg_hosts;
static char *arg_data_root;
static char *arg_exec_root;
static char *arg_pidfile;
static char *arg_bip;
static char *arg_group;
static char **arg_insecure;
static bool arg_debug, arg_tls, arg_tlsverify, arg_no_userland_proxy;
/* --tls=false / --tlsverify=false given explicitly: plain TCP on a non-loopback address is wanted */
static bool arg_tls_off_explicit;
static unsigned arg_idle_timeout = 60, arg_max_conns = 1000, arg_max_conns_per_ip = 256;
static unsigned arg_layer_max_ratio = 500;
static uint64_t arg_layer_max_size, arg_min_free_space = 256ull << 20;
static char *arg_tlscacert, *arg_tlscert, *arg_tlskey;
static int arg_log_level = LOG_LVL_INFO;
static char *arg_discovery, *arg_discovery_advertise;
static int arg_discovery_ttl;

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: berthd [OPTIONS]\n\n"
                "A Docker-compatible container engine.\n\n"
                "Options:\n"
                "  -H, --host list            Daemon socket(s) to listen on (unix:///path, tcp://host:port)\n"
                "      --data-root string     Root of persistent state (default \"/var/lib/berth\")\n"
                "      --exec-root string     Root of runtime state (default \"/run/berth\")\n"
                "  -p, --pidfile string       Path to the pid file (default \"<exec-root>/berthd.pid\")\n"
                "  -l, --log-level string     debug, info, warn, error (default \"info\")\n"
                "  -D, --debug                Enable debug mode\n"
                "      --bip string           Address and prefix of the default bridge (default 172.17.0.1/16)\n"
                "  -G, --group string         Group owning the unix socket\n"
                "      --insecure-registry list  Registries reached over plain http\n"
                "      --tls                  Use TLS; implied by --tlsverify (--tls=false: allow plain\n"
                "                             TCP on a non-loopback address)\n"
                "      --tlsverify            Use TLS and verify the remote\n"
                "      --tlscacert string     Trust certs signed only by this CA\n"
                "      --tlscert string       Path to TLS certificate file\n"
                "      --tlskey string        Path to TLS key file\n"
                "      --discovery string     Register services in etcd: etcd://host:port[,host:port...]\n"
                "      --discovery-advertise string  Address other hosts reach this one at (default: the\n"
                "                             source address towards etcd)\n"
                "      --discovery-ttl int    Lease TTL in seconds (default 5)\n"
                "  -v, --version              Print version information and quit\n");
}

enum { OPT_DATA_ROOT = 256, OPT_EXEC_ROOT, OPT_BIP, OPT_INSECURE, OPT_TLS, OPT_TLSVERIFY, OPT_TLSCACERT,
       OPT_TLSCERT, OPT_TLSKEY, OPT_USERLAND_PROXY, OPT_DISCOVERY,
       OPT_DISCOVERY_ADVERTISE, OPT_DISCOVERY_TTL, OPT_IDLE_TIMEOUT, OPT_MAX_CONNS, OPT_MAX_CONNS_PER_IP,
       OPT_LAYER_MAX_RATIO, OPT_LAYER_MAX_SIZE, OPT_MIN_FREE_SPACE, OPT_IGNORED };

static int parse_bool_arg(const char *flag, const char *v, bool *ret)
{
        if (!v || streq(v, "true") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "false") || streq(v, "0"))
                *ret = false;
        else {
                fprintf(stderr, "berthd: invalid boolean value \"%s\" for --%s\n", v, flag);
                return -EINVAL;
        }
        return 0;
}

static int parse_uint_arg(const char *flag, const char *v, uint64_t max, uint64_t *ret)
{
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || n > max) {
                fprintf(stderr, "berthd: invalid value \"%s\" for --%s\n", v, flag);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

static int parse_args(int argc, char **argv)
{
        static const struct option opts[] = {
                { "host", required_argument, NULL, 'H' },
                { "data-root", required_argument, NULL, OPT_DATA_ROOT },
                { "exec-root", required_argument, NULL, OPT_EXEC_ROOT },
                { "pidfile", required_argument, NULL, 'p' },
                { "log-level", required_argument, NULL, 'l' },
                { "debug", no_argument, NULL, 'D' },
                { "bip", required_argument, NULL, OPT_BIP },
                { "group", required_argument, NULL, 'G' },
                { "insecure-registry", required_argument, NULL, OPT_INSECURE },
                { "tls", optional_argument, NULL, OPT_TLS },
                { "tlsverify", optional_argument, NULL, OPT_TLSVERIFY },
                { "tlscacert", required_argument, NULL, OPT_TLSCACERT },
                { "tlscert", required_argument, NULL, OPT_TLSCERT },
                { "tlskey", required_argument, NULL, OPT_TLSKEY },
                { "userland-proxy", optional_argument, NULL, OPT_USERLAND_PROXY },
                { "discovery", required_argument, NULL, OPT_DISCOVERY },
                { "discovery-advertise", required_argument, NULL, OPT_DISCOVERY_ADVERTISE },
                { "discovery-ttl", required_argument, NULL, OPT_DISCOVERY_TTL },
                /* not in --help: limits of the API edge and of layer unpacking (docs/security.md) */
                { "api-idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
                { "api-max-connections", required_argument, NULL, OPT_MAX_CONNS },
                { "api-max-connections-per-ip", required_argument, NULL, OPT_MAX_CONNS_PER_IP },
                { "layer-max-ratio", required_argument, NULL, OPT_LAYER_MAX_RATIO },
                { "layer-max-size", required_argument, NULL, OPT_LAYER_MAX_SIZE },
                { "min-free-space", required_argument, NULL, OPT_MIN_FREE_SPACE },
                { "version", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c, optidx = 0;
        while ((c = getopt_long(argc, argv, "H:p:l:DG:vh", opts, &optidx)) >= 0) {
                switch (c) {
                case 'H': strv_extend(&arg_hosts, optarg); break;
                case OPT_DATA_ROOT: arg_data_root = optarg; break;
                case OPT_EXEC_ROOT: arg_exec_root = optarg; break;
                case 'p': arg_pidfile = optarg; break;
                case 'l':
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                fprintf(stderr, "berthd: unknown log level \"%s\"\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'D': arg_debug = true; arg_log_level = LOG_LVL_DEBUG; break;
                case OPT_BIP: arg_bip = optarg; break;
                case 'G': arg_group = optarg; break;
                case OPT_INSECURE: strv_extend(&arg_insecure, optarg); break;
                case OPT_TLS: {
                        bool b;
                        if (parse_bool_arg("tls", optarg, &b) < 0)
                                return -EINVAL;
                        arg_tls = b;
                        arg_tls_off_explicit = !b;
                        break;
                }
                case OPT_TLSVERIFY: {
                        bool b;
                        if (parse_bool_arg("tlsverify", optarg, &b) < 0)
                                return -EINVAL;
                        /* As dockerd: naming --tlsverify at all turns TLS on; =false
                         * explicitly accepts clients that are not authenticated. */
                        arg_tlsverify = b;
                        arg_tls = true;
                        if (!b)
                                arg_tls_off_explicit = true;
                        break;
                }
                case OPT_IDLE_TIMEOUT:
                case OPT_MAX_CONNS:
                case OPT_MAX_CONNS_PER_IP:
                case OPT_LAYER_MAX_RATIO: {
                        uint64_t v;
                        if (parse_uint_arg(opts[optidx].name, optarg, 1000000, &v) < 0)
                                return -EINVAL;
                        *(c == OPT_IDLE_TIMEOUT ? &arg_idle_timeout : c == OPT_MAX_CONNS ? &arg_max_conns
                          : c == OPT_MAX_CONNS_PER_IP ? &arg_max_conns_per_ip : &arg_layer_max_ratio) = (unsigned) v;
                        break;
                }
                case OPT_LAYER_MAX_SIZE:
                case OPT_MIN_FREE_SPACE:
                        if (parse_uint_arg(opts[optidx].name, optarg, UINT64_MAX,
                                           c == OPT_LAYER_MAX_SIZE ? &arg_layer_max_size : &arg_min_free_space) < 0)
                                return -EINVAL;
                        break;
                case OPT_TLSCACERT: arg_tlscacert = optarg; break;
                case OPT_TLSCERT: arg_tlscert = optarg; break;
                case OPT_TLSKEY: arg_tlskey = optarg; break;
                case OPT_USERLAND_PROXY:
                        arg_no_userland_proxy = optarg && (streq(optarg, "false") || streq(optarg, "0"));
                        break;
                case OPT_DISCOVERY: {
                        _cleanup_berr_ BerthError *derr = NULL;
                        _cleanup_strv_free_ char **eps = NULL;
                        if (discovery_parse_url(optarg, &eps, &derr) < 0) {
                                fprintf(stderr, "berthd: %s\n", derr->msg);
                                return -EINVAL;
                        }
                        arg_discovery = optarg;
                        break;
                }
                case OPT_DISCOVERY_ADVERTISE: arg_discovery_advertise = optarg; break;
                case OPT_DISCOVERY_TTL:
                        arg_discovery_ttl = atoi(optarg);
                        if (arg_discovery_ttl < 2 || arg_discovery_ttl > 3600) {
                                fprintf(stderr, "berthd: --discovery-ttl wants 2..3600 seconds\n");
                                return -EINVAL;
                        }
                        break;
                case OPT_IGNORED: break;
                case 'v': printf("berthd version %s, API %s\n", BERTH_VERSION, API_VERSION_STRING); exit(0);
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berthd: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
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

int main(int argc, char **argv)
{
        /* Idle memory (docs/hacking.md, Memory): fixed malloc thresholds, so that freeing one large
         * buffer does not raise them (glibc's dynamic threshold would then keep up to 64 MB of
         * freed heap resident). */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
        log_set_prefix("berthd");
        if (parse_args(argc, argv) < 0)
                return 125;
        log_set_level(arg_log_level);
        if (!arg_hosts)
                strv_extend(&arg_hosts, "unix:///run/berth/berth.sock");
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
                _cleanup_free_ char *msg = NULL;
                if (startswith(arg_hosts[i], "tcp://") && http_listener_check(arg_hosts[i], &lcfg, &msg) < 0) {
                        log_error("failed to load listeners: %s", msg);
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
        _cleanup_free_ char *pidfile = arg_pidfile ? strdup(arg_pidfile) : xasprintf("%s/berthd.pid", cfg.exec_root);

        if (mkdir_p(cfg.data_root, 0711) < 0 || mkdir_p(cfg.exec_root, 0711) < 0) {
                log_error("Failed to create %s or %s: %m", cfg.data_root, cfg.exec_root);
                return 1;
        }
        _cleanup_free_ char *pid_dir = strdup(pidfile);
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
        HttpListenerConfig ucfg = {
                .socket_gid = socket_gid,
                .idle_timeout = arg_idle_timeout,
                .max_conns = arg_max_conns,
        };
        for (size_t i = 0; arg_hosts[i]; i++) {
                char *msg = NULL;
                bool tcp = startswith(arg_hosts[i], "tcp://");
                if (http_server_listen(srv, arg_hosts[i], tcp ? &lcfg : &ucfg, &msg) < 0) {
                        log_error("%s", msg);
                        free(msg);
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

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&ss, &si);
                if (sig == SIGCHLD) {
                        engine_reap_children(engine);
                        continue;
                }
                if (sig == SIGTERM || sig == SIGINT) {
                        log_info("Received %s, shutting down", strsignal(sig));
                        break;
                }
        }
        http_server_free(srv);
        engine_stop(engine);
        engine_free(engine);
        unlink(pidfile);
        strv_free(arg_hosts);
        strv_free(arg_insecure);
        return 0;
}
