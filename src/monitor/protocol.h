/* The monitor.sock request line (docs/monitor.md): one JSON object and '\n', parsed without
 * touching the container, so tests/fuzz/fuzz-monitor.c can drive it with arbitrary bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MON_REQ_MAX 4096 /* a request line longer than this closes the connection */

typedef enum MonOp {
        MON_OP_START,
        MON_OP_ATTACH,
        MON_OP_RESIZE,
        MON_OP_EXEC,
        MON_OP_EXEC_RESIZE,
        MON_OP_WAIT,
        MON_OP_STATE,
} MonOp;

typedef struct MonRequest {
        MonOp op;
        bool in, out, err;        /* "stdin", "stdout", "stderr" (attach, exec) */
        bool tty, privileged;     /* exec */
        long long h, w;           /* resize, exec-resize; exec's initial size */
        long long pid;            /* exec-resize */
        char **args, **env;       /* exec: the strings of these arrays (others skipped), NULL when absent */
        char *user, *cwd;         /* exec: NULL when absent */
} MonRequest;

/* The length of the first line of buf (len bytes read so far) with its '\n'; 0 when the line is
 * not complete yet, -1 when it cannot be: no '\n' in the first max bytes. */
ssize_t mon_request_line(const char *buf, size_t len, size_t max);
/* Parses a request line (NUL-terminated, without the '\n'). -1 with *ret_reply the error line to
 * send back (bad JSON or no "op", unknown op). */
int mon_request_parse(const char *line, MonRequest *ret, const char **ret_reply);
void mon_request_clear(MonRequest *r);
