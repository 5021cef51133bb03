/* The volume verbs of the API (engine/volumes.c): the volume store (volume/volume.h) plus what
 * only the engine knows, which containers use a volume. HTTP-free; called without e->lock. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "engine/engine.h"

/* body: {"Name","Driver","DriverOpts","Labels"}; *ret is the volume in the API's shape. */
int engine_volume_create(Engine *e, json_t *body, json_t **ret, BerthError **err);
int engine_volume_inspect(Engine *e, const char *name, json_t **ret, BerthError **err);
/* filters: dangling, driver, label, label!, name (validated by the caller). usage: with UsageData. */
int engine_volume_list(Engine *e, json_t *filters, bool usage, json_t **ret, BerthError **err);
/* -EBUSY "remove NAME: volume is in use - [ids]"; force: a missing volume is no error. */
int engine_volume_remove(Engine *e, const char *name, bool force, BerthError **err);
/* Removes unused volumes (only anonymous ones unless all); label and label! filters. */
int engine_volume_prune(Engine *e, json_t *filters, bool all, json_t **ret_deleted, long long *ret_reclaimed,
                        BerthError **err);
