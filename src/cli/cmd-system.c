/* version, info */
#include <ctype.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/format.h"

int cmd_version(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        _cleanup_json_ json_t *server = NULL;
        int st = client_json(cli->client, "GET", "/version", NULL, &server, NULL);
        const char *apiver = cli->client->negotiated ? cli->client->version : CLIENT_MAX_API;
        _cleanup_json_ json_t *client = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Version", "0.1.0",
                                                  "ApiVersion", apiver, "DefaultAPIVersion", CLIENT_MAX_API,
                                                  "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "n/a", "Os", "linux",
                                                  "Arch", go_arch(), "BuildTime", BERTH_BUILD_TIME, "Context",
                                                  "default");
        if (format) {
                _cleanup_json_ json_t *ctx = json_pack("{s:O,s:O}", "Client", client, "Server",
                                                       server ?: json_null());
                int r = cli_format_one(format, "version", "system.versionInfo", ctx);
                return r ?: (st == 200 ? 0 : 1);
        }
        bool downgraded = cli->client->negotiated && !streq(apiver, CLIENT_MAX_API);
        printf("Client:\n %-19s%s\n %-19s%s%s%s%s\n %-19s%s\n %-19s%s\n %-19slinux/%s\n", "Version:", "0.1.0",
               "API version:", apiver, downgraded ? " (downgraded from " : "", downgraded ? CLIENT_MAX_API : "",
               downgraded ? ")" : "", "Git commit:", BERTH_GIT_COMMIT, "Built:", BERTH_BUILD_TIME, "OS/Arch:",
               go_arch());
        if (st < 0)
                return 1;
        if (st != 200 || !server) {
                _cleanup_free_ char *m = NULL;
                fprintf(stderr, "Error response from daemon: unexpected status %d\n", st);
                return 1;
        }
        const char *pname = json_str(json_object_get(server, "Platform"), "Name");
        printf("\nServer:%s%s\n", pname && *pname ? " " : "", pname ? pname : "");
        printf(" Engine:\n  %-18s%s\n  %-18s%s (minimum version %s)\n  %-18s%s\n  %-18s%s\n  %-18s%s\n"
               "  %-18s%s/%s\n  %-18s%s\n",
               "Version:", json_str(server, "Version") ?: "", "API version:", json_str(server, "ApiVersion") ?: "",
               json_str(server, "MinAPIVersion") ?: "", "Go version:", json_str(server, "GoVersion") ?: "",
               "Git commit:", json_str(server, "GitCommit") ?: "", "Built:", json_str(server, "BuildTime") ?: "",
               "OS/Arch:", json_str(server, "Os") ?: "", json_str(server, "Arch") ?: "", "Experimental:",
               json_bool(server, "Experimental") ? "true" : "false");
        size_t i;
        json_t *comp;
        json_array_foreach(json_object_get(server, "Components"), i, comp) {
                const char *name = json_str(comp, "Name");
                if (!name || streq(name, "Engine"))
                        continue;
                printf(" %s:\n  %-18s%s\n", name, "Version:", json_str(comp, "Version") ?: "");
                json_t *det = json_object_get(comp, "Details");
                const char *gc = json_str(det, "GitCommit");
                if (gc)
                        printf("  %-18s%s\n", "GitCommit:", gc);
        }
        return 0;
}

static char *bytes_size(double b)
{
        static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        size_t i = 0;
        while (b >= 1024.0 && i < ELEMENTSOF(units) - 1) {
                b /= 1024.0;
                i++;
        }
        return xasprintf("%.4g%s", b, units[i]);
}

static void kv(const char *indent, const char *k, const char *v)
{
        printf("%s%s: %s\n", indent, k, v ? v : "");
}

static void kvi(const char *indent, const char *k, long long v)
{
        printf("%s%s: %lld\n", indent, k, v);
}

static void print_strings(const char *indent, const char *label, json_t *arr)
{
        printf("%s%s:", indent, label);
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e) printf(" %s", json_string_value(e) ?: "");
        printf("\n");
}

