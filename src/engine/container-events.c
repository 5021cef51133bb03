/* Container events: the journal's entries built from a Container (see container.h). */
#include <pthread.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "engine/container.h"
#include "state/events.h"

static json_t *container_attrs_locked(Container *c, json_t *extra)
{
        json_t *cfg = container_cfg(c);
        json_t *attrs = json_object();
        const char *k;
        json_t *v;
        /* Copies, not shared values: the event goes to other threads after Engine.lock is
         * dropped, and even a refcount bump on the container's config must stay under it. */
        json_object_foreach(json_object_get(cfg, "Labels"), k, v) if (json_is_string(v))
                json_object_set_new(attrs, k, json_string(json_string_value(v)));
        const char *image = json_str(cfg, "Image");
        json_object_set_new(attrs, "image", json_string(image ? image : ""));
        json_object_set_new(attrs, "name", json_string(c->name ? c->name : ""));
        if (extra)
                json_object_update(attrs, extra);
        json_decref(extra);
        return attrs;
}

void events_container_locked(Engine *e, Container *c, const char *action, json_t *extra)
{
        if (!e || !c) {
                json_decref(extra);
                return;
        }
        json_t *attrs = container_attrs_locked(c, extra);
        events_log(e->events, "container", action, c->id, attrs);
}

void events_container(Engine *e, Container *c, const char *action, json_t *extra)
{
        if (!e || !c) {
                json_decref(extra);
                return;
        }
        pthread_mutex_lock(&e->lock);
        json_t *attrs = container_attrs_locked(c, extra);
        pthread_mutex_unlock(&e->lock);
        events_log(e->events, "container", action, c->id, attrs);
}

void events_container_attr(Engine *e, Container *c, const char *action, const char *key, const char *value)
{
        json_t *extra = NULL;
        if (key)
                extra = json_pack("{s:s}", key, value ? value : "");
        events_container(e, c, action, extra);
}

void events_container_kill(Engine *e, Container *c, int sig)
{
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", sig);
        events_container_attr(e, c, "kill", "signal", buf);
}
