/* docker save / docker load (formats.md §1). Save writes the moby v25 layout:
 * an OCI image layout (blobs/sha256, index.json, oci-layout) plus the docker
 * manifest.json and repositories, which every docker since 1.10 loads. Layer
 * blobs are the uncompressed tars kept at import/pull/load time, so their
 * sha256 is the diff id by construction (docs/images.md). */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/crashpoint.h"
#include "basic/json-util.h"
#include "basic/sha256.h"
#include "basic/progress.h"
#include "basic/util.h"
#include "image/image-internal.h"
#include "image/reference.h"

#define META_MAX (16 * 1024 * 1024) /* manifest.json, configs */

/* ---- save ---- */

typedef struct SaveItem {
        char *id;
        char **tags; /* familiar "busybox:latest" */
        char **full; /* stored names, parallel to tags */
} SaveItem;

typedef struct SavePlan {
        SaveItem *items;
        size_t n;
} SavePlan;

static void save_plan_free(SavePlan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].id);
                strv_free(p->items[i].tags);
                strv_free(p->items[i].full);
        }
        free(p->items);
        memset(p, 0, sizeof(*p));
}

static SaveItem *plan_item(SavePlan *p, const char *id)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->items[i].id, id))
                        return &p->items[i];
        p->items = realloc(p->items, (p->n + 1) * sizeof(SaveItem));
        SaveItem *it = &p->items[p->n++];
        memset(it, 0, sizeof(*it));
        it->id = strdup(id);
        return it;
}

static void plan_add_tag(SaveItem *it, const char *full)
{
        if (strchr(full, '@') || strv_contains(it->full, full))
                return;
        strv_extend(&it->full, full);
        strv_push(&it->tags, image_ref_familiarize(full));
}

static int plan_names(ImageStore *e, char **names, SavePlan *p, BerthError **err)
{
        for (size_t i = 0; names && names[i]; i++) {
                /* A bare repository name saves every tag of that repository. */
                _cleanup_image_ref_ ImageRef *ref = NULL;
                if (image_ref_parse(names[i], &ref, NULL) == 0 && !ref->tag && !ref->digest) {
                        _cleanup_free_ char *repo = image_ref_name(ref);
                        _cleanup_strv_free_ char **pairs = image_repo_refs(e, repo);
                        for (size_t k = 0; pairs && pairs[k] && pairs[k + 1]; k += 2)
                                plan_add_tag(plan_item(p, pairs[k + 1]), pairs[k]);
                        if (pairs)
                                continue;
                }
                _cleanup_free_ char *id = NULL, *matched = NULL;
                int r = image_resolve_ref(e, names[i], &id, &matched, err);
                if (r < 0)
                        return r;
                SaveItem *it = plan_item(p, id);
                if (matched)
                        plan_add_tag(it, matched); /* by id: RepoTags null */
        }
        return 0;
}

int image_save_check(ImageStore *e, char **names, BerthError **err)
{
        SavePlan p = { 0 };
        int r = plan_names(e, names, &p, err);
        save_plan_free(&p);
        return r;
}

typedef struct Writer {
        struct archive *a;
        ImageWriteFn fn;
        void *cls;
        bool failed;
} Writer;

static la_ssize_t writer_cb(struct archive *a, void *cls, const void *buf, size_t len)
{
        Writer *w = cls;
        if (w->fn(w->cls, buf, len) < 0) {
                w->failed = true;
                archive_set_error(a, EPIPE, "client went away");
                return -1;
        }
        return (la_ssize_t) len;
}

static struct archive_entry *entry_new(const char *name, mode_t type, int64_t size)
{
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, name);
        archive_entry_set_filetype(en, type);
        archive_entry_set_perm(en, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(en, type == AE_IFDIR ? 0 : size);
        archive_entry_set_mtime(en, 0, 0);
        return en;
}

