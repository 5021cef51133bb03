/* Output helpers shared by the commands: docker's tabwriter layout, a small
 * Go-template subset for --format, truncation and quoting rules, filters. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Docker's tabwriter (minwidth, tabwidth 1, padding 3, ' '): every
 * tab-terminated cell is padded to max(minwidth, widest cell + 3). */
typedef struct TabWriter {
        char **lines;
        size_t n, cap;
        size_t minwidth;
} TabWriter;
void tab_init(TabWriter *t, size_t minwidth);
void tab_add(TabWriter *t, const char *line);  /* may contain several '\n'-separated lines */
/* Renders to a malloc'd string and frees the lines. */
char *tab_render(TabWriter *t);
void tab_flush(TabWriter *t, FILE *f);

/* UTF-8 display width (runes). */
size_t utf8_width(const char *s);
/* docker's Ellipsis: cut to max-1 runes plus "…" when longer than max. */
char *fmt_ellipsis(const char *s, size_t max);
/* Go's strconv.Quote for the common cases. */
char *fmt_go_quote(const char *s);
/* "sha256:abcdef..." -> "abcdef012345" (12 hex). */
char *fmt_trunc_id(const char *id);
/* Go's %v for a JSON value: strings bare, [a b], map[k:v], <nil>. */
char *fmt_go_value(json_t *v);

/* Go's text/template (docker's --format): parsed once, executed against JSON values (template.c).
 * Maps stand for Go's maps and structs; an object key "@Name" is a context method taking one
 * string argument ({{.Label "k"}} looks up "@Label"), left out of json and range. */
typedef struct Template {
        struct List *root;
        char *src;
        const char *name;  /* the template's name in errors: "" (docker's default) or "version" */
        const char *type;  /* Go type of the dot for "can't evaluate field X in type T"; NULL: a map */
        bool missing_error; /* a missing map key is an error (inspect's missingkey=error) */
} Template;
/* Go's parse; *ret_err is Go's "template: :1: function \"foo\" not defined". */
int tmpl_parse(const char *text, const char *name, Template *ret, char **ret_err);
void tmpl_free(Template *t);
/* Executes against dot; header runs docker's header functions (json, upper, ... print their argument). */
int tmpl_exec(const Template *t, json_t *dot, bool header, char **ret, char **ret_err);
/* Go's json.Encoder output (no HTML escaping, no newline); "@" keys left out. */
char *fmt_json(json_t *v);

/* docker's formatter contexts (ps, images, ...): "table" prefix, "json" as {{json .}}, spaces trimmed,
 * \t and \n turned into the characters. Returns the template text; *table tells a table. */
char *fmt_prepare(const char *format, bool *table);

/* docker's units.HumanSizeWithPrecision: decimal units, prec significant digits. */
char *fmt_human_size(double b, int prec);

/* Sorts a string vector in place (Go's sort.Strings); joins one (strings.Join). */
void fmt_strv_sort(char **l);
char *fmt_strv_join(char **l, const char *sep);

/* "key=value" into {"key":{"value":true}}; -EINVAL when there is no '='. */
int filters_add(json_t *filters, const char *kv);
/* "" when empty; else "filters=<urlencoded json>" (caller frees). */
char *filters_query(json_t *filters);
/* Percent-encodes everything but unreserved characters; caller frees. */
char *url_escape(const char *s);
