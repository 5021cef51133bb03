/* The etcd-backed service registry; see discovery.h and docs/discovery.md. */
#include "discovery.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/base64.h"
#include "basic/util.h"
#include "discovery/etcd.h"
#include "state/events.h"
#include "network/network.h"

#define CALL_TIMEOUT_MS 2000

typedef struct Entry {
        char *key, *name, *engine, *host;
        json_t *ports; /* [{"proto","container_port","host_ip","host_port"}] */
} Entry;

struct Discovery {
        DiscoveryHost e;   /* the engine's values and callbacks */
        NetResolver resolver;
        Etcd *etcd;
        char **endpoints;
        int ttl;
        bool advertise_fixed;
        char advertise[INET_ADDRSTRLEN];
        pthread_t reg, watch;
        bool reg_started, watch_started;
        int stopping;    /* atomic */
        int watch_reset; /* atomic: the registrar lost etcd, the watcher should reconnect */

        pthread_mutex_t lock; /* the cache */
        Entry *cache;
        size_t n_cache;

        /* registrar thread only */
        char lease[32]; /* "" when none */
        json_t *published; /* container id -> {"key","value"} */
        uint64_t cursor;
};

static bool stopping(Discovery *d)
{
        return __atomic_load_n(&d->stopping, __ATOMIC_RELAXED);
}

static void nap_ms(Discovery *d, int ms)
{
        for (; ms > 0 && !stopping(d); ms -= 100) {
                struct timespec ts = { 0, (ms < 100 ? ms : 100) * 1000000L };
                nanosleep(&ts, NULL);
        }
}

int discovery_parse_url(const char *url, char ***ret, BerthError **err)
{
        if (!startswith(url, "etcd://"))
                return berr_set(err, EINVAL, "unsupported discovery backend \"%s\" (want etcd://host:port[,host:port...])",
                                url);
        _cleanup_free_ char *s = strdup(url + strlen("etcd://"));
        _cleanup_strv_free_ char **v = NULL;
        char *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (startswith(t, "etcd://"))
                        t += strlen("etcd://");
                size_t l = strlen(t);
                if (l && t[l - 1] == '/')
                        t[--l] = 0;
                char *colon = strrchr(t, ':');
                if (!l || !colon || colon == t || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535 || strchr(t, '/'))
                        return berr_set(err, EINVAL, "invalid etcd endpoint \"%s\" in %s (want host:port)", t, url);
                strv_extend(&v, t);
        }
        if (!v)
                return berr_set(err, EINVAL, "no etcd endpoint in %s", url);
        *ret = TAKE_PTR(v);
        return 0;
}

/* The address other hosts reach us at: the source address of the route
 * towards the first etcd endpoint that resolves. */
static void detect_advertise(Discovery *d)
{
        if (d->advertise_fixed)
                return;
        for (size_t i = 0; d->endpoints[i]; i++) {
                _cleanup_free_ char *host = strdup(d->endpoints[i]);
                char *colon = strrchr(host, ':');
                *colon = 0;
                struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
                if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
                        continue;
                _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in sa;
                socklen_t sl = sizeof(sa);
                bool ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                          getsockname(fd, (struct sockaddr *) &sa, &sl) == 0;
                freeaddrinfo(ai);
                if (ok && inet_ntop(AF_INET, &sa.sin_addr, d->advertise, sizeof(d->advertise)))
                        return;
        }
}

/* ---- the cache ---- */

static void entry_clear(Entry *x)
{
        free(x->key);
        free(x->name);
        free(x->engine);
        free(x->host);
        json_decref(x->ports);
        memset(x, 0, sizeof(*x));
}

/* d->lock held */
static void cache_del(Discovery *d, const char *key)
{
        for (size_t i = 0; i < d->n_cache; i++)
                if (streq(d->cache[i].key, key)) {
                        entry_clear(&d->cache[i]);
                        d->cache[i] = d->cache[--d->n_cache];
                        return;
                }
}

