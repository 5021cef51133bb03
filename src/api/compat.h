/* Everything that differs between API versions lives in compat.c: handlers
 * build the newest (1.52) shape and call the matching compat_shape_* function,
 * which rewrites it in place for an older client (moby api/docs/CHANGELOG.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

void compat_shape_info(json_t *info, int ver);
void compat_shape_df(json_t *df, int ver);
void compat_shape_image_summary(json_t *img, int ver);
void compat_shape_image_inspect(json_t *img, int ver);
void compat_shape_event(json_t *ev, int ver);
/* A create request of an older client, read as dockerd reads it (fields its version did not have dropped). */
void compat_container_create_body(json_t *body, int ver);
void compat_shape_container_inspect(json_t *c, int ver);
void compat_shape_container_summary(json_t *c, int ver);
void compat_shape_network(json_t *net, int ver, bool list_item);
/* < 1.21: one "network" object summed over the interfaces instead of "networks", no name or id. */
void compat_shape_stats(json_t *stats, int ver);
