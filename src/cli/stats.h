/* The figures `berth stats` shows, from the daemon's stats JSON, computed as the docker CLI does. */
#pragma once

#include <jansson.h>

/* One table row {"ID","Name","Container","CPUPerc","MemUsage","MemPerc","NetIO","BlockIO","PIDs"} from a
 * sample and the previous one of the same container (NULL: its own precpu_stats). */
json_t *stats_row(json_t *cur, json_t *prev, const char *container, bool no_trunc);
/* docker's units.BytesSize ("188KiB") and HumanSizeWithPrecision(x, 3) ("1.49kB"); caller frees. */
char *stats_bytes_size(double v);
char *stats_human_size(double v);
