/* The embedded DNS server: for each container on a bridge network, berthd
 * opens 127.0.0.11:53 (UDP and TCP) inside the container's network namespace
 * (a socket belongs to the namespace it was created in) and serves them all
 * from one thread here. Names of containers sharing a network with the asker
 * (name, short id, aliases) are answered; anything else is forwarded to the
 * host's resolvers with a timeout shorter than the client's (5 s) by a fixed
 * pool of FWD_WORKERS threads; when FWD_QUEUE queries already wait for one,
 * a new one gets SERVFAIL at once, so a flood costs no threads. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "basic/workq.h"
#include "dns-msg.h"
#include "netlink.h"
#include "network-internal.h"

#define FWD_TIMEOUT_MS 1500
#define FWD_WORKERS 4
#define FWD_QUEUE 64
/* A query that waited this long in the queue is past the client's 5 s: not forwarded. */
#define FWD_STALE_MS 4000
#define MAX_UPSTREAM 3

typedef struct DnsSock {
        struct DnsSock *next;
        char cid[65];
        int ufd, tfd;
} DnsSock;

struct Dns {
        Network *e;
        pthread_mutex_t lock;
        DnsSock *socks, *dead;
        int wake[2];
        pthread_t thread;
        WorkQueue *fwd;
        bool stopping;
        struct sockaddr_in upstream[MAX_UPSTREAM];
        int n_upstream;
};

/* ---- names registered by any host (the resolver, network_set_resolver) ---- */

/* The answer from the discovery cache, 0 when no host registered the name
 * (then the query is forwarded). A and SRV get records (SRV with the
 * targets' A records as additional data), other types an empty NOERROR. */
static size_t disc_answer(Dns *d, const uint8_t *q, size_t qend, const char *name, int qtype, uint8_t *out,
                          size_t cap)
{
        const NetResolver *disc = __atomic_load_n(&d->e->resolver, __ATOMIC_ACQUIRE);
        if (!disc)
                return 0;
        NetSrv srv[16];
        struct in_addr addrs[16];
        int nsrv = name[0] == '_' ? disc->lookup_srv(disc->cls, name, srv, 16) : 0;
        if (nsrv == 0 && !disc->has_name(disc->cls, name))
                return 0;
        size_t off = dns_build_answer(q, qend, 0, NULL, 0, out);
        int an = 0, ar = 0;
        bool tc = false;
        if (nsrv > 0 && (qtype == 33 || qtype == 255)) {
                for (int i = 0; i < nsrv && !tc; i++) {
                        uint8_t rd[6 + 256];
                        rd[0] = rd[1] = 0;      /* priority */
                        rd[2] = 0, rd[3] = 10;  /* weight */
                        rd[4] = (uint8_t) (srv[i].port >> 8);
                        rd[5] = (uint8_t) srv[i].port;
                        size_t tl = dns_put_name(rd, 6, sizeof(rd), srv[i].target);
                        size_t n = tl ? dns_put_rr(out, off, cap, NULL, 33, rd, tl) : 0;
                        if (n) {
                                off = n;
                                an++;
                        } else
                                tc = true;
                }
                for (int i = 0; i < nsrv && !tc; i++) {
                        size_t n = dns_put_rr(out, off, cap, srv[i].target, 1, (const uint8_t *) &srv[i].addr.s_addr, 4);
                        if (!n)
                                break; /* additional data is optional */
                        off = n;
                        ar++;
                }
        } else if (qtype == 1 || qtype == 255) {
                int n = disc->lookup_a(disc->cls, name, addrs, 16);
                for (int i = 0; i < n && !tc; i++) {
                        size_t o = dns_put_rr(out, off, cap, NULL, 1, (const uint8_t *) &addrs[i].s_addr, 4);
                        if (o) {
                                off = o;
                                an++;
                        } else
                                tc = true;
                }
        }
        out[2] = (uint8_t) (out[2] & ~0x04); /* not authoritative: another host's data, cached */
        if (tc)
                out[2] |= 0x02;
        out[6] = (uint8_t) (an >> 8);
        out[7] = (uint8_t) an;
        out[10] = (uint8_t) (ar >> 8);
        out[11] = (uint8_t) ar;
        return off;
}

