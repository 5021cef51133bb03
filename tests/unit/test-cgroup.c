/* The cgroup value translations (v1 HostConfig values to v2 files), memory.stat parsing, the
 * spec.json resources, and docker stats' arithmetic in the CLI. */
#include <string.h>

#include "basic/util.h"
#include "cli/stats.h"
#include "runtime/cgroup.h"
#include "test.h"

TEST(cpu_weight_from_shares)
{
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(0), 0);
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(2), 1);
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(1024), 39); /* Docker's default shares: runc's 39 */
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(512), 20);
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(262144), 10000);
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(1u << 30), 10000);
        ASSERT_EQ(rt_cgroup_v2_cpu_weight(1), 1);
}

TEST(io_weight_from_blkio_weight)
{
        ASSERT_EQ(rt_cgroup_v2_io_weight(10), 1);
        ASSERT_EQ(rt_cgroup_v2_io_weight(1000), 10000);
        ASSERT_EQ(rt_cgroup_v2_io_weight(500), 1 + 490 * 9999 / 990);
}

TEST(cpu_max_from_quota_and_period)
{
        _cleanup_free_ char *a = rt_cgroup_v2_cpu_max(50000, 100000);
        _cleanup_free_ char *b = rt_cgroup_v2_cpu_max(0, 100000);
        _cleanup_free_ char *c = rt_cgroup_v2_cpu_max(-1, 0);
        _cleanup_free_ char *d = rt_cgroup_v2_cpu_max(150000, 0);
        ASSERT_STREQ(a, "50000 100000");
        ASSERT_STREQ(b, "max 100000");
        ASSERT_STREQ(c, "max 100000");
        ASSERT_STREQ(d, "150000 100000");
}

TEST(swap_max_is_memory_swap_minus_memory)
{
        _cleanup_free_ char *a = rt_cgroup_v2_swap_max(128 << 20, 64 << 20);
        _cleanup_free_ char *b = rt_cgroup_v2_swap_max(-1, 64 << 20);
        _cleanup_free_ char *c = rt_cgroup_v2_swap_max(64 << 20, 64 << 20);
        _cleanup_free_ char *d = rt_cgroup_v2_swap_max(128 << 20, 0);
        ASSERT_STREQ(a, "67108864");
        ASSERT_STREQ(b, "max");
        ASSERT_STREQ(c, "0"); /* --memory-swap equal to --memory: no swap */
        ASSERT_STREQ(d, "max");
}

TEST(io_max_lines)
{
        _cleanup_free_ char *a = rt_cgroup_v2_io_max_line("8:0 1048576", "rbps");
        _cleanup_free_ char *b = rt_cgroup_v2_io_max_line("253:16 100", "wiops");
        ASSERT_STREQ(a, "8:0 rbps=1048576");
        ASSERT_STREQ(b, "253:16 wiops=100");
        ASSERT_TRUE(rt_cgroup_v2_io_max_line("8:0", "rbps") == NULL);
        ASSERT_TRUE(rt_cgroup_v2_io_max_line("sda 1", "rbps") == NULL);
        ASSERT_TRUE(rt_cgroup_v2_io_max_line("8:0 1 2", "rbps") == NULL);
        ASSERT_TRUE(rt_cgroup_v2_io_max_line(NULL, "rbps") == NULL);
}

TEST(memory_stat_parsing)
{
        /* v1 and v2 memory.stat are both "key value" lines */
        json_t *o = rt_cgroup_parse_keyed("cache 0\nrss 106496\nhierarchical_memory_limit 9223372036854771712\n"
                                          "bad\nnot_a_number x\n\nanon 4096");
        ASSERT_EQ(json_object_size(o), 4);
        ASSERT_EQ(json_integer_value(json_object_get(o, "rss")), 106496);
        ASSERT_EQ(json_integer_value(json_object_get(o, "hierarchical_memory_limit")), 9223372036854771712LL);
        ASSERT_EQ(json_integer_value(json_object_get(o, "anon")), 4096);
        ASSERT_TRUE(json_object_get(o, "not_a_number") == NULL);
        json_decref(o);
        o = rt_cgroup_parse_keyed("usage_usec 1000\nnr_periods 5\nnr_throttled 2\nthrottled_usec 300\n");
        ASSERT_EQ(json_integer_value(json_object_get(o, "nr_throttled")), 2);
        json_decref(o);
        o = rt_cgroup_parse_keyed("");
        ASSERT_EQ(json_object_size(o), 0);
        json_decref(o);
}

