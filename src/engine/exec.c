/* docker exec: instances in memory, the process in the monitor (docs/monitor.md, "exec"). */
#include "engine/exec.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/detachkeys.h"
#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/stdcopy.h"
#include "basic/util.h"
#include "container.h"
#include "state/events.h"
#include "engine/links.h"

#define EXEC_KEEP_NS (5LL * 60 * 1000000000) /* ended instances are forgotten after this */

struct Exec {
        char id[65];
        Container *c; /* referenced */
        json_t *cmd;  /* array of strings */
        json_t *env;  /* the full environment */
        char *user, *workdir, *detach_keys;
        bool tty, in, out, err, privileged;
        bool framed; /* the client asked for Docker's stream frames (start's Tty false) */
        /* guarded by e->lock */
        bool started, running, exited;
        int exit_code, pid, h, w;
        int64_t ended_ns;
        unsigned refs;
        Exec *next;
};

struct ExecTable {
        Exec *list;
};

/* e->lock held */
static struct ExecTable *table(Engine *e)
{
        if (!e->execs)
                e->execs = xcalloc(1, sizeof(struct ExecTable));
        return e->execs;
}

static void exec_free(Exec *x)
{
        container_unref(x->c);
        json_decref(x->cmd);
        json_decref(x->env);
        free(x->user);
        free(x->workdir);
        free(x->detach_keys);
        free(x);
}

/* Drops instances of removed containers and long-ended ones (e->lock held). */
static void gc_locked(Engine *e)
{
        int64_t now = now_ns();
        for (Exec **pp = &table(e)->list; *pp;) {
                Exec *x = *pp;
                bool drop = !x->running && (x->c->removed || (x->exited && now - x->ended_ns > EXEC_KEEP_NS));
                if (drop) {
                        *pp = x->next;
                        if (--x->refs == 0)
                                exec_free(x);
                } else
                        pp = &x->next;
        }
}

void exec_table_free(Engine *e)
{
        if (!e->execs)
                return;
        while (e->execs->list) {
                Exec *x = e->execs->list;
                e->execs->list = x->next;
                exec_free(x);
        }
        free(e->execs);
        e->execs = NULL;
}

void exec_unref(Engine *e, Exec *x)
{
        if (!x)
                return;
        pthread_mutex_lock(&e->lock);
        bool last = --x->refs == 0;
        pthread_mutex_unlock(&e->lock);
        if (last)
                exec_free(x);
}

bool exec_tty(Exec *x)
{
        return x->tty;
}

json_t *exec_monitor_request(json_t *cmd, json_t *env, const char *user, const char *cwd, bool tty, bool in, bool out,
                             bool err, bool privileged)
{
        return json_pack("{s:s,s:O,s:O,s:s,s:s,s:b,s:b,s:b,s:b,s:b}", "op", "exec", "args", cmd, "env", env, "user",
                         user, "cwd", cwd, "tty", tty, "stdin", in, "stdout", out, "stderr", err, "privileged",
                         privileged);
}

