#include "reference.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

#define DEFAULT_DOMAIN "docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_TOTAL 255

void image_ref_free(ImageRef *r)
{
        if (!r)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

/* [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)* over s[0..n) */
static bool path_component_valid(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < n) {
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == n)
                        return true;
                size_t sep = i;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
                if (i == sep || i == n || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

/* host(:port)? with host = label(.label)* or [ipv6] */
static bool domain_valid(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0)
                return false;
        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char) *p) && *p != ':')
                                return false;
                i = (size_t) (close - s) + 1;
        } else {
                for (;;) {
                        size_t start = i;
                        while (i < n && (isalnum((unsigned char) s[i]) || s[i] == '-'))
                                i++;
                        if (i == start || s[start] == '-' || s[i - 1] == '-')
                                return false;
                        if (i < n && s[i] == '.') {
                                i++;
                                continue;
                        }
                        break;
                }
        }
        if (i == n)
                return true;
        if (s[i] != ':' || i + 1 == n)
                return false;
        for (i++; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

bool image_ref_valid_tag(const char *t)
{
        size_t n = strlen(t);
        if (n == 0 || n > 128 || !is_word(t[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
                        return false;
        return true;
}

bool image_digest_valid(const char *s)
{
        return startswith(s, "sha256:") && strlen(s) == 71 && is_hex(s + 7, 64);
}

static int digest_check(const char *d, BerthError **err)
{
        /* [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,} then Validate(). */
        const char *colon = strchr(d, ':');
        if (!colon || colon == d || !isalpha((unsigned char) d[0]))
                return berr_set(err, EINVAL, "invalid reference format");
        size_t hexlen = strlen(colon + 1);
        if (hexlen < 32)
                return berr_set(err, EINVAL, "invalid reference format");
        for (const char *p = colon + 1; *p; p++)
                if (!isxdigit((unsigned char) *p))
                        return berr_set(err, EINVAL, "invalid reference format");
        if (!strneq(d, "sha256:", 7))
                return berr_set(err, EINVAL, "unsupported digest algorithm");
        if (hexlen != 64)
                return berr_set(err, EINVAL, "invalid checksum digest length");
        if (!is_hex(colon + 1, 64))
                return berr_set(err, EINVAL, "invalid checksum digest format");
        return 0;
}

/* distribution/reference Parse() of "domain/remainder". */
static int parse_full(const char *domain, const char *rem, ImageRef **ret, BerthError **err)
{
        _cleanup_free_ char *work = xstrdup(rem);
        if (!work)
                return berr_set(err, ENOMEM, "out of memory");
        char *digest = NULL, *tag = NULL;
        char *at = strchr(work, '@');
        if (at) {
                *at = 0;
                digest = at + 1;
                int r = digest_check(digest, err);
                if (r < 0)
                        return r;
        }
        char *slash = strrchr(work, '/');
        char *colon = strrchr(slash ? slash : work, ':');
        if (colon) {
                *colon = 0;
                tag = colon + 1;
                if (!image_ref_valid_tag(tag))
                        return berr_set(err, EINVAL, "invalid reference format");
        }
        if (!domain_valid(domain, strlen(domain)))
                return berr_set(err, EINVAL, "invalid reference format");
        bool upper = false;
        for (const char *p = work;;) {
                size_t n = strcspn(p, "/");
                if (!path_component_valid(p, n)) {
                        _cleanup_free_ char *low = xstrndup(p, n);
                        for (char *q = low; q && *q; q++)
                                *q = (char) tolower((unsigned char) *q);
                        if (!low || !path_component_valid(low, n))
                                return berr_set(err, EINVAL, "invalid reference format");
                        upper = true;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (upper)
                return berr_set(err, EINVAL, "invalid reference format: repository name must be lowercase");
        if (strlen(domain) + 1 + strlen(work) > NAME_MAX_TOTAL)
                return berr_set(err, EINVAL, "invalid reference format: repository name must not be more than %d characters",
                                NAME_MAX_TOTAL);
        ImageRef *r = xcalloc(1, sizeof(*r));
        if (!r)
                return berr_set(err, ENOMEM, "out of memory");
        r->domain = xstrdup(domain);
        r->path = xstrdup(work);
        r->tag = tag ? xstrdup(tag) : NULL;
        r->digest = digest ? xstrdup(digest) : NULL;
        *ret = r;
        return 0;
}

int image_ref_parse(const char *s, ImageRef **ret, BerthError **err)
{
        if (!s || !*s)
                return berr_set(err, EINVAL, "invalid reference format: repository name must have at least one component");
        if (strlen(s) == 64 && is_hex(s, 64))
                return berr_set(err, EINVAL, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

        /* splitDockerDomain */
        _cleanup_free_ char *domain = NULL, *rem = NULL;
        const char *slash = strchr(s, '/');
        bool has_domain = false;
        if (slash) {
                size_t n = (size_t) (slash - s);
                bool lower = true;
                for (size_t i = 0; i < n; i++)
                        if (isupper((unsigned char) s[i]))
                                lower = false;
                has_domain = memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && strneq(s, "localhost", 9)) ||
                             !lower;
        }
        if (has_domain) {
                domain = xstrndup(s, (size_t) (slash - s));
                rem = xstrdup(slash + 1);
        } else {
                domain = xstrdup(DEFAULT_DOMAIN);
                rem = xstrdup(s);
        }
        if (!domain || !rem)
                return berr_set(err, ENOMEM, "out of memory");
        if (streq(domain, "index.docker.io")) {
                free(domain);
                domain = xstrdup(DEFAULT_DOMAIN);
        }
        if (streq(domain, DEFAULT_DOMAIN) && !strchr(rem, '/')) {
                char *t = xasprintf(OFFICIAL_PREFIX "%s", rem);
                free(rem);
                rem = t;
        }
        size_t rn = strcspn(rem, ":");
        for (size_t i = 0; i < rn; i++)
                if (isupper((unsigned char) rem[i]))
                        return berr_set(err, EINVAL, "invalid reference format: repository name (%.*s) must be lowercase",
                                        (int) rn, rem);
        return parse_full(domain, rem, ret, err);
}

void image_ref_default_tag(ImageRef *r)
{
        if (!r->tag && !r->digest)
                r->tag = xstrdup("latest");
}

int image_ref_parse_target(const char *repo, const char *tag, const char *digest_msg, ImageRef **ret,
                           BerthError **err)
{
        *ret = NULL;
        if (!repo || !*repo)
                return 0;
        _cleanup_image_ref_ ImageRef *ref = NULL;
        int r = image_ref_parse(repo, &ref, err);
        if (r < 0)
                return r;
        if (ref->digest)
                return berr_set(err, EINVAL, "%s", digest_msg);
        if (tag && *tag) {
                if (!image_ref_valid_tag(tag))
                        return berr_set(err, EINVAL, "invalid tag format");
                free(ref->tag);
                ref->tag = xstrdup(tag);
        }
        image_ref_default_tag(ref);
        *ret = TAKE_PTR(ref);
        return 0;
}

char *image_ref_name(const ImageRef *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

static char *with_suffix(char *name, const ImageRef *r)
{
        char *s = xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "", r->digest ? "@" : "",
                            r->digest ? r->digest : "");
        free(name);
        return s;
}

char *image_ref_full(const ImageRef *r)
{
        return with_suffix(image_ref_name(r), r);
}

char *image_ref_familiar_name(const ImageRef *r)
{
        if (streq(r->domain, DEFAULT_DOMAIN)) {
                if (startswith(r->path, OFFICIAL_PREFIX) && !strchr(r->path + strlen(OFFICIAL_PREFIX), '/'))
                        return xstrdup(r->path + strlen(OFFICIAL_PREFIX));
                return xstrdup(r->path);
        }
        return image_ref_name(r);
}

char *image_ref_familiar(const ImageRef *r)
{
        return with_suffix(image_ref_familiar_name(r), r);
}

char *image_ref_familiarize(const char *full)
{
        _cleanup_image_ref_ ImageRef *r = NULL;
        if (image_ref_parse(full, &r, NULL) < 0)
                return xstrdup(full);
        return image_ref_familiar(r);
}

void image_short_id(const char *id, char out[13])
{
        if (startswith(id, "sha256:"))
                id += 7;
        snprintf(out, 13, "%s", id);
}
