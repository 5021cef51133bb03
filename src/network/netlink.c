/* rtnetlink through libmnl. One socket per call: these run on container start
 * and stop only, and a fresh socket keeps each call in the calling thread's
 * network namespace. */
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/util.h"

#define NL_BUF 8192

/* ---- namespaces ---- */

typedef struct {
        int nsfd;
        int (*fn)(void *);
        void *arg;
        int ret;
} NsRun;

static void *ns_thread(void *p)
{
        NsRun *r = p;
        if (setns(r->nsfd, CLONE_NEWNET) < 0) {
                r->ret = -errno;
                return NULL;
        }
        r->ret = r->fn(r->arg);
        return NULL;
}

int netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
        NsRun r = { .nsfd = nsfd, .fn = fn, .arg = arg, .ret = -EIO };
        pthread_t t;
        int e = pthread_create(&t, NULL, ns_thread, &r);
        if (e != 0)
                return -e;
        pthread_join(t, NULL);
        return r.ret;
}

/* ---- plumbing ---- */

static void mnl_closep(struct mnl_socket **s)
{
        if (*s)
                mnl_socket_close(*s);
}

/* Sends one request and reads replies up to the ACK/DONE. */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        _cleanup_(mnl_closep) struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        unsigned portid = mnl_socket_get_portid(nl);
        unsigned seq = (unsigned) time(NULL) ^ (unsigned) rand();
        nlh->nlmsg_seq = seq;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        _cleanup_free_ char *buf = xmalloc(NL_BUF * 4);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, NL_BUF * 4);
                if (n < 0)
                        return -errno;
                int r = mnl_cb_run(buf, (size_t) n, seq, portid, cb, data);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static struct nlmsghdr *msg(char *buf, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        return nlh;
}

/* ---- links ---- */

int nl_link_index(const char *name)
{
        unsigned i = if_nametoindex(name);
        if (i == 0)
                return errno == ENODEV || errno == ENXIO ? 0 : -errno;
        return (int) i;
}

int nl_bridge_add(const char *name, unsigned mtu, const uint8_t mac[6])
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, li);
        return talk(nlh, NULL, NULL);
}

int nl_veth_add(const char *host, const char *peer_name, int nsfd, const uint8_t *peer_mac, unsigned mtu,
                int master_index)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
        if (mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (master_index > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master_index);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
        pifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
        if (nsfd >= 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) nsfd);
        if (peer_mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
        if (mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, li);
        return talk(nlh, NULL, NULL);
}

int nl_link_del(const char *name)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_DELLINK, 0);
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        int r = talk(nlh, NULL, NULL);
        return r == -ENODEV ? 0 : r;
}

int nl_link_del_index(int ifindex)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_DELLINK, 0);
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = ifindex;
        int r = talk(nlh, NULL, NULL);
        return r == -ENODEV ? 0 : r;
}

int nl_link_up(int ifindex)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_NEWLINK, 0);
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = ifindex;
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        return talk(nlh, NULL, NULL);
}

static int addr_msg(uint16_t type, uint16_t flags, int ifindex, struct in_addr addr, int prefix)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, type, flags);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_index = (unsigned) ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        mnl_attr_put(nlh, IFA_LOCAL, 4, &addr);
        mnl_attr_put(nlh, IFA_ADDRESS, 4, &addr);
        if (type == RTM_NEWADDR && prefix < 31) {
                uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
                struct in_addr brd = { .s_addr = addr.s_addr | ~mask };
                mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
        }
        return talk(nlh, NULL, NULL);
}

int nl_addr_add(int ifindex, struct in_addr addr, int prefix)
{
        int r = addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, prefix);
        return r == -EEXIST ? 0 : r;
}

int nl_addr_del(int ifindex, struct in_addr addr, int prefix)
{
        int r = addr_msg(RTM_DELADDR, 0, ifindex, addr, prefix);
        return r == -EADDRNOTAVAIL ? 0 : r;
}

int nl_route_default(struct in_addr gw, int ifindex)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        return talk(nlh, NULL, NULL);
}

static int addr6_msg(uint16_t type, uint16_t flags, int ifindex, const struct in6_addr *addr, int prefix)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, type, flags);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET6;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_index = (unsigned) ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_flags = IFA_F_NODAD;
        mnl_attr_put(nlh, IFA_LOCAL, 16, addr);
        mnl_attr_put(nlh, IFA_ADDRESS, 16, addr);
        return talk(nlh, NULL, NULL);
}

int nl_addr6_add(int ifindex, const struct in6_addr *addr, int prefix)
{
        int r = addr6_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, prefix);
        return r == -EEXIST ? 0 : r;
}

int nl_addr6_del(int ifindex, const struct in6_addr *addr, int prefix)
{
        int r = addr6_msg(RTM_DELADDR, 0, ifindex, addr, prefix);
        return r == -EADDRNOTAVAIL ? 0 : r;
}

int nl_route6_default(const struct in6_addr *gw, int ifindex)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET6;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, 16, gw);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        return talk(nlh, NULL, NULL);
}

/* ---- listing ---- */

typedef struct {
        NlLinkFn fn;
        void *arg;
} ListCtx;

static int link_attr_cb(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(a);
        if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
                return MNL_CB_OK;
        tb[type] = a;
        return MNL_CB_OK;
}

static int info_attr_cb(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(a);
        if (mnl_attr_type_valid(a, IFLA_INFO_MAX) < 0)
                return MNL_CB_OK;
        tb[type] = a;
        return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
        ListCtx *ctx = data;
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFLA_MAX + 1] = {};
        mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
        if (!tb[IFLA_IFNAME])
                return MNL_CB_OK;
        const char *kind = "";
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = {};
                mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr_cb, info);
                if (info[IFLA_INFO_KIND])
                        kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
        }
        int master = tb[IFLA_MASTER] ? (int) mnl_attr_get_u32(tb[IFLA_MASTER]) : 0;
        ctx->fn(ctx->arg, mnl_attr_get_str(tb[IFLA_IFNAME]), ifm->ifi_index, kind, master);
        return MNL_CB_OK;
}

int nl_link_list(NlLinkFn fn, void *arg)
{
        char buf[NL_BUF];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        struct rtgenmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtgen_family = AF_PACKET;
        ListCtx ctx = { fn, arg };
        return talk(nlh, link_cb, &ctx);
}
