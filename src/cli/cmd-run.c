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
#include <arpa/inet.h>
#include <ctype.h>

typedef struct RunOpts {
        bool detach, rm, interactive, tty, init, init_set, privileged, read_only, publish_all, quiet;
        bool sig_proxy;
        const char *name, *workdir, *user, *entrypoint, *restart, *hostname, *network, *stop_signal;
        const char *domainname, *mac, *ip, *ip6, *log_driver, *cidfile, *platform, *pull;
        bool entrypoint_set;
        long long stop_timeout;
        bool stop_timeout_set;
        char **env, **env_files, **binds, **links, **label_files, **cap_add, **cap_drop, **aliases, **attach;
        json_t *labels, *exposed, *bindings;
        json_t *volumes; /* -v /path alone: an anonymous volume, in Config.Volumes as docker sends it */
        json_t *host;   /* HostConfig fields of the flags that map one to one */
        json_t *log_opts;
        /* --health-*: the values, and whether any was given */
        const char *health_cmd;
        int64_t health_interval, health_timeout, health_start_period, health_start_interval;
        long long health_retries;
        bool no_healthcheck;
} RunOpts;

static void run_opts_free(RunOpts *o)
{
        strv_free(o->env);
        strv_free(o->env_files);
        strv_free(o->binds);
        strv_free(o->links);
        strv_free(o->label_files);
        strv_free(o->cap_add);
        strv_free(o->cap_drop);
        strv_free(o->aliases);
        strv_free(o->attach);
        json_decref(o->volumes);
        json_decref(o->labels);
        json_decref(o->exposed);
        json_decref(o->bindings);
        json_decref(o->host);
        json_decref(o->log_opts);
}

static int run_error(Cli *cli, int code, const char *msg)
{
        fprintf(stderr, "berth: %s", msg);
        fprintf(stderr, "\n\nRun 'berth %s --help' for more information\n", cli->cmd_name);
        return code;
}

/* pflag's message for a value its type refuses. */
static Cli *run_cli;

static int bad_value(const char *arg, const char *flag, const char *why)
{
        fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: %s\n\nUsage:  berth %s\n\nRun 'berth %s --help' for more "
                "information\n", arg, flag, why, run_cli->cmd->usage, run_cli->cmd_name);
        return 125;
}

static void host_append(RunOpts *o, const char *key, json_t *v)
{
        json_t *a = json_object_get(o->host, key);
        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(o->host, key, a);
        }
        json_array_append_new(a, v);
}

static bool user_defined_network(const char *n)
{
        return n && !streq(n, "default") && !streq(n, "bridge") && !streq(n, "host") && !streq(n, "none") &&
               !startswith(n, "container:");
}

/* A long boolean flag: bare, or --flag=true|false. */
static int bool_arg(const char *flag, bool *ret)
{
        if (!optarg) {
                *ret = true;
                return 0;
        }
        if (opts_parse_bool(optarg, ret) < 0) {
                _cleanup_free_ char *why = xasprintf("strconv.ParseBool: parsing \"%s\": invalid syntax", optarg);
                return bad_value(optarg, flag, why);
        }
        return 0;
}

enum {
        O_RM = 0x100, O_NAME, O_ENVFILE, O_ENTRYPOINT, O_RESTART, O_INIT, O_NETWORK, O_LINK, O_PRIV, O_STOPSIG,
        O_DKEYS, O_CAPADD, O_CAPDROP, O_READONLY, O_SECOPT, O_DEVICE, O_DEVRULE, O_GROUPADD, O_DNS, O_DNSSEARCH,
        O_DNSOPT, O_ADDHOST, O_DOMAINNAME, O_IPC, O_PID, O_UTS, O_USERNS, O_SYSCTL, O_ULIMIT, O_SHMSIZE,
        O_LABELFILE, O_LOGDRIVER, O_LOGOPT, O_STOPTIMEOUT, O_ALIAS, O_IP, O_IP6, O_MAC, O_EXPOSE, O_CGROUPNS,
        O_CGROUPPARENT, O_RUNTIME, O_PLATFORM, O_PULL, O_CIDFILE, O_SIGPROXY, O_DETACH, O_PUBALL, O_INTERACTIVE,
        O_TTY, O_HCMD, O_HINTERVAL, O_HTIMEOUT, O_HRETRIES, O_HSTART, O_HSTARTINT, O_NOHC, O_MOUNT, O_VFROM,
        O_TMPFS, O_VDRIVER,
        /* resources: each one HostConfig field (res_flags below) */
        O_RES_FIRST, O_MEMORY = O_RES_FIRST, O_MEMSWAP, O_MEMRES, O_KMEM, O_SWAPPINESS, O_OOMKILL, O_OOMSCORE,
        O_CPUS, O_CPUSHARES, O_CPUPERIOD, O_CPUQUOTA, O_CPUSETCPUS, O_CPUSETMEMS, O_PIDSLIMIT, O_BLKIOWEIGHT,
        O_BLKIOWDEV, O_DEVRBPS, O_DEVWBPS, O_DEVRIOPS, O_DEVWIOPS, O_RES_END,
};

typedef enum { RES_BYTES, RES_BYTES_OR_MINUS1, RES_INT, RES_BOOL, RES_CPUS, RES_STR, RES_RATE_BYTES,
               RES_RATE_INT, RES_WEIGHT_DEV } ResKind;

