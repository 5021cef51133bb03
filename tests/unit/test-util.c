#include <errno.h>

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
}

TEST(go_strerror)
{
        ASSERT_STREQ(go_strerror(ENOENT), "no such file or directory");
        ASSERT_STREQ(go_strerror(-EACCES), "permission denied");
        ASSERT_STREQ(go_strerror(EISDIR), "is a directory");
        ASSERT_STREQ(go_strerror(ENOSTR), "device not a stream");
        ASSERT_STREQ(go_strerror(100000), "errno 100000");
}

TEST_MAIN
