/* Healthchecks, the pure part: Config.Healthcheck as dockerd decodes, validates and merges it, and
 * the State.Health record that each probe result updates (moby daemon/health.go). No I/O, no locks. */
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/health.h"

static const char *const duration_keys[] = { "Interval", "Timeout", "StartPeriod", "StartInterval" };

int health_config_check(json_t *hc, BerthError **err)
{
        if (!hc || json_is_null(hc))
                return 0;
        if (!json_is_object(hc))
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                "ContainerConfigWrapper.Healthcheck of type container.HealthConfig", json_kind(hc));
        json_t *test = json_object_get(hc, "Test");
        if (test && !json_is_null(test)) {
                if (!json_is_array(test))
                        return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                        "HealthConfig.Healthcheck.Test of type []string", json_kind(test));
                size_t i;
                json_t *v;
                json_array_foreach(test, i, v) if (!json_is_string(v) && !json_is_null(v)) return berr_set(
                        err, EINVAL, "json: cannot unmarshal %s into Go struct field HealthConfig.Healthcheck.Test "
                        "of type string", json_kind(v));
        }
        for (size_t k = 0; k <= ELEMENTSOF(duration_keys); k++) {
                const char *key = k < ELEMENTSOF(duration_keys) ? duration_keys[k] : "Retries";
                const char *type = k < ELEMENTSOF(duration_keys) ? "time.Duration" : "int";
                json_t *v = json_object_get(hc, key);
                if (!v || json_is_null(v) || json_is_integer(v))
                        continue;
                if (json_is_real(v)) {
                        _cleanup_free_ char *num = json_dumps(v, JSON_ENCODE_ANY);
                        return berr_set(err, EINVAL, "json: cannot unmarshal number %s into Go struct field "
                                        "HealthConfig.Healthcheck.%s of type %s", num, key, type);
                }
                return berr_set(err, EINVAL, "json: cannot unmarshal %s into Go struct field "
                                "HealthConfig.Healthcheck.%s of type %s", json_kind(v), key, type);
        }
        /* What dockerd keeps: nonzero fields (omitempty), nulls in Test as "" (Go's zero string). */
        _cleanup_json_ json_t *norm = json_object();
        if (json_array_size(test)) {
                json_t *t = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(test, i, v) json_array_append_new(t, json_string(json_string_value(v) ?: ""));
                json_object_set_new(norm, "Test", t);
        }
        for (size_t k = 0; k <= ELEMENTSOF(duration_keys); k++) {
                const char *key = k < ELEMENTSOF(duration_keys) ? duration_keys[k] : "Retries";
                json_int_t n = json_integer_value(json_object_get(hc, key));
                if (n != 0)
                        json_object_set_new(norm, key, json_integer(n));
        }
        json_object_clear(hc);
        json_object_update(hc, norm);
        return health_config_validate(hc, err);
}

int health_config_validate(json_t *hc, BerthError **err)
{
        if (!json_is_object(hc))
                return 0;
        static const char *const order[] = { "Interval", "Timeout", NULL, "StartPeriod", "StartInterval" };
        for (size_t k = 0; k < ELEMENTSOF(order); k++) {
                if (!order[k]) {
                        if (json_int(hc, "Retries", 0) < 0)
                                return berr_set(err, EINVAL, "Retries in Healthcheck cannot be negative");
                        continue;
                }
                long long v = json_int(hc, order[k], 0);
                if (v != 0 && v < HEALTH_MIN_DURATION)
                        return berr_set(err, EINVAL, "%s in Healthcheck cannot be less than 1ms", order[k]);
        }
        return 0;
}

json_t *health_config_merge(json_t *user, json_t *image)
{
        if (!json_is_object(image))
                return json_is_object(user) ? json_incref(user) : NULL;
        if (!json_is_object(user))
                return json_deep_copy(image);
        json_t *m = json_deep_copy(user);
        if (!json_array_size(json_object_get(m, "Test")) && json_array_size(json_object_get(image, "Test")))
                json_object_set(m, "Test", json_object_get(image, "Test"));
        for (size_t k = 0; k <= ELEMENTSOF(duration_keys); k++) {
                const char *key = k < ELEMENTSOF(duration_keys) ? duration_keys[k] : "Retries";
                if (json_int(m, key, 0) == 0 && json_int(image, key, 0) != 0)
                        json_object_set(m, key, json_object_get(image, key));
        }
        return m;
}

static int64_t or_default(json_t *hc, const char *key, int64_t dflt)
{
        long long v = json_int(hc, key, 0);
        return v == 0 ? dflt : (int64_t) v;
}

HealthSettings health_settings(json_t *hc)
{
        HealthSettings s = { .kind = HEALTH_PROBE_NONE };
        const char *t0 = json_string_value(json_array_get(json_object_get(hc, "Test"), 0));
        if (t0 && streq(t0, "CMD"))
                s.kind = HEALTH_PROBE_CMD;
        else if (t0 && streq(t0, "CMD-SHELL"))
                s.kind = HEALTH_PROBE_SHELL;
        s.interval = or_default(hc, "Interval", HEALTH_DEFAULT_INTERVAL);
        s.timeout = or_default(hc, "Timeout", HEALTH_DEFAULT_TIMEOUT);
        s.start_period = or_default(hc, "StartPeriod", 0);
        s.start_interval = or_default(hc, "StartInterval", HEALTH_DEFAULT_START_INTERVAL);
        long long r = json_int(hc, "Retries", 0);
        s.retries = r <= 0 ? HEALTH_DEFAULT_RETRIES : (r > 1000000000 ? 1000000000 : (int) r);
        return s;
}

