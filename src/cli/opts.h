/* Pure parsers for run/create flags (unit-tested). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* -e VALUE: "K=V" as is; bare "K" takes the caller's environment value when set. */
char *opts_env_value(const char *v);
/* --env-file: KEY=VALUE lines, '#' comments and blank lines skipped. -errno. */
int opts_env_file(const char *path, char ***env);
/* --restart: "no", "always", "unless-stopped", "on-failure[:N]" -> {"Name":..,"MaximumRetryCount":N}. */
int opts_restart(const char *s, json_t **ret);
/* -p [ip:][hostPort:]containerPort[/proto] into ExposedPorts and PortBindings. */
int opts_publish(const char *s, json_t *exposed, json_t *bindings);
/* -l k=v / k -> labels["k"] = "v" / "". */
void opts_label(json_t *labels, const char *s);
/* A string vector (-e, --link, a command) as a JSON array; NULL as null, the flag's absence. */
json_t *opts_strv_json(char **l);
/* --mount: docker's key=value CSV (type, src, dst, readonly, bind-*, volume-*, tmpfs-*) as a
 * HostConfig.Mounts entry; -EINVAL with docker's text in *ret_err (caller frees). */
int opts_mount(const char *spec, json_t **ret, char **ret_err);
/* Go's strconv.ParseBool, for --flag=value booleans. */
int opts_parse_bool(const char *s, bool *ret);
/* docker's units.RAMInBytes ("64m" -> 67108864). */
int opts_ram_bytes(const char *s, long long *ret);
/* --ulimit name=soft[:hard] -> {"Name","Hard","Soft"}. */
int opts_ulimit(const char *s, json_t **ret);
/* --device host[:container][:rwm] -> {"PathOnHost","PathInContainer","CgroupPermissions"}. */
int opts_device(const char *s, json_t **ret);
/* --device-cgroup-rule "c 1:3 rwm". */
bool opts_device_cgroup_rule(const char *s);
/* --add-host name:ip or name=ip -> "name:ip"; NULL when invalid. */
char *opts_extra_host(const char *s);
/* --cap-add/--cap-drop as docker sends them: normalized (CAP_ prefix, upper case), sorted, null when empty. */
void opts_caps(char **add, char **drop, json_t **ret_add, json_t **ret_drop);
/* --expose port[-port][/proto] into ExposedPorts. */
int opts_expose(const char *s, json_t *exposed);
/* --label-file: non-comment lines. */
int opts_kv_file(const char *path, char ***lines);
