/* DNS message encoding and decoding (dns-msg.h). */
#include "dns-msg.h"

#include <string.h>

#include "network.h"

int dns_parse_question(const uint8_t *m, size_t len, char *name, size_t cap, int *qtype)
{
        if (len < 12 || (m[4] << 8 | m[5]) != 1)
                return -1;
        size_t off = 12, n = 0;
        for (;;) {
                if (off >= len)
                        return -1;
                uint8_t l = m[off++];
                if (l == 0)
                        break;
                if (l > 63 || off + l > len || n + l + 2 > cap)
                        return -1;
                if (n)
                        name[n++] = '.';
                memcpy(name + n, m + off, l);
                n += l;
                off += l;
        }
        name[n] = 0;
        if (off + 4 > len)
                return -1;
        *qtype = m[off] << 8 | m[off + 1];
        return (int) off + 4;
}

size_t dns_build_answer(const uint8_t *q, size_t qend, int rcode, const struct in_addr *addrs, int n, uint8_t *out)
{
        memcpy(out, q, qend);
        out[2] = (uint8_t) (0x80 | (q[2] & 0x79) | 0x04); /* QR, opcode, AA, RD */
        out[3] = (uint8_t) (0x80 | rcode);                /* RA */
        out[6] = 0;
        out[7] = (uint8_t) n;
        memset(out + 8, 0, 4);
        size_t off = qend;
        for (int i = 0; i < n; i++) {
                const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4 };
                memcpy(out + off, rr, sizeof(rr));
                off += sizeof(rr);
                memcpy(out + off, &addrs[i].s_addr, 4);
                off += 4;
        }
        return off;
}

size_t dns_put_name(uint8_t *out, size_t off, size_t cap, const char *name)
{
        for (const char *p = name; *p;) {
                size_t l = strcspn(p, ".");
                if (l == 0 || l > 63 || off + l + 2 > cap)
                        return 0;
                out[off++] = (uint8_t) l;
                memcpy(out + off, p, l);
                off += l;
                p += l;
                if (*p == '.')
                        p++;
        }
        if (off + 1 > cap)
                return 0;
        out[off++] = 0;
        return off;
}

size_t dns_put_rr(uint8_t *out, size_t off, size_t cap, const char *name, int type, const uint8_t *rdata,
                     size_t rdlen)
{
        if (name) {
                off = dns_put_name(out, off, cap, name);
                if (!off)
                        return 0;
        } else {
                if (off + 2 > cap)
                        return 0;
                out[off++] = 0xc0;
                out[off++] = 0x0c;
        }
        if (off + 10 + rdlen > cap)
                return 0;
        const uint8_t hdr[] = { 0, (uint8_t) type, 0, 1, 0, 0, 0, NET_RESOLVER_TTL, (uint8_t) (rdlen >> 8), (uint8_t) rdlen };
        memcpy(out + off, hdr, sizeof(hdr));
        off += sizeof(hdr);
        memcpy(out + off, rdata, rdlen);
        return off + rdlen;
}
