/* berth-monitor <exec-root>/containers/<id>: the per-container monitor (docs/monitor.md).
 * It is the container's parent, holds its stdio, writes its log and exit status, serves
 * monitor.sock, and never blocks the container on a slow or absent reader. */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/stdcopy.h"
#include "basic/util.h"
#include "monitor/jsonlog.h"
#include "monitor/protocol.h"
#include "runtime/runtime.h"

#define CLIENT_OUT_MAX (1024 * 1024) /* an attach client further behind than this is dropped */
#define STDIN_BUF_MAX (64 * 1024)
#define DEFAULT_LOG_MAX_SIZE (10 * 1024 * 1024)
#define EXEC_OUT_HIGH (256 * 1024) /* an exec's output is read only while its client is below this */
#define EXEC_READ_MAX 65536

typedef enum { C_REQUEST, C_ATTACH, C_WAIT, C_EXEC, C_DONE } ClientKind;

typedef struct Client {
        int fd;
        ClientKind kind;
        bool want_stdin, want_stdout, want_stderr;
        bool in_open;
        char *req;
        size_t req_len;
        char *out;
        size_t out_len, out_cap;
        /* C_EXEC: a process of the "exec" op, relayed over this connection. The slot lives
         * until the process is gone and its output sent, even when the connection closes. */
        pid_t x_pid;
        int x_in, x_out, x_err;
        bool x_tty, x_exited, x_final, x_in_eof;
        int x_code;
        int64_t x_deadline;
        char *x_buf; /* stdin on its way to the process */
        size_t x_len;
} Client;

typedef struct Monitor {
        RtSpec *spec;
        char *dir;
        const RtCgroupOps *cg;
        RtContainer c;
        bool started, exited;
        int status;
        int exit_code;
        char *exit_error;
        char *exit_json;
        int64_t exit_deadline;
        int listen_fd, sig_fd;
        MonLog log;
        bool have_log;
        MonLineBuf *lines[2];
        Client *clients;
        size_t n_clients;
        char *stdin_buf;
        size_t stdin_len;
        bool stdin_close_pending;
} Monitor;

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all_fd(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, s, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                s += w;
                n -= (size_t) w;
        }
}

static char *error_line(const char *msg, int code)
{
        _cleanup_json_ json_t *j = json_pack("{s:s,s:i}", "error", msg, "exit_code", code);
        _cleanup_free_ char *s = json_dump(j);
        return xasprintf("%s\n", s);
}

/* ---- clients ---- */

static void exec_stdin_eof(Client *cl)
{
        cl->x_in_eof = true;
        cl->x_len = 0;
        if (cl->x_in < 0)
                return;
        if (cl->x_tty)
                (void) !write(cl->x_in, "\x04", 1); /* the pty stays open for output */
        cl->x_in = safe_close(cl->x_in);
}

static void client_close(Client *cl)
{
        cl->fd = safe_close(cl->fd);
        free(cl->req);
        free(cl->out);
        cl->req = cl->out = NULL;
        cl->out_len = cl->out_cap = 0;
        if (cl->kind == C_EXEC && !(cl->x_final && cl->x_out < 0 && cl->x_err < 0)) {
                /* Nobody listens any more; the process runs on, its output is discarded. */
                if (!cl->x_tty && !cl->x_in_eof)
                        exec_stdin_eof(cl);
                return;
        }
        if (cl->kind == C_EXEC) {
                cl->x_in = safe_close(cl->x_in);
                free(cl->x_buf);
                cl->x_buf = NULL;
        }
        cl->kind = C_DONE;
}

static void client_flush(Client *cl)
{
        while (cl->fd >= 0 && cl->out_len > 0) {
                ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                client_close(cl);
                        return;
                }
                memmove(cl->out, cl->out + n, cl->out_len - (size_t) n);
                cl->out_len -= (size_t) n;
        }
}

static void client_queue(Client *cl, const void *data, size_t n)
{
        if (cl->fd < 0)
                return;
        if (cl->out_len + n > CLIENT_OUT_MAX) {
                client_close(cl); /* cannot keep up: dropped rather than block the container */
                return;
        }
        if (cl->out_len + n > cl->out_cap) {
                size_t cap = cl->out_cap ? cl->out_cap : 4096;
                while (cap < cl->out_len + n)
                        cap *= 2;
                char *nb = xrealloc(cl->out, cap);
                if (!nb) {
                        client_close(cl);
                        return;
                }
                cl->out = nb;
                cl->out_cap = cap;
        }
        memcpy(cl->out + cl->out_len, data, n);
        cl->out_len += n;
        client_flush(cl);
}

