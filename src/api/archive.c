/* /containers/{id}/archive: HEAD (stat), GET (tar of a path), PUT (extract a tar). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>


#include "api.h"
#include "basic/json-util.h"
#include "basic/base64.h"
#include "basic/util.h"
#include "engine/archive-path.h"
#include "engine/archive.h"

/* X-Docker-Container-Path-Stat: base64 of Docker's ContainerPathStat JSON. */
static void add_stat_header(ApiRequest *ar, const ArchivePathStat *s)
{
        _cleanup_free_ char *mtime = archive_rfc3339nano(s->mtime_sec, s->mtime_nsec);
        _cleanup_json_ json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", s->name, "size", (json_int_t) s->size,
                                             "mode", (json_int_t) s->mode, "mtime", mtime, "linkTarget",
                                             s->link_target);
        _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!txt)
                return;
        _cleanup_free_ char *b64 = base64_encode(txt, strlen(txt));
        http_add_header(ar->http, "X-Docker-Container-Path-Stat", b64);
}

static void archive_head(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        ArchivePathStat st;
        if (container_archive_stat(ar->engine, ar->params[0], api_query(ar, "path"), &st, &err) < 0)
                return api_reply_error(ar, err);
        add_stat_header(ar, &st);
        archive_path_stat_done(&st);
        api_reply_empty(ar, 200);
}

static int stream_write(void *cls, const void *buf, size_t len)
{
        return http_stream_write(cls, buf, len);
}

static void archive_stream(HttpStream *s, void *p)
{
        _cleanup_berr_ BerthError *err = NULL;
        /* After the first byte an error can only end the transfer as failed. */
        if (container_archive_write(p, stream_write, s, &err) < 0)
                http_stream_abort(s);
}

static void archive_stream_free(void *p)
{
        container_archive_free(p);
}

static void archive_get(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        ArchivePathStat st;
        ContainerArchive *a = NULL;
        if (container_archive_open(ar->engine, ar->params[0], api_query(ar, "path"), &a, &st, &err) < 0)
                return api_reply_error(ar, err);
        add_stat_header(ar, &st);
        archive_path_stat_done(&st);
        http_respond_stream(ar->http, 200, "application/x-tar", archive_stream, a, archive_stream_free);
}

static void archive_put(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        const char *path = api_query(ar, "path");
        if (!path || !*path)
                return api_reply_errorf(ar, EINVAL, "bad parameter: pathcannot be empty");
        _cleanup_close_ int fd = http_body_fd(ar->http);
        if (fd < 0)
                return api_reply_errorf(ar, EIO, "cannot read request body");
        ArchiveExtractOptions o = {
                .no_overwrite_dir_non_dir = api_query_bool(ar, "noOverwriteDirNonDir", false),
                .copy_uid_gid = api_query_bool(ar, "copyUIDGID", false),
        };
        if (container_archive_extract(ar->engine, ar->params[0], path, fd, &o, &err) < 0)
                return api_reply_error(ar, err);
        api_reply_empty(ar, 200);
}

/* The old copy endpoint, gone from API 1.24 on as in Docker. */
static void copy_post(ApiRequest *ar)
{
        _cleanup_berr_ BerthError *err = NULL;
        if (ar->ver >= 24)
                return api_reply_errorf(ar, ENOENT, "page not found");
        _cleanup_json_ json_t *body = NULL;
        if (api_body_json(ar, &body, &err) < 0)
                return api_reply_error(ar, err);
        ContainerArchive *a = NULL;
        if (container_archive_copy_open(ar->engine, ar->params[0], json_str(body, "Resource"), &a, &err) < 0)
                return api_reply_error(ar, err);
        http_respond_stream(ar->http, 200, "application/x-tar", archive_stream, a, archive_stream_free);
}

const ApiRoute api_routes_archive[] = {
        { "POST", "/containers/{id}/copy", copy_post },
        { "HEAD", "/containers/{id}/archive", archive_head },
        { "GET", "/containers/{id}/archive", archive_get },
        { "PUT", "/containers/{id}/archive", archive_put, API_UPLOAD_BODY_MAX },
        { NULL },
};
