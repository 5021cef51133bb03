/* Router internals exposed for unit tests and the fuzz target
 * (tests/fuzz/fuzz-request.c). Not for handlers: they use api.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "basic/error.h"

/* Every route table, in the order api_dispatch tries them; NULL-terminated. */
extern const ApiRoute *const api_route_tables[];

/* Matches path against a route pattern ("{x}" one segment, "{x*}" greedy),
 * appending strdup'ed captures to caps (room for 4); caller frees them. */
bool api_route_match(const char *pattern, const char *path, char **caps, int *ncaps);
/* "/v1.41/x" -> ver 41, rest "/x"; unversioned paths get API_VERSION_MAX;
 * majors other than 1 give 0 (too old) or 1000 (too new). */
int api_split_version(const char *url, int *ver, const char **rest, bool *bad_format);
/* The body decoding behind api_body_json: whitespace-only -> NULL and 0,
 * otherwise a JSON object or -EINVAL with a message. */
int api_parse_json_object(const char *body, size_t len, json_t **ret, BerthError **err);
/* The filter decoding behind api_query_filters (f may be NULL). */
int api_parse_filters(const char *f, json_t **ret, BerthError **err);
/* The Content-Type test behind api_body_json: "application/json", any case,
 * with or without parameters. */
bool api_content_type_is_json(const char *ct);
