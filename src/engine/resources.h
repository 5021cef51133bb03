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

/* OOM reporting while the container runs (dockerd's "oom" event at the kill, State.OOMKilled set at
 * once). The exit watcher polls fd beside its monitor connection. */
typedef struct ContainerOomWatch {
        int fd;           /* -1: nothing to watch (no memory controller); the exit still reports it */
        long long kills;  /* the group's OOM kills seen so far */
        int rechecks;     /* the kernel notifies before it counts the kill: a kill under way while the
                           * watch was set up is found by looking again (container_oom_watch_timeout) */
} ContainerOomWatch;
/* The poll timeout for the watch fd: a few short ones just after start, then none (-1). */
int container_oom_watch_timeout(ContainerOomWatch *w);
/* Also reports kills that happened while berthd was down. */
void container_oom_watch_start(Engine *e, Container *c, ContainerOomWatch *w);
/* After w->fd polled readable, or its timeout passed. */
void container_oom_watch_event(Engine *e, Container *c, ContainerOomWatch *w);
void container_oom_watch_stop(ContainerOomWatch *w);