TEST(spec_resources_round_trip)
{
        json_t *j = json_pack("{s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:s,s:[s],s:[s]}", "memory", (json_int_t) 64 << 20,
                              "memory_swap", (json_int_t) -1, "pids_limit", (json_int_t) -1, "oom_kill_disable", 1,
                              "cpu_quota", (json_int_t) 50000, "cpu_period", (json_int_t) 100000, "cpu_shares",
                              (json_int_t) 512, "cpuset_cpus", "0-1", "blkio_read_bps", "8:0 1024", "blkio_weight_device",
                              "8:0 300");
        RtCgroupResources r;
        rt_cgroup_resources_from_json(j, &r);
        ASSERT_EQ(r.memory, 64 << 20);
        ASSERT_EQ(r.memory_swap, -1);
        ASSERT_EQ(r.pids_limit, -1);
        ASSERT_EQ(r.swappiness, -1); /* absent: unchanged */
        ASSERT_TRUE(r.oom_kill_disable);
        ASSERT_EQ(r.cpu_quota, 50000);
        ASSERT_STREQ(r.cpuset_cpus, "0-1");
        ASSERT_TRUE(r.cpuset_mems == NULL);
        ASSERT_STREQ(r.blkio_read_bps[0], "8:0 1024");
        ASSERT_TRUE(r.blkio_write_bps == NULL);
        rt_cgroup_resources_done(&r);
        json_decref(j);
}

TEST(cli_sizes_as_docker_prints_them)
{
        _cleanup_free_ char *a = stats_bytes_size(188 * 1024);
        _cleanup_free_ char *b = stats_bytes_size(20 << 20);
        _cleanup_free_ char *c = stats_bytes_size(25276182528.0);
        _cleanup_free_ char *d = stats_human_size(1490);
        _cleanup_free_ char *e = stats_human_size(656);
        _cleanup_free_ char *f = stats_human_size(0);
        ASSERT_STREQ(a, "188KiB");
        ASSERT_STREQ(b, "20MiB");
        ASSERT_STREQ(c, "23.54GiB");
        ASSERT_STREQ(d, "1.49kB");
        ASSERT_STREQ(e, "656B");
        ASSERT_STREQ(f, "0B");
}

TEST(cli_stats_row)
{
        json_t *cur = json_loads(
                "{\"id\":\"0123456789abcdef\",\"name\":\"/web\",\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":3000000000},"
                "\"system_cpu_usage\":20000000000,\"online_cpus\":2},\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":"
                "2000000000},\"system_cpu_usage\":10000000000},\"memory_stats\":{\"usage\":10485760,\"limit\":"
                "20971520,\"stats\":{\"total_inactive_file\":2097152}},\"pids_stats\":{\"current\":3},"
                "\"networks\":{\"eth0\":{\"rx_bytes\":1000,\"tx_bytes\":500},\"eth1\":{\"rx_bytes\":490,"
                "\"tx_bytes\":0}},\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"op\":\"Read\",\"value\":4096},"
                "{\"op\":\"write\",\"value\":8192},{\"op\":\"Total\",\"value\":12288}]}}",
                0, NULL);
        ASSERT_TRUE(cur != NULL);
        json_t *row = stats_row(cur, NULL, NULL, false);
        /* 1 s of CPU in 10 s of the host's two CPUs' time: 20% */
        ASSERT_STREQ(json_string_value(json_object_get(row, "CPUPerc")), "20.00%");
        ASSERT_STREQ(json_string_value(json_object_get(row, "MemUsage")), "8MiB / 20MiB");
        ASSERT_STREQ(json_string_value(json_object_get(row, "MemPerc")), "40.00%");
        ASSERT_STREQ(json_string_value(json_object_get(row, "NetIO")), "1.49kB / 500B");
        ASSERT_STREQ(json_string_value(json_object_get(row, "BlockIO")), "4.1kB / 8.19kB");
        ASSERT_STREQ(json_string_value(json_object_get(row, "PIDs")), "3");
        ASSERT_STREQ(json_string_value(json_object_get(row, "ID")), "0123456789ab");
        ASSERT_STREQ(json_string_value(json_object_get(row, "Name")), "web");
        json_decref(row);
        json_decref(cur);
}

TEST_MAIN
