/* The userland proxy, in berthd's own threads (Docker runs docker-proxy
 * processes): it holds the host port (its bind is the port's reservation) and
 * relays connections that the DNAT rules do not catch, those to the host's
 * loopback and from containers to a host address. Listeners die with berthd
 * and are re-created when it re-adopts running containers, so none can leak. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/util.h"
#include "network-internal.h"

#define UDP_CLIENTS 64
#define UDP_IDLE_NS (30LL * 1000000000LL)

struct Proxy {
        Proxy *next;
        char cid[65];
        int proto;
        int lfd;
        int stop[2];
        struct sockaddr_in target;
        pthread_t thread;
};

typedef struct {
        int a, b;
        struct sockaddr_in target;
} Pair;

static int relay(int from, int to, char *buf, size_t cap)
{
        ssize_t n = read(from, buf, cap);
        if (n <= 0)
                return -1;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = send(to, buf + off, (size_t) (n - off), MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = to, .events = POLLOUT };
                                poll(&p, 1, 1000);
                                continue;
                        }
                        return -1;
                }
                off += w;
        }
        return 0;
}

static void *tcp_conn_thread(void *arg)
{
        Pair *p = arg;
        int a = p->a, b = p->b;
        struct sockaddr_in target = p->target;
        free(p);
        /* The connect is here, not in the accept thread: a container server with a
         * full backlog drops the SYN and the connect waits a 1 s retransmission,
         * which must not hold up every other client (docker-proxy dials per
         * connection too). */
        if (connect(b, (struct sockaddr *) &target, sizeof(target)) < 0) {
                close(a);
                close(b);
                return NULL;
        }
        int one = 1;
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char *buf = xmalloc(65536);
        bool a_open = true, b_open = true;
        while (buf && (a_open || b_open)) {
                struct pollfd fds[2] = { { .fd = a_open ? a : -1, .events = POLLIN },
                                         { .fd = b_open ? b : -1, .events = POLLIN } };
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        if (relay(a, b, buf, 65536) < 0) {
                                if (fds[0].revents & POLLERR)
                                        break;
                                a_open = false;
                                shutdown(b, SHUT_WR);
                        }
                }
                if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        if (relay(b, a, buf, 65536) < 0) {
                                if (fds[1].revents & POLLERR)
                                        break;
                                b_open = false;
                                shutdown(a, SHUT_WR);
                        }
                }
        }
        free(buf);
        close(a);
        close(b);
        return NULL;
}

