/* Leaf helpers: strings, files, time. Return -errno on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

char *xasprintf(const char *fmt, ...) _printf_(1, 2);
/* Allocation that cannot fail: out of memory aborts (the one OOM policy). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);
bool is_hex(const char *s, size_t n);

/* NULL-terminated string vectors. */
size_t strv_length(char **l);
char **strv_free(char **l);
static inline void strv_freep(char ***l) { *l = strv_free(*l); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)
int strv_push(char ***l, char *owned);
int strv_extend(char ***l, const char *s);
char **strv_copy(char *const *l);
bool strv_contains(char **l, const char *s);
/* Go's path.Clean: "." and ".." resolved lexically, slashes squeezed, "." for an empty result ("/" when
 * absolute). A new string. */
char *path_clean(const char *path);
/* Go's strconv.ParseBool, which Docker's options go through: 1, 0 or -EINVAL. */
int go_parse_bool(const char *s);
/* Docker's PATH for a process whose image and container set none. */
#define DEFAULT_PATH_ENV "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The value of KEY in a KEY=VALUE environment, or NULL. */
char *strv_env_get(char **env, const char *key);

/* The entries of an open directory but "." and "..", sorted bytewise (NULL when empty): what tar
 * writers need for archives that do not depend on the file system's order. */
char **dir_names_sorted(DIR *d);
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);
/* Apparent size in bytes of the files under path (0 when it cannot be read). */
long long dir_size(const char *path);
/* Writes via a temp file, fsync and rename: readers see old or new, never half. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Same atomic replace without fsync: for files regenerated on every container
 * start (hosts, resolv.conf, spec.json), where durability buys nothing. */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode);
int read_file(const char *path, char **ret, size_t *ret_len);
int fsync_dir_of(const char *path);
/* The whole buffer or -errno, retrying short writes and EINTR. loop_send is for sockets: MSG_NOSIGNAL, so a
 * closed peer is -EPIPE instead of SIGPIPE. */
int loop_write(int fd, const void *data, size_t len);
int loop_send(int fd, const void *data, size_t len);

int64_t now_ns(void);
/* RFC 3339 with nanoseconds, Go's trimmed form ("2026-11-26T21:07:42.27923905Z") when trim. */
char *format_rfc3339(int64_t ns, bool trim);
int parse_rfc3339(const char *s, int64_t *ret_ns);
/* Go's time.ParseDuration ("1h30m", "2.5s", "300ms"); Go's Duration.String() of ns ("1m30s", "300ms"). */
int parse_go_duration(const char *s, int64_t *ret_ns);
char *format_go_duration(int64_t ns);
/* A time as Docker's filters (until, since) take it: a Go duration before now ("1h30m"),
 * Unix seconds ("1700000000.5"), RFC 3339, or a date/time read as UTC. */
int parse_docker_time(const char *s, int64_t now, int64_t *ret_ns);
/* A size as Docker reads memory and log sizes (go-units RAMInBytes): "10m" = 10 MiB,
 * "1.5g", "512k", "100" bytes, case-insensitive, optional "i"/"b". -1 when malformed. */
long long parse_ram_bytes(const char *s);

/* d rounded toward zero into *ret; false when d is NaN, infinite or beyond int64_t (converting
 * those is undefined behaviour). */
bool double_to_int64(double d, int64_t *ret);
/* Docker's "Up 2 minutes" / "About an hour" style durations. */
char *human_duration(int64_t seconds);
char *human_size(double bytes);

/* An errno (either sign) as Go's syscall.Errno prints it ("no such file or directory"): clients such as
 * the docker CLI match these lowercase texts in start errors. Thread-local buffer. */
const char *go_strerror(int e);

/* The machine as Go's GOARCH names it ("amd64", "arm64"; else uname's machine). */
const char *go_arch(void);

/* 64 hex characters from the kernel's random source. */
int random_hex_id(char out[65]);
