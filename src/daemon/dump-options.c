/* Prints berthd's option table (daemon/config.c) as JSON for scripts/gen-man,
 * so berthd(8) and daemon.json(5) come from the table berthd parses with. */
#include <stdio.h>

#include "basic/json-util.h"
#include "daemon/config.h"

int main(void)
{
        static const char *types[] = { "string", "bool", "uint", "list", "any" };
        json_t *a = json_array();
        for (const DaemonOption *o = daemon_options; o->key || o->flag; o++) {
                json_t *j = json_object();
                char sh[2] = { o->short_flag, 0 };
                json_object_set_new(j, "flag", o->flag ? json_string(o->flag) : json_null());
                json_object_set_new(j, "short", o->short_flag ? json_string(sh) : json_null());
                json_object_set_new(j, "key", (o->flags & DOPT_NOFILE) ? json_null() : json_string(daemon_option_key(o)));
                json_object_set_new(j, "type", json_string(types[o->type]));
                json_object_set_new(j, "arg", o->arg ? json_string(o->arg) : json_null());
                json_object_set_new(j, "default", o->def ? json_string(o->def) : json_null());
                json_object_set_new(j, "help", o->help ? json_string(o->help) : json_null());
                json_object_set_new(j, "reload", json_boolean(o->flags & DOPT_RELOAD));
                json_object_set_new(j, "hidden", json_boolean(o->flags & DOPT_HIDDEN));
                json_object_set_new(j, "fixed", o->fixed ? json_string(o->fixed) : json_null());
                json_object_set_new(j, "unsupported", o->unsupported ? json_string(o->unsupported) : json_null());
                json_array_append_new(a, j);
        }
        json_dumpf(a, stdout, JSON_INDENT(1));
        putchar('\n');
        json_decref(a);
        return 0;
}
