/* Config and HostConfig keys as Docker's Go structs declare them (api/types/container), in their order,
 * with the values an unset key shows in inspect. */
#include "config-fields.h"

#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"

enum { S = JT_STR, B = JT_BOOL, I = JT_INT, O = JT_OBJ, SV = JT_STRV, A = JT_ARR, SM = JT_STRMAP };

/* refused: berth does not implement it. Every other key is honoured, or (ContainerIDFile, OnBuild,
 * Shell, ArgsEscaped) has no effect on a Linux container in Docker either and is only recorded. */
static const ConfigField host_fields[] = {
        { "Binds", SV, "null" },
        { "ContainerIDFile", S, "\"\"" },
        { "LogConfig", O, "{\"Type\":\"json-file\",\"Config\":{}}" },
        { "NetworkMode", S, "\"default\"" },
        { "PortBindings", O, "null" },
        { "RestartPolicy", O, "{\"Name\":\"\",\"MaximumRetryCount\":0}" },
        { "AutoRemove", B, "false" },
        { "VolumeDriver", S, "\"\"" },
        { "VolumesFrom", SV, "null" },
        { "ConsoleSize", A, "[0,0]" },
        { "Annotations", SM, NULL, .refused = true, .since = 43 },
        { "CapAdd", SV, "null" },
        { "CapDrop", SV, "null" },
        /* berth gives every container its own cgroup namespace; dockerd shows the key at every version */
        { "CgroupnsMode", S, "\"private\"" },
        { "Dns", SV, "null" },
        { "DnsOptions", SV, "null" },
        { "DnsSearch", SV, "null" },
        { "ExtraHosts", SV, "null" },
        { "GroupAdd", SV, "null" },
        { "IpcMode", S, "\"private\"" },
        { "Cgroup", S, "\"\"", .refused = true },
        { "Links", SV, "null" },
        { "OomScoreAdj", I, "0" },
        { "PidMode", S, "\"\"" },
        { "Privileged", B, "false" },
        { "PublishAllPorts", B, "false" },
        { "ReadonlyRootfs", B, "false" },
        { "SecurityOpt", SV, "null" },
        { "StorageOpt", SM, NULL, .refused = true },
        { "Tmpfs", O, NULL },
        { "UTSMode", S, "\"\"" },
        { "UsernsMode", S, "\"\"" },
        { "ShmSize", I, "67108864" },
        { "Sysctls", O, NULL },
        { "Runtime", S, NULL },
        /* Windows' isolation technologies; Linux knows only the default */
        { "Isolation", S, "\"\"", .refused = true, .also = "\"default\"" },
        /* Resources */
        { "CpuShares", I, "0" },
        { "Memory", I, "0" },
        { "NanoCpus", I, "0" },
        /* every container's cgroup is berth/<id> */
        { "CgroupParent", S, "\"\"", .refused = true },
        { "BlkioWeight", I, "0" },
        { "BlkioWeightDevice", A, "null" },
        { "BlkioDeviceReadBps", A, "null" },
        { "BlkioDeviceWriteBps", A, "null" },
        { "BlkioDeviceReadIOps", A, "null" },
        { "BlkioDeviceWriteIOps", A, "null" },
        { "CpuPeriod", I, "0" },
        { "CpuQuota", I, "0" },
        { "CpuRealtimePeriod", I, "0" },
        { "CpuRealtimeRuntime", I, "0" },
        { "CpusetCpus", S, "\"\"" },
        { "CpusetMems", S, "\"\"" },
        { "Devices", A, "null" },
        { "DeviceCgroupRules", SV, "null" },
        /* device drivers (GPUs, CDI) */
        { "DeviceRequests", A, "null", .refused = true },
        { "KernelMemory", I, "0", .until = 52, .omitempty_since = 42 },
        /* the kernel's TCP buffer limit (cgroup v1 only, gone from the API in 1.52) */
        { "KernelMemoryTCP", I, "0", .refused = true, .until = 52, .omitempty_since = 42 },
        { "MemoryReservation", I, "0" },
        { "MemorySwap", I, "0" },
        { "MemorySwappiness", I, "null" },
        { "OomKillDisable", B, "false" },
        { "PidsLimit", I, "null" },
        { "Ulimits", A, "null" },
        /* Windows only, like CpuPercent (which the resource checks discard with dockerd's warning) */
        { "CpuCount", I, "0", .refused = true },
        { "CpuPercent", I, "0" },
        /* Windows only: the resource checks refuse them with dockerd's "Invalid QoS settings" */
        { "IOMaximumIOps", I, "0" },
        { "IOMaximumBandwidth", I, "0" },
        /* the rest of HostConfig */
        { "Mounts", A, NULL },
        { "MaskedPaths", SV, "null" },
        { "ReadonlyPaths", SV, "null" },
        { "Init", B, NULL },
};

