#include <errno.h>
#include <signal.h>

#include "basic/json-util.h"
#include "basic/base64.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "test.h"

TEST(rfc3339_roundtrip)
{
        int64_t ns = 1795726981123456789LL;
        _cleanup_free_ char *s = format_rfc3339(ns, false);
        ASSERT_STREQ(s, "2026-11-26T21:03:01.123456789Z");
        int64_t back = 0;
        ASSERT_OK(parse_rfc3339(s, &back));
        ASSERT_EQ(back, ns);
        _cleanup_free_ char *t = format_rfc3339(1795726981120000000LL, true);
        ASSERT_STREQ(t, "2026-11-26T21:03:01.12Z");
}

/* Found by tests/fuzz/fuzz-manifest: years outside 1678..2262 overflowed int64_t nanoseconds
 * and big zone offsets overflowed int (undefined behaviour); both are refused. */
TEST(rfc3339_out_of_range)
{
        int64_t ns = 7;
        ASSERT_EQ(parse_rfc3339("1000-01-01T00:00:00Z", &ns), -ERANGE);
        ASSERT_EQ(parse_rfc3339("9999-12-31T23:59:59.999999999Z", &ns), -ERANGE);
        ASSERT_EQ(parse_rfc3339("2024-01-01T00:00:00+999999999:00", &ns), -EINVAL);
        ASSERT_EQ(parse_rfc3339("2024-01-01T00:00:00+24:00", &ns), -EINVAL);
        ASSERT_EQ(ns, 7);
        ASSERT_OK(parse_rfc3339("2262-01-01T00:00:00Z", &ns));
        ASSERT_OK(parse_rfc3339("1700-01-01T00:00:00+01:30", &ns));
        ASSERT_EQ(ns, -8520341400LL * 1000000000LL);
}

/* Found by tests/fuzz/fuzz-monitor: a real beyond long long ({"h":1.2e34}) was converted
 * anyway (undefined behaviour); it gives the default like any other unusable value. */
TEST(json_int_real)
{
        json_t *o = json_pack("{s:f,s:f,s:f,s:I}", "a", 2.9, "big", 1.2e34, "neg", -1e300, "i", (json_int_t) 5);
        ASSERT_EQ(json_int(o, "a", -1), 2);
        ASSERT_EQ(json_int(o, "big", -1), -1);
        ASSERT_EQ(json_int(o, "neg", -1), -1);
        ASSERT_EQ(json_int(o, "i", -1), 5);
        ASSERT_EQ(json_int(o, "missing", 9), 9);
        json_decref(o);
}

TEST(human_duration)
{
        _cleanup_free_ char *a = human_duration(0);
        _cleanup_free_ char *b = human_duration(150);
        _cleanup_free_ char *c = human_duration(3600);
        ASSERT_STREQ(a, "Less than a second");
        ASSERT_STREQ(b, "2 minutes");
        ASSERT_STREQ(c, "About an hour");
}

TEST(strv)
{
        _cleanup_strv_free_ char **l = NULL;
        ASSERT_OK(strv_extend(&l, "a"));
        ASSERT_OK(strv_extend(&l, "b"));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_TRUE(strv_contains(l, "b"));
        ASSERT_TRUE(!strv_contains(l, "c"));
}

TEST(docker_time)
{
        int64_t now = 1800000000LL * 1000000000LL, t = 0;
        ASSERT_OK(parse_docker_time("1h", now, &t));
        ASSERT_EQ(t, now - 3600LL * 1000000000LL);
        ASSERT_OK(parse_docker_time("1h30m", now, &t));
        ASSERT_EQ(t, now - 5400LL * 1000000000LL);
        ASSERT_OK(parse_docker_time("1700000000", now, &t));
        ASSERT_EQ(t, 1700000000LL * 1000000000LL);
        ASSERT_OK(parse_docker_time("2026-11-26T21:03:01Z", now, &t));
        ASSERT_EQ(t, 1795726981LL * 1000000000LL);
        ASSERT_OK(parse_docker_time("2026-11-26", now, &t));
        ASSERT_EQ(t, 1795651200LL * 1000000000LL);
        ASSERT_TRUE(parse_docker_time("yesterday", now, &t) < 0);
        ASSERT_TRUE(parse_docker_time("", now, &t) < 0);
        ASSERT_TRUE(parse_docker_time("10", now, &t) == 0); /* Unix seconds, as Docker reads a bare number */
        ASSERT_EQ(t, 10LL * 1000000000LL);
        /* a date past int64 nanoseconds (found by the request fuzzer): refused, never wrapped */
        ASSERT_TRUE(parse_docker_time("1112-01-01", now, &t) < 0);
        ASSERT_TRUE(parse_docker_time("9999999-01-01", now, &t) < 0);
}

TEST(double_to_int64)
{
        int64_t v = 0;
        ASSERT_TRUE(double_to_int64(1.9, &v));
        ASSERT_EQ(v, 1);
        ASSERT_TRUE(double_to_int64(-9223372036854775808.0, &v));
        ASSERT_EQ(v, INT64_MIN);
        /* converting these is undefined behaviour: they are refused */
        ASSERT_TRUE(!double_to_int64(9223372036854775808.0, &v));
        ASSERT_TRUE(!double_to_int64(1e30 * 1e9, &v));
        ASSERT_TRUE(!double_to_int64(-1e19, &v));
        ASSERT_TRUE(!double_to_int64(__builtin_inf(), &v));
        ASSERT_TRUE(!double_to_int64(__builtin_nan(""), &v));
        ASSERT_EQ(v, INT64_MIN);
}

