/* libFuzzer target for tar reading: the input is a layer blob as a registry or `docker load`
 * delivers it (any compression libarchive detects), unpacked by src/image/tar.c, and the same
 * bytes as a `docker load` archive (archive.c: outer extraction, link resolution, manifest.json
 * and config checks, image_load_prepare). Its text is also cleaned as a tar entry name
 * (image_tar_clean_path). Each runs in an empty directory that nothing may leave: the directory
 * around it must hold exactly that one entry afterwards.
 *   ninja -C build-fuzz tests/fuzz-tar && build-fuzz/tests/fuzz-tar tests/fuzz/corpus/tar */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "image/image-internal.h"
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

static void remove_base(void)
{
        rm_rf(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!base) {
                base = strdup("/tmp/berth-fuzz-tar.XXXXXX");
                if (!base || !mkdtemp(base))
                        abort();
                atexit(remove_base);
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
        err = NULL;
        const char *layer = "layer";
        if (entries(base, &layer) != 1) {
                fprintf(stderr, "the layer wrote outside its directory\n");
                abort();
        }
        rm_rf(dest);
        free(dest);

        /* the same bytes as a `docker load` archive: extraction and manifest checks */
        char *dir = xasprintf("%s/load", base);
        int fd = memfd_create("fuzz-load", MFD_CLOEXEC);
        if (fd < 0 || mkdir(dir, 0700) < 0 || write(fd, data, size) != (ssize_t) size || lseek(fd, 0, SEEK_SET) != 0)
                abort();
        ImageLoadPlan plan;
        r = image_load_prepare(fd, dir, &plan, &err);
        if (r < 0 && (!err || !err->msg))
                abort();
        if (r >= 0 && (err || !json_is_array(plan.entries) || strv_length(plan.configs) != json_array_size(plan.entries)))
                abort();
        berr_free(err);
        image_load_plan_clear(&plan);
        close(fd);
        const char *load = "load";
        if (entries(base, &load) != 1) {
                fprintf(stderr, "the archive wrote outside its directory\n");
                abort();
        }
        rm_rf(dir);
        free(dir);
        return 0;
}
