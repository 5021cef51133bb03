/* Healthchecks, the pure part (src/engine/healthcheck.c): validation, the image merge, settings,
 * the probe's argv, the result log and its status rules; and Go's duration text. */
#include <jansson.h>

#include "basic/error.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/health.h"
#include "test.h"

#define MS 1000000LL
#define SEC 1000000000LL

static char *check_msg(const char *hc_text)
{
        json_t *hc = json_loads(hc_text, JSON_DECODE_ANY, NULL);
        BerthError *err = NULL;
        int r = health_config_check(hc, &err);
        char *m = r < 0 ? xstrdup(err->msg) : NULL;
        berr_free(err);
        json_decref(hc);
        return m;
}

TEST(validation_messages)
{
        static const struct {
                const char *in, *msg;
        } cases[] = {
                { "{\"Interval\":500}", "Interval in Healthcheck cannot be less than 1ms" },
                { "{\"Timeout\":-1}", "Timeout in Healthcheck cannot be less than 1ms" },
                { "{\"Retries\":-1}", "Retries in Healthcheck cannot be negative" },
                { "{\"StartPeriod\":999999}", "StartPeriod in Healthcheck cannot be less than 1ms" },
                { "{\"StartInterval\":1}", "StartInterval in Healthcheck cannot be less than 1ms" },
                { "{\"Interval\":\"1s\"}", "json: cannot unmarshal string into Go struct field "
                                           "HealthConfig.Healthcheck.Interval of type time.Duration" },
                { "{\"Test\":\"true\"}", "json: cannot unmarshal string into Go struct field "
                                         "HealthConfig.Healthcheck.Test of type []string" },
                { "{\"Test\":[true]}", "json: cannot unmarshal bool into Go struct field "
                                       "HealthConfig.Healthcheck.Test of type string" },
                { "{\"Retries\":2.5}", "json: cannot unmarshal number 2.5 into Go struct field "
                                       "HealthConfig.Healthcheck.Retries of type int" },
                { "[]", "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Healthcheck of "
                        "type container.HealthConfig" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *m = check_msg(cases[i].in);
                ASSERT_STREQ(m, cases[i].msg);
        }
        /* the limits themselves are fine, and so are zeroes (inherit) and null */
        const char *ok[] = { "{\"Interval\":1000000,\"Timeout\":0,\"Retries\":0,\"StartPeriod\":1000000}", "null",
                             "{}", "{\"Test\":[]}" };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *m = check_msg(ok[i]);
                ASSERT_TRUE(m == NULL);
        }
}

TEST(check_keeps_nonzero_known_fields)
{
        json_t *hc = json_loads("{\"Test\":[\"CMD\",\"true\"],\"Interval\":0,\"Retries\":2,\"Foo\":1,"
                                "\"StartInterval\":null}", 0, NULL);
        ASSERT_EQ(health_config_check(hc, NULL), 0);
        _cleanup_free_ char *s = json_dump(hc);
        ASSERT_STREQ(s, "{\"Test\":[\"CMD\",\"true\"],\"Retries\":2}");
        json_decref(hc);
}

TEST(merge_field_by_field)
{
        json_t *img = json_loads("{\"Test\":[\"CMD-SHELL\",\"exit 1\"],\"Interval\":100,\"Timeout\":7,\"Retries\":4}",
                                 0, NULL);
        json_t *user = json_loads("{\"Interval\":5,\"StartPeriod\":9}", 0, NULL);
        json_t *m = health_config_merge(user, img);
        _cleanup_free_ char *s = json_dump(m);
        ASSERT_STREQ(s, "{\"Interval\":5,\"StartPeriod\":9,\"Test\":[\"CMD-SHELL\",\"exit 1\"],\"Timeout\":7,"
                        "\"Retries\":4}");
        json_decref(m);
        /* the user's Test wins, NONE included; none given: the image's whole */
        json_t *none = json_loads("{\"Test\":[\"NONE\"]}", 0, NULL);
        m = health_config_merge(none, img);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(m, "Test"), 0)), "NONE");
        ASSERT_EQ(health_settings(m).kind, HEALTH_PROBE_NONE);
        json_decref(m);
        m = health_config_merge(NULL, img);
        ASSERT_TRUE(json_equal(m, img));
        json_decref(m);
        ASSERT_TRUE(health_config_merge(NULL, NULL) == NULL);
        m = health_config_merge(user, NULL);
        ASSERT_TRUE(m == user);
        json_decref(m);
        json_decref(none);
        json_decref(user);
        json_decref(img);
}