static int running_check_locked(Container *c, BerthError **err)
{
        if (c->status == CSTATUS_PAUSED)
                return berr_set(err, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
        if (c->status == CSTATUS_RESTARTING)
                return berr_set(err, EBUSY, "Container %s is restarting, wait until the container is running", c->id);
        if (c->status != CSTATUS_RUNNING || c->removed)
                return berr_set(err, ENOTCONN, "Container %s is not running", c->id);
        return 0;
}

static const JsonFieldType exec_config_fields[] = {
        { "AttachStdin", JT_BOOL }, { "AttachStdout", JT_BOOL }, { "AttachStderr", JT_BOOL },
        { "ConsoleSize", JT_ARR }, { "DetachKeys", JT_STR }, { "Tty", JT_BOOL }, { "Env", JT_STRV },
        { "Cmd", JT_STRV | JT_STR }, { "Privileged", JT_BOOL }, { "User", JT_STR }, { "WorkingDir", JT_STR },
};

int exec_create(Engine *e, const char *ref, json_t *body, char **ret_id, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        /* Wrongly typed fields are Docker's 400 (json.Unmarshal), before the container is looked up. */
        const JsonFieldType *bad = json_check_fields(body, exec_config_fields, ELEMENTSOF(exec_config_fields));
        if (bad)
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field ExecConfig.%s",
                                json_kind(json_object_get(body, bad->key)), bad->key);
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        json_t *cmd = json_object_get(body, "Cmd");
        if (json_is_string(cmd)) /* very old clients */
                cmd = json_pack("[O]", cmd);
        else
                cmd = json_incref(cmd);
        _cleanup_json_ json_t *cmdref = cmd;
        if (!json_is_array(cmd) || json_array_size(cmd) == 0)
                return berr_set(err, EINVAL, "No exec command specified");
        size_t i;
        json_t *v;
        json_array_foreach(cmd, i, v) if (!json_is_string(v)) return berr_set(err, EINVAL, "invalid Cmd");
        /* Go decodes JSON keys case-insensitively; docker-py sends "detachKeys" from its config file */
        json_t *dkv = json_object_get_ci(body, "DetachKeys");
        const char *keys = json_is_string(dkv) ? json_string_value(dkv) : NULL;
        DetachKeys dk;
        if (keys && *keys && detach_keys_parse(keys, &dk) < 0)
                return berr_set(err, EINVAL, "Invalid escape keys (%s) provided", keys);

        /* dockerd's CreateDaemonEnvironment, then the exec's own variables. */
        bool tty = json_bool(body, "Tty");
        json_t *env = container_process_env(e, c, tty);
        json_array_foreach(json_object_get(body, "Env"), i, v) if (json_is_string(v)) json_env_set(env, json_string_value(v));

        Exec *x = xcalloc(1, sizeof(*x));
        if (!x) {
                json_decref(env);
                return berr_set(err, ENOMEM, "out of memory");
        }
        random_hex_id(x->id);
        x->cmd = json_incref(cmd);
        x->env = env;
        x->user = xstrdup(json_str(body, "User") ? json_str(body, "User") : "");
        x->workdir = xstrdup(json_str(body, "WorkingDir") ? json_str(body, "WorkingDir") : "");
        x->detach_keys = xstrdup(keys ? keys : "");
        x->tty = tty;
        x->in = json_bool(body, "AttachStdin");
        x->out = json_bool(body, "AttachStdout");
        x->err = json_bool(body, "AttachStderr");
        x->privileged = json_bool(body, "Privileged");
        json_t *cs = json_object_get(body, "ConsoleSize");
        if (json_is_array(cs) && json_array_size(cs) == 2) {
                x->h = (int) json_integer_value(json_array_get(cs, 0));
                x->w = (int) json_integer_value(json_array_get(cs, 1));
        }
        x->refs = 1;

        pthread_mutex_lock(&e->lock);
        r = running_check_locked(c, err);
        if (r < 0) {
                pthread_mutex_unlock(&e->lock);
                x->c = NULL;
                exec_free(x);
                return r;
        }
        x->c = container_ref(c);
        gc_locked(e);
        x->next = table(e)->list;
        table(e)->list = x;
        pthread_mutex_unlock(&e->lock);

        _cleanup_free_ char *cmdline = json_strv_join(cmd, " ");
        _cleanup_free_ char *action = xasprintf("exec_create: %s", cmdline);
        events_container(e, c, action, json_pack("{s:s}", "execID", x->id));
        *ret_id = xstrdup(x->id);
        return 0;
}

int exec_get(Engine *e, const char *id, Exec **ret, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        gc_locked(e);
        for (Exec *x = table(e)->list; x; x = x->next)
                if (streq(x->id, id)) {
                        x->refs++;
                        pthread_mutex_unlock(&e->lock);
                        *ret = x;
                        return 0;
                }
        pthread_mutex_unlock(&e->lock);
        return berr_set(err, ENOENT, "No such exec instance: %s", id);
}

int exec_start_prepare(Engine *e, Exec *x, BerthError **err)
{
        pthread_mutex_lock(&e->lock);
        int r = 0;
        if (x->running)
                r = berr_set(err, EBUSY, "Error: Exec command %s is already running", x->id);
        else if (x->started)
                r = berr_set(err, EBUSY, "Error: Exec command %s has already run", x->id);
        else
                r = running_check_locked(x->c, err);
        if (r == 0)
                x->started = true;
        pthread_mutex_unlock(&e->lock);
        return r;
}

