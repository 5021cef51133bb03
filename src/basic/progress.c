#include "progress.h"

#include "json-util.h"
#include "util.h"

char *progress_bar(int64_t cur, int64_t total)
{
        _cleanup_free_ char *a = human_size((double) cur), *b = human_size((double) total);
        if (total <= 0)
                return xasprintf("%s", a);
        enum { WIDTH = 50 };
        int filled = (int) (cur * WIDTH / total);
        if (filled > WIDTH)
                filled = WIDTH;
        char bar[WIDTH + 1];
        for (int i = 0; i < WIDTH; i++)
                bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[WIDTH] = 0;
        return xasprintf("[%s]  %s/%s", bar, a, b);
}

json_t *progress_status(const char *status, const char *id)
{
        json_t *j = json_object();
        json_object_set_new(j, "status", json_string(status));
        if (id) {
                json_object_set_new(j, "progressDetail", json_object());
                json_object_set_new(j, "id", json_string(id));
        }
        return j;
}

json_t *progress_bytes(const char *status, const char *id, int64_t cur, int64_t total)
{
        _cleanup_free_ char *bar = progress_bar(cur, total);
        return json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", status, "progressDetail", "current", (json_int_t) cur,
                         "total", (json_int_t) total, "progress", bar, "id", id);
}
