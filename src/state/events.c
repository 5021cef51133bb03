/* The event journal and Docker's event filter (see events.h). */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"

struct EventLog {
        pthread_mutex_t lock;
        pthread_cond_t cond; /* CLOCK_MONOTONIC; broadcast on every event */
        json_t *ring[EVENTS_JOURNAL_MAX];
        uint64_t next;       /* sequence number of the next event */
        int64_t last_ns;     /* keeps timeNano non-decreasing */
        uint64_t wake_gen;   /* bumped by events_wake_all */
};

EventLog *events_new(void)
{
        EventLog *l = xcalloc(1, sizeof(*l));
        if (!l)
                return NULL;
        pthread_mutex_init(&l->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&l->cond, &ca);
        pthread_condattr_destroy(&ca);
        return l;
}

void events_free(EventLog *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < EVENTS_JOURNAL_MAX; i++)
                json_decref(l->ring[i]);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A copy of attrs with its keys in byte order, as Go's map encoding emits them. */
static json_t *sorted_attrs(json_t *attrs)
{
        json_t *out = json_object();
        size_t n = json_object_size(attrs);
        if (n == 0)
                return out;
        const char **keys = xcalloc(n, sizeof(*keys));
        if (!keys)
                return out;
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach(attrs, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), cmp_str);
        for (i = 0; i < n; i++) {
                json_t *val = json_object_get(attrs, keys[i]);
                /* Attributes are map[string]string: stringify anything else. */
                if (json_is_string(val))
                        json_object_set(out, keys[i], val);
                else if (json_is_integer(val))
                        json_object_set_new(out, keys[i], json_sprintf("%lld", (long long) json_integer_value(val)));
                else if (json_is_boolean(val))
                        json_object_set_new(out, keys[i], json_string(json_is_true(val) ? "true" : "false"));
        }
        free(keys);
        return out;
}

uint64_t events_log(EventLog *l, const char *type, const char *action, const char *actor_id, json_t *attrs)
{
        if (!l) {
                json_decref(attrs);
                return 0;
        }
        json_t *ev = json_object();
        json_object_set_new(ev, "Type", json_string(type));
        json_object_set_new(ev, "Action", json_string(action));
        json_object_set_new(ev, "Actor", json_pack("{s:s,s:o}", "ID", actor_id ? actor_id : "", "Attributes",
                                                   sorted_attrs(attrs)));
        json_object_set_new(ev, "scope", json_string("local"));
        json_decref(attrs);

        pthread_mutex_lock(&l->lock);
        int64_t t = now_ns();
        if (t <= l->last_ns)
                t = l->last_ns + 1;
        l->last_ns = t;
        json_object_set_new(ev, "time", json_integer(t / 1000000000LL));
        json_object_set_new(ev, "timeNano", json_integer(t));
        uint64_t seq = l->next++;
        json_t **slot = &l->ring[seq % EVENTS_JOURNAL_MAX];
        json_decref(*slot);
        *slot = ev;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
        return seq;
}

static uint64_t oldest_locked(EventLog *l)
{
        return l->next > EVENTS_JOURNAL_MAX ? l->next - EVENTS_JOURNAL_MAX : 0;
}

uint64_t events_head(EventLog *l)
{
        pthread_mutex_lock(&l->lock);
        uint64_t h = l->next;
        pthread_mutex_unlock(&l->lock);
        return h;
}

uint64_t events_find_since(EventLog *l, int64_t since_ns)
{
        pthread_mutex_lock(&l->lock);
        uint64_t lo = oldest_locked(l), seq = l->next;
        /* Times are non-decreasing, so walk back while still >= since. */
        while (seq > lo) {
                json_t *ev = l->ring[(seq - 1) % EVENTS_JOURNAL_MAX];
                if (json_int(ev, "timeNano", 0) < since_ns)
                        break;
                seq--;
        }
        pthread_mutex_unlock(&l->lock);
        return seq;
}

size_t events_read(EventLog *l, uint64_t *cursor, int timeout_ms, json_t **out, size_t max)
{
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&l->lock);
        uint64_t gen = l->wake_gen;
        while (*cursor >= l->next && timeout_ms > 0 && gen == l->wake_gen) {
                if (pthread_cond_timedwait(&l->cond, &l->lock, &deadline) == ETIMEDOUT)
                        break;
        }
        uint64_t lo = oldest_locked(l);
        if (*cursor < lo)
                *cursor = lo;
        size_t n = 0;
        while (*cursor < l->next && n < max)
                /* a copy: readers run on their own threads, and the journal's entries are freed
                 * without them (a shared reference count would race with that) */
                out[n++] = json_deep_copy(l->ring[(*cursor)++ % EVENTS_JOURNAL_MAX]);
        pthread_mutex_unlock(&l->lock);
        return n;
}

void events_wake_all(EventLog *l)
{
        if (!l)
                return;
        pthread_mutex_lock(&l->lock);
        l->wake_gen++;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
}

/* ---- filters (moby daemon/events/filter.go) ---- */

static bool has_key(json_t *filters, const char *key)
{
        return json_array_size(json_object_get(filters, key)) > 0;
}

/* Args.ExactMatch: true when the key is unset, else when a value equals source. */
static bool exact(json_t *filters, const char *key, const char *source)
{
        json_t *vals = json_object_get(filters, key);
        if (json_array_size(vals) == 0)
                return true;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) if (source && json_is_string(v) && streq(json_string_value(v), source))
                return true;
        return false;
}

