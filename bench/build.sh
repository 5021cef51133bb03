#!/bin/bash
# Build benchmark, berthd side by side with the reference dockerd (classic builder, DOCKER_BUILDKIT=0):
# a 10-step Dockerfile (FROM, ARG, ENV, 2x COPY, 3x RUN, WORKDIR, CMD) built cold (--no-cache) and
# cached (the same build again: every step "Using cache"), mean seconds of `docker build` over
# BENCH_RUNS (default 5). berthd runs in a new network namespace with its own data root.
#
#   sudo bench/build.sh           # BERTH_BUILD=build by default
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
RUNS=${BENCH_RUNS:-5}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
[ "$(id -u)" -eq 0 ] || { echo "bench/build.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
NS=berth-bbench-$$
TMP=$(mktemp -d /tmp/berth-bbench.XXXXXX)
BPID= REF_SOCK=
cleanup() {
        if [ -n "$REF_SOCK" ]; then
                for t in $(DOCKER_HOST=unix://$REF_SOCK docker images --format '{{.Repository}}' | grep "^bbench-$$-" || true); do
                        DOCKER_HOST=unix://$REF_SOCK docker rmi -f "$t" >/dev/null 2>&1 || true
                done
        fi
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
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
BUSYBOX_TAR=${BUSYBOX_TAR:-$ROOT/../busybox.tar}
DOCKER_HOST=unix://$TMP/berth.sock docker import -c 'CMD ["sh"]' "$BUSYBOX_TAR" busybox:latest >/dev/null
DOCKER_HOST=unix://$REF_SOCK docker image inspect busybox:latest >/dev/null ||
        DOCKER_HOST=unix://$REF_SOCK docker import -c 'CMD ["sh"]' "$BUSYBOX_TAR" busybox:latest >/dev/null

mkdir -p "$TMP/ctx"
head -c 1048576 /dev/urandom >"$TMP/ctx/blob.bin"
printf 'hello\n' >"$TMP/ctx/app.conf"
cat >"$TMP/ctx/Dockerfile" <<'EOT'
FROM busybox
ARG VERSION=1
ENV APP=/app PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY blob.bin /app/data/
COPY app.conf /app/etc/
RUN mkdir -p /app/bin && echo "v$VERSION" > /app/version
RUN for i in 1 2 3 4 5; do echo $i >> /app/count; done
RUN cp /app/data/blob.bin /app/data/copy.bin
WORKDIR /app
CMD ["cat", "/app/version"]
EOT

# mean seconds of one build command, run RUNS times; $1: B or R, $2: a phase name (tags stay unique, so
# every chain of images stays tagged until the clean-up removes it), rest: build flags
bench() {
        local who=$1 phase=$2; shift 2
        local host total=0
        if [ "$who" = B ]; then host=unix://$TMP/berth.sock; else host=unix://$REF_SOCK; fi
        for i in $(seq "$RUNS"); do
                local tag=bbench-$$-${who,,}-$phase-$i
                local t0 t1
                t0=$(date +%s.%N)
                DOCKER_HOST=$host DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$@" "$TMP/ctx" >"$TMP/out" 2>&1 ||
                        { echo "bench/build.sh: the $who build failed:" >&2; cat "$TMP/out" >&2; exit 1; }
                t1=$(date +%s.%N)
                total=$(echo "$total + $t1 - $t0" | bc)
        done
        echo "scale=3; $total / $RUNS" | bc
}

# a first build on each side so the cached runs have a cache
bench B first >/dev/null
bench R first >/dev/null
B_COLD=$(bench B cold --no-cache)
R_COLD=$(bench R cold --no-cache)
B_WARM=$(bench B warm)
R_WARM=$(bench R warm)
printf '| %-32s | %8s | %9s | %7s |\n' "10-step build, mean of $RUNS" berthd reference ratio
printf '|%s|%s|%s|%s|\n' "----------------------------------" "----------" "-----------" "---------"
printf '| %-32s | %7ss | %8ss | %6sx |\n' "cold (--no-cache)" "$B_COLD" "$R_COLD" "$(echo "scale=1; $R_COLD / $B_COLD" | bc)"
printf '| %-32s | %7ss | %8ss | %6sx |\n' "cached (every step Using cache)" "$B_WARM" "$R_WARM" "$(echo "scale=1; $R_WARM / $B_WARM" | bc)"
