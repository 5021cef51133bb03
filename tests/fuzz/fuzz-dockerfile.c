/* libFuzzer target for the builder's pure parts (src/build/dockerfile.c, dockerignore.c): the input is
 * a Dockerfile (every instruction's words also go through the word processing) and, the same bytes,
 * a .dockerignore matched against a few paths.
 *   ninja -C build-fuzz tests/fuzz-dockerfile && build-fuzz/tests/fuzz-dockerfile tests/fuzz/corpus/dockerfile */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "build/dockerfile.h"
#include "build/dockerignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void words(DfInstr *in, char esc)
{
        static char *env[] = { "A=1", "PATH=/bin", "E=", NULL };
        for (size_t k = 0; in->args && in->args[k]; k++) {
                char *w = NULL;
                char **ws = NULL;
                BerthError *err = NULL;
                if (dockerfile_word(in->args[k], esc, env, &w, &err) == 0 && !w)
                        abort();
                free(w);
                berr_free(err);
                err = NULL;
                if (dockerfile_words(in->args[k], esc, env, &ws, &err) == 0 && !ws)
                        abort();
                strv_free(ws);
                berr_free(err);
        }
        if (in->sub)
                words(in->sub, esc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xstrndup((const char *) data, size);
        size_t len = strlen(text);
        Dockerfile *d = NULL;
        BerthError *err = NULL;
        if (dockerfile_parse(text, len, &d, &err) == 0) {
                for (size_t i = 0; i < d->n; i++) {
                        if (!d->v[i].cmd || !d->v[i].original)
                                abort();
                        words(&d->v[i], d->escape);
                        dockerfile_flag(&d->v[i], "from", NULL);
                }
                dockerfile_free(d);
        } else if (!err || !err->msg)
                abort();
        berr_free(err);
        err = NULL;
        DockerIgnore *ig = NULL;
        if (dockerignore_parse(text, len, &ig, &err) == 0) {
                static const char *const paths[] = { "a", "a/b/c", ".dockerignore", "Dockerfile", "x.txt", "d/e.md" };
                for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                        dockerignore_match(ig, paths[i]);
                dockerignore_free(ig);
        }
        berr_free(err);
        char *c = dockerignore_clean(text);
        free(c);
        free(text);
        return 0;
}
