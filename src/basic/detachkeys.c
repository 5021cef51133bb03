#include "basic/detachkeys.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* github.com/moby/term ToBytes: a single character, or ctrl-<a-z @ [ \ ] ^ _>. */
int detach_keys_parse(const char *spec, DetachKeys *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (!spec || !*spec)
                spec = DETACH_KEYS_DEFAULT;
        const char *p = spec;
        for (;;) {
                size_t len = strcspn(p, ",");
                if (ret->n >= DETACH_KEYS_MAX)
                        return -EINVAL;
                if (len == 1)
                        ret->seq[ret->n++] = (unsigned char) p[0];
                else {
                        if (len != 6 || strncasecmp(p, "ctrl-", 5) != 0)
                                return -EINVAL;
                        int c = tolower((unsigned char) p[5]);
                        if (c >= 'a' && c <= 'z')
                                ret->seq[ret->n++] = (unsigned char) (c - 'a' + 1);
                        else if (c == '@')
                                ret->seq[ret->n++] = 0;
                        else if (c >= '[' && c <= '_')
                                ret->seq[ret->n++] = (unsigned char) (c - '[' + 27);
                        else
                                return -EINVAL;
                }
                if (p[len] == 0)
                        break;
                p += len + 1;
        }
        return 0;
}

size_t detach_keys_feed(DetachKeys *d, const char *in, size_t n, char *out, bool *detached)
{
        size_t o = 0;
        *detached = false;
        if (d->n == 0) {
                memcpy(out, in, n);
                return n;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char b = (unsigned char) in[i];
                if (b == d->seq[d->matched]) {
                        if (++d->matched == d->n) {
                                d->matched = 0;
                                *detached = true;
                                return o;
                        }
                        continue;
                }
                /* Not the sequence after all: what was held back goes out first. */
                memcpy(out + o, d->seq, d->matched);
                o += d->matched;
                d->matched = 0;
                if (b == d->seq[0]) {
                        d->matched = 1;
                        if (d->n == 1) {
                                d->matched = 0;
                                *detached = true;
                                return o;
                        }
                        continue;
                }
                out[o++] = (char) b;
        }
        return o;
}