TEST(go_strerror)
{
        ASSERT_STREQ(go_strerror(ENOENT), "no such file or directory");
        ASSERT_STREQ(go_strerror(-EACCES), "permission denied");
        ASSERT_STREQ(go_strerror(EISDIR), "is a directory");
        ASSERT_STREQ(go_strerror(ENOSTR), "device not a stream");
        ASSERT_STREQ(go_strerror(100000), "errno 100000");
}

TEST(json_depth_bound)
{
        const char *ok = "{\"a\":[1,{\"b\":2}]}", *deep = "[[[[1]]]]", *str = "{\"a\":\"[[[[[[\\\"\"}";
        ASSERT_TRUE(!json_text_too_deep(ok, strlen(ok), 3));
        ASSERT_TRUE(json_text_too_deep(deep, strlen(deep), 3));
        /* brackets inside strings (and escaped quotes) do not count */
        ASSERT_TRUE(!json_text_too_deep(str, strlen(str), 2));
}


TEST(base64_both_alphabets)
{
        char *e = base64_encode("\xfb\xff\x01", 3);
        ASSERT_STREQ(e, "+/8B");
        size_t n = 0;
        char *d = base64_decode("-_8B", &n); /* URL-safe, as docker's clients send X-Registry-Auth */
        ASSERT_TRUE(d && n == 3 && memcmp(d, "\xfb\xff\x01", 3) == 0);
        free(d);
        d = base64_decode("eyJhIjoxfQ", &n); /* unpadded */
        ASSERT_TRUE(d && n == 7);
        ASSERT_STREQ(d, "{\"a\":1}");
        free(d);
        d = base64_decode("eyJhIjoxfQ==\n", &n);
        ASSERT_STREQ(d, "{\"a\":1}");
        free(d);
        ASSERT_TRUE(base64_decode("a", NULL) == NULL);
        ASSERT_TRUE(base64_decode("ab*d", NULL) == NULL);
        ASSERT_TRUE(base64_decode("ab=d", NULL) == NULL);
        free(e);
}

TEST(signal_from_string)
{
        ASSERT_EQ(signal_from_string("TERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("SIGKILL"), SIGKILL);
        ASSERT_EQ(signal_from_string("sigusr1"), SIGUSR1);
        ASSERT_EQ(signal_from_string("9"), 9);
        ASSERT_EQ(signal_from_string("RTMIN"), SIGRTMIN);
        ASSERT_EQ(signal_from_string("SIGRTMIN+3"), SIGRTMIN + 3);
        ASSERT_EQ(signal_from_string("RTMAX-2"), SIGRTMAX - 2);
        ASSERT_EQ(signal_from_string("RTMAX"), SIGRTMAX);
        /* what Docker's map does not name, and numbers outside the kernel's range */
        ASSERT_EQ(signal_from_string("RTMIN+-10"), -EINVAL);
        ASSERT_EQ(signal_from_string("RTMIN+16"), -EINVAL);
        ASSERT_EQ(signal_from_string("RTMAX--3"), -EINVAL);
        ASSERT_EQ(signal_from_string("0"), -EINVAL);
        ASSERT_EQ(signal_from_string("-9"), -EINVAL);
        ASSERT_EQ(signal_from_string("65"), -EINVAL);
        ASSERT_EQ(signal_from_string("9x"), -EINVAL);
        ASSERT_EQ(signal_from_string("SIG"), -EINVAL);
        ASSERT_EQ(signal_from_string(""), -EINVAL);
        ASSERT_EQ(signal_from_string(NULL), -EINVAL);
}

TEST(go_parse_bool)
{
        ASSERT_EQ(go_parse_bool("true"), 1);
        ASSERT_EQ(go_parse_bool("T"), 1);
        ASSERT_EQ(go_parse_bool("1"), 1);
        ASSERT_EQ(go_parse_bool("False"), 0);
        ASSERT_EQ(go_parse_bool("0"), 0);
        ASSERT_EQ(go_parse_bool("yes"), -EINVAL);
        ASSERT_EQ(go_parse_bool("tRUE"), -EINVAL);
        ASSERT_EQ(go_parse_bool(NULL), -EINVAL);
}

TEST(json_strv_join)
{
        json_t *a = json_loads("[\"sh\",\"-c\",\"echo hi\",1]", 0, NULL);
        char *s = json_strv_join(a, " ");
        ASSERT_STREQ(s, "sh -c echo hi "); /* a non-string counts as "" */
        free(s);
        json_t *e = json_array();
        s = json_strv_join(e, " ");
        ASSERT_STREQ(s, "");
        free(s);
        s = json_strv_join(NULL, ", ");
        ASSERT_STREQ(s, "");
        free(s);
        json_decref(a);
        json_decref(e);
}

TEST_MAIN
