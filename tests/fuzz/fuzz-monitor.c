/* libFuzzer target for the monitor protocol (src/monitor/protocol.c): the input is what a
 * client writes to monitor.sock. Lines are split off as client_read_request does (at most
 * MON_REQ_MAX bytes each) and parsed; a parsed request must be well formed.
 *   ninja -C build-fuzz tests/fuzz-monitor && build-fuzz/tests/fuzz-monitor tests/fuzz/corpus/monitor */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strv(char **l)
{
        for (size_t i = 0; l && l[i]; i++)
                if (strlen(l[i]) > MON_REQ_MAX)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(MON_REQ_MAX + 1);
        if (!buf)
                abort();
        size_t off = 0;
        while (off < size) {
                /* what one connection has read so far: at most MON_REQ_MAX bytes */
                size_t len = size - off < MON_REQ_MAX ? size - off : MON_REQ_MAX;
                memcpy(buf, data + off, len);
                ssize_t line = mon_request_line(buf, len, MON_REQ_MAX);
                if (line < -1 || line > (ssize_t) len || (line == -1 && len < MON_REQ_MAX))
                        abort();
                if (line <= 0)
                        break;
                if (buf[line - 1] != '\n' || memchr(buf, '\n', (size_t) line - 1))
                        abort();
                buf[line - 1] = 0;
                MonRequest r;
                const char *reply = NULL;
                if (mon_request_parse(buf, &r, &reply) < 0) {
                        if (!reply || reply[strlen(reply) - 1] != '\n')
                                abort();
                } else {
                        if (r.op > MON_OP_STATE)
                                abort();
                        if (r.op != MON_OP_EXEC && (r.args || r.env || r.user || r.cwd))
                                abort();
                        check_strv(r.args);
                        check_strv(r.env);
                        mon_request_clear(&r);
                }
                off += (size_t) line;
        }
        free(buf);
        return 0;
}
