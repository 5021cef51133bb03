#include "archive-path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/util.h"
#include "image/tar.h"

static bool ends_with_slash(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '/';
}

char *archive_clean_abs(const char *path)
{
        _cleanup_free_ char *abs = xasprintf("/%s", path);
        _cleanup_free_ char *rel = image_tar_clean_path(abs); /* absolute: ".." stops at the root */
        return xasprintf("/%s", rel ? rel : "");
}

char *archive_base(const char *path)
{
        size_t n = strlen(path);
        if (n == 0)
                return xstrdup(".");
        while (n > 0 && path[n - 1] == '/')
                n--;
        if (n == 0)
                return xstrdup("/");
        size_t s = n;
        while (s > 0 && path[s - 1] != '/')
                s--;
        return xstrndup(path + s, n - s);
}

char *archive_abs_path(const char *path)
{
        char *clean = archive_clean_abs(path);
        _cleanup_free_ char *obase = archive_base(path), *cbase = archive_base(clean);
        if (streq(obase, ".") && !streq(cbase, ".")) {
                char *n = xasprintf("%s%s.", clean, ends_with_slash(clean) ? "" : "/");
                free(clean);
                clean = n;
        }
        if (!ends_with_slash(clean) && ends_with_slash(path)) {
                char *n = xasprintf("%s/", clean);
                free(clean);
                clean = n;
        }
        return clean;
}

uint32_t archive_go_mode(mode_t m)
{
        uint32_t r = m & 0777;
        switch (m & S_IFMT) {
        case S_IFDIR: r |= 1u << 31; break;
        case S_IFLNK: r |= 1u << 27; break;
        case S_IFBLK: r |= 1u << 26; break;
        case S_IFCHR: r |= (1u << 26) | (1u << 21); break;
        case S_IFIFO: r |= 1u << 25; break;
        case S_IFSOCK: r |= 1u << 24; break;
        default: break;
        }
        if (m & S_ISUID)
                r |= 1u << 23;
        if (m & S_ISGID)
                r |= 1u << 22;
        if (m & S_ISVTX)
                r |= 1u << 20;
        return r;
}

char *archive_rfc3339nano(int64_t sec, long nsec)
{
        time_t t = (time_t) sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        char date[64], frac[32] = "";
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        if (nsec > 0) {
                snprintf(frac, sizeof(frac), ".%09ld", nsec);
                size_t n = strlen(frac);
                while (frac[n - 1] == '0')
                        frac[--n] = 0;
        }
        return xasprintf("%s%sZ", date, frac);
}

bool archive_path_within(const char *dest, const char *abs)
{
        size_t n = strlen(dest);
        if (streq(dest, "/"))
                return true;
        return strneq(abs, dest, n) && (abs[n] == 0 || abs[n] == '/');
}

bool archive_symlink_escapes(const char *rel, const char *target)
{
        if (target[0] == '/')
                return false;
        const char *slash = strrchr(rel, '/');
        _cleanup_free_ char *joined = slash ? xasprintf("%.*s/%s", (int) (slash - rel), rel, target) : xstrdup(target);
        _cleanup_free_ char *clean = image_tar_clean_path(joined);
        return clean == NULL;
}

char *archive_entry_name(const char *rebase, const char *rel, bool dir)
{
        const char *sep = streq(rebase, "/") ? "" : "/";
        char *n = *rel ? xasprintf("%s%s%s", rebase, sep, rel) : xstrdup(rebase);
        if (dir && !ends_with_slash(n)) {
                char *d = xasprintf("%s/", n);
                free(n);
                n = d;
        }
        return n;
}
