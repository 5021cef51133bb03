/* berthd's option table and daemon.json: parsing, refusals, merging with
 * flags, and what a reload reports. */
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "daemon/config.h"
#include "test.h"

TEST(parse_known_keys)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_config_parse("{\"hosts\":[\"unix:///x\"],\"debug\":true,\"insecure-registries\":[\"r:5000\"],"
                                      "\"live-restore\":true,\"docker-socket\":false,\"discovery-ttl\":9}", &j, &err), 0);
        ASSERT_TRUE(json_is_true(json_object_get(j, "debug")));
        ASSERT_EQ(json_integer_value(json_object_get(j, "discovery-ttl")), 9);
}

TEST(empty_file_is_empty_config)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_config_parse(" \n", &j, &err), 0);
        ASSERT_EQ(json_object_size(j), 0);
}

TEST(unknown_keys_dockerd_text)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_config_parse("{\"foo\":1,\"debug\":true,\"bar\":2}", &j, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "the following directives don't match any configuration option: foo, bar");
        ASSERT_TRUE(!j);
}

TEST(command_line_only_options_are_not_keys)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_config_parse("{\"config-file\":\"/x\"}", &j, &err), -EINVAL);
        ASSERT_TRUE(strstr(err->msg, "don't match any configuration option: config-file") != NULL);
}

TEST(unsupported_keys_refused)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_config_parse("{\"registry-mirrors\":[\"https://m\"],\"mtu\":1400}", &j, &err), -EINVAL);
        ASSERT_TRUE(startswith(err->msg, "the following directives are not supported by berth: registry-mirrors ("));
        ASSERT_TRUE(strstr(err->msg, ", mtu (") != NULL);
}

TEST(fixed_values)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_berr_ BerthError *err = NULL, *err2 = NULL;
        ASSERT_EQ(daemon_config_parse("{\"live-restore\":false}", &j, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "live-restore: false is not supported by berth (only true)");
        ASSERT_EQ(daemon_config_parse("{\"log-driver\":\"syslog\"}", &j, &err2), -EINVAL);
        ASSERT_STREQ(err2->msg, "log-driver: syslog is not supported by berth (only json-file)");
}

TEST(types_checked)
{
        const char *bad[] = { "{\"debug\":\"yes\"}", "{\"hosts\":\"unix:///x\"}", "{\"hosts\":[1]}",
                              "{\"discovery-ttl\":-1}", "{\"data-root\":5}", "[1]", "{\"debug\":true",
                              "{\"debug\":true,\"debug\":false}" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_t *j = NULL;
                _cleanup_berr_ BerthError *err = NULL;
                ASSERT_EQ(daemon_config_parse(bad[i], &j, &err), -EINVAL);
                ASSERT_TRUE(err && *err->msg);
        }
}

TEST(flags_and_merge_conflicts)
{
        _cleanup_json_ json_t *flags = json_object(), *file = NULL, *m = NULL, *m2 = NULL;
        _cleanup_berr_ BerthError *err = NULL, *ferr = NULL;
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("hosts"), "unix:///a", &ferr), 0);
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("hosts"), "tcp://127.0.0.1:1", &ferr), 0);
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("debug"), NULL, &ferr), 0);
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("tls"), "false", &ferr), 0);
        ASSERT_TRUE(json_is_false(json_object_get(flags, "tls")));
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("tls"), "maybe", &ferr), -EINVAL);
        ASSERT_EQ(daemon_config_parse("{\"hosts\":[\"unix:///b\"],\"data-root\":\"/d\"}", &file, &err), 0);
        ASSERT_EQ(daemon_config_merge(flags, file, &m, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "the following directives are specified both as a flag and in the configuration file: "
                          "hosts: (from flag: [unix:///a tcp://127.0.0.1:1], from file: [unix:///b])");
        json_object_del(file, "hosts");
        ASSERT_EQ(daemon_config_merge(flags, file, &m2, &err), 0);
        ASSERT_STREQ(json_string_value(json_object_get(m2, "data-root")), "/d");
        ASSERT_EQ(json_array_size(json_object_get(m2, "hosts")), 2);
        ASSERT_TRUE(json_is_true(json_object_get(m2, "debug")));
}

TEST(flag_fixed_value)
{
        _cleanup_json_ json_t *flags = json_object();
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_EQ(daemon_flag_set(flags, daemon_option_by_key("storage-driver"), "vfs", &err), -EINVAL);
        ASSERT_STREQ(err->msg, "--storage-driver: vfs is not supported by berth (only overlay2)");
}

TEST(reload_changes_only_reloadable)
{
        _cleanup_json_ json_t *a = json_pack("{s:b,s:[s],s:s}", "debug", 0, "insecure-registries", "a:1", "data-root", "/x");
        _cleanup_json_ json_t *b = json_pack("{s:b,s:[s,s],s:s,s:s}", "debug", 1, "insecure-registries", "a:1", "b:2",
                                             "data-root", "/y", "log-level", "warn");
        _cleanup_strv_free_ char **c = daemon_config_reload_changes(a, b);
        ASSERT_EQ(strv_length(c), 3);
        ASSERT_STREQ(c[0], "log-level: <nil> -> warn");
        ASSERT_STREQ(c[1], "debug: false -> true");
        ASSERT_STREQ(c[2], "insecure-registries: [a:1] -> [a:1 b:2]");
        _cleanup_strv_free_ char **none = daemon_config_reload_changes(a, a);
        ASSERT_TRUE(!none);
}

TEST(table_consistent)
{
        /* every key appears once; every flag has help text */
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++) {
                ASSERT_TRUE(daemon_option_by_key(daemon_option_key(o)) == o);
                ASSERT_TRUE(o->unsupported || (o->help && *o->help));
        }
}

TEST_MAIN
