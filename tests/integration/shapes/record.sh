#!/bin/sh
# Records the JSON shapes of a reference Docker daemon (API 1.41) that test_shapes.py compares berthd
# against, key by key. Usage: record.sh [SOCKET]  (default: the shared reference daemon's socket).
# Needs a busybox:latest image there. Every object it creates is removed again.
set -eu
SOCK=${1:-/run/berth-ref/docker.sock}
OUT=$(cd "$(dirname "$0")" && pwd)
V=v1.41
get() { curl -sf --unix-socket "$SOCK" "http://x/$V$1"; }
post() { curl -sf --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' -d "$2" "http://x/$V$1"; }
del() { curl -s --unix-socket "$SOCK" -X DELETE "http://x/$V$1" >/dev/null; }
save() { python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=1, sort_keys=True)' \
        >"$OUT/$1.json"; echo "recorded $1"; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])'; }

P=shape-rec-$$
cleanup() {
        del "/containers/$P-created?force=1"
        del "/containers/$P-running?force=1"
        del "/networks/$P-net"
}
trap cleanup EXIT

# The smallest body a client can send: every other key is the daemon's default.
post "/containers/create?name=$P-created" '{"Image":"busybox"}' >/dev/null
get "/containers/$P-created/json" | save container-inspect-created
# Before 1.21 and 1.20 the shape differs (Networks, Mounts, Volumes/VolumesRW, resources in Config).
for OLD in v1.12 v1.20; do
        curl -sf --unix-socket "$SOCK" "http://x/$OLD/containers/$P-created/json" | save container-inspect-created-$OLD
done
post /networks/create "{\"Name\":\"$P-net\"}" >/dev/null
post "/containers/create?name=$P-running" \
        "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"300\"],\"HostConfig\":{\"NetworkMode\":\"$P-net\"}}" >/dev/null
post "/containers/$P-running/start" '' >/dev/null
get "/containers/$P-running/json" | save container-inspect-running
get "/containers/$P-running/json?size=1" | save container-inspect-size
get "/containers/json?all=1&filters=%7B%22name%22%3A%5B%22$P-running%22%5D%7D" |
        python3 -c 'import json,sys; json.dump(json.load(sys.stdin)[0], sys.stdout)' | save container-list-item
get "/containers/json?all=1&size=1&filters=%7B%22name%22%3A%5B%22$P-running%22%5D%7D" |
        python3 -c 'import json,sys; json.dump(json.load(sys.stdin)[0], sys.stdout)' | save container-list-item-size
EXEC=$(post "/containers/$P-running/exec" '{"Cmd":["true"],"AttachStdout":true}' | id_of)
get "/exec/$EXEC/json" | save exec-inspect
get /images/busybox/json | save image-inspect
get "/images/json?filters=%7B%22reference%22%3A%5B%22busybox%22%5D%7D" |
        python3 -c 'import json,sys; json.dump(json.load(sys.stdin)[0], sys.stdout)' | save image-list-item
get /networks/bridge | save network-inspect-bridge
get "/networks/$P-net" | save network-inspect-user
get "/networks?filters=%7B%22name%22%3A%5B%22$P-net%22%5D%7D" |
        python3 -c 'import json,sys; json.dump(json.load(sys.stdin)[0], sys.stdout)' | save network-list-item
get /info | save info
get /version | save version
get /system/df | save system-df

# The key sets of the v1.52 spec that the test checks newer versions against.
REPO=$OUT/../../..
SPEC=${SPEC_152:-}
for d in "$REPO/../shared" "$REPO/../../shared"; do
        [ -n "$SPEC" ] || [ ! -f "$d/reference/docker-engine-api-v1.52.yaml" ] || SPEC=$d/reference/docker-engine-api-v1.52.yaml
done
if [ -n "$SPEC" ]; then
        python3 - "$SPEC" >"$OUT/spec-v1.52-keys.json" <<'PY'
import json, sys, yaml
defs = yaml.safe_load(open(sys.argv[1]))["definitions"]
def props(name):
    x, out = defs[name], {}
    for part in x.get("allOf", []):
        out.update(props(part["$ref"].split("/")[-1]) if "$ref" in part else part.get("properties", {}))
    out.update(x.get("properties", {}))
    return out
names = ["HostConfig", "ContainerConfig", "ContainerInspectResponse", "NetworkSettings", "EndpointSettings",
         "ContainerSummary", "SystemInfo", "ImageInspect", "ImageSummary", "NetworkInspect", "NetworkSummary",
         "SystemVersion"]
out = {n: sorted(props(n)) for n in names}
for path, name in (("/exec/{id}/json", "ExecInspect"), ("/system/df", "SystemDataUsage")):
    resp = yaml.safe_load(open(sys.argv[1]))["paths"][path]["get"]["responses"]
    out[name] = sorted(resp.get(200, resp.get("200"))["schema"]["properties"])
json.dump(out, sys.stdout, indent=1)
PY
        echo "recorded spec-v1.52-keys"
fi
