/* Legacy links (see links.h; moby@v20.10.24 daemon/links/links.go). */
#include "links.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/netglue.h"
#include "network/network.h"

/* "/web:/client/alias" -> target "web", alias "alias". */
static int parse_stored(const char *s, char **ret_target, char **ret_alias)
{
        const char *colon = strchr(s, ':');
        if (!colon)
                return -EINVAL;
        const char *t = s[0] == '/' ? s + 1 : s;
        const char *slash = strrchr(colon + 1, '/');
        *ret_target = xstrndup(t, (size_t) (colon - t));
        *ret_alias = xstrdup(slash ? slash + 1 : colon + 1);
        return 0;
}

int links_normalize_locked(Engine *e, Container *c, BerthError **err)
{
        json_t *hc = container_hostcfg(c);
        json_t *links = json_object_get(hc, "Links");
        if (json_array_size(links) == 0)
                return 0;
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(links, i, v) {
                const char *s = json_string_value(v);
                if (!s)
                        continue;
                /* Already stored form (a re-create from inspect output). */
                _cleanup_free_ char *name = NULL, *alias = NULL;
                if (s[0] == '/' && strchr(s, ':') && strchr(strchr(s, ':'), '/')) {
                        parse_stored(s, &name, &alias);
                } else {
                        const char *colon = strchr(s, ':');
                        name = colon ? xstrndup(s, (size_t) (colon - s)) : xstrdup(s);
                        const char *a = colon ? colon + 1 : s;
                        alias = xstrdup(a[0] == '/' ? a + 1 : a);
                }
                int amb = 0;
                Container *t = container_find_locked(e, name, &amb);
                if (!t) {
                        json_decref(out);
                        return berr_set(err, EINVAL, "could not get container for %s: No such container: %s",
                                        name, name);
                }
                if (t == c) {
                        json_decref(out);
                        return berr_set(err, EINVAL, "Cannot link to self: /%s", c->name);
                }
                json_array_append_new(out, json_sprintf("/%s:/%s/%s", t->name, c->name, alias));
        }
        json_object_set_new(hc, "Links", out);
        return 0;
}

/* The target's address on the default bridge (or its first network). */
static char *container_ip(Engine *e, Container *t)
{
        _cleanup_json_ json_t *ns = container_network_settings(e, t, true, false);
        json_t *nets = json_object_get(ns, "Networks");
        json_t *br = json_object_get(nets, "bridge");
        const char *ip = json_str(br, "IPAddress");
        if (ip && *ip)
                return xstrdup(ip);
        const char *k;
        json_t *n;
        json_object_foreach(nets, k, n) {
                ip = json_str(n, "IPAddress");
                if (ip && *ip)
                        return xstrdup(ip);
        }
        return NULL;
}

typedef struct LinkTarget {
        Container *t; /* referenced */
        char *alias;
        char *ip;
} LinkTarget;

static void targets_free(LinkTarget *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                container_unref(v[i].t);
                free(v[i].alias);
                free(v[i].ip);
        }
        free(v);
}

/* Resolves c's links; with check, a missing or stopped target is an error. */
static int resolve_targets(Engine *e, Container *c, bool check, LinkTarget **ret, size_t *ret_n, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        _cleanup_json_ json_t *links = json_deep_copy(json_object_get(container_hostcfg(c), "Links"));
        _cleanup_free_ char *myname = xstrdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        size_t n = json_array_size(links), k = 0;
        LinkTarget *v = xcalloc(n + 1, sizeof(*v));
        if (!v)
                return berr_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(links, i));
                _cleanup_free_ char *name = NULL, *alias = NULL;
                if (!s || parse_stored(s, &name, &alias) < 0)
                        continue;
                Container *t = NULL;
                if (container_get(e, name, &t, NULL) < 0) {
                        if (!check)
                                continue;
                        targets_free(v, k);
                        return berr_set(err, EINVAL, "could not get container for %s: No such container: %s", name,
                                        name);
                }
                pthread_mutex_lock(&e->lock);
                bool running = t->status == CSTATUS_RUNNING || t->status == CSTATUS_PAUSED;
                pthread_mutex_unlock(&e->lock);
                char *ip = running ? container_ip(e, t) : NULL;
                if (!ip) {
                        container_unref(t);
                        if (!check)
                                continue;
                        targets_free(v, k);
                        return berr_set(err, EIO, "Cannot link to a non running container: /%s AS /%s/%s", name,
                                        myname, alias);
                }
                v[k].t = t;
                v[k].alias = TAKE_PTR(alias);
                v[k].ip = ip;
                k++;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

static char *hosts_line(Engine *e, LinkTarget *l)
{
        pthread_mutex_lock(&e->lock);
        char *s = xasprintf("%s\t%s %.12s %s\n", l->ip, l->alias, l->t->id, l->t->name);
        pthread_mutex_unlock(&e->lock);
        return s;
}

