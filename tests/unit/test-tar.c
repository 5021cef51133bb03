/* Layer unpacking: hostile tars built in memory with libarchive's writer. */
#include "test.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "image/tar.h"

typedef struct E {
        const char *name;
        int type; /* AE_IF* */
        const char *link; /* symlink target or hard link */
        const char *data;
        unsigned major, minor;
} E;

static size_t build(const E *es, size_t n, const char *filter, char *buf, size_t cap)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (filter && !strcmp(filter, "gzip"))
                archive_write_add_filter_gzip(a);
        else if (filter && !strcmp(filter, "xz"))
                archive_write_add_filter_xz(a);
        else if (filter && !strcmp(filter, "zstd"))
                archive_write_add_filter_zstd(a);
        size_t used = 0;
        archive_write_open_memory(a, buf, cap, &used);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, es[i].name);
                if (es[i].type == 0 && es[i].link) {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, es[i].link);
                } else {
                        archive_entry_set_filetype(e, (unsigned) es[i].type);
                        if (es[i].type == AE_IFLNK)
                                archive_entry_set_symlink(e, es[i].link);
                }
                archive_entry_set_perm(e, es[i].type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_rdevmajor(e, es[i].major);
                archive_entry_set_rdevminor(e, es[i].minor);
                size_t len = es[i].data ? strlen(es[i].data) : 0;
                archive_entry_set_size(e, es[i].type == AE_IFREG ? (la_int64_t) len : 0);
                archive_write_header(a, e);
                if (es[i].type == AE_IFREG && len)
                        archive_write_data(a, es[i].data, len);
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        return used;
}

static char *mkdest(void)
{
        char *t = strdup("/tmp/berth-test-tar-XXXXXX");
        if (!mkdtemp(t))
                abort();
        return t;
}

static int unpack(const E *es, size_t n, const char *filter, char **dest, LayerUnpackInfo *info, char **msg)
{
        static char buf[1 << 20];
        size_t len = build(es, n, filter, buf, sizeof(buf));
        *dest = mkdest();
        BerthError *err = NULL;
        int r = image_unpack_mem(buf, len, *dest, info, &err);
        if (msg)
                *msg = err ? strdup(err->msg) : NULL;
        berr_free(err);
        return r;
}

