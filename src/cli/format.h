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

/* A --format template: "table ..." prefix, {{.Field}}, {{.A.B}}, {{json .X}},
 * {{join .X ", "}}, {{index .X "k"}}, {{upper/lower .X}}, {{truncate .X 5}}, {{println ...}}.
 * Backslash escapes \t and \n are turned into the characters like docker does. */
typedef struct Template {
        char *text; /* without "table " */
        bool table;
} Template;
int tmpl_parse(const char *format, Template *ret);
void tmpl_free(Template *t);
/* Renders against a JSON context; -EINVAL with *ret_err set for syntax errors. */
int tmpl_render(const Template *t, json_t *ctx, char **ret, char **ret_err);

/* "key=value" into {"key":{"value":true}}; -EINVAL when there is no '='. */
int filters_add(json_t *filters, const char *kv);
/* "" when empty; else "filters=<urlencoded json>" (caller frees). */
char *filters_query(json_t *filters);
/* Percent-encodes everything but unreserved characters; caller frees. */
char *url_escape(const char *s);
