/* Fault injection for crash-consistency tests (docs/state-store.md, "Crash recovery").
 * BERTH_CRASH_AT=<point>[:<n>] in berthd's environment makes the n-th (default first) pass
 * through crash_point("<point>") kill the daemon with SIGKILL, as a kill -9 at that moment
 * would. Unset (always, outside tests) it costs one comparison per call. */
#pragma once

/* Reads and clears BERTH_CRASH_AT (so monitors do not inherit it); call once, before threads. */
void crash_point_init(void);
void crash_point(const char *name);
