#!/bin/bash
# docker exec, berthd side by side with the reference dockerd:
#   1. `docker exec c true` wall time through the docker CLI (mean ms over BENCH_RUNS);
#   2. the daemon-side part: exec create + start (hijacked, until the stream ends) + inspect from one
#      process without the CLI (bench/exec-api.py; median and p90 ms over BENCH_RUNS);
#   3. bytes/s through `exec c cat <200 MB file>` (API, and docker CLI piped to wc -c).
#
#   sudo bench/exec.sh          # BERTH_BUILD=build by default; BENCH_RUNS=30
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
RUNS=${BENCH_RUNS:-30}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
PY=/usr/bin/python3
[ "$(id -u)" -eq 0 ] || { echo "bench/exec.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
NS=berth-xbench-$$
TMP=$(mktemp -d /tmp/berth-xbench.XXXXXX)
BPID=
REF_SOCK=
cleanup() {
        [ -n "$REF_SOCK" ] && DOCKER_HOST=unix://$REF_SOCK docker rm -f xbench >/dev/null 2>&1 || true
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
                DOCKER_HOST=unix://$TMP/berth.sock docker rm -f xbench >/dev/null 2>&1 || true
                kill "$BPID"
                wait "$BPID" 2>/dev/null || true
        fi
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

"$ROOT/scripts/mkimage-busybox.sh" "$TMP/busybox.tar" >/dev/null
for sock in "$TMP/berth.sock" "$REF_SOCK"; do
        if ! DOCKER_HOST=unix://$sock docker image inspect busybox:latest >/dev/null 2>&1; then
                DOCKER_HOST=unix://$sock docker import -c 'CMD ["sh"]' "$TMP/busybox.tar" busybox:latest >/dev/null
        fi
        DOCKER_HOST=unix://$sock docker rm -f xbench >/dev/null 2>&1 || true
        DOCKER_HOST=unix://$sock docker run -d --name xbench busybox sleep 100000 >/dev/null
        DOCKER_HOST=unix://$sock docker exec xbench dd if=/dev/zero of=/tmp/big bs=1M count=200 2>/dev/null
done

cli_ms() { # sock
        DOCKER_HOST=unix://$1 docker exec xbench true # warm-up
        local t0 t1
        t0=$(date +%s%N)
        for _ in $(seq "$RUNS"); do DOCKER_HOST=unix://$1 docker exec xbench true; done
        t1=$(date +%s%N)
        echo "scale=1; ($t1 - $t0) / $RUNS / 1000000" | bc
}
cli_mbs() { # sock
        local t0 t1 n
        t0=$(date +%s%N)
        n=$(DOCKER_HOST=unix://$1 docker exec xbench cat /tmp/big | wc -c)
        t1=$(date +%s%N)
        echo "scale=0; $n * 1000 / ($t1 - $t0)" | bc
}

b_cli=$(cli_ms "$TMP/berth.sock"); r_cli=$(cli_ms "$REF_SOCK")
read -r b_med b_p90 < <($PY bench/exec-api.py "$TMP/berth.sock" xbench latency "$RUNS")
read -r r_med r_p90 < <($PY bench/exec-api.py "$REF_SOCK" xbench latency "$RUNS")
b_api=$($PY bench/exec-api.py "$TMP/berth.sock" xbench throughput /tmp/big)
r_api=$($PY bench/exec-api.py "$REF_SOCK" xbench throughput /tmp/big)
b_clib=$(cli_mbs "$TMP/berth.sock"); r_clib=$(cli_mbs "$REF_SOCK")

printf '| %-52s | %12s | %12s |\n' metric berthd reference
printf '|%s|%s|%s|\n' "------------------------------------------------------" "--------------" "--------------"
printf '| %-52s | %12s | %12s |\n' "docker exec c true, ms (CLI, mean)" "$b_cli" "$r_cli"
printf '| %-52s | %12s | %12s |\n' "exec create+start+inspect, ms (API, median)" "$b_med" "$r_med"
printf '| %-52s | %12s | %12s |\n' "exec create+start+inspect, ms (API, p90)" "$b_p90" "$r_p90"
printf '| %-52s | %12s | %12s |\n' "exec cat 200 MB, MB/s (API)" "$b_api" "$r_api"
printf '| %-52s | %12s | %12s |\n' "docker exec cat 200 MB | wc -c, MB/s (CLI)" "$b_clib" "$r_clib"
