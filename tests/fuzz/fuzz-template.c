/* libFuzzer target for the --format engine (src/cli/template.c): the input is a template, optionally
 * followed by a NUL and the JSON document it runs against. Parsing must fail with a message or give a
 * tree; running the tree, as a row and as a table header, must end with output or a message.
 *   ninja -C build-fuzz tests/fuzz-template && build-fuzz/tests/fuzz-template tests/fuzz/corpus/template */
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "cli/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char dot_json[] =
        "{\"Name\":\"/web\",\"Id\":\"abc\",\"State\":{\"Running\":true,\"Pid\":42},\"Config\":{\"Env\":[\"A=1\"],"
        "\"Labels\":{\"a\":\"b\"},\"Cmd\":null},\"List\":[3,1.5,\"x\",null,{\"N\":1}],\"@Label\":{\"a\":\"b\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = strndup((const char *) data, size);
        if (!text)
                return 0;
        /* a long number is a huge range or printf width: correct, and too slow for fuzzing */
        for (size_t i = 0, run = 0; text[i]; i++) {
                run = text[i] >= '0' && text[i] <= '9' ? run + 1 : 0;
                if (run > 3) {
                        free(text);
                        return 0;
                }
        }
        size_t tlen = strlen(text);
        json_t *dot = tlen + 1 < size ? json_loadb((const char *) data + tlen + 1, size - tlen - 1, 0, NULL) : NULL;
        if (!dot)
                dot = json_loads(dot_json, 0, NULL);
        Template t;
        char *err = NULL;
        if (tmpl_parse(text, "", &t, &err) < 0) {
                if (!err || strncmp(err, "template: :", 11) != 0)
                        abort();
                free(err);
        } else {
                for (int header = 0; header < 2; header++) {
                        char *out = NULL;
                        err = NULL;
                        int r = tmpl_exec(&t, dot, header, &out, &err);
                        if ((r < 0) != (out == NULL) || (r < 0 && !err))
                                abort();
                        free(out);
                        free(err);
                }
                t.missing_error = true;
                t.type = "*formatter.ContainerContext";
                char *out = NULL;
                err = NULL;
                if (tmpl_exec(&t, dot, false, &out, &err) < 0)
                        free(err);
                free(out);
                tmpl_free(&t);
        }
        _cleanup_free_ char *j = fmt_json(dot);
        json_decref(dot);
        free(text);
        return 0;
}
