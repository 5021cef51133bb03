/* .dockerignore matching (dockerignore.h): each pattern becomes an anchored POSIX extended
 * regular expression the way Docker turns it into a Go regexp. */
#include "dockerignore.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

struct IgnorePattern {
        char *text;
        bool exclusion;
        size_t ndirs; /* path elements of the pattern */
        regex_t re;
        bool compiled;
};

char *dockerignore_clean(const char *path)
{
        bool abs = path[0] == '/';
        char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (streq(t, "."))
                        continue;
                size_t n = strv_length(parts);
                if (streq(t, "..")) {
                        if (n && !streq(parts[n - 1], "..")) {
                                free(parts[n - 1]);
                                parts[n - 1] = NULL;
                                continue;
                        }
                        if (abs)
                                continue;
                }
                strv_extend(&parts, t);
        }
        size_t len = 2;
        for (size_t i = 0; parts && parts[i]; i++)
                len += strlen(parts[i]) + 1;
        char *out = xmalloc(len);
        char *o = out;
        if (abs)
                *o++ = '/';
        for (size_t i = 0; parts && parts[i]; i++) {
                if (i)
                        *o++ = '/';
                size_t n = strlen(parts[i]);
                memcpy(o, parts[i], n);
                o += n;
        }
        if (o == out)
                *o++ = abs ? '/' : '.';
        *o = 0;
        strv_free(parts);
        return out;
}

/* The pattern as an anchored regular expression: a double star spans slashes (followed by a slash,
 * it may also match nothing), a star or "?" stays within one element, "\\x" is x itself,
 * metacharacters are quoted, classes kept ("[!...]" negates). */
static char *to_regex(const char *p)
{
        size_t cap = strlen(p) * 8 + 8;
        char *out = xmalloc(cap);
        char *o = out;
        *o++ = '^';
        for (size_t i = 0; p[i]; i++) {
                char c = p[i];
                if (c == '*') {
                        if (p[i + 1] == '*') {
                                i++;
                                if (p[i + 1] == '/') {
                                        i++;
                                        o = stpcpy(o, "(.*/)?");
                                } else
                                        o = stpcpy(o, ".*");
                        } else
                                o = stpcpy(o, "[^/]*");
                } else if (c == '?') {
                        o = stpcpy(o, "[^/]");
                } else if (c == '[') {
                        /* a class, up to its "]" */
                        size_t j = i + 1;
                        if (p[j] == '^' || p[j] == '!')
                                j++;
                        if (p[j] == ']')
                                j++;
                        while (p[j] && p[j] != ']')
                                j++;
                        if (!p[j]) {
                                o = stpcpy(o, "\\[");
                                continue;
                        }
                        *o++ = '[';
                        size_t k = i + 1;
                        if (p[k] == '!') {
                                *o++ = '^';
                                k++;
                        }
                        for (; k <= j; k++)
                                if (p[k] != '\\')
                                        *o++ = p[k];
                        i = j;
                } else if (c == '\\' && p[i + 1]) {
                        i++;
                        if (strchr(".^$*+?()[]{}|\\", p[i]))
                                *o++ = '\\';
                        *o++ = p[i];
                } else {
                        if (strchr(".^$+()]{}|\\", c))
                                *o++ = '\\';
                        *o++ = c;
                }
        }
        *o++ = '$';
        *o = 0;
        return out;
}

void dockerignore_free(DockerIgnore *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].text);
                if (d->v[i].compiled)
                        regfree(&d->v[i].re);
        }
        free(d->v);
        free(d);
}

int dockerignore_parse(const char *text, size_t len, DockerIgnore **ret, BerthError **err)
{
        DockerIgnore *d = xcalloc(1, sizeof(*d));
        size_t cap = 0;
        for (size_t s = 0; s < len;) {
                size_t e = s;
                while (e < len && text[e] != '\n')
                        e++;
                _cleanup_free_ char *raw = xstrndup(text + s, e - s);
                s = e + 1;
                if (raw[0] == '#')
                        continue;
                char *b = raw, *t = raw + strlen(raw);
                while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\v' || *b == '\f')
                        b++;
                while (t > b && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r' || t[-1] == '\v' || t[-1] == '\f'))
                        *--t = 0;
                if (!*b)
                        continue;
                bool excl = false;
                if (*b == '!') {
                        excl = true;
                        b++;
                        while (*b == ' ' || *b == '\t')
                                b++;
                        if (!*b) {
                                dockerignore_free(d);
                                return berr_set(err, EINVAL, "illegal exclusion pattern: \"!\"");
                        }
                }
                char *clean = dockerignore_clean(b);
                if (strlen(clean) > 1 && clean[0] == '/') {
                        char *n = xstrdup(clean + 1);
                        free(clean);
                        clean = n;
                }
                if (d->n == cap) {
                        cap = cap ? cap * 2 : 8;
                        IgnorePattern *nv = xrealloc(d->v, cap * sizeof(IgnorePattern));
                        d->v = nv;
                }
                IgnorePattern *p = &d->v[d->n];
                *p = (IgnorePattern){ .text = clean, .exclusion = excl, .ndirs = 1 };
                for (const char *c = clean; *c; c++)
                        if (*c == '/')
                                p->ndirs++;
                _cleanup_free_ char *re = to_regex(clean);
                if (regcomp(&p->re, re, REG_EXTENDED | REG_NOSUB) != 0) {
                        free(clean);
                        dockerignore_free(d);
                        return berr_set(err, EINVAL, "syntax error in pattern: %s", b);
                }
                p->compiled = true;
                d->n++;
                if (excl)
                        d->exceptions = true;
        }
        *ret = d;
        return 0;
}

bool dockerignore_match(const DockerIgnore *d, const char *path)
{
        if (!d)
                return false;
        _cleanup_free_ char *file = dockerignore_clean(path);
        /* the parent's elements, for patterns that name a directory above the file */
        _cleanup_free_ char *parent = xstrdup(file);
        char *slash = strrchr(parent, '/');
        bool has_parent = slash != NULL;
        if (slash)
                *slash = 0;
        size_t nparent = 0;
        if (has_parent) {
                nparent = 1;
                for (const char *c = parent; *c; c++)
                        if (*c == '/')
                                nparent++;
        }
        bool matched = false;
        for (size_t i = 0; i < d->n; i++) {
                const IgnorePattern *p = &d->v[i];
                bool m = regexec(&p->re, file, 0, NULL, 0) == 0;
                if (!m && has_parent && p->ndirs <= nparent) {
                        /* the first ndirs elements of the parent */
                        _cleanup_free_ char *pre = xstrdup(parent);
                        size_t seen = 0;
                        for (char *c = pre; *c; c++)
                                if (*c == '/' && ++seen == p->ndirs) {
                                        *c = 0;
                                        break;
                                }
                        m = regexec(&p->re, pre, 0, NULL, 0) == 0;
                }
                if (m)
                        matched = !p->exclusion;
        }
        return matched;
}
