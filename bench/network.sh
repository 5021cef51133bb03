#!/bin/bash
# Networking benchmark, berthd side by side with the reference dockerd:
#   1. what networking adds to `docker run --rm busybox true` (bridge vs --network none), median ms over N
#      runs of each, the two alternating;
#   2. requests/s through a published port from the daemon's loopback (userland proxy on both), wrk with
#      BENCH_CONNS connections for BENCH_SECONDS against busybox httpd.
# Each daemon runs in its own network namespace (berthd: a new one; the reference: berth-ref).
#
#   sudo bench/network.sh          # BERTH_BUILD=build by default; BENCH_RUNS=20 BENCH_SECONDS=5 BENCH_CONNS=16
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
RUNS=${BENCH_RUNS:-20}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-16}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
HPORT=18090
[ "$(id -u)" -eq 0 ] || { echo "bench/network.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
NS=berth-nbench-$$
TMP=$(mktemp -d /tmp/berth-nbench.XXXXXX)
BPID=
REF_SOCK=
cleanup() {
        [ -n "$REF_SOCK" ] && DOCKER_HOST=unix://$REF_SOCK docker rm -f nbench-web >/dev/null 2>&1 || true
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
                DOCKER_HOST=unix://$TMP/berth.sock docker rm -f nbench-web >/dev/null 2>&1 || true
                kill "$BPID"
                wait "$BPID" 2>/dev/null || true
        fi
        pkill -f "berth-monitor $TMP/run" 2>/dev/null || true
        ip netns del "$NS" 2>/dev/null || true
        rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

ip netns add "$NS"
nsenter --net=/run/netns/"$NS" ip link set lo up
nsenter --net=/run/netns/"$NS" "$BERTHD" --data-root "$TMP/data" --exec-root "$TMP/run" --pidfile "$TMP/berthd.pid" \
        -H "unix://$TMP/berth.sock" --log-level warn >"$TMP/berthd.log" 2>&1 </dev/null &
BPID=$!
for _ in $(seq 100); do
        curl -s --unix-socket "$TMP/berth.sock" http://x/_ping >/dev/null 2>&1 && break
        sleep 0.1
done
REF_SOCK=$("$REFD" start | tail -1)
REF_NETNS=${REF_NS:-berth-ref}

"$ROOT/scripts/mkimage-busybox.sh" "$TMP/busybox.tar" >/dev/null
for sock in "$TMP/berth.sock" "$REF_SOCK"; do
        if ! DOCKER_HOST=unix://$sock docker image inspect busybox:latest >/dev/null 2>&1; then
                DOCKER_HOST=unix://$sock docker import "$TMP/busybox.tar" busybox:latest >/dev/null
        fi
done

# Bridge and --network none runs alternate (a loaded machine drifts less between the two) and the
# medians are reported: "bridge_ms none_ms".
paired_ms() { # sock
        local sock=$1 i t0 t1 t2
        DOCKER_HOST=unix://$sock docker run --rm busybox true >/dev/null # warm-up
        DOCKER_HOST=unix://$sock docker run --rm --network none busybox true >/dev/null
        : >"$TMP/b.ms"
        : >"$TMP/n.ms"
        for i in $(seq "$RUNS"); do
                t0=$(date +%s%N)
                DOCKER_HOST=unix://$sock docker run --rm busybox true >/dev/null
                t1=$(date +%s%N)
                DOCKER_HOST=unix://$sock docker run --rm --network none busybox true >/dev/null
                t2=$(date +%s%N)
                echo "($t1 - $t0) / 1000000" | bc -l >>"$TMP/b.ms"
                echo "($t2 - $t1) / 1000000" | bc -l >>"$TMP/n.ms"
        done
        echo "$(median "$TMP/b.ms") $(median "$TMP/n.ms")"
}

median() { sort -n "$1" | awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m}'; }

rps() { # sock, netns
        local sock=$1 ns=$2
        DOCKER_HOST=unix://$sock docker rm -f nbench-web >/dev/null 2>&1 || true
        DOCKER_HOST=unix://$sock docker run -d --name nbench-web -p $HPORT:80 busybox sh -c \
                'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
        for _ in $(seq 50); do
                nsenter --net=/run/netns/"$ns" curl -s --max-time 1 http://127.0.0.1:$HPORT/ >/dev/null 2>&1 && break
                sleep 0.1
        done
        nsenter --net=/run/netns/"$ns" wrk -t2 -c"$CONNS" -d"${SECS}s" http://127.0.0.1:$HPORT/ |
                awk '/Requests\/sec/ {print $2}'
        DOCKER_HOST=unix://$sock docker rm -f nbench-web >/dev/null
}

read -r b_bridge b_none < <(paired_ms "$TMP/berth.sock")
read -r r_bridge r_none < <(paired_ms "$REF_SOCK")
b_rps=$(rps "$TMP/berth.sock" "$NS")
r_rps=$(rps "$REF_SOCK" "$REF_NETNS")

printf '| %-52s | %12s | %12s |\n' metric berthd reference
printf '|%s|%s|%s|\n' "------------------------------------------------------" "--------------" "--------------"
printf '| %-52s | %12s | %12s |\n' "docker run --rm busybox true, median ms (bridge)" "$b_bridge" "$r_bridge"
printf '| %-52s | %12s | %12s |\n' "docker run --rm --network none busybox true, median ms" "$b_none" "$r_none"
printf '| %-52s | %12s | %12s |\n' "networking adds, ms" "$(echo "$b_bridge - $b_none" | bc)" "$(echo "$r_bridge - $r_none" | bc)"
printf '| %-52s | %12s | %12s |\n' "published port req/s from loopback ($CONNS conns)" "$b_rps" "$r_rps"
