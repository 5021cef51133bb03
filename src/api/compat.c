#include "compat.h"

void compat_shape_info(json_t *info, int ver)
{
        (void) info;
        (void) ver;
}

void compat_shape_df(json_t *df, int ver)
{
        (void) df;
        (void) ver;
}

void compat_shape_image_summary(json_t *img, int ver)
{
        /* VirtualSize was dropped from image lists in 1.44. */
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
}

void compat_shape_image_inspect(json_t *img, int ver)
{
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
}
