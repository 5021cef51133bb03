/* Engine-wide facts for /info and /system/df. */
#pragma once

#include <jansson.h>

#include "engine/engine.h"

/* Builds the newest-version /info object. */
int engine_info(Engine *e, json_t **ret, BerthError **err);
int engine_disk_usage(Engine *e, json_t **ret, BerthError **err);
