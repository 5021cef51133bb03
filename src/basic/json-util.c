#include "json-util.h"

#include <regex.h>
#include <string.h>
#include <strings.h>

#include "util.h"

const char *json_str(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

bool json_bool(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_true(v);
}

long long json_int(json_t *o, const char *key, long long dflt)
{
        json_t *v = json_object_get(o, key);
        if (json_is_integer(v))
                return json_integer_value(v);
        int64_t r;
        /* a real beyond long long (1e300, say) is as unusable as a string */
        if (json_is_real(v) && double_to_int64(json_real_value(v), &r))
                return r;
        return dflt;
}

char *json_dump(json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

bool json_labels_match(json_t *labels, json_t *want)
{
        size_t i;
        json_t *x;
        json_array_foreach(want, i, x) {
                const char *s = json_string_value(x);
                if (!s)
                        continue;
                const char *eq = strchr(s, '=');
                _cleanup_free_ char *key = eq ? xstrndup(s, (size_t) (eq - s)) : xstrdup(s);
                const char *have = json_str(labels, key);
                bool m = have && (!eq || streq(have, eq + 1));
                if (!m)
                        return false;
        }
        return true;
}

bool json_filter_match(json_t *values, const char *source)
{
        size_t i;
        json_t *x;
        json_array_foreach(values, i, x) {
                const char *v = json_string_value(x);
                if (!v)
                        continue;
                if (streq(v, source))
                        return true;
                regex_t re;
                if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
                        continue;
                bool m = regexec(&re, source, 0, NULL, 0) == 0;
                regfree(&re);
                if (m)
                        return true;
        }
        return false;
}

json_t *json_object_get_ci(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        if (v || !json_is_object(o))
                return v;
        const char *k;
        json_object_foreach(o, k, v) if (strcasecmp(k, key) == 0) return v;
        return NULL;
}

const char *json_kind(json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "object";
        case JSON_ARRAY: return "array";
        case JSON_STRING: return "string";
        case JSON_INTEGER:
        case JSON_REAL: return "number";
        case JSON_TRUE:
        case JSON_FALSE: return "bool";
        default: return "null";
        }
}

static bool all_strings(json_t *v)
{
        size_t i;
        const char *k;
        json_t *x;
        if (json_is_array(v)) {
                json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
        } else {
                json_object_foreach(v, k, x) if (!json_is_string(x)) return false;
        }
        return true;
}

static bool type_ok(json_t *v, int types)
{
        if (json_is_null(v))
                return true;
        if ((types & JT_STR) && json_is_string(v))
                return true;
        if ((types & JT_BOOL) && json_is_boolean(v))
                return true;
        if ((types & JT_INT) && json_is_integer(v))
                return true;
        if ((types & JT_OBJ) && json_is_object(v))
                return true;
        if ((types & JT_ARR) && json_is_array(v))
                return true;
        if ((types & JT_STRV) && json_is_array(v))
                return all_strings(v);
        if ((types & JT_STRMAP) && json_is_object(v))
                return all_strings(v);
        return false;
}

const JsonFieldType *json_check_fields(json_t *obj, const JsonFieldType *fields, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(obj, fields[i].key);
                if (v && !type_ok(v, fields[i].types))
                        return &fields[i];
        }
        return NULL;
}

int json_filter_bool(json_t *values, const char *key, bool dflt, bool *ret, BerthError **err)
{
        *ret = dflt;
        if (!values)
                return 0;
        bool t = false, f = false;
        size_t i;
        json_t *x;
        json_array_foreach(values, i, x) {
                const char *v = json_string_value(x);
                t |= v && (streq(v, "true") || streq(v, "1"));
                f |= v && (streq(v, "false") || streq(v, "0"));
        }
        if (t != f) {
                *ret = t;
                return 0;
        }
        if (!json_array_size(values))
                return berr_set(err, EINVAL, "invalid filter '%s'", key);
        _cleanup_free_ char *vals = json_strv_join(values, " ");
        return berr_set(err, EINVAL, "invalid filter '%s=[%s]'", key, vals);
}

bool json_text_too_deep(const char *s, size_t len, int max)
{
        int depth = 0;
        bool in_str = false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                } else if (c == '"')
                        in_str = true;
                else if (c == '[' || c == '{') {
                        if (++depth > max)
                                return true;
                } else if ((c == ']' || c == '}') && depth > 0)
                        depth--;
        }
        return false;
}

void json_env_set(json_t *env, const char *kv)
{
        size_t klen = strcspn(kv, "=");
        size_t i;
        json_t *v;
        json_array_foreach(env, i, v) {
                const char *s = json_string_value(v);
                if (s && strcspn(s, "=") == klen && strncmp(s, kv, klen) == 0) {
                        json_array_set_new(env, i, json_string(kv));
                        return;
                }
        }
        json_array_append_new(env, json_string(kv));
}

char *json_strv_join(json_t *arr, const char *sep)
{
        size_t i, len = 1, seplen = strlen(sep);
        json_t *v;
        json_array_foreach(arr, i, v) len += json_string_length(v) + seplen;
        char *out = xmalloc(len), *o = out;
        json_array_foreach(arr, i, v) {
                if (i) {
                        memcpy(o, sep, seplen);
                        o += seplen;
                }
                size_t n = json_string_length(v); /* 0 for what is not a string */
                memcpy(o, json_string_value(v) ?: "", n);
                o += n;
        }
        *o = 0;
        return out;
}
