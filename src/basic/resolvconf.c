/* Filtering the host's resolv.conf for containers. */
#include "resolvconf.h"

#include <string.h>

#include "macro.h"
#include "util.h"

static bool is_loopback_nameserver(const char *line)
{
        const char *a = line + strlen("nameserver");
        while (*a == ' ' || *a == '\t')
                a++;
        return startswith(a, "127.") || startswith(a, "::1");
}

char *resolv_conf_filter(const char *text, ResolvKeep keep)
{
        size_t len = strlen(text ? text : "");
        /* each kept line gains at most one newline: the last one, when the input lacks it */
        char *out = xmalloc(len + 2);
        size_t n = 0;
        const char *line = text ? text : "";
        while (*line) {
                size_t l = strcspn(line, "\n");
                const char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                bool ns = startswith(p, "nameserver");
                bool keepit = l > 0 && (ns ? !is_loopback_nameserver(p) : keep == RESOLV_ALL);
                if (keepit) {
                        memcpy(out + n, line, l);
                        n += l;
                        out[n++] = '\n';
                }
                line += l;
                if (*line == '\n')
                        line++;
        }
        out[n] = '\0';
        return out;
}

char *resolv_conf_from_host(ResolvKeep keep)
{
        _cleanup_free_ char *host = NULL;
        if (read_file("/etc/resolv.conf", &host, NULL) < 0)
                return resolv_conf_filter("", keep);
        return resolv_conf_filter(host, keep);
}
