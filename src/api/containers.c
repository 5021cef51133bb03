/* Container endpoints: HTTP in, engine verbs, Docker's JSON out. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/stdcopy.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "engine/config-fields.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "engine/exec.h"
#include "engine/mountpoints.h"
#include "engine/health.h"
#include "engine/system.h"
#include "image/image.h"
#include "engine/netglue.h"
#include "engine/resources.h"
#include "network/network.h"

#define ID(ar) ((ar)->params[0])

static void reply_result(ApiRequest *ar, int r, BerthError *err, unsigned ok_status)
{
        if (r < 0)
                api_reply_error(ar, err);
        else
                api_reply_empty(ar, ok_status);
}

/* ---- create ---- */

static void create(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        compat_container_create_body(body, ar->ver);
        _cleanup_free_ char *id = NULL;
        json_t *warnings = NULL;
        if (container_create(ar->engine, api_query(ar, "name"), body, &id, &warnings, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 201, json_pack("{s:s,s:o}", "Id", id, "Warnings", warnings ? warnings : json_array()));
}

/* ---- inspect / list shapes ---- */

static char *ts(int64_t ns)
{
        return format_rfc3339(ns, false);
}

static json_t *network_settings(Engine *e, Container *c)
{
        bool running = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        return container_network_settings(e, c, running, false);
}

/* The container's mount points (its -v binds), as inspect and the list show them. */
/* Called with e->lock held. */
static json_t *mounts_json(Container *c)
{
        _cleanup_json_ json_t *mps = mountpoints_of_locked(c);
        return mountpoints_api_json(mps);
}

/* Called with e->lock held. */
static json_t *inspect_json(Engine *e, Container *c)
{
        _cleanup_free_ char *created = ts(c->created), *started = ts(c->started_at), *finished = ts(c->finished_at);
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *logp = container_log_path(e, c->id);
        bool running = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        const char *status = container_status_string(c->status);
        json_t *state = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s}", "Status", status, "Running",
                                  running || c->status == CSTATUS_RESTARTING, "Paused", c->status == CSTATUS_PAUSED,
                                  "Restarting", c->status == CSTATUS_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
                                  c->status == CSTATUS_DEAD, "Pid", running ? c->pid : 0, "ExitCode", c->exit_code,
                                  "Error", c->error ? c->error : "", "StartedAt", started, "FinishedAt", finished);
        if (c->health)
                json_object_set_new(state, "Health", health_json(c->health));
        json_t *args = json_object_get(c->config, "Args");
        json_t *path = json_object_get(c->config, "Path");
        json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:s++,s:s++,s:s++,s:s,s:s+,s:i,s:s,s:s,s:s,s:s,s:s,s:n}",
                              "Id", c->id, "Created", created, "Path", path ? json_incref(path) : json_string(""),
                              "Args", args ? json_incref(args) : json_array(), "State", state, "Image", c->image_id,
                              "ResolvConfPath", dir, "/", "resolv.conf", "HostnamePath", dir, "/", "hostname",
                              "HostsPath", dir, "/", "hosts", "LogPath", logp, "Name", "/", c->name, "RestartCount",
                              c->restart_count, "Driver", "overlay2", "Platform", "linux", "MountLabel", "",
                              "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs");
        json_object_set_new(j, "ExecIDs", exec_ids_json_locked(e, c));
        json_object_set_new(j, "HostConfig", config_fields_filled(container_hostcfg(c), CONFIG_SECTION_HOST));
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir), *work = xasprintf("%s/work", dir);
        _cleanup_free_ char *rdir = container_run_dir(e, c->id);
        _cleanup_free_ char *merged = xasprintf("%s/rootfs", rdir), *init = xasprintf("%s/init", dir);
        /* LowerDir (the image's layers) is added by the caller, outside Engine.lock */
        json_object_set_new(j, "GraphDriver", json_pack("{s:{s:s,s:s,s:s,s:s},s:s}", "Data", "LowerDir", init,
                                                        "MergedDir", merged, "UpperDir", upper, "WorkDir", work,
                                                        "Name", "overlay2"));
        json_object_set_new(j, "Mounts", mounts_json(c));
        json_object_set_new(j, "Config", config_fields_filled(container_cfg(c), CONFIG_SECTION_CONFIG));
        json_object_set_new(j, "NetworkSettings", network_settings(e, c));
        return j;
}

