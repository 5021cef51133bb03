/* The Dockerfile builder (docs/build.md): the classic builder's semantics on the engine. A build is
 * prepared (context unpacked, Dockerfile read and parsed, options checked) before anything is
 * streamed, so those errors are plain API errors; it then runs, reporting Docker's progress
 * messages ({"stream":...}, {"aux":{"ID":...}}) through a callback. HTTP-free. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

typedef struct Engine Engine;
typedef struct Build Build;

typedef struct BuildOptions {
        char **tags;            /* t=, repeated */
        const char *dockerfile; /* path in the context; NULL for "Dockerfile" */
        json_t *buildargs;      /* {"NAME": "value" or null} */
        json_t *labels;         /* {"k": "v"} */
        const char *target;
        bool nocache, pull, rm, forcerm, quiet;
        char **cachefrom;
        char **extrahosts;       /* "host:ip" */
        const char *networkmode; /* "", "default", "bridge", "host", "none", a network or "container:x" */
        int64_t shmsize, memory, memswap, cpushares, cpuperiod, cpuquota;
        const char *cpusetcpus;
        json_t *registry_config; /* X-Registry-Config decoded: {"registry": {"username",...}} */
} BuildOptions;

/* One progress message; the callee copies what it keeps. */
typedef void (*BuildOutFn)(void *cls, json_t *msg);

/* Reads the context tar (plain or compressed) from fd into a private directory, finds and parses the
 * Dockerfile, checks the options. Errors: Docker's wording and class (EINVAL for a parse error). */
int build_prepare(Engine *e, int fd, const BuildOptions *o, Build **ret, BerthError **err);
/* Says whether the client has gone: the build then stops (a running step's container is killed). */
typedef bool (*BuildGoneFn)(void *cls);
/* Runs the build. Progress and the result go through out; *ret_id is the final image id. An error
 * after the first message is returned here and the caller reports it in-band. code: the failing
 * RUN's exit status (0 otherwise), Docker's errorDetail.code. */
int build_run(Build *b, BuildOutFn out, BuildGoneFn gone, void *cls, char **ret_id, int *ret_code, BerthError **err);
/* Removes the context directory and what the build still holds. */
void build_free(Build *b);

/* POST /build/prune: removes intermediate images the builder keeps as its cache (untagged, unused by
 * containers and by other images; filters: until, label, label! as for images).
 * {"CachesDeleted":[ids],"SpaceReclaimed":N} */
int build_prune(Engine *e, json_t *filters, json_t **ret, BerthError **err);