/* d->lock held; key and value decoded */
static void cache_put(Discovery *d, const char *key, const char *value)
{
        cache_del(d, key);
        _cleanup_json_ json_t *v = json_loads(value, 0, NULL);
        const char *name = json_str(v, "name"), *engine = json_str(v, "engine"), *host = json_str(v, "host");
        if (!name || !engine)
                return;
        Entry *nc = realloc(d->cache, (d->n_cache + 1) * sizeof(*nc));
        if (!nc)
                return;
        d->cache = nc;
        Entry *x = &d->cache[d->n_cache++];
        x->key = strdup(key);
        x->name = strdup(name);
        x->engine = strdup(engine);
        x->host = strdup(host ? host : "");
        x->ports = json_is_array(json_object_get(v, "ports")) ? json_incref(json_object_get(v, "ports")) : json_array();
}

/* kv: {"key":b64,"value":b64}; del: a DELETE event */
static void cache_apply_kv(Discovery *d, json_t *kv, bool del)
{
        const char *k64 = json_str(kv, "key"), *v64 = json_str(kv, "value");
        if (!k64)
                return;
        _cleanup_free_ char *key = base64_decode(k64, NULL);
        _cleanup_free_ char *val = !del && v64 ? base64_decode(v64, NULL) : NULL;
        if (!key)
                return;
        pthread_mutex_lock(&d->lock);
        if (del || !val)
                cache_del(d, key);
        else
                cache_put(d, key, val);
        pthread_mutex_unlock(&d->lock);
}

/* ---- etcd requests ---- */

static json_t *prefix_range_req(void)
{
        _cleanup_free_ char *k = base64_encode(DISCOVERY_PREFIX, strlen(DISCOVERY_PREFIX));
        _cleanup_free_ char *end = etcd_prefix_end_b64(DISCOVERY_PREFIX);
        return json_pack("{s:s,s:s}", "key", k, "range_end", end);
}

static int kv_put(Discovery *d, const char *key, const char *value)
{
        _cleanup_free_ char *k = base64_encode(key, strlen(key)), *v = base64_encode(value, strlen(value));
        _cleanup_json_ json_t *req = json_pack("{s:s,s:s,s:s}", "key", k, "value", v, "lease", d->lease);
        _cleanup_json_ json_t *rep = NULL;
        return etcd_call(d->etcd, "/v3/kv/put", req, &rep, CALL_TIMEOUT_MS);
}

static int kv_del(Discovery *d, const char *key)
{
        _cleanup_free_ char *k = base64_encode(key, strlen(key));
        _cleanup_json_ json_t *req = json_pack("{s:s}", "key", k);
        _cleanup_json_ json_t *rep = NULL;
        return etcd_call(d->etcd, "/v3/kv/deleterange", req, &rep, CALL_TIMEOUT_MS);
}

static int lease_grant(Discovery *d)
{
        _cleanup_json_ json_t *req = json_pack("{s:i}", "TTL", d->ttl);
        _cleanup_json_ json_t *rep = NULL;
        int r = etcd_call(d->etcd, "/v3/lease/grant", req, &rep, CALL_TIMEOUT_MS);
        if (r < 0)
                return r;
        const char *id = json_str(rep, "ID");
        if (!id || !*id || json_str(rep, "error"))
                return -EPROTO;
        snprintf(d->lease, sizeof(d->lease), "%s", id);
        return 0;
}

static int lease_keepalive(Discovery *d)
{
        _cleanup_json_ json_t *req = json_pack("{s:s}", "ID", d->lease);
        _cleanup_json_ json_t *rep = NULL;
        int r = etcd_call(d->etcd, "/v3/lease/keepalive", req, &rep, CALL_TIMEOUT_MS);
        if (r < 0)
                return r;
        /* An expired or revoked lease comes back without a TTL. */
        json_t *res = json_object_get(rep, "result");
        const char *ttl = json_str(res, "TTL");
        return ttl && atoll(ttl) > 0 ? 0 : -ENOENT;
}

/* ---- the registrar ---- */

static void add_addr(json_t *arr, const char *network, const char *ip)
{
        if (ip && *ip)
                json_array_append_new(arr, json_pack("{s:s,s:s}", "network", network, "ip", ip));
}

