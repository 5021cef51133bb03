#include "store.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"

/* Schema versions, applied in order; never edit a shipped entry, append. */
static const char *const migrations[] = {
        /* 1: images, layers, references, containers */
        "CREATE TABLE layers ("
        "  chain_id TEXT PRIMARY KEY,"  /* sha256:... */
        "  diff_id TEXT NOT NULL,"
        "  parent TEXT,"                /* chain id of the layer below, NULL for the base */
        "  size INTEGER NOT NULL,"      /* unpacked bytes of this layer alone */
        "  created INTEGER NOT NULL"
        ");"
        "CREATE TABLE images ("
        "  id TEXT PRIMARY KEY,"        /* sha256:<hex of config bytes> */
        "  config BLOB NOT NULL,"       /* exact config bytes; the id hashes these */
        "  top_layer TEXT,"             /* chain id, NULL for an image without layers */
        "  parent TEXT,"                /* local parent image id (commit, build) */
        "  created INTEGER NOT NULL,"   /* unix ns from the config */
        "  added INTEGER NOT NULL"      /* unix ns when stored here */
        ");"
        "CREATE TABLE refs ("
        "  name TEXT PRIMARY KEY,"      /* normalized: docker.io/library/busybox:latest or repo@sha256:... */
        "  image_id TEXT NOT NULL REFERENCES images(id),"
        "  added INTEGER NOT NULL"
        ");"
        "CREATE INDEX refs_image ON refs(image_id);"
        "CREATE TABLE containers ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT UNIQUE NOT NULL,"  /* without the leading slash */
        "  image_id TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  config TEXT NOT NULL,"       /* JSON: Config, HostConfig, NetworkingConfig as created */
        "  state TEXT NOT NULL"         /* JSON: State and runtime facts */
        ");",
};

/* The statement cache. Parsing and planning SQL is most of the cost of a short query (the
 * hot API paths run a dozen of them per request), so statements are kept prepared. The cache
 * is shared by every thread: an entry is taken out while a caller uses it, so no statement is
 * ever stepped by two threads, and put back on release. Only statements of open stores are
 * kept (a release after store_close() finalizes). Oldest entries are evicted first, so SQL
 * built at run time cannot pin the cache. */
#define STMT_CACHE_MAX 48
#define STORES_MAX 16
static pthread_mutex_t stmt_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_stmt *stmt_cache[STMT_CACHE_MAX]; /* oldest first */
static size_t stmt_cache_n;
static sqlite3 *open_dbs[STORES_MAX];

static bool db_is_open_locked(sqlite3 *db)
{
        for (size_t i = 0; i < STORES_MAX; i++)
                if (open_dbs[i] == db)
                        return true;
        return false;
}

static void db_register(sqlite3 *db, bool open)
{
        pthread_mutex_lock(&stmt_lock);
        for (size_t i = 0; i < STORES_MAX; i++)
                if (open_dbs[i] == (open ? NULL : db)) {
                        open_dbs[i] = open ? db : NULL;
                        break;
                }
        sqlite3_stmt *drop[STMT_CACHE_MAX];
        size_t n_drop = 0, k = 0;
        if (!open) {
                for (size_t i = 0; i < stmt_cache_n; i++) {
                        if (sqlite3_db_handle(stmt_cache[i]) == db)
                                drop[n_drop++] = stmt_cache[i];
                        else
                                stmt_cache[k++] = stmt_cache[i];
                }
                stmt_cache_n = k;
        }
        pthread_mutex_unlock(&stmt_lock);
        for (size_t i = 0; i < n_drop; i++)
                sqlite3_finalize(drop[i]);
}

static sqlite3_stmt *stmt_checkout(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        pthread_mutex_lock(&stmt_lock);
        for (size_t i = stmt_cache_n; i-- > 0;)
                if (sqlite3_db_handle(stmt_cache[i]) == db && streq(sqlite3_sql(stmt_cache[i]), sql)) {
                        st = stmt_cache[i];
                        memmove(stmt_cache + i, stmt_cache + i + 1, (stmt_cache_n - i - 1) * sizeof(*stmt_cache));
                        stmt_cache_n--;
                        break;
                }
        pthread_mutex_unlock(&stmt_lock);
        return st;
}

void store_release(sqlite3_stmt *st)
{
        if (!st)
                return;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_stmt *evict = st;
        pthread_mutex_lock(&stmt_lock);
        if (db_is_open_locked(sqlite3_db_handle(st))) {
                if (stmt_cache_n == STMT_CACHE_MAX) {
                        evict = stmt_cache[0];
                        memmove(stmt_cache, stmt_cache + 1, (STMT_CACHE_MAX - 1) * sizeof(*stmt_cache));
                        stmt_cache_n--;
                } else
                        evict = NULL;
                stmt_cache[stmt_cache_n++] = st;
        }
        pthread_mutex_unlock(&stmt_lock);
        if (evict)
                sqlite3_finalize(evict);
}

