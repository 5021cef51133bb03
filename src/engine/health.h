/* Healthchecks (docs/health.md): Config.Healthcheck as dockerd reads, merges and validates it
 * (healthcheck.c, pure), the State.Health record, and the scheduler that runs the probes as execs
 * in the container (health.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "engine/engine.h"

/* dockerd's constants (daemon/health.go) */
#define HEALTH_DEFAULT_INTERVAL (30LL * 1000000000LL)
#define HEALTH_DEFAULT_TIMEOUT (30LL * 1000000000LL)
#define HEALTH_DEFAULT_START_INTERVAL (5LL * 1000000000LL)
#define HEALTH_DEFAULT_RETRIES 3
#define HEALTH_MIN_DURATION 1000000LL /* 1ms */
#define HEALTH_LOG_MAX 5
#define HEALTH_OUTPUT_MAX 4096

typedef enum HealthStatus {
        HEALTH_STARTING,
        HEALTH_HEALTHY,
        HEALTH_UNHEALTHY,
} HealthStatus;

typedef struct HealthResult {
        int64_t start, end; /* unix ns */
        int exit_code;      /* -1: the probe did not run to an exit (timeout, exec error) */
        char *output;
} HealthResult;

/* State.Health; a container without a probe has none (Container.health NULL). */
typedef struct Health {
        HealthStatus status;
        int failing_streak;
        HealthResult log[HEALTH_LOG_MAX]; /* oldest first */
        size_t n_log;
} Health;

typedef enum HealthProbeKind {
        HEALTH_PROBE_NONE, /* no healthcheck, ["NONE"], [] or an unknown type */
        HEALTH_PROBE_CMD,
        HEALTH_PROBE_SHELL,
} HealthProbeKind;

/* A healthcheck's settings with dockerd's defaults applied. */
typedef struct HealthSettings {
        HealthProbeKind kind;
        int64_t interval, timeout, start_period, start_interval;
        int retries;
} HealthSettings;

/* ---- healthcheck.c: pure logic ---- */

/* Checks a Config.Healthcheck from a create body as Go decodes and dockerd validates it (the
 * json: and "... in Healthcheck cannot be ..." errors), then drops the fields that are zero or
 * unknown, as dockerd's omitempty encoding shows them. null stays null. */
int health_config_check(json_t *hc, BerthError **err);
/* The validation alone (dockerd's validateHealthCheck), for the merged config at start. */
int health_config_validate(json_t *hc, BerthError **err);
/* dockerd's merge of the image's Healthcheck into the user's (daemon/commit.go): the user's
 * object wins field by field, an absent one is the image's. Returns a new reference or NULL. */
json_t *health_config_merge(json_t *user, json_t *image);
HealthSettings health_settings(json_t *hc);
/* The probe's argv: Test[1:], after the shell (Config.Shell, else /bin/sh -c) for CMD-SHELL.
 * NULL when there is no command. */
json_t *health_probe_argv(json_t *hc, json_t *shell);
/* The interval before the next probe (dockerd's getInterval). */
int64_t health_next_interval(const HealthSettings *s, HealthStatus status, int64_t started_at, int64_t now);

const char *health_status_string(HealthStatus s);
Health *health_new(void);
void health_free(Health *h);
/* A (re)start: starting, streak 0, the log kept (dockerd's initHealthMonitor). */
void health_reset(Health *h);
/* Records a probe's result (output taken): appends to the log, keeps the last HEALTH_LOG_MAX,
 * updates streak and status (dockerd's handleProbeResult). Returns true when the status changed. */
bool health_record(Health *h, const HealthSettings *s, int64_t started_at, HealthResult *res);
/* {"Status","FailingStreak","Log":[{"Start","End","ExitCode","Output"}]} */
json_t *health_json(const Health *h);
Health *health_from_json(json_t *j);
/* Up to HEALTH_OUTPUT_MAX bytes of output, "..." appended when more came. */
char *health_output_string(const char *buf, size_t len, bool truncated);
/* "Health check exceeded timeout (300ms)" with what the probe printed, as dockerd words it. */
char *health_timeout_message(int64_t timeout, const char *output);

/* ---- health.c: the scheduler ---- */
typedef struct Container Container;
/* Runs the container's probe on its schedule from now on (replacing a schedule it had). Called
 * without e->lock once the container runs. */
void health_schedule(Engine *e, Container *c);
/* Ends the container's schedule (stop, exit, removal); a probe in flight is abandoned. */
void health_unschedule(Engine *e, Container *c);
/* Stops the scheduler thread at daemon shutdown, for good; probes in flight run out in their
 * containers. health_sched_free (engine_free) frees what is left. */
void health_shutdown(Engine *e);
void health_sched_free(Engine *e);
