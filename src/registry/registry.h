/* Registry client (registry v2 / OCI distribution) over libcurl: pull, push,
 * login. HTTP-free towards the API: progress goes through a callback. Each
 * operation has a prepare step (manifest resolution, local checks) whose
 * errors the API turns into real HTTP errors, and a run step that streams. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/error.h"
#include "image/image.h"

typedef struct RegistryAuth {
        char *username;
        char *password;
        char *identitytoken;
        char *serveraddress;
} RegistryAuth;

void registry_auth_clear(RegistryAuth *a);
/* X-Registry-Auth: base64url (or standard base64) of {"username","password","serveraddress",...}.
 * NULL/empty/garbage give empty credentials. */
void registry_auth_from_header(const char *hdr, RegistryAuth *ret);
/* X-Registry-Config (POST /build): base64 of {"registry": {"username",...}, ...}; NULL when absent or bad. */
json_t *registry_config_from_header(const char *hdr);

typedef struct RegistryPull RegistryPull;
void registry_pull_free(RegistryPull *p);
/* ref: "localhost:5000/x:1", "x@sha256:...". Contacts the registry and resolves the manifest (lists and
 * indexes to linux/<arch>). -ENOENT "manifest for X not found: manifest unknown: ..." for a missing tag. */
int registry_pull_prepare(ImageStore *e, const char *ref, const RegistryAuth *auth, RegistryPull **ret, BerthError **err);
/* Fetches config and missing layers (in parallel, each digest verified, resumable), stores the image. */
int registry_pull_run(ImageStore *e, RegistryPull *p, ImageProgressFn progress, void *cls, BerthError **err);

typedef struct RegistryPush RegistryPush;
void registry_push_free(RegistryPush *p);
/* name: repository (may carry a tag); tag: overrides; empty pushes the tag "latest" when none. */
int registry_push_prepare(ImageStore *e, const char *name, const char *tag, const RegistryAuth *auth, RegistryPush **ret,
                          BerthError **err);
int registry_push_run(ImageStore *e, RegistryPush *p, ImageProgressFn progress, void *cls, BerthError **err);

/* GET /distribution/{name}/json: the descriptor (mediaType, digest, size) of what name's tag or digest
 * names on its registry, and the platforms it serves (a list's entries, or a manifest's config). Registry
 * answers 404 -> -ENOENT, 401/403 -> -EUNATCH; an unreachable registry -> -EIO with the transport error. */
int registry_distribution_inspect(ImageStore *e, const char *ref, const RegistryAuth *auth, json_t **ret,
                                  BerthError **err);

/* POST /auth: checks the credentials against the registry. -EACCES (401) when refused. */
int registry_login(ImageStore *e, const RegistryAuth *auth, BerthError **err);
