#include "compat.h"

#include <string.h>

#include "engine/config-fields.h"

void compat_shape_info(json_t *info, int ver)
{
        /* CDISpecDirs came in 1.44. The bridge-nf flags (kept with the host's values for older clients)
         * left in 1.50, the non-distributable artifact lists of RegistryConfig in 1.47. */
        if (ver < 44)
                json_object_del(info, "CDISpecDirs");
        if (ver >= 50) {
                json_object_del(info, "BridgeNfIptables");
                json_object_del(info, "BridgeNfIp6tables");
        }
        if (ver >= 47) {
                json_t *rc = json_object_get(info, "RegistryConfig");
                json_object_del(rc, "AllowNondistributableArtifactsCIDRs");
                json_object_del(rc, "AllowNondistributableArtifactsHostnames");
        }
        /* Kernel memory limits (berth has none): false before 1.42, omitted since when unsupported */
        if (ver < 42) {
                json_object_set_new(info, "KernelMemory", json_false());
                json_object_set_new(info, "KernelMemoryTCP", json_false());
        }
        /* ContainerdCommit/RuncCommit/InitCommit.Expected: omitted since 1.49 */
        static const char *const commits[] = { "ContainerdCommit", "RuncCommit", "InitCommit" };
        for (size_t i = 0; ver < 49 && i < sizeof(commits) / sizeof(commits[0]); i++) {
                json_t *c = json_object_get(info, commits[i]);
                json_object_set(c, "Expected", json_object_get(c, "ID"));
        }
}

void compat_shape_df(json_t *df, int ver)
{
        size_t i;
        json_t *img, *c;
        /* BuilderSize (always 0 since 1.40) was removed in 1.42 */
        if (ver < 42)
                json_object_set_new(df, "BuilderSize", json_integer(0));
        json_array_foreach(json_object_get(df, "Containers"), i, c) compat_shape_container_summary(c, ver);
        /* Images in df always count their containers; only VirtualSize (gone in 1.44) differs. */
        json_array_foreach(json_object_get(df, "Images"), i, img) if (ver < 44)
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
}

void compat_shape_image_summary(json_t *img, int ver)
{
        /* VirtualSize was dropped from image lists in 1.44. */
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
        /* Containers counts users since 1.51; it was always -1 before. */
        if (ver < 51)
                json_object_set_new(img, "Containers", json_integer(-1));
        /* Before 1.43 untagged images listed "<none>:<none>" / "<none>@<none>",
         * and an empty RepoDigests or Labels was null. */
        if (ver < 43) {
                json_t *tags = json_object_get(img, "RepoTags"), *digests = json_object_get(img, "RepoDigests");
                if (json_array_size(tags) == 0 && json_array_size(digests) == 0) {
                        json_object_set_new(img, "RepoTags", json_pack("[s]", "<none>:<none>"));
                        json_object_set_new(img, "RepoDigests", json_pack("[s]", "<none>@<none>"));
                } else if (json_array_size(digests) == 0) {
                        json_object_set_new(img, "RepoDigests", json_null());
                }
                if (json_object_size(json_object_get(img, "Labels")) == 0)
                        json_object_set_new(img, "Labels", json_null());
        }
}

void compat_shape_image_inspect(json_t *img, int ver)
{
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
        /* Container and ContainerConfig left the response in 1.45. */
        if (ver >= 45) {
                json_object_del(img, "Container");
                json_object_del(img, "ContainerConfig");
        }
        json_t *cfg = json_object_get(img, "Config");
        /* 1.52 omits empty Parent/Comment/DockerVersion/Author and unset Config fields. */
        if (ver < 52) {
                static const char *const top[] = { "Parent", "Comment", "DockerVersion", "Author" };
                for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
                        if (!json_object_get(img, top[i]))
                                json_object_set_new(img, top[i], json_string(""));
                static const char *const strs[] = { "User", "WorkingDir" };
                static const char *const nulls[] = { "Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels" };
                for (size_t i = 0; cfg && i < sizeof(strs) / sizeof(strs[0]); i++)
                        if (!json_object_get(cfg, strs[i]))
                                json_object_set_new(cfg, strs[i], json_string(""));
                for (size_t i = 0; cfg && i < sizeof(nulls) / sizeof(nulls[0]); i++)
                        if (!json_object_get(cfg, nulls[i]))
                                json_object_set_new(cfg, nulls[i], json_null());
        }
        /* Before 1.50 Config carried the container-only fields, always empty. */
        if (ver < 50 && cfg) {
                static const char *const strs[] = { "Hostname", "Domainname", "Image" };
                static const char *const bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                                                     "OpenStdin", "StdinOnce" };
                for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                        if (!json_object_get(cfg, strs[i]))
                                json_object_set_new(cfg, strs[i], json_string(""));
                for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                        if (!json_object_get(cfg, bools[i]))
                                json_object_set_new(cfg, bools[i], json_false());
        }
}

void compat_shape_event(json_t *ev, int ver)
{
        /* The legacy status/id/from (deprecated in 1.22) were sent until 1.52, first in
         * the object, for container and image events only; from is the container's image. */
        if (ver >= 52)
                return;
        const char *type = json_string_value(json_object_get(ev, "Type"));
        if (!type || (strcmp(type, "container") != 0 && strcmp(type, "image") != 0))
                return;
        json_t *actor = json_object_get(ev, "Actor");
        json_t *rest = json_copy(ev);
        json_object_clear(ev);
        json_object_set(ev, "status", json_object_get(rest, "Action"));
        json_object_set(ev, "id", json_object_get(actor, "ID"));
        const char *from = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "image"));
        if (strcmp(type, "container") == 0 && from && *from)
                json_object_set_new(ev, "from", json_string(from));
        json_object_update(ev, rest);
        json_decref(rest);
}

