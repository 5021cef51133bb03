#include "cli/opts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"

char *opts_env_value(const char *v)
{
        if (strchr(v, '='))
                return strdup(v);
        const char *e = getenv(v);
        return e ? xasprintf("%s=%s", v, e) : strdup(v);
}

int opts_env_file(const char *path, char ***env)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) >= 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = 0;
                const char *p = line;
                while (isspace((unsigned char) *p))
                        p++;
                if (!*p || *p == '#')
                        continue;
                strv_push(env, opts_env_value(p));
        }
        free(line);
        return 0;
}

int opts_restart(const char *s, json_t **ret)
{
        long max = 0;
        _cleanup_free_ char *name = strdup(s);
        char *colon = strchr(name, ':');
        if (colon) {
                *colon = 0;
                char *end;
                max = strtol(colon + 1, &end, 10);
                if (!streq(name, "on-failure") || *end || end == colon + 1 || max < 0)
                        return -EINVAL;
        }
        if (!streq(name, "no") && !streq(name, "always") && !streq(name, "unless-stopped") &&
            !streq(name, "on-failure"))
                return -EINVAL;
        *ret = json_pack("{s:s,s:i}", "Name", name, "MaximumRetryCount", (int) max);
        return 0;
}

int opts_publish(const char *s, json_t *exposed, json_t *bindings)
{
        _cleanup_free_ char *dup = strdup(s);
        char *proto = strchr(dup, '/');
        if (proto)
                *proto++ = 0;
        else
                proto = (char *) "tcp";
        /* ip may be [v6]; split from the right */
        char *cport = strrchr(dup, ':');
        const char *ip = "", *hport = "";
        if (cport) {
                *cport++ = 0;
                char *hp = strrchr(dup, ':');
                if (hp && dup[0] != '[') {
                        *hp++ = 0;
                        ip = dup;
                        hport = hp;
                } else if (dup[0] == '[') {
                        char *rb = strchr(dup, ']');
                        if (!rb)
                                return -EINVAL;
                        *rb = 0;
                        ip = dup + 1;
                        hport = rb[1] == ':' ? rb + 2 : "";
                } else
                        hport = dup;
        } else
                cport = dup;
        if (!*cport || strspn(cport, "0123456789-") != strlen(cport) ||
            strspn(hport, "0123456789-") != strlen(hport) ||
            (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")))
                return -EINVAL;
        _cleanup_free_ char *key = xasprintf("%s/%s", cport, proto);
        json_object_set_new(exposed, key, json_object());
        json_t *arr = json_object_get(bindings, key);
        if (!arr) {
                arr = json_array();
                json_object_set_new(bindings, key, arr);
        }
        json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hport));
        return 0;
}

void opts_label(json_t *labels, const char *s)
{
        const char *eq = strchr(s, '=');
        if (!eq) {
                json_object_set_new(labels, s, json_string(""));
                return;
        }
        _cleanup_free_ char *k = strndup(s, (size_t) (eq - s));
        json_object_set_new(labels, k, json_string(eq + 1));
}

json_t *opts_strv_json(char **l)
{
        if (!l)
                return json_null();
        json_t *a = json_array();
        for (; *l; l++)
                json_array_append_new(a, json_string(*l));
        return a;
}

