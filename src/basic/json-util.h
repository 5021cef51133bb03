/* jansson helpers: cleanup, typed getters that tolerate absence. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
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
/* Docker's Args.GetBoolOrDefault: the filter key's values say true/1 or false/0, never both nor
 * neither; otherwise -EINVAL with Docker's "invalid filter 'key=[v ...]'". values may be NULL (dflt). */
int json_filter_bool(json_t *values, const char *key, bool dflt, bool *ret, BerthError **err);
/* Whether JSON text nests arrays/objects deeper than max (strings skipped). jansson parses,
 * copies and frees recursively, so berth bounds the depth before parsing untrusted text. */
bool json_text_too_deep(const char *s, size_t len, int max);
#define JSON_MAX_DEPTH 100
/* The strings of arr joined by sep (what is not a string counts as ""); a new string. */
char *json_strv_join(json_t *arr, const char *sep);
/* Sets "K=V" in env, an array of "K=V" strings: replaces the entry for K, else appends. */
void json_env_set(json_t *env, const char *kv);
/* Field type checks, as Go's json.Unmarshal does them: null and absence pass. */
enum { JT_STR = 1, JT_BOOL = 2, JT_INT = 4, JT_OBJ = 8, JT_STRV = 16, JT_ARR = 32, JT_STRMAP = 64 };
typedef struct {
        const char *key;
        int types;
} JsonFieldType;
/* Go's name for v's JSON kind in "json: cannot unmarshal KIND into ...": object, array, string, number, bool. */
const char *json_kind(json_t *v);
/* The first field of obj whose value has none of its allowed types, or NULL. */
const JsonFieldType *json_check_fields(json_t *obj, const JsonFieldType *fields, size_t n);
/* Serialises compactly with Docker's key order preserved; caller frees. */
char *json_dump(json_t *j);