TEST(settings_defaults_and_argv)
{
        json_t *hc = json_loads("{\"Test\":[\"CMD-SHELL\",\"echo hi\"]}", 0, NULL);
        HealthSettings s = health_settings(hc);
        ASSERT_EQ(s.kind, HEALTH_PROBE_SHELL);
        ASSERT_EQ(s.interval, 30 * SEC);
        ASSERT_EQ(s.timeout, 30 * SEC);
        ASSERT_EQ(s.start_period, 0);
        ASSERT_EQ(s.start_interval, 5 * SEC);
        ASSERT_EQ(s.retries, 3);
        json_t *argv = health_probe_argv(hc, NULL);
        _cleanup_free_ char *a = json_dump(argv);
        ASSERT_STREQ(a, "[\"/bin/sh\",\"-c\",\"echo hi\"]");
        json_decref(argv);
        json_t *shell = json_loads("[\"/bin/bash\",\"-ec\"]", 0, NULL);
        argv = health_probe_argv(hc, shell);
        _cleanup_free_ char *b = json_dump(argv);
        ASSERT_STREQ(b, "[\"/bin/bash\",\"-ec\",\"echo hi\"]");
        json_decref(argv);
        json_decref(shell);
        json_decref(hc);
        hc = json_loads("{\"Test\":[\"CMD\",\"a\",\"b c\"]}", 0, NULL);
        argv = health_probe_argv(hc, NULL);
        _cleanup_free_ char *c = json_dump(argv);
        ASSERT_STREQ(c, "[\"a\",\"b c\"]");
        json_decref(argv);
        json_decref(hc);
        /* no command, or an unknown type: no probe */
        const char *none[] = { "{\"Test\":[\"CMD\"]}", "{\"Test\":[\"WHAT\",\"x\"]}", "{}" };
        for (size_t i = 0; i < ELEMENTSOF(none); i++) {
                hc = json_loads(none[i], 0, NULL);
                ASSERT_TRUE(health_probe_argv(hc, NULL) == NULL);
                json_decref(hc);
        }
}

TEST(next_interval)
{
        HealthSettings s = { .interval = 10 * SEC, .start_period = 60 * SEC, .start_interval = 1 * SEC };
        ASSERT_EQ(health_next_interval(&s, HEALTH_STARTING, 0, 5 * SEC), 1 * SEC);
        ASSERT_EQ(health_next_interval(&s, HEALTH_HEALTHY, 0, 5 * SEC), 10 * SEC);
        ASSERT_EQ(health_next_interval(&s, HEALTH_STARTING, 0, 60 * SEC), 10 * SEC);
}

static HealthResult result(int64_t start, int code, const char *out)
{
        return (HealthResult){ .start = start, .end = start + MS, .exit_code = code, .output = xstrdup(out) };
}

