/* POST /containers/create: validates the body, merges the image config in
 * (moby daemon/commit.go merge rules), and records the container. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "state/events.h"
#include "engine/links.h"
#include "engine/system.h"
#include "image/image.h"

enum { T_STR = 1, T_BOOL = 2, T_INT = 4, T_OBJ = 8, T_STRV = 16, T_ARR = 32 };

typedef struct {
        const char *key;
        int types;
} FieldType;

static const FieldType config_fields[] = {
        { "Hostname", T_STR }, { "Domainname", T_STR }, { "User", T_STR }, { "AttachStdin", T_BOOL },
        { "AttachStdout", T_BOOL }, { "AttachStderr", T_BOOL }, { "Tty", T_BOOL }, { "OpenStdin", T_BOOL },
        { "StdinOnce", T_BOOL }, { "Env", T_STRV }, { "Cmd", T_STRV | T_STR }, { "Entrypoint", T_STRV | T_STR },
        { "Image", T_STR }, { "Volumes", T_OBJ }, { "WorkingDir", T_STR }, { "Labels", T_OBJ },
        { "StopSignal", T_STR }, { "StopTimeout", T_INT }, { "ExposedPorts", T_OBJ }, { "NetworkDisabled", T_BOOL },
        { "MacAddress", T_STR }, { "OnBuild", T_STRV }, { "Shell", T_STRV }, { "Healthcheck", T_OBJ },
        { "ArgsEscaped", T_BOOL },
};

static const FieldType host_fields[] = {
        { "Binds", T_STRV }, { "ContainerIDFile", T_STR }, { "LogConfig", T_OBJ }, { "NetworkMode", T_STR },
        { "PortBindings", T_OBJ }, { "RestartPolicy", T_OBJ }, { "AutoRemove", T_BOOL }, { "VolumeDriver", T_STR },
        { "VolumesFrom", T_STRV }, { "CapAdd", T_STRV }, { "CapDrop", T_STRV }, { "Dns", T_STRV },
        { "DnsOptions", T_STRV }, { "DnsSearch", T_STRV }, { "ExtraHosts", T_STRV }, { "GroupAdd", T_STRV },
        { "IpcMode", T_STR }, { "Links", T_STRV }, { "OomScoreAdj", T_INT }, { "PidMode", T_STR },
        { "Privileged", T_BOOL }, { "PublishAllPorts", T_BOOL }, { "ReadonlyRootfs", T_BOOL },
        { "SecurityOpt", T_STRV }, { "UTSMode", T_STR }, { "UsernsMode", T_STR }, { "ShmSize", T_INT },
        { "Memory", T_INT }, { "CpuShares", T_INT }, { "NanoCpus", T_INT }, { "PidsLimit", T_INT },
        { "Init", T_BOOL }, { "MaskedPaths", T_STRV }, { "ReadonlyPaths", T_STRV }, { "Mounts", T_ARR },
        { "Tmpfs", T_OBJ }, { "Sysctls", T_OBJ }, { "Ulimits", T_ARR }, { "ConsoleSize", T_ARR },
        { "CgroupnsMode", T_STR }, { "CgroupParent", T_STR }, { "MemorySwap", T_INT },
};

static const char *json_kind(json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "object";
        case JSON_ARRAY: return "array";
        case JSON_STRING: return "string";
        case JSON_INTEGER:
        case JSON_REAL: return "number";
        case JSON_TRUE:
        case JSON_FALSE: return "bool";
        default: return "null";
        }
}

static bool type_ok(json_t *v, int types)
{
        if (json_is_null(v))
                return true;
        if ((types & T_STR) && json_is_string(v))
                return true;
        if ((types & T_BOOL) && json_is_boolean(v))
                return true;
        if ((types & T_INT) && json_is_integer(v))
                return true;
        if ((types & T_OBJ) && json_is_object(v))
                return true;
        if ((types & T_ARR) && json_is_array(v))
                return true;
        if ((types & T_STRV) && json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
                return true;
        }
        return false;
}

static int check_types(json_t *obj, const FieldType *f, size_t n, const char *structname, BerthError **err)
{
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(obj, f[i].key);
                if (v && !type_ok(v, f[i].types))
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field %s.%s", json_kind(v),
                                        structname, f[i].key);
        }
        return 0;
}

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
        if (!json_object_get(uc, "Volumes") && json_is_object(json_object_get(ic, "Volumes")))
                json_object_set(uc, "Volumes", json_object_get(ic, "Volumes"));
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
        static const char *const json_file_opts[] = { "max-size", "max-file", NULL };
        static const char *const unsupported_opts[] = { "compress", "labels", "labels-regex", "env", "env-regex",
                                                        "tag", NULL };
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
                } else if (parse_ram_bytes(s) < 0)
                        return berr_set(err, EINVAL, "failed to initialize logging driver: invalid value for max-size: "
                                        "%s: invalid size: '%s'", s, s);
        }
        json_t *cfg = json_is_object(opts) ? json_deep_copy(opts) : json_object();
        if (streq(type, "local")) {
                /* Docker's local driver keeps 5 files of 20 MB unless told otherwise */
                if (!json_object_get(cfg, "max-size"))
                        json_object_set_new(cfg, "max-size", json_string("20m"));
                if (!json_object_get(cfg, "max-file"))
                        json_object_set_new(cfg, "max-file", json_string("5"));
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

