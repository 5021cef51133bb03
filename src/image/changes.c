/* `docker import -c` / `docker commit -c`: Dockerfile instructions applied to
 * an image config (moby builder/dockerfile BuildFromConfig, commit subset). */
#include "image-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"

static const char *skip_ws(const char *s)
{
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* JSON form ["a","b"]; NULL when s is not a JSON array of strings. */
static json_t *json_form(const char *s)
{
        if (*s != '[')
                return NULL;
        json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
        if (!j || !json_is_array(j)) {
                json_decref(j);
                return NULL;
        }
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (!json_is_string(v))
        {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* Shell-ish words: whitespace separated, "..." and '...' quoting, backslash escapes. */
static char **split_words(const char *s)
{
        char **out = NULL;
        const char *p = skip_ws(s);
        while (*p) {
                size_t cap = strlen(p) + 1, n = 0;
                char *w = malloc(cap);
                char q = 0;
                while (*p && (q || !isspace((unsigned char) *p))) {
                        if (q) {
                                if (*p == q) {
                                        q = 0;
                                        p++;
                                        continue;
                                }
                                if (q == '"' && *p == '\\' && p[1]) {
                                        p++;
                                }
                                w[n++] = *p++;
                        } else if (*p == '"' || *p == '\'') {
                                q = *p++;
                        } else if (*p == '\\' && p[1]) {
                                p++;
                                w[n++] = *p++;
                        } else {
                                w[n++] = *p++;
                        }
                }
                w[n] = 0;
                strv_push(&out, w);
                p = skip_ws(p);
        }
        return out;
}

static void env_set(json_t *cfg, const char *key, const char *val)
{
        json_t *env = json_object_get(cfg, "Env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(cfg, "Env", env);
        }
        _cleanup_free_ char *kv = xasprintf("%s=%s", key, val);
        json_env_set(env, kv);
}

/* k=v pairs (ENV, LABEL), or the legacy "KEY value with spaces" form. */
static int key_values(const char *args, const char *instr, json_t *cfg, bool label, BerthError **err)
{
        _cleanup_strv_free_ char **w = split_words(args);
        if (!w || !w[0])
                return berr_set(err, EINVAL, "%s requires at least one argument", instr);
        if (!strchr(w[0], '=')) {
                const char *p = skip_ws(args);
                p += strcspn(p, " \t");
                _cleanup_strv_free_ char **rest = split_words(p);
                if (!rest || !rest[0])
                        return berr_set(err, EINVAL, "%s must have two arguments", instr);
                _cleanup_free_ char *val = strdup(skip_ws(p));
                if (label) {
                        json_t *l = json_object_get(cfg, "Labels");
                        if (!json_is_object(l)) {
                                l = json_object();
                                json_object_set_new(cfg, "Labels", l);
                        }
                        json_object_set_new(l, w[0], json_string(rest[0]));
                } else
                        env_set(cfg, w[0], val);
                return 0;
        }
        for (size_t i = 0; w[i]; i++) {
                char *eq = strchr(w[i], '=');
                if (!eq || eq == w[i])
                        return berr_set(err, EINVAL, "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                                        w[i]);
                *eq = 0;
                if (label) {
                        json_t *l = json_object_get(cfg, "Labels");
                        if (!json_is_object(l)) {
                                l = json_object();
                                json_object_set_new(cfg, "Labels", l);
                        }
                        json_object_set_new(l, w[i], json_string(eq + 1));
                } else
                        env_set(cfg, w[i], eq + 1);
        }
        return 0;
}

static int expose(const char *args, json_t *cfg, BerthError **err)
{
        _cleanup_strv_free_ char **w = split_words(args);
        if (!w || !w[0])
                return berr_set(err, EINVAL, "EXPOSE requires at least one argument");
        json_t *ports = json_object_get(cfg, "ExposedPorts");
        if (!json_is_object(ports)) {
                ports = json_object();
                json_object_set_new(cfg, "ExposedPorts", ports);
        }
        for (size_t i = 0; w[i]; i++) {
                char *proto = strchr(w[i], '/');
                if (proto)
                        *proto++ = 0;
                else
                        proto = "tcp";
                if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp"))
                        return berr_set(err, EINVAL, "invalid proto: %s", proto);
                unsigned lo, hi;
                int n = 0;
                if (sscanf(w[i], "%u-%u%n", &lo, &hi, &n) == 2 && w[i][n] == 0) {
                } else if (sscanf(w[i], "%u%n", &lo, &n) == 1 && w[i][n] == 0) {
                        hi = lo;
                } else
                        return berr_set(err, EINVAL, "invalid containerPort: %s", w[i]);
                if (lo == 0 || hi > 65535 || lo > hi)
                        return berr_set(err, EINVAL, "invalid containerPort: %s", w[i]);
                for (unsigned p = lo; p <= hi; p++) {
                        _cleanup_free_ char *k = xasprintf("%u/%s", p, proto);
                        json_object_set_new(ports, k, json_object());
                }
        }
        return 0;
}

/* HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD ... | NONE, as
 * the Dockerfile parser reads it: CMD's shell form is CMD-SHELL; a flag left out is 0 (inherit). */
static int healthcheck(const char *args, json_t *cfg, BerthError **err)
{
        static const char *const durations[][2] = { { "interval", "Interval" }, { "timeout", "Timeout" },
                                                    { "start-period", "StartPeriod" },
                                                    { "start-interval", "StartInterval" } };
        _cleanup_json_ json_t *hc = json_object();
        const char *p = skip_ws(args);
        bool flags = false;
        while (startswith(p, "--")) {
                size_t n = strcspn(p, " \t");
                _cleanup_free_ char *flag = strndup(p, n);
                p = skip_ws(p + n);
                flags = true;
                char *eq = strchr(flag, '=');
                if (!eq)
                        return berr_set(err, EINVAL, "Missing a value on flag: %s", flag + 2);
                *eq = 0;
                const char *name = flag + 2, *val = eq + 1;
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                        if (!streq(name, durations[i][0]))
                                continue;
                        known = true;
                        int64_t d = 0;
                        if (*val && parse_go_duration(val, &d) < 0)
                                return berr_set(err, EINVAL, "time: invalid duration \"%s\"", val);
                        if (d != 0 && d < 1000000)
                                return berr_set(err, EINVAL, "Interval \"%s\" cannot be less than 1ms", name);
                        if (d != 0)
                                json_object_set_new(hc, durations[i][1], json_integer(d));
                }
                if (streq(name, "retries")) {
                        known = true;
                        char *end;
                        errno = 0;
                        long long r = strtoll(val, &end, 10);
                        if (*val && (*end || errno || r != (int) r))
                                return berr_set(err, EINVAL, "strconv.ParseInt: parsing \"%s\": %s", val,
                                                errno == ERANGE || r != (int) r ? "value out of range"
                                                                                 : "invalid syntax");
                        if (r < 0)
                                return berr_set(err, EINVAL, "--retries cannot be negative (%lld)", r);
                        if (r > 0)
                                json_object_set_new(hc, "Retries", json_integer(r));
                }
                if (!known)
                        return berr_set(err, EINVAL, "Unknown flag: %s", name);
        }
        size_t n = strcspn(p, " \t");
        _cleanup_free_ char *type = strndup(p, n);
        for (char *c = type; *c; c++)
                *c = (char) toupper((unsigned char) *c);
        const char *rest = skip_ws(p + n);
        if (!*type)
                return berr_set(err, EINVAL, "HEALTHCHECK requires at least one argument");
        if (streq(type, "NONE")) {
                if (*rest || flags)
                        return berr_set(err, EINVAL, "HEALTHCHECK NONE takes no arguments");
                json_object_set_new(cfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
                return 0;
        }
        if (!streq(type, "CMD"))
                return berr_set(err, EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
        json_t *test = json_form(rest);
        if (test)
                json_array_insert_new(test, 0, json_string("CMD"));
        else if (*rest)
                test = json_pack("[s,s]", "CMD-SHELL", rest);
        if (json_array_size(test) < 2) {
                json_decref(test);
                return berr_set(err, EINVAL, "Missing command after HEALTHCHECK CMD");
        }
        /* in Docker's field order */
        json_t *out = json_pack("{s:o}", "Test", test);
        static const char *const order[] = { "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries" };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (json_object_get(hc, order[i]))
                        json_object_set(out, order[i], json_object_get(hc, order[i]));
        json_object_set_new(cfg, "Healthcheck", out);
        return 0;
}

static int apply_one(json_t *cfg, const char *change, BerthError **err)
{
        const char *p = skip_ws(change);
        if (!*p)
                return 0;
        size_t n = strcspn(p, " \t\r\n");
        _cleanup_free_ char *instr = strndup(p, n);
        for (char *c = instr; *c; c++)
                *c = (char) toupper((unsigned char) *c);
        _cleanup_free_ char *args = strdup(skip_ws(p + n));
        for (size_t l = strlen(args); l > 0 && isspace((unsigned char) args[l - 1]); l--)
                args[l - 1] = 0;

        if (streq(instr, "CMD") || streq(instr, "ENTRYPOINT")) {
                const char *key = streq(instr, "CMD") ? "Cmd" : "Entrypoint";
                json_t *j = json_form(args);
                if (!j)
                        j = *args ? json_pack("[s,s,s]", "/bin/sh", "-c", args) : json_array();
                json_object_set_new(cfg, key, j);
                if (streq(instr, "ENTRYPOINT"))
                        json_object_set_new(cfg, "Cmd", json_null()); /* ENTRYPOINT resets CMD */
                return 0;
        }
        if (streq(instr, "HEALTHCHECK"))
                return healthcheck(args, cfg, err);
        if (streq(instr, "ENV"))
                return key_values(args, "ENV", cfg, false, err);
        if (streq(instr, "LABEL"))
                return key_values(args, "LABEL", cfg, true, err);
        if (streq(instr, "EXPOSE"))
                return expose(args, cfg, err);
        if (streq(instr, "VOLUME")) {
                json_t *vols = json_object_get(cfg, "Volumes");
                if (!json_is_object(vols)) {
                        vols = json_object();
                        json_object_set_new(cfg, "Volumes", vols);
                }
                _cleanup_json_ json_t *j = json_form(args);
                if (j) {
                        size_t i;
                        json_t *v;
                        json_array_foreach(j, i, v) json_object_set_new(vols, json_string_value(v), json_object());
                } else {
                        _cleanup_strv_free_ char **w = split_words(args);
                        for (size_t i = 0; w && w[i]; i++)
                                json_object_set_new(vols, w[i], json_object());
                }
                if (json_object_size(vols) == 0)
                        return berr_set(err, EINVAL, "VOLUME specified can not be an empty string");
                return 0;
        }
        if (streq(instr, "USER") || streq(instr, "STOPSIGNAL")) {
                if (!*args)
                        return berr_set(err, EINVAL, "%s requires exactly one argument", instr);
                json_object_set_new(cfg, streq(instr, "USER") ? "User" : "StopSignal", json_string(args));
                return 0;
        }
        if (streq(instr, "WORKDIR")) {
                if (!*args)
                        return berr_set(err, EINVAL, "WORKDIR requires exactly one argument");
                const char *cur = json_str(cfg, "WorkingDir");
                _cleanup_free_ char *wd = args[0] == '/' ? strdup(args)
                                                         : xasprintf("%s/%s", cur && *cur ? cur : "", args);
                _cleanup_free_ char *clean = image_tar_clean_path(wd);
                _cleanup_free_ char *abs = xasprintf("/%s", clean ? clean : "");
                json_object_set_new(cfg, "WorkingDir", json_string(abs));
                return 0;
        }
        if (streq(instr, "ONBUILD")) {
                if (!*args)
                        return berr_set(err, EINVAL, "ONBUILD requires at least one argument");
                json_t *ob = json_object_get(cfg, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(cfg, "OnBuild", ob);
                }
                json_array_append_new(ob, json_string(args));
                return 0;
        }
        return berr_set(err, EINVAL, "%s is not a valid change command", instr);
}

int image_apply_changes(json_t *cfg, char **changes, BerthError **err)
{
        for (size_t i = 0; changes && changes[i]; i++) {
                int r = apply_one(cfg, changes[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}
