/* The one table from error class (errno) to HTTP status. */
#include <errno.h>

#include "api.h"

static const struct {
        int code;
        unsigned status;
} status_table[] = {
        { EINVAL, 400 },     /* bad parameter */
        { EBADMSG, 400 },    /* malformed body */
        { ENAMETOOLONG, 400 },
        { EPERM, 403 },
        { EACCES, 403 },
        { ENOENT, 404 },     /* no such object */
        { ENOTSUP, 501 },
        { ENOSYS, 501 },
        { EEXIST, 409 },     /* name in use */
        { EBUSY, 409 },      /* state conflict: running, paused, in use */
        { ENOTCONN, 409 },   /* container not running */
        { EALREADY, 304 },   /* already started or stopped */
        { E2BIG, 413 },      /* body too large */
        { EFBIG, 400 },      /* a layer over the unpacking bounds (--layer-max-ratio, --layer-max-size) */
        { EMSGSIZE, 431 },
        { EUNATCH, 401 },    /* registry authentication required */
        { ETIMEDOUT, 504 },
        { EHOSTUNREACH, 502 },
        { ENETDOWN, 503 },   /* unavailable: not a swarm manager */
};

unsigned api_status_for_errno(int code)
{
        if (code < 0)
                code = -code;
        for (size_t i = 0; i < ELEMENTSOF(status_table); i++)
                if (status_table[i].code == code)
                        return status_table[i].status;
        return 500;
}
