/* The network module's pure logic: CIDR parsing and subnet arithmetic (IPAM's ground), and the
 * embedded DNS server's message codec. */
#include <arpa/inet.h>
#include <errno.h>

#include "network/dns-msg.h"
#include "network/network-internal.h"
#include "test.h"

TEST(parse_cidr4)
{
        struct in_addr a;
        int p = -1;
        ASSERT_OK(net_parse_cidr("172.18.0.0/16", &a, &p));
        ASSERT_EQ(p, 16);
        ASSERT_EQ(ntohl(a.s_addr), 0xac120000u);
        ASSERT_TRUE(net_parse_cidr("10.0.0.0/33", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("10.0.0/8", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("10.0.0.0/", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("10.0.0.0/8x", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("10.0.0.0/+8", &a, &p) < 0);
        ASSERT_TRUE(net_parse_cidr("10.0.0.0/ 8", &a, &p) < 0);
        char longs[100];
        memset(longs, ' ', sizeof(longs));
        memcpy(longs, "10.0.0.0/8", 10);
        longs[98] = 'x';
        longs[99] = 0;
        ASSERT_TRUE(net_parse_cidr(longs, &a, &p) < 0); /* never cut to a valid prefix */
}

TEST(subnet4)
{
        ASSERT_EQ(net_mask_of(0), 0u);
        ASSERT_EQ(net_mask_of(24), 0xffffff00u);
        ASSERT_EQ(net_mask_of(32), 0xffffffffu);
        struct in_addr net, in, out;
        inet_pton(AF_INET, "192.168.10.0", &net);
        inet_pton(AF_INET, "192.168.10.77", &in);
        inet_pton(AF_INET, "192.168.11.1", &out);
        ASSERT_TRUE(net_in_subnet(in, net, 24));
        ASSERT_TRUE(!net_in_subnet(out, net, 24));
        ASSERT_TRUE(net_in_subnet(out, net, 16));
        ASSERT_TRUE(net_in_subnet(out, net, 0));
        char *s = net_ip_str(in);
        ASSERT_STREQ(s, "192.168.10.77");
        free(s);
}

TEST(parse_cidr6)
{
        struct in6_addr a, n;
        int p = -1;
        ASSERT_OK(net_parse_cidr6("2001:db8:1::/64", &n, &p, true));
        ASSERT_EQ(p, 64);
        ASSERT_TRUE(net_parse_cidr6("2001:db8::/129", &a, &p, true) < 0);
        ASSERT_TRUE(net_parse_cidr6("2001:db8::", &a, &p, true) < 0); /* a subnet needs its prefix */
        ASSERT_TRUE(net_parse_cidr6("2001:db8::/", &a, &p, true) < 0);
        ASSERT_TRUE(net_parse_cidr6("2001:db8::/-0", &a, &p, true) < 0);
        ASSERT_OK(net_parse_cidr6("2001:db8:1::5", &a, &p, false));
        ASSERT_TRUE(net_in_subnet6(&a, &n, 64));
        struct in6_addr b;
        inet_pton(AF_INET6, "2001:db8:2::5", &b);
        ASSERT_TRUE(!net_in_subnet6(&b, &n, 64));
        ASSERT_TRUE(net_in_subnet6(&b, &n, 32));
        struct in6_addr m = a;
        net_mask6(&m, 48);
        char *s = net_ip6_str(&m);
        ASSERT_STREQ(s, "2001:db8:1::");
        free(s);
}

/* A query for name, type A, id 0x1234, recursion desired. */
static size_t query(uint8_t *m, size_t cap, const char *name)
{
        static const uint8_t hdr[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        memcpy(m, hdr, 12);
        size_t o = dns_put_name(m, 12, cap, name);
        if (!o)
                return 0;
        m[o++] = 0;
        m[o++] = 1; /* A */
        m[o++] = 0;
        m[o++] = 1; /* IN */
        return o;
}

TEST(dns_question_roundtrip)
{
        uint8_t m[512];
        size_t len = query(m, sizeof(m), "web.berth-net");
        ASSERT_TRUE(len > 0);
        char name[256];
        int qtype = 0;
        int end = dns_parse_question(m, len, name, sizeof(name), &qtype);
        ASSERT_EQ(end, (int) len);
        ASSERT_STREQ(name, "web.berth-net");
        ASSERT_EQ(qtype, 1);
        /* truncated anywhere: refused, never read past the end */
        for (size_t cut = 0; cut < len; cut++)
                ASSERT_EQ(dns_parse_question(m, cut, name, sizeof(name), &qtype), -1);
        /* a name longer than the caller's buffer */
        ASSERT_EQ(dns_parse_question(m, len, name, 4, &qtype), -1);
}

TEST(dns_names_bounded)
{
        uint8_t out[300];
        char label[70];
        memset(label, 'a', 64);
        label[64] = 0;
        ASSERT_EQ(dns_put_name(out, 0, sizeof(out), label), 0u); /* a label is at most 63 bytes */
        ASSERT_EQ(dns_put_name(out, 0, sizeof(out), "a..b"), 0u);
        ASSERT_EQ(dns_put_name(out, 0, 4, "abcdef"), 0u);
        ASSERT_EQ(dns_put_name(out, 0, sizeof(out), "a.b"), 5u); /* 1 a 1 b 0 */
}

TEST(dns_answer)
{
        uint8_t m[512], out[512];
        size_t len = query(m, sizeof(m), "db");
        struct in_addr addrs[2];
        inet_pton(AF_INET, "172.18.0.2", &addrs[0]);
        inet_pton(AF_INET, "172.18.0.3", &addrs[1]);
        size_t n = dns_build_answer(m, len, 0, addrs, 2, out);
        ASSERT_EQ(n, len + 2 * 16);
        ASSERT_EQ(out[0], 0x12);
        ASSERT_EQ(out[1], 0x34);
        ASSERT_TRUE(out[2] & 0x80);              /* a response */
        ASSERT_EQ(out[6] << 8 | out[7], 2);      /* two answers */
        ASSERT_TRUE(memcmp(out + n - 4, &addrs[1], 4) == 0);
        n = dns_build_answer(m, len, 3, NULL, 0, out); /* NXDOMAIN */
        ASSERT_EQ(n, len);
        ASSERT_EQ(out[3] & 0x0f, 3);
}
TEST_MAIN
