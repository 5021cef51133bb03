/* Fixture for scripts/check-json-pack: argument counts that do not match the format.
 * Every line marked with a BAD comment must be reported, and no other line. Not compiled. */
#include <jansson.h>
#include <string.h>

/* the bind-mount inspect bug (src/api/containers.c before 956cf26): the format has seven
 * key/value pairs, the call six, so json_pack read two arguments past the end */
static json_t *bind_mount(const char *src, const char *dst, const char *mode)
{
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", src, /* BAD */
                         "Destination", dst, "Mode", mode ? mode : "", "RW",
                         !(mode && strstr(mode, "ro")), "Propagation", "rprivate");
}

static json_t *too_many(int n)
{
        return json_pack("{s:i}", "n", n, "extra"); /* BAD */
}

/* '#' takes a length after the string */
static json_t *missing_length(const char *buf)
{
        return json_pack("{s:s#}", "data", buf); /* BAD */
}

/* s+ concatenates a second string */
static json_t *concat(const char *a, const char *b)
{
        return json_pack("{s:s+}", /* BAD */
                         "path", a);
}

static int unpack_short(json_t *j)
{
        const char *name;
        int n;
        return json_unpack(j, "{s:s, s:i}", "Name", &name, &n); /* BAD */
}

static json_t *bad_format(void)
{
        return json_pack("{s:x}", "k", 1); /* BAD */
}

static json_t *ex(json_error_t *e, int a)
{
        return json_pack_ex(e, 0, "[iii]", a, a); /* BAD */
}
