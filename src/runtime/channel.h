/* The setup channel between the monitor and the processes it creates (a unix
 * socketpair): short text messages, each optionally carrying one fd. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Sends msg, with fd attached when fd >= 0. */
int rt_send_fd(int sock, const char *msg, int fd);
/* One message into buf (NUL-terminated) and, when fd is given, the fd it
 * carried or -1. Waits at most timeout_ms (-1: no limit). Returns the length,
 * 0 on EOF, -ETIMEDOUT or -errno. */
ssize_t rt_recv_msg(int sock, char *buf, size_t size, int *fd, int timeout_ms);

/* Closes every descriptor from 3 up except those in keep (negative entries are ignored): a
 * process about to enter a container must not carry the monitor's other descriptors there. */
void rt_close_fds_except(const int *keep, size_t n);
