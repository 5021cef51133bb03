/* berth stats and berth update, with docker's flags and output. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/stats.h"

#define STATS_TABLE "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

/* The containers to show: those named, else every running one (every one with all). */
static int stats_targets(Cli *cli, int argc, char **argv, bool all, json_t **ret)
{
        json_t *l = json_array();
        if (argc > 0) {
                for (int i = 0; i < argc; i++)
                        json_array_append_new(l, json_string(argv[i]));
                *ret = l;
                return 0;
        }
        _cleanup_json_ json_t *cs = NULL;
        if (cli_get_json(cli, all ? "/containers/json?all=1" : "/containers/json", &cs) != 0) {
                json_decref(l);
                return 1;
        }
        size_t i;
        json_t *c;
        json_array_foreach(cs, i, c) json_array_append_new(l, json_string(json_str(c, "Id") ?: ""));
        *ret = l;
        return 0;
}

/* One sample per target (one-shot: no wait in the daemon); NULL entries for the ones that failed. */
static int sample_all(Cli *cli, json_t *targets, bool named, json_t **ret)
{
        json_t *out = json_array();
        size_t i;
        json_t *t;
        int rc = 0;
        json_array_foreach(targets, i, t) {
                _cleanup_free_ char *e = client_escape(json_string_value(t));
                _cleanup_free_ char *p = xasprintf("/containers/%s/stats?stream=false&one-shot=true", e);
                json_t *j = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "GET", p, NULL, &j, &resp);
                if (st < 0)
                        rc = 1;
                else if (st >= 400 && named) {
                        client_print_error(resp.body);
                        rc = 1;
                }
                json_array_append_new(out, st == 200 && j ? j : json_null());
                if (st != 200)
                        json_decref(j);
        }
        *ret = out;
        return rc;
}

int cmd_stats(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "all", no_argument, NULL, 'a', "Show all containers (default shows just running)" },
                { "no-stream", no_argument, NULL, 's', "Disable streaming stats and only pull the first result" },
                { "no-trunc", no_argument, NULL, 't', "Do not truncate output" },
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT_TABLE },
                CLI_HELP_OPTION,
                {},
        };
        bool all = false, no_stream = false, no_trunc = false;
        const char *format = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "a", opts)) != -1) {
                switch (c) {
                case 'a': all = true; break;
                case 's': no_stream = true; break;
                case 't': no_trunc = true; break;
                case 'f': format = optarg; break;
                CLI_OPT_DEFAULT;
                }
        }
        if (format && streq(format, "table"))
                format = NULL;
        bool named = argc - optind > 0;
        _cleanup_json_ json_t *hdr = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Name",
                                               "NAME", "Container", "CONTAINER", "CPUPerc", "CPU %", "MemUsage",
                                               "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO", "NET I/O",
                                               "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
        _cleanup_json_ json_t *prev = NULL;
        for (int round = 0;; round++) {
                _cleanup_json_ json_t *targets = NULL;
                if (stats_targets(cli, argc - optind, argv + optind, all, &targets) != 0)
                        return 1;
                _cleanup_json_ json_t *cur = NULL;
                int rc = sample_all(cli, targets, named, &cur);
                if (rc != 0 && named)
                        return rc;
                /* The CPU figure needs two samples: the first round only primes them. */
                if (round == 0) {
                        prev = TAKE_PTR(cur);
                        sleep(1);
                        continue;
                }
                _cleanup_json_ json_t *rows = json_array();
                size_t i;
                json_t *s;
                json_array_foreach(cur, i, s) {
                        if (json_is_null(s))
                                continue;
                        json_t *p = NULL, *q;
                        size_t k;
                        json_array_foreach(prev, k, q) if (streq(json_str(q, "id") ?: "", json_str(s, "id") ?: ""))
                                p = q;
                        json_array_append_new(rows, stats_row(s, p, named ? json_string_value(json_array_get(targets, i))
                                                                          : NULL, no_trunc));
                }
                if (!no_stream)
                        fputs("\033[2J\033[H", stdout); /* the live view redraws in place, as docker's */
                if (cli_print_rows(format, STATS_TABLE, "*container.statsContext", hdr, rows, 10) != 0)
                        return 1;
                fflush(stdout);
                if (no_stream)
                        return 0;
                json_decref(prev);
                prev = TAKE_PTR(cur);
                sleep(1);
        }
}

