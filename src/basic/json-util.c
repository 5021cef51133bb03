#include "json-util.h"

#include <regex.h>
#include <string.h>
#include <strings.h>

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
        if (json_is_real(v))
                return (long long) json_real_value(v);
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
                _cleanup_free_ char *key = eq ? strndup(s, (size_t) (eq - s)) : strdup(s);
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
