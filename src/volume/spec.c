/* The mount syntaxes of the API, checked as Docker's Linux parser checks them: -v / Binds
 * entries, HostConfig.Mounts, VolumesFrom. Pure: no file system access except the existence of
 * a --mount bind source. */
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "volume/volume.h"

static const char *const propagations[] = { "private", "rprivate", "shared", "rshared", "slave", "rslave", NULL };

static bool in_list(const char *s, const char *const *l)
{
        for (size_t i = 0; l[i]; i++)
                if (streq(s, l[i]))
                        return true;
        return false;
}

char *volume_path_clean(const char *p)
{
        bool abs = p[0] == '/';
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(p);
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (streq(t, "."))
                        continue;
                size_t n = strv_length(parts);
                if (streq(t, "..")) {
                        if (n > 0 && !streq(parts[n - 1], "..")) {
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
        out[0] = 0;
        if (abs)
                strcat(out, "/");
        for (size_t i = 0; parts && parts[i]; i++) {
                if (i > 0)
                        strcat(out, "/");
                strcat(out, parts[i]);
        }
        if (!*out)
                strcat(out, ".");
        return out;
}

bool volume_mode_valid(const char *mode)
{
        if (!mode || !*mode)
                return true;
        int rw = 0, label = 0, prop = 0, copy = 0, consistency = 0;
        _cleanup_free_ char *c = xstrdup(mode);
        char *save = NULL;
        /* Go's strings.Split: an empty element (",ro", "ro,") is not a mode */
        if (c[0] == ',' || c[strlen(c) - 1] == ',' || strstr(c, ",,"))
                return false;
        for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (streq(t, "rw") || streq(t, "ro"))
                        rw++;
                else if (streq(t, "z") || streq(t, "Z"))
                        label++;
                else if (in_list(t, propagations))
                        prop++;
                else if (streq(t, "nocopy"))
                        copy++;
                else if (streq(t, "consistent") || streq(t, "cached") || streq(t, "delegated"))
                        consistency++;
                else
                        return false;
        }
        return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && consistency <= 1;
}

static bool mode_has(const char *mode, const char *what)
{
        _cleanup_free_ char *c = xstrdup(mode ? mode : "");
        char *save = NULL;
        for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (streq(t, what))
                        return true;
        return false;
}

static const char *mode_propagation(const char *mode)
{
        for (size_t i = 0; propagations[i]; i++)
                if (mode_has(mode, propagations[i]))
                        return propagations[i];
        return NULL;
}

void volume_bind_done(VolumeBind *b)
{
        free(b->source);
        free(b->destination);
        free(b->mode);
        free(b->propagation);
        memset(b, 0, sizeof(*b));
}

static bool is_root(const char *p)
{
        _cleanup_free_ char *c = volume_path_clean(p);
        return streq(c, "/");
}

int volume_bind_parse(const char *raw, VolumeBind *ret, BerthError **err)
{
        memset(ret, 0, sizeof(*ret));
        if (!raw)
                return berr_set(err, EINVAL, "invalid volume specification: not a string");
        size_t colons = 0;
        for (const char *p = raw; *p; p++)
                colons += *p == ':';
        if (colons > 2 || !*raw || raw[0] == ':')
                return berr_set(err, EINVAL, "invalid volume specification: '%s'", raw);
        _cleanup_free_ char *copy = xstrdup(raw);
        char *parts[3] = { copy, NULL, NULL };
        for (size_t i = 1; i <= colons; i++) {
                char *c = strchr(parts[i - 1], ':');
                *c = 0;
                parts[i] = c + 1;
        }
        const char *src = NULL, *dst, *mode = "";
        if (colons == 0)
                dst = parts[0];
        else {
                if (colons == 1 && volume_mode_valid(parts[1]))
                        return berr_set(err, EINVAL, "invalid volume specification: '%s'", raw);
                src = parts[0];
                dst = parts[1];
                if (colons == 2)
                        mode = parts[2];
        }
        if (!volume_mode_valid(mode))
                return berr_set(err, EINVAL, "invalid mode: %s", mode);
        bool bind = src && src[0] == '/';
        const char *type = bind ? "bind" : "volume";
        if (!*dst)
                return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type "
                                "\"%s\": field Target must not be empty", raw, type);
        if (is_root(dst))
                return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type "
                                "\"%s\": invalid specification: destination can't be '/'", raw, type);
        if (dst[0] != '/')
                return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type "
                                "\"%s\": invalid mount path: '%s' mount path must be absolute", raw, type, dst);
        if (src && !*src)
                return berr_set(err, EINVAL, "invalid volume specification: '%s'", raw);
        if (!bind && mode_propagation(mode))
                return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type "
                                "\"volume\": field BindOptions must not be specified", raw);
        ret->bind = bind;
        ret->source = src ? (bind ? volume_path_clean(src) : xstrdup(src)) : NULL;
        ret->destination = volume_path_clean(dst);
        ret->mode = xstrdup(mode);
        ret->rw = !mode_has(mode, "ro");
        ret->nocopy = mode_has(mode, "nocopy");
        ret->propagation = mode_propagation(mode) ? xstrdup(mode_propagation(mode)) : NULL;
        return 0;
}

int volume_from_parse(const char *spec, char **ret_id, bool *ret_rw, BerthError **err)
{
        if (!spec || !*spec)
                return berr_set(err, EINVAL, "volumes-from specification cannot be an empty string");
        const char *colon = strchr(spec, ':');
        const char *mode = colon ? colon + 1 : "rw";
        if (colon && (!volume_mode_valid(mode) || mode_propagation(mode) || mode_has(mode, "nocopy")))
                return berr_set(err, EINVAL, "invalid mode: %s", mode);
        *ret_id = colon ? xstrndup(spec, (size_t) (colon - spec)) : xstrdup(spec);
        *ret_rw = !mode_has(mode, "ro");
        return 0;
}

