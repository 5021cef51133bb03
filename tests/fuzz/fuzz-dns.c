/* libFuzzer target for the embedded DNS server's message code (src/network/dns-msg.c):
 * the input is a query packet as it arrives on 127.0.0.11:53. It is parsed like
 * handle_query does, answered with a few addresses, and the answer must parse back to
 * the same question; the parsed name is re-encoded (dns_put_name, dns_put_rr) with
 * buffer sizes taken from the input.
 *   ninja -C build-fuzz tests/fuzz-dns && build-fuzz/tests/fuzz-dns tests/fuzz/corpus/dns */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "network/dns-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char name[256];
        int qtype = -1;
        int qend = dns_parse_question(data, size, name, sizeof(name), &qtype);
        if (qend < 0)
                return 0;
        if ((size_t) qend > size || qend < 17 || strlen(name) >= sizeof(name) || qtype < 0 || qtype > 0xffff)
                abort();
        if (size > 512) /* handle_query drops these */
                return 0;

        /* an answer with 0..16 addresses, as handle_query sends */
        int n = data[size - 1] % 17;
        struct in_addr addrs[16];
        for (int i = 0; i < n; i++)
                addrs[i].s_addr = htonl(0x0a000000u + (unsigned) i);
        uint8_t out[1024];
        size_t olen = dns_build_answer(data, (size_t) qend, data[3] & 0xf, addrs, n, out);
        if (olen != (size_t) qend + 16 * (size_t) n || memcmp(out, data, 2) != 0 || !(out[2] & 0x80) || out[7] != n)
                abort();
        char name2[256];
        int qtype2;
        if (dns_parse_question(out, olen, name2, sizeof(name2), &qtype2) != qend || strcmp(name, name2) != 0 ||
            qtype2 != qtype)
                abort();

        /* the name in wire form again: a query made of it parses back to the same name */
        size_t cap = 12 + (size_t) data[2] % 260 + 4;
        uint8_t q[12 + 260 + 4 + 16] = { 0x12, 0x34, 0x01, 0, 0, 1 };
        size_t off = dns_put_name(q, 12, cap - 4, name);
        size_t nl = strlen(name);
        /* a label ending in '.' comes back without it (as handle_query strips one) */
        if (off && nl && name[nl - 1] != '.') {
                if (off > cap - 4)
                        abort();
                q[off++] = 0;
                q[off++] = 1;
                q[off++] = 0;
                q[off++] = 1;
                char name3[256];
                int qt3;
                if (dns_parse_question(q, off, name3, sizeof(name3), &qt3) != (int) off || strcmp(name, name3) != 0 ||
                    qt3 != 1)
                        abort();
        }

        /* resource records appended to the answer, with a cap from the input (SRV-like rdata) */
        size_t rcap = (size_t) qend + (size_t) data[4] % 600;
        if (rcap > sizeof(out))
                rcap = sizeof(out);
        uint8_t rd[6 + 256] = { 0, 0, 0, 10, 0, 53 };
        size_t tl = dns_put_name(rd, 6, sizeof(rd), name);
        size_t o = (size_t) qend;
        for (int i = 0; i < 8; i++) {
                size_t k = tl ? dns_put_rr(out, o, rcap, i % 2 ? name : NULL, 33, rd, tl)
                              : dns_put_rr(out, o, rcap, NULL, 1, (const uint8_t *) "\x0a\0\0\1", 4);
                if (!k)
                        break;
                if (k > rcap || k <= o)
                        abort();
                o = k;
        }
        return 0;
}
