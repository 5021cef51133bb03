/* Docker's stdcopy framing: 8-byte header (stream, 0, 0, 0, big-endian
 * length) then payload. Incremental: feed whatever the socket gave. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef int (*StdcopyOut)(int stream, const char *buf, size_t len, void *userdata);

typedef struct StdDemux {
        unsigned char hdr[8];
        size_t hdr_len;
        uint32_t remaining;
        int stream;
} StdDemux;

/* Returns 0, -EBADMSG on a bad stream byte, or the callback's negative value. */
int stdcopy_feed(StdDemux *d, const char *buf, size_t len, StdcopyOut out, void *userdata);