static void finish(Engine *e, Exec *x, int code)
{
        pthread_mutex_lock(&e->lock);
        x->running = false;
        x->exited = true;
        x->exit_code = code;
        x->ended_ns = now_ns();
        pthread_mutex_unlock(&e->lock);
        _cleanup_free_ char *code_s = xasprintf("%d", code);
        events_container(e, x->c, "exec_die", json_pack("{s:s,s:s}", "execID", x->id, "exitCode", code_s));
}

/* Relays the monitor's frames to the client (payload only for a TTY) and the client's stdin
 * (through the detach keys) to the monitor, until the monitor sends the exit frame and closes.
 * A client that leaves or detaches stops being written to; the relay itself goes on so the
 * exit code is known. Returns the exit code. */
static int relay(Exec *x, int mon, int client, const char *pre, size_t pre_len)
{
        static const size_t BUF = 128 * 1024;
        _cleanup_free_ char *buf = xmalloc(BUF), *fbuf = xmalloc(BUF + DETACH_KEYS_MAX);
        if (!buf || !fbuf)
                return 126;
        DetachKeys dk;
        if (detach_keys_parse(x->detach_keys, &dk) < 0)
                dk.n = 0;
        bool client_in = client >= 0 && x->in;
        unsigned char hdr[STDCOPY_HEADER_LEN];
        size_t have = 0, left = 0;
        int stream = 0;
        char exitbuf[128];
        size_t exit_len = 0;
        int code = -1;
        bool first = true;
        for (;;) {
                ssize_t got;
                if (first && pre_len > 0) {
                        memcpy(buf, pre, pre_len);
                        got = (ssize_t) pre_len;
                } else {
                        struct pollfd p[2] = { { .fd = mon, .events = POLLIN },
                                               { .fd = client, .events = client_in ? POLLIN | POLLRDHUP : 0 } };
                        if (poll(p, client >= 0 ? 2 : 1, -1) < 0) {
                                if (errno == EINTR)
                                        continue;
                                break;
                        }
                        if (client >= 0 && client_in && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                                ssize_t n = read(client, buf, BUF);
                                if (n > 0) {
                                        bool detached;
                                        size_t o = detach_keys_feed(&dk, buf, (size_t) n, fbuf, &detached);
                                        if (o > 0 && loop_send(mon, fbuf, o) < 0)
                                                client_in = false;
                                        if (detached) {
                                                /* the process runs on; this client is done */
                                                shutdown(client, SHUT_RDWR);
                                                client = -1;
                                                client_in = false;
                                        }
                                } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                                        /* stdin EOF: the process's stdin is closed, output goes on */
                                        shutdown(mon, SHUT_WR);
                                        client_in = false;
                                }
                                continue;
                        } else if (client >= 0 && !client_in && (p[1].revents & (POLLHUP | POLLERR))) {
                                client = -1; /* gone altogether */
                        }
                        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        got = read(mon, buf, BUF);
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0)
                                break;
                }
                first = false;
                for (size_t i = 0; i < (size_t) got;) {
                        if (left == 0) {
                                hdr[have++] = (unsigned char) buf[i++];
                                if (have < sizeof(hdr))
                                        continue;
                                have = 0;
                                stream = hdr[0];
                                left = stdcopy_header_len(hdr);
                                if (stream != STDCOPY_SYSTEMERR && x->framed && client >= 0 && left > 0 &&
                                    loop_send(client, hdr, 8) < 0)
                                        client = -1;
                                continue;
                        }
                        size_t take = (size_t) got - i < left ? (size_t) got - i : left;
                        if (stream == 3) {
                                size_t room = sizeof(exitbuf) - 1 - exit_len;
                                size_t k = take < room ? take : room;
                                memcpy(exitbuf + exit_len, buf + i, k);
                                exit_len += k;
                                if (take == left) {
                                        exitbuf[exit_len] = 0;
                                        _cleanup_json_ json_t *j = json_loads(exitbuf, 0, NULL);
                                        code = (int) json_int(j, "ExitCode", 137);
                                        exit_len = 0;
                                }
                        } else if (client >= 0 && loop_send(client, buf + i, take) < 0)
                                client = -1;
                        i += take;
                        left -= take;
                }
        }
        return code < 0 ? 137 : code;
}

