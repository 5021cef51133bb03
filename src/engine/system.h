/* Engine-wide facts for /info and /system/df. */
#pragma once

#include <jansson.h>

#include "engine/engine.h"

/* Builds the newest-version /info object. */
int engine_info(Engine *e, json_t **ret, BerthError **err);
/* The berth-monitor berthd runs: $BERTH_MONITOR, else next to berthd, else the libexec dir. */
char *engine_monitor_path(void);
/* The runtime names containers may ask for (HostConfig.Runtime): "berth", the default, and "runc",
 * the name Docker's clients send for Docker's default, which berth's runtime serves too. */
bool engine_runtime_known(const char *name);
int engine_disk_usage(Engine *e, json_t **ret, BerthError **err);
/* Docker's SizeRw (the bytes in the container's own layer) and SizeRootFs (that plus its image's layers).
 * Walks the upper dir: call without Engine.lock. */
void engine_container_size(Engine *e, const char *id, const char *image_id, long long *ret_rw,
                           long long *ret_rootfs);