static void *tcp_accept_thread(void *arg)
{
        Proxy *px = arg;
        for (;;) {
                struct pollfd fds[2] = { { .fd = px->lfd, .events = POLLIN }, { .fd = px->stop[0], .events = POLLIN } };
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (fds[1].revents)
                        break;
                int c = accept4(px->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                Pair *p = u >= 0 ? xmalloc(sizeof(*p)) : NULL;
                if (!p) {
                        safe_close(u);
                        close(c);
                        continue;
                }
                p->a = c;
                p->b = u;
                p->target = px->target;
                pthread_t t;
                pthread_attr_t at;
                pthread_attr_init(&at);
                pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
                pthread_attr_setstacksize(&at, 256 * 1024);
                if (pthread_create(&t, &at, tcp_conn_thread, p) != 0) {
                        close(c);
                        close(u);
                        free(p);
                }
                pthread_attr_destroy(&at);
        }
        return NULL;
}

typedef struct {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        int fd;
        int64_t last;
} UdpClient;

static bool same_peer(const UdpClient *c, const struct sockaddr_storage *a, socklen_t len)
{
        return c->peer_len == len && memcmp(&c->peer, a, len) == 0;
}

static void *udp_thread(void *arg)
{
        Proxy *px = arg;
        UdpClient cl[UDP_CLIENTS];
        size_t n = 0;
        char buf[65536];
        for (;;) {
                struct pollfd fds[2 + UDP_CLIENTS];
                fds[0] = (struct pollfd){ .fd = px->lfd, .events = POLLIN };
                fds[1] = (struct pollfd){ .fd = px->stop[0], .events = POLLIN };
                for (size_t i = 0; i < n; i++)
                        fds[2 + i] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
                int pr = poll(fds, 2 + n, 5000);
                if (pr < 0 && errno != EINTR)
                        break;
                if (fds[1].revents)
                        break;
                int64_t now = now_ns();
                if (pr > 0 && (fds[0].revents & POLLIN)) {
                        struct sockaddr_storage from;
                        socklen_t fl = sizeof(from);
                        memset(&from, 0, sizeof(from));
                        ssize_t r = recvfrom(px->lfd, buf, sizeof(buf), 0, (struct sockaddr *) &from, &fl);
                        if (r >= 0) {
                                size_t k;
                                for (k = 0; k < n; k++)
                                        if (same_peer(&cl[k], &from, fl))
                                                break;
                                if (k == n && n < UDP_CLIENTS) {
                                        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                                        if (u >= 0 && connect(u, (struct sockaddr *) &px->target, sizeof(px->target)) == 0) {
                                                cl[n] = (UdpClient){ from, fl, u, now };
                                                n++;
                                        } else
                                                safe_close(u);
                                }
                                if (k < n) {
                                        cl[k].last = now;
                                        send(cl[k].fd, buf, (size_t) r, 0);
                                }
                        }
                }
                for (size_t i = 0; pr > 0 && i < n; i++)
                        if (fds[2 + i].revents & POLLIN) {
                                ssize_t r = recv(cl[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
                                if (r >= 0) {
                                        cl[i].last = now;
                                        sendto(px->lfd, buf, (size_t) r, 0, (struct sockaddr *) &cl[i].peer,
                                               cl[i].peer_len);
                                }
                        }
                for (size_t i = 0; i < n;)
                        if (now - cl[i].last > UDP_IDLE_NS) {
                                close(cl[i].fd);
                                cl[i] = cl[--n];
                        } else
                                i++;
        }
        for (size_t i = 0; i < n; i++)
                close(cl[i].fd);
        return NULL;
}

static int proxy_open(NetState *ns, const char *cid, int proto, struct sockaddr_storage *sa, socklen_t salen,
                      int *host_port, struct in_addr target, int target_port)
{
        bool udp = proto == IPPROTO_UDP;
        int family = sa->ss_family;
        _cleanup_close_ int fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        if (!udp)
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* [::] must not take the IPv4 side too: that one is 0.0.0.0's own listener */
        if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) sa, salen) < 0)
                return -errno;
        if (!udp && listen(fd, 4096) < 0)
                return -errno;
        socklen_t sl = salen;
        getsockname(fd, (struct sockaddr *) sa, &sl);
        int bound_port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *) sa)->sin6_port)
                                            : ntohs(((struct sockaddr_in *) sa)->sin_port);
        Proxy *px = xcalloc(1, sizeof(*px));
        if (!px)
                return -ENOMEM;
        snprintf(px->cid, sizeof(px->cid), "%s", cid);
        px->proto = proto;
        px->target = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = target,
                                           .sin_port = htons((uint16_t) target_port) };
        if (pipe2(px->stop, O_CLOEXEC) < 0) {
                free(px);
                return -errno;
        }
        px->lfd = fd;
        int r = pthread_create(&px->thread, NULL, udp ? udp_thread : tcp_accept_thread, px);
        if (r != 0) {
                close(px->stop[0]);
                close(px->stop[1]);
                free(px);
                return -r;
        }
        TAKE_FD(fd);
        *host_port = bound_port;
        px->next = ns->proxies;
        ns->proxies = px;
        return 0;
}

int proxy_start(NetState *ns, const char *cid, int proto, struct in_addr host_ip, int *host_port,
                struct in_addr target, int target_port)
{
        struct sockaddr_storage ss = { 0 };
        struct sockaddr_in *sa = (struct sockaddr_in *) &ss;
        *sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = host_ip, .sin_port = htons((uint16_t) *host_port) };
        return proxy_open(ns, cid, proto, &ss, sizeof(*sa), host_port, target, target_port);
}

int proxy_start6_any(NetState *ns, const char *cid, int proto, int *host_port, struct in_addr target, int target_port)
{
        struct sockaddr_storage ss = { 0 };
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *) &ss;
        *sa = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
                                     .sin6_port = htons((uint16_t) *host_port) };
        return proxy_open(ns, cid, proto, &ss, sizeof(*sa), host_port, target, target_port);
}

static void proxy_free(Proxy *px)
{
        if (write(px->stop[1], "x", 1) < 0) {
                /* the thread still sees POLLHUP when the pipe closes below */
        }
        pthread_join(px->thread, NULL);
        close(px->lfd);
        close(px->stop[0]);
        close(px->stop[1]);
        free(px);
}

void proxy_stop_container(NetState *ns, const char *cid)
{
        for (Proxy **pp = &ns->proxies; *pp;) {
                Proxy *px = *pp;
                if (streq(px->cid, cid)) {
                        *pp = px->next;
                        proxy_free(px);
                } else
                        pp = &px->next;
        }
}

void proxy_stop_all(NetState *ns)
{
        pthread_mutex_lock(&ns->lock);
        while (ns->proxies) {
                Proxy *px = ns->proxies;
                ns->proxies = px->next;
                proxy_free(px);
        }
        pthread_mutex_unlock(&ns->lock);
}
