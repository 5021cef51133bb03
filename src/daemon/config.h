/* berthd's options: one table for the command line (getopt), daemon.json,
 * --help and the generated man pages; and the pure merging of flags with the
 * configuration file (unit-tested). Values are kept as JSON, keyed by their
 * daemon.json name, until main applies them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"

#define DAEMON_CONFIG_FILE "/etc/berth/daemon.json"

typedef enum { DOPT_STRING, DOPT_BOOL, DOPT_UINT, DOPT_LIST, DOPT_ANY } DaemonOptType;

enum {
        DOPT_RELOAD = 1 << 0, /* SIGHUP applies a new value from the file */
        DOPT_HIDDEN = 1 << 1, /* left out of --help (still in the man page) */
        DOPT_NOFILE = 1 << 2, /* command line only (--config-file, --validate, --help) */
};

typedef struct DaemonOption {
        const char *flag;  /* long flag; NULL: daemon.json only */
        char short_flag;
        const char *key;   /* daemon.json key; NULL: the flag's name */
        DaemonOptType type;
        const char *arg;   /* the value's name in --help ("string", "list") */
        const char *def;   /* the default, as --help shows it; NULL: none */
        const char *help;
        unsigned flags;
        const char *fixed;       /* the only value berth has (live-restore: true); any other is refused */
        const char *unsupported; /* berth lacks the feature: why the key is refused */
} DaemonOption;

extern const DaemonOption daemon_options[];

const DaemonOption *daemon_option_by_key(const char *key);
const char *daemon_option_key(const DaemonOption *o);

/* One command-line value into flags (the JSON of what the command line set):
 * lists accumulate, booleans take "true"/"false"/"1"/"0" or none (true).
 * 0 or -EINVAL with err. */
int daemon_flag_set(json_t *flags, const DaemonOption *o, const char *value, BerthError **err);

/* Parses a daemon.json text: an object whose keys are all known, with values
 * of their type and berth's features. -EINVAL with dockerd's wording in
 * err ("the following directives don't match any configuration option: ..."). */
int daemon_config_parse(const char *text, json_t **ret, BerthError **err);
/* Reads and parses path; a missing file is -ENOENT (the caller decides whether that is fine). */
int daemon_config_load(const char *path, json_t **ret, BerthError **err);

/* flags and file into one object; a key in both is an error with dockerd's
 * wording ("the following directives are specified both as a flag and in the
 * configuration file: ..."). */
int daemon_config_merge(json_t *flags, json_t *file, json_t **ret, BerthError **err);

/* "hosts: [a b]"-style rendering of a value, as dockerd prints it (%v). */
char *daemon_config_value_string(json_t *v);

/* The reloadable keys whose value differs between old and new, as
 * "key: old -> new" strings; NULL when none. */
char **daemon_config_reload_changes(json_t *old_cfg, json_t *new_cfg);