/* Rewrites the file in place: the container sees it through a bind mount of this inode. */
static int write_in_place(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return loop_write(fd, s, strlen(s));
}

/* Drops lines whose names (after the address) are exactly `names`, then appends add (may be NULL). */
static char *hosts_replace(const char *old, const char *alias, const char *add)
{
        size_t cap = strlen(old) + (add ? strlen(add) : 0) + 1, n = 0;
        char *out = xmalloc(cap);
        if (!out)
                return NULL;
        const char *p = old;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p + 1) : strlen(p);
                const char *tab = memchr(p, '\t', len);
                bool drop = false;
                if (tab) {
                        size_t al = strlen(alias);
                        drop = (size_t) (p + len - tab - 1) > al && strneq(tab + 1, alias, al) && tab[1 + al] == ' ';
                }
                if (!drop) {
                        memcpy(out + n, p, len);
                        n += len;
                }
                p += len;
        }
        if (add) {
                memcpy(out + n, add, strlen(add));
                n += strlen(add);
        }
        out[n] = 0;
        return out;
}

static int hosts_set_entry(Engine *e, Container *parent, const char *alias, const char *line)
{
        _cleanup_free_ char *dir = container_dir(e, parent->id);
        _cleanup_free_ char *path = xasprintf("%s/hosts", dir);
        _cleanup_free_ char *old = NULL;
        int r = read_file(path, &old, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *updated = hosts_replace(old, alias, line);
        if (!updated)
                return -ENOMEM;
        if (streq(updated, old))
                return 0;
        return write_in_place(path, updated);
}

int links_prepare(Engine *e, Container *c, BerthError **err)
{
        LinkTarget *v = NULL;
        size_t n = 0;
        int r = resolve_targets(e, c, true, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *line = hosts_line(e, &v[i]);
                hosts_set_entry(e, c, v[i].alias, line);
        }
        targets_free(v, n);
        return 0;
}

static void env_put(json_t *env, char *kv)
{
        const char *eq = strchr(kv, '=');
        size_t kl = eq ? (size_t) (eq - kv) : strlen(kv);
        size_t i;
        json_t *x;
        json_array_foreach(env, i, x) {
                const char *s = json_string_value(x);
                if (s && strneq(s, kv, kl) && (s[kl] == '=' || s[kl] == 0)) {
                        json_array_set_new(env, i, json_string(kv));
                        free(kv);
                        return;
                }
        }
        json_array_append_new(env, json_string(kv));
        free(kv);
}

typedef struct Port {
        int num;
        char proto[8];
} Port;

static int port_cmp(const void *a, const void *b)
{
        const Port *x = a, *y = b;
        if (x->num != y->num)
                return x->num - y->num;
        /* tcp first on ties */
        return (strcmp(y->proto, "tcp") == 0) - (strcmp(x->proto, "tcp") == 0);
}

static void upper_proto(char *dst, const char *src)
{
        size_t i = 0;
        for (; src[i] && i < 7; i++)
                dst[i] = (char) (src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
        dst[i] = 0;
}

static void link_env(json_t *env, const char *myname, LinkTarget *l, json_t *tcfg)
{
        _cleanup_free_ char *A = xstrdup(l->alias);
        for (char *p = A; *p; p++)
                *p = *p == '-' ? '_' : (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        const char *ip = l->ip;
        json_t *exposed = json_object_get(tcfg, "ExposedPorts");
        size_t np = 0, cap = json_object_size(exposed);
        Port *ports = xcalloc(cap + 1, sizeof(*ports));
        const char *k;
        json_t *v;
        json_object_foreach(exposed, k, v) {
                int num = atoi(k);
                const char *slash = strchr(k, '/');
                if (num <= 0)
                        continue;
                ports[np].num = num;
                snprintf(ports[np].proto, sizeof(ports[np].proto), "%s", slash ? slash + 1 : "tcp");
                np++;
        }
        qsort(ports, np, sizeof(*ports), port_cmp);
        if (np > 0)
                env_put(env, xasprintf("%s_PORT=%s://%s:%d", A, ports[0].proto, ip, ports[0].num));
        for (size_t i = 0; i < np; i++) {
                char P[8];
                upper_proto(P, ports[i].proto);
                const char *pr = ports[i].proto;
                int n = ports[i].num;
                env_put(env, xasprintf("%s_PORT_%d_%s=%s://%s:%d", A, n, P, pr, ip, n));
                env_put(env, xasprintf("%s_PORT_%d_%s_ADDR=%s", A, n, P, ip));
                env_put(env, xasprintf("%s_PORT_%d_%s_PORT=%d", A, n, P, n));
                env_put(env, xasprintf("%s_PORT_%d_%s_PROTO=%s", A, n, P, pr));
        }
        /* Runs of contiguous ports of one protocol get _START/_END variables. */
        for (size_t i = 0; i < np;) {
                size_t j = i;
                for (size_t m = i + 1; m < np; m++) {
                        if (strcmp(ports[m].proto, ports[i].proto) != 0)
                                continue;
                        if (ports[m].num == ports[j].num + 1)
                                j = m;
                        else if (ports[m].num > ports[j].num + 1)
                                break;
                }
                if (j != i) {
                        char P[8];
                        upper_proto(P, ports[i].proto);
                        const char *pr = ports[i].proto;
                        int f = ports[i].num, last = ports[j].num;
                        env_put(env, xasprintf("%s_PORT_%d_%s_START=%s://%s:%d", A, f, P, pr, ip, f));
                        env_put(env, xasprintf("%s_PORT_%d_%s_PORT_START=%d", A, f, P, f));
                        env_put(env, xasprintf("%s_PORT_%d_%s_END=%s://%s:%d", A, f, P, pr, ip, last));
                        env_put(env, xasprintf("%s_PORT_%d_%s_PORT_END=%d", A, f, P, last));
                        i = j + 1;
                } else
                        i++;
        }
        free(ports);
        env_put(env, xasprintf("%s_NAME=/%s/%s", A, myname, l->alias));
        size_t i;
        json_array_foreach(json_object_get(tcfg, "Env"), i, v) {
                const char *s = json_string_value(v);
                if (!s || startswith(s, "HOME=") || startswith(s, "PATH=") || !strchr(s, '='))
                        continue;
                env_put(env, xasprintf("%s_ENV_%s", A, s));
        }
}

void links_env(Engine *e, Container *c, json_t *env)
{
        LinkTarget *v = NULL;
        size_t n = 0;
        if (resolve_targets(e, c, false, &v, &n, NULL) < 0)
                return;
        pthread_mutex_lock(&e->lock);
        _cleanup_free_ char *myname = xstrdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        for (size_t i = 0; i < n; i++)
                link_env(env, myname, &v[i], container_cfg(v[i].t));
        targets_free(v, n);
}

void links_update_parents(Engine *e, Container *c)
{
        size_t n = 0;
        Container **all = container_list_all(e, &n);
        if (!all)
                return;
        pthread_mutex_lock(&e->lock);
        _cleanup_free_ char *myname = xstrdup(c->name ? c->name : "");
        pthread_mutex_unlock(&e->lock);
        _cleanup_free_ char *ip = NULL;
        for (size_t i = 0; i < n; i++) {
                Container *p = all[i];
                pthread_mutex_lock(&e->lock);
                bool running = p != c && (p->status == CSTATUS_RUNNING || p->status == CSTATUS_PAUSED);
                _cleanup_json_ json_t *links = running ? json_deep_copy(json_object_get(container_hostcfg(p), "Links"))
                                                       : NULL;
                pthread_mutex_unlock(&e->lock);
                size_t k;
                json_t *x;
                json_array_foreach(links, k, x) {
                        _cleanup_free_ char *name = NULL, *alias = NULL;
                        if (!json_string_value(x) || parse_stored(json_string_value(x), &name, &alias) < 0 ||
                            !streq(name, myname))
                                continue;
                        if (!ip)
                                ip = container_ip(e, c);
                        if (!ip)
                                break;
                        LinkTarget l = { .t = c, .alias = alias, .ip = ip };
                        _cleanup_free_ char *line = hosts_line(e, &l);
                        hosts_set_entry(e, p, alias, line);
                }
        }
        container_list_free(all, n);
}

int links_remove(Engine *e, const char *parent, const char *alias, BerthError **err)
{
        _cleanup_container_ Container *p = NULL;
        if (container_get(e, parent, &p, NULL) < 0)
                return berr_set(err, ENOENT, "Cannot get parent /%s for link name /%s/%s", parent, parent, alias);
        pthread_mutex_lock(&e->lock);
        json_t *hc = container_hostcfg(p);
        json_t *links = json_object_get(hc, "Links");
        bool found = false;
        for (size_t i = 0; i < json_array_size(links);) {
                _cleanup_free_ char *name = NULL, *a = NULL;
                const char *s = json_string_value(json_array_get(links, i));
                if (s && parse_stored(s, &name, &a) == 0 && streq(a, alias)) {
                        json_array_remove(links, i);
                        found = true;
                        continue;
                }
                i++;
        }
        if (found)
                container_save(e, p);
        bool running = p->status == CSTATUS_RUNNING || p->status == CSTATUS_PAUSED;
        pthread_mutex_unlock(&e->lock);
        if (!found)
                return berr_set(err, ENOENT, "No such container: /%s/%s", parent, alias);
        if (running)
                hosts_set_entry(e, p, alias, NULL);
        return 0;
}