/* The record of a running container, NULL when it is not running (or gone). */
static json_t *record_for(Discovery *d, const char *cid, char **ret_name)
{
        DiscoveryHost *e = &d->e;
        _cleanup_free_ char *name = NULL;
        _cleanup_json_ json_t *ns = e->record(e->cls, cid, &name);
        if (!ns)
                return NULL;
        json_t *ports = json_array(), *addrs = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(ns, "Ports"), k, v) {
                int cport = 0;
                char proto[8] = "tcp";
                if (sscanf(k, "%d/%7s", &cport, proto) < 1 || cport <= 0)
                        continue;
                size_t i;
                json_t *b;
                json_array_foreach(v, i, b) {
                        const char *hip = json_str(b, "HostIp"), *hp = json_str(b, "HostPort");
                        if (!hp || atoi(hp) <= 0 || (hip && strchr(hip, ':')))
                                continue; /* IPv4 only */
                        json_array_append_new(ports, json_pack("{s:s,s:i,s:s,s:i}", "proto", proto, "container_port",
                                                               cport, "host_ip", hip && *hip ? hip : "0.0.0.0",
                                                               "host_port", atoi(hp)));
                }
        }
        json_object_foreach(json_object_get(ns, "Networks"), k, v) add_addr(addrs, k, json_str(v, "IPAddress"));
        *ret_name = TAKE_PTR(name);
        return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "name", *ret_name, "container", cid, "engine", e->engine_id, "host",
                         d->advertise, "addresses", addrs, "ports", ports);
}

/* Makes etcd agree with the container's state. 0 or -EIO (etcd lost). */
static int reconcile(Discovery *d, const char *cid)
{
        _cleanup_free_ char *name = NULL;
        _cleanup_json_ json_t *rec = record_for(d, cid, &name);
        json_t *pub = json_object_get(d->published, cid);
        const char *pkey = json_str(pub, "key");
        int r;
        if (!rec) {
                if (!pub)
                        return 0;
                r = kv_del(d, pkey);
                if (r < 0)
                        return r;
                json_object_del(d->published, cid);
                return 0;
        }
        _cleanup_free_ char *key = xasprintf(DISCOVERY_PREFIX "%s/%s", name, d->e.engine_id);
        _cleanup_free_ char *val = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        if (pub && streq(pkey, key) && streq(json_str(pub, "value"), val))
                return 0;
        if (pub && !streq(pkey, key)) {
                r = kv_del(d, pkey);
                if (r < 0)
                        return r;
        }
        r = kv_put(d, key, val);
        if (r < 0)
                return r;
        json_object_set_new(d->published, cid, json_pack("{s:s,s:s}", "key", key, "value", val));
        return 0;
}

/* After a (new) lease: registers every running container and deletes what an
 * earlier life of this engine left behind. */
static int resync(Discovery *d)
{
        DiscoveryHost *e = &d->e;
        d->cursor = events_head(e->events);
        json_object_clear(d->published);
        _cleanup_strv_free_ char **stale = NULL;
        {
                _cleanup_json_ json_t *req = prefix_range_req();
                _cleanup_json_ json_t *rep = NULL;
                int r = etcd_call(d->etcd, "/v3/kv/range", req, &rep, CALL_TIMEOUT_MS);
                if (r < 0)
                        return r;
                _cleanup_free_ char *suffix = xasprintf("/%s", e->engine_id);
                size_t i;
                json_t *kv;
                json_array_foreach(json_object_get(rep, "kvs"), i, kv) {
                        _cleanup_free_ char *key = json_str(kv, "key") ? base64_decode(json_str(kv, "key"), NULL) : NULL;
                        if (key && endswith(key, suffix))
                                strv_extend(&stale, key);
                }
        }
        _cleanup_strv_free_ char **all = e->container_ids(e->cls);
        int r = 0;
        for (size_t i = 0; all && all[i] && r == 0; i++)
                r = reconcile(d, all[i]);
        if (r < 0)
                return r;
        for (size_t i = 0; stale && stale[i]; i++) {
                bool live = false;
                const char *k;
                json_t *v;
                json_object_foreach(d->published, k, v) live |= streq(json_str(v, "key"), stale[i]);
                if (!live && kv_del(d, stale[i]) < 0)
                        return -EIO;
        }
        return 0;
}

