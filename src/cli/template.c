/* Go's text/template as docker's --format uses it: parsed once into a tree,
 * executed against jansson values. JSON maps stand for Go maps and structs,
 * arrays for slices; a NULL value is Go's invalid value ("<no value>"). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/format.h"

typedef enum { A_FIELD, A_VAR, A_DOT, A_STRING, A_INT, A_FLOAT, A_BOOL, A_NIL, A_FUNC, A_PIPE } ArgKind;
typedef enum { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_BREAK, N_CONTINUE } NodeKind;

typedef struct Pipe Pipe;
typedef struct TNode TNode;

typedef struct Arg {
        ArgKind kind;
        char *name;    /* function name, variable name, string value */
        char **fields; /* field chain after the operand (A_FIELD: the whole chain) */
        long long i;
        double f;
        Pipe *pipe; /* A_PIPE */
        size_t pos; /* of the last chain element, as Go reports it */
        char *src;
} Arg;

typedef struct Cmd {
        Arg **args;
        size_t n;
        size_t pos;
        char *src;
} Cmd;

struct Pipe {
        char *decl[2];
        size_t ndecl;
        bool assign; /* "=" rather than ":=" */
        Cmd **cmds;
        size_t n;
        size_t pos;
};

typedef struct List {
        TNode **nodes;
        size_t n;
} List;

struct TNode {
        NodeKind kind;
        size_t pos;
        char *text;
        size_t len;
        Pipe *pipe;
        List list, elselist;
};

#define PUSH(arr, n, item)                                                        \
        do {                                                                      \
                (arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr)));              \
                (arr)[(n)++] = (item);                                            \
        } while (0)

/* ---- parser ---- */

typedef struct Parser {
        const char *s;
        size_t p;      /* cursor inside an action */
        size_t end;    /* the action's end (its "}}" or " -}}") */
        char *err;
        char **vars;   /* declared variables, for "undefined variable" */
        size_t nvars;
        int range_depth;
        const char *name;
} Parser;

static const char *const builtin_funcs[] = {
        "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println",
        "slice", "urlquery", "html", "js", "call",
        /* docker's */
        "json", "join", "split", "lower", "upper", "title", "truncate", "pad", NULL,
};

static size_t line_of(const char *s, size_t pos)
{
        size_t line = 1;
        for (size_t i = 0; i < pos && s[i]; i++)
                if (s[i] == '\n')
                        line++;
        return line;
}

static int perr(Parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(Parser *ps, const char *fmt, ...)
{
        if (ps->err)
                return -EINVAL;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                abort();
        va_end(ap);
        ps->err = xasprintf("template: %s:%zu: %s", ps->name, line_of(ps->s, ps->p), m);
        return -EINVAL;
}

static void arg_free(Arg *a);
static void pipe_free(Pipe *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                for (size_t j = 0; j < p->cmds[i]->n; j++)
                        arg_free(p->cmds[i]->args[j]);
                free(p->cmds[i]->args);
                free(p->cmds[i]->src);
                free(p->cmds[i]);
        }
        free(p->cmds);
        free(p->decl[0]);
        free(p->decl[1]);
        free(p);
}

static void arg_free(Arg *a)
{
        if (!a)
                return;
        free(a->name);
        strv_free(a->fields);
        pipe_free(a->pipe);
        free(a->src);
        free(a);
}

static void list_free(List *l);
static void node_free(TNode *n)
{
        if (!n)
                return;
        free(n->text);
        pipe_free(n->pipe);
        list_free(&n->list);
        list_free(&n->elselist);
        free(n);
}

static void list_free(List *l)
{
        for (size_t i = 0; i < l->n; i++)
                node_free(l->nodes[i]);
        free(l->nodes);
        l->nodes = NULL;
        l->n = 0;
}

