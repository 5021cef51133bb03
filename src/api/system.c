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

/* The 1.52 per-type usage object (moby daemon/disk_usage.go); items only when verbose. */
static json_t *usage(long long active, long long total, long long reclaimable, long long size, json_t *items,
                     bool verbose)
{
        json_t *u = json_pack("{s:I,s:I,s:I,s:I}", "ActiveCount", (json_int_t) active, "TotalCount",
                              (json_int_t) total, "Reclaimable", (json_int_t) reclaimable, "TotalSize",
                              (json_int_t) size);
        if (verbose)
                json_object_set(u, "Items", items);
        return u;
}

static void system_df(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        _cleanup_json_ json_t *j = NULL;
        if (engine_disk_usage(ar->engine, &j, &err) < 0)
                return api_reply_error(ar, err);
        json_t *containers = api_container_summaries(ar->engine, true);
        json_object_set_new(j, "Containers", containers);
        size_t i;
        json_t *x;
        long long c_active = 0, c_size = 0, c_reclaim = 0;
        json_array_foreach(containers, i, x) {
                const char *st = json_str(x, "State") ?: "";
                long long rw = json_int(x, "SizeRw", 0);
                c_size += rw;
                if (streq(st, "running") || streq(st, "paused") || streq(st, "restarting"))
                        c_active++;
                else
                        c_reclaim += rw;
        }
        long long i_active = 0, i_reclaim = 0;
        json_array_foreach(json_object_get(j, "Images"), i, x) {
                if (json_int(x, "Containers", 0) > 0)
                        i_active++;
                else
                        i_reclaim += json_int(x, "Size", 0) - json_int(x, "SharedSize", 0);
        }
        if (ar->ver >= 52) {
                /* verbose marks a 1.52-aware client: the legacy fields go (dockerd's transition rule) */
                bool verbose = api_query_bool(ar, "verbose", false);
                json_object_set_new(j, "ImageUsage", usage(i_active, json_array_size(json_object_get(j, "Images")),
                                                           i_reclaim, json_int(j, "LayersSize", 0),
                                                           json_object_get(j, "Images"), verbose));
                json_object_set_new(j, "ContainerUsage", usage(c_active, json_array_size(containers), c_reclaim,
                                                               c_size, containers, verbose));
                long long v_active = 0, v_size = 0, v_reclaim = 0;
                json_array_foreach(json_object_get(j, "Volumes"), i, x) {
                        json_t *u = json_object_get(x, "UsageData");
                        v_size += json_int(u, "Size", 0);
                        if (json_int(u, "RefCount", 0) > 0)
                                v_active++;
                        else
                                v_reclaim += json_int(u, "Size", 0);
                }
                json_object_set_new(j, "VolumeUsage", usage(v_active, json_array_size(json_object_get(j, "Volumes")),
                                                            v_reclaim, v_size, json_object_get(j, "Volumes"),
                                                            verbose));
                json_object_set_new(j, "BuildCacheUsage", usage(0, 0, 0, 0, json_object_get(j, "BuildCache"),
                                                                verbose));
                if (verbose) {
                        static const char *const legacy[] = { "LayersSize", "Images", "Containers", "Volumes",
                                                              "BuildCache" };
                        for (size_t k = 0; k < ELEMENTSOF(legacy); k++)
                                json_object_del(j, legacy[k]);
                }
        }
        /* type (1.42+): only the kinds asked for; the others' fields are omitted */
        _cleanup_strv_free_ char **types = ar->ver >= 42 ? http_query_all(ar->http, "type") : NULL;
        if (types) {
                static const char *const kinds[][4] = {
                        { "container", "Containers", "ContainerUsage", NULL },
                        { "image", "Images", "ImageUsage", "LayersSize" },
                        { "volume", "Volumes", "VolumeUsage", NULL },
                        { "build-cache", "BuildCache", "BuildCacheUsage", NULL },
                };
                for (size_t t = 0; types[t]; t++) {
                        bool known = false;
                        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                                known |= streq(types[t], kinds[k][0]);
                        if (!known)
                                return api_reply_errorf(ar, EINVAL, "unknown object type: %s", types[t]);
                }
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                        if (!strv_contains(types, kinds[k][0]))
                                for (size_t f = 1; f < 4 && kinds[k][f]; f++)
                                        json_object_del(j, kinds[k][f]);
        }
        compat_shape_df(j, ar->ver);
        api_reply_json(ar, 200, TAKE_PTR(j));
}

const ApiRoute api_routes_system[] = {
        { "GET", "/_ping", ping },
        { "HEAD", "/_ping", ping },
        { "GET", "/version", version },
        { "GET", "/info", info },
        { "GET", "/system/df", system_df },
        { NULL, NULL, NULL },
};
