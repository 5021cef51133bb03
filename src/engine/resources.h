/* A container's resource limits (HostConfig.Memory, NanoCpus, PidsLimit, Blkio*, ...): Docker's
 * checks and warnings, the values the runtime writes to the cgroup, live updates, and the
 * figures of GET /containers/{id}/stats (docs/resources.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "engine/container.h"

/* Docker's verifyPlatformContainerResources and the HostConfig checks next to it: bad values are
 * -EINVAL with Docker's text; a limit the host cannot enforce is removed from hc and a warning
 * (Docker's text) appended to warnings, as dockerd does. update: the body of an update. */
int container_resources_verify(json_t *hc, bool update, json_t *warnings, BerthError **err);
/* Create-time defaults: MemorySwap is twice Memory when only Memory is given. */
void container_resources_defaults(json_t *hc);
/* spec.json's "cgroup_resources" (docs/monitor.md) from a HostConfig; device paths are resolved
 * to major:minor here. */
int container_resources_spec(json_t *hc, json_t **ret, BerthError **err);

/* One stats sample in the 1.52 shape. prev: the previous sample of the same stream (its
 * cpu_stats and read become precpu_stats and preread), or NULL. Sets *running to whether the
 * container was running; a container that is not gives Docker's shape of zeros. */
json_t *container_stats_sample(Engine *e, Container *c, json_t *prev, bool *running);
