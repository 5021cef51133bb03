#include "channel.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/macro.h"

int rt_send_fd(int sock, const char *msg, int fd)
{
        struct iovec iov = { (void *) msg, strlen(msg) };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof(u.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

ssize_t rt_recv_msg(int sock, char *buf, size_t size, int *fd, int timeout_ms)
{
        if (fd)
                *fd = -1;
        if (timeout_ms >= 0) {
                struct pollfd p = { .fd = sock, .events = POLLIN };
                int r;
                do
                        r = poll(&p, 1, timeout_ms);
                while (r < 0 && errno == EINTR);
                if (r <= 0)
                        return r == 0 ? -ETIMEDOUT : -errno;
        }
        struct iovec iov = { buf, size - 1 };
        union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
        ssize_t n;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        if (fd)
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                memcpy(fd, CMSG_DATA(c), sizeof(int));
        return n;
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *) a, y = *(const int *) b;
        return (x > y) - (x < y);
}

void rt_close_fds_except(const int *keep, size_t n)
{
        int sorted[32];
        if (n > ELEMENTSOF(sorted))
                abort();
        memcpy(sorted, keep, n * sizeof(int));
        qsort(sorted, n, sizeof(int), cmp_int);
        unsigned from = 3;
        for (size_t i = 0; i < n; i++) {
                if (sorted[i] < (int) from)
                        continue;
                if ((unsigned) sorted[i] > from)
                        (void) syscall(SYS_close_range, from, (unsigned) sorted[i] - 1, 0);
                from = (unsigned) sorted[i] + 1;
        }
        (void) syscall(SYS_close_range, from, ~0U, 0);
}