/* The resource flags of docker run, each one HostConfig field. */
static const struct {
        int opt;
        const char *flag; /* as docker names it in its errors */
        const char *key;
        ResKind kind;
} res_flags[] = {
        { O_MEMORY, "-m, --memory", "Memory", RES_BYTES },
        { O_MEMSWAP, "--memory-swap", "MemorySwap", RES_BYTES_OR_MINUS1 },
        { O_MEMRES, "--memory-reservation", "MemoryReservation", RES_BYTES },
        { O_KMEM, "--kernel-memory", "KernelMemory", RES_BYTES },
        { O_SWAPPINESS, "--memory-swappiness", "MemorySwappiness", RES_INT },
        { O_OOMKILL, "--oom-kill-disable", "OomKillDisable", RES_BOOL },
        { O_OOMSCORE, "--oom-score-adj", "OomScoreAdj", RES_INT },
        { O_CPUS, "--cpus", "NanoCpus", RES_CPUS },
        { O_CPUSHARES, "-c, --cpu-shares", "CpuShares", RES_INT },
        { O_CPUPERIOD, "--cpu-period", "CpuPeriod", RES_INT },
        { O_CPUQUOTA, "--cpu-quota", "CpuQuota", RES_INT },
        { O_CPUSETCPUS, "--cpuset-cpus", "CpusetCpus", RES_STR },
        { O_CPUSETMEMS, "--cpuset-mems", "CpusetMems", RES_STR },
        { O_PIDSLIMIT, "--pids-limit", "PidsLimit", RES_INT },
        { O_BLKIOWEIGHT, "--blkio-weight", "BlkioWeight", RES_INT },
        { O_BLKIOWDEV, "--blkio-weight-device", "BlkioWeightDevice", RES_WEIGHT_DEV },
        { O_DEVRBPS, "--device-read-bps", "BlkioDeviceReadBps", RES_RATE_BYTES },
        { O_DEVWBPS, "--device-write-bps", "BlkioDeviceWriteBps", RES_RATE_BYTES },
        { O_DEVRIOPS, "--device-read-iops", "BlkioDeviceReadIOps", RES_RATE_INT },
        { O_DEVWIOPS, "--device-write-iops", "BlkioDeviceWriteIOps", RES_RATE_INT },
};

/* One resource flag into o->host, with docker's parse errors. */
static int res_flag(RunOpts *o, int opt, const char *arg)
{
        size_t i = 0;
        while (res_flags[i].opt != opt)
                i++;
        const char *flag = res_flags[i].flag, *key = res_flags[i].key;
        long long n;
        char *end;
        switch (res_flags[i].kind) {
        case RES_BYTES_OR_MINUS1:
                if (streq(arg, "-1")) {
                        json_object_set_new(o->host, key, json_integer(-1));
                        return 0;
                }
                __attribute__((fallthrough));
        case RES_BYTES:
                if (opts_ram_bytes(arg, &n) < 0) {
                        _cleanup_free_ char *why = xasprintf("invalid size: '%s'", arg);
                        return bad_value(arg, flag, why);
                }
                json_object_set_new(o->host, key, json_integer(n));
                return 0;
        case RES_INT:
                errno = 0;
                n = strtoll(arg, &end, 10);
                if (!*arg || *end || errno) {
                        _cleanup_free_ char *why = xasprintf("strconv.ParseInt: parsing \"%s\": invalid syntax", arg);
                        return bad_value(arg, flag, why);
                }
                json_object_set_new(o->host, key, json_integer(n));
                return 0;
        case RES_BOOL: {
                bool b;
                if (bool_arg(flag, &b))
                        return 125;
                json_object_set_new(o->host, key, json_boolean(b));
                return 0;
        }
        case RES_CPUS: {
                /* docker's NanoCPUs: a decimal, at most nine places */
                errno = 0;
                double d = strtod(arg, &end);
                if (!*arg || *end || errno || d < 0) {
                        _cleanup_free_ char *why = xasprintf("failed to parse %s as a rational number", arg);
                        return bad_value(arg, flag, why);
                }
                json_object_set_new(o->host, key, json_integer((json_int_t) (d * 1e9 + 0.5)));
                return 0;
        }
        case RES_STR:
                json_object_set_new(o->host, key, json_string(arg));
                return 0;
        case RES_RATE_BYTES:
        case RES_RATE_INT:
        case RES_WEIGHT_DEV: {
                const char *colon = strrchr(arg, ':');
                if (!colon || colon == arg) {
                        _cleanup_free_ char *why = xasprintf("bad format: %s", arg);
                        return bad_value(arg, flag, why);
                }
                _cleanup_free_ char *path = xstrndup(arg, (size_t) (colon - arg));
                const char *v = colon + 1;
                if (res_flags[i].kind == RES_RATE_BYTES) {
                        if (opts_ram_bytes(v, &n) < 0) {
                                _cleanup_free_ char *why = xasprintf("invalid rate for device: %s. The correct format "
                                                                     "is <device-path>:<number>[<unit>]. Number must be "
                                                                     "a positive integer. Unit is optional and can be "
                                                                     "kb, mb, or gb", arg);
                                return bad_value(arg, flag, why);
                        }
                } else {
                        errno = 0;
                        n = strtoll(v, &end, 10);
                        if (!*v || *end || errno || n < 0) {
                                _cleanup_free_ char *why = xasprintf("invalid %s for device: %s",
                                                                     res_flags[i].kind == RES_RATE_INT ? "rate" : "weight",
                                                                     arg);
                                return bad_value(arg, flag, why);
                        }
                }
                host_append(o, key, res_flags[i].kind == RES_WEIGHT_DEV
                                            ? json_pack("{s:s,s:I}", "Path", path, "Weight", (json_int_t) n)
                                            : json_pack("{s:s,s:I}", "Path", path, "Rate", (json_int_t) n));
                return 0;
        }
        }
        return 0;
}

