/* Legacy container links (`--link name:alias`, default bridge). HTTP-free.
 *
 * HostConfig.Links is stored the way dockerd reports it, "/<target>:/<this>/<alias>",
 * and names the target by its name. At start the target must be running; the
 * linking container gets <ALIAS>_* environment variables (formats.md §6) and a
 * hosts line "<ip>\t<alias> <short id> <name>". When a linked container starts
 * again (possibly with a new address) the hosts files of the running containers
 * that link to it are rewritten in place (they are bind mounts). */
#pragma once

#include <jansson.h>

#include "basic/error.h"

typedef struct Engine Engine;
typedef struct Container Container;

/* At create, with e->lock held and c->name set: resolves every "name[:alias]"
 * and rewrites HostConfig.Links into the stored form. -EINVAL with dockerd's
 * "could not get container for X: No such container: X". */
int links_normalize_locked(Engine *e, Container *c, BerthError **err);
/* At start, after the network wrote hosts: checks the targets run (dockerd's
 * "Cannot link to a non running container: /web AS /this/alias") and appends
 * their hosts lines. Call without e->lock. */
int links_prepare(Engine *e, Container *c, BerthError **err);
/* Appends the link environment variables to env (an array of "K=V"). Call without e->lock. */
void links_env(Engine *e, Container *c, json_t *env);
/* After c started: refreshes the hosts entries of running containers linking to c. */
void links_update_parents(Engine *e, Container *c);
/* DELETE /containers/<parent>/<alias>?link=1: removes that link from parent. */
int links_remove(Engine *e, const char *parent, const char *alias, BerthError **err);
