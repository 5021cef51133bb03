/* berthd's option table and the daemon.json parser/merger (see config.h). */
#include "daemon/config.h"

#include <errno.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/util.h"

/* Keys dockerd has and berth does not: refused with the reason, never ignored. */
#define NO(k, why) { .key = k, .type = DOPT_ANY, .unsupported = why }

const DaemonOption daemon_options[] = {
        { "config-file", 0, NULL, DOPT_STRING, "string", DAEMON_CONFIG_FILE, "Daemon configuration file",
          DOPT_NOFILE, NULL, NULL },
        { "validate", 0, NULL, DOPT_BOOL, NULL, NULL, "Validate daemon configuration and exit", DOPT_NOFILE, NULL,
          NULL },
        { "host", 'H', "hosts", DOPT_LIST, "list", NULL,
          "Daemon socket(s) to connect to: unix:///path, tcp://host:port, fd:// (socket activation)", 0, NULL, NULL },
        { "data-root", 0, NULL, DOPT_STRING, "string", "/var/lib/berth", "Root directory of persistent state", 0,
          NULL, NULL },
        { "exec-root", 0, NULL, DOPT_STRING, "string", "/run/berth", "Root directory for execution state files", 0,
          NULL, NULL },
        { "pidfile", 'p', NULL, DOPT_STRING, "string", "<exec-root>/berthd.pid", "Path to use for daemon PID file", 0,
          NULL, NULL },
        { "log-level", 'l', NULL, DOPT_STRING, "string", "info",
          "Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\")", DOPT_RELOAD, NULL, NULL },
        { "debug", 'D', NULL, DOPT_BOOL, NULL, NULL, "Enable debug mode", DOPT_RELOAD, NULL, NULL },
        { "bip", 0, NULL, DOPT_STRING, "string", "172.17.0.1/16", "Specify network bridge IP", 0, NULL, NULL },
        { "group", 'G', NULL, DOPT_STRING, "string", NULL, "Group for the unix socket", 0, NULL, NULL },
        { "insecure-registry", 0, "insecure-registries", DOPT_LIST, "list", NULL,
          "Enable insecure registry communication", DOPT_RELOAD, NULL, NULL },
        { "tls", 0, NULL, DOPT_BOOL, NULL, NULL,
          "Use TLS; implied by --tlsverify (--tls=false: allow plain TCP on a non-loopback address)", 0, NULL, NULL },
        { "tlsverify", 0, NULL, DOPT_BOOL, NULL, NULL, "Use TLS and verify the remote", 0, NULL, NULL },
        { "tlscacert", 0, NULL, DOPT_STRING, "string", NULL, "Trust certs signed only by this CA", 0, NULL, NULL },
        { "tlscert", 0, NULL, DOPT_STRING, "string", NULL, "Path to TLS certificate file", 0, NULL, NULL },
        { "tlskey", 0, NULL, DOPT_STRING, "string", NULL, "Path to TLS key file", 0, NULL, NULL },
        { "userland-proxy", 0, NULL, DOPT_BOOL, NULL, "true", "Use userland proxy for loopback traffic", 0, NULL,
          NULL },
        { "live-restore", 0, NULL, DOPT_BOOL, NULL, "true",
          "Keep containers running while the daemon is down (always on in berth)", 0, "true", NULL },
        { "log-driver", 0, NULL, DOPT_STRING, "string", "json-file",
          "Default driver for container logs (berth has json-file only)", 0, "json-file", NULL },
        { "storage-driver", 's', NULL, DOPT_STRING, "string", "overlay2",
          "Storage driver to use (berth has overlay2 only)", 0, "overlay2", NULL },
        { "docker-socket", 0, NULL, DOPT_BOOL, NULL, "false",
          "Also serve the API on /var/run/docker.sock (refused if a live daemon owns it)", 0, NULL, NULL },
        { "dashboard", 0, NULL, DOPT_BOOL, NULL, "false",
          "Serve the web console at /dashboard/ on every listener (docs/dashboard.md)", 0, NULL, NULL },
        { "discovery", 0, NULL, DOPT_STRING, "string", NULL,
          "Register services in etcd: etcd://host:port[,host:port...]", 0, NULL, NULL },
        { "discovery-advertise", 0, NULL, DOPT_STRING, "string", NULL,
          "Address other hosts reach this one at (default: the source address towards etcd)", 0, NULL, NULL },
        { "discovery-ttl", 0, NULL, DOPT_UINT, "int", "5", "Discovery lease TTL in seconds (2..3600)", 0, NULL,
          NULL },
        { "api-idle-timeout", 0, NULL, DOPT_UINT, "int", "60", "Seconds an idle API connection is kept",
          DOPT_HIDDEN, NULL, NULL },
        { "api-max-connections", 0, NULL, DOPT_UINT, "int", "1000", "Most API connections at once", DOPT_HIDDEN,
          NULL, NULL },
        { "api-max-connections-per-ip", 0, NULL, DOPT_UINT, "int", "256", "Most API connections from one address",
          DOPT_HIDDEN, NULL, NULL },
        { "layer-max-ratio", 0, NULL, DOPT_UINT, "int", "500",
          "Largest decompressed/compressed ratio of an image layer (0: none)", DOPT_HIDDEN, NULL, NULL },
        { "layer-max-size", 0, NULL, DOPT_UINT, "bytes", "0", "Largest decompressed image layer (0: none)",
          DOPT_HIDDEN, NULL, NULL },
        { "min-free-space", 0, NULL, DOPT_UINT, "bytes", "268435456",
          "Free space that must remain in the data root when unpacking", DOPT_HIDDEN, NULL, NULL },
        { "version", 'v', NULL, DOPT_BOOL, NULL, NULL, "Print version information and quit", DOPT_NOFILE, NULL,
          NULL },
        { "help", 'h', NULL, DOPT_BOOL, NULL, NULL, "Print usage", DOPT_NOFILE, NULL, NULL },
        NO("default-address-pools", "berth allocates bridge subnets from a fixed range"),
        NO("registry-mirrors", "berth has no registry mirrors"),
        NO("log-opts", "berth has no daemon-wide log options (set them per container with --log-opt)"),
        NO("default-ulimits", "berth has no daemon-wide ulimits (set them per container with --ulimit)"),
        NO("dns", "berth has no daemon-wide DNS servers (set them per container with --dns)"),
        NO("dns-search", "berth has no daemon-wide DNS search domains (set them per container)"),
        NO("dns-opts", "berth has no daemon-wide DNS options (set them per container)"),
        NO("mtu", "berth has no configurable bridge MTU"),
        NO("cgroup-parent", "berth has no daemon-wide cgroup parent"),
        NO("default-runtime", "berth has its own runtime only"),
        NO("runtimes", "berth has its own runtime only"),
        NO("labels", "berth has no daemon labels"),
        NO("storage-opts", "berth's overlay2 takes no options"),
        NO("exec-opts", "berth takes no exec options"),
        NO("iptables", "berth programs nftables itself"),
        NO("ip-forward", "berth enables forwarding itself"),
        NO("ip-masq", "berth always masquerades bridge traffic"),
        NO("ipv6", "berth has no daemon-wide IPv6 switch"),
        NO("fixed-cidr", "berth has no --fixed-cidr"),
        NO("default-gateway", "berth has no --default-gateway"),
        NO("bridge", "berth manages its own bridge"),
        NO("icc", "berth has no --icc"),
        NO("max-concurrent-downloads", "berth has no download limit"),
        NO("max-concurrent-uploads", "berth has no upload limit"),
        NO("shutdown-timeout", "berth leaves containers running when it stops"),
        NO("userns-remap", "berth has no user namespace remapping"),
        NO("experimental", "berth has no experimental features"),
        NO("features", "berth has no feature switches"),
        NO("metrics-addr", "berth has no metrics endpoint"),
        NO("selinux-enabled", "berth has no SELinux support"),
        NO("seccomp-profile", "berth has no daemon-wide seccomp profile"),
        NO("default-shm-size", "berth has no daemon-wide shm size"),
        NO("no-new-privileges", "berth has no daemon-wide no-new-privileges"),
        NO("init", "berth has no daemon-wide --init"),
        NO("builder", "berth has no builder options"),
        {}
};

