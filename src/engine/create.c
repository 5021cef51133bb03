/* POST /containers/create: validates the body, merges the image config in
 * (moby daemon/commit.go merge rules), and records the container. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "config-fields.h"
#include "container.h"
#include "state/events.h"
#include "engine/health.h"
#include "engine/links.h"
#include "engine/mountpoints.h"
#include "engine/resources.h"
#include "engine/system.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

/* Cmd/Entrypoint as Docker's StrSlice decodes them: a plain string (shell form, old clients) is one argv
 * element, null or absent is nil (NULL here), [] stays an empty list. */
static json_t *strv_of(json_t *v)
{
        if (json_is_string(v))
                return json_pack("[O]", v);
        if (json_is_array(v))
                return json_incref(v);
        return NULL;
}

/* Entrypoint and Cmd as dockerd merges them (daemon/commit.go merge, create.go mergeAndVerifyConfig): an
 * empty user Entrypoint takes the image's Cmd when the user gave none, a nil one the image's Entrypoint
 * too; then [""] (docker run --entrypoint "") means no entrypoint. */
static void merge_command(json_t *uc, json_t *ic)
{
        json_t *uep = strv_of(json_object_get(uc, "Entrypoint"));
        json_t *ucmd = strv_of(json_object_get(uc, "Cmd"));
        if (json_array_size(uep) == 0) {
                if (json_array_size(ucmd) == 0) {
                        json_decref(ucmd);
                        ucmd = strv_of(json_object_get(ic, "Cmd"));
                }
                if (!uep)
                        uep = strv_of(json_object_get(ic, "Entrypoint"));
        }
        const char *ep0 = json_string_value(json_array_get(uep, 0));
        if (json_array_size(uep) == 1 && ep0 && !*ep0) {
                json_decref(uep);
                uep = NULL;
        }
        json_object_set_new(uc, "Entrypoint", uep ? uep : json_null());
        json_object_set_new(uc, "Cmd", ucmd ? ucmd : json_null());
}

static bool str_empty(json_t *o, const char *k)
{
        const char *s = json_str(o, k);
        return !s || !*s;
}