int container_create(Engine *e, const char *name, json_t *body, char **ret_id, json_t **ret_warnings,
                     BerthError **err)
{
        int r;
        if (name && *name && !container_name_valid(name))
                return berr_set(err, EINVAL,
                                "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
        if (!body)
                return berr_set(err, EINVAL, "Config cannot be empty in order to create a container");
        r = check_types(body, config_fields, ELEMENTSOF(config_fields), "ContainerConfigWrapper", err);
        if (r < 0)
                return r;
        json_t *hcin = json_object_get(body, "HostConfig");
        if (hcin && !json_is_null(hcin) && !json_is_object(hcin))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                "ContainerConfigWrapper.HostConfig of type container.HostConfig", json_kind(hcin));
        if (json_is_object(hcin)) {
                r = check_types(hcin, host_fields, ELEMENTSOF(host_fields), "HostConfig", err);
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
        set_default(hc, "NetworkMode", json_string("default"));
        json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
        if (shm <= 0)
                json_object_set_new(hc, "ShmSize", json_integer(67108864));
        set_default(hc, "IpcMode", json_string("private"));
        set_default(hc, "CgroupnsMode", json_string("host"));
        /* as dockerd: the daemon's default runtime when none is named, an unknown name refused */
        set_default(hc, "Runtime", json_string("berth"));
        if (!engine_runtime_known(json_str(hc, "Runtime") ?: ""))
                return berr_set(err, EINVAL, "unknown or invalid runtime name: %s", json_str(hc, "Runtime") ?: "");
        if (!json_is_boolean(json_object_get(hc, "AutoRemove")))
                json_object_set_new(hc, "AutoRemove", json_false());
        if (!json_is_array(json_object_get(hc, "MaskedPaths")) && !json_bool(hc, "Privileged"))
                json_object_set_new(hc, "MaskedPaths",
                                    json_pack("[ssssssssss]", "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                              "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                              "/proc/sched_debug", "/proc/scsi", "/sys/firmware"));
        if (!json_is_array(json_object_get(hc, "ReadonlyPaths")) && !json_bool(hc, "Privileged"))
                json_object_set_new(hc, "ReadonlyPaths", json_pack("[sssss]", "/proc/bus", "/proc/fs", "/proc/irq",
                                                                    "/proc/sys", "/proc/sysrq-trigger"));

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

        _cleanup_free_ char *dir = container_dir(e, id);
        r = mkdir_p(dir, 0710);
        if (r < 0)
                return berr_set(err, -r, "cannot create %s: %s", dir, strerror(-r));

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
                        return r;
                }
                c->name = strdup(n);
        } else
                c->name = container_generate_name(e);
        r = links_normalize_locked(e, c, err);
        if (r < 0) {
                pthread_mutex_unlock(&e->lock);
                rm_rf(dir);
                return r;
        }
        r = container_save(e, c);
        if (r == 0)
                r = container_table_add(e, c);
        if (r == 0)
                events_container_locked(e, c, "create", NULL);
        pthread_mutex_unlock(&e->lock);
        if (r < 0) {
                rm_rf(dir);
                return berr_set(err, -r, "cannot record container: %s", strerror(-r));
        }
        *ret_id = strdup(id);
        if (ret_warnings)
                *ret_warnings = json_array();
        return 0;
}
