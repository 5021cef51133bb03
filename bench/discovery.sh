#!/bin/bash
# Service discovery latency across two berthd "hosts" (docs/discovery.md): the time from `docker run -d`
# of a service with a published port on host A until its name resolves through the embedded DNS
# (127.0.0.11) of a container on host B. Target: under 1 s with the default lease settings.
#
# Two network namespaces joined by a veth pair (10.98.0.1/24 = A, 10.98.0.2/24 = B), an etcd in A
# listening on 10.98.0.1:2379, berthd in each with --discovery etcd://10.98.0.1:2379. A poller
# (tests/integration/dnsq.py) runs in B's client container's netns, asking every 5 ms; it is started
# before `docker run` and reports the wall-clock time of the first answer.
#
#   sudo bench/discovery.sh        # BERTH_BUILD=build by default; BENCH_RUNS=7
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
RUNS=${BENCH_RUNS:-7}
DNSQ=$ROOT/tests/integration/dnsq.py
[ "$(id -u)" -eq 0 ] || { echo "bench/discovery.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is required (apt-get install etcd-server etcd-client)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/berth-dbench.XXXXXX)
NA=berth-dbA-$$
NB=berth-dbB-$$
PIDS=()
cleanup() {
        for h in A B; do
                [ -S "$TMP/$h/berth.sock" ] && DOCKER_HOST=unix://$TMP/$h/berth.sock docker rm -f \
                        $(DOCKER_HOST=unix://$TMP/$h/berth.sock docker ps -aq 2>/dev/null) >/dev/null 2>&1 || true
        done
        for p in "${PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        for h in A B; do
                for m in $(pgrep -f "berth-monitor $TMP/$h/run" 2>/dev/null); do kill -9 "$m" 2>/dev/null || true; done
        done
        ip netns del "$NA" 2>/dev/null || true
        ip netns del "$NB" 2>/dev/null || true
        rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

ip netns add "$NA"
ip netns add "$NB"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
ip -n "$NA" link add vjoin type veth peer name vjoin netns "$NB"
ip -n "$NA" addr add 10.98.0.1/24 dev vjoin
ip -n "$NB" addr add 10.98.0.2/24 dev vjoin
ip -n "$NA" link set vjoin up
ip -n "$NB" link set vjoin up

nsenter --net=/run/netns/"$NA" etcd --name bench --data-dir "$TMP/etcd" \
        --listen-client-urls http://10.98.0.1:2379 --advertise-client-urls http://10.98.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster bench=http://127.0.0.1:2380 >"$TMP/etcd.log" 2>&1 </dev/null &
PIDS+=($!)
for _ in $(seq 100); do
        nsenter --net=/run/netns/"$NA" etcdctl --endpoints 10.98.0.1:2379 endpoint health >/dev/null 2>&1 && break
        sleep 0.2
done

"$ROOT/scripts/mkimage-busybox.sh" "$TMP/busybox.tar" >/dev/null
for h in A B; do
        ns=$NA; [ $h = B ] && ns=$NB
        mkdir -p "$TMP/$h"
        nsenter --net=/run/netns/"$ns" "$BERTHD" --data-root "$TMP/$h/data" --exec-root "$TMP/$h/run" \
                --pidfile "$TMP/$h/berthd.pid" -H "unix://$TMP/$h/berth.sock" --log-level warn \
                --discovery etcd://10.98.0.1:2379 >"$TMP/$h/berthd.log" 2>&1 </dev/null &
        PIDS+=($!)
        for _ in $(seq 100); do
                curl -s --unix-socket "$TMP/$h/berth.sock" http://x/_ping >/dev/null 2>&1 && break
                sleep 0.1
        done
        DOCKER_HOST=unix://$TMP/$h/berth.sock docker import -c 'CMD ["sh"]' "$TMP/busybox.tar" busybox:latest >/dev/null
done
A() { DOCKER_HOST=unix://$TMP/A/berth.sock docker "$@"; }
B() { DOCKER_HOST=unix://$TMP/B/berth.sock docker "$@"; }
B run -d --name client busybox sleep 3600 >/dev/null
CPID=$(B inspect -f '{{.State.Pid}}' client)

results=()
echo "run  docker-run-d(ms)  resolved-on-B(ms)"
for i in $(seq "$RUNS"); do
        name=svc$i
        nsenter --net=/proc/"$CPID"/ns/net /usr/bin/python3 "$DNSQ" "$name" A 127.0.0.11 --until-found 10 \
                >"$TMP/q$i" &
        qpid=$!
        sleep 0.3 # the poller is up and asking
        t0=$(date +%s.%N)
        A run -d --name "$name" -p $((18100 + i)):80 busybox httpd -f -p 80 >/dev/null
        t1=$(date +%s.%N)
        wait "$qpid"
        read -r at found < <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["at"], 1 if r["a"] else 0)' "$TMP/q$i")
        [ "$found" = 1 ] || { echo "run $i: $name never resolved on B" >&2; exit 1; }
        ms=$(echo "($at - $t0) * 1000" | bc -l)
        printf '%3d  %17.0f  %17.0f\n' "$i" "$(echo "($t1 - $t0) * 1000" | bc -l)" "$ms"
        results+=("$ms")
        A rm -f "$name" >/dev/null
done
printf '%s\n' "${results[@]}" | sort -n | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
        printf "median %.0f ms (min %.0f, max %.0f) over %d runs; target < 1000 ms\n", m, v[1], v[NR], NR}'
