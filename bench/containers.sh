#!/bin/bash
# Containers, berthd side by side with the reference dockerd, in one run:
#   1. `docker run --rm busybox true` through the docker CLI (median of BENCH_RUNS), the same through
#      `berth run --rm`, and the daemon-side part without any CLI (bench/containers-api.py: create, hijacked
#      attach, wait?condition=removed, start, stream end, wait body; median/p90/min);
#   2. 100 x `docker run -d busybox sleep 600` (total), then memory per running container: the container's
#      parent (berth-monitor / containerd-shim) + the container's process, RSS and PSS, and the daemons' growth;
#   3. `docker ps` and `docker ps -a` latency (median of 5) with 1000 containers (the 100 running + 900 created
#      over the API), then everything made here is removed (all of it carries the label berth-bench=containers).
#
#   sudo bench/containers.sh      # BERTH_BUILD=build by default; BENCH_RUNS=20, BENCH_RUNNING=100, BENCH_TOTAL=1000
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BERTHD=$BUILD/src/berthd
BERTH=$BUILD/src/berth
RUNS=${BENCH_RUNS:-20}
NRUN=${BENCH_RUNNING:-100}
NTOTAL=${BENCH_TOTAL:-1000}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
PY=/usr/bin/python3
LABEL=berth-bench=containers
export BENCH_LABEL=$LABEL
[ "$(id -u)" -eq 0 ] || { echo "bench/containers.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
NS=berth-cbench-$$
TMP=$(mktemp -d /tmp/berth-cbench.XXXXXX)
BPID=
REF_SOCK=
B_SOCK=$TMP/berth.sock

rm_ours() { # sock
        $PY bench/containers-api.py "$1" rmall >/dev/null 2>&1 || true
}
cleanup() {
        [ -n "$REF_SOCK" ] && rm_ours "$REF_SOCK"
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
                rm_ours "$B_SOCK"
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
        -H "unix://$B_SOCK" --log-level warn >"$TMP/berthd.log" 2>&1 </dev/null &
BPID=$!
for _ in $(seq 100); do
        curl -s --unix-socket "$B_SOCK" http://x/_ping >/dev/null 2>&1 && break
        sleep 0.1
done
REF_SOCK=$("$REFD" start | tail -1)
REF_DPID=$(cat "$(dirname "$REF_SOCK")/dockerd.pid" 2>/dev/null || echo 0)
REF_CPID=$(cat "$(dirname "$REF_SOCK")/containerd.pid" 2>/dev/null || echo 0)

"$ROOT/scripts/mkimage-busybox.sh" "$TMP/busybox.tar" >/dev/null
for sock in "$B_SOCK" "$REF_SOCK"; do
        if ! DOCKER_HOST=unix://$sock docker image inspect busybox:latest >/dev/null 2>&1; then
                DOCKER_HOST=unix://$sock docker import -c 'CMD ["sh"]' "$TMP/busybox.tar" busybox:latest >/dev/null
        fi
        rm_ours "$sock"
done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END { if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
timed_ms() { # command... -> ms
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1e6 }'
}
median_of() { # n command...
        local n=$1; shift
        "$@" >/dev/null # warm-up
        for _ in $(seq "$n"); do timed_ms "$@"; done | median
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
ppid_of() { awk '{print $4}' "/proc/$1/stat"; }
daemon_rss() { # berth|ref
        if [ "$1" = berth ]; then rss_kb "$BPID"; else echo $(( $(rss_kb "$REF_DPID") + $(rss_kb "$REF_CPID") )); fi
}

# ---- 1. run --rm latency ----
echo "measuring run --rm latency ($RUNS runs each)..." >&2
declare -A R
for d in b r; do
        [ $d = b ] && sock=$B_SOCK || sock=$REF_SOCK
        R[cli_$d]=$(median_of "$RUNS" env DOCKER_HOST=unix://$sock docker run --rm -l $LABEL busybox true)
        R[berth_$d]=$(median_of "$RUNS" "$BERTH" -H unix://$sock run --rm -l $LABEL busybox true)
        read -r R[api_$d] R[api90_$d] R[apimin_$d] < <($PY bench/containers-api.py "$sock" run "$RUNS")
        R[none_$d]=$(median_of "$RUNS" env DOCKER_HOST=unix://$sock docker run --rm --network none -l $LABEL busybox true)
done
R[ps0]=$(median_of 5 env DOCKER_HOST=unix://$B_SOCK docker ps -q)

# ---- 2. NRUN x run -d, memory ----
echo "starting $NRUN containers on each..." >&2
for d in b r; do
        [ $d = b ] && sock=$B_SOCK || sock=$REF_SOCK
        R[rss0_$d]=$(daemon_rss $([ $d = b ] && echo berth || echo ref))
        t0=$(now_ms)
        for _ in $(seq "$NRUN"); do DOCKER_HOST=unix://$sock docker run -d -l $LABEL busybox sleep 600 >/dev/null; done
        R[runN_$d]=$(( $(now_ms) - t0 ))
        sleep 2
        R[rss1_$d]=$(daemon_rss $([ $d = b ] && echo berth || echo ref))
        ids=$(DOCKER_HOST=unix://$sock docker ps -q --filter label=$LABEL --filter status=running)
        n=0; crss=0; cpss=0; declare -A seen=(); prss=0; ppss=0
        for pid in $(DOCKER_HOST=unix://$sock docker inspect -f '{{.State.Pid}}' $ids); do
                [ "$pid" -gt 0 ] || continue
                n=$((n + 1))
                crss=$((crss + $(rss_kb "$pid"))); cpss=$((cpss + $(pss_kb "$pid")))
                pp=$(ppid_of "$pid")
                if [ -z "${seen[$pp]:-}" ]; then
                        seen[$pp]=1
                        prss=$((prss + $(rss_kb "$pp"))); ppss=$((ppss + $(pss_kb "$pp")))
                fi
        done
        unset seen
        R[n_$d]=$n
        R[prss_$d]=$(awk -v a=$prss -v n=$n 'BEGIN { printf "%.0f", n ? a / n : 0 }')
        R[ppss_$d]=$(awk -v a=$ppss -v n=$n 'BEGIN { printf "%.0f", n ? a / n : 0 }')
        R[crss_$d]=$(awk -v a=$crss -v n=$n 'BEGIN { printf "%.0f", n ? a / n : 0 }')
        R[cpss_$d]=$(awk -v a=$cpss -v n=$n 'BEGIN { printf "%.0f", n ? a / n : 0 }')
        R[drss_$d]=$(awk -v a="${R[rss1_$d]}" -v b="${R[rss0_$d]}" -v n=$n 'BEGIN { printf "%.0f", n ? (a - b) / n : 0 }')
        R[pname_$d]=$(tr '\0' ' ' <"/proc/$pp/cmdline" 2>/dev/null | awk '{n=$1; sub(".*/", "", n); print n}')
done

# ---- 3. ps with NTOTAL containers ----
echo "creating $((NTOTAL - NRUN)) more containers on each..." >&2
for d in b r; do
        [ $d = b ] && sock=$B_SOCK || sock=$REF_SOCK
        R[create_$d]=$($PY bench/containers-api.py "$sock" create $((NTOTAL - NRUN)))
        R[all_$d]=$(DOCKER_HOST=unix://$sock docker ps -aq | wc -l)
        R[ps_$d]=$(median_of 5 env DOCKER_HOST=unix://$sock docker ps)
        R[psa_$d]=$(median_of 5 env DOCKER_HOST=unix://$sock docker ps -a)
        # curl's own startup is ~70 ms on a loaded machine: its time_total counts the request only
        R[psapi_$d]=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" \
                "http://x/v1.41/containers/json?all=1" | awk '{ printf "%.1f\n", $1 * 1000 }'; done | median)
done
echo "cleaning up..." >&2
for d in b r; do
        [ $d = b ] && sock=$B_SOCK || sock=$REF_SOCK
        R[rm_$d]=$(timed_ms rm_ours "$sock")
done

echo
echo "berth containers bench $(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "berthd: $BERTHD ($(git rev-parse --short HEAD 2>/dev/null || echo ?))  reference: dockerd" \
     "$(curl -s --unix-socket "$REF_SOCK" http://x/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1)"
printf '\n| %-58s | %12s | %12s | %12s |\n' metric berthd reference "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------------" "--------------" "--------------" "--------------"
row() { printf '| %-58s | %12s | %12s | %12s |\n' "$1" "$2" "$3" "$4"; }
row "docker run --rm busybox true, ms (CLI, median of $RUNS)" "${R[cli_b]}" "${R[cli_r]}" "$(ratio "${R[cli_r]}" "${R[cli_b]}") less"
row "  same with --network none, ms" "${R[none_b]}" "${R[none_r]}" "$(ratio "${R[none_r]}" "${R[none_b]}") less"
row "berth run --rm busybox true, ms (berth CLI, median)" "${R[berth_b]}" "${R[berth_r]}" "$(ratio "${R[berth_r]}" "${R[berth_b]}") less"
row "run --rm over the API, no CLI, ms (median)" "${R[api_b]}" "${R[api_r]}" "$(ratio "${R[api_r]}" "${R[api_b]}") less"
row "run --rm over the API, no CLI, ms (p90)" "${R[api90_b]}" "${R[api90_r]}" "$(ratio "${R[api90_r]}" "${R[api90_b]}") less"
row "run --rm over the API, no CLI, ms (min)" "${R[apimin_b]}" "${R[apimin_r]}" "$(ratio "${R[apimin_r]}" "${R[apimin_b]}") less"
row "$NRUN x docker run -d busybox sleep 600, total s" "$(awk -v m="${R[runN_b]}" 'BEGIN{printf "%.1f", m/1000}')" \
        "$(awk -v m="${R[runN_r]}" 'BEGIN{printf "%.1f", m/1000}')" "$(ratio "${R[runN_r]}" "${R[runN_b]}") less"
row "per container: ${R[pname_b]:-monitor} / ${R[pname_r]:-shim} RSS KB" "${R[prss_b]}" "${R[prss_r]}" "$(ratio "${R[prss_r]}" "${R[prss_b]}") less"
row "per container: ${R[pname_b]:-monitor} / ${R[pname_r]:-shim} PSS KB" "${R[ppss_b]}" "${R[ppss_r]}" "$(ratio "${R[ppss_r]}" "${R[ppss_b]}") less"
row "per container: the container's process (sleep) RSS / PSS KB" "${R[crss_b]} / ${R[cpss_b]}" "${R[crss_r]} / ${R[cpss_r]}" ""
row "per container: daemon RSS growth KB (berthd / dockerd+containerd)" "${R[drss_b]}" "${R[drss_r]}" ""
row "per container total RSS KB (parent + process + daemon growth)" "$((R[prss_b] + R[crss_b] + R[drss_b]))" \
        "$((R[prss_r] + R[crss_r] + R[drss_r]))" "$(ratio $((R[prss_r] + R[crss_r] + R[drss_r])) $((R[prss_b] + R[crss_b] + R[drss_b]))) less"
row "create $((NTOTAL - NRUN)) containers over the API, total s" "$(awk -v m="${R[create_b]}" 'BEGIN{printf "%.1f", m/1000}')" \
        "$(awk -v m="${R[create_r]}" 'BEGIN{printf "%.1f", m/1000}')" "$(ratio "${R[create_r]}" "${R[create_b]}") less"
row "docker ps, ms (median of 5; ${R[all_b]} / ${R[all_r]} containers)" "${R[ps_b]}" "${R[ps_r]}" "$(ratio "${R[ps_r]}" "${R[ps_b]}") less"
row "docker ps -a, ms (median of 5)" "${R[psa_b]}" "${R[psa_r]}" "$(ratio "${R[psa_r]}" "${R[psa_b]}") less"
row "GET /containers/json?all=1, ms (curl time_total, median)" "${R[psapi_b]}" "${R[psapi_r]}" "$(ratio "${R[psapi_r]}" "${R[psapi_b]}") less"
row "remove all ${R[all_b]} (force), s" "$(awk -v m="${R[rm_b]}" 'BEGIN{printf "%.1f", m/1000}')" \
        "$(awk -v m="${R[rm_r]}" 'BEGIN{printf "%.1f", m/1000}')" "$(ratio "${R[rm_r]}" "${R[rm_b]}") less"
echo
echo "docker CLI floor: \`docker ps -q\` against an empty berthd takes ${R[ps0]} ms here."
echo "target: docker run --rm busybox true <= 30 ms through the docker CLI: $(awk -v a="${R[cli_b]}" 'BEGIN { print (a <= 30) ? "met" : "MISSED" }')"
