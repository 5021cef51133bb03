/* The image's Config merged into a container's (moby's merge rules). */
#pragma once

#include <jansson.h>

/* Env (image variables the user did not set are appended), Labels (the user's win), WorkingDir, User,
 * StopSignal (the image's when the user's is empty), ExposedPorts and Volumes (the image's added). */
void config_merge_image(json_t *uc, json_t *ic);
/* Entrypoint and Cmd: an empty user Entrypoint takes the image's Cmd when the user gave none, a nil one
 * the image's Entrypoint too; then [""] (docker run --entrypoint "") means no entrypoint. */
void config_merge_command(json_t *uc, json_t *ic);
