#include "cli/opts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
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

int opts_parse_bool(const char *s, bool *ret)
{
        /* Go's strconv.ParseBool */
        static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                if (streq(s, t[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, f[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int opts_ram_bytes(const char *s, long long *ret)
{
        /* docker's units.RAMInBytes: a number, then b/k/m/g/t/p (any case, optional "b"/"ib"), powers of 1024 */
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 0)
                return -EINVAL;
        /* ^number ?[kmgtp]?i?b?$, any case */
        static const char units[] = "kmgtp";
        double mul = 1;
        if (*end == ' ')
                end++;
        const char *u = *end ? strchr(units, tolower((unsigned char) *end)) : NULL;
        if (u) {
                for (long i = 0; i <= u - units; i++)
                        mul *= 1024;
                end++;
        }
        if (*end == 'i' || *end == 'I')
                end++;
        if (*end == 'b' || *end == 'B')
                end++;
        if (*end)
                return -EINVAL;
        *ret = (long long) (v * mul);
        return 0;
}

int opts_ulimit(const char *s, json_t **ret)
{
        static const char *const names[] = { "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                                             "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending",
                                             "stack" };
        const char *eq = strchr(s, '=');
        if (!eq)
                return -EINVAL;
        _cleanup_free_ char *name = xstrndup(s, (size_t) (eq - s));
        bool known = false;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                known |= streq(names[i], name);
        if (!known)
                return -EINVAL;
        char *end;
        errno = 0;
        long long soft = strtoll(eq + 1, &end, 10), hard = soft;
        if (end == eq + 1 || errno)
                return -EINVAL;
        if (*end == ':') {
                const char *h = end + 1;
                hard = strtoll(h, &end, 10);
                if (end == h || errno)
                        return -EINVAL;
        }
        if (*end || soft > hard)
                return -EINVAL;
        *ret = json_pack("{s:s,s:I,s:I}", "Name", name, "Hard", (json_int_t) hard, "Soft", (json_int_t) soft);
        return 0;
}

static bool device_mode(const char *m)
{
        if (!*m || strlen(m) > 3)
                return false;
        for (const char *p = m; *p; p++)
                if (!strchr("rwm", *p) || strchr(p + 1, *p))
                        return false;
        return true;
}

int opts_device(const char *s, json_t **ret)
{
        _cleanup_strv_free_ char **parts = NULL;
        const char *p = s;
        for (;;) {
                const char *c = strchr(p, ':');
                strv_push(&parts, c ? xstrndup(p, (size_t) (c - p)) : xstrdup(p));
                if (!c)
                        break;
                p = c + 1;
        }
        size_t n = strv_length(parts);
        if (n > 3 || !*parts[0])
                return -EINVAL;
        const char *src = parts[0], *dst = NULL, *perm = "rwm";
        if (n >= 2) {
                if (device_mode(parts[1]))
                        perm = parts[1];
                else
                        dst = parts[1];
        }
        if (n == 3) {
                if (!device_mode(parts[2]))
                        return -EINVAL;
                perm = parts[2];
        }
        if (!dst || !*dst)
                dst = src;
        if (dst[0] != '/')
                return -EINVAL;
        *ret = json_pack("{s:s,s:s,s:s}", "PathOnHost", src, "PathInContainer", dst, "CgroupPermissions", perm);
        return 0;
}

bool opts_device_cgroup_rule(const char *s)
{
        /* ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
        if (!strchr("acb", s[0]) || !s[0] || s[1] != ' ')
                return false;
        const char *p = s + 2;
        for (int part = 0; part < 2; part++) {
                if (*p == '*')
                        p++;
                else {
                        size_t d = strspn(p, "0123456789");
                        if (!d)
                                return false;
                        p += d;
                }
                if (*p++ != (part == 0 ? ':' : ' '))
                        return false;
        }
        size_t m = strspn(p, "rwm");
        return m >= 1 && m <= 3 && !p[m];
}

char *opts_extra_host(const char *s)
{
        /* docker's ValidateExtraHost: "name:ip" or "name=ip"; the ip may be [v6] or host-gateway */
        const char *sep = strchr(s, '=');
        if (!sep)
                sep = strchr(s, ':');
        if (!sep || sep == s || !sep[1])
                return NULL;
        _cleanup_free_ char *ip = xstrdup(sep + 1);
        size_t l = strlen(ip);
        if (ip[0] == '[' && l > 2 && ip[l - 1] == ']') {
                memmove(ip, ip + 1, l - 2);
                ip[l - 2] = 0;
        }
        unsigned char buf[16];
        if (!streq(ip, "host-gateway") && inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
                return NULL;
        return xasprintf("%.*s:%s", (int) (sep - s), s, ip);
}

static char *normalize_cap(const char *c)
{
        _cleanup_free_ char *u = xstrdup(c);
        char *p = u;
        while (isspace((unsigned char) *p))
                p++;
        for (char *q = p; *q; q++)
                *q = (char) toupper((unsigned char) *q);
        size_t l = strlen(p);
        while (l && isspace((unsigned char) p[l - 1]))
                p[--l] = 0;
        if (streq(p, "ALL") || streq(p, "RESET") || startswith(p, "CAP_"))
                return xstrdup(p);
        return xasprintf("CAP_%s", p);
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static json_t *sorted_set(char **v)
{
        size_t n = strv_length(v);
        if (!n)
                return json_null();
        qsort(v, n, sizeof(char *), cmp_strp);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                if (i == 0 || !streq(v[i], v[i - 1]))
                        json_array_append_new(a, json_string(v[i]));
        return a;
}

void opts_caps(char **add, char **drop, json_t **ret_add, json_t **ret_drop)
{
        /* docker's EffectiveCapAddCapDrop: normalized, ALL trumps the rest, an added cap is not dropped */
        _cleanup_strv_free_ char **a = NULL, **d = NULL;
        for (char **c = add; c && *c; c++)
                strv_push(&a, normalize_cap(*c));
        for (char **c = drop; c && *c; c++)
                strv_push(&d, normalize_cap(*c));
        if (strv_contains(a, "ALL")) {
                strv_free(a);
                a = NULL;
                strv_extend(&a, "ALL");
        }
        if (strv_contains(d, "ALL")) {
                strv_free(d);
                d = NULL;
                strv_extend(&d, "ALL");
        }
        _cleanup_strv_free_ char **fa = NULL, **fd = NULL;
        for (char **c = d; c && *c; c++)
                if (!strv_contains(a, *c) && !streq(*c, "RESET"))
                        strv_extend(&fd, *c);
        for (char **c = a; c && *c; c++)
                if (!streq(*c, "RESET"))
                        strv_extend(&fa, *c);
        *ret_add = sorted_set(fa);
        *ret_drop = sorted_set(fd);
}

int opts_expose(const char *s, json_t *exposed)
{
        _cleanup_free_ char *dup = xstrdup(s);
        char *proto = strchr(dup, '/');
        if (proto)
                *proto++ = 0;
        else
                proto = (char *) "tcp";
        if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp"))
                return -EINVAL;
        char *dash = strchr(dup, '-');
        if (dash)
                *dash++ = 0;
        char *end;
        long lo = strtol(dup, &end, 10);
        if (end == dup || *end || lo < 0 || lo > 65535)
                return -EINVAL;
        long hi = lo;
        if (dash) {
                hi = strtol(dash, &end, 10);
                if (end == dash || *end || hi < lo || hi > 65535)
                        return -EINVAL;
        }
        for (long p = lo; p <= hi; p++) {
                _cleanup_free_ char *k = xasprintf("%ld/%s", p, proto);
                json_object_set_new(exposed, k, json_object());
        }
        return 0;
}

int opts_kv_file(const char *path, char ***lines)
{
        /* --label-file: like an env file, without taking values from the environment */
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
                strv_extend(lines, p);
        }
        free(line);
        return 0;
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
