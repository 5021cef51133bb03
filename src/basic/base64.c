#include "base64.h"

#include <openssl/evp.h>
#include <string.h>

#include "macro.h"
#include "util.h"

char *base64_encode(const void *data, size_t len)
{
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) out, data, (int) len);
        return out;
}

char *base64_decode(const char *s, size_t *ret_len)
{
        size_t n = strlen(s);
        if (n > (size_t) INT32_MAX - 4)
                return NULL;
        /* the standard alphabet, whitespace dropped, padded to whole blocks: what EVP_DecodeBlock takes */
        _cleanup_free_ char *in = xmalloc(n + 4);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
                        continue;
                in[k++] = c == '-' ? '+' : c == '_' ? '/' : c;
        }
        while (k > 0 && in[k - 1] == '=')
                k--;
        if (k % 4 == 1 || memchr(in, '=', k))
                return NULL;
        size_t pad = (4 - k % 4) % 4;
        memset(in + k, '=', pad);
        k += pad;
        char *out = xmalloc(k / 4 * 3 + 1);
        int r = EVP_DecodeBlock((unsigned char *) out, (const unsigned char *) in, (int) k);
        if (r < 0) {
                free(out);
                return NULL;
        }
        /* EVP_DecodeBlock counts the padding as zero bytes */
        size_t l = (size_t) r - pad;
        out[l] = 0;
        if (ret_len)
                *ret_len = l;
        return out;
}
