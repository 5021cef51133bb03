#!/bin/bash
# docker cp benchmark, berthd side by side with the reference dockerd: a 200 MB directory (BENCH_SMALL small
# files of 4-64 KB plus large files of random data making up the rest) copied into a running container and
# back out, seconds per direction (best of BENCH_RUNS), with docker CLI's own `docker cp` against each daemon.
#
#   sudo bench/cp.sh           # BERTH_BUILD=build by default
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
TOTAL_MB=${BENCH_MB:-200}
SMALL=${BENCH_SMALL:-2000}
RUNS=${BENCH_RUNS:-3}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
[ "$(id -u)" -eq 0 ] || { echo "bench/cp.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
NS=berth-cpbench-$$
TMP=$(mktemp -d /var/tmp/berth-cpbench.XXXXXX)
BPID= REF_SOCK=
CT=cpbench-$$
cleanup() {
        [ -n "$REF_SOCK" ] && DOCKER_HOST=unix://$REF_SOCK docker rm -f $CT >/dev/null 2>&1 || true
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
                DOCKER_HOST=unix://$TMP/berth.sock docker rm -f $CT >/dev/null 2>&1 || true
                kill "$BPID"; wait "$BPID" 2>/dev/null || true
        fi
        ip netns del "$NS" 2>/dev/null || true
        rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

ip netns add "$NS"
nsenter --net=/run/netns/"$NS" ip link set lo up
REF_SOCK=$("$REFD" start | tail -1)
nsenter --net=/run/netns/"$NS" "$BERTHD" -H unix://"$TMP/berth.sock" --data-root "$TMP/data" \
        --exec-root "$TMP/run" --pidfile "$TMP/berthd.pid" >"$TMP/berthd.log" 2>&1 & BPID=$!
for i in $(seq 100); do curl -s --unix-socket "$TMP/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
B() { DOCKER_HOST=unix://$TMP/berth.sock docker "$@"; }
R() { DOCKER_HOST=unix://$REF_SOCK docker "$@"; }
now() { date +%s.%N; }
el() { echo "$(now) - $1" | bc; }

# the tree: many small files in nested directories, the rest in 4 large files
/usr/bin/python3 - "$TMP/tree" "$TOTAL_MB" "$SMALL" <<'EOP'
import os, random, sys
root, total, small = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3])
random.seed(1)
used = 0
for i in range(small):
    d = os.path.join(root, "d%02d" % (i % 40), "s%d" % (i % 7))
    os.makedirs(d, exist_ok=True)
    n = random.randint(4, 64) << 10
    with open(os.path.join(d, "f%d" % i), "wb") as f:
        f.write(os.urandom(n))
    used += n
big = (total - used) // 4
os.makedirs(os.path.join(root, "big"), exist_ok=True)
for i in range(4):
    with open(os.path.join(root, "big", "b%d.bin" % i), "wb") as f:
        f.write(os.urandom(big))
EOP
MB=$(( $(du -sb "$TMP/tree" | cut -f1) >> 20 ))
FILES=$(find "$TMP/tree" -type f | wc -l)

if ! B image inspect busybox >/dev/null 2>&1; then
        R save busybox:latest | B load -q >/dev/null
fi
B run -d --name $CT busybox sleep 100000 >/dev/null
R run -d --name $CT busybox sleep 100000 >/dev/null

best() { # $1: B or R, $2: in|out
        local b=
        for i in $(seq "$RUNS"); do
                $1 exec $CT rm -rf /tree
                rm -rf "$TMP/out"
                if [ "$2" = out ]; then $1 cp "$TMP/tree" $CT:/tree; fi
                local t=$(now)
                if [ "$2" = in ]; then $1 cp "$TMP/tree" $CT:/tree; else $1 cp $CT:/tree "$TMP/out"; fi
                local s=$(el $t)
                if [ "$2" = out ]; then [ "$(du -sb "$TMP/out" | cut -f1)" = "$(du -sb "$TMP/tree" | cut -f1)" ]; fi
                if [ -z "$b" ] || [ "$(echo "$s < $b" | bc)" = 1 ]; then b=$s; fi
        done
        echo "$b"
}
echo "tree: $MB MB, $FILES files; best of $RUNS"
printf "%-30s %10s %10s\n" "" berth reference
bi=$(best B in); ri=$(best R in)
printf "%-30s %10.2f %10.2f\n" "docker cp into container (s)" "$bi" "$ri"
bo=$(best B out); ro=$(best R out)
printf "%-30s %10.2f %10.2f\n" "docker cp out of container (s)" "$bo" "$ro"
printf "%-30s %10.0f %10.0f\n" "into (MB/s)" "$(echo "$MB / $bi" | bc -l)" "$(echo "$MB / $ri" | bc -l)"
printf "%-30s %10.0f %10.0f\n" "out of (MB/s)" "$(echo "$MB / $bo" | bc -l)" "$(echo "$MB / $ro" | bc -l)"