static bool is_alnum_(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

static void skip_space(Parser *ps)
{
        while (ps->p < ps->end && isspace((unsigned char) ps->s[ps->p]))
                ps->p++;
}

static bool at_end(Parser *ps)
{
        skip_space(ps);
        return ps->p >= ps->end;
}

static char *read_ident(Parser *ps)
{
        size_t st = ps->p;
        while (ps->p < ps->end && is_alnum_(ps->s[ps->p]))
                ps->p++;
        return xstrndup(ps->s + st, ps->p - st);
}

/* Go's string literal escapes. */
static int parse_string(Parser *ps, char **ret)
{
        char q = ps->s[ps->p++];
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        bool ok = false;
        while (ps->p < ps->end) {
                char c = ps->s[ps->p++];
                if (c == q) {
                        ok = true;
                        break;
                }
                if (q == '`' || c != '\\') {
                        if (c == '\n' && q != '`')
                                break;
                        fputc(c, f);
                        continue;
                }
                if (ps->p >= ps->end)
                        break;
                c = ps->s[ps->p++];
                switch (c) {
                case 'n': fputc('\n', f); break;
                case 't': fputc('\t', f); break;
                case 'r': fputc('\r', f); break;
                case 'a': fputc('\a', f); break;
                case 'b': fputc('\b', f); break;
                case 'f': fputc('\f', f); break;
                case 'v': fputc('\v', f); break;
                case '\\': case '"': case '\'': fputc(c, f); break;
                case 'x': case 'u': case 'U': {
                        int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                        unsigned long cp = 0;
                        for (int i = 0; i < digits && ps->p < ps->end; i++) {
                                char h = ps->s[ps->p++];
                                cp = cp * 16 + (unsigned long) (isdigit((unsigned char) h) ? h - '0'
                                                                : (tolower((unsigned char) h) - 'a' + 10));
                        }
                        if (c == 'x' || cp < 0x80)
                                fputc((int) cp, f);
                        else if (cp < 0x800)
                                fprintf(f, "%c%c", (int) (0xC0 | (cp >> 6)), (int) (0x80 | (cp & 0x3F)));
                        else if (cp < 0x10000)
                                fprintf(f, "%c%c%c", (int) (0xE0 | (cp >> 12)), (int) (0x80 | ((cp >> 6) & 0x3F)),
                                        (int) (0x80 | (cp & 0x3F)));
                        else
                                fprintf(f, "%c%c%c%c", (int) (0xF0 | (cp >> 18)), (int) (0x80 | ((cp >> 12) & 0x3F)),
                                        (int) (0x80 | ((cp >> 6) & 0x3F)), (int) (0x80 | (cp & 0x3F)));
                        break;
                }
                default:
                        fclose(f);
                        free(out);
                        return perr(ps, "invalid syntax: %c", c);
                }
        }
        fclose(f);
        if (!ok) {
                free(out);
                return perr(ps, q == '`' ? "unterminated raw quoted string" : "unterminated quoted string");
        }
        *ret = out;
        return 0;
}

static Pipe *parse_pipe(Parser *ps, bool allow_decl, int ndecl_max, size_t close);

static bool func_known(const char *name)
{
        for (size_t i = 0; builtin_funcs[i]; i++)
                if (streq(builtin_funcs[i], name))
                        return true;
        return false;
}

/* A ".A.B" chain directly after an operand. */
static void parse_chain(Parser *ps, Arg *a)
{
        size_t n = strv_length(a->fields);
        while (ps->p + 1 < ps->end && ps->s[ps->p] == '.' && is_alnum_(ps->s[ps->p + 1])) {
                a->pos = ps->p;
                ps->p++;
                char *id = read_ident(ps);
                a->fields = xrealloc(a->fields, (n + 2) * sizeof(char *));
                a->fields[n++] = id;
                a->fields[n] = NULL;
        }
}

static Arg *parse_operand(Parser *ps, size_t close)
{
        skip_space(ps);
        size_t st = ps->p;
        const char *s = ps->s;
        char c = s[ps->p];
        Arg *a = xcalloc(1, sizeof(Arg));
        a->pos = st;
        if (c == '.' && ps->p + 1 < ps->end && is_alnum_(s[ps->p + 1]) && !isdigit((unsigned char) s[ps->p + 1])) {
                a->kind = A_FIELD;
                parse_chain(ps, a);
        } else if (c == '.' && !(ps->p + 1 < ps->end && isdigit((unsigned char) s[ps->p + 1]))) {
                a->kind = A_DOT;
                ps->p++;
                if (ps->p < ps->end && s[ps->p] == '.') {
                        perr(ps, "unexpected . after term \".\"");
                        goto fail;
                }
        } else if (c == '$') {
                a->kind = A_VAR;
                ps->p++;
                _cleanup_free_ char *id = read_ident(ps);
                a->name = xasprintf("$%s", id);
                bool known = false;
                for (size_t i = 0; i < ps->nvars; i++)
                        if (streq(ps->vars[i], a->name))
                                known = true;
                if (!known) {
                        perr(ps, "undefined variable \"%s\"", a->name);
                        goto fail;
                }
                parse_chain(ps, a);
        } else if (c == '"' || c == '`') {
                a->kind = A_STRING;
                if (parse_string(ps, &a->name) < 0)
                        goto fail;
        } else if (c == '\'') {
                ps->p++;
                if (ps->p + 1 >= ps->end + 1 || s[ps->p + 1] != '\'') {
                        perr(ps, "unterminated character constant");
                        goto fail;
                }
                a->kind = A_INT;
                a->i = (unsigned char) s[ps->p];
                ps->p += 2;
        } else if (isdigit((unsigned char) c) || c == '-' || c == '+' || c == '.') {
                size_t e = ps->p + 1;
                while (e < ps->end && (isalnum((unsigned char) s[e]) || s[e] == '.' || s[e] == '_' ||
                                       ((s[e] == '-' || s[e] == '+') && (s[e - 1] == 'e' || s[e - 1] == 'E'))))
                        e++;
                _cleanup_free_ char *num = xstrndup(s + ps->p, e - ps->p);
                char *endp;
                errno = 0;
                long long v = strtoll(num, &endp, 0);
                if (!*endp && !errno) {
                        a->kind = A_INT;
                        a->i = v;
                } else {
                        double d = strtod(num, &endp);
                        if (*endp || !strpbrk(num, "0123456789")) {
                                perr(ps, "bad number syntax: \"%s\"", num);
                                goto fail;
                        }
                        a->kind = A_FLOAT;
                        a->f = d;
                }
                ps->p = e;
        } else if (c == '(') {
                ps->p++;
                size_t depth = 1, q = ps->p;
                /* find the matching ')' outside strings */
                for (; q < ps->end; q++) {
                        if (s[q] == '"' || s[q] == '`') {
                                char qc = s[q];
                                for (q++; q < ps->end && s[q] != qc; q++)
                                        if (s[q] == '\\' && qc == '"')
                                                q++;
                        } else if (s[q] == '(')
                                depth++;
                        else if (s[q] == ')' && --depth == 0)
                                break;
                }
                if (q >= ps->end) {
                        perr(ps, "unclosed left paren");
                        goto fail;
                }
                a->kind = A_PIPE;
                size_t saved_end = ps->end;
                ps->end = q;
                a->pipe = parse_pipe(ps, true, 1, q);
                ps->end = saved_end;
                if (!a->pipe)
                        goto fail;
                ps->p = q + 1;
                parse_chain(ps, a);
        } else if (isalpha((unsigned char) c) || c == '_') {
                a->name = read_ident(ps);
                if (streq(a->name, "true") || streq(a->name, "false")) {
                        a->kind = A_BOOL;
                        a->i = streq(a->name, "true");
                } else if (streq(a->name, "nil")) {
                        a->kind = A_NIL;
                } else {
                        if (!func_known(a->name)) {
                                perr(ps, "function \"%s\" not defined", a->name);
                                goto fail;
                        }
                        a->kind = A_FUNC;
                }
        } else {
                if (c == ')')
                        perr(ps, "unexpected right paren");
                else
                        perr(ps, "unexpected \"%c\" in operand", c);
                goto fail;
        }
        (void) close;
        a->src = xstrndup(s + st, ps->p - st);
        return a;
fail:
        arg_free(a);
        return NULL;
}

static Cmd *parse_cmd(Parser *ps, size_t close)
{
        Cmd *cmd = xcalloc(1, sizeof(Cmd));
        skip_space(ps);
        cmd->pos = ps->p;
        for (;;) {
                if (at_end(ps) || ps->s[ps->p] == '|')
                        break;
                if (cmd->n && !isspace((unsigned char) ps->s[ps->p - 1]) && ps->s[ps->p - 1] != ')' &&
                    ps->s[ps->p] != '(') {
                        perr(ps, "unexpected \"%c\" in operand", ps->s[ps->p]);
                        goto fail;
                }
                Arg *a = parse_operand(ps, close);
                if (!a)
                        goto fail;
                PUSH(cmd->args, cmd->n, a);
        }
        if (!cmd->n) {
                perr(ps, "missing value for command");
                goto fail;
        }
        size_t e = ps->p;
        while (e > cmd->pos && isspace((unsigned char) ps->s[e - 1]))
                e--;
        cmd->src = xstrndup(ps->s + cmd->pos, e - cmd->pos);
        return cmd;
fail:
        for (size_t i = 0; i < cmd->n; i++)
                arg_free(cmd->args[i]);
        free(cmd->args);
        free(cmd);
        return NULL;
}

static void declare(Parser *ps, const char *name)
{
        PUSH(ps->vars, ps->nvars, xstrdup(name));
}

/* "[$x :=] cmd | cmd ..." up to ps->end. */
static Pipe *parse_pipe(Parser *ps, bool allow_decl, int ndecl_max, size_t close)
{
        Pipe *pipe = xcalloc(1, sizeof(Pipe));
        skip_space(ps);
        pipe->pos = ps->p;
        if (allow_decl && ps->s[ps->p] == '$') {
                size_t save = ps->p;
                char *names[2] = { 0 };
                size_t n = 0;
                bool ok = false;
                for (;;) {
                        if (ps->s[ps->p] != '$')
                                break;
                        ps->p++;
                        _cleanup_free_ char *id = read_ident(ps);
                        names[n++] = xasprintf("$%s", id);
                        skip_space(ps);
                        if (ps->p + 1 < ps->end && ps->s[ps->p] == ':' && ps->s[ps->p + 1] == '=') {
                                ps->p += 2;
                                ok = true;
                                break;
                        }
                        if (ps->s[ps->p] == '=' && n == 1) {
                                ps->p++;
                                ok = true;
                                pipe->assign = true;
                                break;
                        }
                        if (ps->s[ps->p] == ',' && n < 2) {
                                ps->p++;
                                skip_space(ps);
                                continue;
                        }
                        if (ps->s[ps->p] == ',') {
                                perr(ps, "too many declarations in %s", ndecl_max == 2 ? "range" : "command");
                                free(names[0]);
                                free(names[1]);
                                pipe_free(pipe);
                                return NULL;
                        }
                        break;
                }
                if (ok && n > (size_t) ndecl_max) {
                        perr(ps, "too many declarations in command");
                        free(names[0]);
                        free(names[1]);
                        pipe_free(pipe);
                        return NULL;
                }
                if (ok) {
                        pipe->ndecl = n;
                        pipe->decl[0] = names[0];
                        pipe->decl[1] = names[1];
                        if (pipe->assign) {
                                bool known = false;
                                for (size_t i = 0; i < ps->nvars; i++)
                                        if (streq(ps->vars[i], names[0]))
                                                known = true;
                                if (!known) {
                                        perr(ps, "undefined variable \"%s\"", names[0]);
                                        pipe_free(pipe);
                                        return NULL;
                                }
                        }
                } else {
                        free(names[0]);
                        free(names[1]);
                        ps->p = save;
                }
        }
        for (;;) {
                Cmd *cmd = parse_cmd(ps, close);
                if (!cmd) {
                        pipe_free(pipe);
                        return NULL;
                }
                PUSH(pipe->cmds, pipe->n, cmd);
                if (at_end(ps))
                        break;
                if (ps->s[ps->p] == '|') {
                        ps->p++;
                        continue;
                }
                perr(ps, "unexpected \"%c\" in command", ps->s[ps->p]);
                pipe_free(pipe);
                return NULL;
        }
        /* declarations take effect after the pipeline */
        if (!pipe->assign)
                for (size_t i = 0; i < pipe->ndecl; i++)
                        declare(ps, pipe->decl[i]);
        for (size_t i = 1; i < pipe->n; i++) {
                ArgKind k = pipe->cmds[i]->args[0]->kind;
                if (k != A_FUNC && k != A_FIELD && k != A_VAR && k != A_PIPE && k != A_DOT) {
                        ps->p = pipe->cmds[i]->pos;
                        perr(ps, "non executable command in pipeline stage %zu", i + 1);
                        pipe_free(pipe);
                        return NULL;
                }
        }
        return pipe;
}

/* The text of the whole template and the scanning position between actions. */
typedef struct Scan {
        size_t pos;      /* next unread byte */
        bool trim_left;  /* the previous action ended with " -}}" */
} Scan;

typedef enum { T_EOF, T_TEXT, T_ACTION } Tok;

/* Finds the next action: returns its keyword (or NULL for a pipeline) in *kw, and sets ps->p/ps->end to its body. */
static int next_action(Parser *ps, Scan *sc, size_t *text_start, size_t *text_len, bool *has_action,
                       bool *trim_right)
{
        const char *s = ps->s;
        const char *open = strstr(s + sc->pos, "{{");
        size_t ts = sc->pos, tl = open ? (size_t) (open - (s + ts)) : strlen(s + ts);
        if (sc->trim_left)
                while (tl > 0 && isspace((unsigned char) s[ts]))
                        ts++, tl--;
        *has_action = open != NULL;
        *trim_right = false;
        if (!open) {
                *text_start = ts;
                *text_len = tl;
                sc->pos = ts + tl;
                return 0;
        }
        size_t as = (size_t) (open - s) + 2;
        if (s[as] == '-' && (s[as + 1] == ' ' || s[as + 1] == '\t' || s[as + 1] == '\r' || s[as + 1] == '\n')) {
                while (tl > 0 && isspace((unsigned char) s[ts + tl - 1]))
                        tl--;
                as += 1;
        }
        *text_start = ts;
        *text_len = tl;
        ps->p = as;
        /* comment */
        size_t q = as;
        while (isspace((unsigned char) s[q]))
                q++;
        if (s[q] == '/' && s[q + 1] == '*') {
                const char *ce = strstr(s + q + 2, "*/");
                if (!ce) {
                        ps->p = q;
                        return perr(ps, "unclosed comment");
                }
                size_t after = (size_t) (ce - s) + 2;
                if (isspace((unsigned char) s[after]) && s[after + 1] == '-' && s[after + 2] == '}' &&
                    s[after + 3] == '}') {
                        *trim_right = true;
                        after += 4;
                } else if (s[after] == '}' && s[after + 1] == '}')
                        after += 2;
                else {
                        ps->p = after;
                        return perr(ps, "comment ends before closing delimiter");
                }
                ps->p = ps->end = as; /* empty body: a comment */
                sc->pos = after;
                sc->trim_left = *trim_right;
                return 1;
        }
        /* find "}}" outside quotes */
        size_t e = as;
        for (; s[e]; e++) {
                if (s[e] == '"' || s[e] == '`' || s[e] == '\'') {
                        char qc = s[e];
                        for (e++; s[e] && s[e] != qc; e++) {
                                if (s[e] == '\\' && qc != '`' && s[e + 1])
                                        e++;
                                if (s[e] == '\n' && qc != '`')
                                        break;
                        }
                        if (s[e] != qc) {
                                ps->p = e;
                                return perr(ps, qc == '`' ? "unterminated raw quoted string"
                                                : qc == '"' ? "unterminated quoted string"
                                                            : "unterminated character constant");
                        }
                        continue;
                }
                if (s[e] == '}' && s[e + 1] == '}')
                        break;
        }
        if (!s[e]) {
                ps->p = as;
                ps->end = strlen(s);
                return perr(ps, "unclosed action");
        }
        sc->pos = e + 2;
        if (e >= as + 2 && s[e - 1] == '-' && isspace((unsigned char) s[e - 2])) {
                *trim_right = true;
                e -= 2;
        }
        sc->trim_left = *trim_right;
        ps->end = e;
        return 2;
}

static TNode *new_node(NodeKind k, size_t pos)
{
        TNode *n = xcalloc(1, sizeof(TNode));
        n->kind = k;
        n->pos = pos;
        return n;
}

/* Parses nodes into l until {{end}} or {{else...}}; *stop gets "end", "else", "else if", "else with" or NULL at EOF. */
static int parse_list(Parser *ps, Scan *sc, List *l, const char **stop)
{
        *stop = NULL;
        for (;;) {
                size_t ts, tl;
                bool has_action, trim_right;
                int r = next_action(ps, sc, &ts, &tl, &has_action, &trim_right);
                if (r < 0)
                        return r;
                if (tl) {
                        TNode *n = new_node(N_TEXT, ts);
                        n->text = xstrndup(ps->s + ts, tl);
                        n->len = tl;
                        PUSH(l->nodes, l->n, n);
                }
                if (!has_action)
                        return 0;
                if (r == 1) /* comment */
                        continue;
                skip_space(ps);
                size_t kwpos = ps->p;
                size_t save = ps->p;
                _cleanup_free_ char *kw = isalpha((unsigned char) ps->s[ps->p]) ? read_ident(ps) : NULL;
                if (kw && ps->p < ps->end && !isspace((unsigned char) ps->s[ps->p]) && ps->s[ps->p] != '(') {
                        free(kw);
                        kw = NULL;
                        ps->p = save;
                }
                if (kw && streq(kw, "end")) {
                        if (!at_end(ps))
                                return perr(ps, "unexpected \"%c\" in end", ps->s[ps->p]);
                        *stop = "end";
                        return 0;
                }
                if (kw && streq(kw, "else")) {
                        if (at_end(ps)) {
                                *stop = "else";
                                return 0;
                        }
                        save = ps->p;
                        _cleanup_free_ char *kw2 = read_ident(ps);
                        if (streq(kw2, "if")) {
                                *stop = "else if";
                                return 0;
                        }
                        if (streq(kw2, "with")) {
                                *stop = "else with";
                                return 0;
                        }
                        ps->p = save;
                        return perr(ps, "unexpected \"%c\" in else", ps->s[ps->p]);
                }
                if (kw && (streq(kw, "break") || streq(kw, "continue"))) {
                        if (!at_end(ps))
                                return perr(ps, "unexpected \"%c\" in %s", ps->s[ps->p], kw);
                        if (ps->range_depth == 0)
                                return perr(ps, "{{%s}} outside {{range}}", kw);
                        PUSH(l->nodes, l->n, new_node(streq(kw, "break") ? N_BREAK : N_CONTINUE, kwpos));
                        continue;
                }
                if (kw && (streq(kw, "define") || streq(kw, "template") || streq(kw, "block")))
                        return perr(ps, "{{%s}} is not supported by berth", kw);
                NodeKind k = N_ACTION;
                if (kw && streq(kw, "if"))
                        k = N_IF;
                else if (kw && streq(kw, "range"))
                        k = N_RANGE;
                else if (kw && streq(kw, "with"))
                        k = N_WITH;
                else
                        ps->p = save;
                if (k != N_ACTION) {
                        r = 0;
                        /* one control structure, with "else if" / "else with" chains parsed as nested nodes */
                        TNode *first = NULL, *cur = NULL;
                        size_t vars_mark = ps->nvars;
                        for (;;) {
                                if (at_end(ps)) {
                                        r = perr(ps, "missing value for %s",
                                                 k == N_IF ? "if" : k == N_RANGE ? "range" : "with");
                                        break;
                                }
                                TNode *n = new_node(k, kwpos);
                                n->pipe = parse_pipe(ps, true, k == N_RANGE ? 2 : 1, ps->end);
                                if (!first)
                                        first = n;
                                else
                                        PUSH(cur->elselist.nodes, cur->elselist.n, n);
                                cur = n;
                                if (!n->pipe) {
                                        r = -EINVAL;
                                        break;
                                }
                                if (k == N_RANGE)
                                        ps->range_depth++;
                                const char *st;
                                r = parse_list(ps, sc, &n->list, &st);
                                if (k == N_RANGE)
                                        ps->range_depth--;
                                if (r < 0)
                                        break;
                                if (!st) {
                                        r = perr(ps, "unexpected EOF");
                                        break;
                                }
                                if (streq(st, "end"))
                                        break;
                                if (streq(st, "else")) {
                                        r = parse_list(ps, sc, &n->elselist, &st);
                                        if (r < 0)
                                                break;
                                        if (!st)
                                                r = perr(ps, "unexpected EOF");
                                        else if (!streq(st, "end"))
                                                r = perr(ps, "expected end; found {{%s}}", st);
                                        break;
                                }
                                if ((streq(st, "else if") && k != N_IF) || (streq(st, "else with") && k != N_WITH)) {
                                        r = perr(ps, "unexpected {{%s}}", st);
                                        break;
                                }
                                kwpos = ps->p;
                        }
                        while (ps->nvars > vars_mark)
                                free(ps->vars[--ps->nvars]);
                        if (first)
                                PUSH(l->nodes, l->n, first);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (at_end(ps))
                        return perr(ps, "missing value for command");
                TNode *n = new_node(N_ACTION, ps->p);
                PUSH(l->nodes, l->n, n);
                n->pipe = parse_pipe(ps, true, 1, ps->end);
                if (!n->pipe)
                        return -EINVAL;
        }
}

int tmpl_parse(const char *text, const char *name, Template *ret, char **ret_err)
{
        *ret = (Template){ .name = name ? name : "" };
        Parser ps = { .s = text, .name = ret->name };
        declare(&ps, "$");
        Scan sc = { 0 };
        List *root = xcalloc(1, sizeof(List));
        const char *stop = NULL;
        int r = parse_list(&ps, &sc, root, &stop);
        if (r >= 0 && stop) {
                ps.p = sc.pos - 1;
                r = perr(&ps, "unexpected {{%s}}", stop);
        }
        for (size_t i = 0; i < ps.nvars; i++)
                free(ps.vars[i]);
        free(ps.vars);
        if (r < 0) {
                list_free(root);
                free(root);
                *ret_err = ps.err ? ps.err : xstrdup("template: bad template");
                return -EINVAL;
        }
        ret->root = root;
        ret->src = xstrdup(text);
        return 0;
}

void tmpl_free(Template *t)
{
        if (t->root) {
                list_free(t->root);
                free(t->root);
        }
        t->root = NULL;
        free(t->src);
        t->src = NULL;
}

/* ---- values ---- */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Go ranges over and prints maps in key order. */
static void strv_sort(char **l)
{
        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_str);
}

static const char *go_type(json_t *v)
{
        if (!v)
                return "<nil>";
        switch (json_typeof(v)) {
        case JSON_STRING: return "string";
        case JSON_INTEGER: return "int";
        case JSON_REAL: return "float64";
        case JSON_TRUE: case JSON_FALSE: return "bool";
        case JSON_ARRAY: return "[]interface {}";
        case JSON_OBJECT: return "map[string]interface {}";
        default: return "interface {}";
        }
}

static bool truth(json_t *v)
{
        if (!v || json_is_null(v))
                return false;
        switch (json_typeof(v)) {
        case JSON_STRING: return json_string_length(v) > 0;
        case JSON_INTEGER: return json_integer_value(v) != 0;
        case JSON_REAL: return json_real_value(v) != 0;
        case JSON_TRUE: return true;
        case JSON_FALSE: return false;
        case JSON_ARRAY: return json_array_size(v) > 0;
        case JSON_OBJECT: return json_object_size(v) > 0;
        default: return false;
        }
}

/* ---- execution ---- */

typedef struct Var {
        char *name;
        json_t *v;
} Var;

typedef struct Exec {
        const Template *t;
        FILE *out;
        Var *vars;
        size_t nvars;
        char *err;
        bool header;
        int loopctl; /* 1 break, 2 continue */
} Exec;

static int xerr(Exec *x, size_t pos, const char *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int xerr(Exec *x, size_t pos, const char *at, const char *fmt, ...)
{
        if (x->err)
                return -EINVAL;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                abort();
        va_end(ap);
        const char *s = x->t->src;
        size_t line = line_of(s, pos), ls = pos;
        while (ls > 0 && s[ls - 1] != '\n')
                ls--;
        x->err = xasprintf("template: %s:%zu:%zu: executing \"%s\" at <%s>: %s", x->t->name, line, pos - ls,
                           x->t->name, at, m);
        return -EINVAL;
}

static void var_push(Exec *x, const char *name, json_t *v)
{
        x->vars = xrealloc(x->vars, (x->nvars + 1) * sizeof(Var));
        x->vars[x->nvars++] = (Var){ xstrdup(name), v ? json_incref(v) : NULL };
}

static void vars_pop(Exec *x, size_t mark)
{
        while (x->nvars > mark) {
                x->nvars--;
                free(x->vars[x->nvars].name);
                json_decref(x->vars[x->nvars].v);
        }
}

static int eval_pipe(Exec *x, Pipe *p, json_t *dot, json_t **ret);

static int field(Exec *x, json_t *recv, const char *name, bool is_root, size_t pos, const char *at, json_t **ret)
{
        *ret = NULL;
        if (!recv || json_is_null(recv)) {
                if (x->t->missing_error)
                        return xerr(x, pos, at, "nil data; no entry for key \"%s\"", name);
                return 0;
        }
        if (json_is_object(recv)) {
                json_t *v = json_object_get(recv, name);
                if (v) {
                        *ret = json_incref(v);
                        return 0;
                }
                if (x->header)
                        return 0;
                if (is_root && x->t->type)
                        return xerr(x, pos, at, "can't evaluate field %s in type %s", name, x->t->type);
                if (x->t->missing_error)
                        return xerr(x, pos, at, "map has no entry for key \"%s\"", name);
                return 0;
        }
        /* values of a map are interface {} to Go */
        return xerr(x, pos, at, "can't evaluate field %s in type interface {}", name);
}

static int chain(Exec *x, json_t *v, char **fields, bool is_root, Arg *a, json_t **ret)
{
        json_t *cur = v ? json_incref(v) : NULL;
        for (size_t i = 0; fields && fields[i]; i++) {
                json_t *next;
                int r = field(x, cur, fields[i], is_root && i == 0, a->pos, a->src, &next);
                json_decref(cur);
                if (r < 0)
                        return r;
                cur = next;
        }
        *ret = cur;
        return 0;
}

static json_t *var_get(Exec *x, const char *name)
{
        for (size_t i = x->nvars; i > 0; i--)
                if (streq(x->vars[i - 1].name, name))
                        return x->vars[i - 1].v;
        return NULL;
}

static int eval_arg(Exec *x, Arg *a, json_t *dot, json_t **ret)
{
        *ret = NULL;
        switch (a->kind) {
        case A_DOT:
                *ret = dot ? json_incref(dot) : NULL;
                return 0;
        case A_FIELD:
                return chain(x, dot, a->fields, dot == var_get(x, "$"), a, ret);
        case A_VAR:
                return chain(x, var_get(x, a->name), a->fields, streq(a->name, "$"), a, ret);
        case A_STRING:
                *ret = json_string(a->name);
                return 0;
        case A_INT:
                *ret = json_integer(a->i);
                return 0;
        case A_FLOAT:
                *ret = json_real(a->f);
                return 0;
        case A_BOOL:
                *ret = json_boolean(a->i);
                return 0;
        case A_NIL:
                return xerr(x, a->pos, a->src, "nil is not a command");
        case A_FUNC:
                return xerr(x, a->pos, a->src, "can't give argument to non-function %s", a->src);
        case A_PIPE: {
                json_t *v = NULL;
                int r = eval_pipe(x, a->pipe, dot, &v);
                if (r < 0)
                        return r;
                r = chain(x, v, a->fields, false, a, ret);
                json_decref(v);
                return r;
        }
        }
        return -EINVAL;
}

/* ---- fmt ---- */

/* Go's %v of a float64: shortest representation, %e form for exponents < -4 or >= 6. */
static void go_float(FILE *f, double d, char verb, int prec)
{
        if (isnan(d)) {
                fputs("NaN", f);
                return;
        }
        if (isinf(d)) {
                fputs(d > 0 ? "+Inf" : "-Inf", f);
                return;
        }
        if (prec >= 0 || verb == 'f' || verb == 'e') {
                int pr = prec < 0 ? 6 : prec;
                if (verb == 'f')
                        fprintf(f, "%.*f", pr, d);
                else if (verb == 'e')
                        fprintf(f, "%.*e", pr, d);
                else
                        fprintf(f, "%.*g", pr, d);
                return;
        }
        char buf[64];
        int p;
        for (p = 1; p <= 17; p++) {
                snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        int exp = atoi(strchr(buf, 'e') + 1);
        int eprec = 6;
        if (exp < -4 || exp >= eprec) {
                fputs(buf, f);
                return;
        }
        int decimals = p - 1 - exp;
        fprintf(f, "%.*f", decimals > 0 ? decimals : 0, d);
}

static void go_print(FILE *f, json_t *v, bool top)
{
        if (!v) {
                fputs("<no value>", f);
                return;
        }
        switch (json_typeof(v)) {
        case JSON_NULL: fputs(top ? "<no value>" : "<nil>", f); break;
        case JSON_STRING: fwrite(json_string_value(v), 1, json_string_length(v), f); break;
        case JSON_INTEGER: fprintf(f, "%lld", (long long) json_integer_value(v)); break;
        case JSON_REAL: go_float(f, json_real_value(v), 'v', -1); break;
        case JSON_TRUE: fputs("true", f); break;
        case JSON_FALSE: fputs("false", f); break;
        case JSON_ARRAY: {
                size_t i;
                json_t *e;
                fputc('[', f);
                json_array_foreach(v, i, e) {
                        if (i)
                                fputc(' ', f);
                        go_print(f, e, false);
                }
                fputc(']', f);
                break;
        }
        case JSON_OBJECT: {
                _cleanup_strv_free_ char **keys = NULL;
                const char *k;
                json_t *e;
                json_object_foreach(v, k, e)
                        if (k[0] != '@')
                                strv_push(&keys, xstrdup(k));
                strv_sort(keys);
                fputs("map[", f);
                for (size_t i = 0; keys && keys[i]; i++) {
                        fprintf(f, "%s%s:", i ? " " : "", keys[i]);
                        go_print(f, json_object_get(v, keys[i]), false);
                }
                fputc(']', f);
                break;
        }
        }
}

char *fmt_go_value(json_t *v)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        go_print(f, v, false);
        fclose(f);
        return out;
}

static void pad_write(FILE *f, const char *s, size_t len, int width, bool minus, bool zero)
{
        _cleanup_free_ char *tmp = xstrndup(s, len);
        int w = (int) utf8_width(tmp);
        if (!minus)
                for (int i = w; i < width; i++)
                        fputc(zero ? '0' : ' ', f);
        fwrite(s, 1, len, f);
        if (minus)
                for (int i = w; i < width; i++)
                        fputc(' ', f);
}

/* Go's fmt.Sprintf for the verbs templates use. */
static char *go_sprintf(const char *format, json_t **args, size_t nargs)
{
        char *out = NULL;
        size_t outlen = 0, ai = 0;
        FILE *f = open_memstream(&out, &outlen);
        for (const char *p = format; *p; p++) {
                if (*p != '%') {
                        fputc(*p, f);
                        continue;
                }
                p++;
                bool minus = false, plus = false, zero = false, sharp = false, space = false;
                for (;; p++) {
                        if (*p == '-')
                                minus = true;
                        else if (*p == '+')
                                plus = true;
                        else if (*p == '0')
                                zero = true;
                        else if (*p == '#')
                                sharp = true;
                        else if (*p == ' ')
                                space = true;
                        else
                                break;
                }
                int width = -1, prec = -1;
                if (isdigit((unsigned char) *p)) {
                        width = 0;
                        while (isdigit((unsigned char) *p))
                                width = width * 10 + (*p++ - '0');
                }
                if (*p == '.') {
                        p++;
                        prec = 0;
                        while (isdigit((unsigned char) *p))
                                prec = prec * 10 + (*p++ - '0');
                }
                char verb = *p;
                if (!verb) {
                        fputs("%!(NOVERB)", f);
                        break;
                }
                if (verb == '%') {
                        fputc('%', f);
                        continue;
                }
                if (ai >= nargs) {
                        fprintf(f, "%%!%c(MISSING)", verb);
                        continue;
                }
                json_t *a = args[ai++];
                char *s = NULL;
                size_t slen = 0;
                FILE *sf = open_memstream(&s, &slen);
                bool bad = false;
                bool is_int = a && json_is_integer(a), is_num = a && json_is_number(a),
                     is_str = a && json_is_string(a);
                switch (verb) {
                case 'v':
                        if (is_num && json_is_real(a))
                                go_float(sf, json_real_value(a), 'v', prec);
                        else if (sharp && is_str) {
                                _cleanup_free_ char *q = fmt_go_quote(json_string_value(a));
                                fputs(q, sf);
                        } else {
                                if (plus && is_int && json_integer_value(a) >= 0)
                                        fputc('+', sf);
                                go_print(sf, a, false);
                        }
                        break;
                case 's':
                        if (is_str || (a && (json_is_array(a) || json_is_object(a)))) {
                                _cleanup_free_ char *v = fmt_go_value(a);
                                fprintf(sf, "%.*s", prec >= 0 ? prec : (int) strlen(v), v);
                        } else
                                bad = true;
                        break;
                case 'q':
                        if (is_str) {
                                _cleanup_free_ char *q = fmt_go_quote(json_string_value(a));
                                fputs(q, sf);
                        } else if (is_int)
                                fprintf(sf, "'%c'", (int) json_integer_value(a));
                        else
                                bad = true;
                        break;
                case 'd': case 'x': case 'X': case 'o': case 'b': case 'c':
                        if (is_int) {
                                long long v = (long long) json_integer_value(a);
                                unsigned long long u = (unsigned long long) (v < 0 ? -v : v);
                                if (verb == 'c') {
                                        fputc((int) v, sf);
                                        break;
                                }
                                if (v < 0)
                                        fputc('-', sf);
                                else if (plus)
                                        fputc('+', sf);
                                else if (space)
                                        fputc(' ', sf);
                                if (sharp && verb == 'x')
                                        fputs("0x", sf);
                                if (verb == 'd')
                                        fprintf(sf, "%llu", u);
                                else if (verb == 'x')
                                        fprintf(sf, "%llx", u);
                                else if (verb == 'X')
                                        fprintf(sf, "%llX", u);
                                else if (verb == 'o')
                                        fprintf(sf, "%llo", u);
                                else {
                                        char bits[65];
                                        int n = 0;
                                        do {
                                                bits[n++] = (char) ('0' + (u & 1));
                                                u >>= 1;
                                        } while (u);
                                        while (n)
                                                fputc(bits[--n], sf);
                                }
                        } else if (is_str && (verb == 'x' || verb == 'X')) {
                                for (const unsigned char *q = (const unsigned char *) json_string_value(a); *q; q++)
                                        fprintf(sf, verb == 'x' ? "%02x" : "%02X", *q);
                        } else
                                bad = true;
                        break;
                case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
                        if (is_num && json_is_real(a)) {
                                double d = json_real_value(a);
                                if (plus && d >= 0)
                                        fputc('+', sf);
                                if (verb == 'g' || verb == 'G')
                                        go_float(sf, d, 'g', prec);
                                else {
                                        int pr = prec < 0 ? 6 : prec;
                                        if (verb == 'f' || verb == 'F')
                                                fprintf(sf, "%.*f", pr, d);
                                        else if (verb == 'e')
                                                fprintf(sf, "%.*e", pr, d);
                                        else
                                                fprintf(sf, "%.*E", pr, d);
                                }
                        } else
                                bad = true;
                        break;
                case 't':
                        if (a && json_is_boolean(a))
                                fputs(json_is_true(a) ? "true" : "false", sf);
                        else
                                bad = true;
                        break;
                default:
                        bad = true;
                }
                fclose(sf);
                if (bad) {
                        _cleanup_free_ char *v = fmt_go_value(a);
                        if (!a)
                                fprintf(f, "%%!%c(<nil>)", verb);
                        else
                                fprintf(f, "%%!%c(%s=%s)", verb, go_type(a), v);
                } else
                        pad_write(f, s, slen, width, minus, zero && !minus && verb != 's');
                free(s);
        }
        if (ai < nargs) {
                fputs("%!(EXTRA ", f);
                for (size_t i = ai; i < nargs; i++) {
                        _cleanup_free_ char *v = fmt_go_value(args[i]);
                        fprintf(f, "%s%s=%s", i > ai ? ", " : "", go_type(args[i]), v);
                }
                fputc(')', f);
        }
        fclose(f);
        return out;
}

/* Go's fmt.Sprint: a space between operands when neither is a string. */
static char *go_sprint(json_t **args, size_t n, bool ln)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        for (size_t i = 0; i < n; i++) {
                if (i && (ln || (!(args[i] && json_is_string(args[i])) && !(args[i - 1] && json_is_string(args[i - 1])))))
                        fputc(' ', f);
                if (!args[i])
                        fputs("<nil>", f);
                else
                        go_print(f, args[i], false);
        }
        if (ln)
                fputc('\n', f);
        fclose(f);
        return out;
}

/* ---- functions ---- */

typedef enum { K_BAD, K_BOOL, K_INT, K_FLOAT, K_STRING, K_NIL } Kind;

static Kind basic_kind(json_t *v)
{
        if (!v)
                return K_BAD;
        switch (json_typeof(v)) {
        case JSON_TRUE: case JSON_FALSE: return K_BOOL;
        case JSON_INTEGER: return K_INT;
        case JSON_REAL: return K_FLOAT;
        case JSON_STRING: return K_STRING;
        case JSON_NULL: return K_NIL;
        default: return K_BAD;
        }
}

/* -2 error (message in *msg), else <0, 0, >0 */
static int compare(json_t *a, json_t *b, bool ordered, const char **msg)
{
        Kind ka = basic_kind(a), kb = basic_kind(b);
        if (ka == K_BAD || kb == K_BAD || (ordered && (ka == K_BOOL || ka == K_NIL))) {
                *msg = ka == K_BAD && a && !ordered ? "non-comparable type" : ordered && (ka == K_BOOL)
                        ? "invalid type for comparison" : "invalid type for comparison";
                return -2;
        }
        if (ka == K_NIL || kb == K_NIL)
                return ka == kb ? 0 : 1;
        if (ka != kb) {
                *msg = "incompatible types for comparison";
                return -2;
        }
        switch (ka) {
        case K_BOOL: return json_is_true(a) == json_is_true(b) ? 0 : 1;
        case K_INT: {
                long long x = (long long) json_integer_value(a), y = (long long) json_integer_value(b);
                return x < y ? -1 : x > y;
        }
        case K_FLOAT: {
                double x = json_real_value(a), y = json_real_value(b);
                return x < y ? -1 : x > y;
        }
        case K_STRING: {
                int c = strcmp(json_string_value(a), json_string_value(b));
                return c < 0 ? -1 : c > 0;
        }
        default: return -2;
        }
}

static const char *str_arg(json_t *v)
{
        return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static int call_func(Exec *x, Cmd *cmd, const char *name, json_t **a, size_t n, json_t **ret)
{
        size_t pos = cmd->pos;
        const char *at = cmd->src;
#define NARGS(want)                                                                                         \
        do {                                                                                                \
                if (n != (want))                                                                            \
                        return xerr(x, pos, at, "wrong number of args for %s: want %d got %zu", name, want, n); \
        } while (0)
#define WANT_STR(i)                                                                                         \
        do {                                                                                                \
                if (!str_arg(a[i]))                                                                         \
                        return xerr(x, ARG_POS(i), ARG_SRC(i), "wrong type for value; expected string; got %s", \
                                    go_type(a[i]));                                                         \
        } while (0)
/* Go names the argument at fault; a piped value is named by the command */
#define ARG_POS(i) ((i) + 1 < cmd->n ? cmd->args[(i) + 1]->pos : pos)
#define ARG_SRC(i) ((i) + 1 < cmd->n ? cmd->args[(i) + 1]->src : at)
        /* docker's header functions print their first argument as is */
        if (x->header && (streq(name, "json") || streq(name, "split") || streq(name, "join") ||
                          streq(name, "title") || streq(name, "lower") || streq(name, "upper") ||
                          streq(name, "pad") || streq(name, "truncate"))) {
                if (n < 1)
                        return xerr(x, pos, at, "wrong number of args for %s: want 1 got 0", name);
                *ret = a[0] ? json_incref(a[0]) : NULL;
                return 0;
        }
        if (streq(name, "not")) {
                NARGS(1);
                *ret = json_boolean(!truth(a[0]));
        } else if (streq(name, "eq") || streq(name, "ne")) {
                if (n < 2)
                        return xerr(x, pos, at, "wrong number of args for %s: want at least 1 got %zu", name, n);
                if (streq(name, "ne"))
                        NARGS(2);
                bool eq = false;
                for (size_t i = 1; i < n && !eq; i++) {
                        const char *msg = NULL;
                        int c = compare(a[0], a[i], false, &msg);
                        if (c == -2 && a[0] && (json_is_array(a[0]) || json_is_object(a[0]))) {
                                _cleanup_free_ char *v = fmt_go_value(a[0]);
                                return xerr(x, pos, at, "error calling %s: non-comparable type %s: %s", name, v,
                                            go_type(a[0]));
                        }
                        if (c == -2)
                                return xerr(x, pos, at, "error calling %s: %s", name, msg);
                        eq = c == 0;
                }
                *ret = json_boolean(streq(name, "eq") ? eq : !eq);
        } else if (streq(name, "lt") || streq(name, "le") || streq(name, "gt") || streq(name, "ge")) {
                NARGS(2);
                const char *msg = NULL;
                int c = compare(a[0], a[1], true, &msg);
                if (c == -2)
                        return xerr(x, pos, at, "error calling %s: %s", name, msg);
                bool r = streq(name, "lt") ? c < 0 : streq(name, "le") ? c <= 0 : streq(name, "gt") ? c > 0 : c >= 0;
                *ret = json_boolean(r);
        } else if (streq(name, "len")) {
                NARGS(1);
                if (!a[0] || json_is_null(a[0]))
                        return xerr(x, pos, at, "error calling len: len of nil pointer");
                if (json_is_string(a[0]))
                        *ret = json_integer((json_int_t) json_string_length(a[0]));
                else if (json_is_array(a[0]))
                        *ret = json_integer((json_int_t) json_array_size(a[0]));
                else if (json_is_object(a[0]))
                        *ret = json_integer((json_int_t) json_object_size(a[0]));
                else
                        return xerr(x, pos, at, "error calling len: len of type %s", go_type(a[0]));
        } else if (streq(name, "index")) {
                if (n < 1)
                        return xerr(x, pos, at, "wrong number of args for index: want at least 1 got 0");
                json_t *cur = a[0];
                for (size_t i = 1; i < n; i++) {
                        if (!cur || json_is_null(cur))
                                return xerr(x, pos, at, "error calling index: index of untyped nil");
                        if (json_is_object(cur)) {
                                if (!str_arg(a[i]))
                                        return xerr(x, pos, at, "error calling index: value has type %s; should be string",
                                                    go_type(a[i]));
                                cur = json_object_get(cur, json_string_value(a[i]));
                        } else if (json_is_array(cur) || json_is_string(cur)) {
                                if (!a[i] || !json_is_integer(a[i]))
                                        return xerr(x, pos, at, "error calling index: cannot index slice/array with type %s",
                                                    go_type(a[i]));
                                long long k = (long long) json_integer_value(a[i]);
                                size_t len = json_is_array(cur) ? json_array_size(cur) : json_string_length(cur);
                                if (k < 0 || (size_t) k >= len)
                                        return xerr(x, pos, at, "error calling index: index out of range: %lld", k);
                                if (json_is_string(cur)) {
                                        *ret = json_integer((unsigned char) json_string_value(cur)[k]);
                                        return 0;
                                }
                                cur = json_array_get(cur, (size_t) k);
                        } else
                                return xerr(x, pos, at, "error calling index: can't index item of type %s",
                                            go_type(cur));
                }
                *ret = cur ? json_incref(cur) : NULL;
        } else if (streq(name, "print") || streq(name, "println")) {
                _cleanup_free_ char *s = go_sprint(a, n, streq(name, "println"));
                *ret = json_string(s);
        } else if (streq(name, "printf")) {
                if (n < 1)
                        return xerr(x, pos, at, "wrong number of args for printf: want at least 1 got 0");
                WANT_STR(0);
                _cleanup_free_ char *s = go_sprintf(json_string_value(a[0]), a + 1, n - 1);
                *ret = json_string(s);
        } else if (streq(name, "json")) {
                NARGS(1);
                _cleanup_free_ char *s = fmt_json(a[0]);
                *ret = json_string(s);
        } else if (streq(name, "join")) {
                NARGS(2);
                WANT_STR(1);
                if (!a[0] || !json_is_array(a[0]))
                        return xerr(x, ARG_POS(0), ARG_SRC(0), "wrong type for value; expected []string; got %s",
                                    go_type(a[0]));
                char *out = NULL;
                size_t len = 0, i;
                FILE *f = open_memstream(&out, &len);
                json_t *e;
                bool ok = true;
                json_array_foreach(a[0], i, e) {
                        if (!json_is_string(e))
                                ok = false;
                        fprintf(f, "%s%s", i ? json_string_value(a[1]) : "", json_string_value(e) ?: "");
                }
                fclose(f);
                _cleanup_free_ char *s = out;
                if (!ok)
                        return xerr(x, pos, at, "wrong type for value; expected []string; got []interface {}");
                *ret = json_string(s);
        } else if (streq(name, "split")) {
                NARGS(2);
                WANT_STR(0);
                WANT_STR(1);
                const char *s = json_string_value(a[0]), *sep = json_string_value(a[1]);
                json_t *arr = json_array();
                if (!*sep) {
                        for (const char *q = s; *q;) {
                                size_t l = 1;
                                while ((q[l] & 0xC0) == 0x80)
                                        l++;
                                json_array_append_new(arr, json_stringn(q, l));
                                q += l;
                        }
                } else {
                        const char *q = s, *m;
                        while ((m = strstr(q, sep))) {
                                json_array_append_new(arr, json_stringn(q, (size_t) (m - q)));
                                q = m + strlen(sep);
                        }
                        json_array_append_new(arr, json_string(q));
                }
                *ret = arr;
        } else if (streq(name, "lower") || streq(name, "upper") || streq(name, "title")) {
                NARGS(1);
                WANT_STR(0);
                _cleanup_free_ char *s = xstrdup(json_string_value(a[0]));
                bool prev_letter = false;
                for (char *q = s; *q; q++) {
                        if (streq(name, "upper"))
                                *q = (char) toupper((unsigned char) *q);
                        else if (streq(name, "lower"))
                                *q = (char) tolower((unsigned char) *q);
                        else {
                                if (!prev_letter)
                                        *q = (char) toupper((unsigned char) *q);
                                prev_letter = is_alnum_(*q) || (*q & 0x80) || *q == '\'';
                        }
                }
                *ret = json_string(s);
        } else if (streq(name, "truncate")) {
                NARGS(2);
                WANT_STR(0);
                if (!a[1] || !json_is_integer(a[1]))
                        return xerr(x, pos, at, "wrong type for value; expected int; got %s", go_type(a[1]));
                const char *s = json_string_value(a[0]);
                long long l = (long long) json_integer_value(a[1]);
                *ret = (long long) strlen(s) < l ? json_string(s) : json_stringn(s, (size_t) (l < 0 ? 0 : l));
        } else if (streq(name, "pad")) {
                NARGS(3);
                WANT_STR(0);
                if (!a[1] || !json_is_integer(a[1]) || !a[2] || !json_is_integer(a[2]))
                        return xerr(x, pos, at, "wrong type for value; expected int; got %s",
                                    go_type(a[1] && json_is_integer(a[1]) ? a[2] : a[1]));
                const char *s = json_string_value(a[0]);
                if (!*s) {
                        *ret = json_string("");
                        return 0;
                }
                long long pre = (long long) json_integer_value(a[1]), suf = (long long) json_integer_value(a[2]);
                _cleanup_free_ char *o = xasprintf("%*s%s%*s", (int) (pre > 0 ? pre : 0), "", s,
                                                   (int) (suf > 0 ? suf : 0), "");
                *ret = json_string(o);
        } else if (streq(name, "urlquery")) {
                _cleanup_free_ char *s = go_sprint(a, n, false);
                _cleanup_free_ char *e = url_escape(s);
                *ret = json_string(e);
        } else
                return xerr(x, pos, at, "function %s is not supported by berth", name);
        return 0;
#undef NARGS
#undef WANT_STR
#undef ARG_POS
#undef ARG_SRC
}

static int eval_cmd(Exec *x, Cmd *cmd, json_t *dot, json_t *final, bool has_final, json_t **ret)
{
        *ret = NULL;
        Arg *first = cmd->args[0];
        size_t nextra = cmd->n - 1 + (has_final ? 1 : 0);
        if (first->kind == A_FUNC) {
                const char *name = first->name;
                /* and/or stop at the first deciding value */
                if (streq(name, "and") || streq(name, "or")) {
                        if (nextra < 1)
                                return xerr(x, cmd->pos, cmd->src,
                                            "wrong number of args for %s: want at least 1 got 0", name);
                        json_t *v = NULL;
                        for (size_t i = 1; i <= nextra; i++) {
                                json_decref(v);
                                v = NULL;
                                if (i < cmd->n) {
                                        int r = eval_arg(x, cmd->args[i], dot, &v);
                                        if (r < 0)
                                                return r;
                                } else
                                        v = final ? json_incref(final) : NULL;
                                if (truth(v) == streq(name, "or"))
                                        break;
                        }
                        *ret = v;
                        return 0;
                }
                json_t **args = xcalloc(nextra + 1, sizeof(json_t *));
                int r = 0;
                for (size_t i = 1; i < cmd->n && r >= 0; i++)
                        r = eval_arg(x, cmd->args[i], dot, &args[i - 1]);
                if (has_final)
                        args[nextra - 1] = final ? json_incref(final) : NULL;
                if (r >= 0)
                        r = call_func(x, cmd, name, args, nextra, ret);
                for (size_t i = 0; i < nextra; i++)
                        json_decref(args[i]);
                free(args);
                return r;
        }
        if (nextra > 0) {
                /* a context's method with an argument, such as ps's {{.Label "k"}}: kept as "@Label" */
                if ((first->kind == A_FIELD || first->kind == A_VAR) && first->fields && dot &&
                    json_is_object(dot)) {
                        size_t nf = strv_length(first->fields);
                        json_t *recv = NULL;
                        char *last = first->fields[nf - 1];
                        first->fields[nf - 1] = NULL;
                        int r = chain(x, first->kind == A_VAR ? var_get(x, first->name) : dot, first->fields,
                                      false, first, &recv);
                        first->fields[nf - 1] = last;
                        if (r < 0)
                                return r;
                        _cleanup_free_ char *mname = xasprintf("@%s", last);
                        json_t *m = recv && json_is_object(recv) ? json_object_get(recv, mname) : NULL;
                        json_t *key = NULL;
                        if ((m || x->header) && nextra == 1) {
                                if (cmd->n > 1)
                                        r = eval_arg(x, cmd->args[1], dot, &key);
                                else
                                        key = final ? json_incref(final) : NULL;
                                if (r >= 0 && x->header) {
                                        /* docker's header of {{.Label "com.x-y"}}: "x y" */
                                        const char *k = str_arg(key) ?: last, *seg = strrchr(k, '.');
                                        _cleanup_free_ char *h = xstrdup(seg ? seg + 1 : k);
                                        for (char *q = h; *q; q++)
                                                if (*q == '-' || *q == '_')
                                                        *q = ' ';
                                        *ret = json_string(h);
                                } else if (r >= 0 && str_arg(key)) {
                                        json_t *v = json_object_get(m, json_string_value(key));
                                        *ret = json_string(v && json_is_string(v) ? json_string_value(v) : "");
                                }
                                json_decref(key);
                                json_decref(recv);
                                if (r < 0 || *ret)
                                        return r;
                        } else
                                json_decref(recv);
                }
                if ((first->kind == A_FIELD || first->kind == A_VAR) && first->fields)
                        return xerr(x, first->pos, first->src, "%s is not a method but has arguments",
                                    first->fields[strv_length(first->fields) - 1]);
                return xerr(x, first->pos, first->src, "can't give argument to non-function %s", first->src);
        }
        return eval_arg(x, first, dot, ret);
}

static int eval_pipe(Exec *x, Pipe *p, json_t *dot, json_t **ret)
{
        json_t *v = NULL;
        for (size_t i = 0; i < p->n; i++) {
                json_t *next = NULL;
                int r = eval_cmd(x, p->cmds[i], dot, v, i > 0, &next);
                json_decref(v);
                if (r < 0)
                        return r;
                v = next;
        }
        for (size_t i = 0; i < p->ndecl; i++) {
                if (p->assign) {
                        for (size_t j = x->nvars; j > 0; j--)
                                if (streq(x->vars[j - 1].name, p->decl[i])) {
                                        json_decref(x->vars[j - 1].v);
                                        x->vars[j - 1].v = v ? json_incref(v) : NULL;
                                        break;
                                }
                } else
                        var_push(x, p->decl[i], v);
        }
        *ret = v;
        return 0;
}

static int walk_list(Exec *x, List *l, json_t *dot);

static int walk_range(Exec *x, TNode *n, json_t *dot)
{
        size_t mark = x->nvars;
        json_t *v = NULL;
        /* the declared variables are set per element, not to the whole value */
        size_t ndecl = n->pipe->ndecl;
        n->pipe->ndecl = 0;
        int r = eval_pipe(x, n->pipe, dot, &v);
        n->pipe->ndecl = ndecl;
        if (r < 0)
                return r;
        size_t count = 0;
        if (v && (json_is_array(v) || json_is_object(v))) {
                _cleanup_strv_free_ char **keys = NULL;
                size_t len = json_is_array(v) ? json_array_size(v) : json_object_size(v);
                if (json_is_object(v)) {
                        const char *k;
                        json_t *e;
                        json_object_foreach(v, k, e)
                                if (k[0] != '@')
                                        strv_push(&keys, xstrdup(k));
                        strv_sort(keys);
                        len = strv_length(keys);
                }
                for (size_t i = 0; i < len && r >= 0; i++) {
                        json_t *elem = keys ? json_object_get(v, keys[i]) : json_array_get(v, i);
                        _cleanup_json_ json_t *key = keys ? json_string(keys[i]) : json_integer((json_int_t) i);
                        size_t m2 = x->nvars;
                        if (ndecl == 1)
                                var_push(x, n->pipe->decl[0], elem);
                        else if (ndecl == 2) {
                                var_push(x, n->pipe->decl[0], key);
                                var_push(x, n->pipe->decl[1], elem);
                        }
                        r = walk_list(x, &n->list, elem);
                        vars_pop(x, m2);
                        count++;
                        if (x->loopctl == 1) {
                                x->loopctl = 0;
                                break;
                        }
                        x->loopctl = 0;
                }
        } else if (v && json_is_integer(v) && ndecl <= 1) {
                long long len = (long long) json_integer_value(v);
                for (long long i = 0; i < len && r >= 0; i++) {
                        _cleanup_json_ json_t *e = json_integer(i);
                        size_t m2 = x->nvars;
                        if (ndecl == 1)
                                var_push(x, n->pipe->decl[0], e);
                        r = walk_list(x, &n->list, e);
                        vars_pop(x, m2);
                        count++;
                        if (x->loopctl == 1) {
                                x->loopctl = 0;
                                break;
                        }
                        x->loopctl = 0;
                }
        } else if (v && !json_is_null(v)) {
                _cleanup_free_ char *s = fmt_go_value(v);
                Arg *a0 = n->pipe->cmds[n->pipe->n - 1]->args[0];
                r = xerr(x, a0->pos, a0->src, "range can't iterate over %s", s);
        }
        if (r >= 0 && count == 0 && n->elselist.n)
                r = walk_list(x, &n->elselist, dot);
        json_decref(v);
        vars_pop(x, mark);
        return r;
}

static int walk_node(Exec *x, TNode *n, json_t *dot)
{
        switch (n->kind) {
        case N_TEXT:
                fwrite(n->text, 1, n->len, x->out);
                return 0;
        case N_BREAK:
                x->loopctl = 1;
                return 0;
        case N_CONTINUE:
                x->loopctl = 2;
                return 0;
        case N_ACTION: {
                json_t *v = NULL;
                int r = eval_pipe(x, n->pipe, dot, &v);
                if (r >= 0 && !n->pipe->ndecl)
                        go_print(x->out, v, true);
                json_decref(v);
                return r;
        }
        case N_IF:
        case N_WITH: {
                size_t mark = x->nvars;
                json_t *v = NULL;
                int r = eval_pipe(x, n->pipe, dot, &v);
                if (r >= 0) {
                        if (truth(v))
                                r = walk_list(x, &n->list, n->kind == N_WITH ? v : dot);
                        else
                                r = walk_list(x, &n->elselist, dot);
                }
                json_decref(v);
                vars_pop(x, mark);
                return r;
        }
        case N_RANGE:
                return walk_range(x, n, dot);
        }
        return 0;
}

static int walk_list(Exec *x, List *l, json_t *dot)
{
        for (size_t i = 0; i < l->n; i++) {
                int r = walk_node(x, l->nodes[i], dot);
                if (r < 0)
                        return r;
                if (x->loopctl)
                        return 0;
        }
        return 0;
}

int tmpl_exec(const Template *t, json_t *dot, bool header, char **ret, char **ret_err)
{
        char *out = NULL;
        size_t len = 0;
        Exec x = { .t = t, .header = header };
        x.out = open_memstream(&out, &len);
        var_push(&x, "$", dot);
        int r = walk_list(&x, t->root, dot);
        vars_pop(&x, 0);
        free(x.vars);
        fclose(x.out);
        if (r < 0) {
                free(out);
                *ret_err = x.err ? x.err : xstrdup("template: execution failed");
                return r;
        }
        free(x.err);
        *ret = out;
        return 0;
}

/* Go's json.Encoder without HTML escaping; a context's "@" methods are left out. */
static bool struct_like(json_t *o)
{
        const char *k;
        json_t *e;
        json_object_foreach(o, k, e) {
                if (k[0] == '@')
                        continue;
                if (!isupper((unsigned char) k[0]))
                        return false;
                for (const char *q = k; *q; q++)
                        if (!isalnum((unsigned char) *q))
                                return false;
        }
        return true;
}

/* Go encodes a struct in field order and a map in key order: an object whose keys all look like Go
 * field names is taken for a struct (kept in the daemon's order), any other (labels, ports, options)
 * for a map. */
static json_t *go_json_value(json_t *v)
{
        if (!v)
                return json_null();
        if (json_is_array(v)) {
                json_t *a = json_array();
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                        json_array_append_new(a, go_json_value(e));
                return a;
        }
        if (!json_is_object(v))
                return json_incref(v);
        json_t *c = json_object();
        _cleanup_strv_free_ char **keys = NULL;
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
                if (k[0] != '@')
                        strv_push(&keys, xstrdup(k));
        if (!struct_like(v))
                strv_sort(keys);
        for (size_t i = 0; keys && keys[i]; i++)
                json_object_set_new(c, keys[i], go_json_value(json_object_get(v, keys[i])));
        return c;
}

char *fmt_json(json_t *v)
{
        _cleanup_json_ json_t *c = go_json_value(v);
        char *s = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        return s ? s : xstrdup("null");
}