static void merge_image_config(json_t *uc, json_t *ic)
{
        if (!json_is_object(ic))
                return;
        /* Env: image vars not overridden by the user are appended. */
        json_t *uenv = json_object_get(uc, "Env");
        json_t *ienv = json_object_get(ic, "Env");
        if (!json_is_array(uenv) || json_array_size(uenv) == 0) {
                json_object_set_new(uc, "Env", json_is_array(ienv) ? json_deep_copy(ienv) : json_array());
        } else if (json_is_array(ienv)) {
                size_t i, j;
                json_t *x, *y;
                json_array_foreach(ienv, i, x) {
                        const char *is = json_string_value(x);
                        if (!is)
                                continue;
                        size_t klen = strcspn(is, "=");
                        bool found = false;
                        json_array_foreach(uenv, j, y) {
                                const char *us = json_string_value(y);
                                if (us && strcspn(us, "=") == klen && strneq(us, is, klen))
                                        found = true;
                        }
                        if (!found)
                                json_array_append(uenv, x);
                }
        }
        /* Labels: user wins. */
        json_t *ul = json_object_get(uc, "Labels");
        json_t *il = json_object_get(ic, "Labels");
        if (!json_is_object(ul)) {
                ul = json_object();
                json_object_set_new(uc, "Labels", ul);
        }
        if (json_is_object(il)) {
                const char *k;
                json_t *v;
                json_object_foreach(il, k, v) if (!json_object_get(ul, k)) json_object_set(ul, k, v);
        }
        const char *keys[] = { "WorkingDir", "User", "StopSignal" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (str_empty(uc, keys[i]) && json_is_string(json_object_get(ic, keys[i])))
                        json_object_set(uc, keys[i], json_object_get(ic, keys[i]));
        json_t *uports = json_object_get(uc, "ExposedPorts");
        json_t *iports = json_object_get(ic, "ExposedPorts");
        if (json_is_object(iports)) {
                if (!json_is_object(uports)) {
                        uports = json_object();
                        json_object_set_new(uc, "ExposedPorts", uports);
                }
                json_object_update_missing(uports, iports);
        }
        /* Volumes: the image's are added to the user's */
        json_t *uvols = json_object_get(uc, "Volumes"), *ivols = json_object_get(ic, "Volumes");
        if (json_is_object(ivols) && json_object_size(ivols)) {
                if (!json_is_object(uvols))
                        json_object_set_new(uc, "Volumes", json_deep_copy(ivols));
                else
                        json_object_update(uvols, ivols);
        }
}

static json_t *json_strv(char *const *l)
{
        json_t *a = json_array();
        for (size_t i = 0; l && l[i]; i++)
                json_array_append_new(a, json_string(l[i]));
        return a;
}

static void set_default(json_t *o, const char *k, json_t *v)
{
        json_t *cur = json_object_get(o, k);
        if (!cur || json_is_null(cur) || (json_is_string(cur) && !*json_string_value(cur)))
                json_object_set_new(o, k, v);
        else
                json_decref(v);
}

/* LogConfig: berth's drivers are json-file (the default), local (json-file's
 * format with Docker's local-driver bounds) and none. An empty Type means the
 * default driver, and its options are kept, as dockerd does. */
static int validate_log_config(json_t *hc, BerthError **err)
{
        json_t *lc = json_object_get(hc, "LogConfig");
        const char *type = json_is_object(lc) ? json_str(lc, "Type") : NULL;
        json_t *opts = json_is_object(lc) ? json_object_get(lc, "Config") : NULL;
        if (opts && !json_is_null(opts) && !json_is_object(opts))
                return berr_set(err, EINVAL, "LogConfig.Config must be an object of strings");
        if (!type || !*type)
                type = "json-file";
        static const char *const json_file_opts[] = { "max-size", "max-file", "compress", NULL };
        static const char *const unsupported_opts[] = { "labels", "labels-regex", "env", "env-regex", "tag", NULL };
        bool none = streq(type, "none");
        if (!none && !streq(type, "json-file") && !streq(type, "local"))
                return berr_set(err, EINVAL, "error looking up logging plugin %s: plugin \"%s\" not found", type, type);
        const char *k;
        json_t *v;
        json_object_foreach(opts, k, v) {
                if (!json_is_string(v))
                        return berr_set(err, EINVAL, "log opt '%s' must be a string", k);
                if (none)
                        return berr_set(err, EINVAL, "invalid logging opts for driver none");
                bool known = false;
                for (size_t i = 0; json_file_opts[i]; i++)
                        known |= streq(k, json_file_opts[i]);
                for (size_t i = 0; !known && unsupported_opts[i]; i++)
                        if (streq(k, unsupported_opts[i]))
                                return berr_set(err, EINVAL, "log opt '%s' of the %s log driver is not supported by berth",
                                                k, type);
                if (!known)
                        return berr_set(err, EINVAL, "unknown log opt '%s' for %s log driver", k, type);
                const char *s = json_string_value(v);
                if (streq(k, "max-file")) {
                        char *end;
                        long n = strtol(s, &end, 10);
                        if (!*s || *end)
                                return berr_set(err, EINVAL, "failed to initialize logging driver: strconv.Atoi: "
                                                "parsing \"%s\": invalid syntax", s);
                        if (n < 1)
                                return berr_set(err, EINVAL, "failed to initialize logging driver: max-file cannot be "
                                                "less than 1");
                } else if (streq(k, "compress")) {
                        if (go_parse_bool(s) < 0)
                                return berr_set(err, EINVAL, "failed to initialize logging driver: strconv.ParseBool: "
                                                "parsing \"%s\": invalid syntax", s);
                } else if (parse_ram_bytes(s) < 0)
                        return berr_set(err, EINVAL, "failed to initialize logging driver: invalid value for max-size: "
                                        "%s: invalid size: '%s'", s, s);
        }
        json_t *cfg = json_is_object(opts) ? json_deep_copy(opts) : json_object();
        if (streq(type, "local")) {
                /* Docker's local driver keeps 5 compressed files of 20 MB unless told otherwise */
                if (!json_object_get(cfg, "max-size"))
                        json_object_set_new(cfg, "max-size", json_string("20m"));
                if (!json_object_get(cfg, "max-file"))
                        json_object_set_new(cfg, "max-file", json_string("5"));
                if (!json_object_get(cfg, "compress"))
                        json_object_set_new(cfg, "compress", json_string("true"));
        }
        /* dockerd says this when the container starts; berth as soon as it can know */
        const char *compress = json_str(cfg, "compress"), *max_file = json_str(cfg, "max-file");
        if (compress && go_parse_bool(compress) == 1 && (!json_str(cfg, "max-size") || !max_file || atoll(max_file) < 2)) {
                json_decref(cfg);
                return berr_set(err, EINVAL, "failed to initialize logging driver: compress cannot be true when "
                                "max-file is less than 2 or max-size is not set");
        }
        json_object_set_new(hc, "LogConfig", json_pack("{s:s,s:o}", "Type", type, "Config", cfg));
        return 0;
}

static int validate_restart_policy(json_t *hc, BerthError **err)
{
        json_t *rp = json_object_get(hc, "RestartPolicy");
        if (!json_is_object(rp)) {
                rp = json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0);
                json_object_set_new(hc, "RestartPolicy", rp);
        }
        const char *name = json_str(rp, "Name");
        if (!name || !*name) {
                json_object_set_new(rp, "Name", json_string("no"));
                name = "no";
        }
        if (!streq(name, "no") && !streq(name, "always") && !streq(name, "on-failure") &&
            !streq(name, "unless-stopped"))
                return berr_set(err, EINVAL, "invalid restart policy '%s'", name);
        long long max = json_int(rp, "MaximumRetryCount", 0);
        if (max < 0)
                return berr_set(err, EINVAL, "maximum retry count cannot be negative");
        if (max > 0 && !streq(name, "on-failure"))
                return berr_set(err, EINVAL, "maximum retry count cannot be used with restart policy '%s'", name);
        if (json_bool(hc, "AutoRemove") && !streq(name, "no"))
                return berr_set(err, EINVAL, "can't create 'AutoRemove' container with restart policy");
        return 0;
}

