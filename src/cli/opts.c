#include "cli/opts.h"

#include <ctype.h>
#include <string.h>

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