int store_open(const char *path, Store **ret, BerthError **err)
{
        /* The database holds every container's environment, secrets included:
         * root only. sqlite gives -wal and -shm the database's mode; files
         * from older versions (0644) are narrowed here. */
        {
                _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 || fchmod(fd, 0600) < 0)
                        return berr_set(err, errno, "cannot open state database %s: %m", path);
                const char *sfx[] = { "-wal", "-shm", "-journal" };
                for (size_t i = 0; i < ELEMENTSOF(sfx); i++) {
                        _cleanup_free_ char *p = xasprintf("%s%s", path, sfx[i]);
                        if (chmod(p, 0600) < 0 && errno != ENOENT)
                                return berr_set(err, errno, "cannot restrict %s: %m", p);
                }
        }
        Store *s = xcalloc(1, sizeof(*s));
        if (!s)
                return berr_set(err, ENOMEM, "out of memory");
        int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
                int r = berr_set(err, EIO, "cannot open state database %s: %s", path, sqlite3_errstr(rc));
                store_close(s);
                return r;
        }
        sqlite3_busy_timeout(s->db, 5000);
        db_register(s->db, true);
        static uint64_t serials;
        s->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
#ifndef NDEBUG
        const char *fault = getenv("BERTH_TEST_STORE_FAIL");
        if (fault && *fault)
                s->fault_path = xstrdup(fault);
#endif
        /* WAL + synchronous=NORMAL: a commit is in the OS once it returns, so a
         * killed daemon loses nothing; after a power loss the store is still
         * consistent but may miss the last commits (docs/state-store.md). The page cache is bounded
         * to 1 MiB (SQLite's default is 2 MiB): the OS caches the file anyway, and it stays resident. */
        int r = store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                              "PRAGMA cache_size=-1024;", err);
        if (r < 0)
                goto fail;
        int version = 0;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(s, "PRAGMA user_version", err);
                if (!st) {
                        r = -EIO;
                        goto fail;
                }
                if (sqlite3_step(st) == SQLITE_ROW)
                        version = sqlite3_column_int(st, 0);
        }
        if (version > (int) ELEMENTSOF(migrations)) {
                r = berr_set(err, EINVAL, "state database %s is from a newer berth (schema %d)", path, version);
                goto fail;
        }
        for (int v = version; v < (int) ELEMENTSOF(migrations); v++) {
                if (store_begin(s) < 0) {
                        r = berr_set(err, EIO, "state database %s: %s", path, sqlite3_errmsg(s->db));
                        goto fail;
                }
                _cleanup_free_ char *sql = xasprintf("%s; PRAGMA user_version=%d;", migrations[v], v + 1);
                r = store_exec(s, sql, err);
                if (r < 0) {
                        store_rollback(s);
                        goto fail;
                }
                if (store_commit(s) < 0) {
                        r = berr_set(err, EIO, "state database %s: %s", path, sqlite3_errmsg(s->db));
                        store_rollback(s);
                        goto fail;
                }
        }
        *ret = s;
        return 0;
fail:
        store_close(s);
        return r;
}

int store_migrate(Store *s, const char *module, const char *const *steps, size_t n_steps, BerthError **err)
{
        int r = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_modules (module TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                           err);
        if (r < 0)
                return r;
        int version = 0;
        {
                _cleanup_stmt_ sqlite3_stmt *st = store_prepare(s, "SELECT version FROM schema_modules WHERE module=?", err);
                if (!st)
                        return -EIO;
                sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW)
                        version = sqlite3_column_int(st, 0);
        }
        if (version > (int) n_steps)
                return berr_set(err, EINVAL, "state database has %s schema %d, newer than this berth", module, version);
        for (int v = version; v < (int) n_steps; v++) {
                if (store_begin(s) < 0)
                        return berr_set(err, EIO, "state database is busy");
                r = store_exec(s, steps[v], err);
                if (r == 0) {
                        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(
                                s, "INSERT OR REPLACE INTO schema_modules (module, version) VALUES (?, ?)", err);
                        if (!st)
                                r = -EIO;
                        else {
                                sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
                                sqlite3_bind_int(st, 2, v + 1);
                                if (sqlite3_step(st) != SQLITE_DONE)
                                        r = berr_set(err, EIO, "state database: %s", sqlite3_errmsg(s->db));
                        }
                }
                if (r < 0) {
                        store_rollback(s);
                        return r;
                }
                if (store_commit(s) < 0)
                        return berr_set(err, EIO, "state database: %s", sqlite3_errmsg(s->db));
        }
        return 0;
}

void store_close(Store *s)
{
        if (!s)
                return;
        if (s->db) {
                db_register(s->db, false);
                sqlite3_close_v2(s->db);
        }
        free(s->fault_path);
        free(s);
}

int store_exec(Store *s, const char *sql, BerthError **err)
{
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                int r = berr_set(err, EIO, "state database: %s", msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return r;
        }
        return 0;
}

int store_write_fault(Store *s)
{
#ifndef NDEBUG
        if (s->fault_path && access(s->fault_path, F_OK) == 0)
                return -EIO;
#endif
        (void) s;
        return 0;
}

int store_begin(Store *s)
{
        if (store_write_fault(s) < 0)
                return -EIO;
        return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_commit(Store *s)
{
        return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

void store_rollback(Store *s)
{
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *store_prepare(Store *s, const char *sql, BerthError **err)
{
        sqlite3_stmt *st = stmt_checkout(s->db, sql);
        if (st)
                return st;
        int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
                berr_set(err, EIO, "state database: %s", sqlite3_errmsg(s->db));
                return NULL;
        }
        return st;
}
