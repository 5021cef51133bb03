/* The merge of an image's Config into a container's, as dockerd does it. */
#include "basic/json-util.h"
#include "engine/config-merge.h"
#include "test.h"

static json_t *J(const char *text)
{
        return json_loads(text, 0, NULL);
}

static bool same(json_t *v, const char *text)
{
        _cleanup_json_ json_t *w = json_loads(text, JSON_DECODE_ANY, NULL);
        return json_equal(v, w);
}

TEST(env_user_wins_image_appended)
{
        _cleanup_json_ json_t *uc = J("{\"Env\":[\"A=user\",\"C=3\"]}");
        _cleanup_json_ json_t *ic = J("{\"Env\":[\"PATH=/bin\",\"A=image\"]}");
        config_merge_image(uc, ic);
        ASSERT_TRUE(same(json_object_get(uc, "Env"), "[\"A=user\",\"C=3\",\"PATH=/bin\"]"));
        /* no Env of the user's: the image's as it is */
        _cleanup_json_ json_t *uc2 = J("{}");
        config_merge_image(uc2, ic);
        ASSERT_TRUE(same(json_object_get(uc2, "Env"), "[\"PATH=/bin\",\"A=image\"]"));
}

TEST(labels_ports_volumes_and_strings)
{
        _cleanup_json_ json_t *uc = J("{\"Labels\":{\"a\":\"u\"},\"ExposedPorts\":{\"80/tcp\":{}},\"User\":\"\","
                                      "\"WorkingDir\":\"/w\",\"Volumes\":{\"/u\":{}}}");
        _cleanup_json_ json_t *ic = J("{\"Labels\":{\"a\":\"i\",\"b\":\"i\"},\"ExposedPorts\":{\"53/udp\":{}},"
                                      "\"User\":\"nobody\",\"WorkingDir\":\"/img\",\"StopSignal\":\"SIGINT\","
                                      "\"Volumes\":{\"/data\":{}}}");
        config_merge_image(uc, ic);
        ASSERT_TRUE(same(json_object_get(uc, "Labels"), "{\"a\":\"u\",\"b\":\"i\"}"));
        ASSERT_TRUE(same(json_object_get(uc, "ExposedPorts"), "{\"80/tcp\":{},\"53/udp\":{}}"));
        ASSERT_TRUE(same(json_object_get(uc, "Volumes"), "{\"/u\":{},\"/data\":{}}"));
        ASSERT_STREQ(json_str(uc, "User"), "nobody"); /* empty: the image's */
        ASSERT_STREQ(json_str(uc, "WorkingDir"), "/w"); /* set: the user's */
        ASSERT_STREQ(json_str(uc, "StopSignal"), "SIGINT");
}

TEST(command_rules)
{
        /* nothing given: the image's Entrypoint and Cmd */
        _cleanup_json_ json_t *ic = J("{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"arg\"]}");
        _cleanup_json_ json_t *a = J("{}");
        config_merge_command(a, ic);
        ASSERT_TRUE(same(json_object_get(a, "Entrypoint"), "[\"/ep\"]"));
        ASSERT_TRUE(same(json_object_get(a, "Cmd"), "[\"arg\"]"));
        /* a Cmd of the user's replaces the image's, the Entrypoint stays */
        _cleanup_json_ json_t *b = J("{\"Cmd\":[\"mine\"]}");
        config_merge_command(b, ic);
        ASSERT_TRUE(same(json_object_get(b, "Entrypoint"), "[\"/ep\"]"));
        ASSERT_TRUE(same(json_object_get(b, "Cmd"), "[\"mine\"]"));
        /* an Entrypoint of the user's drops the image's Cmd */
        _cleanup_json_ json_t *c = J("{\"Entrypoint\":[\"/other\"]}");
        config_merge_command(c, ic);
        ASSERT_TRUE(same(json_object_get(c, "Entrypoint"), "[\"/other\"]"));
        ASSERT_TRUE(json_is_null(json_object_get(c, "Cmd")));
        /* --entrypoint "": no entrypoint, and, the user's Entrypoint not being empty, no image Cmd either */
        _cleanup_json_ json_t *d = J("{\"Entrypoint\":[\"\"]}");
        config_merge_command(d, ic);
        ASSERT_TRUE(json_is_null(json_object_get(d, "Entrypoint")));
        ASSERT_TRUE(json_is_null(json_object_get(d, "Cmd")));
        /* Entrypoint [] (not nil): the image's Cmd, but not its Entrypoint */
        _cleanup_json_ json_t *f = J("{\"Entrypoint\":[]}");
        config_merge_command(f, ic);
        ASSERT_TRUE(same(json_object_get(f, "Cmd"), "[\"arg\"]"));
        ASSERT_TRUE(same(json_object_get(f, "Entrypoint"), "[]"));
        /* a shell-form string from an old client is one argument */
        _cleanup_json_ json_t *e = J("{\"Cmd\":\"echo hi\"}");
        config_merge_command(e, ic);
        ASSERT_TRUE(same(json_object_get(e, "Cmd"), "[\"echo hi\"]"));
}

TEST_MAIN