TEST(record_rules_and_ring)
{
        HealthSettings s = { .retries = 2, .start_period = 10 * SEC };
        Health *h = health_new();
        ASSERT_EQ(h->status, HEALTH_STARTING);
        /* failures in the start period while never healthy do not count */
        HealthResult r = result(1 * SEC, 1, "no");
        ASSERT_TRUE(!health_record(h, &s, 0, &r));
        ASSERT_EQ(h->failing_streak, 0);
        r = result(2 * SEC, 0, "yes");
        ASSERT_TRUE(health_record(h, &s, 0, &r));
        ASSERT_EQ(h->status, HEALTH_HEALTHY);
        /* once healthy, they count even in the start period */
        r = result(3 * SEC, 1, "no");
        ASSERT_TRUE(!health_record(h, &s, 0, &r));
        ASSERT_EQ(h->failing_streak, 1);
        r = result(4 * SEC, -1, "timeout");
        ASSERT_TRUE(health_record(h, &s, 0, &r));
        ASSERT_EQ(h->status, HEALTH_UNHEALTHY);
        ASSERT_EQ(h->failing_streak, 2);
        for (int i = 0; i < 4; i++) {
                r = result((5 + i) * SEC, 2, "x");
                health_record(h, &s, 0, &r);
        }
        ASSERT_EQ(h->n_log, HEALTH_LOG_MAX);
        ASSERT_EQ(h->log[0].start, 4 * SEC); /* the oldest were dropped */
        ASSERT_EQ(h->log[4].start, 8 * SEC);
        ASSERT_EQ(h->failing_streak, 6);
        /* a restart: starting, streak 0, the log kept; it survives its JSON */
        health_reset(h);
        json_t *j = health_json(h);
        ASSERT_STREQ(json_str(j, "Status"), "starting");
        ASSERT_EQ(json_array_size(json_object_get(j, "Log")), 5);
        ASSERT_STREQ(json_str(json_array_get(json_object_get(j, "Log"), 0), "Start"), "1970-01-01T00:00:04Z");
        Health *back = health_from_json(j);
        ASSERT_EQ(back->n_log, 5);
        ASSERT_EQ(back->log[0].start, 4 * SEC);
        ASSERT_EQ(back->log[0].exit_code, -1);
        ASSERT_STREQ(back->log[0].output, "timeout");
        ASSERT_EQ(back->status, HEALTH_STARTING);
        health_free(back);
        json_decref(j);
        health_free(h);
}

TEST(output_limit_and_utf8)
{
        char big[5000];
        memset(big, 'a', sizeof(big));
        _cleanup_free_ char *s = health_output_string(big, sizeof(big), false);
        ASSERT_EQ(strlen(s), 4096 + 3);
        ASSERT_TRUE(endswith(s, "a..."));
        _cleanup_free_ char *t = health_output_string("ok\xff\n", 4, false);
        ASSERT_STREQ(t, "ok\xef\xbf\xbd\n");
        _cleanup_free_ char *u = health_output_string("\xc3\xa9", 2, true);
        ASSERT_STREQ(u, "\xc3\xa9...");
        _cleanup_free_ char *m = health_timeout_message(300 * MS, "");
        ASSERT_STREQ(m, "Health check exceeded timeout (300ms)");
        _cleanup_free_ char *m2 = health_timeout_message(30 * SEC, "partial\n");
        ASSERT_STREQ(m2, "Health check exceeded timeout (30s): partial\n");
}

TEST(go_duration_text)
{
        static const struct {
                int64_t ns;
                const char *s;
        } cases[] = {
                { 0, "0s" },           { 1, "1ns" },           { 1500, "1.5\xc2\xb5s" },     { 300 * MS, "300ms" },
                { 1500 * MS, "1.5s" }, { 30 * SEC, "30s" },    { 90 * SEC, "1m30s" },         { 3600 * SEC, "1h0m0s" },
                { -2 * SEC, "-2s" },   { 1001 * MS, "1.001s" }, { 3723 * SEC + 5, "1h2m3.000000005s" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = format_go_duration(cases[i].ns);
                ASSERT_STREQ(s, cases[i].s);
        }
        int64_t d;
        ASSERT_EQ(parse_go_duration("1m30s", &d), 0);
        ASSERT_EQ(d, 90 * SEC);
        ASSERT_EQ(parse_go_duration("250ms", &d), 0);
        ASSERT_EQ(d, 250 * MS);
        ASSERT_TRUE(parse_go_duration("soon", &d) < 0);
        /* Go's only unitless duration, and its micro sign */
        ASSERT_EQ(parse_go_duration("0", &d), 0);
        ASSERT_EQ(d, 0);
        ASSERT_EQ(parse_go_duration("5\u00b5s", &d), 0);
        ASSERT_EQ(d, 5000);
        ASSERT_TRUE(parse_go_duration("5", &d) < 0);
}

TEST_MAIN
