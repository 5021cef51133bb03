/* Fixture for scripts/check-json-pack: arguments of the wrong C type for their format
 * character. Every line marked with a BAD comment must be reported, and no other line. Not compiled. */
#include <jansson.h>
#include <stdint.h>
#include <stdbool.h>

struct Thing {
        int64_t size;
        int pid;
        bool running;
        const char *name;
        json_t *labels;
};

static json_t *types(struct Thing *t, json_t *extra, int64_t created, size_t len, int count, double ratio)
{
        json_t *a = json_pack("{s:i}", "Size", t->size); /* BAD: int64_t read as int */
        json_t *b = json_pack("{s:i}", "Created", created); /* BAD */
        json_t *c = json_pack("{s:I}", "Count", count); /* BAD: int read as json_int_t */
        json_t *d = json_pack("{s:s}", "Labels", extra); /* BAD: json_t * read as a string */
        json_t *e = json_pack("{s:o}", "Name", t->name); /* BAD */
        json_t *f = json_pack("{s:i}", "Name", "x"); /* BAD: string literal for 'i' */
        json_t *g = json_pack("{s:s}", "Pid", 42); /* BAD: number for 's' */
        json_t *h = json_pack("{s:f}", "Ratio", 1); /* BAD: int literal read as double */
        json_t *i = json_pack("{s:b}", "Running", t->name); /* BAD */
        json_t *k = json_pack("{s:i}", "Len", strlen(t->name)); /* BAD: size_t read as int */
        json_t *l = json_pack("{s:s%}", "Data", t->name, count); /* BAD: int read as size_t */
        json_t *m = json_pack("{s:I}", "Len", (int) len); /* BAD */
        json_t *n = json_pack("{s:s}", "Name", NULL); /* BAD: NULL for a non-nullable 's' */
        json_t *o = json_pack("{s:f}", "Ratio", count); /* BAD */
        json_t *p = json_pack("{s:I}", 7, (json_int_t) len); /* BAD: number as a key */
        (void) ratio;
        return json_pack("[ooooooooooooooo]", a, b, c, d, e, f, g, h, i, k, l, m, n, o, p);
}
