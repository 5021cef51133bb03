/* Image references: Docker's normalization, familiar forms and error texts. */
#include "test.h"

#include "basic/error.h"
#include "basic/sha256.h"
#include "image/reference.h"

static char *full_of(const char *s)
{
        ImageRef *r = NULL;
        if (image_ref_parse(s, &r, NULL) < 0)
                return NULL;
        image_ref_default_tag(r);
        char *f = image_ref_full(r);
        image_ref_free(r);
        return f;
}

static char *familiar_of(const char *s)
{
        ImageRef *r = NULL;
        if (image_ref_parse(s, &r, NULL) < 0)
                return NULL;
        image_ref_default_tag(r);
        char *f = image_ref_familiar(r);
        image_ref_free(r);
        return f;
}

static char *error_of(const char *s)
{
        ImageRef *r = NULL;
        BerthError *e = NULL;
        if (image_ref_parse(s, &r, &e) == 0) {
                image_ref_free(r);
                return NULL;
        }
        char *m = strdup(e->msg);
        berr_free(e);
        return m;
}

#define CHECK_FULL(in, want)                          \
        do {                                          \
                char *_f = full_of(in);               \
                ASSERT_STREQ(_f, want);               \
                free(_f);                             \
        } while (0)

TEST(normalize)
{
        CHECK_FULL("busybox", "docker.io/library/busybox:latest");
        CHECK_FULL("busybox:1.36", "docker.io/library/busybox:1.36");
        CHECK_FULL("user/repo", "docker.io/user/repo:latest");
        CHECK_FULL("index.docker.io/library/busybox", "docker.io/library/busybox:latest");
        CHECK_FULL("localhost:5000/x", "localhost:5000/x:latest");
        CHECK_FULL("localhost/x:1", "localhost/x:1");
        CHECK_FULL("127.0.0.1:5003/built:1", "127.0.0.1:5003/built:1");
        CHECK_FULL("a.b/c/d/e:t_1.x-y", "a.b/c/d/e:t_1.x-y");
        CHECK_FULL("busybox@sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                   "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        CHECK_FULL("my__repo/a-b---c.d", "docker.io/my__repo/a-b---c.d:latest");
}

TEST(familiar)
{
        char *f = familiar_of("docker.io/library/busybox");
        ASSERT_STREQ(f, "busybox:latest");
        free(f);
        f = familiar_of("docker.io/user/repo:2");
        ASSERT_STREQ(f, "user/repo:2");
        free(f);
        f = familiar_of("localhost:5000/x:1");
        ASSERT_STREQ(f, "localhost:5000/x:1");
        free(f);
        f = image_ref_familiarize("docker.io/library/mytag:v1");
        ASSERT_STREQ(f, "mytag:v1");
        free(f);
}

TEST(errors)
{
        char *m = error_of("Busybox");
        ASSERT_STREQ(m, "invalid reference format: repository name (library/Busybox) must be lowercase");
        free(m);
        m = error_of("foo/Bar:1");
        ASSERT_STREQ(m, "invalid reference format: repository name (foo/Bar) must be lowercase");
        free(m);
        static const char *const bad[] = { "a:b:c", "-x", "x-", "a//b", "x:", "x:-tag", "x@sha256:abc", "a..b",
                                           "a/b/" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                m = error_of(bad[i]);
                if (!m)
                        fprintf(stdout, "# accepted: %s\n", bad[i]);
                ASSERT_TRUE(m != NULL);
                ASSERT_TRUE(strncmp(m, "invalid", 7) == 0);
                free(m);
        }
        char longtag[140] = "x:";
        memset(longtag + 2, 'a', 129);
        longtag[131] = 0;
        m = error_of(longtag);
        ASSERT_STREQ(m, "invalid reference format");
        free(m);
        m = error_of("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        ASSERT_TRUE(m && strstr(m, "cannot specify 64-byte hexadecimal strings"));
        free(m);
        m = error_of("");
        ASSERT_TRUE(m != NULL);
        free(m);
}

TEST(tags_and_ids)
{
        ASSERT_TRUE(image_ref_valid_tag("latest"));
        ASSERT_TRUE(image_ref_valid_tag("_a.B-1"));
        ASSERT_TRUE(!image_ref_valid_tag(".a"));
        ASSERT_TRUE(!image_ref_valid_tag("a/b"));
        ASSERT_TRUE(image_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        ASSERT_TRUE(!image_digest_valid("sha256:0123"));
        char s[13];
        image_short_id("sha256:73912abf25bac3abb14886f3c4363ac4ead162ebddea64813192c6aa59c63801", s);
        ASSERT_STREQ(s, "73912abf25ba");
}

TEST(chain_id)
{
        /* chain(L2) = sha256(chain(L1) + " " + diff(L2)), both with the sha256: prefix. */
        const char *d1 = "sha256:24f975a277423ccd6364cc604faf26e4e0a9577246e6e1b498e9be530489d72e";
        const char *d2 = "sha256:18ba597f00000000000000000000000000000000000000000000000000000000";
        char buf[200], hex[65];
        snprintf(buf, sizeof(buf), "%s %s", d1, d2);
        sha256_hex(buf, strlen(buf), hex);
        ASSERT_EQ(strlen(hex), 64);
        /* known vector: sha256("abc") */
        sha256_hex("abc", 3, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(parse_target)
{
        ImageRef *r = NULL;
        ASSERT_OK(image_ref_parse_target("", "v1", "digest", &r, NULL));
        ASSERT_TRUE(r == NULL);
        ASSERT_OK(image_ref_parse_target("busybox", NULL, "digest", &r, NULL));
        ASSERT_STREQ(r->tag, "latest");
        image_ref_free(r);
        ASSERT_OK(image_ref_parse_target("busybox:old", "v1", "digest", &r, NULL));
        ASSERT_STREQ(r->tag, "v1");
        image_ref_free(r);
        BerthError *err = NULL;
        r = NULL;
        ASSERT_EQ(image_ref_parse_target("busybox", ".bad", "digest", &r, &err), -EINVAL);
        ASSERT_STREQ(err->msg, "invalid tag format");
        berr_free(err);
        err = NULL;
        ASSERT_EQ(image_ref_parse_target("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                         NULL, "cannot import digest reference", &r, &err),
                  -EINVAL);
        ASSERT_STREQ(err->msg, "cannot import digest reference");
        ASSERT_TRUE(r == NULL);
        berr_free(err);
}

TEST_MAIN