/* Reads the monitor's first line; what came after it is returned in *rest. */
static int read_reply(int mon, char **ret_line, char **rest, size_t *rest_len)
{
        size_t cap = 4096, len = 0;
        char *b = xmalloc(cap + 1);
        if (!b)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(mon, b + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(b);
                        return n < 0 ? -errno : -ECONNRESET;
                }
                len += (size_t) n;
                char *nl = memchr(b, '\n', len);
                if (nl) {
                        *nl = 0;
                        *rest_len = len - (size_t) (nl + 1 - b);
                        *rest = xmalloc(*rest_len + 1);
                        memcpy(*rest, nl + 1, *rest_len);
                        *ret_line = b;
                        return 0;
                }
                if (len == cap) {
                        free(b);
                        return -EBADMSG;
                }
        }
}

typedef struct {
        Engine *e;
        Exec *x;
        int mon;
        char *rest;
        size_t rest_len;
} Detached;

static void *detached_thread(void *p)
{
        Detached *d = p;
        int code = relay(d->x, d->mon, -1, d->rest, d->rest_len);
        close(d->mon);
        finish(d->e, d->x, code);
        exec_unref(d->e, d->x);
        free(d->rest);
        free(d);
        return NULL;
}

int exec_run(Engine *e, Exec *x, int client_fd, bool framed, BerthError **err)
{
        x->framed = framed;
        _cleanup_json_ json_t *req = exec_monitor_request(x->cmd, x->env, x->user, x->workdir, x->tty,
                                                          x->in && client_fd >= 0, x->out, x->err, x->privileged);
        pthread_mutex_lock(&e->lock);
        int sent_h = x->h, sent_w = x->w;
        if (x->h > 0 && x->w > 0) {
                json_object_set_new(req, "h", json_integer(x->h));
                json_object_set_new(req, "w", json_integer(x->w));
        }
        pthread_mutex_unlock(&e->lock);
        _cleanup_free_ char *line = json_dump(req);
        _cleanup_free_ char *reply = NULL, *rest = NULL, *msg = NULL;
        size_t rest_len = 0;
        int code = 126;
        int mon = container_monitor_connect(e, x->c->id);
        int r = mon;
        if (mon >= 0 && (r = loop_send(mon, line, strlen(line))) == 0 && (r = loop_send(mon, "\n", 1)) == 0)
                r = read_reply(mon, &reply, &rest, &rest_len);
        _cleanup_json_ json_t *j = r == 0 ? json_loads(reply, 0, NULL) : NULL;
        if (r < 0 || !json_is_object(j) || json_str(j, "error") || json_int(j, "pid", 0) <= 0) {
                if (r < 0)
                        msg = xasprintf("Container %s is not running", x->c->id);
                else
                        msg = xstrdup(json_str(j, "error") ? json_str(j, "error") : "exec failed");
                code = (int) json_int(j, "exit_code", 126);
                if (mon >= 0)
                        close(mon);
                finish(e, x, code);
                if (client_fd < 0)
                        return berr_set(err, r < 0 ? ENOTCONN : EIO, "%s", msg);
                /* dockerd writes the error into the stream it already hijacked */
                _cleanup_free_ char *text = xasprintf("%s\r\n", msg);
                size_t n = strlen(text);
                if (x->framed) {
                        unsigned char hdr[STDCOPY_HEADER_LEN];
                        stdcopy_header(hdr, STDCOPY_STDOUT, n);
                        (void) loop_send(client_fd, hdr, sizeof(hdr));
                }
                (void) loop_send(client_fd, text, n);
                return 0;
        }
        /* Exec instances live in memory only: a crash from here on leaves the process to run out in
         * its container, relayed by nobody (its monitor discards the output). */
        crash_point("exec-after-start");
        pthread_mutex_lock(&e->lock);
        x->running = true;
        x->pid = (int) json_int(j, "pid", 0);
        int h = x->h, w = x->w;
        pthread_mutex_unlock(&e->lock);
        if (x->tty && (h != sent_h || w != sent_w) && h > 0 && w > 0) {
                /* a resize that came while the process was being started */
                _cleanup_free_ char *rq = xasprintf("{\"op\":\"exec-resize\",\"pid\":%d,\"h\":%d,\"w\":%d}", x->pid, h, w);
                _cleanup_free_ char *rl = NULL;
                (void) container_monitor_request(e, x->c->id, rq, &rl);
        }
        {
                _cleanup_free_ char *cmdline = json_strv_join(x->cmd, " ");
                _cleanup_free_ char *action = xasprintf("exec_start: %s", cmdline);
                events_container(e, x->c, action, json_pack("{s:s}", "execID", x->id));
        }
        if (client_fd < 0) {
                Detached *d = xcalloc(1, sizeof(*d));
                pthread_t t;
                pthread_attr_t a;
                pthread_attr_init(&a);
                pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
                pthread_mutex_lock(&e->lock);
                x->refs++;
                pthread_mutex_unlock(&e->lock);
                *d = (Detached){ .e = e, .x = x, .mon = mon, .rest = TAKE_PTR(rest), .rest_len = rest_len };
                if (pthread_create(&t, &a, detached_thread, d) != 0) {
                        /* cannot relay: the process runs on, its exit goes unnoticed */
                        close(mon);
                        finish(e, x, 137);
                        exec_unref(e, x);
                        free(d->rest);
                        free(d);
                }
                pthread_attr_destroy(&a);
                return 0;
        }
        code = relay(x, mon, client_fd, rest, rest_len);
        close(mon);
        finish(e, x, code); /* before the client sees the end: it inspects next */
        return 0;
}

