#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

Sha256 *sha256_new(void)
{
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (c)
                EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        return (Sha256 *) c;
}

void sha256_update(Sha256 *s, const void *data, size_t len)
{
        EVP_DigestUpdate((EVP_MD_CTX *) s, data, len);
}

void sha256_finish_hex(Sha256 *s, char out[65])
{
        unsigned char md[32];
        unsigned int n = 0;
        EVP_DigestFinal_ex((EVP_MD_CTX *) s, md, &n);
        for (unsigned i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", md[i]);
        out[64] = 0;
        EVP_MD_CTX_free((EVP_MD_CTX *) s);
}

void sha256_free(Sha256 *s)
{
        EVP_MD_CTX_free((EVP_MD_CTX *) s);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
        Sha256 *s = sha256_new();
        sha256_update(s, data, len);
        sha256_finish_hex(s, out);
}