static int put_dir(Writer *w, const char *name)
{
        struct archive_entry *en = entry_new(name, AE_IFDIR, 0);
        int k = archive_write_header(w->a, en);
        archive_entry_free(en);
        return k == ARCHIVE_OK ? 0 : -EIO;
}

static int put_mem(Writer *w, const char *name, const void *data, size_t len)
{
        struct archive_entry *en = entry_new(name, AE_IFREG, (int64_t) len);
        int k = archive_write_header(w->a, en);
        archive_entry_free(en);
        if (k != ARCHIVE_OK)
                return -EIO;
        if (len && archive_write_data(w->a, data, len) != (la_ssize_t) len)
                return -EIO;
        return 0;
}

static int put_file(Writer *w, const char *name, const char *path, BerthError **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno == ENOENT ? EIO : errno,
                                "layer tar %s is not kept (layer stored by an older berth); cannot save it", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return berr_set(err, errno, "cannot stat %s: %m", path);
        struct archive_entry *en = entry_new(name, AE_IFREG, st.st_size);
        int k = archive_write_header(w->a, en);
        archive_entry_free(en);
        if (k != ARCHIVE_OK)
                return berr_set(err, EIO, "cannot write the archive: %s", archive_error_string(w->a) ?: "error");
        /* Heap, not a 256 KiB __thread array: static TLS that large makes every
         * pthread_create with a 256 KiB stack (http stream threads) fail. */
        enum { BUFSZ = 256 * 1024 };
        _cleanup_free_ char *buf = malloc(BUFSZ);
        if (!buf)
                return berr_set(err, ENOMEM, "out of memory");
        for (;;) {
                ssize_t n = read(fd, buf, BUFSZ);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return berr_set(err, errno, "cannot read %s: %m", path);
                if (n == 0)
                        break;
                if (archive_write_data(w->a, buf, (size_t) n) != n)
                        return berr_set(err, EIO, "cannot write the archive: %s",
                                        archive_error_string(w->a) ?: "error");
        }
        return 0;
}