static void fan_out(Monitor *m, int stream, const char *data, size_t n)
{
        unsigned char hdr[STDCOPY_HEADER_LEN];
        stdcopy_header(hdr, stream, n);
        for (size_t i = 0; i < m->n_clients; i++) {
                Client *cl = &m->clients[i];
                if (cl->kind != C_ATTACH || cl->fd < 0)
                        continue;
                if ((stream == 1 && !cl->want_stdout) || (stream == 2 && !cl->want_stderr))
                        continue;
                /* header and payload go in together, so a dropped client never sees half a frame */
                if (cl->out_len + sizeof(hdr) + n > CLIENT_OUT_MAX) {
                        client_close(cl);
                        continue;
                }
                client_queue(cl, hdr, sizeof(hdr));
                client_queue(cl, data, n);
        }
}

static void emit_log(void *userdata, const char *stream, const char *msg, size_t len)
{
        Monitor *m = userdata;
        if (m->have_log && mon_log_write(&m->log, stream, msg, len, now_ns()) < 0) {
                log_warn("writing the log failed: %m");
                m->have_log = false;
        }
}

/* ---- exit ---- */

static void build_exit_json(Monitor *m)
{
        if (m->exit_json)
                return;
        bool oom = m->cg && m->spec->cgroup && m->cg->oom_killed(m->spec->cgroup) > 0;
        _cleanup_free_ char *when = format_rfc3339(now_ns(), true);
        _cleanup_json_ json_t *j = json_pack("{s:i,s:s,s:b,s:s}", "ExitCode", m->exit_code, "FinishedAt", when,
                                             "OOMKilled", oom, "Error", m->exit_error ? m->exit_error : "");
        m->exit_json = json_dump(j);
        if (m->spec->exit_file) {
                int r = write_file_atomic(m->spec->exit_file, m->exit_json, strlen(m->exit_json), 0644);
                if (r < 0)
                        log_error("writing %s: %s", m->spec->exit_file, strerror(-r));
        }
}

static void answer_wait(Client *cl, const char *exit_json)
{
        char *line = xasprintf("%s\n", exit_json);
        write_all_fd(cl->fd, line, strlen(line)); /* tiny: fits the socket buffer */
        free(line);
        client_close(cl);
}

/* ---- exec ---- */

static void frame_queue(Client *cl, int stream, const char *data, size_t n)
{
        unsigned char hdr[STDCOPY_HEADER_LEN];
        stdcopy_header(hdr, stream, n);
        client_queue(cl, hdr, sizeof(hdr));
        client_queue(cl, data, n);
}

static void exec_begin(Monitor *m, Client *cl, MonRequest *req, size_t extra_off)
{
        if (!m->started || m->exited || m->c.pid <= 0) {
                _cleanup_free_ char *msg = xasprintf("Container %s is not running", m->spec->id ? m->spec->id : "");
                _cleanup_free_ char *line = error_line(msg, 126);
                write_all_fd(cl->fd, line, strlen(line));
                client_close(cl);
                return;
        }
        char **args = req->args;
        RtExecSpec x = { .args = args, .env = req->env, .user = req->user, .cwd = req->cwd, .tty = req->tty,
                         .open_stdin = req->in, .privileged = req->privileged, .h = (int) req->h,
                         .w = (int) req->w };
        RtExecProcess p;
        int code;
        _cleanup_berr_ BerthError *xerr = NULL;
        if (rt_exec_create(m->spec, m->c.pid, m->cg, &x, &p, &code, &xerr) < 0) {
                log_debug("exec failed: %s", xerr ? xerr->msg : "?");
                _cleanup_free_ char *line = error_line(xerr ? xerr->msg : "exec failed", code);
                write_all_fd(cl->fd, line, strlen(line));
                client_close(cl);
                return;
        }
        for (int i = 0; i < 3; i++) {
                int fd = i == 0 ? p.stdin_fd : i == 1 ? p.stdout_fd : p.stderr_fd;
                if (fd >= 0)
                        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        }
        cl->kind = C_EXEC;
        cl->want_stdout = req->out;
        cl->want_stderr = req->err;
        cl->x_pid = p.pid;
        cl->x_in = p.stdin_fd;
        cl->x_out = p.stdout_fd;
        cl->x_err = p.stderr_fd;
        cl->x_tty = x.tty;
        cl->x_in_eof = p.stdin_fd < 0;
        cl->x_buf = xmalloc(STDIN_BUF_MAX);
        size_t extra = cl->req_len - extra_off;
        if (cl->x_in >= 0 && cl->x_buf && extra > 0 && extra <= STDIN_BUF_MAX) {
                memcpy(cl->x_buf, cl->req + extra_off, extra);
                cl->x_len = extra;
        }
        free(cl->req);
        cl->req = NULL;
        log_debug("exec %s: pid %d", args && args[0] ? args[0] : "?", (int) p.pid);
        _cleanup_free_ char *line = xasprintf("{\"pid\":%d}\n", (int) p.pid);
        client_queue(cl, line, strlen(line));
}

static void exec_pump_stdin(Client *cl)
{
        while (cl->x_in >= 0 && cl->x_len > 0) {
                ssize_t n = write(cl->x_in, cl->x_buf, cl->x_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN) {
                                cl->x_len = 0;
                                cl->x_in = safe_close(cl->x_in);
                        }
                        return;
                }
                memmove(cl->x_buf, cl->x_buf + n, cl->x_len - (size_t) n);
                cl->x_len -= (size_t) n;
        }
        if (cl->x_in < 0)
                cl->x_len = 0;
}