typedef struct {
        Dns *d;
        uint8_t q[512];
        size_t qlen;
        int fd; /* dup of the UDP socket, or the TCP connection */
        bool tcp;
        struct sockaddr_in peer;
        int64_t queued_ms;
} Fwd;

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply(Fwd *f, const uint8_t *m, size_t len)
{
        if (f->tcp) {
                uint8_t hdr[2] = { (uint8_t) (len >> 8), (uint8_t) len };
                if (send(f->fd, hdr, 2, MSG_NOSIGNAL) == 2)
                        send(f->fd, m, len, MSG_NOSIGNAL);
        } else
                sendto(f->fd, m, len, 0, (struct sockaddr *) &f->peer, sizeof(f->peer));
}

static void servfail(Fwd *f)
{
        char name[256];
        int qt;
        int qend = dns_parse_question(f->q, f->qlen, name, sizeof(name), &qt);
        if (qend > 0) {
                uint8_t out[600];
                size_t n = dns_build_answer(f->q, (size_t) qend, 2 /* SERVFAIL */, NULL, 0, out);
                reply(f, out, n);
        }
}

static void fwd_free(Fwd *f)
{
        safe_close(f->fd);
        free(f);
}

static void fwd_drop(void *arg)
{
        fwd_free(arg);
}

/* One forwarded query, on a pool worker. */
static void fwd_run(void *arg)
{
        Fwd *f = arg;
        uint8_t ans[4096];
        ssize_t got = -1;
        if (now_ms() - f->queued_ms > FWD_STALE_MS) {
                servfail(f);
                fwd_free(f);
                return;
        }
        for (int i = 0; i < f->d->n_upstream && got < 0; i++) {
                int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (u < 0)
                        break;
                if (connect(u, (struct sockaddr *) &f->d->upstream[i], sizeof(f->d->upstream[i])) == 0 &&
                    send(u, f->q, f->qlen, 0) == (ssize_t) f->qlen) {
                        struct pollfd p = { .fd = u, .events = POLLIN };
                        if (poll(&p, 1, FWD_TIMEOUT_MS) == 1) {
                                got = recv(u, ans, sizeof(ans), 0);
                                if (got >= 2 && (ans[0] != f->q[0] || ans[1] != f->q[1]))
                                        got = -1;
                        }
                }
                close(u);
        }
        if (got > 0)
                reply(f, ans, (size_t) got);
        else
                servfail(f);
        fwd_free(f);
}

static void handle_query(Dns *d, const char *cid, int fd, bool tcp, const uint8_t *q, size_t len,
                         struct sockaddr_in *peer)
{
        char name[256];
        int qtype;
        int qend = dns_parse_question(q, len, name, sizeof(name), &qtype);
        if (qend < 0 || len > 512)
                return;
        struct in_addr addrs[16];
        int n = network_dns_lookup(d->e, cid, name, addrs, 16);
        Fwd tmp = { .d = d, .fd = fd, .tcp = tcp };
        if (peer)
                tmp.peer = *peer;
        if (n > 0) {
                uint8_t out[1024];
                size_t olen = dns_build_answer(q, (size_t) qend, 0, addrs, qtype == 1 || qtype == 255 ? n : 0, out);
                if (qtype == 28 || qtype == 255) {
                        /* AAAA: the endpoints' IPv6 addresses (none: an empty NOERROR, the name exists) */
                        struct in6_addr a6[16];
                        int n6 = network_dns_lookup6(d->e, cid, name, a6, 16);
                        int an = qtype == 255 ? n : 0;
                        for (int i = 0; i < n6; i++) {
                                size_t o2 = dns_put_rr(out, olen, sizeof(out), NULL, 28, a6[i].s6_addr, 16);
                                if (!o2 || (!tcp && o2 > 512))
                                        break;
                                olen = o2;
                                an++;
                        }
                        out[6] = (uint8_t) (an >> 8);
                        out[7] = (uint8_t) an;
                }
                reply(&tmp, out, olen);
                return;
        }
        {
                uint8_t out[1024];
                size_t nlen = strlen(name);
                if (nlen && name[nlen - 1] == '.')
                        name[nlen - 1] = 0;
                size_t olen = disc_answer(d, q, (size_t) qend, name, qtype, out, tcp ? sizeof(out) : 512);
                if (olen) {
                        reply(&tmp, out, olen);
                        return;
                }
        }
        Fwd *f = xcalloc(1, sizeof(*f));
        *f = tmp;
        memcpy(f->q, q, len);
        f->qlen = len;
        f->queued_ms = now_ms();
        f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (f->fd < 0 || workq_push(d->fwd, f) < 0) {
                /* every worker busy and the queue full: say so now rather than never */
                safe_close(f->fd);
                f->fd = fd;
                servfail(f);
                free(f);
        }
}