static void inspect(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_container_ Container *c = NULL;
        if (container_get(ar->engine, ID(ar), &c, &err) < 0)
                return api_reply_error(ar, err);
        pthread_mutex_lock(&ar->engine->lock);
        json_t *j = inspect_json(ar->engine, c);
        pthread_mutex_unlock(&ar->engine->lock);
        /* overlayfs' lowerdir order: the init layer, then the image's layers from the top */
        _cleanup_strv_free_ char **layers = NULL;
        json_t *data = json_object_get(json_object_get(j, "GraphDriver"), "Data");
        if (image_layer_dirs(ar->engine->images, c->image_id, &layers, NULL) == 0) {
                _cleanup_free_ char *lower = xstrdup(json_str(data, "LowerDir") ?: "");
                for (size_t i = strv_length(layers); i-- > 0;) {
                        char *n = xasprintf("%s:%s", lower, layers[i]);
                        free(lower);
                        lower = n;
                }
                json_object_set_new(data, "LowerDir", json_string(lower));
        }
        compat_shape_container_inspect(j, ar->ver);
        if (api_query_bool(ar, "size", false)) {
                long long rw, rootfs;
                engine_container_size(ar->engine, c->id, c->image_id, &rw, &rootfs);
                json_object_set_new(j, "SizeRw", json_integer(rw));
                json_object_set_new(j, "SizeRootFs", json_integer(rootfs));
        }
        api_reply_json(ar, 200, j);
}

static char *command_string(Container *c)
{
        json_t *path = json_object_get(c->config, "Path");
        json_t *args = json_object_get(c->config, "Args");
        size_t cap = 64;
        size_t i;
        json_t *x;
        json_array_foreach(args, i, x) cap += json_string_length(x) + 1;
        cap += json_string_length(path);
        char *s = calloc(1, cap);
        if (json_is_string(path))
                strcat(s, json_string_value(path));
        json_array_foreach(args, i, x) {
                strcat(s, " ");
                strcat(s, json_string_value(x) ? json_string_value(x) : "");
        }
        return s;
}

static char *status_text(Container *c)
{
        int64_t now = now_ns();
        switch (c->status) {
        case CSTATUS_RUNNING:
        case CSTATUS_PAUSED: {
                _cleanup_free_ char *d = human_duration((now - c->started_at) / 1000000000LL);
                if (c->status == CSTATUS_RUNNING && c->health)
                        return xasprintf("Up %s (%s%s)", d, c->health->status == HEALTH_STARTING ? "health: " : "",
                                         health_status_string(c->health->status));
                return xasprintf("Up %s%s", d, c->status == CSTATUS_PAUSED ? " (Paused)" : "");
        }
        case CSTATUS_RESTARTING: {
                _cleanup_free_ char *d = human_duration((now - c->finished_at) / 1000000000LL);
                return xasprintf("Restarting (%d) %s ago", c->exit_code, d);
        }
        case CSTATUS_EXITED: {
                if (!c->finished_at || !c->started_at)
                        return strdup("Created");
                _cleanup_free_ char *d = human_duration((now - c->finished_at) / 1000000000LL);
                return xasprintf("Exited (%d) %s ago", c->exit_code, d);
        }
        case CSTATUS_REMOVING: return strdup("Removal In Progress");
        case CSTATUS_DEAD: return strdup("Dead");
        default: return strdup("Created");
        }
}

static json_t *summary_json(Engine *e, Container *c)
{
        _cleanup_free_ char *cmd = command_string(c);
        _cleanup_free_ char *st = status_text(c);
        json_t *cfg = container_cfg(c);
        json_t *labels = json_object_get(cfg, "Labels");
        const char *netmode = json_str(container_hostcfg(c), "NetworkMode");
        bool running = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        json_t *ports = container_network_ports(e, c, running);
        return json_pack("{s:s,s:[s+],s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s,s:{s:s},s:o,s:o}", "Id", c->id, "Names",
                         "/", c->name, "Image", json_str(cfg, "Image") ? json_str(cfg, "Image") : c->image_id,
                         "ImageID", c->image_id, "Command", cmd, "Created", (json_int_t) (c->created / 1000000000LL),
                         "Ports", ports, "Labels", json_is_object(labels) ? json_incref(labels) : json_object(),
                         "State", container_status_string(c->status), "Status", st, "HostConfig", "NetworkMode",
                         netmode ? netmode : "default", "NetworkSettings",
                         container_network_settings(e, c, running, true), "Mounts", mounts_json(c));
}

static bool any_eq(json_t *arr, const char *s)
{
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x) if (json_is_string(x) && streq(json_string_value(x), s)) return true;
        return false;
}

