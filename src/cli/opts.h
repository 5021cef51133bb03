/* Pure parsers for run/create flags (unit-tested). */
#pragma once

#include <jansson.h>

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
