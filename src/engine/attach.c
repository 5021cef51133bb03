/* attach: a hijacked client connection proxied to the monitor's attach op.
 * Attaches made before start wait in c->attaches; start connects them to the
 * monitor before it releases the process, so no output is missed. */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/stdcopy.h"
#include "basic/util.h"
#include "container.h"
#include "state/events.h"

struct PendingAttach {
        AttachOptions o;
        int mon_fd;     /* set by start; -1 while pending */
        bool cancelled; /* the container was removed or its start failed */
        bool taken;     /* start owns it until it sets mon_fd or failed */
        bool failed;
        PendingAttach *next;
};

int container_attach_prepare(Engine *e, const char *ref, Container **ret, BerthError **err)
{
        return container_get(e, ref, ret, err);
}

static int open_attach(Engine *e, Container *c, const AttachOptions *o)
{
        int fd = container_monitor_connect(e, c->id);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *req = xasprintf("{\"op\":\"attach\",\"stdin\":%s,\"stdout\":%s,\"stderr\":%s}\n",
                                             o->in ? "true" : "false", o->out ? "true" : "false",
                                             o->err ? "true" : "false");
        int r = loop_send(fd, req, strlen(req));
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

void container_connect_pending_attaches(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        PendingAttach *list = c->attaches;
        c->attaches = NULL;
        for (PendingAttach *a = list; a; a = a->next)
                a->taken = true;
        pthread_mutex_unlock(&e->lock);
        for (PendingAttach *a = list, *next; a; a = next) {
                next = a->next; /* a belongs to its attach thread again once mon_fd or failed is set */
                int fd = open_attach(e, c, &a->o);
                pthread_mutex_lock(&e->lock);
                a->mon_fd = fd;
                if (fd < 0)
                        a->failed = true;
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&e->lock);
        }
        pthread_mutex_lock(&e->lock);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
}

void container_cancel_pending_attaches(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        for (PendingAttach *a = c->attaches; a; a = a->next)
                a->cancelled = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&e->lock);
}

static int send_payload(int stream, const char *data, size_t len, void *fdp)
{
        (void) stream;
        return loop_send(*(int *) fdp, data, len) < 0 ? -EPIPE : 0;
}

/* Copies monitor frames to the client (headers stripped for a TTY) and the
 * client's raw stdin to the monitor, until the monitor closes. */
