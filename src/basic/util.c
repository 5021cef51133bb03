#include "util.h"

#include <dirent.h>

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

char *xasprintf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                abort(); /* out of memory is fatal for the daemon */
        return s;
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                abort();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                abort();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);
        if (!q)
                abort();
        return q;
}

char *xstrdup(const char *s)
{
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

char *xstrndup(const char *s, size_t n)
{
        char *d = strndup(s, n);
        if (!d)
                abort();
        return d;
}

bool startswith(const char *s, const char *prefix)
{
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool is_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

size_t strv_length(char **l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

char **strv_free(char **l)
{
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
        return NULL;
}

int strv_push(char ***l, char *owned)
{
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(owned);
                return -ENOMEM;
        }
        nl[n] = owned;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

char **strv_copy(char *const *l)
{
        char **r = calloc(1, sizeof(char *));
        for (size_t i = 0; r && l && l[i]; i++)
                if (strv_extend(&r, l[i]) < 0)
                        return strv_free(r);
        return r;
}

bool strv_contains(char **l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

char *strv_env_get(char **env, const char *key)
{
        size_t kl = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strneq(env[i], key, kl) && env[i][kl] == '=')
                        return env[i] + kl + 1;
        return NULL;
}

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_one(const char *path, const struct stat *st _unused_, int flag, struct FTW *ftw _unused_)
{
        if (flag == FTW_DP || flag == FTW_D)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return RET_NERRNO(unlink(path));
        /* FTW_MOUNT: never descend into something mounted below us. */
        if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return -errno;
        return 0;
}

static __thread long long du_total;

static int du_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
        if (type == FTW_F || type == FTW_SL)
                du_total += st->st_size;
        return 0;
}

long long dir_size(const char *path)
{
        du_total = 0;
        /* FTW_MOUNT: what is mounted below (binds, volumes) is not this tree's */
        if (nftw(path, du_one, 64, FTW_PHYS | FTW_MOUNT) < 0)
                return 0;
        return du_total;
}

int fsync_dir_of(const char *path)
{
        _cleanup_free_ char *d = strdup(path);
        if (!d)
                return -ENOMEM;
        char *slash = strrchr(d, '/');
        if (!slash)
                return 0;
        *slash = 0;
        _cleanup_close_ int fd = open(*d ? d : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return RET_NERRNO(fsync(fd));
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int) gettid());
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, data, len);
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        if ((durable && fsync(fd) < 0) || rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return durable ? fsync_dir_of(path) : 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        return write_replace(path, data, len, mode, true);
}

int write_file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
        return write_replace(path, data, len, mode, false);
}

static int loop_io(int fd, const void *data, size_t len, bool sock)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int loop_write(int fd, const void *data, size_t len)
{
        return loop_io(fd, data, len, false);
}

int loop_send(int fd, const void *data, size_t len)
{
        return loop_io(fd, data, len, true);
}

int read_file(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        char *nb = realloc(buf, cap * 2 + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *format_rfc3339(int64_t ns, bool trim)
{
        if (ns <= 0)
                return strdup("0001-01-01T00:00:00Z");
        time_t sec = (time_t) (ns / 1000000000LL);
        long frac = (long) (ns % 1000000000LL);
        struct tm tm;
        char base[32], fr[16];
        gmtime_r(&sec, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(fr, sizeof(fr), ".%09ld", frac);
        if (trim) {
                size_t l = strlen(fr);
                while (l > 1 && fr[l - 1] == '0')
                        fr[--l] = 0;
                if (l == 1)
                        fr[0] = 0;
        }
        return xasprintf("%s%sZ", base, fr);
}

bool double_to_int64(double d, int64_t *ret)
{
        /* 2^63 is exact as a double; every double below it converts */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return false;
        *ret = (int64_t) d;
        return true;
}

int parse_rfc3339(const char *s, int64_t *ret_ns)
{
        struct tm tm = { 0 };
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        int64_t frac = 0;
        if (*p == '.') {
                int digits = 0;
                p++;
                while (*p >= '0' && *p <= '9') {
                        if (digits < 9) {
                                frac = frac * 10 + (*p - '0');
                                digits++;
                        }
                        p++;
                }
                while (digits++ < 9)
                        frac *= 10;
        }
        int64_t off = 0;
        if (*p == '+' || *p == '-') {
                int hh = 0, mm = 0;
                if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59)
                        return -EINVAL;
                off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        } else if (*p != 'Z')
                return -EINVAL;
        time_t t = timegm(&tm);
        /* nanoseconds since the epoch fit years 1678 to 2262 only */
        int64_t ns;
        if (__builtin_mul_overflow((int64_t) t - off, 1000000000LL, &ns) || __builtin_add_overflow(ns, frac, &ns))
                return -ERANGE;
        *ret_ns = ns;
        return 0;
}

int parse_go_duration(const char *s, int64_t *ret_ns)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = { { "ns", 1 },  { "us", 1e3 }, { "\u00b5s", 1e3 }, { "\u03bcs", 1e3 },
                      { "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },      { "h", 3600e9 } };
        double total = 0;
        const char *p = s;
        if (!*p)
                return -EINVAL;
        if (streq(s, "0")) { /* Go's one duration without a unit */
                *ret_ns = 0;
                return 0;
        }
        while (*p) {
                char *end;
                double v = strtod(p, &end);
                if (end == p || *end == '\0' || *p == '+' || *p == '-')
                        return -EINVAL;
                p = end;
                size_t best = 0;
                double mult = 0;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].unit);
                        if (strneq(p, units[i].unit, l) && l > best) {
                                best = l;
                                mult = units[i].ns;
                        }
                }
                if (!best)
                        return -EINVAL;
                total += v * mult;
                p += best;
        }
        return double_to_int64(total, ret_ns) ? 0 : -ERANGE;
}

