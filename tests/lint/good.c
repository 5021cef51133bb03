/* Fixture for scripts/check-json-pack: correct calls in awkward shapes. Nothing here may be
 * reported. Not compiled. */
#include <jansson.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#define NAME_KEY "Name"

struct Thing {
        int64_t size;
        int pid, exit_code;
        bool running;
        const char *name;
        json_t *labels;
};

static const char *helper(const char *s, int n);

static json_t *good(struct Thing *t, json_t *extra, int64_t created, size_t len, int count, double ratio,
                    const char *buf, const char *maybe)
{
        const char *a = "x", *b = helper("(,)", 2), *c = NULL;
        int64_t big = created, other = 0;
        json_t *arr = json_pack("[sss]", a, b, c ? c : "");
        json_t *j = json_pack(
                /* a comment with a ( paren and "quotes", and commas */
                "{s:s, s:i,"  // another one )
                " s:I, s:b,"
                "s:o, s:O?, s:o*, s:s?, s:s*}",
                NAME_KEY, helper("a,b", (int) (len + 1)),  /* a call with commas and a cast */
                "Pid", t->pid,
                "Size", (json_int_t) t->size, "Running", t->running && count > 0,
                "Arr", arr, "Extra", extra, "Maybe", NULL, "Str", maybe, "Str2", NULL);
        json_object_set_new(j, "Data", json_pack("{s:s#,s:s%,s:s+#,s:f}", "a", buf, count, "b", buf, len,
                                                 "c", buf, buf, (int) len, "r", ratio));
        json_object_set_new(j, "Chars", json_pack("[ssss]", "\"),", "\\", "s:i", ","));
        json_object_set_new(j, "Created", json_pack("{s:I,s:I}", "A", (json_int_t) created, "B", big + other));
        json_object_set_new(j, "Nested", json_pack("{s:{s:[i,{s:n}]}, s:[]}", "x", "y", t->exit_code,
                                                   "z", "empty"));
        json_object_set_new(j, "Cond", json_pack("{s:s,s:b}", "Name", t->name ? t->name : "none", "Set",
                                                 t->name != NULL));
        const char *name = NULL;
        int pid = 0;
        json_int_t size = 0;
        size_t nlen = 0;
        if (json_unpack(j, "{s:s%, s?i, s:I, s:{s?o}, !}", "Name", &name, &nlen, "Pid", &pid, "Size", &size,
                        "Nested", "x", &extra) < 0)
                return NULL;
        return j;
}
