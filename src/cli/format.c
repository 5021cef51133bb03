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

static void go_value(FILE *f, json_t *v)
{
        if (!v || json_is_null(v)) {
                fputs("<nil>", f);
        } else if (json_is_string(v)) {
                fputs(json_string_value(v), f);
        } else if (json_is_integer(v)) {
                fprintf(f, "%lld", (long long) json_integer_value(v));
        } else if (json_is_real(v)) {
                fprintf(f, "%g", json_real_value(v));
        } else if (json_is_boolean(v)) {
                fputs(json_is_true(v) ? "true" : "false", f);
        } else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                fputc('[', f);
                json_array_foreach(v, i, e) {
                        if (i)
                                fputc(' ', f);
                        go_value(f, e);
                }
                fputc(']', f);
        } else if (json_is_object(v)) {
                /* Go prints maps with sorted keys */
                size_t n = json_object_size(v), i = 0;
                const char **keys = calloc(n ? n : 1, sizeof(char *));
                const char *k;
                json_t *e;
                json_object_foreach(v, k, e) keys[i++] = k;
                for (size_t a = 1; a < n; a++)
                        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
                                const char *t = keys[b];
                                keys[b] = keys[b - 1];
                                keys[b - 1] = t;
                        }
                fputs("map[", f);
                for (i = 0; i < n; i++) {
                        if (i)
                                fputc(' ', f);
                        fprintf(f, "%s:", keys[i]);
                        go_value(f, json_object_get(v, keys[i]));
                }
                fputc(']', f);
                free(keys);
        }
}

char *fmt_go_value(json_t *v)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        go_value(f, v);
        fclose(f);
        return out;
}

/* ---- templates ---- */

int tmpl_parse(const char *format, Template *ret)
{
        bool table = false;
        const char *p = format;
        if (strneq(p, "table", 5) && (p[5] == 0 || isspace((unsigned char) p[5]))) {
                table = true;
                p += 5;
                while (*p == ' ')
                        p++;
        }
        char *text = malloc(strlen(p) + 1), *o = text;
        for (; *p; p++) {
                if (p[0] == '\\' && p[1] == 't') {
                        *o++ = '\t';
                        p++;
                } else if (p[0] == '\\' && p[1] == 'n') {
                        *o++ = '\n';
                        p++;
                } else
                        *o++ = *p;
        }
        *o = 0;
        if (table) {
                /* docker trims the spaces around the table body */
                while (o > text && o[-1] == ' ')
                        *--o = 0;
        }
        ret->text = text;
        ret->table = table;
        return 0;
}

void tmpl_free(Template *t)
{
        free(t->text);
        t->text = NULL;
}

typedef struct Val {
        json_t *j; /* owned reference */
} Val;

static char **tokenize(const char *s, size_t n)
{
        char **toks = NULL;
        size_t i = 0;
        while (i < n) {
                while (i < n && isspace((unsigned char) s[i]))
                        i++;
                if (i >= n)
                        break;
                size_t st = i;
                if (s[i] == '"') {
                        i++;
                        while (i < n && s[i] != '"') {
                                if (s[i] == '\\' && i + 1 < n)
                                        i++;
                                i++;
                        }
                        if (i < n)
                                i++;
                } else if (s[i] == '(' || s[i] == ')') {
                        i++;
                } else
                        while (i < n && !isspace((unsigned char) s[i]) && s[i] != '(' && s[i] != ')')
                                i++;
                strv_push(&toks, strndup(s + st, i - st));
        }
        return toks;
}

static json_t *lookup(json_t *ctx, const char *path)
{
        json_t *cur = json_incref(ctx);
        if (streq(path, "."))
                return cur;
        const char *p = path + 1;
        while (*p) {
                size_t l = strcspn(p, ".");
                _cleanup_free_ char *k = strndup(p, l);
                json_t *next = json_is_object(cur) ? json_object_get(cur, k) : NULL;
                json_decref(cur);
                if (!next)
                        return NULL;
                cur = json_incref(next);
                p += l;
                if (*p == '.')
                        p++;
        }
        return cur;
}

