#include "user.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/util.h"

/* A non-negative decimal that fits a uid/gid; -1 when not numeric. */
static long long parse_id(const char *s)
{
        if (!s || !*s)
                return -1;
        long long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                v = v * 10 + (*p - '0');
                if (v > 0x7fffffffLL)
                        return -2;
        }
        return v;
}

/* Splits one colon-separated line into at most n fields (in place). */
static size_t split_fields(char *line, char **f, size_t n)
{
        size_t k = 0;
        f[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = 0;
                        f[k++] = p + 1;
                }
        return k;
}

static char *next_line(char **cursor)
{
        char *s = *cursor;
        if (!s || !*s)
                return NULL;
        char *nl = strchr(s, '\n');
        if (nl) {
                *nl = 0;
                *cursor = nl + 1;
        } else
                *cursor = s + strlen(s);
        return s;
}

int rt_user_resolve(const char *spec, const char *passwd, const char *group, RtExecUser *ret, BerthError **err)
{
        memset(ret, 0, sizeof(*ret));
        _cleanup_free_ char *userarg = strdup(spec ? spec : "");
        if (!userarg)
                return -ENOMEM;
        char *grouparg = strchr(userarg, ':');
        if (grouparg)
                *grouparg++ = 0;
        else
                grouparg = (char *) "";

        long long uidnum = parse_id(userarg);
        long long gidnum = parse_id(grouparg);
        if (uidnum == -2 || gidnum == -2)
                return berr_set(err, EINVAL, "uids and gids must be in range 0-2147483647");
        /* Defaults: root, "/" as home. An empty user means uid 0 looked up in passwd. */
        ret->uid = 0;
        ret->gid = 0;
        _cleanup_free_ char *home = strdup("/");
        _cleanup_free_ char *matched = NULL;
        bool found = false;

        if (passwd) {
                _cleanup_free_ char *copy = strdup(passwd);
                char *cur = copy, *line;
                while (copy && (line = next_line(&cur))) {
                        char *f[7];
                        if (split_fields(line, f, 7) < 7 || line[0] == '#')
                                continue;
                        long long u = parse_id(f[2]), g = parse_id(f[3]);
                        if (u < 0 || g < 0)
                                continue;
                        bool match = *userarg ? (streq(f[0], userarg) || (uidnum >= 0 && u == uidnum)) : u == 0;
                        if (!match)
                                continue;
                        ret->uid = (uid_t) u;
                        ret->gid = (gid_t) g;
                        free(home);
                        home = strdup(f[5]);
                        matched = strdup(f[0]);
                        found = true;
                        break;
                }
        }
        if (!found && *userarg) {
                if (uidnum < 0)
                        return berr_set(err, ENOENT, "unable to find user %s: no matching entries in passwd file",
                                        userarg);
                ret->uid = (uid_t) uidnum;
        }

        if (*grouparg || matched) {
                bool gfound = false;
                _cleanup_free_ char *copy = group ? strdup(group) : NULL;
                char *cur = copy, *line;
                while (copy && (line = next_line(&cur))) {
                        char *f[4];
                        if (split_fields(line, f, 4) < 4 || line[0] == '#')
                                continue;
                        long long g = parse_id(f[2]);
                        if (g < 0)
                                continue;
                        if (*grouparg) {
                                if (streq(f[0], grouparg) || (gidnum >= 0 && g == gidnum)) {
                                        ret->gid = (gid_t) g;
                                        gfound = true;
                                        break;
                                }
                                continue;
                        }
                        /* Implicit form: every group listing the user as a member. */
                        for (char *m = f[3]; m && *m;) {
                                char *comma = strchr(m, ',');
                                size_t len = comma ? (size_t) (comma - m) : strlen(m);
                                while (len > 0 && (m[len - 1] == ' ' || m[len - 1] == '\r'))
                                        len--;
                                if (len == strlen(matched) && strneq(m, matched, len)) {
                                        gid_t *n = realloc(ret->sgids, (ret->n_sgids + 1) * sizeof(gid_t));
                                        if (!n)
                                                return -ENOMEM;
                                        ret->sgids = n;
                                        ret->sgids[ret->n_sgids++] = (gid_t) g;
                                        break;
                                }
                                m = comma ? comma + 1 : NULL;
                        }
                }
                if (*grouparg && !gfound) {
                        if (gidnum < 0) {
                                free(ret->sgids);
                                ret->sgids = NULL;
                                ret->n_sgids = 0;
                                return berr_set(err, ENOENT,
                                                "unable to find group %s: no matching entries in group file", grouparg);
                        }
                        ret->gid = (gid_t) gidnum;
                }
        }
        ret->home = TAKE_PTR(home);
        return 0;
}