const char *daemon_option_key(const DaemonOption *o)
{
        return o->key ? o->key : o->flag;
}

const DaemonOption *daemon_option_by_key(const char *key)
{
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++)
                if (streq(daemon_option_key(o), key))
                        return o;
        return NULL;
}

static int parse_bool(const char *v, bool *ret)
{
        if (!v || streq(v, "true") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "false") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* A value against what berth has: a fixed-value key takes only that value. */
static int check_fixed(const DaemonOption *o, json_t *v, const char *from, BerthError **err)
{
        if (!o->fixed)
                return 0;
        _cleanup_free_ char *s = daemon_config_value_string(v);
        if (streq(s, o->fixed))
                return 0;
        return berr_set(err, EINVAL, "%s%s: %s is not supported by berth (only %s)", from, daemon_option_key(o), s,
                        o->fixed);
}

int daemon_flag_set(json_t *flags, const DaemonOption *o, const char *value, BerthError **err)
{
        const char *key = daemon_option_key(o);
        json_t *v = NULL;
        switch (o->type) {
        case DOPT_BOOL: {
                bool b;
                if (parse_bool(value, &b) < 0) {
                        return berr_set(err, EINVAL, "invalid boolean value \"%s\" for --%s", value, o->flag);
                }
                v = json_boolean(b);
                break;
        }
        case DOPT_UINT: {
                char *end;
                errno = 0;
                unsigned long long n = value ? strtoull(value, &end, 10) : 0;
                if (!value || errno || end == value || *end || *value == '-' || n > (unsigned long long) INT64_MAX) {
                        return berr_set(err, EINVAL, "invalid value \"%s\" for --%s", value ? value : "", o->flag);
                }
                v = json_integer((json_int_t) n);
                break;
        }
        case DOPT_LIST: {
                json_t *a = json_object_get(flags, key);
                if (!a) {
                        a = json_array();
                        json_object_set_new(flags, key, a);
                }
                json_array_append_new(a, json_string(value));
                return 0;
        }
        default:
                v = json_string(value);
        }
        int r = check_fixed(o, v, "--", err);
        if (r < 0) {
                json_decref(v);
                return r;
        }
        json_object_set_new(flags, key, v);
        return 0;
}

static bool type_ok(const DaemonOption *o, json_t *v)
{
        switch (o->type) {
        case DOPT_STRING: return json_is_string(v);
        case DOPT_BOOL: return json_is_boolean(v);
        case DOPT_UINT: return json_is_integer(v) && json_integer_value(v) >= 0;
        case DOPT_LIST: {
                if (!json_is_array(v))
                        return false;
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                        if (!json_is_string(e))
                                return false;
                return true;
        }
        default: return true;
        }
}

static const char *type_name(DaemonOptType t)
{
        switch (t) {
        case DOPT_STRING: return "a string";
        case DOPT_BOOL: return "a boolean";
        case DOPT_UINT: return "a non-negative integer";
        case DOPT_LIST: return "an array of strings";
        default: return "a value";
        }
}

/* Appends s to a ", "-joined list. */
static void list_add(char **list, const char *s)
{
        char *n = *list ? xasprintf("%s, %s", *list, s) : xstrdup(s);
        free(*list);
        *list = n;
}

int daemon_config_parse(const char *text, json_t **ret, BerthError **err)
{
        json_error_t jerr;
        /* An empty file configures nothing, like "{}". */
        if (!text[strspn(text, " \t\r\n")]) {
                *ret = json_object();
                return 0;
        }
        _cleanup_json_ json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                return berr_set(err, EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        }
        if (!json_is_object(j)) {
                return berr_set(err, EINVAL, "the configuration must be a JSON object");
        }
        _cleanup_free_ char *unknown = NULL, *unsupported = NULL;
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
                const DaemonOption *o = daemon_option_by_key(key);
                if (!o || (o->flags & DOPT_NOFILE))
                        list_add(&unknown, key);
                else if (o->unsupported) {
                        _cleanup_free_ char *s = xasprintf("%s (%s)", key, o->unsupported);
                        list_add(&unsupported, s);
                }
        }
        if (unknown) {
                return berr_set(err, EINVAL, "the following directives don't match any configuration option: %s",
                                unknown);
        }
        if (unsupported) {
                return berr_set(err, EINVAL, "the following directives are not supported by berth: %s", unsupported);
        }
        json_object_foreach(j, key, v) {
                const DaemonOption *o = daemon_option_by_key(key);
                if (!type_ok(o, v)) {
                        return berr_set(err, EINVAL, "%s must be %s", key, type_name(o->type));
                }
                int r = check_fixed(o, v, "", err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(j);
        return 0;
}

int daemon_config_load(const char *path, json_t **ret, BerthError **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0) {
                return berr_set(err, -r, "open %s: %s", path, strerror(-r));
        }
        return daemon_config_parse(text, ret, err);
}

char *daemon_config_value_string(json_t *v)
{
        if (json_is_string(v))
                return xstrdup(json_string_value(v));
        if (json_is_array(v)) {
                char *s = xstrdup("[");
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                        _cleanup_free_ char *es = daemon_config_value_string(e);
                        char *n = xasprintf("%s%s%s", s, i ? " " : "", es);
                        free(s);
                        s = n;
                }
                char *n = xasprintf("%s]", s);
                free(s);
                return n;
        }
        if (!v)
                return xstrdup("<nil>");
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        return s ? s : xstrdup("?");
}

