/* Volumes: the -v / Binds parser, --mount validation, VolumesFrom, tmpfs options and volume names
 * (volume/spec.c, volume/volume.c), with Docker's texts. */
#include "test.h"

#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "volume/volume.h"

static void bind_ok(int *failed, const char *raw, const char *src, const char *dst, bool bind, bool rw, bool nocopy,
                    const char *prop)
{
        VolumeBind b;
        ASSERT_OK(volume_bind_parse(raw, &b, NULL));
        ASSERT_TRUE((src == NULL && b.source == NULL) || (src && b.source && streq(src, b.source)));
        ASSERT_STREQ(b.destination, dst);
        ASSERT_EQ(b.bind, bind);
        ASSERT_EQ(b.rw, rw);
        ASSERT_EQ(b.nocopy, nocopy);
        ASSERT_TRUE((prop == NULL && b.propagation == NULL) || (prop && b.propagation && streq(prop, b.propagation)));
        volume_bind_done(&b);
}

static void bind_err(int *failed, const char *raw, const char *msg)
{
        VolumeBind b;
        BerthError *err = NULL;
        ASSERT_EQ(volume_bind_parse(raw, &b, &err), -EINVAL);
        ASSERT_STREQ(err->msg, msg);
        berr_free(err);
}

TEST(bind_specs)
{
        bind_ok(failed, "/host:/data", "/host", "/data", true, true, false, NULL);
        bind_ok(failed, "/host/./a/../b/:/data/", "/host/b", "/data", true, true, false, NULL);
        bind_ok(failed, "/host:/data:ro", "/host", "/data", true, false, false, NULL);
        bind_ok(failed, "/host:/data:ro,rshared", "/host", "/data", true, false, false, "rshared");
        bind_ok(failed, "/host:/data:Z,slave", "/host", "/data", true, true, false, "slave");
        bind_ok(failed, "name:/data", "name", "/data", false, true, false, NULL);
        bind_ok(failed, "name:/data:nocopy,ro", "name", "/data", false, false, true, NULL);
        bind_ok(failed, "/anon", NULL, "/anon", false, true, false, NULL);
}

TEST(bind_errors)
{
        bind_err(failed, "/a:/b:c:d", "invalid volume specification: '/a:/b:c:d'");
        bind_err(failed, ":/b", "invalid volume specification: ':/b'");
        bind_err(failed, "/data:rw", "invalid volume specification: '/data:rw'");
        bind_err(failed, "/a:/b:bogus", "invalid mode: bogus");
        bind_err(failed, "/a:/b:ro,rw", "invalid mode: ro,rw");
        bind_err(failed, "/a:/b:shared,slave", "invalid mode: shared,slave");
        bind_err(failed, "name:rel", "invalid volume specification: 'name:rel': invalid mount config for type \"volume\": "
                             "invalid mount path: 'rel' mount path must be absolute");
        bind_err(failed, "/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid "
                         "specification: destination can't be '/'");
}

TEST(modes)
{
        ASSERT_TRUE(volume_mode_valid(""));
        ASSERT_TRUE(volume_mode_valid("ro,z,rprivate,nocopy,cached"));
        ASSERT_TRUE(!volume_mode_valid("ro,"));
        ASSERT_TRUE(!volume_mode_valid("z,Z"));
        ASSERT_TRUE(!volume_mode_valid("nocopy,nocopy"));
}

static void mount_err(int *failed, const char *json, const char *msg)
{
        json_t *m = json_loads(json, 0, NULL);
        ASSERT_TRUE(m != NULL);
        BerthError *err = NULL;
        ASSERT_TRUE(volume_mount_validate(m, false, &err) < 0);
        ASSERT_STREQ(err->msg, msg);
        berr_free(err);
        json_decref(m);
}

