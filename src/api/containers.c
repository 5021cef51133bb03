/* Container endpoints. */
#include "api.h"

const ApiRoute api_routes_containers[] = {
        { NULL, NULL, NULL },
};