int daemon_config_merge(json_t *flags, json_t *file, json_t **ret, BerthError **err)
{
        _cleanup_free_ char *conflicts = NULL;
        const char *key;
        json_t *v;
        json_object_foreach(file, key, v) {
                json_t *fv = json_object_get(flags, key);
                if (!fv)
                        continue;
                _cleanup_free_ char *a = daemon_config_value_string(fv), *b = daemon_config_value_string(v);
                _cleanup_free_ char *s = xasprintf("%s: (from flag: %s, from file: %s)", key, a, b);
                list_add(&conflicts, s);
        }
        if (conflicts) {
                return berr_set(err, EINVAL, "the following directives are specified both as a flag and in the "
                                "configuration file: %s", conflicts);
        }
        json_t *m = json_deep_copy(flags);
        json_object_update(m, file);
        *ret = m;
        return 0;
}

char **daemon_config_reload_changes(json_t *old_cfg, json_t *new_cfg)
{
        char **l = NULL;
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++) {
                if (!(o->flags & DOPT_RELOAD))
                        continue;
                const char *key = daemon_option_key(o);
                json_t *a = json_object_get(old_cfg, key), *b = json_object_get(new_cfg, key);
                if (json_equal(a, b) || (!a && !b))
                        continue;
                _cleanup_free_ char *as = daemon_config_value_string(a), *bs = daemon_config_value_string(b);
                strv_push(&l, xasprintf("%s: %s -> %s", key, as, bs));
        }
        return l;
}