static int newest_first(const void *a, const void *b)
{
        const Container *x = *(Container *const *) a, *y = *(Container *const *) b;
        if (x->created != y->created)
                return x->created > y->created ? -1 : 1;
        return strcmp(x->id, y->id); /* a total order, so equal times list the same way every time */
}

typedef struct PortFilter {
        unsigned start, end;
        char proto[16];
} PortFilter;

/* "80", "80/udp", "8000-8080/tcp" as moby's ParsePortRange reads them; errors in its words (HTTP 500, as
 * dockerd answers them). */
static int parse_port_filter(const char *key, const char *v, PortFilter *pf, BerthError **err)
{
        if (strchr(v, ':'))
                return berr_set(err, EIO, "filter for '%s' should not contain ':': %s", key, v);
        if (!*v)
                return berr_set(err, EIO, "error while looking up for %s %s: invalid port range: value is empty",
                                key, v);
        _cleanup_free_ char *range = xstrndup(v, strcspn(v, "/"));
        const char *proto = v[strlen(range)] == '/' ? v + strlen(range) + 1 : "";
        char *dash = strchr(range, '-');
        if (dash)
                *dash = 0;
        const char *parts[2] = { range, dash ? dash + 1 : NULL };
        unsigned vals[2] = { 0, 0 };
        for (int k = 0; k < 2 && parts[k]; k++) {
                const char *what = k ? "end" : "start", *p = parts[k];
                if (!*p)
                        return berr_set(err, EIO, "error while looking up for %s %s: invalid %s port '': value is "
                                        "empty", key, v, what);
                unsigned long n = 0;
                for (const char *q = p; *q; q++) {
                        if (*q < '0' || *q > '9')
                                return berr_set(err, EIO, "error while looking up for %s %s: invalid %s port '%s': "
                                                "invalid syntax", key, v, what, p);
                        n = n * 10 + (unsigned long) (*q - '0');
                        if (n > 65535)
                                return berr_set(err, EIO, "error while looking up for %s %s: invalid %s port '%s': "
                                                "value out of range", key, v, what, p);
                }
                vals[k] = (unsigned) n;
        }
        if (!parts[1] || streq(parts[0], parts[1]))
                vals[1] = vals[0];
        else if (vals[1] < vals[0])
                return berr_set(err, EIO, "error while looking up for %s %s: invalid port range: %s", key, v, v);
        pf->start = vals[0];
        pf->end = vals[1];
        snprintf(pf->proto, sizeof(pf->proto), "%s", *proto ? proto : "tcp");
        for (char *q = pf->proto; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        return 0;
}

static int parse_port_filters(json_t *filters, const char *key, PortFilter **ret, size_t *n, BerthError **err)
{
        json_t *vals = json_object_get(filters, key);
        *n = json_array_size(vals);
        *ret = *n ? xcalloc(*n, sizeof(PortFilter)) : NULL;
        size_t i;
        json_t *x;
        json_array_foreach(vals, i, x) {
                int r = parse_port_filter(key, json_string_value(x), &(*ret)[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool port_in(const PortFilter *pf, size_t n, json_int_t port, const char *proto)
{
        for (size_t i = 0; i < n; i++)
                if (port >= pf[i].start && port <= pf[i].end && streq(pf[i].proto, proto))
                        return true;
        return false;
}

/* The filters that read the list entry itself (moby's includeContainerInList): volume, network,
 * publish and expose. */
static bool summary_matches(json_t *s, json_t *filters, const PortFilter *pub, size_t npub, const PortFilter *exp,
                            size_t nexp)
{
        size_t i, k;
        json_t *x, *m;
        json_t *fv = json_object_get(filters, "volume");
        if (fv) {
                bool found = false;
                json_array_foreach(json_object_get(s, "Mounts"), k, m) {
                        const char *name = json_str(m, "Name");
                        json_array_foreach(fv, i, x) {
                                const char *want = json_string_value(x);
                                if (streq(json_str(m, "Destination") ?: "", want) ||
                                    streq(name && *name ? name : json_str(m, "Source") ?: "", want))
                                        found = true;
                        }
                }
                if (!found)
                        return false;
        }
        json_t *fn = json_object_get(filters, "network");
        if (fn) {
                bool found = false;
                json_t *nets = json_object_get(json_object_get(s, "NetworkSettings"), "Networks");
                const char *name;
                json_object_foreach(nets, name, m) {
                        json_array_foreach(fn, i, x) {
                                const char *want = json_string_value(x);
                                if (streq(name, want) || startswith(json_str(m, "NetworkID") ?: "", want))
                                        found = true;
                        }
                }
                if (!found)
                        return false;
        }
        if (npub || nexp) {
                bool found = false;
                json_array_foreach(json_object_get(s, "Ports"), k, m) {
                        const char *type = json_str(m, "Type") ?: "";
                        if (port_in(pub, npub, json_int(m, "PublicPort", 0), type) ||
                            port_in(exp, nexp, json_int(m, "PrivatePort", 0), type))
                                found = true;
                }
                if (!found)
                        return false;
        }
        return true;
}

/* SizeRw and SizeRootFs of each list entry, after Engine.lock is released (they walk the upper dirs). */
static void add_sizes(Engine *e, json_t *summaries)
{
        size_t i;
        json_t *s;
        json_array_foreach(summaries, i, s) {
                long long rw, rootfs;
                engine_container_size(e, json_str(s, "Id"), json_str(s, "ImageID"), &rw, &rootfs);
                /* omitted when 0, as Go's omitempty does in Docker's list entries */
                if (rw)
                        json_object_set_new(s, "SizeRw", json_integer(rw));
                if (rootfs)
                        json_object_set_new(s, "SizeRootFs", json_integer(rootfs));
        }
}

static void list(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        static const char *const known[] = { "id", "name", "label", "status", "ancestor", "exited", "before", "since",
                                             "volume", "network", "health", "isolation", "publish", "expose",
                                             "is-task" };
        const char *fk;
        json_t *fv;
        json_object_foreach(filters, fk, fv) {
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        if (streq(fk, known[i]))
                                ok = true;
                if (!ok)
                        return api_reply_errorf(ar, EINVAL, "invalid filter '%s'", fk);
        }
        json_t *fstatus = json_object_get(filters, "status");
        size_t i;
        json_t *x;
        static const char *const statuses[] = { "created", "running", "paused", "restarting", "removing", "exited",
                                                "dead" };
        json_array_foreach(fstatus, i, x) {
                bool ok = false;
                for (size_t k = 0; k < ELEMENTSOF(statuses); k++)
                        if (streq(json_string_value(x), statuses[k]))
                                ok = true;
                if (!ok)
                        return api_reply_errorf(ar, EINVAL, "invalid filter 'status=%s': invalid value for state "
                                                "(%s): must be one of created, running, paused, restarting, "
                                                "removing, exited, dead", json_string_value(x),
                                                json_string_value(x));
        }
        json_t *fhealth = json_object_get(filters, "health");
        json_array_foreach(fhealth, i, x) {
                const char *h = json_string_value(x);
                if (!streq(h, "none") && !streq(h, "starting") && !streq(h, "healthy") && !streq(h, "unhealthy"))
                        return api_reply_errorf(ar, EINVAL, "invalid filter 'health=%s': invalid value for health "
                                                "(%s): must be one of none, starting, healthy, unhealthy", h, h);
        }
        json_t *fexited = json_object_get(filters, "exited");
        json_array_foreach(fexited, i, x) {
                const char *v = json_string_value(x);
                char *end = NULL;
                errno = 0;
                long code = strtol(v, &end, 10);
                if (!*v || *end || errno || code != (int) code)
                        return api_reply_errorf(ar, EINVAL, "invalid filter 'exited=%s': strconv.Atoi: parsing "
                                                "\"%s\": %s", v, v, errno ? "value out of range" : "invalid syntax");
        }
        /* is-task: berth runs no swarm tasks, so is-task=true lists nothing */
        json_t *ftask = json_object_get(filters, "is-task");
        bool want_task = false;
        if (json_filter_bool(ftask, "is-task", false, &want_task, &err) < 0)
                return api_reply_error(ar, err);
        _cleanup_free_ PortFilter *pub = NULL, *exp = NULL;
        size_t npub = 0, nexp = 0;
        if (parse_port_filters(filters, "publish", &pub, &npub, &err) < 0 ||
            parse_port_filters(filters, "expose", &exp, &nexp, &err) < 0)
                return api_reply_error(ar, err);
        bool all = api_query_bool(ar, "all", false);
        long long limit = -1;
        if (api_query_int(ar, "limit", -1, &limit, &err) < 0)
                return api_reply_error(ar, err);
        if (limit > 0)
                all = true;
        if (json_array_size(fstatus))
                all = true;
        Engine *e = ar->engine;
        size_t n;
        Container **v = container_list_all(e, &n);
        /* newest first (qsort: the insertion sort here was O(n^2), 5% of a list of 1000) */
        if (n > 1)
                qsort(v, n, sizeof(*v), newest_first);
        int64_t before = INT64_MAX, since = INT64_MIN;
        const char *missing = NULL;
        pthread_mutex_lock(&e->lock);
        json_array_foreach(json_object_get(filters, "before"), i, x) {
                int amb;
                Container *c = container_find_locked(e, json_string_value(x), &amb);
                if (c)
                        before = c->created;
                else
                        missing = json_string_value(x);
        }
        json_array_foreach(json_object_get(filters, "since"), i, x) {
                int amb;
                Container *c = container_find_locked(e, json_string_value(x), &amb);
                if (c)
                        since = c->created;
                else
                        missing = json_string_value(x);
        }
        pthread_mutex_unlock(&e->lock);
        if (missing) {
                container_list_free(v, n);
                return api_reply_errorf(ar, ENOENT, "No such container: %s", missing);
        }
        _cleanup_strv_free_ char **ancestors = NULL;
        json_array_foreach(json_object_get(filters, "ancestor"), i, x) {
                char *idr = NULL;
                if (image_resolve(e->images, json_string_value(x), &idr, NULL) == 0)
                        strv_push(&ancestors, idr);
                else
                        strv_extend(&ancestors, "-");
        }
        bool size = api_query_bool(ar, "size", false);
        json_t *out = json_array();
        pthread_mutex_lock(&e->lock);
        for (size_t k = 0; k < n; k++) {
                Container *c = v[k];
                json_t *cfg = container_cfg(c);
                bool live = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED ||
                            c->status == CSTATUS_RESTARTING;
                if (!all && !live)
                        continue;
                if (c->created >= before || c->created <= since)
                        continue;
                if (ftask && want_task)
                        continue;
                const char *health = c->health ? health_status_string(c->health->status) : "none";
                if (json_array_size(fhealth) && !any_eq(fhealth, health))
                        continue;
                json_t *f;
                if ((f = json_object_get(filters, "id")) && json_array_size(f)) {
                        bool m = false;
                        json_array_foreach(f, i, x) if (startswith(c->id, json_string_value(x))) m = true;
                        if (!m)
                                continue;
                }
                if ((f = json_object_get(filters, "name")) && json_array_size(f)) {
                        _cleanup_free_ char *slashed = xasprintf("/%s", c->name);
                        if (!json_filter_match(f, c->name) && !json_filter_match(f, slashed))
                                continue;
                }
                if (!json_labels_match(json_object_get(cfg, "Labels"), json_object_get(filters, "label")))
                        continue;
                if (json_array_size(fstatus) && !any_eq(fstatus, container_status_string(c->status)))
                        continue;
                if (json_array_size(fexited)) {
                        bool m = false;
                        json_array_foreach(fexited, i, x) if (atoi(json_string_value(x)) == c->exit_code) m = true;
                        if (!m || live || !c->started_at)
                                continue;
                }
                if (ancestors) {
                        bool m = false;
                        for (size_t a = 0; ancestors[a]; a++)
                                if (streq(ancestors[a], c->image_id))
                                        m = true;
                        if (!m)
                                continue;
                }
                json_t *s = summary_json(ar->engine, c);
                if (!summary_matches(s, filters, pub, npub, exp, nexp)) {
                        json_decref(s);
                        continue;
                }
                if (ar->ver >= 52)
                        json_object_set_new(s, "Health", json_pack("{s:s,s:i}", "Status", health, "FailingStreak",
                                                                   c->health ? c->health->failing_streak : 0));
                compat_shape_container_summary(s, ar->ver);
                json_array_append_new(out, s);
                if (limit > 0 && (long long) json_array_size(out) >= limit)
                        break;
        }
        pthread_mutex_unlock(&e->lock);
        container_list_free(v, n);
        if (size)
                add_sizes(e, out);
        api_reply_json(ar, 200, out);
}

json_t *api_container_summaries(Engine *e, bool size)
{
        size_t n;
        Container **v = container_list_all(e, &n);
        if (n > 1)
                qsort(v, n, sizeof(*v), newest_first);
        json_t *out = json_array();
        pthread_mutex_lock(&e->lock);
        for (size_t k = 0; k < n; k++)
                json_array_append_new(out, summary_json(e, v[k]));
        pthread_mutex_unlock(&e->lock);
        container_list_free(v, n);
        if (size)
                add_sizes(e, out);
        return out;
}

/* ---- lifecycle verbs ---- */

static void start(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_start(ar->engine, ID(ar), &err);
        reply_result(ar, r, err, 204);
}

static int timeout_param(ApiRequest *ar, int *t, bool *has, BerthError **err)
{
        const char *v = api_query(ar, "t");
        if (!v || !*v)
                v = api_query(ar, "timeout");
        *has = v && *v;
        if (!*has)
                return 0;
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        /* strtol skips leading blanks and saturates; Go's strconv.Atoi does neither */
        if (*end || errno || n < INT_MIN || n > INT_MAX || !(v[0] == '-' || v[0] == '+' || (v[0] >= '0' && v[0] <= '9')))
                return berr_set(err, EINVAL, "invalid value for t: %s", v);
        *t = (int) n;
        return 0;
}

/* stop and restart take ?signal= from API 1.42 on. */
static int stop_signal_param(ApiRequest *ar, int *sig, BerthError **err)
{
        const char *v = api_query(ar, "signal");
        *sig = 0;
        if (!v || !*v)
                return 0;
        *sig = signal_from_string(v);
        if (*sig <= 0)
                return berr_set(err, EINVAL, "Invalid signal: %s", v);
        return 0;
}

static void stop(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int t = 10;
        bool has;
        int sig;
        if (timeout_param(ar, &t, &has, &err) < 0 || stop_signal_param(ar, &sig, &err) < 0)
                return api_reply_error(ar, err);
        int r = container_stop(ar->engine, ID(ar), t, has, sig, &err);
        reply_result(ar, r, err, 204);
}

static void restart(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int t = 10;
        bool has;
        int sig;
        if (timeout_param(ar, &t, &has, &err) < 0 || stop_signal_param(ar, &sig, &err) < 0)
                return api_reply_error(ar, err);
        int r = container_restart(ar->engine, ID(ar), t, has, sig, &err);
        reply_result(ar, r, err, 204);
}

static void kill_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_kill(ar->engine, ID(ar), api_query(ar, "signal"), &err);
        reply_result(ar, r, err, 204);
}

static void pause_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_pause(ar->engine, ID(ar), true, &err);
        reply_result(ar, r, err, 204);
}

static void unpause(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_pause(ar->engine, ID(ar), false, &err);
        reply_result(ar, r, err, 204);
}

static void remove_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_remove(ar->engine, ID(ar), api_query_bool(ar, "force", false), api_query_bool(ar, "v", false),
                                 &err);
        reply_result(ar, r, err, 204);
}

static void rename_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        int r = container_rename(ar->engine, ID(ar), api_query(ar, "name"), &err);
        reply_result(ar, r, err, 204);
}

static void update(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        json_t *warnings = NULL;
        if (container_update(ar->engine, ID(ar), body, &warnings, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:o}", "Warnings", warnings));
}

static void resize(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        long long h = 0, w = 0;
        if (api_query_int(ar, "h", 0, &h, &err) < 0 || api_query_int(ar, "w", 0, &w, &err) < 0)
                return api_reply_error(ar, err);
        int r = container_resize(ar->engine, ID(ar), (int) h, (int) w, &err);
        reply_result(ar, r, err, 200);
}

static void prune(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);
        json_t *deleted = NULL;
        long long reclaimed = 0;
        if (container_prune(ar->engine, filters, &deleted, &reclaimed, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, json_pack("{s:o,s:I}", "ContainersDeleted", json_array_size(deleted) ? deleted :
                                          (json_decref(deleted), json_null()), "SpaceReclaimed",
                                          (json_int_t) reclaimed));
}

static void changes(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (container_changes(ar->engine, ID(ar), &j, &err) < 0)
                return api_reply_error(ar, err);
        if (json_array_size(j) == 0) {
                json_decref(j);
                j = json_null();
        }
        api_reply_json(ar, 200, j);
}

static void top(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (container_top(ar->engine, ID(ar), api_query(ar, "ps_args"), &j, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_json(ar, 200, j);
}

/* ---- stats ---- */

typedef struct {
        Engine *e;
        Container *c;
        bool stream, one_shot;
        int ver;
} StatsCtx;

/* Sleeps ms in short steps; true as soon as the client has gone. */
static bool stats_wait(HttpStream *s, int ms)
{
        for (int i = 0; i < ms / 100; i++) {
                if (http_stream_client_gone(s))
                        return true;
                struct timespec ts = { 0, 100 * 1000000L };
                nanosleep(&ts, NULL);
        }
        return http_stream_client_gone(s);
}

static int stats_send(HttpStream *s, StatsCtx *x, json_t *j)
{
        _cleanup_json_ json_t *out = json_deep_copy(j);
        compat_shape_stats(out, x->ver);
        return http_stream_write_json(s, out);
}

/* No lock is held between samples: each sample takes Engine.lock only to read the container's state. */
static void stats_stream(HttpStream *s, void *p)
{
        StatsCtx *x = p;
        bool running = false;
        _cleanup_json_ json_t *prev = container_stats_sample(x->e, x->c, NULL, &running);
        if (!x->stream) {
                /* stream=false waits for a second sample so precpu_stats is filled; one-shot does not */
                if (running && !x->one_shot) {
                        if (stats_wait(s, 1000))
                                return;
                        json_t *j = container_stats_sample(x->e, x->c, prev, &running);
                        json_decref(prev);
                        prev = j;
                }
                (void) stats_send(s, x, prev);
                return;
        }
        for (;;) {
                if (stats_send(s, x, prev) < 0 || !running || stats_wait(s, 1000))
                        return;
                json_t *j = container_stats_sample(x->e, x->c, prev, &running);
                json_decref(prev);
                prev = j;
                if (!running)
                        return; /* stopped since the last sample: the stream ends */
        }
}

static void stats_free(void *p)
{
        StatsCtx *x = p;
        container_unref(x->c);
        free(x);
}

static void stats(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        Container *c = NULL;
        if (container_get(ar->engine, ID(ar), &c, &err) < 0)
                return api_reply_error(ar, err);
        StatsCtx *x = xcalloc(1, sizeof(*x));
        *x = (StatsCtx){ ar->engine, c, api_query_bool(ar, "stream", true), ar->ver >= 41 && api_query_bool(ar, "one-shot", false),
                         ar->ver };
        if (x->one_shot && x->stream) {
                stats_free(x);
                return api_reply_errorf(ar, EINVAL, "cannot have stream=true and one-shot=true");
        }
        http_respond_stream(ar->http, 200, "application/json", stats_stream, x, stats_free);
}

/* ---- wait ---- */

typedef struct {
        Engine *e;
        ContainerWaiter w;
        HttpStream *s;
} WaitCtx;

static bool stream_gone(void *p)
{
        return http_stream_client_gone(p);
}

static void wait_stream(HttpStream *s, void *p)
{
        WaitCtx *ctx = p;
        int code = 0;
        _cleanup_free_ char *error = NULL;
        int r = container_wait_finish(ctx->e, &ctx->w, stream_gone, s, &code, &error);
        if (r == -ECANCELED)
                return;
        json_t *j = json_pack("{s:n,s:i}", "Error", "StatusCode", code);
        if (error)
                json_object_set_new(j, "Error", json_pack("{s:s}", "Message", error));
        http_stream_write_json(s, j);
        json_decref(j);
}

static void wait_free(void *p)
{
        WaitCtx *ctx = p;
        if (ctx->w.c)
                container_unref(ctx->w.c);
        free(ctx);
}

static void wait_(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        WaitCtx *ctx = calloc(1, sizeof(*ctx));
        ctx->e = ar->engine;
        if (container_wait_prepare(ar->engine, ID(ar), api_query(ar, "condition"), &ctx->w, &err) < 0) {
                free(ctx);
                return api_reply_error(ar, err);
        }
        http_respond_stream(ar->http, 200, "application/json", wait_stream, ctx, wait_free);
}

/* ---- logs ---- */

typedef struct {
        Engine *e;
        Container *c;
        LogOptions o;
        bool tty;
} LogsCtx;

typedef struct {
        HttpStream *s;
        bool tty;
} LogSink;

static int log_write(void *arg, int stream, const char *data, size_t len)
{
        LogSink *k = arg;
        if (!k->tty) {
                unsigned char h[STDCOPY_HEADER_LEN];
                stdcopy_header(h, stream, len);
                if (http_stream_write(k->s, h, sizeof(h)) < 0)
                        return -EPIPE;
        }
        return http_stream_write(k->s, data, len);
}

static void logs_stream(HttpStream *s, void *p)
{
        LogsCtx *ctx = p;
        LogSink k = { .s = s, .tty = ctx->tty };
        container_logs(ctx->e, ctx->c, &ctx->o, log_write, &k, stream_gone, s);
}

static void logs_free(void *p)
{
        LogsCtx *ctx = p;
        container_unref(ctx->c);
        free(ctx);
}

static int time_param(ApiRequest *ar, const char *key, int64_t *ret, BerthError **err)
{
        const char *v = api_query(ar, key);
        *ret = 0;
        if (!v || !*v || streq(v, "0"))
                return 0;
        if (parse_docker_time(v, now_ns(), ret) == 0)
                return 0;
        return berr_set(err, EINVAL, "invalid value for %s: %s", key, v);
}

static void logs(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        LogOptions o = { .stdout_ = api_query_bool(ar, "stdout", false), .stderr_ = api_query_bool(ar, "stderr", false),
                         .follow = api_query_bool(ar, "follow", false),
                         .timestamps = api_query_bool(ar, "timestamps", false), .tail = -1 };
        const char *tail = api_query(ar, "tail");
        if (tail && *tail && !streq(tail, "all")) {
                char *end;
                long long t = strtoll(tail, &end, 10);
                o.tail = *end || t < 0 ? -1 : t;
        }
        if (time_param(ar, "since", &o.since_ns, &err) < 0 || time_param(ar, "until", &o.until_ns, &err) < 0)
                return api_reply_error(ar, err);
        if (!o.stdout_ && !o.stderr_)
                return api_reply_errorf(ar, EINVAL, "Bad parameters: you must choose at least one stream");
        Container *c = NULL;
        if (container_get(ar->engine, ID(ar), &c, &err) < 0)
                return api_reply_error(ar, err);
        if (container_logs_readable(c, &err) < 0) {
                container_unref(c);
                return api_reply_error(ar, err);
        }
        LogsCtx *ctx = xcalloc(1, sizeof(*ctx));
        ctx->e = ar->engine;
        ctx->c = c;
        ctx->o = o;
        ctx->tty = container_tty(c);
        http_respond_stream(ar->http, 200, NULL, logs_stream, ctx, logs_free);
}

/* ---- attach ---- */

typedef struct {
        Engine *e;
        Container *c;
        AttachOptions o;
} AttachCtx;

static void attach_fn(int fd, void *p)
{
        AttachCtx *ctx = p;
        if (ctx->o.stream || ctx->o.logs)
                container_attach_run(ctx->e, ctx->c, &ctx->o, fd);
        container_unref(ctx->c);
        free(ctx);
}

static void attach(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        Container *c = NULL;
        if (container_attach_prepare(ar->engine, ID(ar), &c, &err) < 0)
                return api_reply_error(ar, err);
        AttachCtx *ctx = calloc(1, sizeof(*ctx));
        ctx->e = ar->engine;
        ctx->c = c;
        ctx->o = (AttachOptions){ .in = api_query_bool(ar, "stdin", false), .out = api_query_bool(ar, "stdout", false),
                                  .err = api_query_bool(ar, "stderr", false),
                                  .stream = api_query_bool(ar, "stream", false),
                                  .logs = api_query_bool(ar, "logs", false) };
        const char *keys = api_query(ar, "detachKeys");
        if (detach_keys_parse(keys, &ctx->o.keys) < 0) {
                container_unref(c);
                free(ctx);
                return api_reply_errorf(ar, EINVAL, "Invalid detach keys (%s) provided", keys);
        }
        bool tty = container_tty(c);
        const char *ct = ar->ver >= 42 && !tty ? "application/vnd.docker.multiplexed-stream"
                                               : "application/vnd.docker.raw-stream";
        http_hijack(ar->http, ct, attach_fn, ctx);
}

const ApiRoute api_routes_containers[] = {
        { "POST", "/containers/create", create },
        { "GET", "/containers/json", list },
        { "POST", "/containers/prune", prune },
        { "GET", "/containers/{id}/json", inspect },
        { "POST", "/containers/{id}/start", start },
        { "POST", "/containers/{id}/stop", stop },
        { "POST", "/containers/{id}/restart", restart },
        { "POST", "/containers/{id}/kill", kill_ },
        { "POST", "/containers/{id}/pause", pause_ },
        { "POST", "/containers/{id}/unpause", unpause },
        { "POST", "/containers/{id}/wait", wait_ },
        { "POST", "/containers/{id}/attach", attach },
        { "POST", "/containers/{id}/resize", resize },
        { "POST", "/containers/{id}/rename", rename_ },
        { "POST", "/containers/{id}/update", update },
        { "GET", "/containers/{id}/logs", logs },
        { "GET", "/containers/{id}/top", top },
        { "GET", "/containers/{id}/stats", stats },
        { "GET", "/containers/{id}/changes", changes },
        { "DELETE", "/containers/{id}", remove_ },
        { NULL, NULL, NULL },
};
