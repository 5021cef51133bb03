/* The state store: one SQLite database in WAL mode under the data root.
 * Every change that must survive a crash is one transaction, so a killed
 * daemon leaves either the old or the new state. See docs/state-store.md. */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

#include "basic/error.h"

typedef struct Store {
        sqlite3 *db;
        char *fault_path; /* debug builds: $BERTH_TEST_STORE_FAIL, see store_write_fault() */
        uint64_t serial;  /* unique per store_open() in this process: a key for caches of decoded rows */
} Store;

int store_open(const char *path, Store **ret, BerthError **err);
/* Applies a module's own schema steps in order (e.g. "network", "registry"),
 * tracked per module so modules never compete for version numbers. Steps are
 * append-only: never edit a shipped one. */
int store_migrate(Store *s, const char *module, const char *const *steps, size_t n_steps, BerthError **err);
void store_close(Store *s);
int store_exec(Store *s, const char *sql, BerthError **err);
/* -EIO when the transaction cannot start: the caller must not write, and must
 * undo or refuse whatever it was about to record. */
int store_begin(Store *s) __attribute__((warn_unused_result));
int store_commit(Store *s);
void store_rollback(Store *s);
/* Debug builds only: -EIO while the file named by $BERTH_TEST_STORE_FAIL exists, so the
 * tests can make every state write fail as a full or broken disk would; 0 otherwise. */
int store_write_fault(Store *s);
/* Prepared statement helper; returns NULL and sets err on failure. Statements come from a small
 * per-process cache keyed by (database, SQL text): a statement is checked out to one caller at a
 * time and goes back, reset and unbound, through store_release() (what _cleanup_stmt_ calls).
 * sqlite3_finalize() on a checked-out statement is still fine: it only drops it from the cache. */
sqlite3_stmt *store_prepare(Store *s, const char *sql, BerthError **err);
void store_release(sqlite3_stmt *st);
static inline void sqlite3_finalizep(sqlite3_stmt **st) { if (*st) store_release(*st); }
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)
