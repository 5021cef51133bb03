/* berth events (system events): the daemon's event stream, as docker prints it. */
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

typedef struct EventsCtx {
        Template *tmpl; /* NULL: docker's line; json: the message as sent */
        bool json;
        char *pending;
        size_t len;
        int failed;
} EventsCtx;

/* docker's GetTimestamp: a Go duration is that long ago; anything else goes to the daemon as is. */
static char *event_time(const char *v)
{
        int64_t ns;
        if (parse_go_duration(v, &ns) == 0) {
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                int64_t t = (int64_t) now.tv_sec * 1000000000LL + now.tv_nsec - ns;
                return xasprintf("%lld.%09lld", (long long) (t / 1000000000LL), (long long) (t % 1000000000LL));
        }
        return xstrdup(v);
}

/* The message with Go's field names (events.Message), which templates use. */
static json_t *go_message(json_t *m)
{
        static const struct {
                const char *json, *go;
        } names[] = { { "status", "Status" }, { "id", "ID" }, { "from", "From" }, { "Type", "Type" },
                      { "Action", "Action" }, { "Actor", "Actor" }, { "scope", "Scope" }, { "time", "Time" },
                      { "timeNano", "TimeNano" } };
        json_t *o = json_object();
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                json_t *v = json_object_get(m, names[i].json);
                if (v)
                        json_object_set(o, names[i].go, v);
                else if (i > 6)
                        json_object_set_new(o, names[i].go, json_integer(0));
                else if (i != 5)
                        json_object_set_new(o, names[i].go, json_string(""));
        }
        json_t *actor = json_object_get(o, "Actor");
        if (!json_is_object(actor)) {
                actor = json_pack("{s:s,s:{}}", "ID", "", "Attributes");
                json_object_set_new(o, "Actor", actor);
        }
        return o;
}

/* docker's prettyPrintEvent: time (RFC 3339 with nanoseconds, local zone), type, action, actor, attributes. */
static void print_event(json_t *m)
{
        long long ns = json_int(m, "timeNano", 0);
        if (!ns)
                ns = json_int(m, "time", 0) * 1000000000LL;
        if (ns) {
                time_t secs = (time_t) (ns / 1000000000LL);
                struct tm tm;
                localtime_r(&secs, &tm);
                char buf[64], zone[32];
                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
                long off = tm.tm_gmtoff;
                if (off == 0)
                        strcpy(zone, "Z");
                else
                        snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                                 labs(off) % 3600 / 60);
                printf("%s.%09lld%s ", buf, ns % 1000000000LL, zone);
        }
        json_t *actor = json_object_get(m, "Actor");
        printf("%s %s %s", json_str(m, "Type") ?: "", json_str(m, "Action") ?: "", json_str(actor, "ID") ?: "");
        json_t *attrs = json_object_get(actor, "Attributes");
        if (json_object_size(attrs)) {
                _cleanup_strv_free_ char **kv = NULL;
                const char *k;
                json_t *v;
                json_object_foreach(attrs, k, v)
                        strv_push(&kv, xasprintf("%s=%s", k, json_string_value(v) ?: ""));
                fmt_strv_sort(kv);
                _cleanup_free_ char *joined = fmt_strv_join(kv, ", ");
                printf(" (%s)", joined);
        }
        putchar('\n');
}

static void event_line(EventsCtx *x, const char *line, size_t n)
{
        _cleanup_json_ json_t *m = json_loadb(line, n, 0, NULL);
        if (!m || x->failed)
                return;
        if (x->json) {
                /* the message as the daemon sent it: docker's events.Message has the same keys */
                _cleanup_free_ char *s = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", s);
        } else if (x->tmpl) {
                _cleanup_json_ json_t *dot = go_message(m);
                _cleanup_free_ char *s = NULL;
                char *err = NULL;
                if (tmpl_exec(x->tmpl, dot, false, &s, &err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        free(err);
                        x->failed = 1;
                        return;
                }
                printf("%s\n", s);
        } else
                print_event(m);
        fflush(stdout);
}

static int events_cb(const char *buf, size_t len, void *ud)
{
        EventsCtx *x = ud;
        x->pending = xrealloc(x->pending, x->len + len + 1);
        memcpy(x->pending + x->len, buf, len);
        x->len += len;
        char *nl;
        while ((nl = memchr(x->pending, '\n', x->len))) {
                size_t l = (size_t) (nl - x->pending);
                event_line(x, x->pending, l);
                memmove(x->pending, nl + 1, x->len - l - 1);
                x->len -= l + 1;
        }
        return x->failed ? -1 : 0;
}

int cmd_events(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "filter", required_argument, NULL, 'f', "Filter output based on conditions provided", "filter" },
                { "format", required_argument, NULL, 'F', CLI_HELP_FORMAT },
                { "since", required_argument, NULL, 's', "Show all events created since timestamp" },
                { "until", required_argument, NULL, 'u', "Stream events until this timestamp" },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL, *since = NULL, *until = NULL;
        _cleanup_json_ json_t *filters = json_object();
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'F': format = optarg; break;
                case 's': since = optarg; break;
                case 'u': until = optarg; break;
                case 'f':
                        if (cli_filter_flag(filters, optarg) != 0)
                                return 125;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        if (optind < argc)
                return cli_usage_error(cli, "'berth %s' accepts no arguments", cli->cmd_name);
        EventsCtx x = { .json = format && streq(format, "json") };
        Template t = { 0 };
        if (format && *format && !x.json) {
                char *err = NULL;
                if (tmpl_parse(format, "", &t, &err) < 0) {
                        fprintf(stderr, "Error parsing format: %s\n", err);
                        free(err);
                        return 64;
                }
                /* docker runs the template on an empty message first, so a bad field fails at once */
                t.type = "*events.Message";
                _cleanup_json_ json_t *empty = json_object();
                _cleanup_json_ json_t *dot = go_message(empty);
                _cleanup_free_ char *s = NULL;
                if (tmpl_exec(&t, dot, false, &s, &err) < 0) {
                        fprintf(stderr, "Error parsing format: %s\n", err);
                        free(err);
                        tmpl_free(&t);
                        return 64;
                }
                x.tmpl = &t;
        }
        char *q = NULL;
        size_t qlen = 0;
        FILE *f = open_memstream(&q, &qlen);
        fputs("/events", f);
        char sep = '?';
        if (since) {
                _cleanup_free_ char *v = event_time(since), *e = url_escape(v);
                fprintf(f, "%csince=%s", sep, e);
                sep = '&';
        }
        if (until) {
                _cleanup_free_ char *v = event_time(until), *e = url_escape(v);
                fprintf(f, "%cuntil=%s", sep, e);
                sep = '&';
        }
        _cleanup_free_ char *fq = filters_query(filters);
        if (*fq)
                fprintf(f, "%c%s", sep, fq);
        fclose(f);
        _cleanup_free_ char *path = q;
        _cleanup_free_ char *errbody = NULL;
        int st = client_stream(cli->client, "GET", path, NULL, -1, events_cb, &x, &errbody);
        free(x.pending);
        if (x.tmpl)
                tmpl_free(&t);
        if (x.failed)
                return 1;
        if (st < 0)
                return 1;
        if (st >= 400) {
                _cleanup_free_ char *m = client_error_message(errbody);
                fprintf(stderr, "Error response from daemon: %s\n", m);
                return 1;
        }
        return 0;
}
