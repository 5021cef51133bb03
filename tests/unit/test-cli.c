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

TEST(template_fields_functions_table)
{
        _cleanup_json_ json_t *ctx = json_loads(
                "{\"Name\":\"web\",\"State\":{\"Running\":true,\"Pid\":42},\"Env\":[\"A=1\",\"B=2\"],"
                "\"Labels\":{\"z\":\"1\",\"a\":\"2\"}}", 0, NULL);
        ASSERT_TRUE(ctx);
        Template t;
        ASSERT_OK(tmpl_parse("{{.Name}} {{.State.Running}} {{.State.Pid}} {{json .Env}} {{join .Env \",\"}} "
                             "{{index .Labels \"a\"}} {{.Labels}} {{upper .Name}} {{.Missing}}", &t));
        ASSERT_TRUE(!t.table);
        _cleanup_free_ char *out = NULL;
        char *err = NULL;
        ASSERT_OK(tmpl_render(&t, ctx, &out, &err));
        ASSERT_STREQ(out, "web true 42 [\"A=1\",\"B=2\"] A=1,B=2 2 map[a:2 z:1] WEB <no value>");
        tmpl_free(&t);

        ASSERT_OK(tmpl_parse("table {{.Name}}\\t{{.Name}}", &t));
        ASSERT_TRUE(t.table);
        ASSERT_STREQ(t.text, "{{.Name}}\t{{.Name}}");
        tmpl_free(&t);

        ASSERT_OK(tmpl_parse("{{.Name", &t));
        ASSERT_TRUE(tmpl_render(&t, ctx, &out, &err) < 0);
        ASSERT_TRUE(err != NULL);
        free(err);
        tmpl_free(&t);
        ASSERT_OK(tmpl_parse("{{nosuchfunc .Name}}", &t));
        err = NULL;
        ASSERT_TRUE(tmpl_render(&t, ctx, &out, &err) < 0);
        ASSERT_TRUE(err && strstr(err, "nosuchfunc"));
        free(err);
        tmpl_free(&t);
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

TEST_MAIN