/* Args.FuzzyMatch: exact, or source starts with a value. */
static bool fuzzy(json_t *filters, const char *key, const char *source)
{
        if (exact(filters, key, source))
                return true;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(filters, key), i, v) if (source && json_is_string(v) &&
                                                                      startswith(source, json_string_value(v)))
                return true;
        return false;
}

static bool fuzzy_name(json_t *filters, json_t *ev, const char *type)
{
        json_t *actor = json_object_get(ev, "Actor");
        return fuzzy(filters, type, json_str(actor, "ID")) ||
               fuzzy(filters, type, json_str(json_object_get(actor, "Attributes"), "name"));
}

/* reference.FamiliarName of a parsed reference: no tag or digest, no docker.io/library/. */
static char *strip_tag(const char *image)
{
        if (!image)
                return NULL;
        char *s = xstrdup(image);
        char *at = strchr(s, '@');
        if (at)
                *at = 0;
        char *slash = strrchr(s, '/');
        char *colon = strrchr(slash ? slash : s, ':');
        if (colon)
                *colon = 0;
        const char *p = s;
        if (startswith(p, "docker.io/library/"))
                p += strlen("docker.io/library/");
        else if (startswith(p, "docker.io/"))
                p += strlen("docker.io/");
        char *r = xstrdup(p);
        free(s);
        return r;
}

static bool match_image(json_t *filters, json_t *ev)
{
        if (!has_key(filters, "image"))
                return true;
        json_t *actor = json_object_get(ev, "Actor");
        json_t *attrs = json_object_get(actor, "Attributes");
        const char *id = json_str(actor, "ID");
        const char *type = json_str(ev, "Type");
        const char *name = json_str(attrs, type && streq(type, "image") ? "name" : "image");
        _cleanup_free_ char *sid = strip_tag(id), *sname = strip_tag(name);
        return exact(filters, "image", id) || (name && exact(filters, "image", name)) ||
               exact(filters, "image", sid) || (sname && exact(filters, "image", sname));
}

/* Args.MatchKVList: every "k" or "k=v" must be in the attributes. */
static bool match_labels(json_t *filters, json_t *attrs)
{
        json_t *vals = json_object_get(filters, "label");
        if (json_array_size(vals) == 0)
                return true;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) {
                const char *f = json_string_value(v);
                if (!f)
                        return false;
                const char *eq = strchr(f, '=');
                if (!eq) {
                        if (!json_object_get(attrs, f))
                                return false;
                        continue;
                }
                _cleanup_free_ char *k = xstrndup(f, (size_t) (eq - f));
                const char *have = json_str(attrs, k);
                if (!have || !streq(have, eq + 1))
                        return false;
        }
        return true;
}

static bool match_event(json_t *filters, const char *action)
{
        /* moby#25798: "exec_create", "exec_start" and "health_status" match
         * their "exec_start: cmd" forms by prefix. */
        static const char *const fuzzy_ones[] = { "health_status", "exec_create", "exec_start" };
        if (!has_key(filters, "event"))
                return true;
        for (size_t k = 0; k < ELEMENTSOF(fuzzy_ones); k++)
                if (exact(filters, "event", fuzzy_ones[k]))
                        return fuzzy(filters, "event", action);
        return exact(filters, "event", action);
}

bool events_match(json_t *ev, json_t *filters)
{
        if (!filters || json_object_size(filters) == 0)
                return true;
        const char *type = json_str(ev, "Type");
        json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
        if (!match_event(filters, json_str(ev, "Action")))
                return false;
        if (!exact(filters, "type", type))
                return false;
        if (has_key(filters, "scope") && !exact(filters, "scope", json_str(ev, "scope")))
                return false;
        static const char *const named[] = { "container", "network", "volume", "plugin", "daemon",
                                             "node", "service", "secret", "config" };
        for (size_t i = 0; i < ELEMENTSOF(named); i++)
                if (has_key(filters, named[i]) && !fuzzy_name(filters, ev, named[i]))
                        return false;
        if (!match_image(filters, ev))
                return false;
        return match_labels(filters, attrs);
}

/* ---- emit helpers ---- */

void events_image(EventLog *l, const char *id, const char *name, json_t *labels, const char *action)
{
        if (!l)
                return;
        json_t *attrs = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) if (json_is_string(v))
                json_object_set(attrs, k, v);
        json_object_set_new(attrs, "name", json_string(name ? name : (id ? id : "")));
        events_log(l, "image", action, id, attrs);
}

void events_network(EventLog *l, const char *net_id, const char *name, const char *driver, const char *action,
                    const char *container_id)
{
        if (!l)
                return;
        json_t *attrs = json_pack("{s:s,s:s}", "name", name ? name : "", "type", driver ? driver : "bridge");
        if (container_id)
                json_object_set_new(attrs, "container", json_string(container_id));
        events_log(l, "network", action, net_id, attrs);
}

void events_volume(EventLog *l, const char *name, const char *driver, const char *action, json_t *extra)
{
        if (!l) {
                json_decref(extra);
                return;
        }
        json_t *attrs = json_pack("{s:s}", "driver", driver ? driver : "local");
        if (extra)
                json_object_update(attrs, extra);
        json_decref(extra);
        events_log(l, "volume", action, name, attrs);
}
