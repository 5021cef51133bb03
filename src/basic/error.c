#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int berr_set(BerthError **err, int code, const char *fmt, ...)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        if (!err)
                return -code;
        berr_free(*err);
        BerthError *e = calloc(1, sizeof(*e));
        if (!e) {
                *err = NULL;
                return -code;
        }
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&e->msg, fmt, ap) < 0)
                e->msg = NULL;
        va_end(ap);
        e->code = code;
        *err = e;
        return -code;
}

int berr_prefix(BerthError **err, const char *fmt, ...)
{
        if (!err || !*err)
                return -EIO;
        char *p = NULL, *n = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&p, fmt, ap) < 0)
                p = NULL;
        va_end(ap);
        if (p && asprintf(&n, "%s: %s", p, (*err)->msg ? (*err)->msg : "") >= 0) {
                free((*err)->msg);
                (*err)->msg = n;
        }
        free(p);
        return -(*err)->code;
}

void berr_free(BerthError *e)
{
        if (!e)
                return;
        free(e->msg);
        free(e);
}

int berr_from_errno(BerthError **err, int r, const char *what)
{
        if (r >= 0)
                return r;
        if (err && *err)
                return -(*err)->code;
        return berr_set(err, -r, "%s: %s", what, strerror(-r));
}
