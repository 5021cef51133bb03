/* docker commit, image side: the container's overlay upper dir becomes a
 * layer tar with docker's whiteouts (formats.md §5: a 0/0 character device ->
 * empty regular ".wh.<name>", an opaque directory -> the directory followed by
 * "<dir>/.wh..wh..opq"), which is then stored like any other layer (kept tar,
 * unpacked diff), and a child config of the container's image. */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/util.h"
#include "basic/version.h"
#include "image/image-internal.h"
#include "image/reference.h"

/* sha256 of an empty tar (1024 zero bytes): layer.EmptyLayer in moby */
#define EMPTY_TAR_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

typedef struct TarOut {
        int fd;
        Sha256 *sha;
        bool failed;
} TarOut;

static la_ssize_t tar_out_write(struct archive *a, void *cls, const void *buf, size_t len)
{
        TarOut *t = cls;
        const char *p = buf;
        size_t left = len;
        while (left) {
                ssize_t n = write(t->fd, p, left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        t->failed = true;
                        archive_set_error(a, EIO, "write failed");
                        return -1;
                }
                p += n;
                left -= (size_t) n;
        }
        sha256_update(t->sha, buf, len);
        return (la_ssize_t) len;
}

typedef struct Walk {
        struct archive *out;
        struct archive *disk;
        const char *root;
        BerthError **err;
} Walk;

static int put_entry(Walk *w, const char *full, const char *rel, const struct stat *st)
{
        struct archive_entry *en = archive_entry_new();
        archive_entry_copy_sourcepath(en, full);
        if (archive_read_disk_entry_from_file(w->disk, en, -1, st) != ARCHIVE_OK) {
                archive_entry_free(en);
                return berr_set(w->err, EIO, "cannot read %s: %s", full, archive_error_string(w->disk) ?: "error");
        }
        archive_entry_set_pathname(en, rel);
        archive_entry_xattr_clear(en);
        char cap[256];
        ssize_t cl = lgetxattr(full, "security.capability", cap, sizeof(cap));
        if (cl > 0)
                archive_entry_xattr_add_entry(en, "security.capability", cap, (size_t) cl);
        if (archive_write_header(w->out, en) != ARCHIVE_OK) {
                archive_entry_free(en);
                return berr_set(w->err, EIO, "cannot write the layer tar: %s", archive_error_string(w->out) ?: "error");
        }
        archive_entry_free(en);
        if (S_ISREG(st->st_mode) && st->st_size > 0) {
                _cleanup_close_ int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berr_set(w->err, errno, "cannot open %s: %m", full);
                _cleanup_free_ char *buf = xmalloc(256 * 1024);
                ssize_t n;
                while ((n = read(fd, buf, 256 * 1024)) > 0)
                        if (archive_write_data(w->out, buf, (size_t) n) != n)
                                return berr_set(w->err, EIO, "cannot write the layer tar");
                if (n < 0)
                        return berr_set(w->err, errno, "cannot read %s: %m", full);
        }
        return 0;
}

static int put_empty(Walk *w, const char *rel, mode_t perm)
{
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, rel);
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, perm);
        archive_entry_set_size(en, 0);
        archive_entry_set_mtime(en, 0, 0);
        int k = archive_write_header(w->out, en);
        archive_entry_free(en);
        return k == ARCHIVE_OK ? 0 : berr_set(w->err, EIO, "cannot write the layer tar");
}

