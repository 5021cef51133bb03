/* libFuzzer target for layer tar unpacking (src/image/tar.c): the input is a layer blob as a
 * registry or `docker load` delivers it (any compression libarchive detects). Its text is also
 * cleaned as a tar entry name (image_tar_clean_path, which archive.c's entry checks use too),
 * and it is unpacked into an empty directory, which nothing may leave: the directory around it
 * must hold exactly that one entry afterwards.
 *   ninja -C build-fuzz tests/fuzz-tar && build-fuzz/tests/fuzz-tar tests/fuzz/corpus/tar */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "image/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *base;

static void check_clean(const char *name)
{
        char *c = image_tar_clean_path(name);
        if (!c) {
                /* only a ".." can escape */
                if (!strstr(name, ".."))
                        abort();
                return;
        }
        if (c[0] == '/' || strstr(c, "//") || (*c && c[strlen(c) - 1] == '/'))
                abort();
        for (const char *p = c; *p;) {
                size_t l = strcspn(p, "/");
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        abort();
                p += l;
                if (*p)
                        p++;
        }
        char *again = image_tar_clean_path(c);
        if (!again || strcmp(again, c) != 0)
                abort();
        free(again);
        free(c);
}

/* Entries of dir other than "." and "..". */
static int entries(const char *dir, const char **only)
{
        DIR *d = opendir(dir);
        if (!d)
                abort();
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                        n++;
                        if (only && strcmp(de->d_name, *only))
                                n += 1000;
                }
        closedir(d);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!base) {
                base = strdup("/tmp/berth-fuzz-tar.XXXXXX");
                if (!base || !mkdtemp(base))
                        abort();
        }
        char *name = strndup((const char *) data, size);
        if (!name)
                abort();
        check_clean(name);
        free(name);

        char *dest = xasprintf("%s/layer", base);
        if (mkdir(dest, 0755) < 0)
                abort();
        LayerUnpackInfo info = { 0 };
        BerthError *err = NULL;
        int r = image_unpack_mem(data, size, dest, &info, &err);
        if (r < 0 && (!err || !err->msg))
                abort();
        if (r >= 0 && (err || strncmp(info.diff_id, "sha256:", 7) != 0 || strlen(info.diff_id) != 71 || info.size < 0))
                abort();
        berr_free(err);
        const char *layer = "layer";
        if (entries(base, &layer) != 1) {
                fprintf(stderr, "the layer wrote outside its directory\n");
                abort();
        }
        rm_rf(dest);
        free(dest);
        return 0;
}