int image_save(ImageStore *e, char **names, ImageWriteFn fn, void *cls, BerthError **err)
{
        SavePlan p = { 0 };
        int r = plan_names(e, names, &p, err);
        if (r < 0) {
                save_plan_free(&p);
                return r;
        }
        Writer w = { .a = archive_write_new(), .fn = fn, .cls = cls };
        archive_write_set_format_ustar(w.a);
        archive_write_set_bytes_in_last_block(w.a, 1);
        json_t *manifest = json_array(), *repos = json_object(), *index = json_array();
        char **written = NULL;
        if (archive_write_open(w.a, &w, NULL, writer_cb, NULL) != ARCHIVE_OK) {
                r = berr_set(err, EIO, "cannot start the archive");
                goto out;
        }
        if (put_dir(&w, "blobs") < 0 || put_dir(&w, "blobs/sha256") < 0) {
                r = berr_set(err, EIO, "cannot write the archive");
                goto out;
        }
        for (size_t i = 0; i < p.n; i++) {
                SaveItem *it = &p.items[i];
                _cleanup_free_ char *cfg = NULL;
                _cleanup_strv_free_ char **chains = NULL;
                size_t cfglen;
                r = image_saved_layers(e, it->id, &chains, &cfg, &cfglen, NULL, err);
                if (r < 0)
                        goto out;
                _cleanup_json_ json_t *cj = json_loadb(cfg, cfglen, 0, NULL);
                json_t *dids = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
                json_t *layers = json_array(), *olayers = json_array();
                json_t *mi = json_object();
                json_array_append_new(manifest, mi);
                const char *top = NULL;
                for (size_t k = 0; chains && chains[k]; k++) {
                        const char *did = json_string_value(json_array_get(dids, k));
                        if (!did) {
                                json_decref(layers);
                                json_decref(olayers);
                                r = berr_set(err, EIO, "image %s: layer list does not match its config", it->id);
                                goto out;
                        }
                        _cleanup_free_ char *tp = image_layer_tar_path(e, chains[k]);
                        _cleanup_free_ char *bn = xasprintf("blobs/sha256/%s", did + 7);
                        struct stat st;
                        if (stat(tp, &st) < 0) {
                                json_decref(layers);
                                json_decref(olayers);
                                r = berr_set(err, EIO, "layer %s of image %s has no kept tar (stored by an older berth); "
                                             "cannot save it", did, it->id);
                                goto out;
                        }
                        if (!strv_contains(written, bn)) {
                                r = put_file(&w, bn, tp, err);
                                if (r < 0) {
                                        json_decref(layers);
                                        json_decref(olayers);
                                        goto out;
                                }
                                strv_extend(&written, bn);
                        }
                        json_array_append_new(layers, json_string(bn));
                        json_array_append_new(olayers, json_pack("{s:s,s:s,s:I}", "mediaType",
                                                                 "application/vnd.oci.image.layer.v1.tar", "digest", did,
                                                                 "size", (json_int_t) st.st_size));
                        top = did + 7;
                }
                const char *hex = it->id + 7;
                _cleanup_free_ char *cn = xasprintf("blobs/sha256/%s", hex);
                if (!strv_contains(written, cn)) {
                        if (put_mem(&w, cn, cfg, cfglen) < 0) {
                                json_decref(layers);
                                json_decref(olayers);
                                r = berr_set(err, EIO, "cannot write the archive");
                                goto out;
                        }
                        strv_extend(&written, cn);
                }
                /* OCI manifest for index.json */
                json_t *om = json_object();
                json_object_set_new(om, "schemaVersion", json_integer(2));
                json_object_set_new(om, "mediaType", json_string("application/vnd.oci.image.manifest.v1+json"));
                json_object_set_new(om, "config", json_pack("{s:s,s:s,s:I}", "mediaType",
                                                            "application/vnd.oci.image.config.v1+json", "digest", it->id,
                                                            "size", (json_int_t) cfglen));
                json_object_set_new(om, "layers", olayers);
                _cleanup_free_ char *omb = json_dumps(om, JSON_COMPACT | JSON_PRESERVE_ORDER);
                json_decref(om);
                char mhex[65];
                sha256_hex(omb, strlen(omb), mhex);
                _cleanup_free_ char *mn = xasprintf("blobs/sha256/%s", mhex);
                _cleanup_free_ char *mdig = xasprintf("sha256:%s", mhex);
                if (!strv_contains(written, mn)) {
                        if (put_mem(&w, mn, omb, strlen(omb)) < 0) {
                                json_decref(layers);
                                r = berr_set(err, EIO, "cannot write the archive");
                                goto out;
                        }
                        strv_extend(&written, mn);
                }
                json_object_set_new(mi, "Config", json_string(cn));
                json_t *rt = json_array();
                for (size_t k = 0; it->tags && it->tags[k]; k++) {
                        json_array_append_new(rt, json_string(it->tags[k]));
                        _cleanup_image_ref_ ImageRef *ref = NULL;
                        if (image_ref_parse(it->full[k], &ref, NULL) < 0)
                                continue;
                        _cleanup_free_ char *fname = image_ref_familiar_name(ref);
                        json_t *ro = json_object_get(repos, fname);
                        if (!ro) {
                                ro = json_object();
                                json_object_set_new(repos, fname, ro);
                        }
                        if (top)
                                json_object_set_new(ro, ref->tag ? ref->tag : "latest", json_string(top));
                        json_array_append_new(index, json_pack("{s:s,s:s,s:I,s:{s:s,s:s}}", "mediaType",
                                                               "application/vnd.oci.image.manifest.v1+json", "digest",
                                                               mdig, "size", (json_int_t) strlen(omb), "annotations",
                                                               "io.containerd.image.name", it->full[k],
                                                               "org.opencontainers.image.ref.name",
                                                               ref->tag ? ref->tag : "latest"));
                }
                if (!it->tags)
                        json_array_append_new(index, json_pack("{s:s,s:s,s:I}", "mediaType",
                                                               "application/vnd.oci.image.manifest.v1+json", "digest",
                                                               mdig, "size", (json_int_t) strlen(omb)));
                json_object_set_new(mi, "RepoTags", json_array_size(rt) ? rt : json_null());
                if (!json_array_size(rt))
                        json_decref(rt);
                json_object_set_new(mi, "Layers", layers);
        }
        {
                json_t *ix = json_object();
                json_object_set_new(ix, "schemaVersion", json_integer(2));
                json_object_set_new(ix, "mediaType", json_string("application/vnd.oci.image.index.v1+json"));
                json_object_set(ix, "manifests", index);
                _cleanup_free_ char *ib = json_dumps(ix, JSON_COMPACT | JSON_PRESERVE_ORDER);
                json_decref(ix);
                _cleanup_free_ char *mb = json_dumps(manifest, JSON_COMPACT | JSON_PRESERVE_ORDER);
                _cleanup_free_ char *rb = json_dumps(repos, JSON_COMPACT | JSON_PRESERVE_ORDER);
                static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
                if (put_mem(&w, "index.json", ib, strlen(ib)) < 0 || put_mem(&w, "manifest.json", mb, strlen(mb)) < 0 ||
                    put_mem(&w, "oci-layout", layout, strlen(layout)) < 0 ||
                    (json_object_size(repos) && put_mem(&w, "repositories", rb, strlen(rb)) < 0)) {
                        r = berr_set(err, EIO, "cannot write the archive");
                        goto out;
                }
        }
        if (archive_write_close(w.a) != ARCHIVE_OK) {
                r = berr_set(err, EIO, "cannot finish the archive");
                goto out;
        }
        r = 0;
out:
        archive_write_free(w.a);
        json_decref(manifest);
        json_decref(repos);
        json_decref(index);
        strv_free(written);
        save_plan_free(&p);
        return r;
}

