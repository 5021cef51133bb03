/* The pure path and value logic behind the archive API (engine/archive.c): Docker's
 * spelling of container paths, Go's os.FileMode bits and time format. No I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The user's path as an absolute, cleaned container path that keeps a trailing "/" or
 * "/." ("etc/" -> "/etc/", "/etc/./" -> "/etc/.", "../x" -> "/x"). Caller frees. */
char *archive_abs_path(const char *path);
/* Go's filepath.Base: the last element, trailing slashes ignored; "/" for the root. */
char *archive_base(const char *path);
/* Cleans an absolute path like Go's filepath.Clean ("/a/../b/" -> "/b"). */
char *archive_clean_abs(const char *path);
/* Go's os.FileMode for st_mode: permission bits plus the type and set-id bits. */
uint32_t archive_go_mode(mode_t m);
/* Go's time.Time JSON form in UTC: RFC 3339 with nanoseconds, trailing zeros dropped. */
char *archive_rfc3339nano(int64_t sec, long nsec);
/* Whether the clean absolute path abs is dest or lies below it. */
bool archive_path_within(const char *dest, const char *abs);
/* Whether a symlink entry at rel (relative to the extraction directory) to target leaves
 * that directory: a relative target is taken from rel's directory. Absolute targets are
 * resolved in the container's root when used and never leave it. */
bool archive_symlink_escapes(const char *rel, const char *target);
/* The archive entry name of a file rel below the requested resource, rebased on the
 * resource's base name as Docker does ("etc" + "passwd" -> "etc/passwd", "/" + "bin" ->
 * "/bin", "." + "" -> "./"); rel "" names the resource itself. dir adds a trailing slash. */
char *archive_entry_name(const char *rebase, const char *rel, bool dir);
