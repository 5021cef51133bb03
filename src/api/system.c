/* System endpoints: /_ping, /version, /info, /system/df. */
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api.h"
#include "api/compat.h"
#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/engine.h"
#include "engine/system.h"

static void ping(ApiRequest *ar)
{
        http_add_header(ar->http, "Cache-Control", "no-cache, no-store, must-revalidate");
        http_add_header(ar->http, "Pragma", "no-cache");
        if (streq(http_method(ar->http), "HEAD"))
                http_respond(ar->http, 200, "text/plain; charset=utf-8", NULL, 0);
        else
                http_respond(ar->http, 200, "text/plain; charset=utf-8", "OK", 2);
}

static void version(ApiRequest *ar)
{
        struct utsname u;
        uname(&u);
        const char *arch = streq(u.machine, "x86_64") ? "amd64" : streq(u.machine, "aarch64") ? "arm64" : u.machine;
        json_t *details = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", API_VERSION_STRING,
                                    "Arch", arch, "BuildTime", BERTH_BUILD_TIME, "Experimental", "false",
                                    "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "", "KernelVersion", u.release,
                                    "MinAPIVersion", API_MIN_VERSION_STRING, "Os", "linux");
        json_t *j = json_pack("{s:{s:s},s:[{s:s,s:s,s:o}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Platform", "Name",
                              "berth", "Components", "Name", "Engine", "Version", BERTH_VERSION, "Details", details,
                              "Version", BERTH_VERSION, "ApiVersion", API_VERSION_STRING, "MinAPIVersion",
                              API_MIN_VERSION_STRING, "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "", "Os", "linux",
                              "Arch", arch, "KernelVersion", u.release, "BuildTime", BERTH_BUILD_TIME);
        api_reply_json(ar, 200, j);
}

static void info(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (engine_info(ar->engine, &j, &err) < 0)
                return api_reply_error(ar, err);
        compat_shape_info(j, ar->ver);
        api_reply_json(ar, 200, j);
}

static void system_df(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        json_t *j = NULL;
        if (engine_disk_usage(ar->engine, &j, &err) < 0)
                return api_reply_error(ar, err);
        compat_shape_df(j, ar->ver);
        api_reply_json(ar, 200, j);
}

const ApiRoute api_routes_system[] = {
        { "GET", "/_ping", ping },
        { "HEAD", "/_ping", ping },
        { "GET", "/version", version },
        { "GET", "/info", info },
        { "GET", "/system/df", system_df },
        { NULL, NULL, NULL },
};
