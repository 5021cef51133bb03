#include "cli/format.h"

#include <ctype.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"

void tab_init(TabWriter *t, size_t minwidth)
{
        *t = (TabWriter){ .minwidth = minwidth };
}

static void tab_push(TabWriter *t, char *line)
{
        if (t->n == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 16;
                t->lines = realloc(t->lines, t->cap * sizeof(char *));
        }
        t->lines[t->n++] = line;
}

void tab_add(TabWriter *t, const char *text)
{
        const char *p = text;
        for (;;) {
                const char *nl = strchr(p, '\n');
                if (!nl) {
                        tab_push(t, strdup(p));
                        return;
                }
                tab_push(t, strndup(p, (size_t) (nl - p)));
                p = nl + 1;
                if (!*p)
                        return;
        }
}

size_t utf8_width(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        w++;
        return w;
}

char *tab_render(TabWriter *t)
{
        size_t ncols = 0;
        size_t *width = NULL;
        for (size_t i = 0; i < t->n; i++) {
                size_t col = 0;
                for (const char *p = t->lines[i]; (p = strchr(p, '\t')); p++)
                        col++;
                if (col > ncols) {
                        width = realloc(width, col * sizeof(size_t));
                        for (size_t c = ncols; c < col; c++)
                                width[c] = t->minwidth;
                        ncols = col;
                }
                const char *cell = t->lines[i];
                for (size_t c = 0; c < col; c++) {
                        const char *tab = strchr(cell, '\t');
                        _cleanup_free_ char *s = strndup(cell, (size_t) (tab - cell));
                        size_t w = utf8_width(s) + 3;
                        if (w > width[c])
                                width[c] = w;
                        cell = tab + 1;
                }
        }
        char *out = NULL;
        size_t outlen = 0;
        FILE *f = open_memstream(&out, &outlen);
        for (size_t i = 0; i < t->n; i++) {
                const char *cell = t->lines[i];
                size_t c = 0;
                for (const char *tab; (tab = strchr(cell, '\t')); cell = tab + 1, c++) {
                        _cleanup_free_ char *s = strndup(cell, (size_t) (tab - cell));
                        fputs(s, f);
                        for (size_t w = utf8_width(s); w < width[c]; w++)
                                fputc(' ', f);
                }
                fputs(cell, f);
                fputc('\n', f);
                free(t->lines[i]);
        }
        fclose(f);
        free(t->lines);
        free(width);
        t->lines = NULL;
        t->n = t->cap = 0;
        return out;
}

void tab_flush(TabWriter *t, FILE *f)
{
        _cleanup_free_ char *s = tab_render(t);
        fputs(s, f);
}

char *fmt_ellipsis(const char *s, size_t max)
{
        if (utf8_width(s) <= max)
                return strdup(s);
        if (max == 0)
                return strdup("");
        size_t runes = 0;
        const char *p = s;
        for (; *p; p++) {
                if (((unsigned char) *p & 0xC0) != 0x80) {
                        if (runes == max - 1)
                                break;
                        runes++;
                }
        }
        return xasprintf("%.*s…", (int) (p - s), s);
}

char *fmt_go_quote(const char *s)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                case '\a': fputs("\\a", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\v': fputs("\\v", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\x%02x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
        fclose(f);
        return out;
}

char *fmt_trunc_id(const char *id)
{
        const char *c = strchr(id, ':');
        if (c)
                id = c + 1;
        return strndup(id, 12);
}

int filters_add(json_t *filters, const char *kv)
{
        const char *eq = strchr(kv, '=');
        if (!eq)
                return -EINVAL;
        _cleanup_free_ char *k = strndup(kv, (size_t) (eq - kv));
        json_t *m = json_object_get(filters, k);
        if (!m) {
                m = json_object();
                json_object_set_new(filters, k, m);
        }
        json_object_set_new(m, eq + 1, json_true());
        return 0;
}

char *filters_query(json_t *filters)
{
        if (!filters || json_object_size(filters) == 0)
                return strdup("");
        _cleanup_free_ char *s = json_dumps(filters, JSON_COMPACT);
        _cleanup_free_ char *e = url_escape(s);
        return xasprintf("filters=%s", e);
}

char *url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(3 * strlen(s) + 1), *p = out;
        if (!out)
                return NULL;
        for (const unsigned char *q = (const unsigned char *) s; *q; q++) {
                if (isalnum(*q) || strchr("-_.~", *q))
                        *p++ = (char) *q;
                else {
                        *p++ = '%';
                        *p++ = hex[*q >> 4];
                        *p++ = hex[*q & 15];
                }
        }
        *p = 0;
        return out;
}

char *fmt_prepare(const char *format, bool *table)
{
        const char *p = format;
        *table = false;
        if (startswith(p, "table")) {
                *table = true;
                p += 5;
        } else if (streq(p, "json"))
                p = "{{json .}}";
        while (*p == ' ')
                p++;
        char *text = xmalloc(strlen(p) + 1), *o = text;
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == ' ')
                n--;
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 't' || p[i + 1] == 'n')) {
                        *o++ = p[i + 1] == 't' ? '\t' : '\n';
                        i++;
                } else
                        *o++ = p[i];
        }
        *o = 0;
        return text;
}

char *fmt_human_size(double b, int prec)
{
        static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
        size_t i = 0;
        while (b >= 1000.0 && i < ELEMENTSOF(units) - 1) {
                b /= 1000.0;
                i++;
        }
        return xasprintf("%.*g%s", prec, b, units[i]);
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void fmt_strv_sort(char **l)
{
        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_strp);
}

char *fmt_strv_join(char **l, const char *sep)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        for (size_t i = 0; l && l[i]; i++)
                fprintf(f, "%s%s", i ? sep : "", l[i]);
        fclose(f);
        return out;
}
