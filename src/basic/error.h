/* The error contract: a function that can fail in a way a user should hear
 * about takes `BerthError **err` last and returns berr_set(...), which fills
 * the error and returns -errno. The errno is the error class; the API layer
 * maps it to an HTTP status in one table (api/errors.c). */
#pragma once

#include "macro.h"

typedef struct BerthError {
        int code;  /* positive errno: the class */
        char *msg; /* user-facing text, Docker's wording where clients parse it */
} BerthError;

int berr_set(BerthError **err, int code, const char *fmt, ...) _printf_(3, 4);
/* Prefixes the message: "prefix: old message". Returns -code. */
int berr_prefix(BerthError **err, const char *fmt, ...) _printf_(2, 3);
void berr_free(BerthError *e);
static inline void berr_freep(BerthError **e) { berr_free(*e); *e = NULL; }
#define _cleanup_berr_ _cleanup_(berr_freep)
/* Fills err from a bare -errno when the callee gave no message. */
int berr_from_errno(BerthError **err, int r, const char *what);