int exec_resize(Engine *e, const char *id, int h, int w, BerthError **err)
{
        Exec *x = NULL;
        int r = exec_get(e, id, &x, err);
        if (r < 0)
                return r;
        if (h < 0 || w < 0) {
                exec_unref(e, x);
                return berr_set(err, EINVAL, "invalid terminal size");
        }
        pthread_mutex_lock(&e->lock);
        x->h = h;
        x->w = w;
        bool running = x->running;
        int pid = x->pid;
        pthread_mutex_unlock(&e->lock);
        if (running) {
                /* Not yet running: the size goes with the start request instead. */
                _cleanup_free_ char *req = xasprintf("{\"op\":\"exec-resize\",\"pid\":%d,\"h\":%d,\"w\":%d}", pid, h, w);
                _cleanup_free_ char *line = NULL;
                r = container_monitor_request(e, x->c->id, req, &line);
                if (r < 0) {
                        exec_unref(e, x);
                        return berr_set(err, EIO, "cannot resize exec %s: %s", id, strerror(-r));
                }
        }
        exec_unref(e, x);
        return 0;
}

json_t *exec_inspect_json(Engine *e, Exec *x)
{
        pthread_mutex_lock(&e->lock);
        json_t *args = json_array();
        for (size_t i = 1; i < json_array_size(x->cmd); i++)
                json_array_append(args, json_array_get(x->cmd, i));
        json_t *pc = json_pack("{s:b,s:O,s:o,s:b}", "tty", x->tty, "entrypoint", json_array_get(x->cmd, 0), "arguments",
                               args, "privileged", x->privileged);
        if (*x->user)
                json_object_set_new(pc, "user", json_string(x->user));
        json_t *j = json_pack("{s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID", x->id, "Running", x->running,
                              "ExitCode", x->exited ? json_integer(x->exit_code) : json_null(), "ProcessConfig", pc,
                              "OpenStdin", x->in, "OpenStderr", x->err, "OpenStdout", x->out, "CanRemove", false,
                              "ContainerID", x->c->id, "DetachKeys", x->detach_keys, "Pid", x->pid);
        pthread_mutex_unlock(&e->lock);
        return j;
}

json_t *exec_ids_json_locked(Engine *e, Container *c)
{
        if (!e->execs)
                return json_null();
        json_t *a = json_array();
        for (Exec *x = table(e)->list; x; x = x->next)
                if (x->c == c)
                        json_array_append_new(a, json_string(x->id));
        if (json_array_size(a) == 0) {
                json_decref(a);
                return json_null();
        }
        return a;
}
