/* The Docker REST layer: routing, version handling, JSON in and out.
 * Handlers translate HTTP to engine calls and engine results to Docker's
 * JSON; they hold no state of their own. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "http/server.h"

typedef struct Engine Engine;

#define API_VERSION_MAX 52
#define API_VERSION_MIN 12
#define API_VERSION_STRING "1.52"
#define API_MIN_VERSION_STRING "1.12"

typedef struct ApiRequest {
        HttpRequest *http;
        Engine *engine;
        int ver;          /* minor API version: 1.41 -> 41 */
        const char *path; /* without the /vX.Y prefix */
        char *params[4];  /* {captures} from the route pattern, in order */
} ApiRequest;

typedef void (*ApiHandler)(ApiRequest *ar);

typedef struct ApiRoute {
        const char *method; /* "*" matches every method */
        /* Segments; "{x}" captures one segment, "{x*}" captures greedily up to
         * the literal suffix that follows (image names contain slashes). */
        const char *pattern;
        ApiHandler handler;
        /* Largest request body; 0 for API_BODY_MAX. Only streamed uploads
         * (image load and import) set more. */
        uint64_t body_max;
} ApiRoute;

#define API_BODY_MAX (16 * 1024 * 1024)
/* Streamed uploads, spooled to the data root: bounded by free space too. */
#define API_UPLOAD_BODY_MAX (64ULL << 30)

/* Each resource file exports its table, ended by a {NULL} entry. */
/* Every container as GET /containers/json?all=1 lists it (with SizeRw and SizeRootFs when size). */
json_t *api_container_summaries(Engine *e, bool size);

extern const ApiRoute api_routes_system[];
extern const ApiRoute api_routes_images[];
extern const ApiRoute api_routes_containers[];
extern const ApiRoute api_routes_archive[]; /* /containers/{id}/archive: docker cp */
extern const ApiRoute api_routes_exec[];
extern const ApiRoute api_routes_events[];
extern const ApiRoute api_routes_links[];
extern const ApiRoute api_routes_networks[];
extern const ApiRoute api_routes_build[];   /* POST /build, /build/prune */
extern const ApiRoute api_routes_volumes[]; /* volumes and the build cache, which berth has none of */
extern const ApiRoute api_routes_swarm[]; /* swarm, nodes, services, tasks, secrets, configs, plugins */

void api_dispatch(HttpRequest *req, void *engine);
/* The HttpBodyLimitFn: the matched route's body_max. */
uint64_t api_body_limit(const char *method, const char *url);

/* ---- responses ---- */
void api_reply_json(ApiRequest *ar, unsigned status, json_t *j); /* steals j */
void api_reply_empty(ApiRequest *ar, unsigned status);
/* {"message": err->msg} with the status from the error class (api/errors.c). */
void api_reply_error(ApiRequest *ar, const BerthError *err);
void api_reply_errorf(ApiRequest *ar, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
unsigned api_status_for_errno(int code);

/* ---- request helpers ---- */
const char *api_query(ApiRequest *ar, const char *key);
/* Docker's boolean parsing (httputils.BoolValue): "", "0", "no", "false", "none", trimmed and in any case, are false. */
bool api_query_bool(ApiRequest *ar, const char *key, bool dflt);
/* Parses an integer query value; -EINVAL with a message when malformed. */
int api_query_int(ApiRequest *ar, const char *key, long long dflt, long long *ret, BerthError **err);
/* Parses the body as a JSON object (empty body -> NULL and 0). */
int api_body_json(ApiRequest *ar, json_t **ret, BerthError **err);
/* Parses filters={"k":["v"]} or {"k":{"v":true}} into a normalized object of arrays. */
int api_query_filters(ApiRequest *ar, json_t **ret, BerthError **err);