static void exec_read_stdin(Client *cl)
{
        ssize_t n = recv(cl->fd, cl->x_buf, STDIN_BUF_MAX, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                client_close(cl);
                return;
        }
        if (n == 0) {
                exec_stdin_eof(cl);
                return;
        }
        cl->x_len = cl->x_in >= 0 ? (size_t) n : 0;
        exec_pump_stdin(cl);
}

static void exec_read_output(Client *cl, int *fdp, int stream)
{
        char buf[EXEC_READ_MAX];
        ssize_t n;
        do
                n = read(*fdp, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return;
        if (n <= 0) { /* EOF, or EIO from a pty whose slave is gone */
                *fdp = safe_close(*fdp);
                if (cl->x_tty)
                        cl->x_in = safe_close(cl->x_in);
                return;
        }
        if (cl->fd >= 0 && ((stream == 1 && cl->want_stdout) || (stream == 2 && cl->want_stderr)))
                frame_queue(cl, stream, buf, (size_t) n);
}

/* Once the process exited and its output ended (or the grace time passed): the exit frame. */
static void exec_check(Client *cl, bool force)
{
        if (cl->kind != C_EXEC || cl->x_final)
                return;
        if (!force && (!cl->x_exited || ((cl->x_out >= 0 || cl->x_err >= 0) && mono_ms() < cl->x_deadline)))
                return;
        cl->x_out = safe_close(cl->x_out);
        cl->x_err = safe_close(cl->x_err);
        cl->x_in = safe_close(cl->x_in);
        cl->x_final = true;
        if (cl->fd >= 0) {
                char j[64];
                int len = snprintf(j, sizeof(j), "{\"ExitCode\":%d}", cl->x_exited ? cl->x_code : 137);
                frame_queue(cl, 3, j, (size_t) len);
        }
        if (cl->fd < 0 || cl->out_len == 0)
                client_close(cl);
}

/* ---- requests ---- */

static void handle_request(Monitor *m, Client *cl, char *line, size_t extra_off)
{
        _cleanup_(mon_request_clear) MonRequest req;
        const char *bad;
        if (mon_request_parse(line, &req, &bad) < 0) {
                write_all_fd(cl->fd, bad, strlen(bad));
                client_close(cl);
                return;
        }
        switch (req.op) {
        case MON_OP_START: {
                char *reply;
                if (m->started || m->exited)
                        reply = error_line("container already started", 125);
                else {
                        int code;
                        _cleanup_berr_ BerthError *serr = NULL;
                        m->started = true;
                        int r = rt_container_start(&m->c, &code, &serr);
                        if (r < 0) {
                                free(m->exit_error);
                                m->exit_error = xstrdup(serr ? serr->msg : "start failed");
                                m->exit_code = code;
                                reply = error_line(m->exit_error, code);
                                log_info("start failed: %s", m->exit_error);
                        } else
                                reply = xstrdup("{\"ok\":true}\n");
                }
                write_all_fd(cl->fd, reply, strlen(reply));
                free(reply);
                client_close(cl);
                break;
        }
        case MON_OP_ATTACH: {
                cl->kind = C_ATTACH;
                cl->want_stdin = req.in && m->c.stdin_fd >= 0;
                cl->want_stdout = req.out;
                cl->want_stderr = req.err;
                cl->in_open = true;
                if (m->exited) {
                        client_close(cl);
                        return;
                }
                /* Bytes that came with the request line are already stdin. */
                size_t extra = cl->req_len - extra_off;
                if (cl->want_stdin && extra > 0 && m->stdin_len + extra <= STDIN_BUF_MAX) {
                        memcpy(m->stdin_buf + m->stdin_len, cl->req + extra_off, extra);
                        m->stdin_len += extra;
                }
                free(cl->req);
                cl->req = NULL;
                break;
        }
        case MON_OP_RESIZE: {
                struct winsize ws = { .ws_row = (unsigned short) req.h, .ws_col = (unsigned short) req.w };
                const char *reply = "{\"ok\":true}\n";
                if (m->spec->tty && m->c.stdout_fd >= 0 && ioctl(m->c.stdout_fd, TIOCSWINSZ, &ws) < 0)
                        reply = "{\"error\":\"resize failed\",\"exit_code\":125}\n";
                write_all_fd(cl->fd, reply, strlen(reply));
                client_close(cl);
                break;
        }
        case MON_OP_EXEC:
                exec_begin(m, cl, &req, extra_off);
                break;
        case MON_OP_EXEC_RESIZE: {
                pid_t pid = (pid_t) req.pid;
                struct winsize ws = { .ws_row = (unsigned short) req.h, .ws_col = (unsigned short) req.w };
                const char *reply = "{\"error\":\"no such exec process\",\"exit_code\":125}\n";
                for (size_t i = 0; i < m->n_clients; i++) {
                        Client *x = &m->clients[i];
                        if (x->kind == C_EXEC && x->x_pid == pid && pid > 0) {
                                reply = "{\"ok\":true}\n";
                                if (x->x_tty && x->x_out >= 0 && ioctl(x->x_out, TIOCSWINSZ, &ws) < 0)
                                        reply = "{\"error\":\"resize failed\",\"exit_code\":125}\n";
                        }
                }
                write_all_fd(cl->fd, reply, strlen(reply));
                client_close(cl);
                break;
        }
        case MON_OP_WAIT:
                cl->kind = C_WAIT;
                if (m->exit_json)
                        answer_wait(cl, m->exit_json);
                break;
        case MON_OP_STATE: {
                _cleanup_free_ char *s = xasprintf("{\"pid\":%d,\"running\":%s}\n", (int) m->c.pid,
                                                   m->started && !m->exited ? "true" : "false");
                write_all_fd(cl->fd, s, strlen(s));
                client_close(cl);
                break;
        }
        }
}

static void client_read_request(Monitor *m, Client *cl)
{
        if (!cl->req)
                cl->req = xmalloc(MON_REQ_MAX + 1);
        ssize_t n = recv(cl->fd, cl->req + cl->req_len, MON_REQ_MAX - cl->req_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                client_close(cl);
                return;
        }
        cl->req_len += (size_t) n;
        ssize_t line = mon_request_line(cl->req, cl->req_len, MON_REQ_MAX);
        if (line < 0)
                client_close(cl);
        if (line <= 0)
                return;
        cl->req[line - 1] = 0;
        handle_request(m, cl, cl->req, (size_t) line);
}

static void close_stdin(Monitor *m)
{
        if (m->c.stdin_fd < 0)
                return;
        if (m->spec->tty) {
                /* The pty stays open for output: end the input with the EOF character instead. */
                (void) !write(m->c.stdin_fd, "\x04", 1);
        }
        m->c.stdin_fd = safe_close(m->c.stdin_fd);
        m->stdin_close_pending = false;
}

static void client_read_stdin(Monitor *m, Client *cl)
{
        size_t room = STDIN_BUF_MAX - m->stdin_len;
        if (room == 0)
                return;
        ssize_t n = recv(cl->fd, m->stdin_buf + m->stdin_len, room, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                cl->in_open = false;
                if (n < 0) {
                        client_close(cl);
                        return;
                }
                /* dockerd: with StdinOnce and no TTY the container's stdin is closed and the
                 * output goes on; otherwise this attach ends (the container keeps its stdin). */
                if (cl->want_stdin && m->spec->stdin_once && !m->spec->tty)
                        m->stdin_close_pending = true;
                else if (cl->want_stdin)
                        client_close(cl);
                return;
        }
        if (!cl->want_stdin)
                return; /* not attached to stdin: discard */
        m->stdin_len += (size_t) n;
}

static void pump_stdin(Monitor *m)
{
        while (m->c.stdin_fd >= 0 && m->stdin_len > 0) {
                ssize_t n = write(m->c.stdin_fd, m->stdin_buf, m->stdin_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN) { /* the container closed its stdin */
                                m->stdin_len = 0;
                                m->c.stdin_fd = safe_close(m->c.stdin_fd);
                        }
                        return;
                }
                memmove(m->stdin_buf, m->stdin_buf + n, m->stdin_len - (size_t) n);
                m->stdin_len -= (size_t) n;
        }
        if (m->stdin_len == 0 && m->stdin_close_pending)
                close_stdin(m);
}

