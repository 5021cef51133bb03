#include "basic/stdcopy.h"

#include <errno.h>

int stdcopy_feed(StdDemux *d, const char *buf, size_t len, StdcopyOut out, void *userdata)
{
        while (len > 0) {
                if (d->remaining == 0) {
                        size_t take = 8 - d->hdr_len < len ? 8 - d->hdr_len : len;
                        for (size_t i = 0; i < take; i++)
                                d->hdr[d->hdr_len++] = (unsigned char) buf[i];
                        buf += take;
                        len -= take;
                        if (d->hdr_len < 8)
                                return 0;
                        d->hdr_len = 0;
                        if (d->hdr[0] > 3)
                                return -EBADMSG;
                        d->stream = d->hdr[0];
                        d->remaining = stdcopy_header_len(d->hdr);
                        continue;
                }
                size_t take = d->remaining < len ? d->remaining : len;
                int r = out(d->stream, buf, take, userdata);
                if (r < 0)
                        return r;
                buf += take;
                len -= take;
                d->remaining -= (uint32_t) take;
        }
        return 0;
}
