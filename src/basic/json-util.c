#include "json-util.h"

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