json_t *health_probe_argv(json_t *hc, json_t *shell)
{
        HealthSettings s = health_settings(hc);
        json_t *test = json_object_get(hc, "Test");
        if (s.kind == HEALTH_PROBE_NONE || json_array_size(test) < 2)
                return NULL;
        json_t *argv = json_array();
        if (s.kind == HEALTH_PROBE_SHELL) {
                if (json_array_size(shell))
                        json_array_extend(argv, shell);
                else {
                        json_array_append_new(argv, json_string("/bin/sh"));
                        json_array_append_new(argv, json_string("-c"));
                }
        }
        for (size_t i = 1; i < json_array_size(test); i++)
                json_array_append(argv, json_array_get(test, i));
        return argv;
}

int64_t health_next_interval(const HealthSettings *s, HealthStatus status, int64_t started_at, int64_t now)
{
        if (now - started_at >= s->start_period)
                return s->interval;
        return status == HEALTH_STARTING ? s->start_interval : s->interval;
}

const char *health_status_string(HealthStatus s)
{
        switch (s) {
        case HEALTH_STARTING: return "starting";
        case HEALTH_HEALTHY: return "healthy";
        default: return "unhealthy";
        }
}

Health *health_new(void)
{
        Health *h = xcalloc(1, sizeof(*h));
        h->status = HEALTH_STARTING;
        return h;
}

void health_free(Health *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n_log; i++)
                free(h->log[i].output);
        free(h);
}

void health_reset(Health *h)
{
        h->status = HEALTH_STARTING;
        h->failing_streak = 0;
}

bool health_record(Health *h, const HealthSettings *s, int64_t started_at, HealthResult *res)
{
        HealthStatus old = h->status;
        if (h->n_log == HEALTH_LOG_MAX) {
                free(h->log[0].output);
                memmove(h->log, h->log + 1, (HEALTH_LOG_MAX - 1) * sizeof(h->log[0]));
                h->n_log--;
        }
        h->log[h->n_log] = *res;
        h->log[h->n_log].output = res->output ? res->output : xstrdup("");
        res->output = NULL;
        h->n_log++;
        const HealthResult *r = &h->log[h->n_log - 1];
        if (r->exit_code == 0) {
                h->failing_streak = 0;
                h->status = HEALTH_HEALTHY;
        } else if (!(h->status == HEALTH_STARTING && r->start - started_at < s->start_period)) {
                /* failures during the start period do not count while the container never was healthy */
                h->failing_streak++;
                if (h->failing_streak >= s->retries)
                        h->status = HEALTH_UNHEALTHY;
        }
        return h->status != old;
}

json_t *health_json(const Health *h)
{
        json_t *log = json_array();
        for (size_t i = 0; i < h->n_log; i++) {
                _cleanup_free_ char *st = format_rfc3339(h->log[i].start, true);
                _cleanup_free_ char *en = format_rfc3339(h->log[i].end, true);
                json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:s}", "Start", st, "End", en, "ExitCode",
                                                     h->log[i].exit_code, "Output", h->log[i].output));
        }
        return json_pack("{s:s,s:i,s:o}", "Status", health_status_string(h->status), "FailingStreak",
                         h->failing_streak, "Log", log);
}

Health *health_from_json(json_t *j)
{
        if (!json_is_object(j))
                return NULL;
        Health *h = health_new();
        const char *st = json_str(j, "Status");
        h->status = st && streq(st, "healthy") ? HEALTH_HEALTHY
                    : st && streq(st, "starting") ? HEALTH_STARTING
                                                  : HEALTH_UNHEALTHY;
        h->failing_streak = (int) json_int(j, "FailingStreak", 0);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "Log"), i, e) {
                if (h->n_log == HEALTH_LOG_MAX)
                        break;
                HealthResult *r = &h->log[h->n_log];
                if (!json_is_object(e) || parse_rfc3339(json_str(e, "Start") ?: "", &r->start) < 0 ||
                    parse_rfc3339(json_str(e, "End") ?: "", &r->end) < 0)
                        continue;
                r->exit_code = (int) json_int(e, "ExitCode", -1);
                r->output = xstrdup(json_str(e, "Output") ?: "");
                h->n_log++;
        }
        return h;
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t len;
        unsigned min;
        unsigned cp;
        if (p[0] < 0x80)
                return p[0] ? 1 : 0;
        if ((p[0] & 0xe0) == 0xc0)
                len = 2, cp = p[0] & 0x1f, min = 0x80;
        else if ((p[0] & 0xf0) == 0xe0)
                len = 3, cp = p[0] & 0x0f, min = 0x800;
        else if ((p[0] & 0xf8) == 0xf0)
                len = 4, cp = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

char *health_output_string(const char *buf, size_t len, bool truncated)
{
        if (len > HEALTH_OUTPUT_MAX) {
                len = HEALTH_OUTPUT_MAX;
                truncated = true;
        }
        /* Go's encoder turns each invalid byte into U+FFFD; NUL too here, so the text stays a C string */
        char *s = xmalloc(len * 3 + 4);
        size_t o = 0;
        for (size_t i = 0; i < len;) {
                size_t l = utf8_len((const unsigned char *) buf + i, len - i);
                if (l == 0) {
                        memcpy(s + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                } else {
                        memcpy(s + o, buf + i, l);
                        o += l;
                        i += l;
                }
        }
        if (truncated) {
                memcpy(s + o, "...", 3);
                o += 3;
        }
        s[o] = 0;
        return s;
}

char *health_timeout_message(int64_t timeout, const char *output)
{
        _cleanup_free_ char *d = format_go_duration(timeout);
        if (output && *output)
                return xasprintf("Health check exceeded timeout (%s): %s", d, output);
        return xasprintf("Health check exceeded timeout (%s)", d);
}