/* The flags of docker run that berthd implements; create takes the same but the attach-time ones. */
#define RUN_OPTIONS(...)                                                                                      \
        { "add-host", required_argument, NULL, O_ADDHOST, "Add a custom host-to-IP mapping (host:ip)", "list" },  \
        { "blkio-weight", required_argument, NULL, O_BLKIOWEIGHT, "Block IO (relative weight), between 10 and "    \
          "1000, or 0 to disable (default 0)", "uint16" },                                                      \
        { "blkio-weight-device", required_argument, NULL, O_BLKIOWDEV, "Block IO weight (relative device weight)", \
          "list" },                                                                                              \
        { "cpu-period", required_argument, NULL, O_CPUPERIOD, "Limit CPU CFS (Completely Fair Scheduler) period", \
          "int" },                                                                                               \
        { "cpu-quota", required_argument, NULL, O_CPUQUOTA, "Limit CPU CFS (Completely Fair Scheduler) quota",  \
          "int" },                                                                                               \
        { "cpu-shares", required_argument, NULL, 'c', "CPU shares (relative weight)", "int" },            \
        { "cpus", required_argument, NULL, O_CPUS, "Number of CPUs", "decimal" },                                \
        { "cpuset-cpus", required_argument, NULL, O_CPUSETCPUS, "CPUs in which to allow execution (0-3, 0,1)" },  \
        { "cpuset-mems", required_argument, NULL, O_CPUSETMEMS, "MEMs in which to allow execution (0-3, 0,1)" },  \
        { "device-read-bps", required_argument, NULL, O_DEVRBPS, "Limit read rate (bytes per second) from a "     \
          "device", "list" },                                                                                    \
        { "device-read-iops", required_argument, NULL, O_DEVRIOPS, "Limit read rate (IO per second) from a "      \
          "device", "list" },                                                                                    \
        { "device-write-bps", required_argument, NULL, O_DEVWBPS, "Limit write rate (bytes per second) to a "     \
          "device", "list" },                                                                                    \
        { "device-write-iops", required_argument, NULL, O_DEVWIOPS, "Limit write rate (IO per second) to a "      \
          "device", "list" },                                                                                    \
        { "kernel-memory", required_argument, NULL, O_KMEM, "Kernel memory limit", "bytes" },                    \
        { "memory", required_argument, NULL, 'm', "Memory limit", "bytes" },                                \
        { "memory-reservation", required_argument, NULL, O_MEMRES, "Memory soft limit", "bytes" },                \
        { "memory-swap", required_argument, NULL, O_MEMSWAP, "Swap limit equal to memory plus swap: '-1' to "     \
          "enable unlimited swap", "bytes" },                                                                    \
        { "memory-swappiness", required_argument, NULL, O_SWAPPINESS, "Tune container memory swappiness (0 to "  \
          "100)", "int", "-1" },                                                                                 \
        { "oom-kill-disable", optional_argument, NULL, O_OOMKILL, "Disable OOM Killer" },                        \
        { "oom-score-adj", required_argument, NULL, O_OOMSCORE, "Tune host's OOM preferences (-1000 to 1000)",   \
          "int" },                                                                                               \
        { "pids-limit", required_argument, NULL, O_PIDSLIMIT, "Tune container pids limit (set -1 for "           \
          "unlimited)", "int" },                                                                                 \
        { "attach", required_argument, NULL, 'a', "Attach to STDIN, STDOUT or STDERR", "list" },                 \
        { "cap-add", required_argument, NULL, O_CAPADD, "Add Linux capabilities", "list" },                      \
        { "cap-drop", required_argument, NULL, O_CAPDROP, "Drop Linux capabilities", "list" },                   \
        { "cgroup-parent", required_argument, NULL, O_CGROUPPARENT, "Optional parent cgroup for the container" }, \
        { "cgroupns", required_argument, NULL, O_CGROUPNS,                                                       \
          "Cgroup namespace to use (host|private)\n'host':    Run the container in the host's cgroup namespace\n" \
          "'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup "        \
          "namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)" },  \
        { "cidfile", required_argument, NULL, O_CIDFILE, "Write the container ID to the file" },                 \
        { "device", required_argument, NULL, O_DEVICE, "Add a host device to the container", "list" },           \
        { "device-cgroup-rule", required_argument, NULL, O_DEVRULE, "Add a rule to the cgroup allowed devices list", \
          "list" },                                                                                              \
        { "dns", required_argument, NULL, O_DNS, "Set custom DNS servers", "list" },                              \
        { "dns-opt", required_argument, NULL, O_DNSOPT, NULL, "list" },                                           \
        { "dns-option", required_argument, NULL, O_DNSOPT, "Set DNS options", "list" },                           \
        { "dns-search", required_argument, NULL, O_DNSSEARCH, "Set custom DNS search domains", "list" },          \
        { "domainname", required_argument, NULL, O_DOMAINNAME, "Container NIS domain name" },                    \
        { "entrypoint", required_argument, NULL, O_ENTRYPOINT, "Overwrite the default ENTRYPOINT of the image" }, \
        { "env", required_argument, NULL, 'e', "Set environment variables", "list" },                             \
        { "env-file", required_argument, NULL, O_ENVFILE, "Read in a file of environment variables", "list" },    \
        { "expose", required_argument, NULL, O_EXPOSE, "Expose a port or a range of ports", "list" },             \
        { "group-add", required_argument, NULL, O_GROUPADD, "Add additional groups to join", "list" },            \
        { "health-cmd", required_argument, NULL, O_HCMD, "Command to run to check health" },                     \
        { "health-interval", required_argument, NULL, O_HINTERVAL,                                               \
          "Time between running the check (ms|s|m|h)", "duration", "0s" },                                      \
        { "health-retries", required_argument, NULL, O_HRETRIES,                                                 \
          "Consecutive failures needed to report unhealthy", "int" },                                           \
        { "health-start-interval", required_argument, NULL, O_HSTARTINT,                                         \
          "Time between running the check during the start period (ms|s|m|h)", "duration", "0s" },              \
        { "health-start-period", required_argument, NULL, O_HSTART, "Start period for the container to "         \
          "initialize before starting health-retries countdown (ms|s|m|h)", "duration", "0s" },                 \
        { "health-timeout", required_argument, NULL, O_HTIMEOUT,                                                 \
          "Maximum time to allow one check to run (ms|s|m|h)", "duration", "0s" },                              \
        { "hostname", required_argument, NULL, 'h', "Container host name" },                                     \
        { "init", optional_argument, NULL, O_INIT,                                                               \
          "Run an init inside the container that forwards signals and reaps processes" },                       \
        { "interactive", optional_argument, NULL, 'i', "Keep STDIN open even if not attached" },                 \
        { "ip", required_argument, NULL, O_IP, "IPv4 address (e.g., 172.30.100.104)" },                          \
        { "ip6", required_argument, NULL, O_IP6, "IPv6 address (e.g., 2001:db8::33)" },                           \
        { "ipc", required_argument, NULL, O_IPC, "IPC mode to use" },                                            \
        { "label", required_argument, NULL, 'l', "Set meta data on a container", "list" },                        \
        { "label-file", required_argument, NULL, O_LABELFILE, "Read in a line delimited file of labels", "list" }, \
        { "link", required_argument, NULL, O_LINK, "Add link to another container", "list" },                     \
        { "log-driver", required_argument, NULL, O_LOGDRIVER, "Logging driver for the container" },              \
        { "log-opt", required_argument, NULL, O_LOGOPT, "Log driver options", "list" },                           \
        { "mac-address", required_argument, NULL, O_MAC, "Container MAC address (e.g., 92:d0:c6:0a:29:33)" },    \
        { "mount", required_argument, NULL, O_MOUNT, "Attach a filesystem mount to the container", "mount" },     \
        { "name", required_argument, NULL, O_NAME, "Assign a name to the container" },                           \
        { "net", required_argument, NULL, O_NETWORK, NULL, "network" },                                          \
        { "net-alias", required_argument, NULL, O_ALIAS, NULL, "list" },                                          \
        { "network", required_argument, NULL, O_NETWORK, "Connect a container to a network", "network" },        \
        { "network-alias", required_argument, NULL, O_ALIAS, "Add network-scoped alias for the container", "list" }, \
        { "no-healthcheck", optional_argument, NULL, O_NOHC, "Disable any container-specified HEALTHCHECK" },    \
        { "pid", required_argument, NULL, O_PID, "PID namespace to use" },                                       \
        { "platform", required_argument, NULL, O_PLATFORM, "Set platform if server is multi-platform capable" },  \
        { "privileged", optional_argument, NULL, O_PRIV, "Give extended privileges to this container" },          \
        { "publish", required_argument, NULL, 'p', "Publish a container's port(s) to the host", "list" },         \
        { "publish-all", optional_argument, NULL, 'P', "Publish all exposed ports to random ports" },             \
        { "pull", required_argument, NULL, O_PULL, "Pull image before running (\"always\", \"missing\", \"never\")", \
          NULL, "\"missing\"" },                                                                                \
        { "quiet", optional_argument, NULL, 'q', "Suppress the pull output" },                                   \
        { "read-only", optional_argument, NULL, O_READONLY, "Mount the container's root filesystem as read only" }, \
        { "restart", required_argument, NULL, O_RESTART, "Restart policy to apply when a container exits", NULL,  \
          "\"no\"" },                                                                                           \
        { "rm", optional_argument, NULL, O_RM, "Automatically remove the container and its associated anonymous " \
          "volumes when it exits" },                                                                            \
        { "runtime", required_argument, NULL, O_RUNTIME, "Runtime to use for this container" },                  \
        { "security-opt", required_argument, NULL, O_SECOPT, "Security Options", "list" },                        \
        { "shm-size", required_argument, NULL, O_SHMSIZE, "Size of /dev/shm", "bytes" },                          \
        { "stop-signal", required_argument, NULL, O_STOPSIG, "Signal to stop the container" },                   \
        { "stop-timeout", required_argument, NULL, O_STOPTIMEOUT, "Timeout (in seconds) to stop a container", "int" }, \
        { "sysctl", required_argument, NULL, O_SYSCTL, "Sysctl options", "map", "map[]" },                        \
        { "tty", optional_argument, NULL, 't', "Allocate a pseudo-TTY" },                                        \
        { "ulimit", required_argument, NULL, O_ULIMIT, "Ulimit options", "ulimit", "[]" },                        \
        { "tmpfs", required_argument, NULL, O_TMPFS, "Mount a tmpfs directory", "list" },                          \
        { "user", required_argument, NULL, 'u', "Username or UID (format: <name|uid>[:<group|gid>])" },          \
        { "userns", required_argument, NULL, O_USERNS, "User namespace to use" },                                \
        { "uts", required_argument, NULL, O_UTS, "UTS namespace to use" },                                       \
        { "volume", required_argument, NULL, 'v', "Bind mount a volume", "list" },                                \
        { "volume-driver", required_argument, NULL, O_VDRIVER, "Optional volume driver for the container" },     \
        { "volumes-from", required_argument, NULL, O_VFROM, "Mount volumes from the specified container(s)",     \
          "list" },                                                                                              \
        { "workdir", required_argument, NULL, 'w', "Working directory inside the container" },                   \
        __VA_ARGS__ CLI_HELP_OPTION,                                                                                   \
        {}