static bool relevant(json_t *ev, const char **cid)
{
        const char *type = json_str(ev, "Type"), *action = json_str(ev, "Action");
        json_t *actor = json_object_get(ev, "Actor");
        if (!type || !action)
                return false;
        if (streq(type, "container")) {
                static const char *const acts[] = { "start", "die", "destroy", "rename", "restart", "update", "unpause" };
                for (size_t i = 0; i < ELEMENTSOF(acts); i++)
                        if (streq(action, acts[i])) {
                                *cid = json_str(actor, "ID");
                                return *cid != NULL;
                        }
                return false;
        }
        if (streq(type, "network") && (streq(action, "connect") || streq(action, "disconnect"))) {
                *cid = json_str(json_object_get(actor, "Attributes"), "container");
                return *cid != NULL;
        }
        return false;
}

static void lost(Discovery *d, const char *what)
{
        if (d->lease[0])
                log_warn("discovery: %s failed, etcd unreachable; serving cached entries until it is back", what);
        d->lease[0] = 0;
        __atomic_store_n(&d->watch_reset, 1, __ATOMIC_RELAXED);
}

static void *registrar(void *arg)
{
        Discovery *d = arg;
        DiscoveryHost *e = &d->e;
        const int ka_ms = d->ttl * 300; /* keepalive at 30 % of the TTL */
        int64_t next_ka = 0;
        bool warned = false;
        while (!stopping(d)) {
                if (!d->lease[0]) {
                        detect_advertise(d);
                        if (lease_grant(d) < 0) {
                                if (!warned)
                                        log_warn("discovery: cannot reach etcd at %s; retrying", d->endpoints[0]);
                                warned = true;
                                nap_ms(d, 1000);
                                continue;
                        }
                        if (resync(d) < 0) {
                                lost(d, "registering");
                                nap_ms(d, 1000);
                                continue;
                        }
                        log_info("discovery: registered with etcd (lease %s, ttl %d s, advertising %s)", d->lease,
                                 d->ttl, d->advertise);
                        warned = false;
                        next_ka = now_ns() + (int64_t) ka_ms * 1000000;
                }
                int64_t wait_ms = (next_ka - now_ns()) / 1000000;
                if (wait_ms > 500)
                        wait_ms = 500; /* for a prompt stop */
                json_t *evs[64];
                size_t n = events_read(e->events, &d->cursor, wait_ms > 0 ? (int) wait_ms : 0, evs, ELEMENTSOF(evs));
                int r = 0;
                for (size_t i = 0; i < n; i++) {
                        const char *cid = NULL;
                        if (r == 0 && relevant(evs[i], &cid))
                                r = reconcile(d, cid);
                        json_decref(evs[i]);
                }
                if (r < 0) {
                        lost(d, "registering a container");
                        continue;
                }
                if (now_ns() >= next_ka) {
                        r = lease_keepalive(d);
                        if (r == -ENOENT) {
                                log_warn("discovery: lease %s expired; registering again", d->lease);
                                d->lease[0] = 0;
                                continue;
                        }
                        if (r < 0) {
                                lost(d, "lease keepalive");
                                continue;
                        }
                        next_ka = now_ns() + (int64_t) ka_ms * 1000000;
                }
        }
        return NULL;
}

/* ---- the watcher ---- */

static bool watch_abort(void *arg)
{
        Discovery *d = arg;
        return stopping(d) || __atomic_load_n(&d->watch_reset, __ATOMIC_RELAXED);
}

static int on_watch(void *arg, json_t *msg)
{
        Discovery *d = arg;
        json_t *res = json_object_get(msg, "result");
        if (!res)
                return -1; /* {"error":...} */
        if (json_bool(res, "canceled") || atoll(json_str(res, "compact_revision") ?: "0") > 0)
                return -1;
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(res, "events"), i, ev) {
                const char *type = json_str(ev, "type");
                cache_apply_kv(d, json_object_get(ev, "kv"), type && streq(type, "DELETE"));
        }
        return 0;
}

