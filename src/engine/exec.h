/* docker exec: exec instances of running containers. The process itself is started and
 * relayed by the container's monitor ("exec" op, docs/monitor.md); berthd keeps the
 * instances (in memory, like dockerd) until their container is removed, or a while after
 * they ended. HTTP-free. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "engine/engine.h"

typedef struct Container Container;
typedef struct Exec Exec;

/* POST /containers/{id}/exec: 404 no such container, 409 not running / paused /
 * restarting, 400 no command or bad detach keys. */
int exec_create(Engine *e, const char *ref, json_t *body, char **ret_id, BerthError **err);
/* A referenced instance; 404 "No such exec instance: <id>". */
int exec_get(Engine *e, const char *id, Exec **ret, BerthError **err);
void exec_unref(Engine *e, Exec *x);
bool exec_tty(Exec *x);
/* Claims the instance for one start: 409 "Error: Exec command <id> is already running" /
 * "has already run", or "Container <id> is not running" / "... is paused ...". */
int exec_start_prepare(Engine *e, Exec *x, BerthError **err);
/* Runs a prepared instance on a hijacked connection (client_fd), or detached (client_fd -1,
 * returns once the process started; the relay goes on in a thread). A failure to start is
 * written to the client in-band as Docker does, and ends the instance with exit code 126.
 * For detached starts, returns -errno with err set instead. framed: Docker's 8-byte stream
 * headers on the output, which the start request asks for with Tty false (whatever the
 * exec's own Tty). */
int exec_run(Engine *e, Exec *x, int client_fd, bool framed, BerthError **err);
int exec_resize(Engine *e, const char *id, int h, int w, BerthError **err);
json_t *exec_inspect_json(Engine *e, Exec *x);
/* The container's exec ids, or JSON null (e->lock held). */
json_t *exec_ids_json_locked(Engine *e, Container *c);

/* The monitor's "exec" op (docs/monitor.md). */
json_t *exec_monitor_request(json_t *cmd, json_t *env, const char *user, const char *cwd, bool tty, bool in, bool out,
                             bool err, bool privileged);

/* Frees every exec at shutdown, when no request can hold one any more. */
void exec_table_free(Engine *e);
