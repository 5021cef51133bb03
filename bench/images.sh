#!/bin/bash
# Image benchmark, berthd side by side with the reference dockerd:
#   1. pull of a multi-layer image (BENCH_LAYERS layers of BENCH_MB_PER_LAYER MB of random data, default 4x50 MB)
#      from a local docker-registry (uncompressed layers, as berth pushes them), after rmi, seconds;
#   2. docker save to /dev/null and docker load of that tar: MB/s;
#   3. docker commit latency of a container that wrote 10 MB, mean ms over BENCH_RUNS.
# berthd runs in a new network namespace with its own registry on 127.0.0.1:5070; the reference daemon runs in
# berth-ref with a second registry process on its own 127.0.0.1:5070; both registries serve one storage dir.
#
#   sudo bench/images.sh           # BERTH_BUILD=build by default
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
BUILD=${BERTH_BUILD:-build}
BERTHD=$ROOT/$BUILD/src/berthd
LAYERS=${BENCH_LAYERS:-4}
MB=${BENCH_MB_PER_LAYER:-50}
RUNS=${BENCH_RUNS:-5}
REFD=${REF_DOCKERD:-$ROOT/../shared/tools/reference-dockerd}
PORT=5070
[ "$(id -u)" -eq 0 ] || { echo "bench/images.sh: run as root" >&2; exit 1; }
[ -x "$BERTHD" ] || { echo "no $BERTHD (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "docker-registry is required (apt-get install docker-registry)" >&2; exit 1; }
NS=berth-ibench-$$
TMP=$(mktemp -d /tmp/berth-ibench.XXXXXX)
BPID= R1= R2= REF_SOCK=
IMG=127.0.0.1:$PORT/bench:1
cleanup() {
        if [ -n "$REF_SOCK" ]; then
                DOCKER_HOST=unix://$REF_SOCK docker rm -f ibench-c >/dev/null 2>&1 || true
                DOCKER_HOST=unix://$REF_SOCK docker rmi -f $IMG ibench-commit ibench-load:1 >/dev/null 2>&1 || true
        fi
        if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
                DOCKER_HOST=unix://$TMP/berth.sock docker rm -f ibench-c >/dev/null 2>&1 || true
                kill "$BPID"; wait "$BPID" 2>/dev/null || true
        fi
        for p in $R1 $R2; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
        rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

ip netns add "$NS"
nsenter --net=/run/netns/"$NS" ip link set lo up
REF_SOCK=$("$REFD" start | tail -1)
cat >"$TMP/reg.yml" <<EOT
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/registry
http:
  addr: 127.0.0.1:$PORT
EOT
nsenter --net=/run/netns/"$NS" /usr/bin/docker-registry serve "$TMP/reg.yml" >/dev/null 2>&1 & R1=$!
nsenter --net=/run/netns/berth-ref /usr/bin/docker-registry serve "$TMP/reg.yml" >/dev/null 2>&1 & R2=$!
nsenter --net=/run/netns/"$NS" "$BERTHD" -H unix://"$TMP/berth.sock" --data-root "$TMP/data" \
        --exec-root "$TMP/run" --pidfile "$TMP/berthd.pid" >"$TMP/berthd.log" 2>&1 & BPID=$!
for i in $(seq 100); do curl -s --unix-socket "$TMP/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
B() { DOCKER_HOST=unix://$TMP/berth.sock docker "$@"; }
R() { DOCKER_HOST=unix://$REF_SOCK docker "$@"; }
now() { date +%s.%N; }
el() { echo "$(now) - $1" | bc; }

# the image: a docker-save tar of random layers, loaded into berth and pushed
/usr/bin/python3 - "$TMP/img.tar" "$LAYERS" "$MB" "$IMG" <<'EOP'
import hashlib, io, json, os, sys, tarfile
out, n, mb, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with tarfile.open(out, "w") as t:
    dids, names = [], []
    for i in range(n):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w") as lt:
            data = os.urandom(mb << 20)
            ti = tarfile.TarInfo(f"data{i}.bin"); ti.size = len(data)
            lt.addfile(ti, io.BytesIO(data))
        raw = b.getvalue()
        dids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        ti = tarfile.TarInfo(f"l{i}.tar"); ti.size = len(raw); t.addfile(ti, io.BytesIO(raw)); names.append(ti.name)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": dids}}).encode()
    for nm, data in (("config.json", cfg), ("manifest.json", json.dumps(
            [{"Config": "config.json", "RepoTags": [name], "Layers": names}]).encode())):
        ti = tarfile.TarInfo(nm); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
EOP
SIZE_MB=$(( $(stat -c %s "$TMP/img.tar") >> 20 ))
B load -q -i "$TMP/img.tar" >/dev/null
B push $IMG >/dev/null
echo "image: $LAYERS layers, $SIZE_MB MB"

t=$(now); B rmi $IMG >/dev/null; B pull -q $IMG >/dev/null; bp=$(el $t)
R rmi $IMG >/dev/null 2>&1 || true
t=$(now); R pull -q $IMG >/dev/null; rp=$(el $t)
printf "%-26s %10s %10s\n" "" berth reference
printf "%-26s %10.2f %10.2f\n" "pull ${SIZE_MB}MB (s)" "$bp" "$rp"

t=$(now); B save $IMG >/dev/null; bs=$(el $t)
t=$(now); R save $IMG >/dev/null; rs=$(el $t)
printf "%-26s %10.0f %10.0f\n" "save (MB/s)" "$(echo "$SIZE_MB / $bs" | bc -l)" "$(echo "$SIZE_MB / $rs" | bc -l)"
B rmi $IMG >/dev/null; R rmi $IMG >/dev/null
t=$(now); B load -q -i "$TMP/img.tar" >/dev/null; bl=$(el $t)
t=$(now); R load -q -i "$TMP/img.tar" >/dev/null; rl=$(el $t)
printf "%-26s %10.0f %10.0f\n" "load (MB/s)" "$(echo "$SIZE_MB / $bl" | bc -l)" "$(echo "$SIZE_MB / $rl" | bc -l)"

commit_ms() { # $1: B or R
        local tot=0
        for i in $(seq "$RUNS"); do
                $1 rm -f ibench-c >/dev/null 2>&1 || true
                $1 run --name ibench-c busybox sh -c 'dd if=/dev/urandom of=/f bs=1M count=10 2>/dev/null' >/dev/null
                local t=$(now)
                $1 commit ibench-c ibench-commit >/dev/null
                tot=$(echo "$tot + $(el $t)" | bc)
                $1 rm -f ibench-c >/dev/null
                $1 rmi ibench-commit >/dev/null
        done
        echo "$tot * 1000 / $RUNS" | bc -l
}
if ! B image inspect busybox >/dev/null 2>&1; then
        R save busybox:latest | B load -q >/dev/null
fi
printf "%-26s %10.0f %10.0f\n" "commit 10MB (ms)" "$(commit_ms B)" "$(commit_ms R)"