/* ---- load ---- */

/* Extracts the outer archive into dir: directories and regular files only;
 * symbolic and hard links (the legacy format links repeated layers) are
 * remembered as name -> target and resolved lexically, never created. */
typedef ImageArchiveLinks Links;

static int extract_outer(int fd, const char *dir, Links *links, BerthError **err)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        int r = 0;
        if (archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK) {
                r = berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(a) ?: "unreadable");
                goto out;
        }
        bool any = false;
        for (;;) {
                struct archive_entry *en;
                int k = archive_read_next_header(a, &en);
                if (k == ARCHIVE_EOF)
                        break;
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        r = berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(a) ?: "corrupt header");
                        goto out;
                }
                any = true;
                const char *name = archive_entry_pathname(en);
                _cleanup_free_ char *rel = name ? image_tar_clean_path(name) : NULL;
                if (!rel) {
                        r = berr_set(err, EINVAL, "invalid tar entry %s: path escapes the archive", name ?: "(null)");
                        goto out;
                }
                if (!*rel)
                        continue;
                _cleanup_free_ char *full = xasprintf("%s/%s", dir, rel);
                const char *hl = archive_entry_hardlink(en);
                mode_t type = archive_entry_filetype(en);
                if (hl || type == AE_IFLNK) {
                        const char *t = hl ? hl : archive_entry_symlink(en);
                        if (!t) {
                                r = berr_set(err, EINVAL, "invalid tar entry %s", name);
                                goto out;
                        }
                        _cleanup_free_ char *joined = NULL;
                        if (hl || t[0] == '/')
                                joined = strdup(t);
                        else {
                                const char *sl = strrchr(rel, '/');
                                joined = sl ? xasprintf("%.*s/%s", (int) (sl - rel), rel, t) : strdup(t);
                        }
                        char *target = image_tar_clean_path(joined);
                        if (!target) {
                                r = berr_set(err, EINVAL, "invalid tar entry %s: link points outside the archive", name);
                                goto out;
                        }
                        strv_extend(&links->from, rel);
                        strv_push(&links->to, target);
                        continue;
                }
                if (type == AE_IFDIR) {
                        mkdir_p(full, 0700);
                        continue;
                }
                if (type != AE_IFREG)
                        continue; /* devices, fifos: not part of the format */
                _cleanup_free_ char *parent = strdup(full);
                *strrchr(parent, '/') = 0;
                mkdir_p(parent, 0700);
                struct stat st;
                if (lstat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        r = berr_set(err, EINVAL, "invalid tar entry %s", name);
                        goto out;
                }
                unlink(full);
                _cleanup_close_ int ofd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (ofd < 0) {
                        r = berr_set(err, EINVAL, "cannot extract %s: %m", name);
                        goto out;
                }
                if (archive_read_data_into_fd(a, ofd) != ARCHIVE_OK) {
                        r = berr_set(err, EINVAL, "invalid tar archive: %s", archive_error_string(a) ?: "truncated");
                        goto out;
                }
        }
        if (!any)
                r = berr_set(err, EINVAL, "invalid tar archive: empty input");
