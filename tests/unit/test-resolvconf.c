#include "basic/resolvconf.h"
#include "basic/util.h"
#include "test.h"

TEST(resolv_no_final_newline)
{
        /* The last line lacks its newline: the filter must add one without writing past its buffer. */
        _cleanup_free_ char *a = resolv_conf_filter("nameserver 10.0.0.1", RESOLV_ALL);
        ASSERT_STREQ(a, "nameserver 10.0.0.1\n");
        _cleanup_free_ char *b = resolv_conf_filter("search example.org\nnameserver 10.0.0.2", RESOLV_ALL);
        ASSERT_STREQ(b, "search example.org\nnameserver 10.0.0.2\n");
        _cleanup_free_ char *c = resolv_conf_filter("x", RESOLV_ALL);
        ASSERT_STREQ(c, "x\n");
}

TEST(resolv_drops_loopback)
{
        _cleanup_free_ char *a = resolv_conf_filter("nameserver 127.0.0.53\n  nameserver ::1\nnameserver 10.1.1.1\n",
                                                    RESOLV_ALL);
        ASSERT_STREQ(a, "nameserver 10.1.1.1\n");
}

TEST(resolv_nameservers_only)
{
        _cleanup_free_ char *a = resolv_conf_filter("# c\nsearch a.b\nnameserver 10.1.1.1\noptions ndots:2\n\n",
                                                    RESOLV_NAMESERVERS);
        ASSERT_STREQ(a, "nameserver 10.1.1.1\n");
        _cleanup_free_ char *e = resolv_conf_filter("", RESOLV_ALL);
        ASSERT_STREQ(e, "");
}

TEST_MAIN
