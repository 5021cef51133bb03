/* libFuzzer target for the request path: the input is split on NUL bytes
 * into (url, body, filters, reference) and fed to version splitting and
 * route matching against every real route table (as api_dispatch does), JSON
 * body decoding (api_body_json), filter parsing (api_query_filters) and image
 * reference parsing (src/image/reference.c).
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz tests/fuzz-request
 *   build-fuzz/tests/fuzz-request -max_total_time=30 tests/fuzz/corpus/request */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/router-internal.h"
#include "basic/json-util.h"
#include "basic/macro.h"
#include "image/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ApiRoute *const tables[] = {
        api_routes_system,
        api_routes_images,
        api_routes_containers,
        api_routes_volumes,
};

/* The next NUL-terminated piece of the input, as a fresh string. */
static char *next_piece(const uint8_t **p, size_t *left, size_t *len)
{
        const uint8_t *nul = memchr(*p, 0, *left);
        size_t n = nul ? (size_t) (nul - *p) : *left;
        char *s = malloc(n + 1);
        if (!s)
                abort();
        memcpy(s, *p, n);
        s[n] = 0;
        *len = n;
        *p += nul ? n + 1 : n;
        *left -= nul ? n + 1 : n;
        return s;
}

static void fuzz_route(const char *url)
{
        int ver = -1;
        const char *rest = NULL;
        bool bad = false;
        /* any ver is fine ("/v1.-5/" gives -5): dispatch rejects what is out of range */
        api_split_version(url, &ver, &rest, &bad);
        if (!rest)
                abort();
        /* rest must point into url: dispatch logs and matches it */
        if (rest != url && (rest < url || rest > url + strlen(url)) && strcmp(rest, "/") != 0)
                abort();
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const ApiRoute *rt = tables[t]; rt->method; rt++) {
                        char *caps[4] = { 0 };
                        int n = 0;
                        bool ok = api_route_match(rt->pattern, rest, caps, &n);
                        if (n < 0 || n > 4 || (!ok && n != 0))
                                abort();
                        for (int k = 0; k < n; k++) {
                                if (!caps[k] || !*caps[k])
                                        abort();
                                free(caps[k]);
                        }
                }
}

static void fuzz_body(const char *body, size_t len)
{
        json_t *j = NULL;
        BerthError *err = NULL;
        int r = api_parse_json_object(body, len, &j, &err);
        if (r < 0) {
                if (!err || !err->msg || j)
                        abort();
        } else if (j && !json_is_object(j)) {
                abort();
        }
        json_decref(j);
        berr_free(err);
}

static void fuzz_filters(const char *f)
{
        json_t *j = NULL;
        BerthError *err = NULL;
        int r = api_parse_filters(f, &j, &err);
        if (r >= 0) {
                /* normalized: an object whose values are all arrays of strings */
                const char *k;
                json_t *v;
                if (!json_is_object(j))
                        abort();
                json_object_foreach(j, k, v) {
                        size_t i;
                        json_t *e;
                        if (!json_is_array(v))
                                abort();
                        json_array_foreach(v, i, e) if (!json_is_string(e)) abort();
                }
                json_decref(j);
        } else if (!err || !err->msg) {
                abort();
        }
        berr_free(err);
}

/* Reference parsing (src/image/reference.c), with Docker's round-trip
 * properties: the fully qualified form parses back to itself, and the
 * familiar form of it is what image_ref_familiarize gives. */
static void fuzz_reference(const char *s)
{
        ImageRef *r = NULL;
        BerthError *err = NULL;
        if (image_ref_parse(s, &r, &err) < 0) {
                if (!err || !err->msg || r)
                        abort();
                berr_free(err);
                return;
        }
        image_ref_default_tag(r);
        char *full = image_ref_full(r);
        char *fam = image_ref_familiar(r);
        char *name = image_ref_name(r);
        char *fname = image_ref_familiar_name(r);
        if (!full || !fam || !name || !fname)
                abort();
        ImageRef *again = NULL;
        if (image_ref_parse(full, &again, &err) < 0)
                abort();
        char *full2 = image_ref_full(again);
        if (!full2 || strcmp(full, full2) != 0)
                abort();
        char *fam2 = image_ref_familiarize(full);
        if (!fam2 || strcmp(fam, fam2) != 0)
                abort();
        if (r->tag && !image_ref_valid_tag(r->tag))
                abort();
        if (r->digest && !image_digest_valid(r->digest))
                abort();
        free(full);
        free(full2);
        free(fam);
        free(fam2);
        free(name);
        free(fname);
        image_ref_free(r);
        image_ref_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *p = data;
        size_t left = size, n;
        char *url = next_piece(&p, &left, &n);
        char *body = next_piece(&p, &left, &n);
        size_t body_len = n;
        char *filters = next_piece(&p, &left, &n);
        char *ref = next_piece(&p, &left, &n);

        fuzz_route(url);
        fuzz_body(body, body_len);
        fuzz_filters(filters);
        /* the whole input as one body too: bytes after a NUL, invalid UTF-8 */
        fuzz_body((const char *) data, size);
        fuzz_reference(ref);
        free(url);
        free(body);
        free(filters);
        free(ref);
        return 0;
}