/* ---- output ---- */

static void read_output(Monitor *m, int *fdp, int stream)
{
        char buf[32768];
        for (int rounds = 0; rounds < 8; rounds++) {
                ssize_t n = read(*fdp, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) { /* EOF, or EIO from a pty whose slave is gone */
                        mon_lines_flush(m->lines[stream - 1], emit_log, m);
                        if (m->spec->tty && m->c.stdin_fd >= 0)
                                m->c.stdin_fd = safe_close(m->c.stdin_fd);
                        *fdp = safe_close(*fdp);
                        return;
                }
                mon_lines_feed(m->lines[stream - 1], buf, (size_t) n, emit_log, m);
                fan_out(m, stream, buf, (size_t) n);
        }
}

/* Only the host's root may drive the monitor: uid 0 and not a process of the container (its cgroup
 * or its pid namespace), should a socket or its path ever become reachable from inside. */
static bool peer_allowed(Monitor *m, int fd)
{
        struct ucred cr;
        socklen_t len = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0)
                return false;
        if (cr.pid <= 0)
                return true;
        if (m->spec->cgroup && *m->spec->cgroup) { /* a process of the container's cgroup (--pid=host too) */
                char cp[64];
                snprintf(cp, sizeof(cp), "/proc/%d/cgroup", (int) cr.pid);
                _cleanup_free_ char *text = NULL, *needle = xasprintf(":/%s\n", m->spec->cgroup);
                _cleanup_free_ char *below = xasprintf(":/%s/", m->spec->cgroup);
                if (read_file(cp, &text, NULL) == 0 && (strstr(text, needle) || strstr(text, below)))
                        return false;
        }
        if (m->c.pid <= 0)
                return true;
        char a[64], b[64];
        struct stat sa, sb;
        snprintf(a, sizeof(a), "/proc/%d/ns/pid", (int) cr.pid);
        snprintf(b, sizeof(b), "/proc/%d/ns/pid", (int) m->c.pid);
        if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
                return true; /* the peer or the container is gone: nothing to protect */
        return !(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev) || !m->spec->ns_pid;
}

