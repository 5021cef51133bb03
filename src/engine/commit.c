#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "engine/container.h"
#include "engine/engine.h"

int container_commit(Engine *e, const char *ref, bool pause, ImageCommitOptions *o, char **ret_id, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        bool running = c->status == CSTATUS_RUNNING;
        pthread_mutex_unlock(&e->lock);
        /* Freeze a running container so the upper dir does not change under the tar. */
        bool paused = false;
        if (pause && running) {
                /* Recorded with the pause, so a crash during the commit does not leave the container
                 * frozen for good: the reconciler thaws it. */
                pthread_mutex_lock(&e->lock);
                c->commit_paused = true;
                pthread_mutex_unlock(&e->lock);
                paused = container_pause(e, c->id, true, NULL) == 0;
                if (!paused) {
                        pthread_mutex_lock(&e->lock);
                        c->commit_paused = false;
                        pthread_mutex_unlock(&e->lock);
                }
        }
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        o->container_id = c->id;
        o->container_config = container_cfg(c);
        r = image_commit(e->images, c->image_id, upper, o, ret_id, err);
        if (paused) {
                pthread_mutex_lock(&e->lock);
                c->commit_paused = false;
                pthread_mutex_unlock(&e->lock);
                container_pause(e, c->id, false, NULL);
        }
        return r;
}

/* ---- export ---- */

int container_export_dirs(Engine *e, const char *ref, char ***ret, BerthError **err)
{
        _cleanup_container_ Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **lowers = NULL;
        r = image_layer_dirs(e->images, c->image_id, &lowers, err);
        if (r < 0)
                return r;
        char **dirs = NULL;
        _cleanup_free_ char *dir = container_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        if (access(upper, F_OK) == 0)
                strv_extend(&dirs, upper);
        for (size_t n = strv_length(lowers); n-- > 0;)
                strv_extend(&dirs, lowers[n]);
        *ret = dirs;
        return 0;
}

int container_export_run(Engine *e, char **dirs, int (*fn)(void *, const void *, size_t), void *cls, BerthError **err)
{
        if (!dirs || !dirs[0])
                return berr_set(err, EINVAL, "container has no filesystem");
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", e->cfg.data_root);
        mkdir_p(tmpdir, 0700);
        _cleanup_free_ char *mnt = xasprintf("%s/tmp/export-XXXXXX", e->cfg.data_root);
        if (!mkdtemp(mnt))
                return berr_set(err, errno, "cannot create a temporary directory: %m");
        /* The flattened view: a read-only overlay of upper + layers, mounted in a private mount namespace of a
         * child (unshare), so nothing stays mounted whatever happens to it; a single dir is archived directly. */
        _cleanup_free_ char *lower = NULL;
        for (size_t i = 0; dirs[i]; i++) {
                char *n = xasprintf("%s%s%s", lower ?: "", i ? ":" : "", dirs[i]);
                free(lower);
                lower = n;
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                rmdir(mnt);
                return berr_set(err, errno, "pipe: %m");
        }
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                rmdir(mnt);
                return berr_set(err, errno, "fork: %m");
        }
        if (pid == 0) {
                dup2(p[1], 1);
                int devnull = open("/dev/null", O_RDWR);
                if (devnull >= 0)
                        dup2(devnull, 0);
                if (dirs[1])
                        execl("/usr/bin/unshare", "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                              "mount -t overlay overlay -o ro,lowerdir=\"$1\" \"$2\" || exit 1; "
                              "tar --numeric-owner -C \"$2\" -cf - .",
                              "sh", lower, mnt, (char *) NULL);
                else
                        execl("/bin/tar", "tar", "--numeric-owner", "-C", dirs[0], "-cf", "-", ".", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        _cleanup_free_ char *buf = xmalloc(256 * 1024);
        int r = 0;
        for (;;) {
                ssize_t n = read(p[0], buf, 256 * 1024);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (r == 0 && fn(cls, buf, (size_t) n) < 0) {
                        r = -EPIPE;
                        kill(pid, SIGKILL);
                }
        }
        close(p[0]);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        rmdir(mnt);
        if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                r = berr_set(err, EIO, "export failed (tar exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return r;
}
