/* Resolving a container's User ("name", "uid", "uid:gid", "name:group") through the rootfs's
 * /etc/passwd and /etc/group texts, with runc's (libcontainer/user.GetExecUser) rules. Pure. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "basic/error.h"

typedef struct RtExecUser {
        uid_t uid;
        gid_t gid;
        gid_t *sgids; /* supplementary groups: only for the implicit form (no ":group") */
        size_t n_sgids;
        char *home;
} RtExecUser;

/* passwd/group may be NULL (file missing). On failure returns -errno and fills err (runc's text). */
int rt_user_resolve(const char *spec, const char *passwd, const char *group, RtExecUser *ret, BerthError **err);
void rt_exec_user_done(RtExecUser *u);
/* Adds HostConfig.GroupAdd (names looked up in the group text, or numeric ids) to the
 * supplementary groups. -errno and Docker's text when a name is unknown. */
int rt_user_add_groups(RtExecUser *u, char *const *names, const char *group, BerthError **err);
/* The groups to set: the primary group first, as Docker always lists it, then the
 * supplementary ones without it. Caller frees. */
gid_t *rt_user_groups(const RtExecUser *u, size_t *ret_n);
/* A copy of env with HOME added from the user's entry ("/" without one) when missing. */
char **rt_user_env(char *const *env, const RtExecUser *u);

/* Resolves a command like Go's exec.LookPath inside the current root: a name with a slash is
 * checked as is, otherwise each PATH entry. Returns 0 and the path, or -errno and Docker's text
 * ("exec: \"x\": executable file not found in $PATH"). */
int rt_lookup_path(const char *file, const char *path_env, char **ret, BerthError **err);