/* Go's Duration.String(): the digits of v / 10^prec with the fraction's trailing zeros trimmed. */
static void fmt_frac(char *buf, size_t len, uint64_t v, int prec)
{
        uint64_t p = 1;
        for (int i = 0; i < prec; i++)
                p *= 10;
        char frac[32] = "";
        if (v % p) {
                snprintf(frac, sizeof(frac), ".%0*llu", prec, (unsigned long long) (v % p));
                for (size_t l = strlen(frac); l > 1 && frac[l - 1] == '0'; l--)
                        frac[l - 1] = 0;
        }
        snprintf(buf, len, "%llu%s", (unsigned long long) (v / p), frac);
}

char *format_go_duration(int64_t d)
{
        if (d == 0)
                return xstrdup("0s");
        const char *sign = d < 0 ? "-" : "";
        uint64_t u = d < 0 ? -(uint64_t) d : (uint64_t) d;
        char num[48];
        if (u < 1000)
                return xasprintf("%s%lluns", sign, (unsigned long long) u);
        if (u < 1000000) {
                fmt_frac(num, sizeof(num), u, 3);
                return xasprintf("%s%s\xc2\xb5s", sign, num);
        }
        if (u < 1000000000) {
                fmt_frac(num, sizeof(num), u, 6);
                return xasprintf("%s%sms", sign, num);
        }
        const uint64_t min = 60ULL * 1000000000ULL;
        fmt_frac(num, sizeof(num), u % min, 9);
        uint64_t m = u / min;
        if (m >= 60)
                return xasprintf("%s%lluh%llum%ss", sign, (unsigned long long) (m / 60), (unsigned long long) (m % 60),
                                 num);
        if (m > 0)
                return xasprintf("%s%llum%ss", sign, (unsigned long long) m, num);
        return xasprintf("%s%ss", sign, num);
}

int parse_docker_time(const char *s, int64_t now, int64_t *ret_ns)
{
        if (!s || !*s)
                return -EINVAL;
        int64_t d;
        int r = parse_go_duration(s, &d);
        if (r == -ERANGE)
                return -EINVAL;
        if (r == 0) {
                /* now minus a duration longer than the epoch is before it: out of range too */
                if (d < -now || d > now)
                        return -EINVAL;
                *ret_ns = now - d;
                return 0;
        }
        /* Unix seconds, with an optional fraction */
        if (strspn(s, "0123456789.") == strlen(s)) {
                char *end;
                double secs = strtod(s, &end);
                if (*end || !double_to_int64(secs * 1e9, ret_ns))
                        return -EINVAL;
                return 0;
        }
        if (parse_rfc3339(s, ret_ns) == 0)
                return 0;
        /* dates and times without a zone, read as UTC */
        static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
        for (size_t i = 0; i < ELEMENTSOF(fmts); i++) {
                struct tm tm = { 0 };
                const char *p = strptime(s, fmts[i], &tm);
                if (p && !*p) {
                        /* a year far enough out does not fit in int64 nanoseconds: refused, not wrapped */
                        int64_t ns;
                        if (__builtin_mul_overflow((int64_t) timegm(&tm), (int64_t) 1000000000, &ns))
                                return -ERANGE;
                        *ret_ns = ns;
                        return 0;
                }
        }
        return -EINVAL;
}