#define REJECTS(arr)                                                                             \
        do {                                                                                     \
                char *d, *m;                                                                     \
                LayerUnpackInfo info;                                                            \
                int r = unpack(arr, sizeof(arr) / sizeof(arr[0]), NULL, &d, &info, &m);          \
                fprintf(stdout, "# %s: %s\n", #arr, m ? m : "(accepted)");                       \
                ASSERT_EQ(r, -EINVAL);                                                           \
                ASSERT_TRUE(m != NULL);                                                          \
                free(m);                                                                         \
                rm_rf(d);                                                                        \
                free(d);                                                                         \
        } while (0)

TEST(clean_path)
{
        char *p = image_tar_clean_path("./a/./b/../c");
        ASSERT_STREQ(p, "a/c");
        free(p);
        p = image_tar_clean_path("/etc/passwd");
        ASSERT_STREQ(p, "etc/passwd");
        free(p);
        p = image_tar_clean_path("/../x");
        ASSERT_STREQ(p, "x");
        free(p);
        ASSERT_TRUE(image_tar_clean_path("../x") == NULL);
        ASSERT_TRUE(image_tar_clean_path("a/../../x") == NULL);
        p = image_tar_clean_path("./");
        ASSERT_STREQ(p, "");
        free(p);
}

TEST(plain_and_compressed)
{
        static const E es[] = {
                { "./bin", AE_IFDIR, NULL, NULL, 0, 0 },
                { "./bin/hello", AE_IFREG, NULL, "hello world\n", 0, 0 },
                { "./bin/link", AE_IFLNK, "hello", NULL, 0, 0 },
                { "./bin/hard", 0, "./bin/hello", NULL, 0, 0 },
        };
        const char *filters[] = { NULL, "gzip", "xz", "zstd" };
        char first_id[72] = "";
        for (size_t f = 0; f < 4; f++) {
                char *d;
                LayerUnpackInfo info;
                char *m;
                int r = unpack(es, 4, filters[f], &d, &info, &m);
                if (r < 0)
                        fprintf(stdout, "# %s: %s\n", filters[f] ? filters[f] : "plain", m);
                ASSERT_OK(r);
                free(m);
                if (f == 0)
                        strcpy(first_id, info.diff_id);
                /* diff id is the uncompressed stream's: the same for every compression */
                ASSERT_STREQ(info.diff_id, first_id);
                ASSERT_EQ(info.size, 12 + 5);
                _cleanup_free_ char *p = xasprintf("%s/bin/hello", d);
                _cleanup_free_ char *q = xasprintf("%s/bin/hard", d);
                struct stat a, b;
                ASSERT_OK(stat(p, &a));
                ASSERT_OK(stat(q, &b));
                ASSERT_EQ(a.st_ino, b.st_ino);
                rm_rf(d);
                free(d);
        }
        /* and it equals sha256 of the plain tar bytes */
        static char buf[1 << 20];
        size_t len = build(es, 4, NULL, buf, sizeof(buf));
        char hex[65];
        sha256_hex(buf, len, hex);
        ASSERT_STREQ(first_id + 7, hex);
}

TEST(whiteouts)
{
        static const E es[] = {
                { "d/keep", AE_IFREG, NULL, "k", 0, 0 },
                { "d/.wh.gone", AE_IFREG, NULL, NULL, 0, 0 },
                { "o/.wh..wh..opq", AE_IFREG, NULL, NULL, 0, 0 },
                { "o/.wh..wh.plnk", AE_IFREG, NULL, NULL, 0, 0 },
        };
        char *d;
        LayerUnpackInfo info;
        ASSERT_OK(unpack(es, 4, NULL, &d, &info, NULL));
        _cleanup_free_ char *w = xasprintf("%s/d/gone", d);
        struct stat st;
        ASSERT_OK(lstat(w, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        _cleanup_free_ char *o = xasprintf("%s/o", d);
        char v[4] = "";
        ASSERT_EQ(getxattr(o, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ASSERT_TRUE(v[0] == 'y');
        _cleanup_free_ char *pl = xasprintf("%s/o/.wh..wh.plnk", d);
        ASSERT_TRUE(access(pl, F_OK) < 0);
        rm_rf(d);
        free(d);
}

TEST(hostile)
{
        static const E dotdot[] = { { "../escape", AE_IFREG, NULL, "x", 0, 0 } };
        static const E dotdot_inner[] = { { "a/../../escape", AE_IFREG, NULL, "x", 0, 0 } };
        static const E symlink_write[] = { { "evil", AE_IFLNK, "/tmp", NULL, 0, 0 },
                                           { "evil/pwned-by-test-tar", AE_IFREG, NULL, "x", 0, 0 } };
        static const E symlink_dir_write[] = { { "evil", AE_IFLNK, "..", NULL, 0, 0 },
                                               { "evil/x", AE_IFREG, NULL, "x", 0, 0 } };
        static const E hardlink_out[] = { { "hl", 0, "../../etc/passwd", NULL, 0, 0 } };
        static const E hardlink_abs_missing[] = { { "hl", 0, "/etc/passwd", NULL, 0, 0 } };
        static const E bare_whiteout[] = { { "d/.wh.", AE_IFREG, NULL, NULL, 0, 0 } };
        REJECTS(dotdot);
        REJECTS(dotdot_inner);
        REJECTS(symlink_write);
        REJECTS(symlink_dir_write);
        REJECTS(hardlink_out);
        REJECTS(hardlink_abs_missing);
        REJECTS(bare_whiteout);
        ASSERT_TRUE(access("/tmp/pwned-by-test-tar", F_OK) < 0);
}

/* Device nodes are kept (Docker does; the container's device cgroup makes them harmless), as nodes
 * inside the layer, without set-id bits. */
TEST(device_nodes)
{
        static const E es[] = { { "dev", AE_IFDIR, NULL, NULL, 0, 0 },
                                { "dev/console", AE_IFCHR, NULL, NULL, 5, 1 },
                                { "dev/null", AE_IFCHR, NULL, NULL, 1, 3 },
                                { "dev/sda", AE_IFBLK, NULL, NULL, 8, 0 } };
        char *d = NULL, *m = NULL;
        LayerUnpackInfo info;
        ASSERT_OK(unpack(es, ELEMENTSOF(es), NULL, &d, &info, &m));
        struct stat st;
        _cleanup_free_ char *c = xasprintf("%s/dev/console", d), *b = xasprintf("%s/dev/sda", d);
        ASSERT_OK(lstat(c, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 1);
        ASSERT_TRUE((st.st_mode & 07000) == 0);
        ASSERT_OK(lstat(b, &st));
        ASSERT_TRUE(S_ISBLK(st.st_mode) && major(st.st_rdev) == 8);
        rm_rf(d);
        free(d);
        free(m);
}

TEST(corrupt)
{
        static const E es[] = { { "big", AE_IFREG, NULL,
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789012345678901234567890123456789",
                                  0, 0 } };
        static char buf[1 << 16];
        size_t len = build(es, 1, NULL, buf, sizeof(buf));
        const struct { size_t off, len; } cases[] = { { 0, 700 }, { 0, 100 }, { 0, 0 } };
        for (size_t i = 0; i < 3; i++) {
                char *d = mkdest();
                LayerUnpackInfo info;
                BerthError *err = NULL;
                int r = image_unpack_mem(buf + cases[i].off, cases[i].len, d, &info, &err);
                fprintf(stdout, "# truncated to %zu: %s\n", cases[i].len, err ? err->msg : "(accepted)");
                ASSERT_EQ(r, -EINVAL);
                berr_free(err);
                rm_rf(d);
                free(d);
        }
        /* damaged header checksum */
        buf[148] ^= 0x55;
        char *d = mkdest();
        LayerUnpackInfo info;
        BerthError *err = NULL;
        int r = image_unpack_mem(buf, len, d, &info, &err);
        fprintf(stdout, "# bad checksum: %s\n", err ? err->msg : "(accepted)");
        ASSERT_EQ(r, -EINVAL);
        berr_free(err);
        rm_rf(d);
        free(d);
}

TEST_MAIN
