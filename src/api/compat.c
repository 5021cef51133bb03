#include "compat.h"

#include <string.h>

void compat_shape_info(json_t *info, int ver)
{
        /* ContainerdCommit/RuncCommit/InitCommit.Expected: omitted since 1.49 */
        static const char *const commits[] = { "ContainerdCommit", "RuncCommit", "InitCommit" };
        for (size_t i = 0; ver < 49 && i < sizeof(commits) / sizeof(commits[0]); i++) {
                json_t *c = json_object_get(info, commits[i]);
                json_object_set(c, "Expected", json_object_get(c, "ID"));
        }
}

void compat_shape_df(json_t *df, int ver)
{
        size_t i;
        json_t *img;
        /* Images in df always count their containers; only VirtualSize (gone in 1.44) differs. */
        json_array_foreach(json_object_get(df, "Images"), i, img) if (ver < 44)
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
}

void compat_shape_image_summary(json_t *img, int ver)
{
        /* VirtualSize was dropped from image lists in 1.44. */
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
        /* Containers counts users since 1.51; it was always -1 before. */
        if (ver < 51)
                json_object_set_new(img, "Containers", json_integer(-1));
        /* Before 1.43 untagged images listed "<none>:<none>" / "<none>@<none>",
         * and an empty RepoDigests or Labels was null. */
        if (ver < 43) {
                json_t *tags = json_object_get(img, "RepoTags"), *digests = json_object_get(img, "RepoDigests");
                if (json_array_size(tags) == 0 && json_array_size(digests) == 0) {
                        json_object_set_new(img, "RepoTags", json_pack("[s]", "<none>:<none>"));
                        json_object_set_new(img, "RepoDigests", json_pack("[s]", "<none>@<none>"));
                } else if (json_array_size(digests) == 0) {
                        json_object_set_new(img, "RepoDigests", json_null());
                }
                if (json_object_size(json_object_get(img, "Labels")) == 0)
                        json_object_set_new(img, "Labels", json_null());
        }
}

void compat_shape_image_inspect(json_t *img, int ver)
{
        if (ver < 44 && !json_object_get(img, "VirtualSize"))
                json_object_set(img, "VirtualSize", json_object_get(img, "Size"));
        if (ver >= 44)
                json_object_del(img, "VirtualSize");
        /* Container and ContainerConfig left the response in 1.45. */
        if (ver >= 45) {
                json_object_del(img, "Container");
                json_object_del(img, "ContainerConfig");
        }
        json_t *cfg = json_object_get(img, "Config");
        /* 1.52 omits empty Parent/Comment/DockerVersion/Author and unset Config fields. */
        if (ver < 52) {
                static const char *const top[] = { "Parent", "Comment", "DockerVersion", "Author" };
                for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
                        if (!json_object_get(img, top[i]))
                                json_object_set_new(img, top[i], json_string(""));
                static const char *const strs[] = { "User", "WorkingDir" };
                static const char *const nulls[] = { "Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels" };
                for (size_t i = 0; cfg && i < sizeof(strs) / sizeof(strs[0]); i++)
                        if (!json_object_get(cfg, strs[i]))
                                json_object_set_new(cfg, strs[i], json_string(""));
                for (size_t i = 0; cfg && i < sizeof(nulls) / sizeof(nulls[0]); i++)
                        if (!json_object_get(cfg, nulls[i]))
                                json_object_set_new(cfg, nulls[i], json_null());
        }
        /* Before 1.50 Config carried the container-only fields, always empty. */
        if (ver < 50 && cfg) {
                static const char *const strs[] = { "Hostname", "Domainname", "Image" };
                static const char *const bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                                                     "OpenStdin", "StdinOnce" };
                for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                        if (!json_object_get(cfg, strs[i]))
                                json_object_set_new(cfg, strs[i], json_string(""));
                for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                        if (!json_object_get(cfg, bools[i]))
                                json_object_set_new(cfg, bools[i], json_false());
        }
}

void compat_shape_event(json_t *ev, int ver)
{
        /* The legacy status/id/from (deprecated in 1.22) were sent until 1.52, first in
         * the object, for container and image events only; from is the container's image. */
        if (ver >= 52)
                return;
        const char *type = json_string_value(json_object_get(ev, "Type"));
        if (!type || (strcmp(type, "container") != 0 && strcmp(type, "image") != 0))
                return;
        json_t *actor = json_object_get(ev, "Actor");
        json_t *rest = json_copy(ev);
        json_object_clear(ev);
        json_object_set(ev, "status", json_object_get(rest, "Action"));
        json_object_set(ev, "id", json_object_get(actor, "ID"));
        const char *from = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "image"));
        if (strcmp(type, "container") == 0 && from && *from)
                json_object_set_new(ev, "from", json_string(from));
        json_object_update(ev, rest);
        json_decref(rest);
}

void compat_container_create_body(json_t *body, int ver)
{
        /* Healthcheck.StartInterval came with 1.44; dockerd zeroes it for older clients */
        json_t *hc = json_object_get(body, "Healthcheck");
        if (ver < 44 && json_is_object(hc))
                json_object_del(hc, "StartInterval");
}