/* ---- update ---- */

static int bytes_flag(Cli *cli, const char *flag, const char *v, bool allow_minus_one, json_t *body,
                      const char *key)
{
        long long b = allow_minus_one && streq(v, "-1") ? -1 : parse_ram_bytes(v);
        if (b < 0 && !(allow_minus_one && b == -1 && streq(v, "-1")))
                return cli_usage_error(cli, "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v, flag, v);
        json_object_set_new(body, key, json_integer(b));
        return 0;
}

static int int_flag(Cli *cli, const char *flag, const char *v, json_t *body, const char *key)
{
        char *end;
        long long n = strtoll(v, &end, 10);
        if (!*v || *end)
                return cli_usage_error(cli, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": "
                                       "invalid syntax", v, flag, v);
        json_object_set_new(body, key, json_integer(n));
        return 0;
}

int cmd_update(Cli *cli, int argc, char **argv)
{
        enum { O_MEM = 'm', O_SWAP = 0x100, O_RESV, O_KMEM, O_CPUS, O_SHARES, O_PERIOD, O_QUOTA, O_RTP, O_RTR,
               O_CPUSET, O_MEMS, O_PIDS, O_BLKIO, O_RESTART };
        static const CliOption opts[] = {
                { "memory", required_argument, NULL, O_MEM, "Memory limit", "bytes" },
                { "memory-swap", required_argument, NULL, O_SWAP, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "bytes" },
                { "memory-reservation", required_argument, NULL, O_RESV, "Memory soft limit", "bytes" },
                { "kernel-memory", required_argument, NULL, O_KMEM, "Kernel memory limit (deprecated)", "bytes" },
                { "cpus", required_argument, NULL, O_CPUS, "Number of CPUs", "decimal" },
                { "cpu-shares", required_argument, NULL, 'c', "CPU shares (relative weight)", "int" },
                { "cpu-period", required_argument, NULL, O_PERIOD, "Limit CPU CFS (Completely Fair Scheduler) period", "int" },
                { "cpu-quota", required_argument, NULL, O_QUOTA, "Limit CPU CFS (Completely Fair Scheduler) quota", "int" },
                { "cpu-rt-period", required_argument, NULL, O_RTP, "Limit the CPU real-time period in microseconds", "int" },
                { "cpu-rt-runtime", required_argument, NULL, O_RTR, "Limit the CPU real-time runtime in microseconds", "int" },
                { "cpuset-cpus", required_argument, NULL, O_CPUSET, "CPUs in which to allow execution (0-3, 0,1)" },
                { "cpuset-mems", required_argument, NULL, O_MEMS, "MEMs in which to allow execution (0-3, 0,1)" },
                { "pids-limit", required_argument, NULL, O_PIDS, "Tune container pids limit (set -1 for unlimited)", "int" },
                { "blkio-weight", required_argument, NULL, O_BLKIO, "Block IO (relative weight), between 10 and 1000, or 0 to disable", "uint16", "0" },
                { "restart", required_argument, NULL, O_RESTART, "Restart policy to apply when a container exits" },
                CLI_HELP_OPTION,
                {},
        };
        _cleanup_json_ json_t *body = json_object();
        int c, r = 0;
        while (r == 0 && (c = cli_getopt(cli, argc, argv, "m:c:", opts)) != -1) {
                switch (c) {
                case O_MEM: r = bytes_flag(cli, "--memory", optarg, false, body, "Memory"); break;
                case O_SWAP: r = bytes_flag(cli, "--memory-swap", optarg, true, body, "MemorySwap"); break;
                case O_RESV: r = bytes_flag(cli, "--memory-reservation", optarg, false, body, "MemoryReservation"); break;
                case O_KMEM: r = bytes_flag(cli, "--kernel-memory", optarg, false, body, "KernelMemory"); break;
                case O_CPUS: {
                        char *end;
                        double d = strtod(optarg, &end);
                        int64_t nano;
                        if (!*optarg || *end || d < 0 || !double_to_int64(d * 1e9 + 0.5, &nano))
                                return cli_usage_error(cli, "invalid argument \"%s\" for \"--cpus\" flag: failed to "
                                                       "parse %s as a rational number", optarg, optarg);
                        json_object_set_new(body, "NanoCpus", json_integer(nano));
                        break;
                }
                case 'c': r = int_flag(cli, "--cpu-shares", optarg, body, "CpuShares"); break;
                case O_PERIOD: r = int_flag(cli, "--cpu-period", optarg, body, "CpuPeriod"); break;
                case O_QUOTA: r = int_flag(cli, "--cpu-quota", optarg, body, "CpuQuota"); break;
                case O_RTP: r = int_flag(cli, "--cpu-rt-period", optarg, body, "CpuRealtimePeriod"); break;
                case O_RTR: r = int_flag(cli, "--cpu-rt-runtime", optarg, body, "CpuRealtimeRuntime"); break;
                case O_CPUSET: json_object_set_new(body, "CpusetCpus", json_string(optarg)); break;
                case O_MEMS: json_object_set_new(body, "CpusetMems", json_string(optarg)); break;
                case O_PIDS: r = int_flag(cli, "--pids-limit", optarg, body, "PidsLimit"); break;
                case O_BLKIO: r = int_flag(cli, "--blkio-weight", optarg, body, "BlkioWeight"); break;
                case O_RESTART: {
                        /* name[:max-retries] */
                        _cleanup_free_ char *n = xstrdup(optarg);
                        char *colon = strchr(n, ':');
                        long long max = 0;
                        if (colon) {
                                *colon = 0;
                                max = atoll(colon + 1);
                        }
                        json_object_set_new(body, "RestartPolicy",
                                            json_pack("{s:s,s:I}", "Name", n, "MaximumRetryCount", (json_int_t) max));
                        break;
                }
                CLI_OPT_DEFAULT;
                }
        }
        if (r != 0)
                return r;
        if (argc - optind < 1)
                return cli_args_error(cli, "at least 1 argument");
        if (json_object_size(body) == 0) {
                fprintf(stderr, "berth: you must provide one or more flags when using this command\n");
                return 1;
        }
        json_t *warnings = json_array();
        _cleanup_json_ json_t *wown = warnings;
        _cleanup_free_ char *errs = NULL;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *e = client_escape(argv[i]);
                _cleanup_free_ char *p = xasprintf("/containers/%s/update", e);
                _cleanup_json_ json_t *out = NULL;
                _cleanup_response_ Response resp = { 0 };
                int st = client_json(cli->client, "POST", p, body, &out, &resp);
                if (st < 0)
                        return 1;
                if (st >= 400) {
                        _cleanup_free_ char *m = client_error_message(resp.body);
                        char *ne = xasprintf("%s%sError response from daemon: %s", errs ? errs : "", errs ? "\n" : "", m);
                        free(errs);
                        errs = ne;
                        continue;
                }
                printf("%s\n", argv[i]);
                json_array_extend(warnings, json_object_get(out, "Warnings"));
        }
        size_t k;
        json_t *w;
        json_array_foreach(warnings, k, w) printf("%s\n", json_string_value(w) ?: "");
        if (errs) {
                fprintf(stderr, "%s\n", errs);
                return 1;
        }
        return 0;
}