static bool device_mode_ok(const char *m)
{
        if (!*m || strlen(m) > 3)
                return false;
        for (const char *p = m; *p; p++)
                if ((*p != 'r' && *p != 'w' && *p != 'm') || strchr(p + 1, *p))
                        return false;
        return true;
}

/* "type major:minor access", Docker's deviceCgroupRuleRegex: ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
static bool device_rule_ok(const char *s)
{
        if (!s || (s[0] != 'a' && s[0] != 'b' && s[0] != 'c') || s[1] != ' ')
                return false;
        const char *p = s + 2;
        for (int part = 0; part < 2; part++) {
                if (*p == '*')
                        p++;
                else if (*p >= '0' && *p <= '9')
                        while (*p >= '0' && *p <= '9')
                                p++;
                else
                        return false;
                if (*p++ != (part == 0 ? ':' : ' '))
                        return false;
        }
        return strspn(p, "rwm") == strlen(p) && *p && strlen(p) <= 3;
}

static int validate_devices(json_t *hc, BerthError **err)
{
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(hc, "Devices"), i, d) {
                const char *host = json_str(d, "PathOnHost"), *perm = json_str(d, "CgroupPermissions");
                const char *in = json_str(d, "PathInContainer");
                if (!json_is_object(d) || !host || !*host)
                        return berr_set(err, EINVAL, "invalid device: PathOnHost is required");
                if (in && *in && in[0] != '/')
                        return berr_set(err, EINVAL, "invalid device path in container: %s", in);
                if (perm && *perm && !device_mode_ok(perm))
                        return berr_set(err, EINVAL, "invalid device mode: %s", perm);
        }
        json_array_foreach(json_object_get(hc, "DeviceCgroupRules"), i, d)
                if (!device_rule_ok(json_string_value(d)))
                        return berr_set(err, EINVAL, "invalid device cgroup rule format: '%s'",
                                        json_string_value(d));
        return 0;
}

/* ---- security options and namespaces: each is honoured or refused, never ignored ---- */

