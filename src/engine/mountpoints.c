#include "mountpoints.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"

static void add(MountPoint **v, size_t *n, const char *dest, const char *src, const char *type, bool rw)
{
        MountPoint *nv = xrealloc(*v, (*n + 1) * sizeof(MountPoint));
        nv[*n] = (MountPoint) { .destination = xstrdup(dest), .source = src ? xstrdup(src) : NULL,
                                .type = xstrdup(type), .rw = rw };
        *v = nv;
        (*n)++;
}

int container_mount_points(Engine *e, Container *c, MountPoint **ret, size_t *ret_n, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *binds = json_deep_copy(json_object_get(container_hostcfg(c), "Binds"));
        _cleanup_json_ json_t *mounts = json_deep_copy(json_object_get(container_hostcfg(c), "Mounts"));
        pthread_mutex_unlock(&e->lock);
        MountPoint *v = NULL;
        size_t n = 0, i;
        json_t *x;
        json_array_foreach(binds, i, x) {
                if (!json_is_string(x))
                        continue;
                _cleanup_strv_free_ char **parts = NULL;
                int r = container_bind_parse(json_string_value(x), &parts, err);
                if (r < 0) {
                        mount_points_free(v, n);
                        return r;
                }
                bool ro = strv_length(parts) == 3 && strstr(parts[2], "ro") != NULL;
                add(&v, &n, parts[1], parts[0], "bind", !ro);
        }
        json_array_foreach(mounts, i, x) {
                const char *type = json_str(x, "Type"), *src = json_str(x, "Source"), *dst = json_str(x, "Target");
                if (!type || !streq(type, "bind") || !src || !dst)
                        continue;
                add(&v, &n, dst, src, "bind", !json_bool(x, "ReadOnly"));
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void mount_points_free(MountPoint *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].destination);
                free(m[i].source);
                free(m[i].type);
                free(m[i].name);
        }
        free(m);
}
