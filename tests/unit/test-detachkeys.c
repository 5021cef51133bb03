/* Detach keys: Docker's parsing rules and the stdin filter. */
#include "test.h"

#include "basic/detachkeys.h"

TEST(parse)
{
        DetachKeys d;
        ASSERT_OK(detach_keys_parse(NULL, &d));
        ASSERT_EQ(d.n, 2);
        ASSERT_EQ(d.seq[0], 16);
        ASSERT_EQ(d.seq[1], 17);
        ASSERT_OK(detach_keys_parse("ctrl-a,x,ctrl-@,ctrl-_,CTRL-[", &d));
        ASSERT_EQ(d.n, 5);
        ASSERT_EQ(d.seq[0], 1);
        ASSERT_EQ(d.seq[1], 'x');
        ASSERT_EQ(d.seq[2], 0);
        ASSERT_EQ(d.seq[3], 31);
        ASSERT_EQ(d.seq[4], 27);
        ASSERT_TRUE(detach_keys_parse("ctrl-1", &d) < 0);
        ASSERT_TRUE(detach_keys_parse("abc", &d) < 0);
        ASSERT_TRUE(detach_keys_parse("ctrl-a,", &d) < 0);
}

TEST(feed)
{
        DetachKeys d;
        char out[64];
        bool det;
        ASSERT_OK(detach_keys_parse(NULL, &d));
        size_t n = detach_keys_feed(&d, "ab\x10", 3, out, &det);
        ASSERT_EQ(n, 2);
        ASSERT_TRUE(!det);
        /* a held ctrl-p that is not followed by ctrl-q goes out after all */
        n = detach_keys_feed(&d, "c", 1, out, &det);
        ASSERT_EQ(n, 2);
        ASSERT_TRUE(out[0] == 0x10 && out[1] == 'c' && !det);
        /* split across reads */
        n = detach_keys_feed(&d, "x\x10", 2, out, &det);
        ASSERT_EQ(n, 1);
        n = detach_keys_feed(&d, "\x11tail", 5, out, &det);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(det);
        /* ctrl-p ctrl-p ctrl-q: the first ctrl-p is data */
        n = detach_keys_feed(&d, "\x10\x10\x11", 3, out, &det);
        ASSERT_EQ(n, 1);
        ASSERT_TRUE(out[0] == 0x10 && det);
}

TEST_MAIN