/* "seccomp=<profile JSON>" as the docker CLI sends it, "seccomp=unconfined", "apparmor=...", ... */
static int validate_security_opts(json_t *hc, BerthError **err)
{
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
                const char *opt = json_string_value(v);
                if (streq(opt, "no-new-privileges") || streq(opt, "disable"))
                        continue;
                const char *sep = strchr(opt, '=');
                if (!sep)
                        sep = strchr(opt, ':');
                if (!sep)
                        return berr_set(err, EINVAL, "invalid --security-opt 1: \"%s\"", opt);
                _cleanup_free_ char *key = xstrndup(opt, (size_t) (sep - opt));
                const char *val = sep + 1;
                if (streq(key, "no-new-privileges")) {
                        if (!streq(val, "true") && !streq(val, "false") && !streq(val, "1") && !streq(val, "0"))
                                return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
                } else if (streq(key, "seccomp")) {
                        if (streq(val, "unconfined") || streq(val, "builtin"))
                                continue;
                        _cleanup_berr_ BerthError *perr = NULL;
                        if (rt_seccomp_check_profile(val, &perr) < 0)
                                return berr_set(err, EINVAL, "Decoding seccomp profile failed: %s",
                                                perr ? perr->msg : "invalid profile");
                } else if (streq(key, "label")) {
                        if (!streq(val, "disable"))
                                return berr_set(err, EINVAL,
                                                "SELinux is not supported by this daemon: --security-opt \"%s\" "
                                                "cannot be honoured (only label=disable)", opt);
                } else if (streq(key, "apparmor")) {
                        if (!streq(val, "unconfined"))
                                return berr_set(err, EINVAL,
                                                "AppArmor is not supported by this daemon: --security-opt \"%s\" "
                                                "cannot be honoured (only apparmor=unconfined)", opt);
                } else if (streq(key, "systempaths")) {
                        if (!streq(val, "unconfined"))
                                return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
                } else
                        return berr_set(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
        }
        return 0;
}

static bool sysctl_namespaced(const char *k, bool *net, bool *ipc)
{
        static const char *const ipc_exact[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                                 "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                                 "kernel.shm_rmid_forced" };
        *net = startswith(k, "net.");
        *ipc = startswith(k, "fs.mqueue.");
        for (size_t i = 0; i < ELEMENTSOF(ipc_exact); i++)
                if (streq(k, ipc_exact[i]))
                        *ipc = true;
        return *net || *ipc;
}

static int validate_sysctls(json_t *hc, BerthError **err)
{
        const char *k;
        json_t *v;
        const char *net = json_str(hc, "NetworkMode"), *ipcm = json_str(hc, "IpcMode");
        json_object_foreach(json_object_get(hc, "Sysctls"), k, v) {
                bool is_net, is_ipc;
                if (!json_is_string(v))
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                        "HostConfig.Sysctls of type string", json_is_number(v) ? "number" : "value");
                if (!sysctl_namespaced(k, &is_net, &is_ipc) || strchr(k, '/') || strstr(k, ".."))
                        return berr_set(err, EINVAL, "sysctl '%s' is not whitelisted", k);
                if (is_net && net && (streq(net, "host") || startswith(net, "container:")))
                        return berr_set(err, EINVAL, "sysctl \"%s\" not allowed in host network namespace", k);
                if (is_ipc && ipcm && streq(ipcm, "host"))
                        return berr_set(err, EINVAL, "sysctl \"%s\" not allowed in host IPC namespace", k);
        }
        return 0;
}

static const char *const ulimit_names[] = { "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                                             "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending",
                                             "stack", NULL };

static int validate_ulimits(json_t *hc, BerthError **err)
{
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(hc, "Ulimits"), i, u) {
                const char *name = json_str(u, "Name");
                bool known = false;
                for (size_t k = 0; name && ulimit_names[k]; k++)
                        known = known || streq(name, ulimit_names[k]);
                if (!known)
                        return berr_set(err, EINVAL, "invalid ulimit type: %s", name ? name : "");
                long long soft = json_int(u, "Soft", 0), hard = json_int(u, "Hard", 0);
                if (soft > hard && hard != -1)
                        return berr_set(err, EINVAL, "ulimit soft limit must be less than or equal to hard limit: "
                                        "%lld > %lld", soft, hard);
        }
        return 0;
}

/* HostConfig.Tmpfs; Binds, Mounts and VolumesFrom are checked as they are resolved (engine/mountpoints.c). */
static int validate_mounts(json_t *hc, BerthError **err)
{
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
                if (k[0] != '/')
                        return berr_set(err, EINVAL, "invalid mount config for type \"tmpfs\": invalid mount path: "
                                        "'%s' mount path must be absolute", k);
                if (!json_is_string(v))
                        return berr_set(err, EINVAL, "json: cannot unmarshal value into Go struct field "
                                        "HostConfig.Tmpfs of type string");
        }
        return 0;
}

