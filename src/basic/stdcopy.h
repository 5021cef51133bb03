/* Docker's stdcopy framing of non-TTY streams (attach, exec, logs): an 8-byte header
 * (stream, 0, 0, 0, big-endian length) then the payload. The one place that writes and reads it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum { STDCOPY_STDIN = 0, STDCOPY_STDOUT = 1, STDCOPY_STDERR = 2, STDCOPY_SYSTEMERR = 3, STDCOPY_HEADER_LEN = 8 };

static inline void stdcopy_header(unsigned char hdr[STDCOPY_HEADER_LEN], int stream, size_t len)
{
        hdr[0] = (unsigned char) stream;
        hdr[1] = hdr[2] = hdr[3] = 0;
        hdr[4] = (unsigned char) (len >> 24);
        hdr[5] = (unsigned char) (len >> 16);
        hdr[6] = (unsigned char) (len >> 8);
        hdr[7] = (unsigned char) len;
}

/* The payload length a complete header announces. */
static inline uint32_t stdcopy_header_len(const unsigned char hdr[STDCOPY_HEADER_LEN])
{
        return (uint32_t) hdr[4] << 24 | (uint32_t) hdr[5] << 16 | (uint32_t) hdr[6] << 8 | hdr[7];
}

typedef int (*StdcopyOut)(int stream, const char *buf, size_t len, void *userdata);

typedef struct StdDemux {
        unsigned char hdr[8];
        size_t hdr_len;
        uint32_t remaining;
        int stream;
} StdDemux;

/* Incremental: feed whatever the socket gave. Returns 0, -EBADMSG on a bad stream byte, or the callback's negative value. */
int stdcopy_feed(StdDemux *d, const char *buf, size_t len, StdcopyOut out, void *userdata);
