/* The classic builder's Dockerfile parser and word processing (see dockerfile.h). The rules follow
 * Docker's: a line continues when it ends with the escape character (trailing blanks allowed);
 * comment lines are dropped, also inside a continued instruction; parser directives are read only
 * before the first other line; each instruction's arguments are split the way its keyword asks. */
#include "dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

/* ---- small string builder ---- */

typedef struct Buf {
        char *p;
        size_t n, cap;
} Buf;

static void buf_putc(Buf *b, char c)
{
        if (b->n + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                char *np = xrealloc(b->p, cap);
                b->p = np;
                b->cap = cap;
        }
        b->p[b->n++] = c;
        b->p[b->n] = 0;
}

static void buf_puts(Buf *b, const char *s)
{
        for (; s && *s; s++)
                buf_putc(b, *s);
}

static char *buf_take(Buf *b)
{
        char *p = b->p ? b->p : xstrdup("");
        *b = (Buf){ 0 };
        return p;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static const char *skip_blank(const char *s)
{
        while (*s && is_blank(*s))
                s++;
        return s;
}

static char *strip(const char *s, size_t len)
{
        while (len && is_blank(*s))
                s++, len--;
        while (len && is_blank(s[len - 1]))
                len--;
        return xstrndup(s, len);
}

/* ---- argument splitting per instruction ---- */

/* "[...]" as a JSON array of strings; false when it is not one (the shell form then applies). */
static bool parse_json_array(const char *rest, char ***ret)
{
        rest = skip_blank(rest);
        if (*rest != '[')
                return false;
        json_t *j = json_loads(rest, JSON_DISABLE_EOF_CHECK, NULL);
        if (!json_is_array(j)) {
                json_decref(j);
                return false;
        }
        char **v = NULL;
        size_t i;
        json_t *a;
        json_array_foreach(j, i, a)
        {
                if (!json_is_string(a)) {
                        strv_free(v);
                        json_decref(j);
                        return false;
                }
                strv_extend(&v, json_string_value(a));
        }
        json_decref(j);
        *ret = v ? v : xcalloc(1, sizeof(char *));
        return true;
}

static char **split_blank(const char *rest)
{
        char **v = NULL;
        const char *p = skip_blank(rest);
        while (*p) {
                const char *e = p;
                while (*e && !is_blank(*e))
                        e++;
                strv_push(&v, xstrndup(p, (size_t) (e - p)));
                p = skip_blank(e);
        }
        return v;
}

/* Words split on blanks outside quotes; quotes and escapes stay in the words (expansion removes
 * them later). */
static char **parse_words(const char *rest, char esc)
{
        enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
        char **words = NULL;
        Buf w = { 0 };
        bool blank_ok = false;
        char quote = 0;
        size_t len = strlen(rest);
        for (size_t pos = 0; pos <= len; pos++) {
                char ch = pos < len ? rest[pos] : 0;
                if (phase == IN_SPACES) {
                        if (pos == len)
                                break;
                        if (is_blank(ch))
                                continue;
                        phase = IN_WORD;
                }
                if (pos == len) {
                        if (blank_ok || w.n)
                                strv_push(&words, buf_take(&w));
                        break;
                }
                if (phase == IN_WORD) {
                        if (is_blank(ch)) {
                                phase = IN_SPACES;
                                if (blank_ok || w.n)
                                        strv_push(&words, buf_take(&w));
                                free(w.p);
                                w = (Buf){ 0 };
                                blank_ok = false;
                                continue;
                        }
                        if (ch == '\'' || ch == '"') {
                                quote = ch;
                                blank_ok = true;
                                phase = IN_QUOTE;
                        }
                        if (ch == esc) {
                                if (pos + 1 == len)
                                        continue;
                                buf_putc(&w, ch);
                                ch = rest[++pos];
                        }
                        buf_putc(&w, ch);
                        continue;
                }
                /* IN_QUOTE */
                if (ch == quote)
                        phase = IN_WORD;
                if (ch == esc && quote != '\'') {
                        if (pos + 1 == len) {
                                phase = IN_WORD;
                                continue;
                        }
                        buf_putc(&w, ch);
                        ch = rest[++pos];
                }
                buf_putc(&w, ch);
        }
        free(w.p);
        return words;
}

static int parse_name_val(const char *rest, const char *key, char esc, char ***ret, BerthError **err)
{
        _cleanup_strv_free_ char **words = parse_words(rest, esc);
        if (!words)
                return 0;
        char **v = NULL;
        if (!strchr(words[0], '=')) {
                /* the old form: KEY name value... */
                const char *p = skip_blank(rest);
                const char *e = p;
                while (*e && !is_blank(*e))
                        e++;
                const char *val = skip_blank(e);
                if (!*val)
                        return berr_set(err, EINVAL, "%s must have two arguments", key);
                strv_push(&v, xstrndup(p, (size_t) (e - p)));
                strv_push(&v, strip(val, strlen(val)));
                *ret = v;
                return 0;
        }
        for (size_t i = 0; words[i]; i++) {
                char *eq = strchr(words[i], '=');
                if (!eq) {
                        strv_free(v);
                        return berr_set(err, EINVAL,
                                        "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                                        words[i]);
                }
                strv_push(&v, xstrndup(words[i], (size_t) (eq - words[i])));
                strv_extend(&v, eq + 1);
        }
        *ret = v;
        return 0;
}

void dockerfile_instr_clear(DfInstr *i)
{
        free(i->cmd);
        free(i->original);
        strv_free(i->flags);
        strv_free(i->args);
        if (i->sub) {
                dockerfile_instr_clear(i->sub);
                free(i->sub);
        }
        *i = (DfInstr){ 0 };
}

static int parse_line(const char *line, char esc, bool trigger, DfInstr *ret, BerthError **err);

int dockerfile_parse_line(const char *line, char esc, DfInstr *ret, BerthError **err)
{
        return parse_line(line, esc, false, ret, err);
}

/* trigger: the line is an ONBUILD's, which may not be an ONBUILD itself (nor recurse). */
static int parse_line(const char *line, char esc, bool trigger, DfInstr *ret, BerthError **err)
{
        DfInstr in = { 0 };
        in.original = strip(line, strlen(line));
        const char *p = in.original;
        const char *e = p;
        while (*e && !is_blank(*e))
                e++;
        in.cmd = xstrndup(p, (size_t) (e - p));
        for (char *c = in.cmd; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        const char *rest = skip_blank(e);
        /* builder flags: leading "--name[=value]" words */
        while (startswith(rest, "--")) {
                const char *fe = rest;
                while (*fe && !is_blank(*fe))
                        fe++;
                if (fe - rest == 2) { /* a bare "--" ends the flags */
                        rest = skip_blank(fe);
                        break;
                }
                strv_push(&in.flags, xstrndup(rest, (size_t) (fe - rest)));
                rest = skip_blank(fe);
        }
        int r = 0;
        const char *c = in.cmd;
        if (streq(c, "run") || streq(c, "cmd") || streq(c, "entrypoint") || streq(c, "shell")) {
                if (parse_json_array(rest, &in.args))
                        in.json = true;
                else if (*rest)
                        strv_push(&in.args, strip(rest, strlen(rest)));
        } else if (streq(c, "copy") || streq(c, "add") || streq(c, "volume")) {
                if (parse_json_array(rest, &in.args))
                        in.json = true;
                else
                        in.args = split_blank(rest);
        } else if (streq(c, "from") || streq(c, "expose")) {
                in.args = split_blank(rest);
        } else if (streq(c, "env")) {
                r = parse_name_val(rest, "ENV", esc, &in.args, err);
        } else if (streq(c, "label")) {
                r = parse_name_val(rest, "LABEL", esc, &in.args, err);
        } else if (streq(c, "arg")) {
                in.args = parse_words(rest, esc);
        } else if (streq(c, "healthcheck")) {
                const char *te = rest;
                while (*te && !is_blank(*te))
                        te++;
                if (te > rest) {
                        strv_push(&in.args, xstrndup(rest, (size_t) (te - rest)));
                        const char *cmd = skip_blank(te);
                        char **v = NULL;
                        if (parse_json_array(cmd, &v)) {
                                in.json = true;
                                for (size_t k = 0; v[k]; k++)
                                        strv_extend(&in.args, v[k]);
                                strv_free(v);
                        } else if (*cmd)
                                strv_push(&in.args, strip(cmd, strlen(cmd)));
                }
        } else if (streq(c, "onbuild")) {
                if (trigger)
                        r = berr_set(err, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
                else if (*rest) {
                        strv_extend(&in.args, rest);
                        in.sub = xcalloc(1, sizeof(DfInstr));
                        r = parse_line(rest, esc, true, in.sub, err);
                        if (r < 0) {
                                free(in.sub);
                                in.sub = NULL;
                        }
                }
        } else if (*rest) {
                /* maintainer, user, workdir, stopsignal, and unknown words */
                strv_push(&in.args, strip(rest, strlen(rest)));
        }
        if (r < 0) {
                dockerfile_instr_clear(&in);
                return r;
        }
        *ret = in;
        return 0;
}

/* "# escape=`" before any other line. */
static bool directive_escape(const char *line, char *ret)
{
        const char *p = line;
        if (*p++ != '#')
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        if (strncasecmp(p, "escape", 6) != 0)
                return false;
        p += 6;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p++ != '=')
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        if (!*p)
                return false;
        *ret = *p;
        return true;
}

/* The line without the escape character and blanks that end it, or NULL when it does not continue. */
static char *trim_continuation(const char *line, char esc)
{
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                n--;
        if (n && line[n - 1] == esc)
                return xstrndup(line, n - 1);
        return NULL;
}

static bool is_comment(const char *line)
{
        return *skip_blank(line) == '#';
}

void dockerfile_free(Dockerfile *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                dockerfile_instr_clear(&d->v[i]);
        free(d->v);
        strv_free(d->warnings);
        free(d);
}

int dockerfile_parse(const char *text, size_t len, Dockerfile **ret, BerthError **err)
{
        _cleanup_strv_free_ char **lines = NULL;
        for (size_t s = 0; s <= len;) {
                size_t e = s;
                while (e < len && text[e] != '\n')
                        e++;
                if (e == len && s == len)
                        break;
                size_t l = e - s;
                if (l && text[s + l - 1] == '\r')
                        l--;
                strv_push(&lines, xstrndup(text + s, l));
                s = e + 1;
        }
        Dockerfile *d = xcalloc(1, sizeof(*d));
        d->escape = '\\';
        bool directives = true, escape_seen = false;
        size_t cap = 0;
        int r = 0;
        for (size_t i = 0; lines && lines[i] && r == 0; i++) {
                const char *raw = skip_blank(lines[i]);
                if (directives) {
                        char ec;
                        if (directive_escape(raw, &ec)) {
                                if (escape_seen) {
                                        r = berr_set(err, EINVAL, "only one escape parser directive can be used");
                                        break;
                                }
                                escape_seen = true;
                                if (ec != '\\' && ec != '`') {
                                        r = berr_set(err, EINVAL, "invalid ESCAPE '%c'. Must be ` or \\", ec);
                                        break;
                                }
                                d->escape = ec;
                                continue;
                        }
                        directives = false;
                }
                if (is_comment(raw) || !*raw)
                        continue;
                int start = (int) i + 1;
                Buf line = { 0 };
                char *t = trim_continuation(raw, d->escape);
                buf_puts(&line, t ? t : raw);
                bool more = t != NULL;
                free(t);
                bool empty_cont = false;
                while (more && lines[i + 1]) {
                        i++;
                        if (is_comment(lines[i]))
                                continue;
                        if (!*skip_blank(lines[i])) {
                                empty_cont = true;
                                continue;
                        }
                        t = trim_continuation(lines[i], d->escape);
                        buf_puts(&line, t ? t : lines[i]);
                        more = t != NULL;
                        free(t);
                }
                _cleanup_free_ char *joined = buf_take(&line);
                if (!*skip_blank(joined))
                        continue;
                if (empty_cont)
                        strv_push(&d->warnings, xasprintf("[WARNING]: Empty continuation line found in:\n    %s",
                                                          joined));
                if (d->n == cap) {
                        cap = cap ? cap * 2 : 16;
                        DfInstr *nv = xrealloc(d->v, cap * sizeof(DfInstr));
                        d->v = nv;
                }
                r = dockerfile_parse_line(joined, d->escape, &d->v[d->n], err);
                if (r == 0)
                        d->v[d->n++].line = start;
                else if (err && *err) {
                        _cleanup_free_ char *m = (*err)->msg;
                        (*err)->msg = xasprintf("failed to parse Dockerfile: %s", m);
                }
        }
        if (r < 0) {
                dockerfile_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

const char *dockerfile_flag(DfInstr *i, const char *name, bool *present)
{
        const char *found = NULL;
        if (present)
                *present = false;
        for (size_t k = 0; i->flags && i->flags[k]; k++) {
                const char *f = i->flags[k] + 2;
                size_t n = strlen(name);
                if (strncmp(f, name, n) != 0 || (f[n] && f[n] != '='))
                        continue;
                if (present)
                        *present = true;
                found = f[n] == '=' ? f + n + 1 : "";
        }
        return found;
}

int dockerfile_check_flags(DfInstr *i, const char *const *allowed, BerthError **err)
{
        for (size_t k = 0; i->flags && i->flags[k]; k++) {
                const char *f = i->flags[k] + 2;
                size_t n = strcspn(f, "=");
                bool ok = false;
                for (size_t a = 0; allowed && allowed[a] && !ok; a++)
                        ok = strlen(allowed[a]) == n && strncmp(allowed[a], f, n) == 0;
                if (!ok) {
                        _cleanup_free_ char *name = xstrndup(f, n);
                        return berr_set(err, EINVAL, "Unknown flag: %s", name);
                }
        }
        return 0;
}

/* ---- word processing ---- */

typedef struct Lex {
        const char *s;
        size_t pos;
        char esc;
        char **env;
        BerthError **err;
        /* word splitting */
        char **words;
        Buf cur;
        bool in_word;
        unsigned depth; /* nested ${...:-...}: bounded, each level is a stack frame */
} Lex;

static char lpeek(Lex *l)
{
        return l->s[l->pos];
}

static char lnext(Lex *l)
{
        char c = l->s[l->pos];
        if (c)
                l->pos++;
        return c;
}

static const char *env_get(char **env, const char *name)
{
        const char *v = NULL;
        size_t n = strlen(name);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        v = env[i] + n + 1;
        return v;
}

static void word_char(Lex *l, char c)
{
        if (is_blank(c) && c != '\r') {
                if (l->in_word)
                        strv_push(&l->words, buf_take(&l->cur));
                l->in_word = false;
                return;
        }
        buf_putc(&l->cur, c);
        l->in_word = true;
}

static void word_raw(Lex *l, const char *s)
{
        buf_puts(&l->cur, s);
        l->in_word = true;
}

static int process_until(Lex *l, char stop, Buf *out, bool split);

static char *process_name(Lex *l)
{
        Buf n = { 0 };
        while (lpeek(l)) {
                char c = lpeek(l);
                if (!n.n && isdigit((unsigned char) c)) {
                        while (isdigit((unsigned char) lpeek(l)))
                                buf_putc(&n, lnext(l));
                        return buf_take(&n);
                }
                if (!n.n && strchr("@*#?-$!0", c)) {
                        buf_putc(&n, lnext(l));
                        return buf_take(&n);
                }
                if (!isalnum((unsigned char) c) && c != '_')
                        break;
                buf_putc(&n, lnext(l));
        }
        return buf_take(&n);
}

/* After '$': the substituted text. */
static int process_dollar(Lex *l, char **ret)
{
        if (lpeek(l) != '{') {
                _cleanup_free_ char *name = process_name(l);
                if (!*name) {
                        *ret = xstrdup("$");
                        return 0;
                }
                *ret = xstrdup(env_get(l->env, name) ?: "");
                return 0;
        }
        lnext(l);
        _cleanup_free_ char *name = process_name(l);
        char c = lpeek(l);
        if (c == '}') {
                lnext(l);
                *ret = xstrdup(env_get(l->env, name) ?: "");
                return 0;
        }
        if (c != ':') {
                if (!c)
                        return berr_set(l->err, EINVAL, "syntax error: missing '}'");
                return berr_set(l->err, EINVAL, "missing ':' in substitution");
        }
        lnext(l);
        char mod = lnext(l);
        if (++l->depth > 64)
                return berr_set(l->err, EINVAL, "substitutions nested too deeply");
        Buf w = { 0 };
        int r = process_until(l, '}', &w, false);
        l->depth--;
        _cleanup_free_ char *word = buf_take(&w);
        if (r < 0)
                return r;
        const char *v = env_get(l->env, name);
        switch (mod) {
        case '+':
                *ret = xstrdup(v && *v ? word : "");
                return 0;
        case '-':
                *ret = xstrdup(v && *v ? v : word);
                return 0;
        case '?':
                if (!v || !*v)
                        return berr_set(l->err, EINVAL, "%s: %s", name, *word ? word : "is not allowed to be unset");
                *ret = xstrdup(v);
                return 0;
        default:
                return berr_set(l->err, EINVAL, "unsupported modifier (%c) in substitution", mod ? mod : ' ');
        }
}

static int process_single_quote(Lex *l, Buf *out)
{
        lnext(l);
        for (;;) {
                char c = lnext(l);
                if (!c)
                        return berr_set(l->err, EINVAL, "unexpected end of statement while looking for matching single-quote");
                if (c == '\'')
                        return 0;
                buf_putc(out, c);
        }
}

static int process_double_quote(Lex *l, Buf *out)
{
        lnext(l);
        for (;;) {
                char c = lpeek(l);
                if (!c)
                        return berr_set(l->err, EINVAL, "unexpected end of statement while looking for matching double-quote");
                if (c == '"') {
                        lnext(l);
                        return 0;
                }
                if (c == '$') {
                        lnext(l);
                        _cleanup_free_ char *v = NULL;
                        int r = process_dollar(l, &v);
                        if (r < 0)
                                return r;
                        buf_puts(out, v);
                        continue;
                }
                c = lnext(l);
                if (c == l->esc) {
                        char n = lpeek(l);
                        if (!n)
                                continue;
                        if (n == '"' || n == '$' || n == l->esc)
                                c = lnext(l);
                }
                buf_putc(out, c);
        }
}

static int process_until(Lex *l, char stop, Buf *out, bool split)
{
        while (lpeek(l)) {
                char c = lpeek(l);
                if (stop && c == stop) {
                        lnext(l);
                        return 0;
                }
                if (c == '\'' || c == '"') {
                        Buf q = { 0 };
                        int r = c == '\'' ? process_single_quote(l, &q) : process_double_quote(l, &q);
                        _cleanup_free_ char *s = buf_take(&q);
                        if (r < 0)
                                return r;
                        buf_puts(out, s);
                        if (split)
                                word_raw(l, s);
                        continue;
                }
                if (c == '$') {
                        lnext(l);
                        _cleanup_free_ char *v = NULL;
                        int r = process_dollar(l, &v);
                        if (r < 0)
                                return r;
                        buf_puts(out, v);
                        if (split)
                                for (const char *p = v; *p; p++)
                                        word_char(l, *p);
                        continue;
                }
                c = lnext(l);
                if (c == l->esc) {
                        c = lnext(l);
                        if (!c)
                                break;
                        if (split) {
                                buf_putc(&l->cur, c);
                                l->in_word = true;
                        }
                } else if (split)
                        word_char(l, c);
                buf_putc(out, c);
        }
        if (stop)
                return berr_set(l->err, EINVAL, "syntax error: missing '}'");
        return 0;
}

static int process(const char *word, char esc, char **env, char **ret, char ***ret_words, BerthError **err)
{
        Lex l = { .s = word, .esc = esc, .env = env, .err = err };
        Buf out = { 0 };
        int r = process_until(&l, 0, &out, ret_words != NULL);
        char *s = buf_take(&out);
        if (l.in_word)
                strv_push(&l.words, buf_take(&l.cur));
        free(l.cur.p);
        if (r < 0) {
                free(s);
                strv_free(l.words);
                return r;
        }
        if (ret)
                *ret = s;
        else
                free(s);
        if (ret_words)
                *ret_words = l.words ? l.words : xcalloc(1, sizeof(char *));
        else
                strv_free(l.words);
        return 0;
}

int dockerfile_word(const char *word, char esc, char **env, char **ret, BerthError **err)
{
        return process(word, esc, env, ret, NULL, err);
}

int dockerfile_words(const char *word, char esc, char **env, char ***ret, BerthError **err)
{
        return process(word, esc, env, NULL, ret, err);
}