static int eval(char **toks, size_t *pos, size_t end, json_t *ctx, json_t **ret, char **err);

static int eval_arg(char **toks, size_t *pos, size_t end, json_t *ctx, json_t **ret, char **err)
{
        if (*pos >= end)
                return *err = strdup("missing argument"), -EINVAL;
        const char *t = toks[*pos];
        if (streq(t, "(")) {
                size_t depth = 0, close = *pos;
                for (size_t i = *pos; i < end; i++) {
                        if (streq(toks[i], "("))
                                depth++;
                        else if (streq(toks[i], ")") && --depth == 0) {
                                close = i;
                                break;
                        }
                }
                if (close == *pos)
                        return *err = strdup("unclosed parenthesis"), -EINVAL;
                size_t inner = *pos + 1;
                int r = eval(toks, &inner, close, ctx, ret, err);
                *pos = close + 1;
                return r;
        }
        (*pos)++;
        if (t[0] == '.') {
                json_t *v = lookup(ctx, t);
                *ret = v;
                return 0;
        }
        if (t[0] == '"') {
                _cleanup_free_ char *s = strndup(t + 1, strlen(t) >= 2 ? strlen(t) - 2 : 0);
                char *o = s;
                for (char *q = s; *q; q++) {
                        if (*q == '\\' && q[1]) {
                                q++;
                                *o++ = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
                        } else
                                *o++ = *q;
                }
                *o = 0;
                *ret = json_string(s);
                return 0;
        }
        if (isdigit((unsigned char) t[0]) || t[0] == '-') {
                *ret = json_integer(atoll(t));
                return 0;
        }
        *err = xasprintf("function \"%s\" not defined", t);
        return -EINVAL;
}

static char *val_str(json_t *v)
{
        if (!v)
                return strdup("<no value>");
        return fmt_go_value(v);
}