/* Parses run/create flags; returns -1 to continue, or an exit code. */
static int parse_run(Cli *cli, int argc, char **argv, RunOpts *o, bool is_run)
{
        static const CliOption run_opts[] = { RUN_OPTIONS(
                { "detach", optional_argument, NULL, 'd', "Run container in background and print container ID" },
                { "detach-keys", required_argument, NULL, O_DKEYS, "Override the key sequence for detaching a container" },
                { "sig-proxy", optional_argument, NULL, O_SIGPROXY, "Proxy received signals to the process", NULL,
                  "true" },) };
        static const CliOption create_opts[] = { RUN_OPTIONS() };
        o->labels = json_object();
        o->exposed = json_object();
        o->bindings = json_object();
        o->host = json_object();
        o->volumes = json_object();
        o->log_opts = json_object();
        o->sig_proxy = true;
        run_cli = cli;
        int c;
        /* "+": options end at the image, as in docker */
        while ((c = cli_getopt(cli, argc, argv, is_run ? "+a:c:de:h:il:m:p:Pqtu:v:w:" : "+a:c:e:h:il:m:p:Pqtu:v:w:",
                               is_run ? run_opts : create_opts)) != -1) {
                switch (c) {
                case 'd':
                        if (bool_arg("-d, --detach", &o->detach))
                                return 125;
                        break;
                case O_RM:
                        if (bool_arg("--rm", &o->rm))
                                return 125;
                        break;
                case O_NAME: o->name = optarg; break;
                case 'e': strv_push(&o->env, opts_env_value(optarg)); break;
                case O_ENVFILE: strv_extend(&o->env_files, optarg); break;
                case 'w': o->workdir = optarg; break;
                case 'u': o->user = optarg; break;
                case O_ENTRYPOINT: o->entrypoint = optarg; o->entrypoint_set = true; break;
                case O_RESTART: o->restart = optarg; break;
                case 'l': opts_label(o->labels, optarg); break;
                case O_LABELFILE: strv_extend(&o->label_files, optarg); break;
                case O_INIT:
                        if (bool_arg("--init", &o->init))
                                return 125;
                        o->init_set = true;
                        break;
                case 'h': o->hostname = optarg; break;
                case O_DOMAINNAME: o->domainname = optarg; break;
                case 'i':
                        if (bool_arg("-i, --interactive", &o->interactive))
                                return 125;
                        break;
                case 't':
                        if (bool_arg("-t, --tty", &o->tty))
                                return 125;
                        break;
                case 'q':
                        if (bool_arg("-q, --quiet", &o->quiet))
                                return 125;
                        break;
                case 'a': {
                        _cleanup_free_ char *l = xstrdup(optarg);
                        for (char *q = l; *q; q++)
                                *q = (char) tolower((unsigned char) *q);
                        if (!streq(l, "stdin") && !streq(l, "stdout") && !streq(l, "stderr"))
                                return bad_value(optarg, "-a, --attach", "valid streams are STDIN, STDOUT and STDERR");
                        strv_extend(&o->attach, l);
                        break;
                }
                case 'p':
                        if (opts_publish(optarg, o->exposed, o->bindings) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"-p, --publish\" flag: invalid "
                                        "port specification\n", optarg);
                                return 125;
                        }
                        break;
                case 'P':
                        if (bool_arg("-P, --publish-all", &o->publish_all))
                                return 125;
                        break;
                case O_EXPOSE:
                        if (opts_expose(optarg, o->exposed) < 0) {
                                fprintf(stderr, "berth: invalid range format for --expose: %s\n", optarg);
                                return 125;
                        }
                        break;
                case 'v':
                        /* a container path alone is an anonymous volume: Config.Volumes, as docker sends it */
                        if (!strchr(optarg, ':') && optarg[0] == '/')
                                json_object_set_new(o->volumes, optarg, json_object());
                        else
                                strv_extend(&o->binds, optarg);
                        break;
                case O_MOUNT: {
                        json_t *m = NULL;
                        _cleanup_free_ char *merr = NULL;
                        if (opts_mount(optarg, &m, &merr) < 0) {
                                fprintf(stderr, "invalid argument \"%s\" for \"--mount\" flag: %s\n", optarg, merr);
                                return 125;
                        }
                        json_t *all = json_object_get(o->host, "Mounts");
                        if (!all)
                                json_object_set_new(o->host, "Mounts", all = json_array());
                        json_array_append_new(all, m);
                        break;
                }
                case O_VFROM: {
                        json_t *all = json_object_get(o->host, "VolumesFrom");
                        if (!all)
                                json_object_set_new(o->host, "VolumesFrom", all = json_array());
                        json_array_append_new(all, json_string(optarg));
                        break;
                }
                case O_TMPFS: {
                        const char *colon = strchr(optarg, ':');
                        _cleanup_free_ char *path = colon ? xstrndup(optarg, (size_t) (colon - optarg))
                                                          : xstrdup(optarg);
                        json_t *all = json_object_get(o->host, "Tmpfs");
                        if (!all)
                                json_object_set_new(o->host, "Tmpfs", all = json_object());
                        json_object_set_new(all, path, json_string(colon ? colon + 1 : ""));
                        break;
                }
                case O_VDRIVER: json_object_set_new(o->host, "VolumeDriver", json_string(optarg)); break;
                case O_NETWORK: o->network = optarg; break;
                case O_ALIAS: strv_extend(&o->aliases, optarg); break;
                case O_IP: o->ip = optarg; break;
                case O_IP6: o->ip6 = optarg; break;
                case O_MAC: o->mac = optarg; break;
                case O_LINK: strv_extend(&o->links, optarg); break;
                case O_PRIV:
                        if (bool_arg("--privileged", &o->privileged))
                                return 125;
                        break;
                case O_READONLY:
                        if (bool_arg("--read-only", &o->read_only))
                                return 125;
                        break;
                case O_STOPSIG: o->stop_signal = optarg; break;
                case O_STOPTIMEOUT: {
                        char *end;
                        o->stop_timeout = strtoll(optarg, &end, 10);
                        if (!*optarg || *end)
                                return bad_value(optarg, "--stop-timeout", "strconv.ParseInt: parsing: invalid syntax");
                        o->stop_timeout_set = true;
                        break;
                }
                case O_DKEYS: cli->detach_keys = optarg; break;
                case O_SIGPROXY:
                        if (bool_arg("--sig-proxy", &o->sig_proxy))
                                return 125;
                        break;
                case O_CAPADD: strv_extend(&o->cap_add, optarg); break;
                case O_CAPDROP: strv_extend(&o->cap_drop, optarg); break;
                case O_SECOPT: {
                        const char *eq = strchr(optarg, '=');
                        if (!eq && !streq(optarg, "no-new-privileges"))
                                eq = strchr(optarg, ':');
                        if ((!eq || !eq[1]) && !streq(optarg, "no-new-privileges")) {
                                fprintf(stderr, "berth: invalid --security-opt: \"%s\"\n", optarg);
                                return 125;
                        }
                        if (eq && strneq(optarg, "seccomp", (size_t) (eq - optarg)) && eq - optarg == 7 &&
                            !streq(eq + 1, "unconfined") && !streq(eq + 1, "builtin")) {
                                /* a profile file is sent as its content, as docker does */
                                _cleanup_free_ char *content = NULL;
                                _cleanup_json_ json_t *j = NULL;
                                if (read_file(eq + 1, &content, NULL) < 0) {
                                        fprintf(stderr, "berth: opening seccomp profile (%s) failed: %s\n", eq + 1,
                                                strerror(errno));
                                        return 125;
                                }
                                j = json_loads(content, 0, NULL);
                                if (!j) {
                                        fprintf(stderr, "berth: compacting json for seccomp profile (%s) failed\n",
                                                eq + 1);
                                        return 125;
                                }
                                _cleanup_free_ char *compact = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
                                host_append(o, "SecurityOpt", json_sprintf("seccomp=%s", compact));
                        } else if (streq(optarg, "systempaths=unconfined")) {
                                json_object_set_new(o->host, "MaskedPaths", json_array());
                                json_object_set_new(o->host, "ReadonlyPaths", json_array());
                        } else
                                host_append(o, "SecurityOpt", json_string(optarg));
                        break;
                }
                case O_DEVICE: {
                        json_t *d = NULL;
                        if (opts_device(optarg, &d) < 0) {
                                fprintf(stderr, "berth: invalid device specification: %s\n", optarg);
                                return 125;
                        }
                        host_append(o, "Devices", d);
                        break;
                }
                case O_DEVRULE:
                        if (!opts_device_cgroup_rule(optarg)) {
                                _cleanup_free_ char *why = xasprintf("invalid device cgroup format '%s'", optarg);
                                return bad_value(optarg, "--device-cgroup-rule", why);
                        }
                        host_append(o, "DeviceCgroupRules", json_string(optarg));
                        break;
                case O_GROUPADD: host_append(o, "GroupAdd", json_string(optarg)); break;
                case O_DNS: {
                        unsigned char buf[16];
                        if (inet_pton(AF_INET, optarg, buf) != 1 && inet_pton(AF_INET6, optarg, buf) != 1) {
                                _cleanup_free_ char *why = xasprintf("%s is not an ip address", optarg);
                                return bad_value(optarg, "--dns", why);
                        }
                        host_append(o, "Dns", json_string(optarg));
                        break;
                }
                case O_DNSSEARCH: host_append(o, "DnsSearch", json_string(optarg)); break;
                case O_DNSOPT: host_append(o, "DnsOptions", json_string(optarg)); break;
                case O_ADDHOST: {
                        _cleanup_free_ char *h = opts_extra_host(optarg);
                        if (!h) {
                                _cleanup_free_ char *why = xasprintf("invalid IP address in add-host: \"%s\"", optarg);
                                return bad_value(optarg, "--add-host", why);
                        }
                        host_append(o, "ExtraHosts", json_string(h));
                        break;
                }
                case O_IPC: json_object_set_new(o->host, "IpcMode", json_string(optarg)); break;
                case O_PID:
                        if (*optarg && !streq(optarg, "host") && !startswith(optarg, "container:")) {
                                fputs("berth: --pid: invalid PID mode\n", stderr);
                                return 125;
                        }
                        json_object_set_new(o->host, "PidMode", json_string(optarg));
                        break;
                case O_UTS:
                        if (*optarg && !streq(optarg, "host")) {
                                fputs("berth: --uts: invalid UTS mode\n", stderr);
                                return 125;
                        }
                        json_object_set_new(o->host, "UTSMode", json_string(optarg));
                        break;
                case O_USERNS:
                        if (*optarg && !streq(optarg, "host")) {
                                fputs("berth: --userns: invalid USER mode\n", stderr);
                                return 125;
                        }
                        json_object_set_new(o->host, "UsernsMode", json_string(optarg));
                        break;
                case O_CGROUPNS:
                        if (*optarg && !streq(optarg, "host") && !streq(optarg, "private")) {
                                fputs("berth: --cgroupns: invalid CGROUP mode\n", stderr);
                                return 125;
                        }
                        json_object_set_new(o->host, "CgroupnsMode", json_string(optarg));
                        break;
                case O_CGROUPPARENT: json_object_set_new(o->host, "CgroupParent", json_string(optarg)); break;
                case O_RUNTIME: json_object_set_new(o->host, "Runtime", json_string(optarg)); break;
                case O_SYSCTL: {
                        const char *eq = strchr(optarg, '=');
                        if (!eq || eq == optarg) {
                                _cleanup_free_ char *why = xasprintf("%s is not a valid sysctl value", optarg);
                                return bad_value(optarg, "--sysctl", why);
                        }
                        json_t *m = json_object_get(o->host, "Sysctls");
                        if (!m) {
                                m = json_object();
                                json_object_set_new(o->host, "Sysctls", m);
                        }
                        _cleanup_free_ char *k = xstrndup(optarg, (size_t) (eq - optarg));
                        json_object_set_new(m, k, json_string(eq + 1));
                        break;
                }
                case O_ULIMIT: {
                        json_t *u = NULL;
                        if (opts_ulimit(optarg, &u) < 0) {
                                _cleanup_free_ char *why = xasprintf("invalid ulimit argument: %s", optarg);
                                return bad_value(optarg, "--ulimit", why);
                        }
                        host_append(o, "Ulimits", u);
                        break;
                }
                case O_RES_FIRST ... O_RES_END - 1:
                case 'm':
                case 'c':
                        if (res_flag(o, c == 'm' ? O_MEMORY : c == 'c' ? O_CPUSHARES : c, optarg))
                                return 125;
                        break;
                case O_SHMSIZE: {
                        long long v;
                        if (opts_ram_bytes(optarg, &v) < 0) {
                                _cleanup_free_ char *why = xasprintf("invalid size: '%s'", optarg);
                                return bad_value(optarg, "--shm-size", why);
                        }
                        json_object_set_new(o->host, "ShmSize", json_integer(v));
                        break;
                }
                case O_LOGDRIVER: o->log_driver = optarg; break;
                case O_LOGOPT: opts_label(o->log_opts, optarg); break;
                case O_CIDFILE: o->cidfile = optarg; break;
                case O_PLATFORM: o->platform = optarg; break;
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
                case O_NOHC:
                        if (bool_arg("--no-healthcheck", &o->no_healthcheck))
                                return 125;
                        break;
                case O_PULL:
                        if (!streq(optarg, "always") && !streq(optarg, "missing") && !streq(optarg, "never")) {
                                fprintf(stderr, "berth: invalid pull option: '%s': must be one of \"always\", "
                                        "\"missing\" or \"never\"\n", optarg);
                                return 125;
                        }
                        o->pull = optarg;
                        break;
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
                return run_error(cli, 125, "conflicting options: cannot specify both --restart and --rm");
        /* the docker CLI's health checks, in its order */
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
        if (o->detach && o->attach)
                return run_error(cli, 125, "conflicting options: cannot specify both --attach and --detach");
        if (o->log_driver && streq(o->log_driver, "none") && json_object_size(o->log_opts)) {
                _cleanup_free_ char *m = xasprintf("invalid logging opts for driver %s", o->log_driver);
                return run_error(cli, 125, m);
        }
        if (o->mac) {
                unsigned v[6];
                char tail;
                if (sscanf(o->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) {
                        _cleanup_free_ char *m = xasprintf("%s is not a valid mac address", o->mac);
                        return run_error(cli, 125, m);
                }
        }
        if ((o->aliases) && !user_defined_network(o->network))
                return run_error(cli, 125, "network-scoped aliases are only supported for user-defined networks");
        unsigned char buf[16];
        if (o->ip && inet_pton(AF_INET, o->ip, buf) != 1)
                return bad_value(o->ip, "--ip", "invalid string being converted to IP address");
        if (o->ip6 && inet_pton(AF_INET6, o->ip6, buf) != 1)
                return bad_value(o->ip6, "--ip6", "invalid string being converted to IP address");
        /* env files first, then -e, as docker's ReadKVEnvStrings */
        _cleanup_strv_free_ char **env = NULL;
        for (char **f = o->env_files; f && *f; f++)
                if (opts_env_file(*f, &env) < 0) {
                        fprintf(stderr, "berth: --env-file: open %s: %s\n", *f, strerror(errno));
                        return 125;
                }
        for (char **e = o->env; e && *e; e++)
                strv_extend(&env, *e);
        strv_free(o->env);
        o->env = TAKE_PTR(env);
        /* label files first, then -l */
        if (o->label_files) {
                _cleanup_strv_free_ char **lines = NULL;
                for (char **f = o->label_files; *f; f++)
                        if (opts_kv_file(*f, &lines) < 0) {
                                fprintf(stderr, "berth: --label-file: open %s: %s\n", *f, strerror(errno));
                                return 125;
                        }
                _cleanup_json_ json_t *labels = json_object();
                for (char **l = lines; l && *l; l++)
                        opts_label(labels, *l);
                json_object_update(labels, o->labels);
                json_decref(o->labels);
                o->labels = TAKE_PTR(labels);
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
        /* -a picks the streams; without it stdout and stderr, as in docker */
        bool attach = !o->detach;
        bool a_in = o->interactive, a_out = true, a_err = true;
        if (o->attach) {
                a_in = o->interactive || strv_contains(o->attach, "stdin");
                a_out = strv_contains(o->attach, "stdout");
                a_err = strv_contains(o->attach, "stderr");
        }
        json_t *cap_add, *cap_drop;
        opts_caps(o->cap_add, o->cap_drop, &cap_add, &cap_drop);
        json_t *host = json_pack("{s:o,s:s,s:O,s:o,s:b,s:b,s:o,s:o,s:o,s:b,s:b,s:{s:s,s:O}}", "Binds",
                                 opts_strv_json(o->binds), "NetworkMode", o->network ? o->network : "default",
                                 "PortBindings", o->bindings, "RestartPolicy", restart, "AutoRemove", o->rm,
                                 "Privileged", o->privileged, "Links", opts_strv_json(o->links), "CapAdd", cap_add,
                                 "CapDrop", cap_drop, "ReadonlyRootfs", o->read_only, "PublishAllPorts",
                                 o->publish_all, "LogConfig", "Type", o->log_driver ?: "", "Config", o->log_opts);
        /* what the docker CLI sends for flags not given, so that both make the same container */
        static const char *const empty_lists[] = { "Dns", "DnsOptions", "DnsSearch", "Devices", "Ulimits",
                                                   "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                                                   "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps" };
        for (size_t i = 0; i < ELEMENTSOF(empty_lists); i++)
                json_object_set_new(host, empty_lists[i], json_array());
        json_object_set_new(host, "MemorySwappiness", json_integer(-1));
        json_object_set_new(host, "PidsLimit", json_integer(0));
        json_object_update(host, o->host);
        if (o->init_set)
                json_object_set_new(host, "Init", json_boolean(o->init));
        if (o->cidfile)
                json_object_set_new(host, "ContainerIDFile", json_string(o->cidfile));
        json_t *endpoints = json_object();
        json_t *ep = json_object();
        if (o->aliases)
                json_object_set_new(ep, "Aliases", opts_strv_json(o->aliases));
        if (o->links && user_defined_network(o->network))
                json_object_set_new(ep, "Links", opts_strv_json(o->links));
        if (o->ip || o->ip6) {
                json_t *ipam = json_object();
                if (o->ip)
                        json_object_set_new(ipam, "IPv4Address", json_string(o->ip));
                if (o->ip6)
                        json_object_set_new(ipam, "IPv6Address", json_string(o->ip6));
                json_object_set_new(ep, "IPAMConfig", ipam);
        }
        if (o->mac)
                json_object_set_new(ep, "MacAddress", json_string(o->mac));
        /* one network without endpoint options is left to the daemon, as docker does */
        if (!o->network || json_object_size(ep))
                json_object_set_new(endpoints, o->network ?: "default", ep);
        else
                json_decref(ep);
        json_t *body = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:o,s:s,s:O,s:s,s:o,s:O,s:o,s:{s:o}}",
                                 "Hostname", o->hostname ?: "", "Domainname", o->domainname ?: "", "User",
                                 o->user ?: "", "AttachStdin", a_in && attach, "AttachStdout", a_out && attach,
                                 "AttachStderr", a_err && attach, "Tty", o->tty, "OpenStdin", o->interactive,
                                 "StdinOnce", o->interactive && a_in && attach, "Env", opts_strv_json(o->env), "Cmd",
                                 opts_strv_json(cmd), "Image", image, "ExposedPorts", o->exposed, "WorkingDir",
                                 o->workdir ?: "", "Entrypoint", entry, "Labels", o->labels, "HostConfig", host,
                                 "NetworkingConfig", "EndpointsConfig", endpoints);
        if (!json_object_size(o->exposed))
                json_object_set_new(body, "ExposedPorts", json_null()); /* docker omits an empty set */
        json_object_set(body, "Volumes", o->volumes);
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
        if (o->stop_timeout_set)
                json_object_set_new(body, "StopTimeout", json_integer(o->stop_timeout));
        *ret = body;
        return 0;
}

/* "busybox" -> "busybox:latest" for messages and the pull. */
static char *tagged(const char *image)
{
        const char *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
        if (strchr(image, '@') || (colon && (!slash || colon > slash)))
                return xstrdup(image);
        return xasprintf("%s:latest", image);
}

int cli_progress_request(Cli *cli, const char *path, int upload_fd, const char *ctype, const char *err_prefix,
                         FILE *out);

/* Returns the new id, or NULL after printing the error (ret_code set). */
/* Pulls image with its progress on stderr (nothing with --quiet); 0 or the exit code. */
static int pull_image(Cli *cli, RunOpts *o, const char *image)
{
        _cleanup_free_ char *ref = tagged(image);
        const char *at = strchr(ref, '@');
        const char *slash = strrchr(ref, '/');
        const char *colon = strrchr(ref, ':');
        if (colon && slash && colon < slash)
                colon = NULL;
        _cleanup_free_ char *repo = at ? xstrndup(ref, (size_t) (at - ref)) : xstrndup(ref, (size_t) (colon - ref));
        _cleanup_free_ char *tag = xstrdup(at ? at + 1 : colon + 1);
        _cleanup_free_ char *er = client_escape(repo), *et = client_escape(tag);
        _cleanup_free_ char *ep = o->platform ? client_escape(o->platform) : NULL;
        _cleanup_free_ char *ppath = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", er, et,
                                               ep ? "&platform=" : "", ep ?: "");
        _cleanup_fclose_ FILE *devnull = o->quiet ? fopen("/dev/null", "we") : NULL;
        bool run = cli->cmd->fn == cmd_run;
        if (cli_progress_request(cli, ppath, -1, NULL, run ? "berth: " : NULL, devnull ?: stderr) != 0) {
                /* docker run words a failure as a usage error (125); create just reports it (1) */
                if (!run)
                        return 1;
                fprintf(stderr, "\nRun 'berth %s --help' for more information\n", cli->cmd_name);
                return 125;
        }
        return 0;
}

/* Returns the new id, or NULL after printing the error (ret_code set). */
/* A failed create leaves no --cidfile behind; returns NULL. */
static char *cidfile_drop(RunOpts *o)
{
        if (o->cidfile)
                unlink(o->cidfile);
        return NULL;
}

static char *create_container(Cli *cli, RunOpts *o, const char *image, char **cmd, int *ret_code)
{
        _cleanup_json_ json_t *body = NULL;
        if (build_create_body(o, image, cmd, &body) < 0) {
                _cleanup_free_ char *m = xasprintf("invalid restart policy format: %s", o->restart);
                *ret_code = run_error(cli, 125, m);
                return NULL;
        }
        /* docker refuses an existing --cidfile before it creates anything */
        _cleanup_close_ int cidfd = -EBADF;
        if (o->cidfile) {
                cidfd = open(o->cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (cidfd < 0) {
                        _cleanup_free_ char *m = errno == EEXIST
                                ? xasprintf("container ID file found, make sure the other container isn't running "
                                            "or delete %s", o->cidfile)
                                : xasprintf("failed to create the container ID file: %s", strerror(errno));
                        *ret_code = run_error(cli, 125, m);
                        return NULL;
                }
        }
        if (o->pull && streq(o->pull, "always") && (*ret_code = pull_image(cli, o, image)) != 0)
                return cidfile_drop(o);
        _cleanup_free_ char *en = o->name ? client_escape(o->name) : NULL;
        _cleanup_free_ char *eplat = o->platform ? client_escape(o->platform) : NULL;
        _cleanup_free_ char *path = xasprintf("/containers/create%s%s%s%s", en ? "?name=" : "", en ?: "",
                                              eplat ? (en ? "&platform=" : "?platform=") : "", eplat ?: "");
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_json_ json_t *out = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "POST", path, body, &out, &resp);
                if (st < 0) {
                        *ret_code = 125;
                        return cidfile_drop(o);
                }
                if (st == 404 && attempt == 0 && !(o->pull && !streq(o->pull, "missing"))) {
                        /* docker's --pull=missing: only a 404 triggers the pull */
                        _cleanup_free_ char *ref = tagged(image);
                        fprintf(stderr, "Unable to find image '%s' locally\n", ref);
                        if ((*ret_code = pull_image(cli, o, image)) != 0)
                                return cidfile_drop(o);
                        continue;
                }
                if (st >= 300 || !out) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        _cleanup_free_ char *full = xasprintf("Error response from daemon: %s", m);
                        if (cli->cmd->fn == cmd_run)
                                *ret_code = run_error(cli, 125, full);
                        else {
                                fprintf(stderr, "%s\n", full);
                                *ret_code = 1;
                        }
                        return cidfile_drop(o);
                }
                size_t i;
                json_t *w;
                json_array_foreach(json_object_get(out, "Warnings"), i, w)
                        fprintf(stderr, "WARNING: %s\n", json_string_value(w) ?: "");
                const char *id = json_str(out, "Id") ?: "";
                if (cidfd >= 0 && loop_write(cidfd, id, strlen(id)) < 0) {
                        _cleanup_free_ char *m = xasprintf("failed to write the container ID to the file: %s",
                                                           strerror(errno));
                        *ret_code = run_error(cli, 125, m);
                        return NULL;
                }
                return xstrdup(id);
        }
        *ret_code = 125;
        return cidfile_drop(o);
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