out:
        archive_read_free(a);
        return r;
}

/* Opens rel inside dir following remembered links (a few hops). */
static int open_in(const char *dir, Links *links, const char *rel0, BerthError **err)
{
        _cleanup_free_ char *rel = image_tar_clean_path(rel0);
        if (!rel || !*rel)
                return berr_set(err, EINVAL, "invalid path in manifest.json: %s", rel0);
        for (int hop = 0; hop < 8; hop++) {
                bool moved = false;
                for (size_t i = 0; links->from && links->from[i]; i++)
                        if (streq(links->from[i], rel)) {
                                free(rel);
                                rel = strdup(links->to[i]);
                                moved = true;
                                break;
                        }
                if (!moved)
                        break;
        }
        _cleanup_free_ char *full = xasprintf("%s/%s", dir, rel);
        int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, EINVAL, "invalid archive: %s is missing", rel0);
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return berr_set(err, EINVAL, "invalid archive: %s is not a file", rel0);
        }
        return fd;
}

static size_t layer_uses(json_t *entries, const char *path)
{
        size_t n = 0, i, k;
        json_t *m, *l;
        json_array_foreach(entries, i, m) json_array_foreach(json_object_get(m, "Layers"), k, l) if (streq(
                json_string_value(l) ?: "", path)) n++;
        return n;
}

static bool is_link_target(Links *links, const char *rel0)
{
        _cleanup_free_ char *rel = image_tar_clean_path(rel0);
        for (size_t i = 0; rel && links->to && links->to[i]; i++)
                if (streq(links->to[i], rel))
                        return true;
        for (size_t i = 0; rel && links->from && links->from[i]; i++)
                if (streq(links->from[i], rel))
                        return true;
        return false;
}

static char *path_in(const char *dir, const char *rel0)
{
        _cleanup_free_ char *rel = image_tar_clean_path(rel0);
        return rel && *rel ? xasprintf("%s/%s", dir, rel) : NULL;
}

static int read_small(const char *dir, Links *links, const char *rel, char **ret, size_t *ret_len, BerthError **err)
{
        _cleanup_close_ int fd = open_in(dir, links, rel, err);
        if (fd < 0)
                return fd;
        struct stat st;
        fstat(fd, &st);
        if (st.st_size > META_MAX)
                return berr_set(err, EINVAL, "invalid archive: %s is too large", rel);
        char *buf = malloc((size_t) st.st_size + 1);
        size_t got = 0;
        while (got < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
                if (n <= 0) {
                        free(buf);
                        return berr_set(err, EIO, "cannot read %s", rel);
                }
                got += (size_t) n;
        }
        buf[got] = 0;
        *ret = buf;
        *ret_len = got;
        return 0;
}

