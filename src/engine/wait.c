/* wait: conditions not-running, next-exit and removed. The waiter records the
 * exit counter when the request arrives, so an exit between the request and
 * the start that follows it is never missed. */
#include <string.h>
#include <time.h>

#include "basic/util.h"
#include "container.h"

int container_wait_prepare(Engine *e, const char *ref, const char *condition, ContainerWaiter *w, BerthError **err)
{
        int cond = 0;
        if (!condition || !*condition || streq(condition, "not-running"))
                cond = 0;
        else if (streq(condition, "next-exit"))
                cond = 1;
        else if (streq(condition, "removed"))
                cond = 2;
        else
                return berr_set(err, EINVAL, "invalid condition: \"%s\"", condition);
        Container *c = NULL;
        int r = container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&e->lock);
        w->c = c;
        w->cond = cond;
        w->exit_seq = c->exit_seq;
        pthread_mutex_unlock(&e->lock);
        return 0;
}

static bool done_locked(ContainerWaiter *w)
{
        Container *c = w->c;
        switch (w->cond) {
        case 0:
                /* an exit ends the wait even when a restart policy brings the container back, as in dockerd */
                return c->removed || c->exit_seq != w->exit_seq || (c->status != CSTATUS_RUNNING && c->status != CSTATUS_PAUSED &&
                                      c->status != CSTATUS_RESTARTING && !c->starting);
        case 1:
                return c->removed || c->exit_seq != w->exit_seq;
        default:
                return c->removed;
        }
}

int container_wait_finish(Engine *e, ContainerWaiter *w, bool (*gone)(void *), void *gone_arg, int *ret_code,
                          char **ret_error)
{
        Container *c = w->c;
        int r = 0;
        pthread_mutex_lock(&e->lock);
        while (!done_locked(w)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&c->cond, &e->lock, &ts);
                if (!done_locked(w) && gone && gone(gone_arg)) {
                        r = -ECANCELED;
                        break;
                }
        }
        *ret_code = c->exit_code;
        /* A removal ends the wait without an error: the docker CLI's `run --rm` has
         * already reported a failed start and must not report it twice. */
        if (ret_error)
                *ret_error = w->cond != 2 && c->error && *c->error ? xstrdup(c->error) : NULL;
        pthread_mutex_unlock(&e->lock);
        container_unref(c);
        w->c = NULL;
        return r;
}