static int validate_namespaces(json_t *hc, BerthError **err)
{
        const char *userns = json_str(hc, "UsernsMode"), *pid = json_str(hc, "PidMode");
        const char *ipc = json_str(hc, "IpcMode"), *uts = json_str(hc, "UTSMode");
        if (userns && *userns && !streq(userns, "host"))
                return berr_set(err, EINVAL, "user namespaces are not supported: --userns=%s", userns);
        if (pid && *pid && !streq(pid, "host")) {
                if (startswith(pid, "container:"))
                        return berr_set(err, EINVAL, "sharing the PID namespace of another container (--pid=%s) "
                                        "is not supported", pid);
                return berr_set(err, EINVAL, "invalid PID mode: %s", pid);
        }
        if (ipc && *ipc && !streq(ipc, "host") && !streq(ipc, "private") && !streq(ipc, "shareable")) {
                if (startswith(ipc, "container:"))
                        return berr_set(err, EINVAL, "sharing the IPC namespace of another container (--ipc=%s) "
                                        "is not supported", ipc);
                if (streq(ipc, "none"))
                        return berr_set(err, EINVAL, "--ipc=none is not supported");
                return berr_set(err, EINVAL, "invalid IPC mode: %s", ipc);
        }
        if (uts && *uts && !streq(uts, "host"))
                return berr_set(err, EINVAL, "invalid UTS mode: %s", uts);
        return 0;
}

