/* Daemon-level lifecycle of the engine: restore on start, reap, shut down. */
#pragma once

#include "engine/engine.h"

/* Restores state after (re)start: re-adopts running containers, records exits
 * that happened while berthd was down, removes strays. */
int engine_start(Engine *e, BerthError **err);
/* Called on SIGCHLD from the main thread. */
void engine_reap_children(Engine *e);
/* Leaves containers running: their monitors outlive the daemon. */
void engine_stop(Engine *e);