#define MOUNT_ERR(type, ...) berr_set(err, EINVAL, "invalid mount config for type \"%s\": " __VA_ARGS__)

static bool present(json_t *m, const char *key)
{
        json_t *v = json_object_get(m, key);
        return v && !json_is_null(v);
}

int volume_mount_validate(json_t *m, bool check_source, BerthError **err)
{
        if (!json_is_object(m))
                return berr_set(err, EINVAL, "invalid mount config: mount type unknown");
        const char *type = json_str(m, "Type") ?: "";
        const char *src = json_str(m, "Source") ?: "", *dst = json_str(m, "Target") ?: "";
        if (!*dst)
                return MOUNT_ERR(type, "field Target must not be empty", type);
        if (is_root(dst))
                return MOUNT_ERR(type, "invalid specification: destination can't be '/'", type);
        if (dst[0] != '/')
                return MOUNT_ERR(type, "invalid mount path: '%s' mount path must be absolute", type, dst);
        if (streq(type, "bind")) {
                if (!*src)
                        return MOUNT_ERR(type, "field Source must not be empty", type);
                const char *prop = json_str(json_object_get(m, "BindOptions"), "Propagation");
                if (prop && *prop && !in_list(prop, propagations))
                        return MOUNT_ERR(type, "invalid propagation mode: %s", type, prop);
                if (present(m, "VolumeOptions"))
                        return MOUNT_ERR(type, "field VolumeOptions must not be specified", type);
                if (present(m, "TmpfsOptions"))
                        return MOUNT_ERR(type, "field TmpfsOptions must not be specified", type);
                if (src[0] != '/')
                        return MOUNT_ERR(type, "invalid mount path: '%s' mount path must be absolute", type, src);
                json_t *bo = json_object_get(m, "BindOptions");
                if (json_bool(bo, "ReadOnlyNonRecursive"))
                        return MOUNT_ERR(type, "BindOptions.ReadOnlyNonRecursive is not supported by berth: read-only "
                                         "binds are always recursive", type);
                struct stat st;
                if (check_source && !json_bool(bo, "CreateMountpoint") && stat(src, &st) < 0)
                        return MOUNT_ERR(type, "bind source path does not exist: %s", type, src);
        } else if (streq(type, "volume")) {
                if (present(m, "BindOptions"))
                        return MOUNT_ERR(type, "field BindOptions must not be specified", type);
                if (present(m, "TmpfsOptions"))
                        return MOUNT_ERR(type, "field TmpfsOptions must not be specified", type);
                json_t *vo = json_object_get(m, "VolumeOptions");
                const char *sub = json_str(vo, "Subpath");
                if (sub && *sub) {
                        if (!*src)
                                return MOUNT_ERR(type, "must not set Subpath when using anonymous volumes", type);
                        _cleanup_free_ char *c = volume_path_clean(sub);
                        if (sub[0] == '/' || streq(c, "..") || startswith(c, "../"))
                                return MOUNT_ERR(type, "subpath must be a relative path within the volume", type);
                }
                if (!*src && json_bool(m, "ReadOnly"))
                        return MOUNT_ERR(type, "must not set ReadOnly mode when using anonymous volumes", type);
                const char *drv = json_str(json_object_get(vo, "DriverConfig"), "Name");
                if (drv && *drv && !streq(drv, "local"))
                        return berr_set(err, ENOENT, "error looking up volume plugin %s: plugin \"%s\" not found",
                                        drv, drv);
        } else if (streq(type, "tmpfs")) {
                if (present(m, "BindOptions"))
                        return MOUNT_ERR(type, "field BindOptions must not be specified", type);
                if (present(m, "VolumeOptions"))
                        return MOUNT_ERR(type, "field VolumeOptions must not be specified", type);
                if (*src)
                        return MOUNT_ERR(type, "field Source must not be specified", type);
                json_t *to = json_object_get(m, "TmpfsOptions");
                if (json_array_size(json_object_get(to, "Options")))
                        return MOUNT_ERR(type, "TmpfsOptions.Options is not supported by berth", type);
                if (json_int(to, "SizeBytes", 0) < 0)
                        return MOUNT_ERR(type, "invalid tmpfs size: %lld", type, json_int(to, "SizeBytes", 0));
        } else if (streq(type, "npipe") || streq(type, "cluster"))
                return MOUNT_ERR(type, "mount type unknown", type);
        else if (*type)
                return MOUNT_ERR(type, "mount type unknown", type);
        else
                return berr_set(err, EINVAL, "invalid mount config: mount type unknown");
        return 0;
}

char *volume_tmpfs_options(long long size, long long mode, bool ro)
{
        _cleanup_strv_free_ char **o = NULL;
        if (ro)
                strv_extend(&o, "ro");
        if (mode)
                strv_push(&o, xasprintf("mode=%llo", mode));
        if (size) {
                static const struct {
                        const char *suffix;
                        long long div;
                } units[] = { { "g", 1LL << 30 }, { "m", 1LL << 20 }, { "k", 1LL << 10 } };
                const char *suffix = "";
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (size % units[i].div == 0) {
                                size /= units[i].div;
                                suffix = units[i].suffix;
                                break;
                        }
                strv_push(&o, xasprintf("size=%lld%s", size, suffix));
        }
        size_t len = 1;
        for (size_t i = 0; o && o[i]; i++)
                len += strlen(o[i]) + 1;
        char *s = xmalloc(len);
        s[0] = 0;
        for (size_t i = 0; o && o[i]; i++) {
                if (i)
                        strcat(s, ",");
                strcat(s, o[i]);
        }
        return s;
}