static void handle_tcp(Dns *d, const char *cid, int lfd)
{
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return;
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        uint8_t hdr[2], q[512];
        if (recv(c, hdr, 2, MSG_WAITALL) == 2) {
                size_t len = (size_t) (hdr[0] << 8 | hdr[1]);
                if (len <= sizeof(q) && recv(c, q, len, MSG_WAITALL) == (ssize_t) len)
                        handle_query(d, cid, c, true, q, len, NULL);
        }
        close(c);
}

/* ---- the server thread ---- */

static void *dns_thread(void *arg)
{
        Dns *d = arg;
        for (;;) {
                pthread_mutex_lock(&d->lock);
                while (d->dead) {
                        DnsSock *s = d->dead;
                        d->dead = s->next;
                        close(s->ufd);
                        close(s->tfd);
                        free(s);
                }
                if (d->stopping) {
                        pthread_mutex_unlock(&d->lock);
                        break;
                }
                size_t n = 0;
                for (DnsSock *s = d->socks; s; s = s->next)
                        n++;
                struct pollfd *fds = xcalloc(2 * n + 1, sizeof(*fds));
                char (*cids)[65] = xcalloc(n + 1, sizeof(*cids));
                fds[0] = (struct pollfd){ .fd = d->wake[0], .events = POLLIN };
                size_t i = 0;
                for (DnsSock *s = d->socks; s; s = s->next, i++) {
                        fds[1 + 2 * i] = (struct pollfd){ .fd = s->ufd, .events = POLLIN };
                        fds[2 + 2 * i] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
                        memcpy(cids[i], s->cid, 65);
                }
                pthread_mutex_unlock(&d->lock);
                /* fds stay open until this thread closes them above: no reuse races. */
                int pr = poll(fds, 2 * n + 1, -1);
                if (pr > 0) {
                        if (fds[0].revents & POLLIN) {
                                char b[64];
                                if (read(d->wake[0], b, sizeof(b)) < 0) {
                                        /* nothing */
                                }
                        }
                        for (i = 0; i < n; i++) {
                                if (fds[1 + 2 * i].revents & POLLIN) {
                                        uint8_t q[1024];
                                        struct sockaddr_in peer;
                                        socklen_t pl = sizeof(peer);
                                        ssize_t r = recvfrom(fds[1 + 2 * i].fd, q, sizeof(q), MSG_DONTWAIT,
                                                             (struct sockaddr *) &peer, &pl);
                                        if (r > 0)
                                                handle_query(d, cids[i], fds[1 + 2 * i].fd, false, q, (size_t) r, &peer);
                                }
                                if (fds[2 + 2 * i].revents & POLLIN)
                                        handle_tcp(d, cids[i], fds[2 + 2 * i].fd);
                        }
                }
                free(fds);
                free(cids);
        }
        return NULL;
}

static void wake(Dns *d)
{
        if (write(d->wake[1], "w", 1) < 0) {
                /* a full pipe already wakes the thread */
        }
}

static void load_upstream(Dns *d)
{
        _cleanup_free_ char *rc = NULL;
        if (read_file("/etc/resolv.conf", &rc, NULL) < 0)
                return;
        char *save = NULL;
        for (char *line = strtok_r(rc, "\n", &save); line && d->n_upstream < MAX_UPSTREAM;
             line = strtok_r(NULL, "\n", &save)) {
                char addr[64];
                struct in_addr a;
                if (sscanf(line, " nameserver %63s", addr) == 1 && inet_pton(AF_INET, addr, &a) == 1)
                        d->upstream[d->n_upstream++] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = a,
                                                                             .sin_port = htons(53) };
        }
}