static void *watcher(void *arg)
{
        Discovery *d = arg;
        while (!stopping(d)) {
                __atomic_store_n(&d->watch_reset, 0, __ATOMIC_RELAXED);
                _cleanup_json_ json_t *req = prefix_range_req();
                _cleanup_json_ json_t *rep = NULL;
                if (etcd_call(d->etcd, "/v3/kv/range", req, &rep, CALL_TIMEOUT_MS) < 0) {
                        nap_ms(d, 1000); /* keep serving the cache */
                        continue;
                }
                long long rev = atoll(json_str(json_object_get(rep, "header"), "revision") ?: "0");
                pthread_mutex_lock(&d->lock);
                for (size_t i = 0; i < d->n_cache; i++)
                        entry_clear(&d->cache[i]);
                d->n_cache = 0;
                pthread_mutex_unlock(&d->lock);
                size_t i;
                json_t *kv;
                json_array_foreach(json_object_get(rep, "kvs"), i, kv) cache_apply_kv(d, kv, false);
                _cleanup_free_ char *start = xasprintf("%lld", rev + 1);
                _cleanup_json_ json_t *wreq = json_pack("{s:{s:O,s:O,s:s,s:b}}", "create_request", "key",
                                                        json_object_get(req, "key"), "range_end",
                                                        json_object_get(req, "range_end"), "start_revision", start,
                                                        "progress_notify", true);
                etcd_watch(d->etcd, wreq, on_watch, watch_abort, d);
                nap_ms(d, 200);
        }
        return NULL;
}

/* ---- lifecycle ---- */

static bool resolver_has_name(void *cls, const char *name)
{
        return discovery_has_name(cls, name);
}

static int resolver_lookup_a(void *cls, const char *name, struct in_addr *out, int max)
{
        return discovery_lookup_a(cls, name, out, max);
}

static int resolver_lookup_srv(void *cls, const char *name, NetSrv *out, int max)
{
        return discovery_lookup_srv(cls, name, out, max);
}

int discovery_start(const DiscoveryHost *h, Discovery **ret, BerthError **err)
{
        *ret = NULL;
        if (!h->url || !*h->url)
                return 0;
        _cleanup_strv_free_ char **eps = NULL;
        int r = discovery_parse_url(h->url, &eps, err);
        if (r < 0)
                return r;
        Discovery *d = calloc(1, sizeof(*d));
        if (!d)
                return berr_set(err, ENOMEM, "out of memory");
        d->e = *h;
        d->ttl = h->ttl > 0 ? h->ttl : DISCOVERY_DEFAULT_TTL;
        if (h->advertise && *h->advertise) {
                struct in_addr a;
                if (inet_pton(AF_INET, h->advertise, &a) != 1) {
                        free(d);
                        return berr_set(err, EINVAL, "invalid --discovery-advertise address \"%s\" (want an IPv4 address)",
                                        h->advertise);
                }
                snprintf(d->advertise, sizeof(d->advertise), "%s", h->advertise);
                d->advertise_fixed = true;
        }
        d->endpoints = TAKE_PTR(eps);
        d->etcd = etcd_new(d->endpoints);
        d->published = json_object();
        pthread_mutex_init(&d->lock, NULL);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        d->cursor = events_head(h->events);
        d->resolver = (NetResolver) { .has_name = resolver_has_name, .lookup_a = resolver_lookup_a,
                                      .lookup_srv = resolver_lookup_srv, .cls = d };
        if (h->net)
                network_set_resolver(h->net, &d->resolver);
        d->reg_started = pthread_create(&d->reg, NULL, registrar, d) == 0;
        d->watch_started = pthread_create(&d->watch, NULL, watcher, d) == 0;
        if (!d->reg_started || !d->watch_started) {
                discovery_stop(d);
                return berr_set(err, EAGAIN, "cannot start the discovery threads");
        }
        *ret = d;
        return 0;
}

void discovery_stop(Discovery *d)
{
        if (!d)
                return;
        if (d->e.net)
                network_set_resolver(d->e.net, NULL);
        __atomic_store_n(&d->stopping, 1, __ATOMIC_RELAXED);
        if (d->reg_started)
                pthread_join(d->reg, NULL);
        if (d->watch_started)
                pthread_join(d->watch, NULL);
        for (size_t i = 0; i < d->n_cache; i++)
                entry_clear(&d->cache[i]);
        free(d->cache);
        json_decref(d->published);
        etcd_free(d->etcd);
        strv_free(d->endpoints);
        pthread_mutex_destroy(&d->lock);
        free(d);
}

