/* The Dockerfile: the classic builder's parser (parser directives, line continuations, comments,
 * JSON and shell forms, builder flags) and its word processing (quotes, escapes, $VAR, ${VAR},
 * ${VAR:-x}, ${VAR:+x}, ${VAR:?x}). Pure: no engine, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

typedef struct DfInstr {
        char *cmd;      /* lower case: "from", "run", ... */
        char *original; /* the instruction as written, continuations joined, trimmed: "Step 1/3 : <original>" */
        char **flags;   /* "--from=x", "--chown=a:b", in order */
        char **args;    /* see dockerfile_parse */
        bool json;      /* args came from a JSON array (exec form) */
        int line;       /* first line, 1-based */
        struct DfInstr *sub; /* ONBUILD: the trigger instruction */
} DfInstr;

typedef struct Dockerfile {
        DfInstr *v;
        size_t n;
        char escape; /* '\\' or '`' */
        char **warnings;
} Dockerfile;

/* Parses the text. args per instruction:
 *   run, cmd, entrypoint, shell: JSON form: the array; shell form: one string (the rest of the line).
 *   copy, add, volume: JSON form or words split on whitespace.
 *   from, expose: words split on whitespace.
 *   env, label: name, value, name, value, ... (values still quoted: expand with dockerfile_word).
 *   arg: "name" or "name=value" words.
 *   healthcheck: "NONE", or "CMD" then the command as for run (json tells the form).
 *   maintainer, user, workdir, stopsignal: one string.
 *   onbuild: sub holds the trigger; args is its text.
 * Unknown instructions are kept (cmd as written, lower-cased) for the builder to refuse.
 * -EINVAL with Docker's message for a syntax error ("failed to parse Dockerfile: ...", dockerd's words). */
int dockerfile_parse(const char *text, size_t len, Dockerfile **ret, BerthError **err);
void dockerfile_free(Dockerfile *d);
static inline void dockerfile_freep(Dockerfile **d) { dockerfile_free(*d); }
#define _cleanup_dockerfile_ _cleanup_(dockerfile_freep)

/* Parses one instruction line (ONBUILD triggers when the image is used as a base). */
int dockerfile_parse_line(const char *line, char escape, DfInstr *ret, BerthError **err);
void dockerfile_instr_clear(DfInstr *i);

/* The value of flag "--name=value" among flags, or NULL; *present tells a flag given without value. */
const char *dockerfile_flag(DfInstr *i, const char *name, bool *present);
/* -EINVAL "Unknown flag: x" for a flag not in allowed (NULL-terminated). */
int dockerfile_check_flags(DfInstr *i, const char *const *allowed, BerthError **err);

/* Shell-like processing of one word as the builder does: quotes removed, escapes applied, variables
 * substituted from env ("K=V" strings, the last one wins). -EINVAL for a bad substitution. */
int dockerfile_word(const char *word, char escape, char **env, char **ret, BerthError **err);
/* The same, also split into words on unquoted whitespace (EXPOSE, VOLUME, ... take each word). */
int dockerfile_words(const char *word, char escape, char **env, char ***ret, BerthError **err);
