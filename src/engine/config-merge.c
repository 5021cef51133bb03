/* How a container's Config takes in its image's (moby's daemon/commit.go merge and create.go
 * mergeAndVerifyConfig): pure JSON, so tests/unit/test-config-merge.c checks the rules alone. */
#include "config-merge.h"

#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/util.h"

/* Cmd/Entrypoint as Docker's StrSlice decodes them: a plain string (shell form, old clients) is one argv
 * element, null or absent is nil (NULL here), [] stays an empty list. */
static json_t *strv_of(json_t *v)
{
        if (json_is_string(v))
                return json_pack("[O]", v);
        if (json_is_array(v))
                return json_incref(v);
        return NULL;
}

/* Entrypoint and Cmd as dockerd merges them (daemon/commit.go merge, create.go mergeAndVerifyConfig): an
 * empty user Entrypoint takes the image's Cmd when the user gave none, a nil one the image's Entrypoint
 * too; then [""] (docker run --entrypoint "") means no entrypoint. */
void config_merge_command(json_t *uc, json_t *ic)
{
        json_t *uep = strv_of(json_object_get(uc, "Entrypoint"));
        json_t *ucmd = strv_of(json_object_get(uc, "Cmd"));
        if (json_array_size(uep) == 0) {
                if (json_array_size(ucmd) == 0) {
                        json_decref(ucmd);
                        ucmd = strv_of(json_object_get(ic, "Cmd"));
                }
                if (!uep)
                        uep = strv_of(json_object_get(ic, "Entrypoint"));
        }
        const char *ep0 = json_string_value(json_array_get(uep, 0));
        if (json_array_size(uep) == 1 && ep0 && !*ep0) {
                json_decref(uep);
                uep = NULL;
        }
        json_object_set_new(uc, "Entrypoint", uep ? uep : json_null());
        json_object_set_new(uc, "Cmd", ucmd ? ucmd : json_null());
}

static bool str_empty(json_t *o, const char *k)
{
        const char *s = json_str(o, k);
        return !s || !*s;
}

void config_merge_image(json_t *uc, json_t *ic)
{
        if (!json_is_object(ic))
                return;
        /* Env: image vars not overridden by the user are appended. */
        json_t *uenv = json_object_get(uc, "Env");
        json_t *ienv = json_object_get(ic, "Env");
        if (!json_is_array(uenv) || json_array_size(uenv) == 0) {
                json_object_set_new(uc, "Env", json_is_array(ienv) ? json_deep_copy(ienv) : json_array());
        } else if (json_is_array(ienv)) {
                size_t i, j;
                json_t *x, *y;
                json_array_foreach(ienv, i, x) {
                        const char *is = json_string_value(x);
                        if (!is)
                                continue;
                        size_t klen = strcspn(is, "=");
                        bool found = false;
                        json_array_foreach(uenv, j, y) {
                                const char *us = json_string_value(y);
                                if (us && strcspn(us, "=") == klen && strneq(us, is, klen))
                                        found = true;
                        }
                        if (!found)
                                json_array_append(uenv, x);
                }
        }
        /* Labels: user wins. */
        json_t *ul = json_object_get(uc, "Labels");
        json_t *il = json_object_get(ic, "Labels");
        if (!json_is_object(ul)) {
                ul = json_object();
                json_object_set_new(uc, "Labels", ul);
        }
        if (json_is_object(il)) {
                const char *k;
                json_t *v;
                json_object_foreach(il, k, v) if (!json_object_get(ul, k)) json_object_set(ul, k, v);
        }
        const char *keys[] = { "WorkingDir", "User", "StopSignal" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (str_empty(uc, keys[i]) && json_is_string(json_object_get(ic, keys[i])))
                        json_object_set(uc, keys[i], json_object_get(ic, keys[i]));
        json_t *uports = json_object_get(uc, "ExposedPorts");
        json_t *iports = json_object_get(ic, "ExposedPorts");
        if (json_is_object(iports)) {
                if (!json_is_object(uports)) {
                        uports = json_object();
                        json_object_set_new(uc, "ExposedPorts", uports);
                }
                json_object_update_missing(uports, iports);
        }
        /* Volumes: the image's are added to the user's */
        json_t *uvols = json_object_get(uc, "Volumes"), *ivols = json_object_get(ic, "Volumes");
        if (json_is_object(ivols) && json_object_size(ivols)) {
                if (!json_is_object(uvols))
                        json_object_set_new(uc, "Volumes", json_deep_copy(ivols));
                else
                        json_object_update(uvols, ivols);
        }
}