/* ---- lookups ---- */

static bool name_matches(Entry *x, const char *name, bool allow_engine)
{
        if (!strcasecmp(x->name, name))
                return true;
        /* <engine-id[:12]>.<name>: one host's instance (the SRV targets) */
        return allow_engine && strlen(name) > 13 && name[12] == '.' && !strncasecmp(x->engine, name, 12) &&
               !strcasecmp(x->name, name + 13);
}

static bool addr_of_port(Entry *x, json_t *p, struct in_addr *out)
{
        const char *hip = p ? json_str(p, "host_ip") : NULL;
        if (hip && inet_pton(AF_INET, hip, out) == 1 && out->s_addr != INADDR_ANY && (ntohl(out->s_addr) >> 24) != 127)
                return true;
        return inet_pton(AF_INET, x->host, out) == 1 && out->s_addr != INADDR_ANY;
}

static int push_addr(struct in_addr a, struct in_addr *out, int n, int max)
{
        for (int i = 0; i < n; i++)
                if (out[i].s_addr == a.s_addr)
                        return n;
        if (n < max)
                out[n++] = a;
        return n;
}

bool discovery_has_name(Discovery *d, const char *name)
{
        if (!d)
                return false;
        bool found = false;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_cache && !found; i++)
                found = name_matches(&d->cache[i], name, true);
        pthread_mutex_unlock(&d->lock);
        return found;
}

int discovery_lookup_a(Discovery *d, const char *name, struct in_addr *out, int max)
{
        if (!d)
                return 0;
        int n = 0;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_cache; i++) {
                Entry *x = &d->cache[i];
                if (!name_matches(x, name, true))
                        continue;
                struct in_addr a;
                size_t k;
                json_t *p;
                json_array_foreach(x->ports, k, p) if (addr_of_port(x, p, &a)) n = push_addr(a, out, n, max);
                if (!json_array_size(x->ports) && addr_of_port(x, NULL, &a))
                        n = push_addr(a, out, n, max);
        }
        pthread_mutex_unlock(&d->lock);
        return n;
}

int discovery_lookup_srv(Discovery *d, const char *qname, DiscoverySrv *out, int max)
{
        if (!d || qname[0] != '_')
                return 0;
        /* _<port>._<proto>.<name> or _<name>._<proto> */
        const char *dot = strchr(qname, '.');
        if (!dot || dot[1] != '_')
                return 0;
        _cleanup_free_ char *first = strndup(qname + 1, (size_t) (dot - qname - 1));
        const char *pstart = dot + 2, *pend = strchr(pstart, '.');
        _cleanup_free_ char *proto = pend ? strndup(pstart, (size_t) (pend - pstart)) : strdup(pstart);
        const char *svc = pend ? pend + 1 : first;
        int want_port = 0;
        if (pend) {
                char *end = NULL;
                long v = strtol(first, &end, 10);
                if (!*first || *end || v <= 0 || v > 65535)
                        return 0;
                want_port = (int) v;
        }
        int n = 0;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_cache && n < max; i++) {
                Entry *x = &d->cache[i];
                if (!name_matches(x, svc, false))
                        continue;
                size_t k;
                json_t *p;
                json_array_foreach(x->ports, k, p) {
                        const char *pp = json_str(p, "proto");
                        if (n >= max || !pp || strcasecmp(pp, proto) ||
                            (want_port && json_int(p, "container_port", 0) != want_port))
                                continue;
                        DiscoverySrv *s = &out[n];
                        if (!addr_of_port(x, p, &s->addr))
                                continue;
                        s->port = (uint16_t) json_int(p, "host_port", 0);
                        snprintf(s->target, sizeof(s->target), "%.12s.%s", x->engine, x->name);
                        n++;
                }
        }
        pthread_mutex_unlock(&d->lock);
        return n;
}