int cmd_info(Cli *cli, int argc, char **argv)
{
        static const CliOption opts[] = {
                { "format", required_argument, NULL, 'f', CLI_HELP_FORMAT },
                CLI_HELP_OPTION,
                {},
        };
        const char *format = NULL;
        int c;
        while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                CLI_OPT_DEFAULT;
                }
        }
        _cleanup_json_ json_t *info = NULL;
        if (cli_get_json(cli, "/info", &info) != 0)
                return 1;
        if (format) {
                /* docker's dockerInfo: the daemon's info with the client's beside it */
                json_object_set_new(info, "ClientInfo",
                                    json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:n}", "Debug",
                                              cli->client->debug, "Version", "0.1.0", "DefaultAPIVersion",
                                              CLIENT_MAX_API, "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "n/a", "Os",
                                              "linux", "Arch", go_arch(), "BuildTime", BERTH_BUILD_TIME, "Context",
                                              "default", "Plugins", "Warnings"));
                return cli_format_one(format, "", "system.dockerInfo", info);
        }

        printf("Client:\n Version:    0.1.0\n Context:    default\n Debug Mode: %s\n\nServer:\n",
               cli->client->debug ? "true" : "false");
        kvi(" ", "Containers", json_int(info, "Containers", 0));
        kvi("  ", "Running", json_int(info, "ContainersRunning", 0));
        kvi("  ", "Paused", json_int(info, "ContainersPaused", 0));
        kvi("  ", "Stopped", json_int(info, "ContainersStopped", 0));
        kvi(" ", "Images", json_int(info, "Images", 0));
        kv(" ", "Server Version", json_str(info, "ServerVersion"));
        kv(" ", "Storage Driver", json_str(info, "Driver"));
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(info, "DriverStatus"), i, e)
                kv("  ", json_string_value(json_array_get(e, 0)) ?: "", json_string_value(json_array_get(e, 1)));
        kv(" ", "Logging Driver", json_str(info, "LoggingDriver"));
        kv(" ", "Cgroup Driver", json_str(info, "CgroupDriver"));
        kv(" ", "Cgroup Version", json_str(info, "CgroupVersion"));
        json_t *plugins = json_object_get(info, "Plugins");
        if (plugins) {
                printf(" Plugins:\n");
                print_strings("  ", "Volume", json_object_get(plugins, "Volume"));
                print_strings("  ", "Network", json_object_get(plugins, "Network"));
                print_strings("  ", "Log", json_object_get(plugins, "Log"));
        }
        json_t *swarm = json_object_get(info, "Swarm");
        kv(" ", "Swarm", json_str(swarm, "LocalNodeState") ?: "inactive");
        json_t *runtimes = json_object_get(info, "Runtimes");
        if (json_is_object(runtimes)) {
                printf(" Runtimes:");
                const char *k;
                json_object_foreach(runtimes, k, e) printf(" %s", k);
                printf("\n");
        }
        kv(" ", "Default Runtime", json_str(info, "DefaultRuntime"));
        kv(" ", "Init Binary", json_str(info, "InitBinary"));
        kv(" ", "containerd version", json_str(json_object_get(info, "ContainerdCommit"), "ID"));
        kv(" ", "runc version", json_str(json_object_get(info, "RuncCommit"), "ID"));
        kv(" ", "init version", json_str(json_object_get(info, "InitCommit"), "ID"));
        json_t *secopts = json_object_get(info, "SecurityOptions");
        if (json_array_size(secopts) > 0) {
                printf(" Security Options:\n");
                json_array_foreach(secopts, i, e) {
                        /* "name=seccomp,profile=default" -> "seccomp" + "Profile: default" */
                        _cleanup_strv_free_ char **parts = NULL;
                        const char *s = json_string_value(e) ?: "";
                        while (*s) {
                                size_t l = strcspn(s, ",");
                                strv_push(&parts, strndup(s, l));
                                s += l;
                                if (*s)
                                        s++;
                        }
                        for (char **p = parts; p && *p; p++) {
                                char *eq = strchr(*p, '=');
                                if (!eq)
                                        continue;
                                *eq = 0;
                                if (streq(*p, "name"))
                                        printf("  %s\n", eq + 1);
                                else {
                                        (*p)[0] = (char) toupper((unsigned char) (*p)[0]);
                                        printf("   %s: %s\n", *p, eq + 1);
                                }
                        }
                }
        }
        kv(" ", "Kernel Version", json_str(info, "KernelVersion"));
        kv(" ", "Operating System", json_str(info, "OperatingSystem"));
        kv(" ", "OSType", json_str(info, "OSType"));
        kv(" ", "Architecture", json_str(info, "Architecture"));
        kvi(" ", "CPUs", json_int(info, "NCPU", 0));
        _cleanup_free_ char *mem = bytes_size((double) json_int(info, "MemTotal", 0));
        kv(" ", "Total Memory", mem);
        kv(" ", "Name", json_str(info, "Name"));
        kv(" ", "ID", json_str(info, "ID"));
        kv(" ", "Docker Root Dir", json_str(info, "DockerRootDir"));
        kv(" ", "Debug Mode", json_bool(info, "Debug") ? "true" : "false");
        kv(" ", "Experimental", json_bool(info, "ExperimentalBuild") ? "true" : "false");
        json_t *cidrs = json_object_get(json_object_get(info, "RegistryConfig"), "InsecureRegistryCIDRs");
        if (json_array_size(cidrs) > 0) {
                printf(" Insecure Registries:\n");
                json_array_foreach(cidrs, i, e) printf("  %s\n", json_string_value(e) ?: "");
        }
        kv(" ", "Live Restore Enabled", json_bool(info, "LiveRestoreEnabled") ? "true" : "false");
        printf("\n");
        json_array_foreach(json_object_get(info, "Warnings"), i, e)
                fprintf(stderr, "%s\n", json_string_value(e) ?: "");
        return 0;
}