static void accept_clients(Monitor *m)
{
        for (;;) {
                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                if (!peer_allowed(m, fd)) {
                        log_warn("refused a monitor.sock connection from a process that is not the host's root");
                        close(fd);
                        continue;
                }
                Client *nc = NULL;
                for (size_t i = 0; i < m->n_clients; i++)
                        if (m->clients[i].kind == C_DONE) {
                                nc = &m->clients[i];
                                break;
                        }
                if (!nc) {
                        Client *n = xrealloc(m->clients, (m->n_clients + 1) * sizeof(Client));
                        if (!n) {
                                close(fd);
                                return;
                        }
                        m->clients = n;
                        nc = &m->clients[m->n_clients++];
                }
                *nc = (Client){ .fd = fd, .kind = C_REQUEST, .x_in = -1, .x_out = -1, .x_err = -1 };
        }
}

static void on_sigchld(Monitor *m)
{
        struct signalfd_siginfo si;
        while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si))
                ;
        int status;
        pid_t p;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                for (size_t i = 0; i < m->n_clients; i++) {
                        Client *cl = &m->clients[i];
                        if (cl->kind != C_EXEC || cl->x_pid != p || cl->x_exited)
                                continue;
                        cl->x_exited = true;
                        cl->x_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        /* output held open by a background child ends the relay after this */
                        cl->x_deadline = mono_ms() + 2000;
                }
                if (p != m->c.pid || m->exited)
                        continue;
                m->exited = true;
                if (WIFEXITED(status))
                        m->exit_code = WEXITSTATUS(status);
                else if (WIFSIGNALED(status))
                        m->exit_code = 128 + WTERMSIG(status);
                m->exit_deadline = mono_ms() + 2000;
                log_debug("container process %d exited with %d", (int) p, m->exit_code);
        }
}

static void finish(Monitor *m)
{
        if (m->c.stdout_fd >= 0)
                mon_lines_flush(m->lines[0], emit_log, m);
        if (m->c.stderr_fd >= 0)
                mon_lines_flush(m->lines[1], emit_log, m);
        build_exit_json(m);
        /* Connections already queued on the socket still get served: waits answered, the rest closed. */
        accept_clients(m);
        for (size_t i = 0; i < m->n_clients; i++) {
                Client *cl = &m->clients[i];
                if (cl->kind != C_REQUEST)
                        continue;
                struct pollfd pf = { .fd = cl->fd, .events = POLLIN };
                if (poll(&pf, 1, 100) > 0)
                        client_read_request(m, cl);
        }
        for (size_t i = 0; i < m->n_clients; i++)
                if (m->clients[i].kind == C_WAIT)
                        answer_wait(&m->clients[i], m->exit_json);
                else if (m->clients[i].kind == C_REQUEST)
                        client_close(&m->clients[i]);
        for (size_t i = 0; i < m->n_clients; i++)
                exec_check(&m->clients[i], true);
        /* Attached clients get what is queued, within a bound, then the connection closes. */
        int64_t deadline = mono_ms() + 2000;
        for (;;) {
                struct pollfd pf[64];
                size_t n = 0;
                for (size_t i = 0; i < m->n_clients && n < ELEMENTSOF(pf); i++) {
                        Client *cl = &m->clients[i];
                        if ((cl->kind == C_ATTACH || cl->kind == C_EXEC) && cl->fd >= 0 && cl->out_len > 0)
                                pf[n++] = (struct pollfd){ .fd = cl->fd, .events = POLLOUT };
                }
                int64_t left = deadline - mono_ms();
                if (n == 0 || left <= 0)
                        break;
                (void) poll(pf, n, (int) left);
                for (size_t i = 0; i < m->n_clients; i++)
                        if (m->clients[i].kind == C_ATTACH || m->clients[i].kind == C_EXEC)
                                client_flush(&m->clients[i]);
        }
        for (size_t i = 0; i < m->n_clients; i++)
                if (m->clients[i].fd >= 0)
                        client_close(&m->clients[i]);
        if (m->cg && m->spec->cgroup) {
                (void) rt_cgroup_kill_all(m->cg, m->spec->cgroup, SIGKILL);
                int r = m->cg->remove(m->spec->cgroup);
                if (r < 0)
                        log_warn("removing cgroup %s: %s", m->spec->cgroup, strerror(-r));
        }
}