void compat_container_create_body(json_t *body, int ver)
{
        /* Healthcheck.StartInterval came with 1.44; dockerd zeroes it for older clients */
        json_t *hc = json_object_get(body, "Healthcheck");
        if (ver < 44 && json_is_object(hc))
                json_object_del(hc, "StartInterval");
        /* HostConfig keys a version no longer has are unknown to its decoder, so ignored, not refused
         * (KernelMemoryTCP from 1.52) */
        json_t *host = json_object_get(body, "HostConfig");
        size_t n;
        const ConfigField *f = config_fields(CONFIG_SECTION_HOST, &n);
        for (size_t i = 0; json_is_object(host) && i < n; i++)
                if (f[i].until && ver >= f[i].until && f[i].refused)
                        json_object_del(host, f[i].key);
}

/* An endpoint of NetworkSettings.Networks: DNSNames came in 1.44, GwPriority in 1.48. */
static void shape_endpoints(json_t *networks, int ver)
{
        const char *name;
        json_t *ep;
        json_object_foreach(networks, name, ep) {
                if (ver < 44)
                        json_object_del(ep, "DNSNames");
                if (ver < 48)
                        json_object_del(ep, "GwPriority");
        }
}

/* Config and mounts as clients before 1.21 (networks) and 1.20 (mount points) read them, in inspect
 * and in list items alike. */
static void shape_legacy_container(json_t *c, int ver)
{
        json_t *cfg = json_object_get(c, "Config"), *hc = json_object_get(c, "HostConfig");
        if (ver < 21 && cfg) {
                /* Before 1.21 (networks) Config still carried these, and there was no Networks. */
                static const char *const keys[] = { "MacAddress", "NetworkDisabled", "ExposedPorts" };
                static const char *const dflts[] = { "\"\"", "false", "null" };
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                        if (!json_object_get(cfg, keys[i]))
                                json_object_set_new(cfg, keys[i], json_loads(dflts[i], JSON_DECODE_ANY, NULL));
                json_t *vd = json_object_get(hc, "VolumeDriver");
                json_object_set_new(cfg, "VolumeDriver", vd ? json_incref(vd) : json_string(""));
                json_object_del(json_object_get(c, "NetworkSettings"), "Networks");
        }
        if (ver < 20 && cfg) {
                /* Before 1.20 (mount points) Config carried the resources, and volumes were two maps. */
                json_object_set(cfg, "Memory", json_object_get(hc, "Memory"));
                json_object_set(cfg, "MemorySwap", json_object_get(hc, "MemorySwap"));
                json_object_set(cfg, "CpuShares", json_object_get(hc, "CpuShares"));
                json_object_set(cfg, "Cpuset", json_object_get(hc, "CpusetCpus"));
                json_t *vols = json_object(), *rw = json_object();
                size_t i;
                json_t *m;
                json_array_foreach(json_object_get(c, "Mounts"), i, m) {
                        const char *dst = json_string_value(json_object_get(m, "Destination"));
                        if (!dst)
                                continue;
                        json_object_set(vols, dst, json_object_get(m, "Source"));
                        json_object_set(rw, dst, json_object_get(m, "RW"));
                }
                json_object_set_new(c, "Volumes", vols);
                json_object_set_new(c, "VolumesRW", rw);
                json_object_del(c, "Mounts");
        }
}

void compat_shape_container_inspect(json_t *c, int ver)
{
        config_fields_shape(json_object_get(c, "HostConfig"), CONFIG_SECTION_HOST, ver);
        config_fields_shape(json_object_get(c, "Config"), CONFIG_SECTION_CONFIG, ver);
        /* The default network's copy at the top of NetworkSettings (deprecated in 1.21) is gone from
         * dockerd's 1.52 answers; berth keeps it at every version, as docker-py's own tests still read
         * NetworkSettings.MacAddress and IPAddress at the newest version. */
        shape_endpoints(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), ver);
        shape_legacy_container(c, ver);
}

void compat_shape_container_summary(json_t *c, int ver)
{
        shape_endpoints(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), ver);
        shape_legacy_container(c, ver);
}

void compat_shape_network(json_t *net, int ver, bool list_item)
{
        /* EnableIPv4 came in 1.48; list items lost Containers (always {} in dockerd's lists) by 1.52 */
        if (ver < 48)
                json_object_del(net, "EnableIPv4");
        if (ver < 52)
                json_object_del(net, "Status"); /* IPAM usage, 1.52 */
        if (list_item && ver >= 52)
                json_object_del(net, "Containers");
}

void compat_shape_stats(json_t *st, int ver)
{
        json_t *nets = json_object_get(st, "networks");
        if (ver >= 21 || !nets)
                return;
        static const char *const keys[] = { "rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                                            "tx_bytes", "tx_packets", "tx_errors", "tx_dropped" };
        json_t *sum = json_object();
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_int_t total = 0;
                const char *k;
                json_t *v;
                json_object_foreach(nets, k, v) total += json_integer_value(json_object_get(v, keys[i]));
                json_object_set_new(sum, keys[i], json_integer(total));
        }
        json_object_set_new(st, "network", sum);
        json_object_del(st, "networks");
        json_object_del(st, "name");
        json_object_del(st, "id");
}
