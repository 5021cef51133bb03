/* docker stats' arithmetic (docker/cli cli/command/container/stats_helpers.go), on the JSON of
 * GET /containers/{id}/stats. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/stats.h"

static char *sized(double v, double base, const char *const *units, size_t n, int prec)
{
        size_t i = 0;
        while (v >= base && i + 1 < n) {
                v /= base;
                i++;
        }
        return xasprintf("%.*g%s", prec, v, units[i]);
}

char *stats_bytes_size(double v)
{
        static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        return sized(v, 1024.0, u, ELEMENTSOF(u), 4);
}

char *stats_human_size(double v)
{
        static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
        return sized(v, 1000.0, u, ELEMENTSOF(u), 3);
}

static double num(json_t *o, const char *path)
{
        /* "a.b.c" */
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        json_t *v = o;
        for (char *t = strtok_r(copy, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
                v = json_object_get(v, t);
        return json_is_number(v) ? json_number_value(v) : 0;
}

json_t *stats_row(json_t *cur, json_t *prev, const char *container, bool no_trunc)
{
        /* CPU %: the container's share of the host's time since the previous sample, times the CPUs */
        json_t *pre = prev ? json_object_get(prev, "cpu_stats") : json_object_get(cur, "precpu_stats");
        double cpu_delta = num(cur, "cpu_stats.cpu_usage.total_usage") - num(pre, "cpu_usage.total_usage");
        double sys_delta = num(cur, "cpu_stats.system_cpu_usage") - num(pre, "system_cpu_usage");
        double online = num(cur, "cpu_stats.online_cpus");
        if (online == 0)
                online = (double) json_array_size(
                        json_object_get(json_object_get(json_object_get(cur, "cpu_stats"), "cpu_usage"), "percpu_usage"));
        double cpu = sys_delta > 0 && cpu_delta > 0 ? cpu_delta / sys_delta * online * 100.0 : 0;

        /* memory without the page cache that could be dropped (v1 total_inactive_file, v2 inactive_file) */
        json_t *ms = json_object_get(json_object_get(cur, "memory_stats"), "stats");
        double usage = num(cur, "memory_stats.usage"), limit = num(cur, "memory_stats.limit");
        json_t *tif = json_object_get(ms, "total_inactive_file"), *inf = json_object_get(ms, "inactive_file");
        if (tif && json_number_value(tif) < usage)
                usage -= json_number_value(tif);
        else if (!tif && inf && json_number_value(inf) < usage)
                usage -= json_number_value(inf);
        double memp = limit > 0 ? usage / limit * 100.0 : 0;

        double rx = 0, tx = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(cur, "networks"), k, v) {
                rx += num(v, "rx_bytes");
                tx += num(v, "tx_bytes");
        }
        double rd = 0, wr = 0;
        size_t i;
        json_array_foreach(json_object_get(json_object_get(cur, "blkio_stats"), "io_service_bytes_recursive"), i, v) {
                const char *op = json_str(v, "op");
                if (op && strcasecmp(op, "read") == 0)
                        rd += num(v, "value");
                else if (op && strcasecmp(op, "write") == 0)
                        wr += num(v, "value");
        }

        const char *id = json_str(cur, "id") ?: "";
        const char *name = json_str(cur, "name") ?: "";
        if (*name == '/')
                name++;
        _cleanup_free_ char *sid = xstrndup(id, no_trunc ? strlen(id) : 12);
        _cleanup_free_ char *cpup = xasprintf("%.2f%%", cpu), *memperc = xasprintf("%.2f%%", memp);
        _cleanup_free_ char *mu = stats_bytes_size(usage), *ml = stats_bytes_size(limit);
        _cleanup_free_ char *memu = xasprintf("%s / %s", mu, ml);
        _cleanup_free_ char *r1 = stats_human_size(rx), *t1 = stats_human_size(tx);
        _cleanup_free_ char *netio = xasprintf("%s / %s", r1, t1);
        _cleanup_free_ char *r2 = stats_human_size(rd), *w2 = stats_human_size(wr);
        _cleanup_free_ char *blkio = xasprintf("%s / %s", r2, w2);
        _cleanup_free_ char *pids = xasprintf("%lld", (long long) num(cur, "pids_stats.current"));
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", sid, "Name", name, "Container",
                         container ? container : sid, "CPUPerc", cpup, "MemUsage", memu, "MemPerc", memperc, "NetIO",
                         netio, "BlockIO", blkio, "PIDs", pids);
}