static void proxy(int client, int mon, bool tty, bool want_stdin, DetachKeys keys)
{
        /* On the heap: this runs on an HTTP connection thread's small stack. */
        enum { BUFSZ = 65536 };
        _cleanup_free_ char *buf = xmalloc(BUFSZ), *fbuf = xmalloc(BUFSZ + DETACH_KEYS_MAX);
        StdDemux demux = { 0 }; /* TTY only: the monitor frames, a TTY client gets the raw bytes */
        bool client_open = want_stdin;
        for (;;) {
                struct pollfd p[2] = { { .fd = mon, .events = POLLIN }, { .fd = client, .events = POLLIN | POLLRDHUP } };
                if (!client_open)
                        p[1].events = POLLRDHUP;
                int n = poll(p, 2, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (p[0].revents) {
                        ssize_t got = read(mon, buf, BUFSZ);
                        if (got <= 0)
                                return;
                        if (!tty ? loop_send(client, buf, (size_t) got) < 0
                                 : stdcopy_feed(&demux, buf, (size_t) got, send_payload, &client) < 0)
                                return;
                }
                if (client_open && (p[1].revents & POLLIN)) {
                        ssize_t got = read(client, buf, BUFSZ);
                        if (got > 0) {
                                bool detached;
                                size_t o = detach_keys_feed(&keys, buf, (size_t) got, fbuf, &detached);
                                if (o > 0 && loop_send(mon, fbuf, o) < 0)
                                        client_open = false;
                                if (detached)
                                        return; /* the container runs on */
                        } else {
                                /* stdin EOF; output keeps flowing until the monitor closes. */
                                shutdown(mon, SHUT_WR);
                                client_open = false;
                        }
                } else if (p[1].revents & (POLLHUP | POLLERR)) {
                        return;
                } else if (!want_stdin && (p[1].revents & POLLRDHUP)) {
                        /* A client without stdin that half-closes still reads; only a full close ends it. */
                        char c1;
                        if (recv(client, &c1, 1, MSG_PEEK | MSG_DONTWAIT) == 0 && (p[1].revents & POLLHUP))
                                return;
                }
        }
}

typedef struct {
        int fd;
        bool tty;
} Replay;

static int replay_write(void *arg, int stream, const char *data, size_t len)
{
        Replay *r = arg;
        if (!r->tty) {
                unsigned char hdr[STDCOPY_HEADER_LEN];
                stdcopy_header(hdr, stream, len);
                if (loop_send(r->fd, hdr, sizeof(hdr)) < 0)
                        return -EPIPE;
        }
        return loop_send(r->fd, data, len) < 0 ? -EPIPE : 0;
}

static bool replay_gone(void *arg)
{
        struct pollfd p = { .fd = ((Replay *) arg)->fd, .events = POLLRDHUP };
        return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

void container_attach_run(Engine *e, Container *c, const AttachOptions *o, int client_fd)
{
        bool tty = container_tty(c);
        int mon = -1;
        if (o->logs && (o->out || o->err)) {
                /* Earlier output first, from the log (dockerd's logs=1), then live if stream=1. */
                LogOptions lo = { .stdout_ = o->out, .stderr_ = o->err, .tail = -1 };
                Replay rp = { .fd = client_fd, .tty = tty };
                if (container_logs(e, c, &lo, replay_write, &rp, replay_gone, &rp) < 0)
                        return;
        }
        if (!o->stream)
                return;
        events_container(e, c, "attach", NULL);
        pthread_mutex_lock(&e->lock);
        bool running = c->status == CSTATUS_RUNNING || c->status == CSTATUS_PAUSED;
        if (!running && !c->removed) {
                PendingAttach *a = calloc(1, sizeof(*a));
                if (!a) {
                        pthread_mutex_unlock(&e->lock);
                        return;
                }
                a->o = *o;
                a->mon_fd = -1;
                a->next = c->attaches;
                c->attaches = a;
                /* Wait for start (or removal); the client may give up meanwhile. */
                while (a->mon_fd < 0 && !a->failed && (a->taken || (!a->cancelled && !c->removed))) {
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        ts.tv_sec += 1;
                        pthread_cond_timedwait(&c->cond, &e->lock, &ts);
                        if (a->mon_fd >= 0 || a->failed || a->taken)
                                continue;
                        struct pollfd p = { .fd = client_fd, .events = POLLRDHUP };
                        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
                                a->cancelled = true;
                                break;
                        }
                }
                /* Still queued (client left or removal): unlink ourselves. */
                for (PendingAttach **pp = &c->attaches; *pp; pp = &(*pp)->next)
                        if (*pp == a) {
                                *pp = a->next;
                                break;
                        }
                mon = a->mon_fd;
                free(a);
                pthread_mutex_unlock(&e->lock);
                if (mon < 0)
                        return;
        } else {
                pthread_mutex_unlock(&e->lock);
                if (!running)
                        return;
                mon = open_attach(e, c, o);
                if (mon < 0)
                        return;
        }
        proxy(client_fd, mon, tty, o->in, o->keys);
        close(mon);
}

int container_resize(Engine *e, const char *ref, int h, int w, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get_live(e, ref, &c, err);
        if (r < 0)
                return r;
        if (h < 0 || w < 0)
                return berr_set(err, EINVAL, "invalid terminal size");
        _cleanup_free_ char *req = xasprintf("{\"op\":\"resize\",\"h\":%d,\"w\":%d}", h, w);
        _cleanup_free_ char *line = NULL;
        r = container_monitor_request(e, c->id, req, &line);
        if (r < 0)
                return berr_set(err, EIO, "cannot resize container %s: %s", c->id, strerror(-r));
        events_container(e, c, "resize", json_pack("{s:o,s:o}", "height", json_sprintf("%d", h), "width",
                                                   json_sprintf("%d", w)));
        return 0;
}

void container_initial_console_size(Engine *e, Container *c)
{
        pthread_mutex_lock(&e->lock);
        json_t *cs = json_object_get(container_hostcfg(c), "ConsoleSize");
        long long h = json_integer_value(json_array_get(cs, 0)), w = json_integer_value(json_array_get(cs, 1));
        bool tty = container_tty(c);
        pthread_mutex_unlock(&e->lock);
        if (!tty || h <= 0 || w <= 0 || h > 65535 || w > 65535)
                return;
        _cleanup_free_ char *req = xasprintf("{\"op\":\"resize\",\"h\":%lld,\"w\":%lld}", h, w);
        _cleanup_free_ char *line = NULL;
        /* a size the terminal cannot take leaves the default, as a failed resize does */
        (void) container_monitor_request(e, c->id, req, &line);
}
