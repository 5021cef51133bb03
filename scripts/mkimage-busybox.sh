#!/bin/sh
# Builds a busybox root filesystem from Debian's busybox-static and writes it
# as a tar to stdout (or to the file given), ready for `berth import`:
#   scripts/mkimage-busybox.sh | berth import -c 'CMD ["sh"]' - busybox:latest
set -eu
BB=${BUSYBOX:-/bin/busybox}
[ -x "$BB" ] && "$BB" --list >/dev/null 2>&1 || { echo "mkimage-busybox: $BB is not a static busybox (apt-get install busybox-static)" >&2; exit 1; }
r=$(mktemp -d)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/root" "$r/var" "$r/home" "$r/usr/bin" "$r/usr/sbin" "$r/sbin"
chmod 1777 "$r/tmp"
cp "$BB" "$r/bin/busybox"
for a in $("$BB" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
# Fixed mtimes make the tar, and so the layer's diff id, reproducible.
if [ $# -gt 0 ]; then out=$1; else out=-; fi
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$out" .
