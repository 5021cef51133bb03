/* The state store's schema migrations (docs/state-store.md): per module, append-only, one
 * transaction per step, refused when the database is newer than the code. */
#include <errno.h>
#include <pthread.h>
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

/* The statement cache: a released statement is handed out again, reset and unbound; one that is
 * checked out is never handed to a second caller; a release after store_close() only finalizes. */
TEST(statement_cache_checkout)
{
        char dir[] = "/tmp/berth-test-state-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/berth.db", dir);
        Store *s = NULL;
        ASSERT_OK(store_open(path, &s, NULL));
        const char *q = "SELECT ?1 + 1";
        sqlite3_stmt *a = store_prepare(s, q, NULL);
        ASSERT_TRUE(a != NULL);
        sqlite3_bind_int(a, 1, 41);
        ASSERT_EQ(sqlite3_step(a), SQLITE_ROW);
        ASSERT_EQ(sqlite3_column_int(a, 0), 42);
        sqlite3_stmt *b = store_prepare(s, q, NULL); /* a is still out: a second statement */
        ASSERT_TRUE(b != NULL && b != a);
        store_release(a);
        sqlite3_stmt *c = store_prepare(s, q, NULL);
        ASSERT_TRUE(c == a); /* reused, and reset with its binding cleared (NULL + 1 is NULL) */
        ASSERT_EQ(sqlite3_step(c), SQLITE_ROW);
        ASSERT_EQ(sqlite3_column_type(c, 0), SQLITE_NULL);
        sqlite3_finalize(c); /* finalizing a checked-out statement stays allowed */
        store_close(s);
        store_release(b); /* after close: finalized, the zombie connection goes with it */
        ASSERT_OK(store_open(path, &s, NULL));
        ASSERT_EQ(count(s, "SELECT 7"), 7);
        store_close(s);
        unlink(path);
        _cleanup_free_ char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
        unlink(wal);
        unlink(shm);
        rmdir(dir);
}

static void *hammer(void *arg)
{
        Store *s = arg;
        for (int i = 0; i < 500; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(s, "SELECT count(*) FROM t WHERE x < ?", NULL);
                if (!st)
                        return (void *) 1;
                sqlite3_bind_int(st, 1, i % 10);
                if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != i % 10)
                        return (void *) 1;
                _cleanup_free_ char *other = xasprintf("SELECT %d", i % 60); /* more SQL than the cache holds */
                if (count(s, other) != i % 60)
                        return (void *) 1;
        }
        return NULL;
}

/* Many threads on one store through the cache (run under TSan in CI). */
TEST(statement_cache_threads)
{
        char dir[] = "/tmp/berth-test-state-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/berth.db", dir);
        Store *s = NULL;
        ASSERT_OK(store_open(path, &s, NULL));
        ASSERT_OK(store_exec(s, "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
                             NULL));
        pthread_t th[4];
        for (size_t i = 0; i < ELEMENTSOF(th); i++)
                ASSERT_EQ(pthread_create(&th[i], NULL, hammer, s), 0);
        for (size_t i = 0; i < ELEMENTSOF(th); i++) {
                void *rv = (void *) 1;
                pthread_join(th[i], &rv);
                ASSERT_TRUE(rv == NULL);
        }
        store_close(s);
        unlink(path);
        _cleanup_free_ char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
        unlink(wal);
        unlink(shm);
        rmdir(dir);
}

TEST_MAIN
