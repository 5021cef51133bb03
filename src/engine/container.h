/* Containers: the in-memory table, their state machine and persistence, and
 * the engine verbs (create, start, stop, kill, wait, remove, logs, attach...).
 *
 * Locking: every field below the "state" marker is guarded by the engine's
 * lock (e->lock); c->cond is signalled with that lock on every state change
 * (exit, start, removal), so waiters use pthread_cond_wait(&c->cond, &e->lock).
 * Containers are reference counted: a lookup returns a reference that the
 * caller drops with container_unref(), so a removed container stays valid
 * for whoever still holds it (wait condition=removed, attach, logs -f). */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/detachkeys.h"
#include "basic/error.h"
#include "engine/engine.h"

typedef enum ContainerStatus {
        CSTATUS_CREATED,
        CSTATUS_RUNNING,
        CSTATUS_PAUSED,
        CSTATUS_RESTARTING,
        CSTATUS_REMOVING,
        CSTATUS_EXITED,
        CSTATUS_DEAD,
} ContainerStatus;

typedef struct PendingAttach PendingAttach;

typedef struct Container {
        char id[65];
        char *image_id;
        int64_t created;   /* unix ns */
        json_t *config;    /* {"Config","HostConfig","NetworkingConfig","Path","Args","Platform"} */
        unsigned refs;
        pthread_cond_t cond;

        /* ---- state, guarded by e->lock ---- */
        char *name; /* without the leading slash */
        ContainerStatus status;
        int pid, monitor_pid;
        int exit_code;
        bool oom_killed;
        char *error;
        int64_t started_at, finished_at;
        int restart_count;
        bool manually_stopped;
        bool starting;         /* a start is in flight (persisted: "Starting", the start's intent) */
        bool removing;         /* a removal is in flight (persisted: "Removing", the removal's intent) */
        bool commit_paused;    /* paused by a commit in flight (persisted: "CommitPaused") */
        bool removed;          /* gone from the table and the store */
        uint64_t exit_seq;     /* bumped on every exit */
        uint64_t start_seq;    /* bumped on every successful start */
        PendingAttach *attaches;
        int watcher_fd;        /* the exit watcher's connection to monitor.sock */
        struct Health *health; /* State.Health (engine/health.h); NULL without a healthcheck */
} Container;

struct ContainerTable {
        Container **v;
        size_t n, cap;
        bool stopping;
        int n_watchers;
};

const char *container_status_string(ContainerStatus s);
/* The spec/config helpers. */
json_t *container_cfg(Container *c);      /* borrowed "Config" */
/* The environment of the container's processes, as dockerd's CreateDaemonEnvironment builds it:
 * PATH, HOSTNAME, TERM for a TTY, the links' variables, then Config.Env, which wins. A new array.
 * Call without e->lock (links are looked up). */
json_t *container_process_env(Engine *e, Container *c, bool tty);
json_t *container_hostcfg(Container *c);  /* borrowed "HostConfig" */
bool container_tty(Container *c);

Container *container_new(void);
Container *container_ref(Container *c);
void container_unref(Container *c);
static inline void container_unrefp(Container **c) { if (*c) container_unref(*c); }
#define _cleanup_container_ _cleanup_(container_unrefp)

/* Paths; caller frees. */
char *container_dir(Engine *e, const char *id);       /* <data-root>/containers/<id> */
char *container_run_dir(Engine *e, const char *id);   /* <exec-root>/containers/<id> */
char *container_log_path(Engine *e, const char *id);

/* Table (call with e->lock held). */
int container_table_add(Engine *e, Container *c);
void container_table_del(Engine *e, Container *c);
/* Name, full id or unique id prefix; -ENOENT "No such container: X". Takes the lock. */
int container_get(Engine *e, const char *ref, Container **ret, BerthError **err);
/* container_get of a running or paused container; else -EBUSY "Container X is not running" (top, resize). */
int container_get_live(Engine *e, const char *ref, Container **ret, BerthError **err);
Container *container_find_locked(Engine *e, const char *ref, int *ambiguous);
/* Snapshot of every container, referenced; caller unrefs each and frees the array. */
Container **container_list_all(Engine *e, size_t *ret_n);
/* Unrefs each container of a container_list_all() snapshot and frees the array. */
void container_list_free(Container **all, size_t n);

/* Persistence (e->lock held). */
int container_save(Engine *e, Container *c);
/* -EIO when the store did not take it: the caller undoes its in-memory change and fails
 * (a storage failure is a 500), or, for a fact it cannot undo (an exit), logs it. */
int container_save_state(Engine *e, Container *c) __attribute__((warn_unused_result));
/* For a fact that already happened and has no client to tell (an exit, a failed start):
 * saves, and on failure says so at error level. */
void container_save_fact(Engine *e, Container *c, const char *what);
json_t *container_state_json(Container *c);
int container_load_all(Engine *e, BerthError **err);

/* names.c */
bool container_name_valid(const char *name);
char *container_generate_name(Engine *e); /* with e->lock held */

/* Verbs. */
int container_create(Engine *e, const char *name, json_t *body, char **ret_id, json_t **ret_warnings,
                     BerthError **err);
