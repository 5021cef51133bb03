/* top (ps filtered to the container's cgroup) and changes (the overlay upper dir). */
#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "container.h"
#include "image/image.h"

int container_top(Engine *e, const char *ref, const char *ps_args, json_t **ret, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get_live(e, ref, &c, err);
        if (r < 0)
                return r;
        if (!ps_args || !*ps_args)
                ps_args = "-ef";
        for (const char *p = ps_args; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,.% ", *p))
                        return berr_set(err, EINVAL, "invalid ps arguments: %s", ps_args);
        _cleanup_free_ int *pids = NULL;
        size_t n = 0;
        container_cgroup_pids(c->id, &pids, &n);
        _cleanup_free_ char *cmd = xasprintf("ps %s 2>&1", ps_args);
        FILE *f = popen(cmd, "re");
        if (!f)
                return berr_set(err, EIO, "cannot run ps: %m");
        char *line = NULL;
        size_t cap = 0;
        json_t *titles = json_array(), *procs = json_array();
        ssize_t len;
        int pid_col = -1;
        bool header = true;
        while ((len = getline(&line, &cap, f)) > 0) {
                if (line[len - 1] == '\n')
                        line[--len] = 0;
                if (header) {
                        char *save = NULL;
                        for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                                if (streq(t, "PID"))
                                        pid_col = (int) json_array_size(titles);
                                json_array_append_new(titles, json_string(t));
                        }
                        header = false;
                        if (pid_col < 0)
                                break;
                        continue;
                }
                json_t *row = json_array();
                char *p = line;
                size_t nt = json_array_size(titles);
                for (size_t i = 0; i < nt; i++) {
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (i == nt - 1) {
                                json_array_append_new(row, json_string(p));
                                break;
                        }
                        size_t w = strcspn(p, " \t");
                        json_array_append_new(row, json_stringn(p, w));
                        p += w;
                }
                int pid = atoi(json_string_value(json_array_get(row, (size_t) pid_col)) ?: "0");
                bool mine = false;
                for (size_t i = 0; i < n; i++)
                        if (pids[i] == pid)
                                mine = true;
                if (mine)
                        json_array_append_new(procs, row);
                else
                        json_decref(row);
        }
        free(line);
        pclose(f);
        if (pid_col < 0) {
                json_decref(titles);
                json_decref(procs);
                return berr_set(err, EINVAL, "Couldn't find PID field in ps output");
        }
        *ret = json_pack("{s:o,s:o}", "Processes", procs, "Titles", titles);
        return 0;
}

/* nftw has no user pointer; changes runs under this lock. */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *walk_out;
static size_t walk_prefix;
static char **walk_lowers;

static bool in_lower(const char *rel)
{
        for (size_t i = 0; walk_lowers && walk_lowers[i]; i++) {
                _cleanup_free_ char *p = xasprintf("%s%s", walk_lowers[i], rel);
                struct stat st;
                if (lstat(p, &st) == 0)
                        return true;
        }
        return false;
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        if (ftw->level == 0)
                return 0;
        const char *rel = path + walk_prefix;
        static const char *const skip[] = { "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/.dockerenv" };
        for (size_t i = 0; i < ELEMENTSOF(skip); i++)
                if (streq(rel, skip[i]))
                        return 0;
        int kind;
        if (S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0)
                kind = 2;
        else
                kind = in_lower(rel) ? 0 : 1;
        (void) type;
        json_array_append_new(walk_out, json_pack("{s:s,s:i}", "Path", rel, "Kind", kind));
        return 0;
}

int container_changes(Engine *e, const char *ref, json_t **ret, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **lowers = NULL;
        r = image_layer_dirs(e->images, c->image_id, &lowers, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        json_t *out = json_array();
        pthread_mutex_lock(&walk_lock);
        walk_out = out;
        walk_prefix = strlen(upper);
        walk_lowers = lowers;
        nftw(upper, walk_cb, 16, FTW_PHYS);
        walk_out = NULL;
        walk_lowers = NULL;
        pthread_mutex_unlock(&walk_lock);
        *ret = out;
        return 0;
}
