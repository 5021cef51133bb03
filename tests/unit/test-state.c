/* The state store's schema migrations (docs/state-store.md): per module, append-only, one
 * transaction per step, refused when the database is newer than the code. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "state/store.h"
#include "test.h"

static int count(Store *s, const char *sql)
{
        sqlite3_stmt *st = store_prepare(s, sql, NULL);
        int n = -1;
        if (st && sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return n;
}

static int version(Store *s, const char *module)
{
        _cleanup_free_ char *q = xasprintf("SELECT version FROM schema_modules WHERE module = '%s'", module);
        return count(s, q);
}

TEST(migrations_apply_once_per_module)
{
        char dir[] = "/tmp/berth-test-state-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/berth.db", dir);
        Store *s = NULL;
        ASSERT_OK(store_open(path, &s, NULL));

        static const char *const v1[] = { "CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)" };
        ASSERT_OK(store_migrate(s, "alpha", v1, 2, NULL));
        ASSERT_EQ(version(s, "alpha"), 2);
        /* again: nothing re-applied */
        ASSERT_OK(store_migrate(s, "alpha", v1, 2, NULL));
        ASSERT_EQ(count(s, "SELECT COUNT(*) FROM a"), 1);
        /* another module keeps its own numbers */
        static const char *const w1[] = { "CREATE TABLE b (y TEXT)" };
        ASSERT_OK(store_migrate(s, "beta", w1, 1, NULL));
        ASSERT_EQ(version(s, "beta"), 1);
        ASSERT_EQ(version(s, "alpha"), 2);
        /* an appended step applies alone */
        static const char *const v2[] = { "CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)",
                                          "INSERT INTO a VALUES (2); INSERT INTO a VALUES (3)" };
        ASSERT_OK(store_migrate(s, "alpha", v2, 3, NULL));
        ASSERT_EQ(count(s, "SELECT COUNT(*) FROM a"), 3);
        ASSERT_EQ(version(s, "alpha"), 3);

        /* a failing step leaves neither its changes nor a new version behind */
        static const char *const bad[] = { "CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)",
                                           "INSERT INTO a VALUES (2); INSERT INTO a VALUES (3)",
                                           "INSERT INTO a VALUES (4); INSERT INTO nosuchtable VALUES (5)" };
        BerthError *err = NULL;
        ASSERT_TRUE(store_migrate(s, "alpha", bad, 4, &err) < 0);
        ASSERT_TRUE(err != NULL);
        berr_free(err);
        ASSERT_EQ(count(s, "SELECT COUNT(*) FROM a"), 3);
        ASSERT_EQ(version(s, "alpha"), 3);

        /* code older than the database: refused, not silently run on a schema it does not know */
        err = NULL;
        ASSERT_EQ(store_migrate(s, "alpha", v1, 2, &err), -EINVAL);
        ASSERT_TRUE(err && strstr(err->msg, "newer than this berth"));
        berr_free(err);

        /* the state survives a reopen */
        store_close(s);
        s = NULL;
        ASSERT_OK(store_open(path, &s, NULL));
        ASSERT_EQ(version(s, "alpha"), 3);
        ASSERT_EQ(version(s, "beta"), 1);
        store_close(s);
        ASSERT_OK(rm_rf(dir));
}

TEST(database_is_private)
{
        char dir[] = "/tmp/berth-test-state-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/berth.db", dir);
        Store *s = NULL;
        ASSERT_OK(store_open(path, &s, NULL));
        struct stat st;
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600u); /* it holds containers' environments */
        store_close(s);
        ASSERT_OK(rm_rf(dir));
}

TEST_MAIN