int container_start(Engine *e, const char *ref, BerthError **err);
int container_start_obj(Engine *e, Container *c, BerthError **err);
/* sig: the signal that asks the process to stop; 0 for the container's StopSignal (SIGTERM). */
int container_stop(Engine *e, const char *ref, int timeout, bool has_timeout, int sig, BerthError **err);
int container_stop_obj(Engine *e, Container *c, int timeout, bool has_timeout, int sig, BerthError **err);
int container_kill(Engine *e, const char *ref, const char *signal, BerthError **err);
int container_restart(Engine *e, const char *ref, int timeout, bool has_timeout, int sig, BerthError **err);
int container_pause(Engine *e, const char *ref, bool pause, BerthError **err);
int container_remove(Engine *e, const char *ref, bool force, bool volumes, BerthError **err);
int container_remove_obj(Engine *e, Container *c, bool force, BerthError **err);
int container_rename(Engine *e, const char *ref, const char *newname, BerthError **err);
int container_update(Engine *e, const char *ref, json_t *body, json_t **ret_warnings, BerthError **err);
int container_resize(Engine *e, const char *ref, int h, int w, BerthError **err);
/* HostConfig.ConsoleSize ([height, width]) on a tty container's terminal, before its process runs. */
void container_initial_console_size(Engine *e, Container *c);
int container_prune(Engine *e, json_t *filters, json_t **ret_deleted, long long *ret_reclaimed, BerthError **err);
int container_changes(Engine *e, const char *ref, json_t **ret, BerthError **err);
int container_top(Engine *e, const char *ref, const char *ps_args, json_t **ret, BerthError **err);

/* wait.c: condition "not-running", "next-exit", "removed". */
typedef struct ContainerWaiter {
        Container *c;
        int cond;          /* 0 not-running, 1 next-exit, 2 removed */
        uint64_t exit_seq; /* at registration */
} ContainerWaiter;
int container_wait_prepare(Engine *e, const char *ref, const char *condition, ContainerWaiter *w, BerthError **err);
/* Blocks until the condition holds or gone() says the client left (checked each second).
 * Returns 0 with the exit code, -ECANCELED when gone. */
int container_wait_finish(Engine *e, ContainerWaiter *w, bool (*gone)(void *), void *gone_arg, int *ret_code,
                          char **ret_error);

/* logs.c */
typedef struct LogOptions {
        bool stdout_, stderr_, follow, timestamps;
        long long tail; /* -1 = all */
        int64_t since_ns, until_ns; /* 0 = unset */
} LogOptions;
/* write(): returns <0 to stop. Frames are built by the caller from stream (1/2) and data. */
typedef int (*LogWriteFn)(void *arg, int stream, const char *data, size_t len);
/* 0, or Docker's 501 when the container's log driver keeps nothing to read (none). */
int container_logs_readable(Container *c, BerthError **err);
/* A Binds entry "/host:/path[:opts]" split in two or three parts (caller frees); Docker's errors
 * for a malformed one, ENOTSUP for a named volume. */
int container_bind_parse(const char *spec, char ***ret_parts, BerthError **err);
int container_logs(Engine *e, Container *c, const LogOptions *o, LogWriteFn fn, void *arg,
                   bool (*gone)(void *), void *gone_arg);

/* attach.c: runs on the hijacked connection's thread until the stream ends. */
typedef struct AttachOptions {
        bool in, out, err, stream, logs;
        DetachKeys keys; /* daemon-side detach keys on stdin (ctrl-p,ctrl-q by default) */
} AttachOptions;
int container_attach_prepare(Engine *e, const char *ref, Container **ret, BerthError **err);
void container_attach_run(Engine *e, Container *c, const AttachOptions *o, int client_fd);
/* start.c helpers shared with attach.c and lifecycle. */
int container_monitor_connect(Engine *e, const char *id);
int container_monitor_request(Engine *e, const char *id, const char *req, char **ret_line);
void container_connect_pending_attaches(Engine *e, Container *c);
void container_cancel_pending_attaches(Engine *e, Container *c);
/* Called once the monitor reported the exit (watcher thread, or lifecycle). e->lock not held. */
void container_handle_exit(Engine *e, Container *c, json_t *exit_info);
int container_start_watcher(Engine *e, Container *c);
/* Kills every process in the container's cgroup(s). */
void container_kill_cgroup(const char *id, int sig);
int container_cgroup_pids(const char *id, int **ret, size_t *ret_n);
void container_remove_cgroup(const char *id);
void container_cleanup_files(Engine *e, const char *id);
/* remove.c: the second half of a removal whose intent ("Removing") is recorded: processes,
 * monitor, network, files, then the row. Also finishes removals a crash interrupted. */
int container_remove_finish(Engine *e, Container *c, BerthError **err);
/* reconcile.c: waits up to grace_ms for the monitor(s) of id to exit, then SIGKILLs them and
 * waits until they are gone. A monitor is this daemon's when its argv names the run directory
 * <exec-root>/containers/<id>. Returns how many were still there; *ret_killed how many had to
 * be killed. */
int container_stop_monitors(Engine *e, const char *id, int grace_ms, int *ret_killed);
/* reconcile.c: compares what exists (monitors, run and data directories, cgroups, mounts,
 * network rows) with the store and adopts or removes each difference; logs every action.
 * Called by container_restore_all before the API is served. */
void container_reconcile(Engine *e);
/* restore.c: called by engine_start / engine_stop. */
int container_restore_all(Engine *e, BerthError **err);
void container_shutdown(Engine *e);

/* ---- container events (engine/container-events.c; the journal is state/events.h) ---- */
/* Attributes are the container's labels, image and name, plus extra (stolen, may be NULL), e.g.
 * {"exitCode":"0"} or {"signal":"9"}. events_container() reads the container under e->lock and
 * must be called without it; events_container_locked() is for callers that hold it. */
void events_container(Engine *e, Container *c, const char *action, json_t *extra);
void events_container_locked(Engine *e, Container *c, const char *action, json_t *extra);
/* Convenience: one extra attribute (key NULL for none). */
void events_container_attr(Engine *e, Container *c, const char *action, const char *key, const char *value);
/* "kill" with the signal number as its "signal" attribute. */
void events_container_kill(Engine *e, Container *c, int sig);
