/* libFuzzer target for what a registry or an image archive hands berth as JSON: the input is one
 * document, read as a manifest list (reg_manifest_is_list, reg_manifest_pick), an image manifest
 * (reg_manifest_layers), an image config checked against those layers (reg_config_chain) and
 * stored (image_config_check, image_ordered_container_config), a registry error body
 * (reg_error_text) and an X-Registry-Auth header (registry_auth_from_header); its lines are also
 * applied as `import/commit --change` instructions (image_apply_changes).
 *   ninja -C build-fuzz tests/fuzz-manifest && build-fuzz/tests/fuzz-manifest tests/fuzz/corpus/manifest */
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "image/image-internal.h"
#include "image/reference.h"
#include "registry/registry-internal.h"
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need_err(int r, BerthError *err)
{
        if (r < 0 && (!err || !err->msg || err->code <= 0))
                abort();
        if (r >= 0 && err)
                abort();
}

static void fuzz_registry(const char *text, size_t size)
{
        _cleanup_json_ json_t *m = json_loadb(text, size, 0, NULL);
        BerthError *err = NULL;
        if (reg_manifest_is_list(m, NULL)) {
                char *dg = NULL;
                int r = reg_manifest_pick(m, "amd64", &dg, &err);
                need_err(r, err);
                if (r >= 0 && !image_digest_valid(dg))
                        abort();
                free(dg);
                berr_free(err);
                err = NULL;
        }
        char *cfgd = NULL;
        Layer *layers = NULL;
        size_t n = 0;
        int r = reg_manifest_layers(m, &cfgd, &layers, &n, &err);
        need_err(r, err);
        berr_free(err);
        err = NULL;
        if (r < 0) {
                /* the document as the config of a manifest with as many layers as it has diff ids */
                n = json_array_size(json_object_get(json_object_get(m, "rootfs"), "diff_ids"));
                layers = xcalloc(n ? n : 1, sizeof(Layer));
        } else if (!image_digest_valid(cfgd)) {
                abort();
        }
        r = reg_config_chain(text, size, layers, n, &err);
        need_err(r, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (!image_digest_valid(layers[i].diff_id) || !image_digest_valid(layers[i].chain))
                        abort();
        berr_free(err);
        reg_layers_free(layers, n);
        free(cfgd);

        Resp resp = { .body = (char *) text, .len = size, .status = 404, .fd = -1 };
        free(reg_error_text(&resp));
}

static void fuzz_config(const char *text, size_t size)
{
        json_t *cfg = NULL;
        int64_t created = -1;
        BerthError *err = NULL;
        int r = image_config_check(text, size, &cfg, &created, &err);
        need_err(r, err);
        berr_free(err);
        if (r < 0)
                return;
        if (!json_is_object(cfg))
                abort();
        json_t *o = image_ordered_container_config(json_object_get(cfg, "config"));
        json_t *o2 = image_ordered_container_config(json_object_get(cfg, "container_config"));
        if (!json_is_object(o) || !json_is_object(o2))
                abort();
        free(json_dumps(o, JSON_COMPACT));
        json_decref(o);
        json_decref(o2);
        json_decref(cfg);
}

/* The header as given, and the document base64url-encoded (the JSON path). */
static void fuzz_auth(const char *text, size_t size)
{
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        RegistryAuth a;
        registry_auth_from_header(text, &a);
        registry_auth_clear(&a);
        char *enc = xmalloc(size / 3 * 4 + 5), *o = enc;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t) (uint8_t) text[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t) (uint8_t) text[i + 1] << 8;
                if (i + 2 < size)
                        v |= (uint8_t) text[i + 2];
                *o++ = b64[v >> 18 & 63];
                *o++ = b64[v >> 12 & 63];
                if (i + 1 < size)
                        *o++ = b64[v >> 6 & 63];
                if (i + 2 < size)
                        *o++ = b64[v & 63];
        }
        *o = 0;
        registry_auth_from_header(enc, &a);
        registry_auth_clear(&a);
        free(enc);
}

static void fuzz_changes(const char *text)
{
        char **lines = xcalloc(strlen(text) + 2, sizeof(char *));
        size_t n = 0;
        for (const char *p = text;;) {
                size_t l = strcspn(p, "\n");
                lines[n++] = xstrndup(p, l);
                if (!p[l])
                        break;
                p += l + 1;
        }
        _cleanup_strv_free_ char **lref = lines;
        json_t *cfg = json_pack("{s:[s],s:s}", "Env", "PATH=/bin", "WorkingDir", "");
        BerthError *err = NULL;
        int r = image_apply_changes(cfg, lines, &err);
        need_err(r, err);
        if (!json_is_object(cfg))
                abort();
        berr_free(err);
        json_decref(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        if (!text)
                abort();
        memcpy(text, data, size);
        text[size] = 0;
        fuzz_registry(text, size);
        fuzz_config(text, size);
        fuzz_auth(text, size);
        fuzz_changes(text);
        free(text);
        return 0;
}