static void cleanup_files(Monitor *m)
{
        _cleanup_free_ char *sock = xasprintf("%s/monitor.sock", m->dir);
        _cleanup_free_ char *pid = xasprintf("%s/monitor.pid", m->dir);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", m->dir);
        _cleanup_free_ char *empty = xasprintf("%s/empty", m->dir);
        unlink(sock);
        unlink(pid);
        rmdir(rootfs);
        rmdir(empty);
}

static bool execs_busy(Monitor *m)
{
        for (size_t i = 0; i < m->n_clients; i++)
                if (m->clients[i].kind == C_EXEC)
                        return true;
        return false;
}

enum { W_SOCK, W_XIN, W_XOUT, W_XERR };

static int event_loop(Monitor *m)
{
        for (;;) {
                if (m->exited && (((m->c.stdout_fd < 0 && m->c.stderr_fd < 0) && !execs_busy(m)) ||
                                  mono_ms() >= m->exit_deadline))
                        break;
                struct pollfd pf[8 + 1024];
                Client *who[8 + 1024];
                int what[8 + 1024];
                size_t n = 0;
                int64_t wake = -1; /* earliest exec grace deadline */
                pf[n] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
                who[n++] = NULL;
                pf[n] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
                who[n++] = NULL;
                size_t out_idx = n;
                pf[n] = (struct pollfd){ .fd = m->started ? m->c.stdout_fd : -1, .events = POLLIN };
                who[n++] = NULL;
                pf[n] = (struct pollfd){ .fd = m->started ? m->c.stderr_fd : -1, .events = POLLIN };
                who[n++] = NULL;
                size_t in_idx = n;
                pf[n] = (struct pollfd){ .fd = m->stdin_len > 0 ? m->c.stdin_fd : -1, .events = POLLOUT };
                who[n++] = NULL;
                for (size_t i = 0; i < m->n_clients && n + 4 <= ELEMENTSOF(pf); i++) {
                        Client *cl = &m->clients[i];
                        if (cl->kind == C_EXEC) {
                                if (cl->fd >= 0) {
                                        short ev = cl->out_len > 0 ? POLLOUT : 0;
                                        if (!cl->x_in_eof && cl->x_len == 0)
                                                ev |= POLLIN;
                                        pf[n] = (struct pollfd){ .fd = cl->fd, .events = ev };
                                        what[n] = W_SOCK;
                                        who[n++] = cl;
                                }
                                if (cl->x_in >= 0 && cl->x_len > 0) {
                                        pf[n] = (struct pollfd){ .fd = cl->x_in, .events = POLLOUT };
                                        what[n] = W_XIN;
                                        who[n++] = cl;
                                }
                                bool room = cl->fd < 0 || cl->out_len < EXEC_OUT_HIGH;
                                if (cl->x_out >= 0 && room) {
                                        pf[n] = (struct pollfd){ .fd = cl->x_out, .events = POLLIN };
                                        what[n] = W_XOUT;
                                        who[n++] = cl;
                                }
                                if (cl->x_err >= 0 && room) {
                                        pf[n] = (struct pollfd){ .fd = cl->x_err, .events = POLLIN };
                                        what[n] = W_XERR;
                                        who[n++] = cl;
                                }
                                if (cl->x_exited && !cl->x_final && (wake < 0 || cl->x_deadline < wake))
                                        wake = cl->x_deadline;
                                continue;
                        }
                        if (cl->fd < 0)
                                continue;
                        short ev = 0;
                        if (cl->kind == C_REQUEST || (cl->kind == C_ATTACH && cl->in_open &&
                                                      (!cl->want_stdin || m->stdin_len < STDIN_BUF_MAX)))
                                ev |= POLLIN;
                        if (cl->kind == C_ATTACH && cl->out_len > 0)
                                ev |= POLLOUT;
                        if (cl->kind == C_WAIT)
                                ev |= POLLIN; /* to notice a waiter that goes away */
                        pf[n] = (struct pollfd){ .fd = cl->fd, .events = ev };
                        what[n] = W_SOCK;
                        who[n++] = cl;
                }
                if (m->exited && (wake < 0 || m->exit_deadline < wake))
                        wake = m->exit_deadline;
                int timeout = -1;
                if (wake >= 0) {
                        int64_t left = wake - mono_ms();
                        timeout = left < 0 ? 0 : (int) left;
                }
                int r = poll(pf, n, timeout);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[1].revents)
                        on_sigchld(m);
                if (pf[out_idx].revents)
                        read_output(m, &m->c.stdout_fd, 1);
                if (pf[out_idx + 1].revents)
                        read_output(m, &m->c.stderr_fd, 2);
                if (pf[in_idx].revents)
                        pump_stdin(m);
                for (size_t i = in_idx + 1; i < n; i++) {
                        Client *cl = who[i];
                        short re = pf[i].revents;
                        if (!re)
                                continue;
                        if (cl->kind == C_EXEC) {
                                if (what[i] == W_XIN && cl->x_in == pf[i].fd)
                                        exec_pump_stdin(cl);
                                else if (what[i] == W_XOUT && cl->x_out == pf[i].fd)
                                        exec_read_output(cl, &cl->x_out, 1);
                                else if (what[i] == W_XERR && cl->x_err == pf[i].fd)
                                        exec_read_output(cl, &cl->x_err, 2);
                                else if (what[i] == W_SOCK && cl->fd == pf[i].fd) {
                                        if (re & POLLOUT) {
                                                client_flush(cl);
                                                if (cl->x_final && cl->fd >= 0 && cl->out_len == 0)
                                                        client_close(cl);
                                        }
                                        if (cl->fd >= 0 && (re & POLLIN))
                                                exec_read_stdin(cl);
                                        else if (cl->fd >= 0 && (re & (POLLHUP | POLLERR)))
                                                client_close(cl);
                                }
                                continue;
                        }
                        if (cl->fd != pf[i].fd || what[i] != W_SOCK)
                                continue;
                        if (cl->kind == C_REQUEST)
                                client_read_request(m, cl);
                        else if (cl->kind == C_ATTACH) {
                                if (re & POLLOUT)
                                        client_flush(cl);
                                if (cl->fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR)) && cl->in_open)
                                        client_read_stdin(m, cl);
                                else if (cl->fd >= 0 && (re & (POLLHUP | POLLERR)) && !cl->in_open)
                                        client_close(cl);
                        } else if (cl->kind == C_WAIT) {
                                char b[64];
                                ssize_t k = recv(cl->fd, b, sizeof(b), MSG_DONTWAIT);
                                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                                        client_close(cl);
                        }
                }
                pump_stdin(m);
                for (size_t i = 0; i < m->n_clients; i++)
                        exec_check(&m->clients[i], false);
                if (pf[0].revents)
                        accept_clients(m);
        }
        return 0;
}

