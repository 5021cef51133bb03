/* Image helpers that need no store: time filters, config checks. */
#include "test.h"

#include "basic/error.h"
#include "basic/util.h"
#include "image/image-internal.h"

TEST(time_filter)
{
        int64_t ns = 0;
        ASSERT_OK(image_parse_time_filter("1700000000.5", &ns, NULL));
        ASSERT_EQ(ns, 1700000000500000000LL);
        ASSERT_OK(image_parse_time_filter("2024-01-02T03:04:05Z", &ns, NULL));
        ASSERT_EQ(ns, 1704164645000000000LL);
        int64_t now = now_ns();
        ASSERT_OK(image_parse_time_filter("1h30m", &ns, NULL));
        ASSERT_TRUE(ns <= now - 5400LL * 1000000000 + 60LL * 1000000000 && ns > 0);
}

/* Found by tests/fuzz/fuzz-request: seconds and durations beyond int64_t nanoseconds were
 * converted anyway (undefined behaviour); they are refused like any other bad value. */
TEST(time_filter_out_of_range)
{
        const char *bad[] = { "1e30", "-1e30", "inf", "nan", "1e300h", "99999999999999999999s", "1x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int64_t ns = 42;
                BerthError *err = NULL;
                ASSERT_EQ(image_parse_time_filter(bad[i], &ns, &err), -EINVAL);
                ASSERT_TRUE(err && strstr(err->msg, "failed to parse value as time or duration"));
                berr_free(err);
        }
}

TEST(config_check)
{
        json_t *cfg = NULL;
        int64_t created = -1;
        const char *good = "{\"created\":\"2024-01-02T03:04:05Z\",\"rootfs\":{\"diff_ids\":[\"sha256:"
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}}";
        ASSERT_OK(image_config_check(good, strlen(good), &cfg, &created, NULL));
        ASSERT_EQ(created, 1704164645000000000LL);
        json_decref(cfg);
        const char *bad[] = { "[]", "{\"rootfs\":{\"diff_ids\":{}}}", "{\"rootfs\":{\"diff_ids\":[5]}}",
                              "{\"rootfs\":{\"diff_ids\":[\"sha256:xyz\"]}}", "{" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                BerthError *err = NULL;
                cfg = NULL;
                ASSERT_EQ(image_config_check(bad[i], strlen(bad[i]), &cfg, &created, &err), -EINVAL);
                ASSERT_TRUE(err && strstr(err->msg, "invalid image config"));
                ASSERT_TRUE(cfg == NULL);
                berr_free(err);
        }
}

TEST_MAIN
