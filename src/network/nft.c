/* nftables through libnftables, in berth's own `table ip berth` only. The
 * table is always rebuilt whole from the state store in one transaction
 * (add + delete + define), so it never holds a rule nothing accounts for. */
#include <arpa/inet.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"
#include "network-internal.h"

static int run(const char *buf, BerthError **err)
{
        struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!nft)
                return berr_set(err, ENOMEM, "cannot create nftables context");
        nft_ctx_buffer_output(nft);
        nft_ctx_buffer_error(nft);
        int rc = nft_run_cmd_from_buffer(nft, buf);
        int r = 0;
        if (rc != 0) {
                const char *msg = nft_ctx_get_error_buffer(nft);
                r = berr_set(err, EIO, "nftables: %s", msg && *msg ? msg : "failed");
        }
        nft_ctx_free(nft);
        return r;
}

int nft_flush(void)
{
        return run("add table ip berth\ndelete table ip berth\nadd table ip6 berth\ndelete table ip6 berth\n", NULL);
}

static void appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) _printf_(4, 5);
static void appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
        va_list ap;
        for (;;) {
                va_start(ap, fmt);
                int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
                va_end(ap);
                if (n < 0)
                        return;
                if ((size_t) n < *cap - *len) {
                        *len += (size_t) n;
                        return;
                }
                size_t nc = *cap * 2 + (size_t) n;
                char *nb = xrealloc(*buf, nc);
                if (!nb)
                        return;
                *buf = nb;
                *cap = nc;
        }
}

int nft_apply(const NftNet *nets, size_t n_nets, const NftPort *ports, size_t n_ports, bool userland_proxy,
              BerthError **err)
{
        size_t len = 0, cap = 4096;
        _cleanup_free_ char *b = xmalloc(cap);
        if (!b)
                return berr_set(err, ENOMEM, "out of memory");
        b[0] = 0;
#define A(...) appendf(&b, &len, &cap, __VA_ARGS__)
        A("add table ip berth\ndelete table ip berth\ntable ip berth {\n");
        /* Published ports. With the userland proxy, traffic from the bridges and to
         * 127.0.0.0/8 goes to the proxy listening on the host port; without it,
         * loopback is DNATed too (route_localnet on the bridges). */
        A(" chain ports {\n");
        for (size_t i = 0; i < n_ports; i++) {
                const NftPort *p = &ports[i];
                char cip[INET_ADDRSTRLEN], hip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &p->cip, cip, sizeof(cip));
                inet_ntop(AF_INET, &p->host_ip, hip, sizeof(hip));
                const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
                if (p->host_ip.s_addr)
                        A("  ip daddr %s %s dport %d dnat to %s:%d\n", hip, proto, p->host_port, cip, p->cport);
                else
                        A("  %s dport %d dnat to %s:%d\n", proto, p->host_port, cip, p->cport);
        }
        A(" }\n");
        A(" chain prerouting {\n  type nat hook prerouting priority dstnat; policy accept;\n");
        if (userland_proxy && n_nets) {
                A("  iifname {");
                for (size_t i = 0; i < n_nets; i++)
                        A("%s\"%s\"", i ? ", " : " ", nets[i].bridge);
                A(" } return\n");
        }
        A("  fib daddr type local jump ports\n }\n");
        A(" chain output {\n  type nat hook output priority -100; policy accept;\n");
        if (userland_proxy)
                A("  ip daddr 127.0.0.0/8 return\n");
        A("  fib daddr type local jump ports\n }\n");
        A(" chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n");
        for (size_t i = 0; i < n_nets; i++) {
                if (!userland_proxy)
                        A("  oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", nets[i].bridge);
                if (!nets[i].internal && nets[i].masquerade)
                        A("  ip saddr %s oifname != \"%s\" masquerade\n", nets[i].subnet, nets[i].bridge);
        }
        A(" }\n");
        /* Forwarding: within a bridge, out of non-internal bridges, replies; never
         * between two berth networks. The same for IPv6 in `table ip6 berth` (no NAT there). */
        for (int fam = 0; fam < 2; fam++) {
                if (fam == 1)
                        A("add table ip6 berth\ndelete table ip6 berth\ntable ip6 berth {\n");
                A(" chain forward {\n  type filter hook forward priority filter; policy accept;\n");
                for (size_t i = 0; i < n_nets; i++)
                        A("  iifname \"%s\" oifname \"%s\" accept\n", nets[i].bridge, nets[i].bridge);
                for (size_t i = 0; i < n_nets; i++)
                        if (nets[i].internal)
                                A("  iifname \"%s\" drop\n  oifname \"%s\" drop\n", nets[i].bridge, nets[i].bridge);
                if (n_nets) {
                        A("  iifname {");
                        for (size_t i = 0; i < n_nets; i++)
                                A("%s\"%s\"", i ? ", " : " ", nets[i].bridge);
                        A(" } oifname {");
                        for (size_t i = 0; i < n_nets; i++)
                                A("%s\"%s\"", i ? ", " : " ", nets[i].bridge);
                        A(" } drop\n");
                }
                A("  ct state established,related accept\n  accept\n }\n}\n");
        }
#undef A
        return run(b, err);
}
