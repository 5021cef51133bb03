/* libFuzzer target for the request path: the input is split on NUL bytes
 * into (url, body, filters, reference) and fed to version splitting and
 * route matching against every route table api_dispatch uses (api_route_tables), JSON
 * body decoding (api_body_json), filter parsing (api_query_filters) and image
 * reference parsing (src/image/reference.c); the reference piece also goes through the parsers
 * of other request values (CIDRs, detach keys, signals, times) and the filters through label
 * matching.
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz tests/fuzz-request
 *   build-fuzz/tests/fuzz-request -max_total_time=30 tests/fuzz/corpus/request */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/router-internal.h"
#include "basic/detachkeys.h"
#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "engine/container.h"
#include "image/image-internal.h"
#include "image/reference.h"
#include "network/network-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        for (size_t t = 0; api_route_tables[t]; t++)
                for (const ApiRoute *rt = api_route_tables[t]; rt->method; rt++) {
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
        /* the body limit is decided from the raw URL before any handler runs */
        uint64_t lim = api_body_limit("POST", url);
        if (lim != API_BODY_MAX && lim != API_UPLOAD_BODY_MAX)
                abort();
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

/* Values that arrive as query parameters or body fields: CIDRs (IPAM), detach keys, signals,
 * time filters, timestamps; and the filters piece as label filters against a fixed label set. */
static void fuzz_values(const char *v, json_t *filters)
{
        struct in_addr a;
        int prefix = -1;
        if (net_parse_cidr(v, &a, &prefix) == 0 && (prefix < 0 || prefix > 32))
                abort();
        DetachKeys dk;
        if (detach_keys_parse(v, &dk) == 0 && dk.n > DETACH_KEYS_MAX)
                abort();
        (void) signal_from_string(v);
        int64_t ns;
        BerthError *err = NULL;
        if (image_parse_time_filter(v, &ns, &err) < 0 && (!err || !err->msg))
                abort();
        berr_free(err);
        (void) parse_rfc3339(v, &ns);
        json_t *labels = json_pack("{s:s,s:s}", "a", "b", "com.example", "");
        json_t *want = json_object_get(filters, "label");
        if (json_is_array(want)) {
                (void) json_labels_match(labels, want);
                (void) json_filter_match(want, "com.example");
        }
        json_decref(labels);
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
        json_t *fj = NULL;
        BerthError *ferr = NULL;
        (void) api_parse_filters(filters, &fj, &ferr);
        berr_free(ferr);
        fuzz_values(ref, fj);
        json_decref(fj);
        free(url);
        free(body);
        free(filters);
        free(ref);
        return 0;
}
