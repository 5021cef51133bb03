/* The event journal (ring, since, blocking reads), Docker's event filter and
 * the legacy fields that api/compat.c adds for API < 1.52. */
#include "test.h"

#include <jansson.h>

#include "api/compat.h"
#include "basic/util.h"
#include "state/events.h"

static json_t *filt(const char *s)
{
        return json_loads(s, 0, NULL);
}

static json_t *container_ev(const char *id, const char *name, const char *image, const char *action)
{
        return json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s}},s:s,s:I,s:I}", "Type", "container", "Action", action,
                         "Actor", "ID", id, "Attributes", "image", image, "name", name, "com.x", "1", "scope",
                         "local", "time", (json_int_t) 1, "timeNano", (json_int_t) 1000000000);
}

TEST(journal_order_and_shape)
{
        EventLog *l = events_new();
        ASSERT_EQ(events_head(l), 0);
        events_log(l, "container", "create", "abc", json_pack("{s:s,s:s,s:s}", "name", "web", "image", "busybox",
                                                             "a", "b"));
        events_log(l, "network", "connect", "net1", NULL);
        ASSERT_EQ(events_head(l), 2);
        uint64_t cur = 0;
        json_t *out[4];
        size_t n = events_read(l, &cur, 0, out, 4);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(cur, 2);
        ASSERT_STREQ(json_string_value(json_object_get(out[0], "Action")), "create");
        ASSERT_STREQ(json_string_value(json_object_get(out[0], "scope")), "local");
        /* Attributes come out sorted, like Go's map encoding. */
        char *s = json_dumps(json_object_get(json_object_get(out[0], "Actor"), "Attributes"), JSON_PRESERVE_ORDER);
        ASSERT_STREQ(s, "{\"a\": \"b\", \"image\": \"busybox\", \"name\": \"web\"}");
        free(s);
        long long t0 = json_integer_value(json_object_get(out[0], "timeNano"));
        long long t1 = json_integer_value(json_object_get(out[1], "timeNano"));
        ASSERT_TRUE(t1 > t0);
        ASSERT_EQ(json_integer_value(json_object_get(out[0], "time")), t0 / 1000000000LL);
        json_decref(out[0]);
        json_decref(out[1]);
        /* Nothing new: a timed read returns empty. */
        int64_t before = now_ns();
        ASSERT_EQ(events_read(l, &cur, 100, out, 4), 0);
        ASSERT_TRUE(now_ns() - before >= 90 * 1000000LL);
        events_free(l);
}

TEST(journal_since_and_wrap)
{
        EventLog *l = events_new();
        for (int i = 0; i < EVENTS_JOURNAL_MAX + 10; i++)
                events_log(l, "container", "start", "x", NULL);
        /* The oldest ten were overwritten: a reader from 0 starts at the oldest kept. */
        uint64_t cur = 0;
        json_t *out[1];
        ASSERT_EQ(events_read(l, &cur, 0, out, 1), 1);
        ASSERT_EQ(cur, 11);
        json_decref(out[0]);
        ASSERT_EQ(events_find_since(l, 0), 10);
        ASSERT_EQ(events_find_since(l, now_ns() + 1000000000LL), events_head(l));
        int64_t mid = now_ns();
        events_log(l, "container", "die", "x", NULL);
        ASSERT_EQ(events_find_since(l, mid), events_head(l) - 1);
        events_free(l);
}

TEST(filter_type_event_container)
{
        json_t *ev = container_ev("0123456789abcdef", "web", "busybox:latest", "start");
        json_t *f;
        ASSERT_TRUE(events_match(ev, NULL));
        ASSERT_TRUE(events_match(ev, f = filt("{\"type\":[\"container\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"type\":[\"image\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"event\":[\"die\",\"start\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"event\":[\"stop\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"container\":[\"web\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"container\":[\"0123\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"container\":[\"db\"]}")));
        json_decref(f);
        /* A container filter excludes events of other types. */
        json_t *net = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "Type", "network", "Action", "connect", "Actor", "ID",
                                "n1", "Attributes", "name", "bridge");
        ASSERT_TRUE(!events_match(net, f = filt("{\"container\":[\"web\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(net, f = filt("{\"network\":[\"bridge\"]}")));
        json_decref(f);
        json_decref(net);
        ASSERT_TRUE(events_match(ev, f = filt("{\"scope\":[\"local\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"scope\":[\"swarm\"]}")));
        json_decref(f);
        json_decref(ev);
}

TEST(filter_image_label_exec)
{
        json_t *ev = container_ev("0123", "web", "busybox:latest", "exec_start: sh -c true");
        json_t *f;
        ASSERT_TRUE(events_match(ev, f = filt("{\"image\":[\"busybox\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"image\":[\"busybox:latest\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"image\":[\"alpine\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"label\":[\"com.x\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(ev, f = filt("{\"label\":[\"com.x=1\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"label\":[\"com.x=2\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"label\":[\"com.x=1\",\"other\"]}")));
        json_decref(f);
        /* exec_start matches "exec_start: <cmd>" by prefix (moby#25798). */
        ASSERT_TRUE(events_match(ev, f = filt("{\"event\":[\"exec_start\"]}")));
        json_decref(f);
        ASSERT_TRUE(!events_match(ev, f = filt("{\"event\":[\"exec_die\"]}")));
        json_decref(f);
        json_decref(ev);
        json_t *img = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "Type", "image", "Action", "tag", "Actor", "ID",
                                "sha256:aa", "Attributes", "name", "docker.io/library/evtest:1");
        ASSERT_TRUE(events_match(img, f = filt("{\"image\":[\"evtest\"]}")));
        json_decref(f);
        ASSERT_TRUE(events_match(img, f = filt("{\"image\":[\"sha256:aa\"]}")));
        json_decref(f);
        json_decref(img);
}

TEST(compat_legacy_fields)
{
        json_t *ev = container_ev("0123", "web", "busybox", "die");
        json_t *c = json_deep_copy(ev);
        compat_shape_event(c, 41);
        const char *k = NULL;
        void *it = json_object_iter(c);
        k = json_object_iter_key(it);
        ASSERT_STREQ(k, "status"); /* legacy fields come first, as dockerd writes them */
        ASSERT_STREQ(json_string_value(json_object_get(c, "status")), "die");
        ASSERT_STREQ(json_string_value(json_object_get(c, "id")), "0123");
        ASSERT_STREQ(json_string_value(json_object_get(c, "from")), "busybox");
        ASSERT_STREQ(json_string_value(json_object_get(c, "Action")), "die");
        json_decref(c);
        c = json_deep_copy(ev);
        compat_shape_event(c, 52);
        ASSERT_TRUE(json_object_get(c, "status") == NULL);
        ASSERT_TRUE(json_object_get(c, "from") == NULL);
        json_decref(c);
        json_decref(ev);
        json_t *net = json_pack("{s:s,s:s,s:{s:s,s:{}}}", "Type", "network", "Action", "create", "Actor", "ID", "n",
                                "Attributes");
        compat_shape_event(net, 41);
        ASSERT_TRUE(json_object_get(net, "status") == NULL);
        json_decref(net);
        json_t *img = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "Type", "image", "Action", "tag", "Actor", "ID",
                                "sha256:aa", "Attributes", "name", "x:1");
        compat_shape_event(img, 41);
        ASSERT_STREQ(json_string_value(json_object_get(img, "status")), "tag");
        ASSERT_TRUE(json_object_get(img, "from") == NULL);
        json_decref(img);
}

TEST_MAIN
