/* GET /events: replays the journal from `since`, then streams new events as
 * JSON lines until `until`, or until the client goes (moby api/server/router/
 * system/system_routes.go getEvents). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "state/events.h"

typedef struct EventStream {
        Engine *e;
        json_t *filters;
        int ver;
        bool json_seq;        /* RFC 7464: each record starts with RS */
        bool has_until;
        int64_t until_ns;
        bool only_past;       /* until already passed: replay, then end */
        uint64_t cursor;
} EventStream;

static void event_stream_free(void *p)
{
        EventStream *st = p;
        json_decref(st->filters);
        free(st);
}

/* Docker's timestamps: "<unix seconds>[.<fraction>]" (what the CLI sends), and
 * RFC 3339 for convenience. "" is unset. */
static int parse_event_time(const char *s, int64_t *ret, BerthError **err)
{
        if (strchr(s, 'T') && parse_rfc3339(s, ret) == 0)
                return 0;
        char *end;
        const char *dot = strchr(s, '.');
        _cleanup_free_ char *secs = dot ? xstrndup(s, (size_t) (dot - s)) : xstrdup(s);
        errno = 0;
        long long sec = strtoll(secs, &end, 10);
        if (!*secs || *end || errno)
                return berr_set(err, EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", secs);
        int64_t nano = 0;
        if (dot) {
                const char *f = dot + 1;
                size_t n = strspn(f, "0123456789");
                if (n == 0 || f[n])
                        return berr_set(err, EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", f);
                /* The fraction is scaled to nanoseconds whatever its length. */
                for (size_t i = 0; i < 9; i++)
                        nano = nano * 10 + (i < n ? f[i] - '0' : 0);
        }
        *ret = (int64_t) sec * 1000000000LL + (sec < 0 ? -nano : nano);
        return 0;
}

/* ev is the stream's own copy (events_read), so it is shaped in place. */
static int write_event(HttpStream *s, EventStream *st, json_t *ev)
{
        compat_shape_event(ev, st->ver);
        if (st->json_seq && http_stream_write(s, "\x1e", 1) < 0)
                return -EPIPE;
        return http_stream_write_json(s, ev);
}

static void stream_events(HttpStream *s, void *p)
{
        EventStream *st = p;
        json_t *batch[64];
        bool done = false;
        while (!done) {
                size_t n = events_read(st->e->events, &st->cursor, st->only_past ? 0 : 250, batch,
                                       ELEMENTSOF(batch));
                for (size_t i = 0; i < n; i++) {
                        if (!done && st->has_until && json_int(batch[i], "timeNano", 0) > st->until_ns)
                                done = true; /* times only grow: nothing later can qualify */
                        if (!done && events_match(batch[i], st->filters) && write_event(s, st, batch[i]) < 0)
                                done = true;
                        json_decref(batch[i]);
                }
                if (n == 0 && st->only_past)
                        break;
                if (st->has_until && now_ns() > st->until_ns && n < ELEMENTSOF(batch))
                        break;
                if (http_stream_client_gone(s))
                        break;
        }
}

static void get_events(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *since_s = api_query(ar, "since"), *until_s = api_query(ar, "until");
        int64_t since = 0, until = 0;
        bool has_since = since_s && *since_s, has_until = until_s && *until_s;
        if (has_since && parse_event_time(since_s, &since, &err) < 0)
                return api_reply_error(ar, err);
        if (has_until && parse_event_time(until_s, &until, &err) < 0)
                return api_reply_error(ar, err);
        if (has_until && has_since && until < since)
                return api_reply_errorf(ar, EINVAL, "`since` time (%s) cannot be after `until` time (%s)", since_s,
                                        until_s);
        json_t *filters = NULL;
        if (api_query_filters(ar, &filters, &err) < 0)
                return api_reply_error(ar, err);

        EventStream *st = xcalloc(1, sizeof(*st));
        if (!st) {
                json_decref(filters);
                return api_reply_errorf(ar, ENOMEM, "out of memory");
        }
        st->e = ar->engine;
        st->filters = filters;
        st->ver = ar->ver;
        st->has_until = has_until;
        st->until_ns = until;
        st->only_past = has_until && until < now_ns();
        /* The cursor is taken now, before the headers go out, so nothing
         * emitted after the request arrived is missed. */
        if (has_since || has_until)
                st->cursor = events_find_since(ar->engine->events, has_since ? since : INT64_MIN);
        else
                st->cursor = events_head(ar->engine->events);

        /* 1.52 negotiates the stream format; older versions always said application/json. */
        const char *ct = "application/json";
        const char *accept = http_header(ar->http, "Accept");
        if (ar->ver >= 52 && accept) {
                if (strstr(accept, "application/json-seq")) {
                        ct = "application/json-seq";
                        st->json_seq = true;
                } else if (strstr(accept, "application/x-ndjson")) {
                        ct = "application/x-ndjson";
                }
        }
        http_respond_stream(ar->http, 200, ct, stream_events, st, event_stream_free);
}

const ApiRoute api_routes_events[] = {
        { "GET", "/events", get_events },
        { NULL, NULL, NULL },
};
