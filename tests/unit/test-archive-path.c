/* The archive API's path and value logic (engine/archive-path.c). */
#include "test.h"

#include <sys/stat.h>

#include "basic/util.h"
#include "engine/archive-path.h"

#define CHECK_STR(call, want)                             \
        do {                                              \
                char *_s = (call);                        \
                int _ok = strcmp(_s, (want)) == 0;        \
                if (!_ok)                                 \
                        fprintf(stdout, "# got %s\n", _s); \
                free(_s);                                 \
                ASSERT_TRUE(_ok);                         \
        } while (0)

TEST(abs_path_keeps_trailing_dot_and_slash)
{
        CHECK_STR(archive_abs_path("etc"), "/etc");
        CHECK_STR(archive_abs_path("/etc/"), "/etc/");
        CHECK_STR(archive_abs_path("/etc//"), "/etc/");
        CHECK_STR(archive_abs_path("/etc/."), "/etc/.");
        CHECK_STR(archive_abs_path("/etc/./"), "/etc/./"); /* as Go: "." kept, then the slash */
        CHECK_STR(archive_abs_path("/"), "/");
        CHECK_STR(archive_abs_path("."), "/.");
        CHECK_STR(archive_abs_path("../../x"), "/x");
        CHECK_STR(archive_abs_path("/a/../b/"), "/b/");
}

TEST(base_like_go)
{
        CHECK_STR(archive_base("/etc/."), ".");
        CHECK_STR(archive_base("/etc//"), "etc");
        CHECK_STR(archive_base("/"), "/");
        CHECK_STR(archive_base(""), ".");
        CHECK_STR(archive_base("passwd"), "passwd");
}

TEST(go_file_mode)
{
        ASSERT_EQ(archive_go_mode(S_IFDIR | 0755), 2147484141u);
        ASSERT_EQ(archive_go_mode(S_IFLNK | 0777), 134218239u);
        ASSERT_EQ(archive_go_mode(S_IFREG | 0644), 420);
        ASSERT_EQ(archive_go_mode(S_IFDIR | S_ISVTX | 0777), (1u << 31) | (1u << 20) | 0777);
        ASSERT_EQ(archive_go_mode(S_IFREG | S_ISUID | S_ISGID | 0755), (1u << 23) | (1u << 22) | 0755);
        ASSERT_EQ(archive_go_mode(S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666);
        ASSERT_EQ(archive_go_mode(S_IFIFO | 0600), (1u << 25) | 0600);
}

TEST(rfc3339nano)
{
        CHECK_STR(archive_rfc3339nano(0, 0), "1970-01-01T00:00:00Z");
        CHECK_STR(archive_rfc3339nano(1796642137, 965937693), "2026-12-07T11:15:37.965937693Z");
        CHECK_STR(archive_rfc3339nano(1796642137, 500000000), "2026-12-07T11:15:37.5Z");
}

TEST(within)
{
        ASSERT_TRUE(archive_path_within("/data", "/data"));
        ASSERT_TRUE(archive_path_within("/data", "/data/x"));
        ASSERT_TRUE(!archive_path_within("/data", "/database"));
        ASSERT_TRUE(!archive_path_within("/data", "/"));
        ASSERT_TRUE(archive_path_within("/", "/etc"));
}

TEST(symlink_escapes)
{
        ASSERT_TRUE(!archive_symlink_escapes("l", "/"));
        ASSERT_TRUE(!archive_symlink_escapes("l", "f"));
        ASSERT_TRUE(!archive_symlink_escapes("d/l", "../f"));
        ASSERT_TRUE(archive_symlink_escapes("l", "../f"));
        ASSERT_TRUE(archive_symlink_escapes("d/l", "../../f"));
        ASSERT_TRUE(archive_symlink_escapes("d/l", "x/../../../f"));
}

TEST(entry_names_rebased)
{
        CHECK_STR(archive_entry_name("etc", "", true), "etc/");
        CHECK_STR(archive_entry_name("etc", "passwd", false), "etc/passwd");
        CHECK_STR(archive_entry_name(".", "", true), "./");
        CHECK_STR(archive_entry_name(".", "group", false), "./group");
        CHECK_STR(archive_entry_name("/", "", true), "/");
        CHECK_STR(archive_entry_name("/", "bin", true), "/bin/");
        CHECK_STR(archive_entry_name("passwd", "", false), "passwd");
}

TEST_MAIN
