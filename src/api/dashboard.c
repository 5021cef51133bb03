/* The web console's files, and the cross-origin guard of the whole API. */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "basic/macro.h"
#include "basic/util.h"
#include "dashboard.h"

static atomic_bool dashboard_on;

void api_dashboard_enable(bool on)
{
        atomic_store(&dashboard_on, on);
}

static const char *content_type(const char *name)
{
        static const struct {
                const char *ext, *type;
        } types[] = {
                { ".html", "text/html; charset=utf-8" },
                { ".js", "text/javascript; charset=utf-8" },
                { ".css", "text/css; charset=utf-8" },
                { ".svg", "image/svg+xml" },
                { ".png", "image/png" },
        };
        const char *dot = strrchr(name, '.');
        for (size_t i = 0; dot && i < ELEMENTSOF(types); i++)
                if (streq(dot, types[i].ext))
                        return types[i].type;
        return "application/octet-stream";
}

/* The page runs only its own files and reaches only its own origin; it is
 * never framed, never sniffed and never tells another site where it was. */
static void add_security_headers(HttpRequest *req)
{
        http_add_header(req, "Content-Security-Policy",
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'");
        http_add_header(req, "X-Content-Type-Options", "nosniff");
        http_add_header(req, "X-Frame-Options", "DENY");
        http_add_header(req, "Referrer-Policy", "no-referrer");
        http_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
        http_add_header(req, "Cross-Origin-Resource-Policy", "same-origin");
}

bool api_dashboard_serve(HttpRequest *req, const char *url)
{
        if (!atomic_load(&dashboard_on) || !startswith(url, "/dashboard"))
                return false;
        const char *rest = url + strlen("/dashboard");
        if (*rest && *rest != '/')
                return false; /* /dashboardx: an API path, unknown there */
        const char *method = http_method(req);
        add_security_headers(req);
        if (!streq(method, "GET") && !streq(method, "HEAD")) {
                http_add_header(req, "Allow", "GET, HEAD");
                http_respond(req, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
                return true;
        }
        if (!*rest) {
                /* relative, so it works behind any prefix or port */
                http_add_header(req, "Location", "dashboard/");
                http_respond(req, 301, NULL, NULL, 0);
                return true;
        }
        const char *name = rest[1] ? rest + 1 : "index.html";
        for (const DashboardAsset *a = dashboard_assets; a->name; a++) {
                if (!streq(a->name, name))
                        continue;
                /* revalidate every time: a new berthd may bring new files */
                http_add_header(req, "Cache-Control", "no-cache");
                http_add_header(req, "ETag", a->etag);
                const char *inm = http_header(req, "If-None-Match");
                if (inm && strstr(inm, a->etag)) {
                        http_respond(req, 304, NULL, NULL, 0);
                        return true;
                }
                http_respond(req, 200, content_type(a->name), a->data, a->len);
                return true;
        }
        http_respond(req, 404, "text/plain; charset=utf-8", "not found\n", 10);
        return true;
}

/* "127.0.0.1:2375", "[::1]:2375", "localhost": an address no DNS answer can point elsewhere. */
static bool host_is_literal(const char *host)
{
        char buf[64];
        const char *h = host;
        size_t n;
        if (*h == '[') {
                h++;
                n = strcspn(h, "]");
                if (h[n] != ']' || (h[n + 1] && h[n + 1] != ':'))
                        return false;
        } else {
                n = strcspn(h, ":");
        }
        if (n == 0 || n >= sizeof(buf))
                return false;
        memcpy(buf, h, n);
        buf[n] = '\0';
        unsigned char addr[16];
        return !strcasecmp(buf, "localhost") || inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

bool api_origin_allowed(const char *method, const char *origin, const char *host, bool tls)
{
        if (streq(method, "GET") || streq(method, "HEAD") || streq(method, "OPTIONS"))
                return true;
        /* Browsers send Origin on every cross-site and same-site unsafe request;
         * the docker CLI, docker-py and compose never send one. */
        if (!origin)
                return true;
        if (!host || !*host)
                return false;
        const char *scheme = tls ? "https://" : "http://";
        size_t n = strlen(scheme);
        if (strncasecmp(origin, scheme, n) || strcasecmp(origin + n, host))
                return false;
        /* DNS rebinding: a site can point its own name at this daemon and then be "same-origin".
         * Over TLS the certificate does not match its name; over plain http only an address
         * (or localhost) is a name no one else controls. */
        return tls || host_is_literal(host);
}
