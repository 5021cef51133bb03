/* The builder's pure parts: the Dockerfile parser, word processing, .dockerignore. */
#include <errno.h>

#include "basic/util.h"
#include "build/dockerfile.h"
#include "build/dockerignore.h"
#include "test.h"

static Dockerfile *parse(const char *s)
{
        Dockerfile *d = NULL;
        BerthError *err = NULL;
        if (dockerfile_parse(s, strlen(s), &d, &err) < 0) {
                printf("# parse error: %s\n", err->msg);
                berr_free(err);
                return NULL;
        }
        return d;
}

TEST(parse_forms)
{
        _cleanup_dockerfile_ Dockerfile *d = parse("# syntax=docker/dockerfile:1\n"
                                                   "FROM busybox AS base\n"
                                                   "  # a comment\n"
                                                   "RUN echo a \\\n"
                                                   "  # inside\n"
                                                   "   b\n"
                                                   "CMD [\"sh\", \"-c\"]\n"
                                                   "cmd [not json\n"
                                                   "COPY --from=base --chown=1:2 a b /dst/\n"
                                                   "ENV A=1 B=\"x y\"\n"
                                                   "ENV C hello world\n"
                                                   "ONBUILD RUN true\n"
                                                   "HEALTHCHECK --interval=5s CMD [\"true\"]\n");
        ASSERT_TRUE(d);
        ASSERT_EQ(d->n, 9);
        ASSERT_STREQ(d->v[0].cmd, "from");
        ASSERT_EQ(strv_length(d->v[0].args), 3);
        ASSERT_STREQ(d->v[1].original, "RUN echo a    b");
        ASSERT_STREQ(d->v[1].args[0], "echo a    b");
        ASSERT_EQ(d->v[1].line, 4);
        ASSERT_TRUE(d->v[2].json);
        ASSERT_STREQ(d->v[2].args[1], "-c");
        ASSERT_TRUE(!d->v[3].json);
        ASSERT_STREQ(d->v[3].args[0], "[not json");
        ASSERT_STREQ(dockerfile_flag(&d->v[4], "from", NULL), "base");
        ASSERT_STREQ(dockerfile_flag(&d->v[4], "chown", NULL), "1:2");
        ASSERT_EQ(strv_length(d->v[4].args), 3);
        ASSERT_STREQ(d->v[5].args[2], "B");
        ASSERT_STREQ(d->v[5].args[3], "\"x y\"");
        ASSERT_STREQ(d->v[6].args[0], "C");
        ASSERT_STREQ(d->v[6].args[1], "hello world");
        ASSERT_TRUE(d->v[7].sub);
        ASSERT_STREQ(d->v[7].sub->cmd, "run");
        ASSERT_STREQ(d->v[7].args[0], "RUN true");
        ASSERT_STREQ(d->v[8].args[0], "CMD");
        ASSERT_STREQ(d->v[8].args[1], "true");
        static const char *const ok[] = { "interval", NULL };
        ASSERT_OK(dockerfile_check_flags(&d->v[8], ok, NULL));
        BerthError *err = NULL;
        ASSERT_EQ(dockerfile_check_flags(&d->v[4], ok, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "Unknown flag: from");
        berr_free(err);
}

TEST(parse_escape_directive)
{
        _cleanup_dockerfile_ Dockerfile *d = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  /w\n");
        ASSERT_TRUE(d);
        ASSERT_EQ(d->escape, '`');
        ASSERT_EQ(d->n, 2);
        ASSERT_STREQ(d->v[1].args[0], "dir c:\\   /w");
        /* a directive after an instruction is a comment */
        _cleanup_dockerfile_ Dockerfile *d2 = parse("FROM x\n# escape=`\nRUN a \\\n b\n");
        ASSERT_TRUE(d2);
        ASSERT_EQ(d2->escape, '\\');
        ASSERT_STREQ(d2->v[1].args[0], "a  b");
}

TEST(parse_errors)
{
        Dockerfile *d = NULL;
        BerthError *err = NULL;
        /* a chain of ONBUILDs is refused at once, not parsed recursively */
        _cleanup_free_ char *chain = xstrdup("FROM x\n");
        for (int i = 0; i < 60; i++) {
                char *n = xasprintf("%sONBUILD ", chain);
                free(chain);
                chain = n;
        }
        ASSERT_EQ(dockerfile_parse(chain, strlen(chain), &d, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "failed to parse Dockerfile: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        berr_free(err);
        err = NULL;
        ASSERT_EQ(dockerfile_parse("ENV A=1 B\n", 10, &d, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "failed to parse Dockerfile: Syntax error - can't find = in \"B\". Must be of the form: "
                              "name=value");
        berr_free(err);
        err = NULL;
        ASSERT_EQ(dockerfile_parse("ENV A\n", 6, &d, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "failed to parse Dockerfile: ENV must have two arguments");
        berr_free(err);
}

static char *word(const char *w, char **env)
{
        char *r = NULL;
        BerthError *err = NULL;
        if (dockerfile_word(w, '\\', env, &r, &err) < 0) {
                r = xasprintf("ERR:%s", err->msg);
                berr_free(err);
        }
        return r;
}

#define WORD_EQ(w, want)                               \
        do {                                           \
                _cleanup_free_ char *_r = word(w, env); \
                ASSERT_STREQ(_r, want);                \
        } while (0)

TEST(substitution)
{
        char *env[] = { "A=alpha", "E=", "P=/usr/bin", "A=one", NULL };
        WORD_EQ("$A", "one");
        WORD_EQ("${A}x", "onex");
        WORD_EQ("${B:-def}", "def");
        WORD_EQ("${E:-def}", "def");
        WORD_EQ("${A:-def}", "one");
        WORD_EQ("${A:+alt}", "alt");
        WORD_EQ("${B:+alt}", "");
        WORD_EQ("\\$A", "$A");
        WORD_EQ("'$A'", "$A");
        WORD_EQ("\"$A b\"", "one b");
        WORD_EQ("\"a\\\"b\"", "a\"b");
        WORD_EQ("$", "$");
        WORD_EQ("a$-b", "ab");
        WORD_EQ("${P}/x:$PATH", "/usr/bin/x:");
        WORD_EQ("${A", "ERR:syntax error: missing '}'");
        WORD_EQ("${A%x}", "ERR:missing ':' in substitution");
        WORD_EQ("${A:%x}", "ERR:unsupported modifier (%) in substitution");
        WORD_EQ("${B:?must be set}", "ERR:B: must be set");
        WORD_EQ("${B:-${B:-${B:-deep}}}", "deep");
        {
                _cleanup_free_ char *deep = xstrdup("x");
                for (int i = 0; i < 100; i++) {
                        char *n = xasprintf("${B:-%s}", deep);
                        free(deep);
                        deep = n;
                }
                WORD_EQ(deep, "ERR:substitutions nested too deeply");
        }
        char **ws = NULL;
        ASSERT_OK(dockerfile_words("80/tcp \"$A two\" ${B:-3}", '\\', env, &ws, NULL));
        ASSERT_EQ(strv_length(ws), 3);
        ASSERT_STREQ(ws[1], "one two");
        ASSERT_STREQ(ws[2], "3");
        strv_free(ws);
}

static bool ign(const char *patterns, const char *path)
{
        DockerIgnore *d = NULL;
        if (dockerignore_parse(patterns, strlen(patterns), &d, NULL) < 0)
                return false;
        bool m = dockerignore_match(d, path);
        dockerignore_free(d);
        return m;
}

TEST(dockerignore)
{
        ASSERT_TRUE(ign("*.txt\n", "a.txt"));
        ASSERT_TRUE(!ign("*.txt\n", "d/a.txt"));
        ASSERT_TRUE(ign("**/*.txt\n", "d/e/a.txt"));
        ASSERT_TRUE(ign("**/*.txt\n", "a.txt"));
        ASSERT_TRUE(ign("/d\n", "d/e/a.txt"));
        ASSERT_TRUE(ign("./d/\n", "d"));
        ASSERT_TRUE(ign("d\n", "d/x"));
        ASSERT_TRUE(!ign("d\n", "dd"));
        ASSERT_TRUE(!ign("*.md\n!README.md\n", "README.md"));
        ASSERT_TRUE(ign("*.md\n!README.md\n", "x.md"));
        ASSERT_TRUE(ign("!a\n*\n", "a"));
        ASSERT_TRUE(ign("# comment\n  a?c  \n", "abc"));
        ASSERT_TRUE(!ign("#a\n", "#a"));
        ASSERT_TRUE(ign("[a-c]x\n", "bx"));
        ASSERT_TRUE(ign("a.b\n", "a.b"));
        ASSERT_TRUE(!ign("a.b\n", "axb"));
        ASSERT_TRUE(ign("d/**\n", "d/e/f"));
        ASSERT_TRUE(ign("x/../y\n", "y"));
        _cleanup_free_ char *c = dockerignore_clean("./a//b/../c/");
        ASSERT_STREQ(c, "a/c");
}

TEST_MAIN
