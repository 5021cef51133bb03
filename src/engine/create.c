/* POST /containers/create: validates the body, merges the image config in
 * (moby daemon/commit.go merge rules), and records the container. */
#include <string.h>
#include <sys/stat.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "engine/events.h"
#include "engine/links.h"
#include "image/image.h"

enum { T_STR = JT_STR, T_BOOL = JT_BOOL, T_INT = JT_INT, T_OBJ = JT_OBJ, T_STRV = JT_STRV, T_ARR = JT_ARR };

typedef JsonFieldType FieldType;

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

static int check_types(json_t *obj, const FieldType *f, size_t n, const char *structname, BerthError **err)
{
        const FieldType *bad = json_check_fields(obj, f, n);
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field %s.%s",
                                json_kind(json_object_get(obj, bad->key)), structname, bad->key);
        return 0;
}

/* Cmd/Entrypoint may be a string (shell form, old clients): Docker treats a
 * plain string as one argv element. */
static json_t *strv_of(json_t *v)
{
        if (json_is_string(v))
                return json_pack("[O]", v);
        if (json_is_array(v) && json_array_size(v) > 0)
                return json_incref(v);
        return NULL;
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
        /* Entrypoint/Cmd: a user Entrypoint drops the image's Cmd. */
        json_t *uep = strv_of(json_object_get(uc, "Entrypoint"));
        json_t *ucmd = strv_of(json_object_get(uc, "Cmd"));
        if (!uep) {
                if (!ucmd)
                        ucmd = strv_of(json_object_get(ic, "Cmd"));
                uep = strv_of(json_object_get(ic, "Entrypoint"));
        }
        json_object_set_new(uc, "Entrypoint", uep ? uep : json_null());
        json_object_set_new(uc, "Cmd", ucmd ? ucmd : json_null());
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

/* Docker refuses a bind whose container path is not absolute when the container is created; berth
 * used to take it and fail the start with a 500. Same split as the start's (empty parts skipped). */
static int validate_binds(json_t *hc, BerthError **err)
{
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(hc, "Binds"), i, b) {
                const char *s = json_string_value(b);
                _cleanup_strv_free_ char **parts = NULL;
                _cleanup_free_ char *copy = xstrdup(s);
                char *save = NULL;
                for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
                        strv_extend(&parts, t);
                size_t n = strv_length(parts);
                if (n < 2 || n > 3)
                        return berr_set(err, EINVAL, "invalid volume specification: '%s'", s);
                if (parts[1][0] != '/')
                        return berr_set(err, EINVAL, "invalid volume specification: '%s': invalid mount config for "
                                        "type \"bind\": invalid mount path: '%s' mount path must be absolute", s,
                                        parts[1]);
        }
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
        r = image_resolve(e, image, &image_id, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *icfg = NULL;
        r = image_get_config(e, image_id, &icfg, err);
        if (r < 0)
                return r;

        /* Config: every key of the body except the wrapper's own. */
        _cleanup_json_ json_t *uc = json_deep_copy(body);
        json_object_del(uc, "HostConfig");
        json_object_del(uc, "NetworkingConfig");
        json_object_del(uc, "Platform");
        merge_image_config(uc, json_object_get(icfg, "config"));
        json_t *ep = json_object_get(uc, "Entrypoint");
        json_t *cmd = json_object_get(uc, "Cmd");
        if (!json_array_size(ep) && !json_array_size(cmd))
                return berr_set(err, EINVAL, "No command specified");

        char id[65];
        r = random_hex_id(id);
        if (r < 0)
                return berr_from_errno(err, r, "cannot generate container id");
        if (str_empty(uc, "Hostname")) {
                char h[13];
                memcpy(h, id, 12);
                h[12] = 0;
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
        r = validate_binds(hc, err);
        if (r < 0)
                return r;
        json_t *lc = json_object_get(hc, "LogConfig");
        if (!json_is_object(lc) || str_empty(lc, "Type"))
                json_object_set_new(hc, "LogConfig", json_pack("{s:s,s:{}}", "Type", "json-file", "Config"));
        else if (!streq(json_str(lc, "Type"), "json-file"))
                return berr_set(err, EINVAL, "logging driver \"%s\" is not supported", json_str(lc, "Type"));
        set_default(hc, "NetworkMode", json_string("default"));
        json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
        if (shm <= 0)
                json_object_set_new(hc, "ShmSize", json_integer(67108864));
        set_default(hc, "IpcMode", json_string("private"));
        set_default(hc, "CgroupnsMode", json_string("host"));
        set_default(hc, "Runtime", json_string("runc"));
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
