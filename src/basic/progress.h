/* Docker's JSON progress messages (pull, push, load, import, build): one builder for every stream. */
#pragma once

#include <jansson.h>
#include <stdint.h>

/* "[=====>    ]  1.2MB/3.4MB", the bar docker's CLI prints as it comes; just the size without a total. */
char *progress_bar(int64_t cur, int64_t total);
/* {"status": status} and, with an id, "progressDetail": {} and "id". A new reference. */
json_t *progress_status(const char *status, const char *id);
/* {"status", "progressDetail": {"current", "total"}, "progress": bar, "id"}. A new reference. */
json_t *progress_bytes(const char *status, const char *id, int64_t cur, int64_t total);