TEST(mount_validation)
{
        json_t *m = json_loads("{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/x\","
                               "\"VolumeOptions\":{\"NoCopy\":true,\"Subpath\":\"a/b\"}}", 0, NULL);
        ASSERT_OK(volume_mount_validate(m, false, NULL));
        json_decref(m);
        m = json_loads("{\"Type\":\"bind\",\"Source\":\"/nonexistent-berth\",\"Target\":\"/x\"}", 0, NULL);
        ASSERT_OK(volume_mount_validate(m, false, NULL));
        ASSERT_TRUE(volume_mount_validate(m, true, NULL) < 0);
        json_decref(m);
        mount_err(failed, "{\"Type\":\"volume\",\"Source\":\"x\",\"Target\":\"relative\"}",
                  "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute");
        mount_err(failed, "{\"Type\":\"volume\",\"Source\":\"x\"}",
                  "invalid mount config for type \"volume\": field Target must not be empty");
        mount_err(failed, "{\"Type\":\"volume\",\"Target\":\"/x\",\"ReadOnly\":true}",
                  "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes");
        mount_err(failed, "{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/x\",\"VolumeOptions\":{\"Subpath\":\"../a\"}}",
                  "invalid mount config for type \"volume\": subpath must be a relative path within the volume");
        mount_err(failed, "{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/x\",\"BindOptions\":{}}",
                  "invalid mount config for type \"volume\": field BindOptions must not be specified");
        mount_err(failed, "{\"Type\":\"bind\",\"Target\":\"/x\"}",
                  "invalid mount config for type \"bind\": field Source must not be empty");
        mount_err(failed, "{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/x\",\"BindOptions\":{\"Propagation\":\"odd\"}}",
                  "invalid mount config for type \"bind\": invalid propagation mode: odd");
        mount_err(failed, "{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/x\",\"VolumeOptions\":{}}",
                  "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
        mount_err(failed, "{\"Type\":\"tmpfs\",\"Source\":\"/a\",\"Target\":\"/x\"}",
                  "invalid mount config for type \"tmpfs\": field Source must not be specified");
        mount_err(failed, "{\"Type\":\"tmpfs\",\"Target\":\"/\"}",
                  "invalid mount config for type \"tmpfs\": invalid specification: destination can't be '/'");
        mount_err(failed, "{\"Type\":\"odd\",\"Target\":\"/x\"}", "invalid mount config for type \"odd\": mount type unknown");
        mount_err(failed, "{\"Target\":\"/x\"}", "invalid mount config: mount type unknown");
}

TEST(volumes_from)
{
        char *id = NULL;
        bool rw;
        ASSERT_OK(volume_from_parse("c1", &id, &rw, NULL));
        ASSERT_STREQ(id, "c1");
        ASSERT_TRUE(rw);
        free(id);
        ASSERT_OK(volume_from_parse("c1:ro", &id, &rw, NULL));
        ASSERT_TRUE(!rw);
        free(id);
        BerthError *err = NULL;
        ASSERT_TRUE(volume_from_parse("c1:shared", &id, &rw, &err) < 0);
        ASSERT_STREQ(err->msg, "invalid mode: shared");
        berr_free(err);
        err = NULL;
        ASSERT_TRUE(volume_from_parse("", &id, &rw, &err) < 0);
        ASSERT_STREQ(err->msg, "volumes-from specification cannot be an empty string");
        berr_free(err);
}

TEST(tmpfs_options_and_names)
{
        char *s = volume_tmpfs_options(1 << 20, 01777, true);
        ASSERT_STREQ(s, "ro,mode=1777,size=1m");
        free(s);
        s = volume_tmpfs_options(1000, 0, false);
        ASSERT_STREQ(s, "size=1000");
        free(s);
        s = volume_path_clean("/a/../../b/./c/");
        ASSERT_STREQ(s, "/b/c");
        free(s);
        ASSERT_OK(volume_name_check("ab", NULL));
        ASSERT_OK(volume_name_check("a.b_c-d", NULL));
        BerthError *err = NULL;
        ASSERT_TRUE(volume_name_check("x", &err) < 0);
        ASSERT_STREQ(err->msg, "create x: volume name is too short, names should be at least two alphanumeric "
                               "characters");
        berr_free(err);
        ASSERT_TRUE(volume_name_check("-ab", NULL) < 0);
        ASSERT_TRUE(volume_name_check("a/b", NULL) < 0);
        ASSERT_TRUE(volume_name_check("../x", NULL) < 0);
}

TEST_MAIN
