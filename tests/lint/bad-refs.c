/* Fixture for scripts/check-json-pack: references. 'o' steals the caller's reference, 'O' takes
 * its own. Every line marked with a BAD comment must be reported, and no other line. Not compiled. */
#include <jansson.h>

static json_t *refs(json_t *cfg, int priv)
{
        json_t *masked = json_object_get(cfg, "MaskedPaths");
        json_t *a = json_pack("{s:o}", "Labels", json_object_get(cfg, "Labels")); /* BAD: freed twice */
        json_t *b = json_pack("[O]", json_array()); /* BAD: leaks */
        json_t *c = json_pack("{s:O}", "Masked", json_is_array(masked) && !priv ? masked : json_array()); /* BAD */
        json_t *d = json_pack("{s:o?}", "X", priv ? json_array_get(masked, 0) : NULL); /* BAD */
        /* right: */
        json_t *e = json_pack("{s:o}", "Masked", json_is_array(masked) ? json_incref(masked) : json_array());
        json_t *f = json_pack("{s:O,s:o,s:O?}", "Labels", json_object_get(cfg, "Labels"), "Now", json_string("x"),
                              "Null", json_null());
        return json_pack("[oooooo]", a, b, c, d, e, f);
}