static int mount_bool(const char *v, bool *ret)
{
        if (!v || streq(v, "1") || streq(v, "true") || streq(v, "True") || streq(v, "TRUE"))
                *ret = true;
        else if (streq(v, "0") || streq(v, "false") || streq(v, "False") || streq(v, "FALSE"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static json_t *sub_object(json_t *m, const char *key)
{
        json_t *o = json_object_get(m, key);
        if (!o) {
                o = json_object();
                json_object_set_new(m, key, o);
        }
        return o;
}

/* VolumeOptions with its DriverConfig, as docker's CLI makes them for any volume-* key */
static json_t *volume_options(json_t *m)
{
        json_t *vo = sub_object(m, "VolumeOptions");
        sub_object(vo, "DriverConfig");
        return vo;
}

int opts_mount(const char *spec, json_t **ret, char **ret_err)
{
        _cleanup_json_ json_t *m = json_object();
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;
        const char *type = "volume";
        bool has_bind = false, has_volume = false, has_tmpfs = false;
        for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(f, '=');
                const char *v = eq ? eq + 1 : NULL;
                if (eq)
                        *eq = 0;
                const char *k = f;
                for (char *p = f; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
                bool b;
                if (!v && !streq(k, "readonly") && !streq(k, "ro") && !streq(k, "volume-nocopy") &&
                    !streq(k, "bind-nonrecursive")) {
                        *ret_err = xasprintf("invalid field '%s' must be a key=value pair", k);
                        return -EINVAL;
                }
                if (streq(k, "type")) {
                        type = v;
                        json_object_set_new(m, "Type", json_string(v));
                } else if (streq(k, "source") || streq(k, "src"))
                        json_object_set_new(m, "Source", json_string(v));
                else if (streq(k, "target") || streq(k, "dst") || streq(k, "destination"))
                        json_object_set_new(m, "Target", json_string(v));
                else if (streq(k, "readonly") || streq(k, "ro")) {
                        if (mount_bool(v, &b) < 0)
                                goto bad_value;
                        json_object_set_new(m, "ReadOnly", json_boolean(b));
                } else if (streq(k, "consistency"))
                        json_object_set_new(m, "Consistency", json_string(v));
                else if (streq(k, "bind-propagation")) {
                        has_bind = true;
                        json_object_set_new(sub_object(m, "BindOptions"), "Propagation", json_string(v));
                } else if (streq(k, "bind-nonrecursive")) {
                        has_bind = true;
                        if (mount_bool(v, &b) < 0)
                                goto bad_value;
                        json_object_set_new(sub_object(m, "BindOptions"), "NonRecursive", json_boolean(b));
                } else if (streq(k, "volume-nocopy")) {
                        has_volume = true;
                        if (mount_bool(v, &b) < 0)
                                goto bad_value;
                        json_object_set_new(volume_options(m), "NoCopy", json_boolean(b));
                } else if (streq(k, "volume-label") || streq(k, "volume-opt")) {
                        has_volume = true;
                        const char *e2 = strchr(v, '=');
                        _cleanup_free_ char *lk = e2 ? xstrndup(v, (size_t) (e2 - v)) : xstrdup(v);
                        json_t *vo = volume_options(m);
                        json_t *dst = streq(k, "volume-label") ? sub_object(vo, "Labels")
                                                                : sub_object(sub_object(vo, "DriverConfig"), "Options");
                        json_object_set_new(dst, lk, json_string(e2 ? e2 + 1 : ""));
                } else if (streq(k, "volume-driver")) {
                        has_volume = true;
                        json_object_set_new(sub_object(volume_options(m), "DriverConfig"), "Name",
                                            json_string(v));
                } else if (streq(k, "volume-subpath")) {
                        has_volume = true;
                        json_object_set_new(volume_options(m), "Subpath", json_string(v));
                } else if (streq(k, "tmpfs-size")) {
                        has_tmpfs = true;
                        long long n = parse_ram_bytes(v);
                        if (n < 0)
                                goto bad_value;
                        json_object_set_new(sub_object(m, "TmpfsOptions"), "SizeBytes", json_integer(n));
                } else if (streq(k, "tmpfs-mode")) {
                        has_tmpfs = true;
                        char *end;
                        long n = strtol(v, &end, 8);
                        if (!*v || *end)
                                goto bad_value;
                        json_object_set_new(sub_object(m, "TmpfsOptions"), "Mode", json_integer(n));
                } else {
                        *ret_err = xasprintf("unexpected key '%s' in '%s'", k, spec);
                        return -EINVAL;
                }
                continue;
        bad_value:
                *ret_err = xasprintf("invalid value for %s: %s", k, v ? v : "");
                return -EINVAL;
        }
        if (!json_object_get(m, "Type"))
                json_object_set_new(m, "Type", json_string("volume"));
        if (!json_str(m, "Target") || !*json_str(m, "Target")) {
                *ret_err = xstrdup("target is required");
                return -EINVAL;
        }
        const char *kinds[][2] = { { "volume", "volume" }, { "bind", "bind" }, { "tmpfs", "tmpfs" } };
        bool has[] = { has_volume, has_bind, has_tmpfs };
        for (size_t i = 0; i < 3; i++)
                if (has[i] && !streq(type, kinds[i][1])) {
                        *ret_err = xasprintf("cannot mix '%s-*' options with mount type '%s'", kinds[i][0], type);
                        return -EINVAL;
                }
        *ret = TAKE_PTR(m);
        return 0;
}