void image_load_plan_clear(ImageLoadPlan *p)
{
        strv_free(p->links.from);
        strv_free(p->links.to);
        strv_free(p->configs);
        json_decref(p->entries);
        *p = (ImageLoadPlan){ 0 };
}

int image_load_prepare(int fd, const char *dir, ImageLoadPlan *p, BerthError **err)
{
        *p = (ImageLoadPlan){ 0 };
        int r = extract_outer(fd, dir, &p->links, err);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *mb = NULL;
                size_t ml;
                r = read_small(dir, &p->links, "manifest.json", &mb, &ml, NULL);
                if (r < 0)
                        return berr_set(err, EINVAL,
                                        "invalid archive: no manifest.json (legacy and OCI-only archives are not supported)");
                json_error_t je;
                p->entries = json_loadb(mb, ml, 0, &je);
                if (!json_is_array(p->entries))
                        return berr_set(err, EINVAL, "invalid manifest.json: %s", p->entries ? "not an array" : je.text);
        }
        /* Check everything before storing anything. */
        size_t i;
        json_t *m;
        json_array_foreach(p->entries, i, m)
        {
                const char *cp = json_str(m, "Config");
                json_t *ls = json_object_get(m, "Layers"), *tags = json_object_get(m, "RepoTags");
                if (!cp || !json_is_array(ls) || (tags && !json_is_array(tags) && !json_is_null(tags)))
                        return berr_set(err, EINVAL, "invalid manifest.json: entry %zu lacks Config or Layers", i);
                char *cfg;
                size_t cl;
                r = read_small(dir, &p->links, cp, &cfg, &cl, err);
                if (r < 0)
                        return r;
                strv_push(&p->configs, cfg);
                _cleanup_json_ json_t *cj = json_loadb(cfg, cl, 0, NULL);
                json_t *dids = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
                if (!json_is_object(cj) || !json_is_array(dids))
                        return berr_set(err, EINVAL, "invalid image config %s", cp);
                if (json_array_size(dids) != json_array_size(ls))
                        return berr_set(err, EINVAL, "invalid manifest, layers length mismatch: expected %zu, got %zu",
                                        json_array_size(dids), json_array_size(ls));
                size_t k;
                json_t *t;
                json_array_foreach(tags, k, t)
                {
                        _cleanup_image_ref_ ImageRef *ref = NULL;
                        if (!json_is_string(t) || image_ref_parse(json_string_value(t), &ref, err) < 0) {
                                r = err && *err ? -(*err)->code : -EINVAL;
                                if (!(err && *err))
                                        r = berr_set(err, EINVAL, "invalid tag in manifest.json");
                                return r;
                        }
                }
                json_array_foreach(ls, k, t)
                {
                        const char *did = json_string_value(json_array_get(dids, k));
                        if (!json_is_string(t) || !did || !image_digest_valid(did))
                                return berr_set(err, EINVAL, "invalid manifest.json: bad layer %zu", k);
                        int lfd = open_in(dir, &p->links, json_string_value(t), err);
                        if (lfd < 0)
                                return lfd;
                        close(lfd);
                }
        }
        return 0;
}

