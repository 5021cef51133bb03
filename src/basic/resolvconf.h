#pragma once
#include <stdbool.h>

/* How much of the host's resolv.conf a container gets. */
typedef enum {
        RESOLV_NAMESERVERS,     /* nameserver lines only */
        RESOLV_ALL,             /* every line */
} ResolvKeep;

/* The host's resolv.conf text as a container sees it: nameservers on
 * loopback are dropped (they are unreachable from the container's netns),
 * and every kept line ends with a newline, whether or not the input did.
 * Returns a new string; never NULL. */
char *resolv_conf_filter(const char *text, ResolvKeep keep);

/* resolv_conf_filter() of /etc/resolv.conf (empty if it cannot be read). */
char *resolv_conf_from_host(ResolvKeep keep);