static int eval(char **toks, size_t *pos, size_t end, json_t *ctx, json_t **ret, char **err)
{
        if (*pos >= end)
                return *err = strdup("empty command"), -EINVAL;
        const char *f = toks[*pos];
        if (f[0] == '.' || f[0] == '"' || f[0] == '(' || isdigit((unsigned char) f[0]))
                return eval_arg(toks, pos, end, ctx, ret, err);
        (*pos)++;
        json_t *args[4] = { 0 };
        size_t na = 0;
        int r = 0;
        while (*pos < end && na < 4) {
                r = eval_arg(toks, pos, end, ctx, &args[na], err);
                na++;
                if (r < 0)
                        goto out;
        }
        if (streq(f, "json")) {
                if (na != 1)
                        goto bad_args;
                char *s = args[0] ? json_dumps(args[0], JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
                *ret = json_string(s);
                free(s);
        } else if (streq(f, "join")) {
                if (na != 2 || !json_is_string(args[1]))
                        goto bad_args;
                char *out = NULL;
                size_t len = 0, i;
                FILE *fp = open_memstream(&out, &len);
                json_t *e;
                if (json_is_array(args[0]))
                        json_array_foreach(args[0], i, e) {
                                if (i)
                                        fputs(json_string_value(args[1]), fp);
                                _cleanup_free_ char *s = val_str(e);
                                fputs(s, fp);
                        }
                fclose(fp);
                *ret = json_string(out);
                free(out);
        } else if (streq(f, "index")) {
                if (na != 2)
                        goto bad_args;
                json_t *v = NULL;
                if (json_is_object(args[0]) && json_is_string(args[1]))
                        v = json_object_get(args[0], json_string_value(args[1]));
                else if (json_is_array(args[0]) && json_is_integer(args[1]))
                        v = json_array_get(args[0], (size_t) json_integer_value(args[1]));
                *ret = v ? json_incref(v) : json_string("");
        } else if (streq(f, "upper") || streq(f, "lower") || streq(f, "title")) {
                if (na != 1)
                        goto bad_args;
                char *s = val_str(args[0]);
                for (char *q = s; *q; q++) {
                        if (streq(f, "upper") || (streq(f, "title") && (q == s || q[-1] == ' ')))
                                *q = (char) toupper((unsigned char) *q);
                        else if (streq(f, "lower"))
                                *q = (char) tolower((unsigned char) *q);
                }
                *ret = json_string(s);
                free(s);
        } else if (streq(f, "truncate")) {
                if (na != 2 || !json_is_integer(args[1]))
                        goto bad_args;
                char *s = val_str(args[0]);
                size_t n = (size_t) json_integer_value(args[1]);
                if (strlen(s) > n)
                        s[n] = 0;
                *ret = json_string(s);
                free(s);
        } else if (streq(f, "println") || streq(f, "print")) {
                char *out = NULL;
                size_t len = 0;
                FILE *fp = open_memstream(&out, &len);
                for (size_t i = 0; i < na; i++) {
                        _cleanup_free_ char *s = val_str(args[i]);
                        fprintf(fp, "%s%s", i ? " " : "", s);
                }
                if (streq(f, "println"))
                        fputc('\n', fp);
                fclose(fp);
                *ret = json_string(out);
                free(out);
        } else if (streq(f, "len")) {
                if (na != 1)
                        goto bad_args;
                size_t l = json_is_array(args[0]) ? json_array_size(args[0])
                           : json_is_object(args[0]) ? json_object_size(args[0])
                           : json_is_string(args[0]) ? strlen(json_string_value(args[0])) : 0;
                *ret = json_integer((json_int_t) l);
        } else {
                *err = xasprintf("function \"%s\" not defined", f);
                r = -EINVAL;
        }
        goto out;
bad_args:
        *err = xasprintf("wrong number or type of args for %s", f);
        r = -EINVAL;
out:
        for (size_t i = 0; i < na; i++)
                json_decref(args[i]);
        return r;
}

int tmpl_render(const Template *t, json_t *ctx, char **ret, char **ret_err)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        const char *p = t->text;
        int r = 0;
        bool trim_next = false;
        while (*p) {
                const char *open = strstr(p, "{{");
                size_t tl = open ? (size_t) (open - p) : strlen(p);
                const char *ts = p;
                if (trim_next)
                        while (tl > 0 && isspace((unsigned char) *ts))
                                ts++, tl--;
                trim_next = false;
                if (!open) {
                        fwrite(ts, 1, tl, f);
                        break;
                }
                const char *close = strstr(open + 2, "}}");
                if (!close) {
                        *ret_err = strdup("template: unclosed action");
                        r = -EINVAL;
                        break;
                }
                const char *as = open + 2, *ae = close;
                if (as[0] == '-' && isspace((unsigned char) as[1])) {
                        while (tl > 0 && isspace((unsigned char) ts[tl - 1]))
                                tl--;
                        as++;
                }
                if (ae - as >= 2 && ae[-1] == '-' && isspace((unsigned char) ae[-2])) {
                        trim_next = true;
                        ae--;
                }
                fwrite(ts, 1, tl, f);
                _cleanup_strv_free_ char **toks = tokenize(as, (size_t) (ae - as));
                size_t n = strv_length(toks), pos = 0;
                json_t *v = NULL;
                char *err = NULL;
                r = eval(toks, &pos, n, ctx, &v, &err);
                if (r >= 0 && pos < n) {
                        err = xasprintf("unexpected \"%s\" in command", toks[pos]);
                        r = -EINVAL;
                }
                if (r < 0) {
                        *ret_err = xasprintf("template parsing error: %s", err ? err : "bad action");
                        free(err);
                        json_decref(v);
                        break;
                }
                _cleanup_free_ char *s = val_str(v);
                json_decref(v);
                fputs(s, f);
                p = close + 2;
        }
        fclose(f);
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = out;
        return 0;
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
