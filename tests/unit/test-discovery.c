/* The discovery flag's parsing and the etcd gateway's encodings. */
#include "test.h"

#include "basic/base64.h"
#include "basic/util.h"
#include "discovery/discovery.h"
#include "discovery/etcd.h"

TEST(parse_url)
{
        char **v = NULL;
        BerthError *err = NULL;
        ASSERT_OK(discovery_parse_url("etcd://10.0.0.5:2379,10.0.0.6:2379,etcd://h3:2379/", &v, &err));
        ASSERT_EQ(strv_length(v), 3);
        ASSERT_STREQ(v[0], "10.0.0.5:2379");
        ASSERT_STREQ(v[1], "10.0.0.6:2379");
        ASSERT_STREQ(v[2], "h3:2379");
        strv_free(v);
        v = NULL;
        ASSERT_EQ(discovery_parse_url("consul://x:1", &v, &err), -EINVAL);
        ASSERT_TRUE(strstr(err->msg, "unsupported discovery backend") != NULL);
        berr_free(err);
        err = NULL;
        ASSERT_EQ(discovery_parse_url("etcd://host", &v, &err), -EINVAL);
        berr_free(err);
        err = NULL;
        ASSERT_EQ(discovery_parse_url("etcd://host:0", &v, &err), -EINVAL);
        berr_free(err);
        err = NULL;
        ASSERT_EQ(discovery_parse_url("etcd://", &v, &err), -EINVAL);
        berr_free(err);
        ASSERT_TRUE(v == NULL);
}

TEST(base64)
{
        char *e = base64_encode("/berth/v1/services/", 19);
        ASSERT_STREQ(e, "L2JlcnRoL3YxL3NlcnZpY2VzLw==");
        size_t n = 0;
        char *d = base64_decode(e, &n);
        ASSERT_EQ(n, 19);
        ASSERT_STREQ(d, "/berth/v1/services/");
        free(e);
        free(d);
        d = base64_decode("eA==", &n);
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(d, "x");
        free(d);
        d = base64_decode("eHk=", &n);
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(d, "xy");
        free(d);
        ASSERT_TRUE(base64_decode("abcde", &n) == NULL); /* no whole byte in the last block */
        /* the prefix's range_end: last byte + 1 ("/" -> "0") */
        e = etcd_prefix_end_b64("/berth/");
        d = base64_decode(e, NULL);
        ASSERT_STREQ(d, "/berth0");
        free(e);
        free(d);
}

TEST_MAIN
