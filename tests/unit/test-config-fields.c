/* The Config/HostConfig table: defaults, versions, refusals and types. */
#include "test.h"

#include "basic/json-util.h"
#include "engine/config-fields.h"

static json_t *parse(const char *s)
{
        return json_loads(s, 0, NULL);
}

TEST(table_is_sane)
{
        for (int s = CONFIG_SECTION_HOST; s <= CONFIG_SECTION_CONFIG; s++) {
                size_t n;
                const ConfigField *f = config_fields((ConfigSection) s, &n);
                ASSERT_TRUE(n > 20);
                for (size_t i = 0; i < n; i++) {
                        /* every default parses, and has a type the decoder accepts (or is null) */
                        if (f[i].dflt) {
                                json_t *d = json_loads(f[i].dflt, JSON_DECODE_ANY, NULL);
                                ASSERT_TRUE(d != NULL);
                                JsonFieldType t = { f[i].key, f[i].types };
                                json_t *o = json_pack("{s:O}", f[i].key, d);
                                ASSERT_TRUE(json_check_fields(o, &t, 1) == NULL);
                                json_decref(o);
                                json_decref(d);
                        }
                        for (size_t k = i + 1; k < n; k++)
                                ASSERT_TRUE(strcmp(f[i].key, f[k].key) != 0);
                }
        }
}

TEST(filled_keeps_values_and_order)
{
        json_t *stored = parse("{\"CpuShares\":512,\"Binds\":[\"/a:/b\"],\"Berth\":1}");
        json_t *hc = config_fields_filled(stored, CONFIG_SECTION_HOST);
        ASSERT_EQ(json_integer_value(json_object_get(hc, "CpuShares")), 512);
        ASSERT_EQ(json_integer_value(json_object_get(hc, "ShmSize")), 67108864);
        ASSERT_TRUE(json_is_null(json_object_get(hc, "PidsLimit")));
        ASSERT_EQ(json_array_size(json_object_get(hc, "ConsoleSize")), 2);
        ASSERT_TRUE(json_object_get(hc, "Tmpfs") == NULL); /* omitempty */
        ASSERT_TRUE(json_object_get(hc, "Berth") != NULL);  /* unknown stored keys are kept */
        ASSERT_TRUE(strcmp(json_object_iter_key(json_object_iter(hc)), "Binds") == 0);
        json_decref(hc);
        json_decref(stored);
}

TEST(shape_per_version)
{
        json_t *hc = config_fields_filled(NULL, CONFIG_SECTION_HOST);
        json_object_set_new(hc, "Annotations", json_pack("{s:s}", "a", "b"));
        json_t *v39 = json_deep_copy(hc), *v41 = json_deep_copy(hc), *v42 = json_deep_copy(hc),
               *v52 = json_deep_copy(hc);
        config_fields_shape(v39, CONFIG_SECTION_HOST, 39);
        config_fields_shape(v41, CONFIG_SECTION_HOST, 41);
        config_fields_shape(v42, CONFIG_SECTION_HOST, 42);
        config_fields_shape(v52, CONFIG_SECTION_HOST, 52);
        ASSERT_TRUE(json_object_get(v39, "CgroupnsMode") && json_object_get(v41, "CgroupnsMode"));
        ASSERT_TRUE(json_object_get(v41, "KernelMemory") && !json_object_get(v42, "KernelMemory"));
        ASSERT_TRUE(!json_object_get(v41, "Annotations") && json_object_get(v52, "Annotations"));
        ASSERT_TRUE(!json_object_get(v52, "KernelMemoryTCP"));
        json_decref(v39), json_decref(v41), json_decref(v42), json_decref(v52), json_decref(hc);
}

TEST(refusals)
{
        static const char *const ok[] = {
                "{}", "{\"Isolation\":\"\"}", "{\"Isolation\":\"default\"}", "{\"StorageOpt\":{}}",
                "{\"StorageOpt\":null}", "{\"IOMaximumIOps\":0}", "{\"Cgroup\":\"\"}", "{\"Memory\":1000000}",
                "{\"Bogus\":{\"x\":1}}",
        };
        static const char *const refused[] = {
                "{\"Isolation\":\"hyperv\"}", "{\"StorageOpt\":{\"size\":\"1G\"}}",
                "{\"Cgroup\":\"container:x\"}", "{\"Annotations\":{\"a\":\"b\"}}",
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                json_t *o = parse(ok[i]);
                ASSERT_EQ(config_fields_refuse(o, CONFIG_SECTION_HOST, "HostConfig", NULL), 0);
                json_decref(o);
        }
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                json_t *o = parse(refused[i]);
                BerthError *err = NULL;
                ASSERT_EQ(config_fields_refuse(o, CONFIG_SECTION_HOST, "HostConfig", &err), -EINVAL);
                ASSERT_TRUE(strstr(err->msg, "is not supported by berth") != NULL);
                berr_free(err);
                json_decref(o);
        }
        json_t *c = parse("{\"NetworkDisabled\":true}");
        ASSERT_EQ(config_fields_refuse(c, CONFIG_SECTION_CONFIG, "Config", NULL), -EINVAL);
        json_decref(c);
}

TEST(types)
{
        json_t *o = parse("{\"Memory\":\"1g\"}");
        BerthError *err = NULL;
        ASSERT_EQ(config_fields_check(o, CONFIG_SECTION_HOST, "HostConfig", &err), -EINVAL);
        ASSERT_TRUE(strcmp(err->msg, "json: cannot unmarshal string into Go struct field HostConfig.Memory") == 0);
        berr_free(err);
        json_decref(o);
        o = parse("{\"Cmd\":\"echo hi\",\"Env\":null}");
        ASSERT_EQ(config_fields_check(o, CONFIG_SECTION_CONFIG, "ContainerConfigWrapper", NULL), 0);
        json_decref(o);
}

TEST_MAIN
