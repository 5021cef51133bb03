#pragma once

#include <stddef.h>

typedef struct Sha256 Sha256;

Sha256 *sha256_new(void);
void sha256_update(Sha256 *s, const void *data, size_t len);
/* Writes 64 lowercase hex characters plus NUL and frees the context. */
void sha256_finish_hex(Sha256 *s, char out[65]);
void sha256_free(Sha256 *s);
void sha256_hex(const void *data, size_t len, char out[65]);
