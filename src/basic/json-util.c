#include "json-util.h"

#include <string.h>

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

bool json_labels_match(json_t *labels, json_t *want, bool negate)
{
        size_t i;
        json_t *x;
        json_array_foreach(want, i, x) {
                const char *s = json_string_value(x);
                if (!s)
                        continue;
                const char *eq = strchr(s, '=');
                _cleanup_free_ char *key = eq ? strndup(s, (size_t) (eq - s)) : strdup(s);
                const char *have = json_str(labels, key);
                bool m = have && (!eq || streq(have, eq + 1));
                if (negate ? m : !m)
                        return false;
        }
        return true;
}
