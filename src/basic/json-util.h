/* jansson helpers: cleanup, typed getters that tolerate absence. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "macro.h"

static inline void json_unrefp(json_t **j) { if (*j) json_decref(*j); }
#define _cleanup_json_ _cleanup_(json_unrefp)

/* The member named key, or else one whose name equals it ignoring case, as Go's decoder matches. */
json_t *json_object_get_ci(json_t *o, const char *key);
const char *json_str(json_t *o, const char *key);  /* NULL when absent or not a string */
bool json_bool(json_t *o, const char *key);        /* false when absent */
long long json_int(json_t *o, const char *key, long long dflt);
/* Docker's label filter (Args.MatchKVList): every "k" or "k=v" string of want is among labels (an object of
 * strings). Non-string entries of want are ignored. Docker's "label!" excludes what matches ALL of its
 * entries (moby's matchLabels): json_array_size(nl) && json_labels_match(l, nl). */
bool json_labels_match(json_t *labels, json_t *want);
/* Docker's Args.Match: one string of values equals source or, read as a regular expression, matches it
 * (POSIX extended here, RE2 there; a value that is no valid expression is skipped). */
bool json_filter_match(json_t *values, const char *source);
/* Serialises compactly with Docker's key order preserved; caller frees. */
char *json_dump(json_t *j);