long long parse_ram_bytes(const char *s)
{
        if (!s || !*s)
                return -1;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 0 || *s == '+' || *s == '-' || *s == ' ')
                return -1;
        while (*end == ' ')
                end++;
        static const char units[] = "bkmgtp";
        double mult = 1;
        if (*end) {
                const char *u = strchr(units, (char) (*end | 0x20));
                if (!u)
                        return -1;
                for (const char *p = units; p < u; p++)
                        mult *= 1024;
                end++;
                if (u != units && (*end | 0x20) == 'i')
                        end++;
                if (u != units && (*end | 0x20) == 'b')
                        end++;
        }
        if (*end)
                return -1;
        double r = v * mult;
        if (r > 9.2e18)
                return -1;
        return (long long) r;
}

char *human_duration(int64_t s)
{
        if (s < 1)
                return strdup("Less than a second");
        if (s == 1)
                return strdup("1 second");
        if (s < 60)
                return xasprintf("%lld seconds", (long long) s);
        int64_t m = s / 60;
        if (m == 1)
                return strdup("About a minute");
        if (m < 60)
                return xasprintf("%lld minutes", (long long) m);
        int64_t h = (int64_t) ((double) s / 3600 + 0.5);
        if (h == 1)
                return strdup("About an hour");
        if (h < 48)
                return xasprintf("%lld hours", (long long) h);
        if (h < 24 * 7 * 2)
                return xasprintf("%lld days", (long long) (h / 24));
        if (h < 24 * 30 * 2)
                return xasprintf("%lld weeks", (long long) (h / 24 / 7));
        if (h < 24 * 365 * 2)
                return xasprintf("%lld months", (long long) (h / 24 / 30));
        return xasprintf("%lld years", (long long) (h / 24 / 365));
}

char *human_size(double b)
{
        static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
        size_t i = 0;
        while (b >= 1000.0 && i < ELEMENTSOF(units) - 1) {
                b /= 1000.0;
                i++;
        }
        /* docker prints 4 significant digits ("1.23MB", "123.4kB") */
        char num[32];
        snprintf(num, sizeof(num), "%.4g", b);
        return xasprintf("%s%s", num, units[i]);
}

int random_hex_id(char out[65])
{
        unsigned char buf[32];
        if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
                return -EIO;
        for (size_t i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", buf[i]);
        out[64] = 0;
        return 0;
}

const char *go_arch(void)
{
        static struct utsname u;
        uname(&u);
        if (streq(u.machine, "x86_64"))
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        return u.machine;
}

const char *go_strerror(int e)
{
        static __thread char buf[128];
        if (e < 0)
                e = -e;
        const char *s = strerrordesc_np(e);
        if (!s) {
                snprintf(buf, sizeof(buf), "errno %d", e);
                return buf;
        }
        snprintf(buf, sizeof(buf), "%s", s);
        /* Go's mkerrors lowercases the first letter unless the word is an acronym ("STREAMS") */
        if (isupper((unsigned char) buf[0]) && islower((unsigned char) buf[1]))
                buf[0] = (char) tolower((unsigned char) buf[0]);
        return buf;
}

int go_parse_bool(const char *s)
{
        const char *t[] = { "1", "t", "T", "TRUE", "true", "True" }, *f[] = { "0", "f", "F", "FALSE", "false", "False" };
        for (size_t i = 0; s && i < ELEMENTSOF(t); i++) {
                if (streq(s, t[i]))
                        return 1;
                if (streq(s, f[i]))
                        return 0;
        }
        return -EINVAL;
}

char *path_clean(const char *path)
{
        bool abs = path[0] == '/';
        char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (streq(t, "."))
                        continue;
                size_t n = strv_length(parts);
                if (streq(t, "..")) {
                        if (n && !streq(parts[n - 1], "..")) {
                                free(parts[n - 1]);
                                parts[n - 1] = NULL;
                                continue;
                        }
                        if (abs)
                                continue;
                }
                strv_extend(&parts, t);
        }
        size_t len = 2;
        for (size_t i = 0; parts && parts[i]; i++)
                len += strlen(parts[i]) + 1;
        char *out = xmalloc(len);
        char *o = out;
        if (abs)
                *o++ = '/';
        for (size_t i = 0; parts && parts[i]; i++) {
                if (i)
                        *o++ = '/';
                size_t n = strlen(parts[i]);
                memcpy(o, parts[i], n);
                o += n;
        }
        if (o == out)
                *o++ = abs ? '/' : '.';
        *o = 0;
        strv_free(parts);
        return out;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char **dir_names_sorted(DIR *d)
{
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_extend(&names, de->d_name);
        size_t n = strv_length(names);
        if (n)
                qsort(names, n, sizeof(char *), cmp_names);
        return names;
}
