/* .dockerignore: Docker's pattern rules. Lines are trimmed, "#" lines are comments, "!" makes an
 * exception, each pattern is cleaned like a path (a leading "/" dropped); "*" and "?" stay within
 * one path element, "**" spans any number, "[...]" is a class, the escape is "\". A path is
 * excluded when the last pattern that matches it, or one of its parent directories, is not an
 * exception. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

typedef struct IgnorePattern IgnorePattern;
typedef struct DockerIgnore {
        IgnorePattern *v;
        size_t n;
        bool exceptions; /* some pattern starts with "!": a directory may not be skipped whole */
} DockerIgnore;

/* Parses the file's text. -EINVAL for a pattern that cannot be compiled. */
int dockerignore_parse(const char *text, size_t len, DockerIgnore **ret, BerthError **err);
void dockerignore_free(DockerIgnore *d);
static inline void dockerignore_freep(DockerIgnore **d) { dockerignore_free(*d); }
#define _cleanup_dockerignore_ _cleanup_(dockerignore_freep)
/* path: relative to the context root, "/"-separated ("a/b/c"). */
bool dockerignore_match(const DockerIgnore *d, const char *path);
/* Lexical clean as Go's filepath.Clean ("./a//b/../c" -> "a/c", "" -> "."). */
char *dockerignore_clean(const char *path);