static const ConfigField config_fields_[] = {
        { "Hostname", S, "\"\"" },
        { "Domainname", S, "\"\"" },
        { "User", S, "\"\"" },
        { "AttachStdin", B, "false" },
        { "AttachStdout", B, "false" },
        { "AttachStderr", B, "false" },
        { "ExposedPorts", O, NULL },
        { "Tty", B, "false" },
        { "OpenStdin", B, "false" },
        { "StdinOnce", B, "false" },
        { "Env", SV, "null" },
        { "Cmd", SV | S, "null" },
        { "Healthcheck", O, NULL },
        { "ArgsEscaped", B, NULL },
        { "Image", S, "\"\"" },
        { "Volumes", O, "null" },
        { "WorkingDir", S, "\"\"" },
        { "Entrypoint", SV | S, "null" },
        { "NetworkDisabled", B, NULL, .refused = true },
        { "MacAddress", S, NULL, .until = 52 },
        { "OnBuild", SV, "null", .omitempty_since = 52 },
        { "Labels", O, "null" },
        { "StopSignal", S, NULL },
        { "StopTimeout", I, NULL },
        { "Shell", SV, NULL },
};

const ConfigField *config_fields(ConfigSection s, size_t *ret_n)
{
        if (s == CONFIG_SECTION_HOST) {
                *ret_n = ELEMENTSOF(host_fields);
                return host_fields;
        }
        *ret_n = ELEMENTSOF(config_fields_);
        return config_fields_;
}

const ConfigField *config_field_find(ConfigSection s, const char *key)
{
        size_t n;
        const ConfigField *f = config_fields(s, &n);
        for (size_t i = 0; i < n; i++)
                if (streq(f[i].key, key))
                        return &f[i];
        return NULL;
}

static json_t *parse_default(const char *text)
{
        json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        return v ? v : json_null();
}

json_t *config_field_default(ConfigSection s, const char *key)
{
        const ConfigField *f = config_field_find(s, key);
        return parse_default(f ? f->dflt : NULL);
}

/* The zero values Go's decoder leaves in an unset field, which clients send for "not set". */
static bool is_empty(json_t *v)
{
        return !v || json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
               (json_is_string(v) && !*json_string_value(v)) || (json_is_array(v) && json_array_size(v) == 0) ||
               (json_is_object(v) && json_object_size(v) == 0);
}

static bool is_default(const ConfigField *f, json_t *v)
{
        if (is_empty(v))
                return true;
        _cleanup_json_ json_t *d = parse_default(f->dflt);
        _cleanup_json_ json_t *also = parse_default(f->also);
        return json_equal(v, d) || (f->also && json_equal(v, also));
}

int config_fields_refuse(json_t *obj, ConfigSection s, const char *structname, BerthError **err)
{
        size_t n;
        const ConfigField *f = config_fields(s, &n);
        for (size_t i = 0; json_is_object(obj) && i < n; i++)
                if (f[i].refused && !is_default(&f[i], json_object_get(obj, f[i].key)))
                        return berr_set(err, EINVAL, "%s.%s is not supported by berth", structname, f[i].key);
        return 0;
}

int config_fields_check(json_t *obj, ConfigSection s, const char *structname, BerthError **err)
{
        size_t n;
        const ConfigField *f = config_fields(s, &n);
        for (size_t i = 0; json_is_object(obj) && i < n; i++) {
                json_t *v = json_object_get(obj, f[i].key);
                JsonFieldType t = { f[i].key, f[i].types };
                if (v && json_check_fields(obj, &t, 1))
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field %s.%s",
                                        json_kind(v), structname, f[i].key);
        }
        return 0;
}

json_t *config_fields_filled(json_t *stored, ConfigSection s)
{
        size_t n;
        const ConfigField *f = config_fields(s, &n);
        json_t *out = json_object();
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(stored, f[i].key);
                if (v)
                        json_object_set_new(out, f[i].key, json_deep_copy(v));
                else if (f[i].dflt)
                        json_object_set_new(out, f[i].key, parse_default(f[i].dflt));
        }
        const char *k;
        json_t *v;
        json_object_foreach(stored, k, v) if (!json_object_get(out, k)) json_object_set_new(out, k, json_deep_copy(v));
        return out;
}

void config_fields_shape(json_t *obj, ConfigSection s, int ver)
{
        size_t n;
        const ConfigField *f = config_fields(s, &n);
        for (size_t i = 0; json_is_object(obj) && i < n; i++) {
                json_t *v = json_object_get(obj, f[i].key);
                if (!v)
                        continue;
                if ((f[i].since && ver < f[i].since) || (f[i].until && ver >= f[i].until) ||
                    (f[i].omitempty_since && ver >= f[i].omitempty_since && is_default(&f[i], v)))
                        json_object_del(obj, f[i].key);
        }
}
