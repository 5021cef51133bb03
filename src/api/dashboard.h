/* The web console served at /dashboard/ when berthd runs with --dashboard
 * (docs/dashboard.md). Its files are built into the binary (scripts/embed-assets);
 * the page talks only to the Engine API, so it needs no endpoint of its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

typedef struct DashboardAsset {
        const char *name; /* base name: "index.html" */
        const unsigned char *data;
        size_t len;
        const char *etag; /* quoted, from the content's SHA-256 */
} DashboardAsset;

/* Generated from src/api/dashboard/ at build time; ended by a { NULL } entry. */
extern const DashboardAsset dashboard_assets[];

/* Turns the console on; called once by the daemon before it listens. */
void api_dashboard_enable(bool on);
/* Answers a request for /dashboard or below and returns true; false when the
 * console is off or url is not its path, leaving the request to the API. */
bool api_dashboard_serve(HttpRequest *req, const char *url);
/* The Origin check for unsafe methods (docs/dashboard.md): true when a
 * request may proceed, i.e. it has no Origin or one naming its own host,
 * which on plain http must be an IP address or localhost (DNS rebinding). */
bool api_origin_allowed(const char *method, const char *origin, const char *host, bool tls);
