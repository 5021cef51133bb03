/* DNS message encoding and decoding for the embedded DNS server (dns.c): pure functions on
 * buffers, no sockets, so tests/fuzz/fuzz-dns.c can drive them with arbitrary packets. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Parses the single question of query m (len bytes): its name (labels joined by '.', at most
 * cap - 1 bytes) and type. Returns the offset just after the question, or -1 when m is not a
 * one-question query that fits. */
int dns_parse_question(const uint8_t *m, size_t len, char *name, size_t cap, int *qtype);
/* Writes the answer to query q (whose question ends at qend) into out: the header and question
 * copied, rcode, and one A record per address (n at most 255). out needs qend + 16 * n bytes.
 * Returns the answer's length. */
size_t dns_build_answer(const uint8_t *q, size_t qend, int rcode, const struct in_addr *addrs, int n, uint8_t *out);
/* Appends name ("a.b.c") in wire form at out + off; 0 when it does not fit in cap bytes or has
 * an empty or too long label. */
size_t dns_put_name(uint8_t *out, size_t off, size_t cap, const char *name);
/* Appends one resource record of type with TTL NET_RESOLVER_TTL; name NULL points at the
 * question's name. 0 when it does not fit in cap bytes. */
size_t dns_put_rr(uint8_t *out, size_t off, size_t cap, const char *name, int type, const uint8_t *rdata,
                  size_t rdlen);