static int walk_dir(Walk *w, const char *rel)
{
        _cleanup_free_ char *dpath = *rel ? xasprintf("%s/%s", w->root, rel) : xstrdup(w->root);
        _cleanup_closedir_ DIR *d = opendir(dpath);
        if (!d)
                return berr_set(w->err, errno, "cannot open %s: %m", dpath);
        char **names = dir_names_sorted(d);
        size_t n = strv_length(names);
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *crel = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                _cleanup_free_ char *full = xasprintf("%s/%s", w->root, crel);
                struct stat st;
                if (lstat(full, &st) < 0)
                        continue;
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        _cleanup_free_ char *wh = *rel ? xasprintf("%s/.wh.%s", rel, names[i])
                                                       : xasprintf(".wh.%s", names[i]);
                        r = put_empty(w, wh, 0600);
                        continue;
                }
                if (S_ISSOCK(st.st_mode))
                        continue;
                r = put_entry(w, full, crel, &st);
                if (r < 0 || !S_ISDIR(st.st_mode))
                        continue;
                char v[4];
                ssize_t vl = lgetxattr(full, "trusted.overlay.opaque", v, sizeof(v));
                if (vl == 1 && v[0] == 'y') {
                        _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", crel);
                        r = put_empty(w, opq, 0755);
                        if (r < 0)
                                continue;
                }
                r = walk_dir(w, crel);
        }
        strv_free(names);
        return r;
}

/* Writes the upper dir as a layer tar to fd; returns its diff id. */
static int upper_to_tar(const char *upper, int fd, char diff_id[72], BerthError **err)
{
        TarOut t = { .fd = fd, .sha = sha256_new() };
        struct archive *out = archive_write_new();
        struct archive *disk = archive_read_disk_new();
        archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                                     ARCHIVE_READDISK_NO_FFLAGS);
        archive_read_disk_set_standard_lookup(disk);
        archive_write_set_format_pax_restricted(out);
        archive_write_set_bytes_in_last_block(out, 1);
        int r = 0;
        if (archive_write_open(out, &t, NULL, tar_out_write, NULL) != ARCHIVE_OK)
                r = berr_set(err, EIO, "cannot start the layer tar");
        Walk w = { .out = out, .disk = disk, .root = upper, .err = err };
        if (r == 0 && access(upper, F_OK) == 0) /* never started: no upper dir, an empty layer */
                r = walk_dir(&w, "");
        if (r == 0 && archive_write_close(out) != ARCHIVE_OK)
                r = berr_set(err, EIO, "cannot finish the layer tar");
        archive_write_free(out);
        archive_read_free(disk);
        char hex[65];
        sha256_finish_hex(t.sha, hex);
        snprintf(diff_id, 72, "sha256:%s", hex);
        if (r == 0 && t.failed)
                r = berr_set(err, EIO, "cannot write the layer tar");
        return r;
}

