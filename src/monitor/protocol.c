/* monitor.sock request parsing (protocol.h). */
#include "protocol.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/util.h"

ssize_t mon_request_line(const char *buf, size_t len, size_t max)
{
        const char *nl = memchr(buf, '\n', len < max ? len : max);
        if (nl)
                return nl - buf + 1;
        return len >= max ? -1 : 0;
}

static char **strv_of(json_t *o, const char *key)
{
        json_t *a = json_object_get(o, key);
        if (!json_is_array(a))
                return NULL;
        char **l = xcalloc(json_array_size(a) + 1, sizeof(char *));
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(a, i, v)
                if (json_is_string(v))
                        l[n++] = xstrdup(json_string_value(v));
        return l;
}

static char *str_of(json_t *o, const char *key)
{
        const char *s = json_str(o, key);
        return s ? xstrdup(s) : NULL;
}

int mon_request_parse(const char *line, MonRequest *ret, const char **ret_reply)
{
        static const struct {
                const char *name;
                MonOp op;
        } ops[] = {
                { "start", MON_OP_START },   { "attach", MON_OP_ATTACH },           { "resize", MON_OP_RESIZE },
                { "exec", MON_OP_EXEC },     { "exec-resize", MON_OP_EXEC_RESIZE }, { "wait", MON_OP_WAIT },
                { "state", MON_OP_STATE },
        };
        *ret = (MonRequest){ 0 };
        _cleanup_json_ json_t *req = json_loads(line, 0, NULL);
        const char *op = json_is_object(req) ? json_str(req, "op") : NULL;
        if (!op) {
                *ret_reply = "{\"error\":\"bad request\",\"exit_code\":125}\n";
                return -1;
        }
        size_t i;
        for (i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(op, ops[i].name))
                        break;
        if (i == ELEMENTSOF(ops)) {
                *ret_reply = "{\"error\":\"unknown op\",\"exit_code\":125}\n";
                return -1;
        }
        ret->op = ops[i].op;
        ret->in = json_bool(req, "stdin");
        ret->out = json_bool(req, "stdout");
        ret->err = json_bool(req, "stderr");
        ret->tty = json_bool(req, "tty");
        ret->privileged = json_bool(req, "privileged");
        ret->h = json_int(req, "h", 0);
        ret->w = json_int(req, "w", 0);
        ret->pid = json_int(req, "pid", 0);
        if (ret->op == MON_OP_EXEC) {
                ret->args = strv_of(req, "args");
                ret->env = strv_of(req, "env");
                ret->user = str_of(req, "user");
                ret->cwd = str_of(req, "cwd");
        }
        return 0;
}

void mon_request_clear(MonRequest *r)
{
        strv_free(r->args);
        strv_free(r->env);
        free(r->user);
        free(r->cwd);
        *r = (MonRequest){ 0 };
}
