/* Image references, parsed and normalized the way Docker does it
 * (github.com/distribution/reference: ParseNormalizedNamed, FamiliarString):
 * "busybox" -> docker.io/library/busybox:latest. Pure string logic. */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

typedef struct ImageRef {
        char *domain; /* "docker.io", "localhost:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL when absent */
        char *digest; /* "sha256:<hex>", NULL when absent */
} ImageRef;

void image_ref_free(ImageRef *r);
static inline void image_ref_freep(ImageRef **r) { image_ref_free(*r); *r = NULL; }
#define _cleanup_image_ref_ _cleanup_(image_ref_freep)

/* ParseNormalizedNamed: -EINVAL with Docker's text ("invalid reference format",
 * "invalid reference format: repository name (library/Busybox) must be lowercase"). */
int image_ref_parse(const char *s, ImageRef **ret, BerthError **err);
/* Adds tag "latest" when the reference has neither tag nor digest (TagNameOnly). */
void image_ref_default_tag(ImageRef *r);
/* The repo[:tag] an image is stored under (tag, commit, import): repo parsed, tag (when non-empty) over its own,
 * "latest" by default. *ret stays NULL for an empty repo. digest_msg: the EINVAL message for a repo@digest. */
int image_ref_parse_target(const char *repo, const char *tag, const char *digest_msg, ImageRef **ret,
                           BerthError **err);

/* "docker.io/library/busybox" */
char *image_ref_name(const ImageRef *r);
/* Fully qualified: "docker.io/library/busybox:latest", "...@sha256:..." (the stored key). */
char *image_ref_full(const ImageRef *r);
/* Familiar name: "busybox", "localhost:5000/x", "user/repo". */
char *image_ref_familiar_name(const ImageRef *r);
/* Familiar form with tag/digest: "busybox:latest", "localhost:5000/x:1". */
char *image_ref_familiar(const ImageRef *r);
/* Familiar form of a stored (fully qualified) reference string; strdup of s when unparsable. */
char *image_ref_familiarize(const char *full);

bool image_ref_valid_tag(const char *tag);
/* "sha256:<64 hex>" */
bool image_digest_valid(const char *s);
/* Docker's short id: 12 hex characters after "sha256:". */
void image_short_id(const char *id, char out[13]);