static int sig_pipe[2] = { -1, -1 };

static void on_proxied_signal(int sig)
{
        int saved = errno;
        unsigned char b = (unsigned char) sig;
        (void) !write(sig_pipe[1], &b, 1);
        errno = saved;
}

/* docker's --sig-proxy: the signals a user sends to the client go to the container. */
static void proxy_signals_start(void)
{
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
        if (sig_pipe[0] >= 0 || pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return;
        struct sigaction sa = { .sa_handler = on_proxied_signal };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaction(sigs[i], &sa, NULL);
}

static void proxy_signals_forward(Cli *cli, const char *resize_path)
{
        unsigned char b[16];
        ssize_t n;
        _cleanup_free_ char *base = xstrndup(resize_path, strlen(resize_path) - strlen("resize"));
        while ((n = read(sig_pipe[0], b, sizeof(b))) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        _cleanup_free_ char *path = xasprintf("%skill?signal=%d", base, b[i]);
                        client_request(cli->client, "POST", path, NULL, NULL, 0, NULL);
                }
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
        bool proxy = cli->sig_proxy && !tty && resize_path && startswith(resize_path, "/containers/");
        if (proxy)
                proxy_signals_start();
        char buf[32768], fbuf[32768 + DETACH_KEYS_MAX];
        for (;;) {
                struct pollfd p[4] = { { .fd = afd, .events = POLLIN },
                                       { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                                       { .fd = tty && resize_path ? winch_pipe[0] : -1, .events = POLLIN },
                                       { .fd = proxy ? sig_pipe[0] : -1, .events = POLLIN } };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[3].revents)
                        proxy_signals_forward(cli, resize_path);
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
                _cleanup_free_ char *apath = xasprintf("/containers/%s/attach?stderr=%d%s&stdout=%d&stream=1", id,
                                                       !cli->no_stderr, attach_stdin ? "&stdin=1" : "",
                                                       !cli->no_stdout);
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
        cli->sig_proxy = o.sig_proxy;
        if (o.attach) {
                cli->no_stdout = !strv_contains(o.attach, "stdout");
                cli->no_stderr = !strv_contains(o.attach, "stderr");
        }
        bool a_in = o.interactive || strv_contains(o.attach, "stdin");
        int r = cli_attach_and_wait(cli, id, a_in, o.tty, o.rm ? "removed" : "next-exit", true, true, false);
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
        static const CliOption opts[] = {
                { "attach", no_argument, NULL, 'a', "Attach STDOUT/STDERR and forward signals" },
                { "interactive", no_argument, NULL, 'i', "Attach container's STDIN" },
                { "detach-keys", required_argument, NULL, 0x100, "Override the key sequence for detaching a container" },
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
                cli->sig_proxy = true;
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
