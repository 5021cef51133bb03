/* Base64 through OpenSSL's EVP block coder: the one codec for etcd's keys and values, the
 * X-Registry-Auth/X-Registry-Config headers and the archive stat header. */
#pragma once

#include <stddef.h>

/* Standard alphabet, padded. A new string. */
char *base64_encode(const void *data, size_t len);
/* Standard or URL-safe alphabet, padding optional, as Go's decoders that Docker's clients pair with
 * accept. A new NUL-terminated buffer and its length in *ret_len (may be NULL); NULL when s is not
 * base64. */
char *base64_decode(const char *s, size_t *ret_len);