static int make_listener(const char *dir)
{
        /* Bind relative to the directory: the absolute path may exceed sun_path. */
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fchdir(dfd) < 0)
                return -errno;
        unlink("monitor.sock");
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, "monitor.sock");
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) chmod("monitor.sock", 0600);
        return fd;
}

static char *find_init(void)
{
        const char *dir = getenv("BERTH_MONITOR_DIR"); /* where the binary we were copied from lives */
        if (dir && *dir) {
                char *p = xasprintf("%s/berth-init", dir);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                char *p = xasprintf("%s/berth-init", dirname(self));
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        char *p = xasprintf("%s/berth-init", BERTH_LIBEXECDIR);
        if (access(p, X_OK) == 0)
                return p;
        free(p);
        return NULL;
}

static void sync_send(int *sync_fd, const char *line)
{
        if (*sync_fd < 0)
                return;
        write_all_fd(*sync_fd, line, strlen(line));
        *sync_fd = safe_close(*sync_fd);
}

int main(int argc, char **argv)
{
        log_set_prefix("berth-monitor");
        json_set_alloc_funcs(xmalloc, free); /* one out-of-memory policy, jansson included */
        const char *lvl = getenv("BERTH_MONITOR_LOG_LEVEL");
        if (lvl && log_level_from_string(lvl) >= 0)
                log_set_level(log_level_from_string(lvl));
        if (argc != 2) {
                fprintf(stderr, "usage: berth-monitor <exec-root>/containers/<id>\n");
                return 2;
        }
        /* Never run from the host's binary: processes entering the container are our forks
         * (CVE-2019-5736). berthd starts us from a sealed copy; when run otherwise, make one. */
        if (rt_exe_is_sealed() != 1) {
                char self[4096];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (n > 0) {
                        self[n] = 0;
                        (void) setenv("BERTH_MONITOR_DIR", dirname(self), 0);
                }
                int mfd;
                int r = rt_sealed_copy("/proc/self/exe", &mfd);
                if (r == 0) {
                        extern char **environ;
                        (void) syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
                        r = -errno;
                }
                _cleanup_free_ char *msg = xasprintf(RT_ERROR_PREFIX "running berth-monitor from a sealed copy: %s"
                                                     RT_ERROR_SUFFIX, strerror(-r));
                _cleanup_free_ char *line = error_line(msg, 125);
                int sfd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
                sync_send(&sfd, line);
                log_error("%s", msg);
                return 1;
        }
        int sync_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
        if (sync_fd >= 0)
                (void) fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
        /* 0-2 must stay valid so pipes never land there; stdin is nobody's business. */
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
                dup2(nul, 0);
                for (int i = 1; i < 3; i++)
                        if (fcntl(i, F_GETFD) < 0)
                                dup2(nul, i);
                if (nul > 2)
                        close(nul);
        }

        static Monitor mon = { .listen_fd = -1, .sig_fd = -1 };
        Monitor *m = &mon;
        m->dir = realpath(argv[1], NULL);
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_free_ char *specpath = xasprintf("%s/spec.json", argv[1]);
        if (!m->dir || rt_spec_load(specpath, &m->spec, &err) < 0) {
                _cleanup_free_ char *line = error_line(err ? err->msg : "no such directory", 125);
                sync_send(&sync_fd, line);
                log_error("%s", err ? err->msg : "no such directory");
                return 1;
        }

        /* Double fork + setsid: the monitor is no longer berthd's child and outlives it. */
        pid_t p = fork();
        if (p < 0)
                return 1;
        if (p > 0)
                _exit(0);
        setsid();
        p = fork();
        if (p < 0)
                _exit(1);
        if (p > 0)
                _exit(0);

        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        m->sig_fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);

        RtSpec *s = m->spec;
        int code = 125, r;
        _cleanup_free_ char *emsg = NULL;
        /* declared before the first goto: a jump must not pass a cleanup variable's initialisation */
        _cleanup_free_ char *init_path = NULL;
        if (s->cgroup && *s->cgroup) {
                m->cg = rt_cgroup_ops();
                _cleanup_strv_free_ char **devrules = rt_spec_device_rules(s);
                if ((r = m->cg->create(s->cgroup)) < 0 || (r = m->cg->set_resources(s->cgroup, &s->resources)) < 0 ||
                    (r = m->cg->set_devices(s->cgroup, devrules)) < 0) {
                        emsg = xasprintf(RT_ERROR_PREFIX "error setting cgroup config for procHooks process: %s" RT_ERROR_SUFFIX,
                                         strerror(-r));
                        (void) m->cg->remove(s->cgroup);
                        goto setup_failed;
                }
        }
        init_path = s->init ? find_init() : NULL;
        if (s->init && !init_path) {
                emsg = xstrdup(RT_ERROR_PREFIX "berth-init not found" RT_ERROR_SUFFIX);
                goto setup_failed_cg;
        }
        {
                _cleanup_berr_ BerthError *cerr = NULL;
                r = rt_container_create(s, m->dir, init_path, m->cg, &m->c, &code, &cerr);
                if (r < 0)
                        emsg = xstrdup(cerr ? cerr->msg : "setup failed");
        }
        if (r < 0)
                goto setup_failed_cg;

        for (int i = 0; i < 3; i++) {
                int fd = i == 0 ? m->c.stdin_fd : i == 1 ? m->c.stdout_fd : m->c.stderr_fd;
                if (fd >= 0)
                        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        }
        m->lines[0] = xcalloc(1, sizeof(MonLineBuf));
        m->lines[1] = xcalloc(1, sizeof(MonLineBuf));
        m->lines[0]->stream = "stdout";
        m->lines[1]->stream = "stderr";
        m->stdin_buf = xmalloc(STDIN_BUF_MAX);
        if (s->log_path && *s->log_path) {
                int64_t max_size = s->log_max_size > 0 ? s->log_max_size : DEFAULT_LOG_MAX_SIZE;
                int max_file = s->log_max_file > 0 ? (int) s->log_max_file : 1;
                r = mon_log_open(&m->log, s->log_path, max_size, max_file, s->log_compress);
                if (r < 0)
                        log_warn("opening log %s: %s", s->log_path, strerror(-r));
                m->have_log = r >= 0;
        }
        m->listen_fd = make_listener(m->dir);
        if (m->listen_fd < 0) {
                emsg = xasprintf(RT_ERROR_PREFIX "creating monitor.sock: %s" RT_ERROR_SUFFIX, strerror(-m->listen_fd));
                kill(m->c.pid, SIGKILL);
                waitpid(m->c.pid, NULL, 0);
                goto setup_failed_cg;
        }
        {
                _cleanup_free_ char *pidpath = xasprintf("%s/monitor.pid", m->dir);
                char buf[32];
                int len = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
                /* Atomic but not fsynced: it lives in the exec root and names a process, so it means
                 * nothing after a power loss; two fsyncs here were on every start's critical path. */
                (void) write_file_replace(pidpath, buf, (size_t) len, 0644);
                _cleanup_free_ char *line = xasprintf("{\"monitor_pid\":%d,\"pid\":%d}\n", (int) getpid(), (int) m->c.pid);
                sync_send(&sync_fd, line);
        }

        r = event_loop(m);
        if (r < 0)
                log_error("event loop: %s", strerror(-r));
        if (!m->exited) {
                kill(m->c.pid, SIGKILL);
                int st;
                if (waitpid(m->c.pid, &st, 0) == m->c.pid)
                        m->exit_code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
        }
        finish(m);
        if (m->have_log)
                mon_log_close(&m->log);
        cleanup_files(m);
        return 0;

setup_failed_cg:
        if (m->cg)
                (void) m->cg->remove(s->cgroup);
setup_failed:
        {
                _cleanup_free_ char *line = error_line(emsg ? emsg : "setup failed", code);
                sync_send(&sync_fd, line);
                log_info("setup failed: %s", emsg ? emsg : "?");
                cleanup_files(m);
                _exit(1);
        }
}
