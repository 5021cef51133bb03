/* The event journal: what `GET /events` streams. HTTP-free.
 *
 * A bounded in-memory ring (EVENTS_JOURNAL_MAX, not persisted: like dockerd,
 * a restarted daemon starts with an empty history) of events in the newest
 * API shape, {"Type","Action","Actor":{"ID","Attributes"},"scope","time",
 * "timeNano"}; api/compat.c adds the legacy status/id/from for old clients.
 * Every event has a sequence number; readers keep a cursor and block on the
 * journal's condition variable until an event past it arrives, so a reader
 * that replays `since` and then follows live events misses nothing in
 * between. Emitting never blocks on readers: a reader that falls more than
 * EVENTS_JOURNAL_MAX behind skips what was overwritten.
 *
 * The emit helpers take only the journal's own lock (a leaf lock). The
 * container helpers, which read a Container, are the engine's
 * (engine/container.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct EventLog EventLog;

#define EVENTS_JOURNAL_MAX 4096

EventLog *events_new(void);
void events_free(EventLog *l);

/* Records one event. attrs (may be NULL) is stolen; its keys are emitted
 * sorted, as dockerd does. Returns the event's sequence number. */
uint64_t events_log(EventLog *l, const char *type, const char *action, const char *actor_id, json_t *attrs);

/* The sequence number the next event will get. */
uint64_t events_head(EventLog *l);
/* The sequence number of the oldest kept event with timeNano >= since_ns
 * (events_head() when none). */
uint64_t events_find_since(EventLog *l, int64_t since_ns);
/* Copies (deep copies, the caller's own) up to max events from *cursor on into out and advances
 * *cursor. When none is there, waits up to timeout_ms for one. Returns the
 * number copied; 0 on timeout. Caller json_decref's each. */
size_t events_read(EventLog *l, uint64_t *cursor, int timeout_ms, json_t **out, size_t max);
/* Wakes every reader (daemon shutdown). */
void events_wake_all(EventLog *l);

/* Docker's event filter (daemon/events/filter.go): filters is the normalized
 * {"key":["v",...]} object from api_query_filters, or NULL. */
bool events_match(json_t *ev, json_t *filters);

/* ---- helpers for the emitters ---- */
/* Image events: id is "sha256:<hex>", name the reference the action was about
 * (dockerd puts the id itself there for untag and delete); labels (borrowed,
 * may be NULL) are the image's Config.Labels. */
void events_image(EventLog *l, const char *id, const char *name, json_t *labels, const char *action);
/* Network events: create/destroy (container NULL), connect/disconnect. */
void events_network(EventLog *l, const char *net_id, const char *name, const char *driver, const char *action,
                    const char *container_id);
/* Volume events: create/destroy (attrs: driver); mount/unmount with
 * container, destination, read/write, propagation in extra (stolen). */
void events_volume(EventLog *l, const char *name, const char *driver, const char *action, json_t *extra);