int image_commit(ImageStore *e, const char *parent_id, const char *upper, const ImageCommitOptions *o, char **ret_id,
                 BerthError **err)
{
        int r;
        _cleanup_image_ref_ ImageRef *ref = NULL;
        r = image_ref_parse_target(o->repo, o->tag, "cannot commit to digest reference", &ref, err);
        if (r < 0)
                return r;
        if (!ref && o->tag && *o->tag)
                return berr_set(err, EINVAL, "tag is specified without a repository");

        /* The new container config: the container's, the request's config over it, then the changes. */
        _cleanup_json_ json_t *cc = o->config_exact      ? json_deep_copy(o->config)
                                    : o->container_config ? json_deep_copy(o->container_config)
                                                          : json_object();
        if (!o->config_exact && json_is_object(o->config)) {
                const char *k;
                json_t *v;
                json_object_foreach(o->config, k, v) if (!json_is_null(v)) json_object_set(cc, k, v);
        }
        r = o->config_exact ? 0 : image_apply_changes(cc, o->changes, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *pcfg = NULL;
        _cleanup_strv_free_ char **chains = NULL;
        size_t plen = 0;
        if (parent_id) {
                r = image_saved_layers(e, parent_id, &chains, &pcfg, &plen, NULL, err);
                if (r < 0)
                        return r;
        }
        _cleanup_json_ json_t *parent = pcfg ? json_loadb(pcfg, plen, 0, NULL) : json_object();
        if (!parent)
                return berr_set(err, EIO, "image %s: corrupt config", parent_id);
        size_t nchains = strv_length(chains);
        const char *top = nchains ? chains[nchains - 1] : NULL;

        /* The layer: tar of the upper dir into a temp file, then stored like a pulled layer. */
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", e->data_root);
        mkdir_p(tmpdir, 0700);
        _cleanup_free_ char *tp = xasprintf("%s/tmp/layer-commit-XXXXXX", e->data_root);
        _cleanup_close_ int fd = mkostemp(tp, O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno, "cannot create a temporary file: %m");
        char diff_id[72];
        r = upper_to_tar(upper, fd, diff_id, err);
        bool empty = r == 0 && streq(diff_id, EMPTY_TAR_DIFF_ID);
        char chain[72] = "";
        if (r == 0 && !empty) {
                crash_point("commit-after-tar");
                lseek(fd, 0, SEEK_SET);
                r = image_layer_add(e, top, fd, diff_id, chain, NULL, err);
        }
        unlink(tp);
        if (r == 0)
                crash_point("commit-after-layer"); /* a layer no image uses yet */
        if (r < 0)
                return r;

        int64_t now = now_ns();
        _cleanup_free_ char *created = format_rfc3339(now, true);
        json_t *history = json_object_get(parent, "history");
        history = json_is_array(history) ? json_deep_copy(history) : json_array();
        json_t *h = json_object();
        json_object_set_new(h, "created", json_string(created));
        if (o->author && *o->author)
                json_object_set_new(h, "author", json_string(o->author));
        {
                /* created_by: the container's command line */
                json_t *cmd = json_object_get(o->container_config, "Cmd");
                _cleanup_free_ char *cb = json_strv_join(cmd, " ");
                json_object_set_new(h, "created_by", json_string(cb));
        }
        if (o->comment && *o->comment)
                json_object_set_new(h, "comment", json_string(o->comment));
        if (empty)
                json_object_set_new(h, "empty_layer", json_true());
        json_array_append_new(history, h);
        json_t *rootfs = json_object_get(parent, "rootfs");
        json_t *dids = json_object_get(rootfs, "diff_ids");
        dids = json_is_array(dids) ? json_deep_copy(dids) : json_array();
        if (!empty)
                json_array_append_new(dids, json_string(diff_id));

        /* Top-level keys sorted, as Docker marshals through a map. */
        json_t *fields = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(parent, k, v) json_object_set(fields, k, v);
        json_object_set_new(fields, "architecture", json_string(json_str(parent, "architecture") ?: "amd64"));
        json_object_set_new(fields, "os", json_string(json_str(parent, "os") ?: "linux"));
        if (o->author && *o->author)
                json_object_set_new(fields, "author", json_string(o->author));
        else
                json_object_del(fields, "author");
        if (o->comment && *o->comment)
                json_object_set_new(fields, "comment", json_string(o->comment));
        else
                json_object_del(fields, "comment");
        json_object_set_new(fields, "config", image_ordered_container_config(cc));
        json_object_set_new(fields, "container", json_string(o->container_id ?: ""));
        json_object_set_new(fields, "container_config", image_ordered_container_config(o->container_config));
        json_object_set_new(fields, "created", json_string(created));
        json_object_set_new(fields, "docker_version", json_string(BERTH_VERSION));
        json_object_set_new(fields, "history", history);
        json_object_set_new(fields, "rootfs", json_pack("{s:s,s:o}", "type", "layers", "diff_ids", dids));
        json_object_del(fields, "id");
        json_object_del(fields, "parent");
        _cleanup_free_ char *bytes = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(fields);
        /* JSON_SORT_KEYS sorts nested objects too; re-serialize nested ones in their own order. */
        {
                _cleanup_json_ json_t *sorted = json_loads(bytes, JSON_PRESERVE_ORDER, NULL);
                json_object_set_new(sorted, "config", image_ordered_container_config(cc));
                json_object_set_new(sorted, "container_config", image_ordered_container_config(o->container_config));
                free(bytes);
                bytes = json_dumps(sorted, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
        _cleanup_strv_free_ char **refs = NULL;
        if (ref)
                strv_push(&refs, image_ref_full(ref));
        r = image_add(e, bytes, strlen(bytes), parent_id, refs, ret_id, err);
        if (r < 0 && *chain) {
                char *drop[] = { chain, NULL };
                image_layers_drop_unused(e, drop);
        }
        return r;
}
