/* Docker's detach keys ("ctrl-p,ctrl-q", "ctrl-a,x"): parsing and the stdin filter that holds
 * back a partial match and reports a complete one. Pure; used by berthd (attach, exec) and berth. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DETACH_KEYS_MAX 16
#define DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"

typedef struct DetachKeys {
        unsigned char seq[DETACH_KEYS_MAX];
        size_t n;       /* 0: detaching disabled */
        size_t matched; /* bytes of seq seen so far (held back) */
} DetachKeys;

/* NULL or "" gives the default. -EINVAL for anything Docker rejects. */
int detach_keys_parse(const char *spec, DetachKeys *ret);

/* Copies what may be forwarded of in[0..n) to out (room for n + DETACH_KEYS_MAX bytes) and
 * returns its length; *detached is set when the whole sequence was typed (the sequence itself
 * is never forwarded, and nothing after it in this buffer is). */
size_t detach_keys_feed(DetachKeys *d, const char *in, size_t n, char *out, bool *detached);
