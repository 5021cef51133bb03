/* Image endpoints. */
#include "api.h"

const ApiRoute api_routes_images[] = {
        { NULL, NULL, NULL },
};