int image_load(ImageStore *e, int fd, bool quiet, ImageProgressFn progress, void *cls, BerthError **err)
{
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", e->data_root);
        mkdir_p(tmpdir, 0700);
        _cleanup_free_ char *dir = xasprintf("%s/tmp/layer-load-XXXXXX", e->data_root);
        if (!mkdtemp(dir))
                return berr_set(err, errno, "cannot create a temporary directory: %m");
        ImageLoadPlan plan;
        char **created = NULL;
        int r = image_load_prepare(fd, dir, &plan, err);
        if (r < 0)
                goto out;
        Links links = plan.links;
        json_t *entries = plan.entries;
        char **configs = plan.configs;
        size_t i;
        json_t *m;
        json_array_foreach(entries, i, m)
        {
                const char *cfg = configs[i];
                _cleanup_json_ json_t *cj = json_loads(cfg, 0, NULL);
                json_t *dids = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
                json_t *ls = json_object_get(m, "Layers");
                char chain[72] = "";
                size_t k;
                json_t *t;
                json_array_foreach(ls, k, t)
                {
                        const char *did = json_string_value(json_array_get(dids, k));
                        char want[72];
                        image_chain_id(k ? chain : NULL, did, want);
                        char sid[13];
                        image_short_id(did, sid);
                        if (image_layer_known(e, want)) {
                                memcpy(chain, want, sizeof(chain));
                                continue;
                        }
                        _cleanup_close_ int lfd = open_in(dir, &links, json_string_value(t), err);
                        if (lfd < 0) {
                                r = lfd;
                                goto out;
                        }
                        struct stat st;
                        fstat(lfd, &st);
                        if (progress && !quiet) {
                                _cleanup_json_ json_t *p = progress_bytes("Loading layer", sid, 0, st.st_size);
                                progress(cls, p);
                        }
                        bool made = false;
                        char got[72];
                        /* The extracted file becomes the kept layer tar when it is the uncompressed tar
                         * (checked after unpacking); a link shared by several layers is copied instead. */
                        _cleanup_free_ char *lp = NULL;
                        if (st.st_nlink == 1 && !is_link_target(&links, json_string_value(t)) &&
                            layer_uses(entries, json_string_value(t)) == 1)
                                lp = path_in(dir, json_string_value(t));
                        r = image_layer_add_file(e, k ? chain : NULL, lfd, lp, did, got, &made, err);
                        if (r < 0)
                                goto out;
                        if (made)
                                strv_extend(&created, got);
                        memcpy(chain, got, sizeof(chain));
                        crash_point("load-after-layer"); /* layers no image uses yet */
                        if (progress && !quiet) {
                                _cleanup_json_ json_t *p = progress_bytes("Loading layer", sid, st.st_size, st.st_size);
                                progress(cls, p);
                        }
                }
                json_t *tags = json_object_get(m, "RepoTags");
                char **refs = NULL;
                json_array_foreach(tags, k, t)
                {
                        _cleanup_image_ref_ ImageRef *ref = NULL;
                        image_ref_parse(json_string_value(t), &ref, NULL);
                        image_ref_default_tag(ref);
                        strv_push(&refs, image_ref_full(ref));
                }
                _cleanup_free_ char *id = NULL;
                r = image_add(e, cfg, strlen(cfg), NULL, refs, &id, err);
                strv_free(refs);
                if (r < 0)
                        goto out;
                if (progress) {
                        if (json_array_size(tags) == 0) {
                                _cleanup_free_ char *s = xasprintf("Loaded image ID: %s\n", id);
                                _cleanup_json_ json_t *p = json_pack("{s:s}", "stream", s);
                                progress(cls, p);
                        }
                        json_array_foreach(tags, k, t)
                        {
                                _cleanup_free_ char *f = image_ref_familiarize(json_string_value(t));
                                _cleanup_image_ref_ ImageRef *ref = NULL;
                                image_ref_parse(json_string_value(t), &ref, NULL);
                                image_ref_default_tag(ref);
                                _cleanup_free_ char *fam = image_ref_familiar(ref);
                                _cleanup_free_ char *s = xasprintf("Loaded image: %s\n", fam);
                                _cleanup_json_ json_t *p = json_pack("{s:s}", "stream", s);
                                progress(cls, p);
                        }
                }
        }
        r = 0;
out:
        if (r < 0 && created)
                image_layers_drop_unused(e, created);
        rm_rf(dir);
        strv_free(created);
        image_load_plan_clear(&plan);
        return r;
}