int container_create(Engine *e, const char *name, json_t *body, char **ret_id, json_t **ret_warnings,
                     BerthError **err)
{
        int r;
        if (name && *name && !container_name_valid(name))
                return berr_set(err, EINVAL,
                                "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
        if (!body)
                return berr_set(err, EINVAL, "Config cannot be empty in order to create a container");
        r = config_fields_check(body, CONFIG_SECTION_CONFIG, "ContainerConfigWrapper", err);
        if (r == 0)
                r = config_fields_refuse(body, CONFIG_SECTION_CONFIG, "Config", err);
        if (r < 0)
                return r;
        const char *stopsig = json_str(body, "StopSignal");
        if (stopsig && *stopsig && signal_from_string(stopsig) < 0)
                return berr_set(err, EINVAL, "Invalid signal: %s", stopsig);
        json_t *hcin = json_object_get(body, "HostConfig");
        if (hcin && !json_is_null(hcin) && !json_is_object(hcin))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                "ContainerConfigWrapper.HostConfig of type container.HostConfig", json_kind(hcin));
        if (json_is_object(hcin)) {
                r = config_fields_check(hcin, CONFIG_SECTION_HOST, "HostConfig", err);
                if (r == 0)
                        r = config_fields_refuse(hcin, CONFIG_SECTION_HOST, "HostConfig", err);
                if (r < 0)
                        return r;
        }
        json_t *ncin = json_object_get(body, "NetworkingConfig");
        if (ncin && !json_is_null(ncin) && !json_is_object(ncin))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                "ContainerConfigWrapper.NetworkingConfig", json_kind(ncin));
        const char *image = json_str(body, "Image");
        if (!image || !*image)
                return berr_set(err, EINVAL, "Config cannot be empty in order to create a container");
        /* checked before the image is looked up, as dockerd's verifyContainerSettings */
        _cleanup_json_ json_t *health = json_deep_copy(json_object_get(body, "Healthcheck"));
        r = health_config_check(health, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *image_id = NULL;
        r = image_resolve(e->images, image, &image_id, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *icfg = NULL;
        r = image_get_config(e->images, image_id, &icfg, err);
        if (r < 0)
                return r;

        /* Config: every key of the body except the wrapper's own. */
        _cleanup_json_ json_t *uc = json_deep_copy(body);
        json_object_del(uc, "HostConfig");
        json_object_del(uc, "NetworkingConfig");
        json_object_del(uc, "Platform");
        merge_image_config(uc, json_object_get(icfg, "config"));
        merge_command(uc, json_object_get(icfg, "config"));
        json_t *hmerged = health_config_merge(json_is_object(health) ? health : NULL,
                                              json_object_get(json_object_get(icfg, "config"), "Healthcheck"));
        if (hmerged)
                json_object_set_new(uc, "Healthcheck", hmerged);
        else
                json_object_del(uc, "Healthcheck");
        json_t *ep = json_object_get(uc, "Entrypoint");
        json_t *cmd = json_object_get(uc, "Cmd");
        if (!json_array_size(ep) && !json_array_size(cmd))
                return berr_set(err, EINVAL, "No command specified");

        char id[65];
        r = random_hex_id(id);
        if (r < 0)
                return berr_from_errno(err, r, "cannot generate container id");
        if (str_empty(uc, "Hostname")) {
                /* Docker's default: the host's name on the host network, else the short id */
                char h[HOST_NAME_MAX + 1] = "";
                if (streq(json_str(hcin, "NetworkMode") ?: "", "host")) {
                        if (gethostname(h, sizeof(h)) < 0)
                                return berr_set(err, errno, "cannot read the host name: %s", go_strerror(errno));
                        h[HOST_NAME_MAX] = 0;
                } else {
                        memcpy(h, id, 12);
                        h[12] = 0;
                }
                json_object_set_new(uc, "Hostname", json_string(h));
        }
        const char *strs[] = { "Domainname", "User", "WorkingDir" };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                if (!json_is_string(json_object_get(uc, strs[i])))
                        json_object_set_new(uc, strs[i], json_string(""));
        const char *bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce" };
        for (size_t i = 0; i < ELEMENTSOF(bools); i++)
                if (!json_is_boolean(json_object_get(uc, bools[i])))
                        json_object_set_new(uc, bools[i], json_false());
        if (!json_object_get(uc, "Volumes"))
                json_object_set_new(uc, "Volumes", json_null());
        if (!json_object_get(uc, "OnBuild"))
                json_object_set_new(uc, "OnBuild", json_null());
        json_object_set_new(uc, "Image", json_string(image));

        json_t *hc = json_is_object(hcin) ? json_deep_copy(hcin) : json_object();
        _cleanup_json_ json_t *hc_owner = hc;
        r = validate_restart_policy(hc, err);
        if (r < 0)
                return r;
        r = validate_log_config(hc, err);
        if (r < 0)
                return r;
        r = validate_devices(hc, err);
        if (r == 0)
                r = validate_security_opts(hc, err);
        if (r == 0)
                r = validate_namespaces(hc, err);
        if (r == 0)
                r = validate_sysctls(hc, err);
        if (r == 0)
                r = validate_ulimits(hc, err);
        if (r == 0)
                r = validate_mounts(hc, err);
        _cleanup_json_ json_t *warnings = json_array();
        if (r == 0)
                r = container_resources_verify(hc, false, warnings, err);
        if (r < 0)
                return r;
        container_resources_defaults(hc);
        /* the keys the engine acts on are recorded with their defaults (config-fields.c); inspect fills the rest */
        set_default(hc, "NetworkMode", config_field_default(CONFIG_SECTION_HOST, "NetworkMode"));
        json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
        if (shm <= 0)
                json_object_set_new(hc, "ShmSize", config_field_default(CONFIG_SECTION_HOST, "ShmSize"));
        set_default(hc, "IpcMode", config_field_default(CONFIG_SECTION_HOST, "IpcMode"));
        const char *cgns = json_str(hc, "CgroupnsMode");
        if (cgns && streq(cgns, "host"))
                return berr_set(err, EINVAL, "HostConfig.CgroupnsMode=host is not supported by berth: every container "
                                "has its own cgroup namespace");
        if (cgns && *cgns && !streq(cgns, "private"))
                return berr_set(err, EINVAL, "invalid cgroup namespace mode: %s", cgns);
        set_default(hc, "CgroupnsMode", config_field_default(CONFIG_SECTION_HOST, "CgroupnsMode"));
        /* as dockerd: the daemon's default runtime when none is named, an unknown name refused */
        set_default(hc, "Runtime", json_string("runc")); /* Docker's default name; berth-monitor runs it */
        if (!engine_runtime_known(json_str(hc, "Runtime") ?: ""))
                return berr_set(err, EINVAL, "unknown or invalid runtime name: %s", json_str(hc, "Runtime") ?: "");
        if (!json_is_boolean(json_object_get(hc, "AutoRemove")))
                json_object_set_new(hc, "AutoRemove", json_false());
        if (!json_is_array(json_object_get(hc, "MaskedPaths")) && !json_bool(hc, "Privileged"))
                json_object_set_new(hc, "MaskedPaths", json_strv((char *const *) rt_default_masked_paths));
        if (!json_is_array(json_object_get(hc, "ReadonlyPaths")) && !json_bool(hc, "Privileged"))
                json_object_set_new(hc, "ReadonlyPaths", json_strv((char *const *) rt_default_readonly_paths));

        size_t si;
        json_t *so;
        json_array_foreach(json_object_get(hc, "SecurityOpt"), si, so) {
                const char *o = json_string_value(so);
                if (streq(o, "systempaths=unconfined") || streq(o, "systempaths:unconfined")) {
                        json_object_set_new(hc, "MaskedPaths", json_array());
                        json_object_set_new(hc, "ReadonlyPaths", json_array());
                }
        }

        /* Path and Args: Entrypoint + Cmd. */
        json_t *argv = json_array();
        if (json_is_array(ep))
                json_array_extend(argv, ep);
        if (json_is_array(cmd))
                json_array_extend(argv, cmd);
        json_t *path = json_incref(json_array_get(argv, 0));
        json_array_remove(argv, 0);

        Container *c = container_new();
        if (!c) {
                json_decref(argv);
                json_decref(path);
                return berr_set(err, ENOMEM, "out of memory");
        }
        _cleanup_container_ Container *cref = c;
        memcpy(c->id, id, 65);
        c->image_id = strdup(image_id);
        c->created = now_ns();
        c->status = CSTATUS_CREATED;
        c->config = json_pack("{s:O,s:O,s:O,s:o,s:o,s:s}", "Config", uc, "HostConfig", hc, "NetworkingConfig",
                              json_is_object(ncin) ? ncin : json_null(), "Path", path, "Args", argv, "Platform",
                              "linux");

        /* Last of the checks: it creates the volumes the container names. */
        json_t *mps = NULL;
        r = mountpoints_resolve(e, uc, hc, &mps, err);
        if (r < 0)
                return r;
        json_object_set_new(c->config, "MountPoints", mps);

        _cleanup_free_ char *dir = container_dir(e, id);
        r = mkdir_p(dir, 0710);
        if (r < 0) {
                mountpoints_remove_anonymous(e, c);
                return berr_set(err, -r, "cannot create %s: %s", dir, strerror(-r));
        }

        pthread_mutex_lock(&e->lock);
        if (name && *name) {
                const char *n = name[0] == '/' ? name + 1 : name;
                Container *other = NULL;
                ContainerTable *t = e->containers;
                for (size_t i = 0; t && i < t->n; i++)
                        if (streq(t->v[i]->name, n))
                                other = t->v[i];
                if (other) {
                        r = berr_set(err, EEXIST,
                                     "Conflict. The container name \"/%s\" is already in use by container \"%s\". You "
                                     "have to remove (or rename) that container to be able to reuse that name.",
                                     n, other->id);
                        pthread_mutex_unlock(&e->lock);
                        rm_rf(dir);
                        mountpoints_remove_anonymous(e, c);
                        return r;
                }
                c->name = strdup(n);
        } else
                c->name = container_generate_name(e);
        r = links_normalize_locked(e, c, err);
        if (r < 0) {
                pthread_mutex_unlock(&e->lock);
                rm_rf(dir);
                mountpoints_remove_anonymous(e, c);
                return r;
        }
        /* A crash before the row is written leaves a directory without a row: the reconciler removes it. */
        crash_point("create-before-record");
        r = container_save(e, c);
        if (r == 0)
                r = container_table_add(e, c);
        if (r == 0)
                events_container_locked(e, c, "create", NULL);
        pthread_mutex_unlock(&e->lock);
        if (r < 0) {
                rm_rf(dir);
                mountpoints_remove_anonymous(e, c);
                return berr_set(err, -r, "cannot record container: %s", strerror(-r));
        }
        *ret_id = strdup(id);
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(warnings);
        return 0;
}