void rt_exec_user_done(RtExecUser *u)
{
        free(u->sgids);
        free(u->home);
        u->sgids = NULL;
        u->home = NULL;
}

/* 0 if an executable regular file, else -errno like Go's findExecutable. */
static int find_executable(const char *p)
{
        struct stat st;
        if (stat(p, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
                return -EACCES;
        return 0;
}

int rt_lookup_path(const char *file, const char *path_env, char **ret, BerthError **err)
{
        if (strchr(file, '/')) {
                int r = find_executable(file);
                if (r == 0) {
                        *ret = strdup(file);
                        return *ret ? 0 : -ENOMEM;
                }
                if (r == -EACCES)
                        return berr_set(err, EACCES, "exec: \"%s\": permission denied", file);
                return berr_set(err, -r, "exec: \"%s\": stat %s: %s", file, file, go_strerror(-r));
        }
        if (!path_env)
                path_env = DEFAULT_PATH_ENV;
        _cleanup_free_ char *copy = strdup(path_env);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *dir = copy;; dir = NULL) {
                /* strtok_r would skip empty entries, which mean "." */
                char *d = dir ? dir : save;
                if (!d)
                        break;
                char *colon = strchr(d, ':');
                if (colon) {
                        *colon = 0;
                        save = colon + 1;
                } else
                        save = NULL;
                _cleanup_free_ char *p = xasprintf("%s/%s", *d ? d : ".", file);
                if (find_executable(p) == 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                if (!save)
                        break;
        }
        return berr_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

gid_t *rt_user_groups(const RtExecUser *u, size_t *ret_n)
{
        gid_t *groups = calloc(u->n_sgids + 1, sizeof(gid_t));
        size_t n = 0;
        if (groups) {
                groups[n++] = u->gid;
                for (size_t i = 0; i < u->n_sgids; i++)
                        if (u->sgids[i] != u->gid)
                                groups[n++] = u->sgids[i];
        }
        *ret_n = n;
        return groups;
}

char **rt_user_env(char *const *env, const RtExecUser *u)
{
        char **out = strv_copy(env);
        if (!strv_env_get(out, "HOME"))
                strv_push(&out, xasprintf("HOME=%s", u->home && *u->home ? u->home : "/"));
        return out;
}

int rt_user_add_groups(RtExecUser *u, char *const *names, const char *group, BerthError **err)
{
        for (size_t i = 0; names && names[i]; i++) {
                long long gid = parse_id(names[i]);
                if (gid == -2)
                        return berr_set(err, EINVAL, "uids and gids must be in range 0-2147483647");
                if (gid < 0) {
                        /* a name: looked up in the container's /etc/group, as runc does */
                        _cleanup_free_ char *copy = group ? xstrdup(group) : NULL;
                        char *cur = copy, *line;
                        while (copy && gid < 0 && (line = next_line(&cur))) {
                                char *f[4];
                                if (line[0] == '#' || split_fields(line, f, 4) < 3)
                                        continue;
                                if (streq(f[0], names[i]))
                                        gid = parse_id(f[2]);
                        }
                        if (gid < 0)
                                return berr_set(err, ENOENT,
                                                "Unable to find group %s: no matching entries in group file", names[i]);
                }
                bool have = (gid_t) gid == u->gid;
                for (size_t k = 0; k < u->n_sgids && !have; k++)
                        have = u->sgids[k] == (gid_t) gid;
                if (have)
                        continue;
                u->sgids = xrealloc(u->sgids, (u->n_sgids + 1) * sizeof(gid_t));
                u->sgids[u->n_sgids++] = (gid_t) gid;
        }
        return 0;
}
