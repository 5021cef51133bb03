/* The one table of a container's Config and HostConfig keys: each key's JSON type on input, Docker's
 * default as inspect shows it, the API versions that show it, and whether berth implements it.
 *
 * Create type-checks and refuses with it, inspect fills the defaults from it, and api/compat.c drops
 * the keys an API version does not have with it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"

typedef struct ConfigField {
        const char *key;
        int types;             /* JT_* (basic/json-util.h) the decoder accepts; null always passes */
        const char *dflt;      /* Docker's value when unset, as JSON text; NULL: omitted when unset */
        bool refused;          /* not implemented by berth: only the default or an empty value is accepted */
        const char *also;      /* refused keys: one more value that means the default, as JSON text */
        unsigned char since;   /* first API 1.x that has the key (0: all) */
        unsigned char until;   /* first API 1.x that no longer has it (0: none) */
        unsigned char omitempty_since; /* from this 1.x on, omitted while it holds its default (0: never) */
} ConfigField;

typedef enum ConfigSection { CONFIG_SECTION_HOST, CONFIG_SECTION_CONFIG } ConfigSection;

const ConfigField *config_fields(ConfigSection s, size_t *ret_n);
const ConfigField *config_field_find(ConfigSection s, const char *key);

/* Docker's default of one key as a new JSON value (json null when it has none). */
json_t *config_field_default(ConfigSection s, const char *key);

/* The types of obj's keys: a wrongly typed value is Go's unmarshal error naming structname (-EINVAL).
 * Keys the table does not know are left alone, as Go's decoder ignores them. */
int config_fields_check(json_t *obj, ConfigSection s, const char *structname, BerthError **err);

/* A key berth does not implement, set to anything but its default or an empty value: -EINVAL
 * "<section>.<Key> is not supported by berth". */
int config_fields_refuse(json_t *obj, ConfigSection s, const char *section, BerthError **err);

/* A new object: every key of the table in Docker's order, stored values over defaults, then the stored
 * keys the table does not know. Defaults are filled when the object is shown, not when it is stored, so
 * stored configurations stay as the client sent them and old containers show keys added later. */
json_t *config_fields_filled(json_t *stored, ConfigSection s);

/* Drops the keys API 1.ver does not have, and those it omits while they hold their default. */
void config_fields_shape(json_t *obj, ConfigSection s, int ver);
