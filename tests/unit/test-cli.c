/* Pure pieces of the berth CLI: table layout, templates, truncation,
 * stdcopy demux, filters and run-flag parsers. */
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/format.h"
#include "cli/opts.h"
#include "basic/stdcopy.h"
#include "test.h"

TEST(tabwriter_docker_layout)
{
        TabWriter t;
        tab_init(&t, 10);
        tab_add(&t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
        tab_add(&t, "busybox\tlatest\tc557530e1da1\t31 seconds ago\t1.98MB");
        _cleanup_free_ char *s = tab_render(&t);
        /* exactly what docker images printed against the reference daemon */
        ASSERT_STREQ(s, "REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n"
                        "busybox      latest    c557530e1da1   31 seconds ago   1.98MB\n");
}

TEST(tabwriter_empty_columns_and_utf8)
{
        TabWriter t;
        tab_init(&t, 10);
        tab_add(&t, "CONTAINER ID\tCOMMAND\tPORTS\tNAMES");
        tab_add(&t, "abc\t\"sh -c 'while true…\"\t\tx");
        _cleanup_free_ char *s = tab_render(&t);
        ASSERT_STREQ(s, "CONTAINER ID   COMMAND                PORTS     NAMES\n"
                        "abc            \"sh -c 'while true…\"             x\n");
}

TEST(ellipsis_and_quote)
{
        _cleanup_free_ char *a = fmt_ellipsis("sh -c 'while true; do sleep 1; done'", 20);
        ASSERT_STREQ(a, "sh -c 'while true; …");
        ASSERT_EQ(utf8_width(a), 20);
        _cleanup_free_ char *b = fmt_ellipsis("short", 20);
        ASSERT_STREQ(b, "short");
        _cleanup_free_ char *q = fmt_go_quote("a \"b\"\n\\");
        ASSERT_STREQ(q, "\"a \\\"b\\\"\\n\\\\\"");
        _cleanup_free_ char *id = fmt_trunc_id("sha256:c557530e1da1d06a442507f70140b3dcc7830fcf278e99ecbdb3ef7d49500cfc");
        ASSERT_STREQ(id, "c557530e1da1");
}

typedef struct Collected {
        char out[64], errs[64];
} Collected;

static int collect(int stream, const char *buf, size_t len, void *ud)
{
        Collected *c = ud;
        char *dst = stream == 2 ? c->errs : c->out;
        strncat(dst, buf, len);
        return 0;
}

TEST(stdcopy_demux_split_frames)
{
        static const char frames[] = "\x01\0\0\0\0\0\0\x04out\n\x02\0\0\0\0\0\0\x04" "err\n"
                                     "\x01\0\0\0\0\0\0\x03xyz";
        size_t n = sizeof(frames) - 1;
        /* feed one byte at a time: headers and payloads split everywhere */
        Collected c = { 0 };
        StdDemux d = { 0 };
        for (size_t i = 0; i < n; i++)
                ASSERT_OK(stdcopy_feed(&d, frames + i, 1, collect, &c));
        ASSERT_STREQ(c.out, "out\nxyz");
        ASSERT_STREQ(c.errs, "err\n");
        /* and all at once */
        Collected c2 = { 0 };
        StdDemux d2 = { 0 };
        ASSERT_OK(stdcopy_feed(&d2, frames, n, collect, &c2));
        ASSERT_STREQ(c2.out, "out\nxyz");
        StdDemux d3 = { 0 };
        ASSERT_EQ(stdcopy_feed(&d3, "\x09\0\0\0\0\0\0\x01x", 9, collect, &c2), -EBADMSG);
}

TEST(filters_query_json)
{
        _cleanup_json_ json_t *f = json_object();
        ASSERT_OK(filters_add(f, "status=exited"));
        ASSERT_OK(filters_add(f, "label=a=b"));
        ASSERT_TRUE(filters_add(f, "novalue") < 0);
        _cleanup_free_ char *q = filters_query(f);
        ASSERT_STREQ(q, "filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%2C%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D");
        _cleanup_json_ json_t *empty = json_object();
        _cleanup_free_ char *q2 = filters_query(empty);
        ASSERT_STREQ(q2, "");
}

TEST(run_flag_parsers)
{
        json_t *r = NULL;
        ASSERT_OK(opts_restart("on-failure:3", &r));
        ASSERT_STREQ(json_str(r, "Name"), "on-failure");
        ASSERT_EQ(json_int(r, "MaximumRetryCount", -1), 3);
        json_decref(r);
        ASSERT_TRUE(opts_restart("always:3", &r) < 0);
        ASSERT_TRUE(opts_restart("sometimes", &r) < 0);

        _cleanup_json_ json_t *exp = json_object(), *bind = json_object();
        ASSERT_OK(opts_publish("127.0.0.1:8080:80/udp", exp, bind));
        ASSERT_OK(opts_publish("9090:90", exp, bind));
        ASSERT_OK(opts_publish("7000", exp, bind));
        ASSERT_TRUE(opts_publish("80/bogus", exp, bind) < 0);
        ASSERT_TRUE(json_object_get(exp, "80/udp") && json_object_get(exp, "90/tcp") && json_object_get(exp, "7000/tcp"));
        json_t *b = json_array_get(json_object_get(bind, "80/udp"), 0);
        ASSERT_STREQ(json_str(b, "HostIp"), "127.0.0.1");
        ASSERT_STREQ(json_str(b, "HostPort"), "8080");
        ASSERT_STREQ(json_str(json_array_get(json_object_get(bind, "90/tcp"), 0), "HostPort"), "9090");
        ASSERT_STREQ(json_str(json_array_get(json_object_get(bind, "7000/tcp"), 0), "HostPort"), "");

        setenv("BERTH_TEST_VAR", "fromenv", 1);
        unsetenv("BERTH_TEST_UNSET");
        char path[] = "/tmp/berth-envfile-XXXXXX";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        const char *content = "# comment\n\nA=1\n  B=two words\nBERTH_TEST_VAR\nBERTH_TEST_UNSET\r\n";
        ASSERT_EQ(write(fd, content, strlen(content)), (long long) strlen(content));
        close(fd);
        _cleanup_strv_free_ char **env = NULL;
        ASSERT_OK(opts_env_file(path, &env));
        unlink(path);
        ASSERT_EQ(strv_length(env), 4);
        ASSERT_STREQ(env[0], "A=1");
        ASSERT_STREQ(env[1], "B=two words");
        ASSERT_STREQ(env[2], "BERTH_TEST_VAR=fromenv");
        ASSERT_STREQ(env[3], "BERTH_TEST_UNSET");

        _cleanup_json_ json_t *labels = json_object();
        opts_label(labels, "k=v=w");
        opts_label(labels, "flag");
        ASSERT_STREQ(json_str(labels, "k"), "v=w");
        ASSERT_STREQ(json_str(labels, "flag"), "");
}

TEST(run_flag_value_parsers)
{
        bool b;
        ASSERT_OK(opts_parse_bool("True", &b));
        ASSERT_TRUE(b);
        ASSERT_OK(opts_parse_bool("0", &b));
        ASSERT_TRUE(!b);
        ASSERT_TRUE(opts_parse_bool("yes", &b) < 0);

        long long v;
        ASSERT_OK(opts_ram_bytes("64m", &v));
        ASSERT_EQ(v, 64LL << 20);
        ASSERT_OK(opts_ram_bytes("1.5GiB", &v));
        ASSERT_EQ(v, 3LL << 29);
        ASSERT_OK(opts_ram_bytes("512", &v));
        ASSERT_EQ(v, 512);
        ASSERT_OK(opts_ram_bytes("2 kb", &v));
        ASSERT_EQ(v, 2048);
        ASSERT_TRUE(opts_ram_bytes("lots", &v) < 0);
        ASSERT_TRUE(opts_ram_bytes("5x", &v) < 0);

        json_t *u = NULL;
        ASSERT_OK(opts_ulimit("nofile=1024:2048", &u));
        _cleanup_free_ char *us = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ASSERT_STREQ(us, "{\"Name\":\"nofile\",\"Hard\":2048,\"Soft\":1024}");
        json_decref(u);
        ASSERT_OK(opts_ulimit("nproc=50", &u));
        ASSERT_EQ(json_int(u, "Hard", 0), 50);
        json_decref(u);
        ASSERT_TRUE(opts_ulimit("bogus=1", &u) < 0);
        ASSERT_TRUE(opts_ulimit("nofile=10:5", &u) < 0);

        json_t *d = NULL;
        ASSERT_OK(opts_device("/dev/null:/dev/x:rw", &d));
        ASSERT_STREQ(json_str(d, "PathInContainer"), "/dev/x");
        ASSERT_STREQ(json_str(d, "CgroupPermissions"), "rw");
        json_decref(d);
        ASSERT_OK(opts_device("/dev/fuse:m", &d));
        ASSERT_STREQ(json_str(d, "PathInContainer"), "/dev/fuse");
        ASSERT_STREQ(json_str(d, "CgroupPermissions"), "m");
        json_decref(d);
        ASSERT_TRUE(opts_device("/dev/a:rel:rw", &d) < 0);
        ASSERT_TRUE(opts_device("/dev/a:/b:rwx", &d) < 0);

        ASSERT_TRUE(opts_device_cgroup_rule("c 1:3 rwm"));
        ASSERT_TRUE(opts_device_cgroup_rule("a *:* m"));
        ASSERT_TRUE(!opts_device_cgroup_rule("c 1:3"));
        ASSERT_TRUE(!opts_device_cgroup_rule("x 1:3 r"));

        _cleanup_free_ char *h1 = opts_extra_host("db:10.0.0.5"), *h2 = opts_extra_host("v6=[::1]"),
                            *h3 = opts_extra_host("gw:host-gateway"), *h4 = opts_extra_host("bad:notip");
        ASSERT_STREQ(h1, "db:10.0.0.5");
        ASSERT_STREQ(h2, "v6:::1");
        ASSERT_STREQ(h3, "gw:host-gateway");
        ASSERT_TRUE(h4 == NULL);

        char *add[] = { (char *) "net_bind_service", (char *) "CAP_CHOWN", (char *) "chown", NULL };
        char *drop[] = { (char *) "all", (char *) "chown", NULL };
        json_t *ja, *jd;
        opts_caps(add, drop, &ja, &jd);
        _cleanup_free_ char *sa = json_dumps(ja, JSON_COMPACT), *sd = json_dumps(jd, JSON_COMPACT);
        ASSERT_STREQ(sa, "[\"CAP_CHOWN\",\"CAP_NET_BIND_SERVICE\"]");
        ASSERT_STREQ(sd, "[\"ALL\"]");
        json_decref(ja);
        json_decref(jd);
        opts_caps(NULL, NULL, &ja, &jd);
        ASSERT_TRUE(json_is_null(ja) && json_is_null(jd));

        _cleanup_json_ json_t *exp = json_object();
        ASSERT_OK(opts_expose("8000-8002/udp", exp));
        ASSERT_OK(opts_expose("90", exp));
        ASSERT_EQ(json_object_size(exp), 4);
        ASSERT_TRUE(json_object_get(exp, "8001/udp") && json_object_get(exp, "90/tcp"));
        ASSERT_TRUE(opts_expose("9-8", exp) < 0);
        ASSERT_TRUE(opts_expose("80/icmp", exp) < 0);
}

TEST(mount_flag)
{
        json_t *m = NULL;
        char *err = NULL;
        ASSERT_OK(opts_mount("type=bind,src=/a,dst=/b,readonly,bind-propagation=rslave", &m, &err));
        char *s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
        ASSERT_STREQ(s, "{\"BindOptions\":{\"Propagation\":\"rslave\"},\"ReadOnly\":true,\"Source\":\"/a\","
                        "\"Target\":\"/b\",\"Type\":\"bind\"}");
        free(s);
        json_decref(m);
        ASSERT_OK(opts_mount("dst=/v,volume-nocopy", &m, &err));
        s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
        ASSERT_STREQ(s, "{\"Target\":\"/v\",\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":{},"
                        "\"NoCopy\":true}}");
        free(s);
        json_decref(m);
        ASSERT_OK(opts_mount("dst=/v,volume-nocopy,volume-label=a=b,volume-opt=type=tmpfs,volume-subpath=x", &m, &err));
        s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
        ASSERT_STREQ(s, "{\"Target\":\"/v\",\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":{\"Options\":"
                        "{\"type\":\"tmpfs\"}},\"Labels\":{\"a\":\"b\"},\"NoCopy\":true,\"Subpath\":\"x\"}}");
        free(s);
        json_decref(m);
        ASSERT_OK(opts_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770", &m, &err));
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(m, "TmpfsOptions"), "SizeBytes")), 1048576);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(m, "TmpfsOptions"), "Mode")), 01770);
        json_decref(m);
        static const char *const bad[][2] = {
                { "type=tmpfs,dst=/x,volume-nocopy", "cannot mix 'volume-*' options with mount type 'tmpfs'" },
                { "type=volume,src=v,dst=/x,bind-propagation=shared",
                  "cannot mix 'bind-*' options with mount type 'volume'" },
                { "type=bind,src=/a,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'bind'" },
                { "type=bind,src=/a", "target is required" },
                { "dst=/x,bogus=1", "unexpected key 'bogus' in 'dst=/x,bogus=1'" },
                { "dst=/x,src", "invalid field 'src' must be a key=value pair" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_TRUE(opts_mount(bad[i][0], &m, &err) < 0);
                ASSERT_STREQ(err, bad[i][1]);
                free(err);
                err = NULL;
        }
}

TEST_MAIN