int dns_start(Network *e, NetState *ns)
{
        Dns *d = xcalloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->e = e;
        pthread_mutex_init(&d->lock, NULL);
        if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
                free(d);
                return -errno;
        }
        load_upstream(d);
        int r = workq_new(FWD_WORKERS, FWD_QUEUE, fwd_run, &d->fwd);
        if (r < 0) {
                close(d->wake[0]);
                close(d->wake[1]);
                free(d);
                return r;
        }
        r = pthread_create(&d->thread, NULL, dns_thread, d);
        if (r != 0) {
                workq_free(d->fwd, fwd_drop);
                close(d->wake[0]);
                close(d->wake[1]);
                free(d);
                return -r;
        }
        ns->dns = d;
        return 0;
}

void dns_stop(NetState *ns)
{
        Dns *d = ns->dns;
        if (!d)
                return;
        pthread_mutex_lock(&d->lock);
        d->stopping = true;
        while (d->socks) {
                DnsSock *s = d->socks;
                d->socks = s->next;
                s->next = d->dead;
                d->dead = s;
        }
        pthread_mutex_unlock(&d->lock);
        wake(d);
        pthread_join(d->thread, NULL);
        /* after the server thread: it is the only one that queues */
        workq_free(d->fwd, fwd_drop);
        while (d->dead) {
                DnsSock *s = d->dead;
                d->dead = s->next;
                close(s->ufd);
                close(s->tfd);
                free(s);
        }
        close(d->wake[0]);
        close(d->wake[1]);
        ns->dns = NULL;
        free(d);
}

typedef struct {
        int ufd, tfd;
} OpenArg;

static int open_in_ns(void *arg)
{
        OpenArg *o = arg;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        inet_pton(AF_INET, "127.0.0.11", &sa.sin_addr);
        int one = 1;
        o->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        o->tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (o->ufd < 0 || o->tfd < 0)
                return -errno;
        setsockopt(o->tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(o->ufd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || bind(o->tfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            listen(o->tfd, 64) < 0)
                return -errno;
        return 0;
}

int dns_add_container(NetState *ns, const char *cid, int nsfd)
{
        Dns *d = ns->dns;
        if (!d)
                return -ENOTCONN;
        dns_remove_container(ns, cid);
        OpenArg o = { -1, -1 };
        int r = netns_run(nsfd, open_in_ns, &o);
        if (r < 0) {
                safe_close(o.ufd);
                safe_close(o.tfd);
                return r;
        }
        DnsSock *s = xcalloc(1, sizeof(*s));
        snprintf(s->cid, sizeof(s->cid), "%s", cid);
        s->ufd = o.ufd;
        s->tfd = o.tfd;
        pthread_mutex_lock(&d->lock);
        s->next = d->socks;
        d->socks = s;
        pthread_mutex_unlock(&d->lock);
        wake(d);
        return 0;
}

bool dns_has_container(NetState *ns, const char *cid)
{
        Dns *d = ns->dns;
        if (!d)
                return false;
        bool found = false;
        pthread_mutex_lock(&d->lock);
        for (DnsSock *s = d->socks; s && !found; s = s->next)
                found = streq(s->cid, cid);
        pthread_mutex_unlock(&d->lock);
        return found;
}

void dns_remove_container(NetState *ns, const char *cid)
{
        Dns *d = ns->dns;
        if (!d)
                return;
        bool any = false;
        pthread_mutex_lock(&d->lock);
        for (DnsSock **pp = &d->socks; *pp;) {
                DnsSock *s = *pp;
                if (streq(s->cid, cid)) {
                        *pp = s->next;
                        s->next = d->dead;
                        d->dead = s;
                        any = true;
                } else
                        pp = &s->next;
        }
        pthread_mutex_unlock(&d->lock);
        if (any)
                wake(d);
}
