#include "spec.h"

#include <string.h>
#include <sys/resource.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "runtime/devices.h"

const char *const rt_default_capabilities[] = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

const char *const rt_default_masked_paths[] = {
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
        "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};

const char *const rt_default_readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static char *dup_str(json_t *o, const char *key)
{
        const char *s = json_str(o, key);
        return s ? xstrdup(s) : NULL;
}

/* A JSON array of strings to a strv; absent or null gives NULL (so callers can tell "default"). */
static int get_strv(json_t *o, const char *key, char ***ret)
{
        json_t *a = json_object_get(o, key);
        *ret = NULL;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return -EINVAL;
        char **l = xcalloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                if (!json_is_string(v)) {
                        strv_free(l);
                        return -EINVAL;
                }
                l[i] = xstrdup(json_string_value(v));
        }
        *ret = l;
        return 0;
}

static char **strv_from_const(const char *const *src)
{
        return strv_copy((char *const *) src);
}

static bool ns_flag(json_t *ns, const char *key)
{
        json_t *v = ns ? json_object_get(ns, key) : NULL;
        return v ? json_is_true(v) : true;
}

int rt_spec_parse(const char *text, RtSpec **ret, BerthError **err)
{
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loads(text, 0, &jerr);
        if (!j || !json_is_object(j))
                return berr_set(err, EINVAL, "invalid spec.json: %s", j ? "not an object" : jerr.text);
        RtSpec *s = xcalloc(1, sizeof(RtSpec));
        if (!s)
                return berr_set(err, ENOMEM, "out of memory");
        s->id = dup_str(j, "id");
        s->cwd = dup_str(j, "cwd");
        s->user = dup_str(j, "user");
        s->hostname = dup_str(j, "hostname");
        s->domainname = dup_str(j, "domainname");
        s->tty = json_bool(j, "tty");
        s->open_stdin = json_bool(j, "open_stdin");
        s->stdin_once = json_bool(j, "stdin_once");
        s->init = json_bool(j, "init");
        s->upper = dup_str(j, "upper");
        s->work = dup_str(j, "work");
        s->readonly_rootfs = json_bool(j, "readonly_rootfs");
        s->shm_size = json_int(j, "shm_size", 67108864);
        if (s->shm_size <= 0)
                s->shm_size = 67108864;
        s->cgroup = dup_str(j, "cgroup");
        rt_cgroup_resources_from_json(json_object_get(j, "cgroup_resources"), &s->resources);
        s->oom_score_adj = (int) json_int(j, "oom_score_adj", 0);
        s->netns = dup_str(j, "netns");
        json_t *ns = json_object_get(j, "namespaces");
        s->ns_pid = ns_flag(ns, "pid");
        s->ns_ipc = ns_flag(ns, "ipc");
        s->ns_uts = ns_flag(ns, "uts");
        s->ns_net = ns_flag(ns, "net");
        s->ns_cgroup = ns_flag(ns, "cgroup");
        s->privileged = json_bool(j, "privileged");
        json_t *sc = json_object_get(j, "seccomp");
        s->seccomp = sc ? json_is_true(sc) : true;
        json_t *scp = json_object_get(j, "seccomp_profile");
        if (json_is_object(scp))
                s->seccomp_profile = json_dumps(scp, JSON_COMPACT);
        else
                s->seccomp_bpf = dup_str(j, "seccomp_bpf");
        s->no_new_privileges = json_bool(j, "no_new_privileges");
        s->log_path = dup_str(j, "log_path");
        s->log_max_size = json_int(j, "log_max_size", 0);
        s->log_max_file = json_int(j, "log_max_file", 0);
        s->log_compress = json_bool(j, "log_compress");
        s->exit_file = dup_str(j, "exit_file");

        int r = 0;
        const char *capstr = json_str(j, "capabilities");
        if (capstr && streq(capstr, "ALL")) {
                s->all_capabilities = true;
                json_object_del(j, "capabilities");
        }
        if (get_strv(j, "args", &s->args) < 0 || get_strv(j, "env", &s->env) < 0 ||
            get_strv(j, "layers", &s->layers) < 0 || get_strv(j, "masked_paths", &s->masked_paths) < 0 ||
            get_strv(j, "group_add", &s->group_add) < 0 ||
            get_strv(j, "readonly_paths", &s->readonly_paths) < 0 ||
            get_strv(j, "capabilities", &s->capabilities) < 0 ||
            get_strv(j, "device_rules", &s->device_rules) < 0)
                r = berr_set(err, EINVAL, "invalid spec.json: a list field is not an array of strings");
        if (r == 0 && (!s->args || !s->args[0]))
                r = berr_set(err, EINVAL, "invalid spec.json: no command specified");
        if (r == 0 && (!s->upper || !s->work))
                r = berr_set(err, EINVAL, "invalid spec.json: upper and work are required");
        if (r == 0 && !s->env)
                s->env = xcalloc(1, sizeof(char *));
        if (r == 0 && !s->layers)
                s->layers = xcalloc(1, sizeof(char *));
        if (r == 0 && !s->masked_paths)
                s->masked_paths = strv_from_const(rt_default_masked_paths);
        if (r == 0 && !s->readonly_paths)
                s->readonly_paths = strv_from_const(rt_default_readonly_paths);
        if (r == 0 && !s->cwd)
                s->cwd = xstrdup("/");

        for (size_t i = 0; r == 0 && s->device_rules && s->device_rules[i]; i++) {
                RtDeviceRule dr;
                if (rt_device_rule_parse(s->device_rules[i], &dr) < 0)
                        r = berr_set(err, EINVAL, "invalid spec.json: bad device rule '%s'", s->device_rules[i]);
        }
        json_t *sc_obj = json_object_get(j, "sysctls");
        const char *sk;
        json_t *sv;
        json_object_foreach(sc_obj, sk, sv) {
                if (!json_is_string(sv) || strchr(sk, '/') || strstr(sk, "..")) {
                        r = berr_set(err, EINVAL, "invalid spec.json: bad sysctl %s", sk);
                        break;
                }
                _cleanup_free_ char *kv = xasprintf("%s=%s", sk, json_string_value(sv));
                strv_extend(&s->sysctls, kv);
        }
        json_t *rls = json_object_get(j, "rlimits");
        if (r == 0 && json_is_array(rls)) {
                static const struct {
                        const char *n;
                        int res;
                } names[] = { { "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
                              { "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
                              { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
                              { "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
                              { "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
                              { "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK } };
                s->rlimits = xcalloc(json_array_size(rls) + 1, sizeof(RtRlimit));
                size_t i;
                json_t *rl;
                json_array_foreach(rls, i, rl) {
                        const char *t = json_str(rl, "type");
                        int which = -1;
                        for (size_t k = 0; t && k < ELEMENTSOF(names); k++)
                                if (streq(t, names[k].n))
                                        which = names[k].res;
                        if (which < 0) {
                                r = berr_set(err, EINVAL, "invalid spec.json: bad rlimit %s", t ? t : "");
                                break;
                        }
                        long long soft = json_int(rl, "soft", 0), hard = json_int(rl, "hard", 0);
                        s->rlimits[s->n_rlimits++] = (RtRlimit){ which, soft < 0 ? RLIM_INFINITY : (uint64_t) soft,
                                                                 hard < 0 ? RLIM_INFINITY : (uint64_t) hard };
                }
        }
        json_t *devs = json_object_get(j, "devices");
        if (r == 0 && json_is_array(devs)) {
                s->devices = xcalloc(json_array_size(devs) + 1, sizeof(RtDevice));
                size_t i;
                json_t *d;
                json_array_foreach(devs, i, d) {
                        RtDevice *rd = &s->devices[s->n_devices++];
                        rd->path = dup_str(d, "path");
                        const char *t = json_str(d, "type");
                        rd->type = t ? t[0] : 0;
                        rd->major = json_int(d, "major", -1);
                        rd->minor = json_int(d, "minor", -1);
                        rd->file_mode = (uint32_t) json_int(d, "file_mode", 0666);
                        rd->uid = (uint32_t) json_int(d, "uid", 0);
                        rd->gid = (uint32_t) json_int(d, "gid", 0);
                        if (!rd->path || rd->path[0] != '/' || (rd->type != 'c' && rd->type != 'b') ||
                            rd->major < 0 || rd->minor < 0) {
                                r = berr_set(err, EINVAL, "invalid spec.json: bad device entry %zu", i);
                                break;
                        }
                }
        }

        json_t *mounts = json_object_get(j, "mounts");
        if (r == 0 && json_is_array(mounts)) {
                s->mounts = xcalloc(json_array_size(mounts) + 1, sizeof(RtMount));
                size_t i;
                json_t *m;
                json_array_foreach(mounts, i, m) {
                        RtMount *rm = &s->mounts[s->n_mounts];
                        rm->source = dup_str(m, "source");
                        rm->destination = dup_str(m, "destination");
                        rm->type = dup_str(m, "type");
                        if (!rm->type)
                                rm->type = xstrdup("bind");
                        s->n_mounts++;
                        if (get_strv(m, "options", &rm->options) < 0 || !rm->destination || rm->destination[0] != '/' ||
                            (streq(rm->type, "bind") && !rm->source)) {
                                r = berr_set(err, EINVAL, "invalid spec.json: bad mount entry %zu", i);
                                break;
                        }
                }
        }
        if (r < 0) {
                rt_spec_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int rt_spec_apply_rlimits(const RtSpec *s)
{
        for (size_t i = 0; i < s->n_rlimits; i++) {
                struct rlimit rl = { s->rlimits[i].soft, s->rlimits[i].hard };
                if (setrlimit(s->rlimits[i].resource, &rl) < 0)
                        return -errno;
        }
        return 0;
}

char **rt_spec_device_rules(const RtSpec *s)
{
        char **l = NULL;
        if (s->privileged) {
                strv_extend(&l, "a *:* rwm");
                return l;
        }
        l = strv_copy((char *const *) rt_default_device_rules);
        for (size_t i = 0; s->device_rules && s->device_rules[i]; i++)
                strv_extend(&l, s->device_rules[i]);
        return l;
}

int rt_spec_load(const char *path, RtSpec **ret, BerthError **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0)
                return berr_set(err, -r, "cannot read %s: %s", path, strerror(-r));
        return rt_spec_parse(text, ret, err);
}

RtSpec *rt_spec_free(RtSpec *s)
{
        if (!s)
                return NULL;
        free(s->id);
        strv_free(s->args);
        strv_free(s->env);
        free(s->cwd);
        free(s->user);
        free(s->hostname);
        free(s->domainname);
        strv_free(s->layers);
        free(s->upper);
        free(s->work);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].source);
                free(s->mounts[i].destination);
                free(s->mounts[i].type);
                strv_free(s->mounts[i].options);
        }
        free(s->mounts);
        strv_free(s->masked_paths);
        strv_free(s->group_add);
        strv_free(s->readonly_paths);
        free(s->cgroup);
        free(s->netns);
        strv_free(s->capabilities);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        strv_free(s->device_rules);
        free(s->seccomp_profile);
        free(s->seccomp_bpf);
        strv_free(s->sysctls);
        free(s->rlimits);
        rt_cgroup_resources_done(&s->resources);
        free(s->log_path);
        free(s->exit_file);
        free(s);
        return NULL;
}
