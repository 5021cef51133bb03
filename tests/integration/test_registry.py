"""Registry client: push/pull against Debian's docker-registry started inside
the berthd test namespace (plain and htpasswd), login, hostile registries
served by a tiny python server in the same namespace, and interoperability
with the reference daemon."""
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

REGISTRY = "/usr/bin/docker-registry"
pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry not installed")


class Registry:
    def __init__(self, d, port, htpasswd=None):
        self.d = d
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="berth-reg-")
        cfg = ["version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
               f"    rootdirectory: {self.dir}/data", "  delete:", "    enabled: true", "http:",
               f"  addr: 127.0.0.1:{port}"]
        if htpasswd:
            user, pw = htpasswd
            hp = os.path.join(self.dir, "htpasswd")
            line = subprocess.run(["htpasswd", "-Bbn", user, pw], capture_output=True, check=True).stdout
            open(hp, "wb").write(line)
            cfg += ["auth:", "  htpasswd:", "    realm: berth-test", f"    path: {hp}"]
        self.cfg = os.path.join(self.dir, "config.yml")
        open(self.cfg, "w").write("\n".join(cfg) + "\n")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", REGISTRY, "serve", self.cfg],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            r = d.nsenter(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           f"http://127.0.0.1:{port}/v2/"], capture_output=True)
            if r.stdout in (b"200", b"401"):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("registry did not start")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def reg(busybox):
    r = Registry(busybox, 5000)
    yield r
    r.stop()


@pytest.fixture(scope="module")
def authreg(busybox):
    r = Registry(busybox, 5001, htpasswd=("alice", "s3cret"))
    yield r
    r.stop()


def xra(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def stream(d, path, headers=()):
    st, h, b = d.curl(path, method="POST", headers=list(headers))
    return st, [json.loads(x) for x in b.decode().splitlines() if x.strip()], b


def small_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def layer_dirs(d):
    p = os.path.join(d.data_root, "image", "layers")
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def test_push_pull_round_trip(busybox, reg):
    d = busybox
    name = f"{reg.host}/bb:1"
    d.docker("tag", "busybox", name)
    iid = json.loads(d.docker("image", "inspect", name).stdout)[0]["Id"]
    r = d.docker("push", name)
    out = r.stdout.decode()
    assert f"The push refers to repository [{reg.host}/bb]" in out
    assert "1: digest: sha256:" in out
    # pushing again: layers exist
    st, msgs, _ = stream(d, f"/images/{reg.host}/bb/push?tag=1", ["X-Registry-Auth: e30="])
    assert st == 200 and any(m.get("status") == "Layer already exists" for m in msgs)
    aux = [m["aux"] for m in msgs if "aux" in m][0]
    assert aux["Tag"] == "1" and aux["Digest"].startswith("sha256:")
    # the registry has what we pushed: manifest digest matches
    rr = d.nsenter(["curl", "-s", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                    f"http://{reg.host}/v2/bb/manifests/1"], capture_output=True)
    assert "sha256:" + hashlib.sha256(rr.stdout).hexdigest() == aux["Digest"]
    # pull back after removing everything
    d.docker("rmi", name)
    d.docker("rmi", f"{reg.host}/bb@{aux['Digest']}", check=False)
    d.docker("tag", "busybox", "keepbb:1")
    d.docker("rmi", "busybox")
    st, msgs, raw = stream(d, f"/images/create?fromImage={reg.host}/bb&tag=1", ["X-Registry-Auth: e30="])
    assert st == 200, raw
    statuses = [m.get("status", "") for m in msgs]
    assert statuses[0] == "Pulling from bb"
    assert f"Digest: {aux['Digest']}" in statuses
    assert f"Status: Downloaded newer image for {reg.host}/bb:1" in statuses
    insp = json.loads(d.docker("image", "inspect", name).stdout)[0]
    assert insp["Id"] == iid
    assert f"{reg.host}/bb@{aux['Digest']}" in insp["RepoDigests"]
    # up to date
    r = d.docker("pull", name)
    assert b"Image is up to date" in r.stdout
    # by digest
    r = d.docker("pull", f"{reg.host}/bb@{aux['Digest']}")
    assert r.returncode == 0
    d.docker("tag", "keepbb:1", "busybox")


def test_pull_layers_fresh_and_parallel(busybox, reg):
    d = busybox
    # an image with three layers: load it from a crafted save tar, push, drop, pull
    layers = [small_tar({f"l{i}/f": os.urandom(300000)}) for i in range(3)]
    dids = ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": dids},
                      "history": [{"created": "2026-01-01T00:00:00Z"}] * 3}).encode()
    files = {"cfg.json": cfg, "manifest.json": json.dumps(
        [{"Config": "cfg.json", "RepoTags": [f"{reg.host}/three:1"],
          "Layers": [f"l{i}.tar" for i in range(3)]}]).encode()}
    for i, x in enumerate(layers):
        files[f"l{i}.tar"] = x
    st, h, b = d.curl("/images/load?quiet=1", method="POST", data=small_tar(files))
    assert b"Loaded image" in b
    d.docker("push", f"{reg.host}/three:1")
    d.docker("rmi", f"{reg.host}/three:1")
    assert not any(os.path.exists(os.path.join(d.data_root, "image", "layers", x[7:])) for x in dids)
    # an interrupted earlier pull left half of layer 1 behind: it is resumed, not restarted
    blobs = os.path.join(d.data_root, "image", "blobs")
    os.makedirs(blobs, exist_ok=True)
    open(os.path.join(blobs, dids[1][7:] + ".partial"), "wb").write(layers[1][:len(layers[1]) // 2])
    # two pulls at once: both succeed, the layers are stored once
    p1 = subprocess.Popen(["docker", "pull", f"{reg.host}/three:1"], env=d.env(), stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["docker", "pull", f"{reg.host}/three:1"], env=d.env(), stdout=subprocess.PIPE)
    o1, _ = p1.communicate(60)
    o2, _ = p2.communicate(60)
    assert p1.returncode == 0 and p2.returncode == 0, (o1, o2)
    insp = json.loads(d.docker("image", "inspect", f"{reg.host}/three:1").stdout)[0]
    assert insp["RootFS"]["Layers"] == dids
    assert o1.count(b"Pull complete") + o2.count(b"Pull complete") >= 3
    assert not os.listdir(blobs)  # finished blobs are not kept twice


def test_pull_missing_tag_is_404(busybox, reg):
    d = busybox
    st, h, b = d.curl(f"/images/create?fromImage={reg.host}/nonexistent&tag=latest", method="POST")
    assert st == 404
    assert json.loads(b)["message"].startswith(f"manifest for {reg.host}/nonexistent:latest not found")
    r = d.docker("pull", f"{reg.host}/nonexistent", check=False)
    assert r.returncode != 0 and b"not found" in r.stderr


def test_push_unknown_image(busybox, reg):
    d = busybox
    st, h, b = d.curl(f"/images/{reg.host}/nosuch/push?tag=latest", method="POST")
    assert st == 404
    assert b"An image does not exist locally with the tag: " + reg.host.encode() + b"/nosuch" in b


def test_auth_registry(busybox, authreg):
    d = busybox
    good = {"username": "alice", "password": "s3cret", "serveraddress": authreg.host}
    st, h, b = d.curl("/auth", method="POST", data=json.dumps(good).encode(),
                      headers=["Content-Type: application/json"])
    assert st == 200 and json.loads(b) == {"IdentityToken": "", "Status": "Login Succeeded"}
    bad = dict(good, password="nope")
    st, h, b = d.curl("/auth", method="POST", data=json.dumps(bad).encode(),
                      headers=["Content-Type: application/json"])
    assert st == 401
    name = f"{authreg.host}/secret"
    d.docker("tag", "busybox", name + ":1")
    # anonymous push is refused
    st, msgs, raw = stream(d, f"/images/{name}/push?tag=1", ["X-Registry-Auth: e30="])
    assert st != 200 or any("error" in m for m in msgs), raw
    st, msgs, raw = stream(d, f"/images/{name}/push?tag=1", ["X-Registry-Auth: " + xra(good)])
    assert st == 200 and not any("error" in m for m in msgs), raw
    d.docker("rmi", name + ":1")
    st, h, b = d.curl(f"/images/create?fromImage={name}&tag=1", method="POST")
    assert st != 200 or b"error" in b
    st, msgs, raw = stream(d, f"/images/create?fromImage={name}&tag=1", ["X-Registry-Auth: " + xra(good)])
    assert st == 200 and any("Status:" in m.get("status", "") for m in msgs), raw


HOSTILE_SERVER = r'''
import hashlib, http.server, json, sys
port = int(sys.argv[1])
layer = b"x" * 4096
good = hashlib.sha256(layer).hexdigest()
wrong = "0" * 64
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
                  "diff_ids": ["sha256:" + good]}}).encode()
cdig = hashlib.sha256(cfg).hexdigest()
def manifest(ldig, size):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(cfg),
                   "digest": "sha256:" + cdig},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": size,
                    "digest": "sha256:" + ldig}]}).encode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, ctype="application/json", length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        p = self.path
        if p == "/v2/":
            return self.send(200, b"{}")
        if "/manifests/" in p:
            tag = p.rsplit("/", 1)[1]
            if tag == "wrongdigest":   # layer bytes do not hash to the digest
                return self.send(200, manifest(wrong, len(layer)), "application/vnd.docker.distribution.manifest.v2+json")
            if tag == "truncated":
                return self.send(200, manifest("1" * 64, len(layer)), "application/vnd.docker.distribution.manifest.v2+json")
            if tag == "huge":
                return self.send(200, b"{" + b" " * (8 * 1024 * 1024) + b"}", "application/vnd.docker.distribution.manifest.v2+json")
            if tag.startswith("sha256:"):  # manifest by digest whose bytes hash otherwise
                return self.send(200, manifest(good, len(layer)), "application/vnd.docker.distribution.manifest.v2+json")
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
        if "/blobs/sha256:" + cdig in p:
            return self.send(200, cfg, "application/octet-stream")
        if "/blobs/sha256:" + wrong in p:
            return self.send(200, layer, "application/octet-stream")
        if "/blobs/sha256:" + "1" * 64 in p:
            self.send_response(200)
            self.send_header("Content-Length", str(len(layer)))
            self.end_headers()
            self.wfile.write(layer[:100])
            self.wfile.flush()
            self.close_connection = True
            return
        return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def test_hostile_registry(busybox):
    d = busybox
    script = os.path.join(d.base, "hostile.py")
    open(script, "w").write(HOSTILE_SERVER)
    proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", "/usr/bin/python3", script, "5009"])
    try:
        for _ in range(50):
            r = d.nsenter(["curl", "-s", "http://127.0.0.1:5009/v2/"], capture_output=True)
            if r.stdout == b"{}":
                break
            time.sleep(0.1)
        before = layer_dirs(d)
        imgs = d.docker("images", "-aq").stdout
        for tag, needle in [("wrongdigest", b"verification failed"), ("truncated", b""), ("huge", b"")]:
            st, h, b = d.curl(f"/images/create?fromImage=127.0.0.1:5009/h&tag={tag}", method="POST")
            assert st != 200 or b'"error"' in b, (tag, st, b)
            assert needle in b, (tag, b)
            assert layer_dirs(d) == before
            assert d.docker("images", "-aq").stdout == imgs
        # by digest: the manifest's bytes do not hash to the digest asked for
        st, h, b = d.curl("/images/create?fromImage=127.0.0.1:5009/h@sha256:" + "2" * 64, method="POST")
        assert st != 200 and b"verification failed" in b
        tmp = os.path.join(d.data_root, "tmp")
        assert not [x for x in os.listdir(tmp) if x.startswith("layer-")]
    finally:
        proc.terminate()
        proc.wait()


def test_reference_daemon_interop(busybox, tmp_path):
    """berth and the reference daemon live in different namespaces; each gets a
    registry on its own loopback, both serving one storage directory."""
    from test_save_load import ref_docker, ref_sock
    d = busybox
    sock = ref_sock()
    if not sock:
        pytest.skip("reference daemon not available")
    store = str(tmp_path / "store")
    cfg = tmp_path / "config.yml"
    cfg.write_text("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                   f"    rootdirectory: {store}\nhttp:\n  addr: 127.0.0.1:5055\n")
    procs = [subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", REGISTRY, "serve", str(cfg)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for ns in (d.netns, "berth-ref")]
    try:
        time.sleep(1.0)
        host = "127.0.0.1:5055"
        # berth -> registry -> reference
        d.docker("tag", "busybox", f"{host}/fromberth:1")
        bid = json.loads(d.docker("image", "inspect", f"{host}/fromberth:1").stdout)[0]["Id"]
        d.docker("push", f"{host}/fromberth:1")
        ref_docker(sock, "rmi", f"{host}/fromberth:1", check=False)
        r = ref_docker(sock, "pull", f"{host}/fromberth:1")
        assert b"Downloaded newer image" in r.stdout or b"up to date" in r.stdout
        rid = json.loads(ref_docker(sock, "image", "inspect", f"{host}/fromberth:1").stdout)[0]["Id"]
        assert rid == bid
        r = ref_docker(sock, "run", "--rm", f"{host}/fromberth:1", "echo", "hi-from-ref")
        assert r.stdout.strip() == b"hi-from-ref"
        ref_docker(sock, "rmi", f"{host}/fromberth:1")
        # reference -> registry (gzip layers) -> berth
        ref_docker(sock, "tag", "busybox:latest", f"{host}/fromref:1")
        refid = json.loads(ref_docker(sock, "image", "inspect", f"{host}/fromref:1").stdout)[0]["Id"]
        ref_docker(sock, "push", f"{host}/fromref:1")
        ref_docker(sock, "rmi", f"{host}/fromref:1")
        r = d.docker("pull", f"{host}/fromref:1")
        assert b"Downloaded newer image" in r.stdout
        insp = json.loads(d.docker("image", "inspect", f"{host}/fromref:1").stdout)[0]
        assert insp["Id"] == refid
    finally:
        for p in procs:
            p.terminate()
            p.wait()


TOKEN_SERVER = r'''
import base64, hashlib, http.server, io, json, sys, tarfile
port = int(sys.argv[1])
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w") as t:
    ti = tarfile.TarInfo("tok.txt"); data = b"behind a token\n"; ti.size = len(data); t.addfile(ti, io.BytesIO(data))
layer = b.getvalue()
ldig = "sha256:" + hashlib.sha256(layer).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [ldig]}}).encode()
cdig = "sha256:" + hashlib.sha256(cfg).hexdigest()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(cfg), "digest": cdig},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer), "digest": ldig}]}).encode()
mdig = "sha256:" + hashlib.sha256(man).hexdigest()
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "sha256:" + "e" * 64,
     "platform": {"os": "linux", "architecture": "arm64"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(man), "digest": mdig,
     "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
GOOD = "Basic " + base64.b64encode(b"bob:pw").decode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        p = self.path
        if p.startswith("/token"):
            if self.headers.get("Authorization") != GOOD:
                return self.send(401, b'{"details":"bad"}')
            return self.send(200, json.dumps({"token": "T0K", "expires_in": 300}).encode())
        if self.headers.get("Authorization") != "Bearer T0K":
            ch = f'Bearer realm="http://127.0.0.1:{port}/token",service="127.0.0.1:{port}"'
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             extra=[("WWW-Authenticate", ch)])
        if p == "/v2/": return self.send(200, b"{}")
        if p == "/v2/tok/manifests/1": return self.send(200, index, "application/vnd.oci.image.index.v1+json")
        if p == "/v2/tok/manifests/" + mdig: return self.send(200, man, "application/vnd.oci.image.manifest.v1+json")
        if p == "/v2/tok/blobs/" + cdig: return self.send(200, cfg, "application/octet-stream")
        if p == "/v2/tok/blobs/" + ldig: return self.send(200, layer, "application/octet-stream")
        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def test_bearer_token_registry_and_oci_index(busybox):
    d = busybox
    script = os.path.join(d.base, "token.py")
    open(script, "w").write(TOKEN_SERVER)
    proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", "/usr/bin/python3", script, "5010"])
    try:
        for _ in range(50):
            r = d.nsenter(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:5010/v2/"],
                          capture_output=True)
            if r.stdout == b"401":
                break
            time.sleep(0.1)
        good = {"username": "bob", "password": "pw", "serveraddress": "127.0.0.1:5010"}
        st, h, b = d.curl("/auth", method="POST", data=json.dumps(good).encode(),
                          headers=["Content-Type: application/json"])
        assert st == 200 and json.loads(b)["Status"] == "Login Succeeded"
        st, h, b = d.curl("/auth", method="POST", data=json.dumps(dict(good, password="x")).encode(),
                          headers=["Content-Type: application/json"])
        assert st == 401
        # anonymous: the token endpoint refuses
        st, h, b = d.curl("/images/create?fromImage=127.0.0.1:5010/tok&tag=1", method="POST")
        assert st != 200 or b'"error"' in b
        # with credentials: index -> linux/amd64 manifest (OCI) -> blobs
        st, msgs, raw = stream(d, "/images/create?fromImage=127.0.0.1:5010/tok&tag=1",
                               ["X-Registry-Auth: " + xra(good)])
        assert st == 200 and not any("error" in m for m in msgs), raw
        insp = json.loads(d.docker("image", "inspect", "127.0.0.1:5010/tok:1").stdout)[0]
        assert insp["Config"]["Cmd"] == ["sh"] and len(insp["RootFS"]["Layers"]) == 1
    finally:
        proc.terminate()
        proc.wait()


EDGE_SERVER = r'''
import hashlib, http.server, json, os, ssl, sys, threading
mode, port, hits = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}).encode()
cdig = "sha256:" + hashlib.sha256(cfg).hexdigest()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(cfg), "digest": cdig},
    "layers": []}).encode()
def record(line):
    with open(hits, "a") as f:
        f.write(line + "\n")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        p = self.path
        if self.server.server_address[1] != port:  # the side server: token realm or redirect target
            record("side %s auth=%s" % (p, self.headers.get("Authorization")))
            return self.send(200, json.dumps({"token": "T0K"}).encode() if p.startswith("/token") else cfg)
        if mode == "realm" and self.headers.get("Authorization") != "Bearer T0K":
            ch = 'Bearer realm="http://127.0.0.2:%d/token",service="x"' % (port + 1)
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}', [("WWW-Authenticate", ch)])
        if p == "/v2/": return self.send(200, b"{}")
        if "/manifests/" in p:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
            self.send_header("Content-Length", str(len(man)))
            self.end_headers()
            if self.command != "HEAD": self.wfile.write(man)
            return
        if p.endswith("/blobs/" + cdig):
            if mode == "redirect":
                return self.send(307, b"", [("Location", "http://127.0.0.1:%d/blob" % (port + 1))])
            return self.send(200, cfg)
        return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"x"}]}')
main = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
if mode == "redirect":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    main.socket = ctx.wrap_socket(main.socket, server_side=True)
side = http.server.ThreadingHTTPServer(("127.0.0.2" if mode == "realm" else "127.0.0.1", port + 1), H)
threading.Thread(target=side.serve_forever, daemon=True).start()
main.serve_forever()
'''


def _edge_server(d, mode, port, *extra):
    script = os.path.join(d.base, "edge.py")
    open(script, "w").write(EDGE_SERVER)
    hits = os.path.join(d.base, f"hits-{mode}")
    open(hits, "w").close()
    proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", "/usr/bin/python3", script, mode, str(port),
                             hits, *extra])
    scheme = "https" if mode == "redirect" else "http"
    for _ in range(100):
        r = d.nsenter(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", f"{scheme}://127.0.0.1:{port}/v2/"],
                      capture_output=True)
        if r.stdout in (b"200", b"401"):
            break
        time.sleep(0.1)
    return proc, hits


def test_no_redirect_from_https_to_http(busybox):
    d = busybox
    c = os.path.join(d.base, "edge-certs")
    os.makedirs(c, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{c}/k.pem", "-out",
                    f"{c}/c.pem", "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    proc, hits = _edge_server(d, "redirect", 5020, f"{c}/c.pem", f"{c}/k.pem")
    try:
        st, msgs, raw = stream(d, "/images/create?fromImage=127.0.0.1:5020/r&tag=1")
        assert b"refusing a redirect from https to plain http" in raw, raw
        assert open(hits).read() == ""  # the plain-http target was never asked
        assert d.docker("images", "-q", "127.0.0.1:5020/r").stdout.strip() == b""
    finally:
        proc.terminate()
        proc.wait()


def test_password_not_sent_to_foreign_plain_http_realm(busybox):
    d = busybox
    d.nsenter(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], capture_output=True)
    proc, hits = _edge_server(d, "realm", 5022)
    try:
        creds = {"username": "bob", "password": "pw", "serveraddress": "127.0.0.1:5022"}
        st, msgs, raw = stream(d, "/images/create?fromImage=127.0.0.1:5022/r&tag=1",
                               ["X-Registry-Auth: " + xra(creds)])
        seen = open(hits).read()
        assert "side /token" in seen, (seen, raw)      # the realm was asked, anonymously
        assert "auth=None" in seen and "Basic" not in seen, seen
        assert "account=bob" not in seen
    finally:
        proc.terminate()
        proc.wait()


def test_auth_wrong_types_rejected(berthd):
    # a wrongly typed field used to be dropped and a login to Docker Hub tried (500, no route)
    for body in ({"username": 1, "password": "x"}, {"serveraddress": ["a"]}, {"password": {"a": 1}}):
        st, h, b = berthd.curl("/auth", method="POST", data=json.dumps(body).encode(),
                               headers=["Content-Type: application/json"])
        assert st == 400 and json.loads(b)["message"].startswith("json: cannot unmarshal"), (body, st, b)


def test_distribution_inspect(busybox, reg, authreg):
    d = busybox
    name = f"{reg.host}/distbb:1"
    d.docker("tag", "busybox", name)
    d.docker("push", name)
    raw = d.nsenter(["curl", "-s", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                     f"http://{reg.host}/v2/distbb/manifests/1"], capture_output=True).stdout
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    arch = json.loads(d.docker("image", "inspect", name).stdout)[0]["Architecture"]
    st, j = d.curl_json(f"/distribution/{name}/json")
    assert st == 200, j
    assert j["Descriptor"] == {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "digest": digest, "size": len(raw)}
    assert j["Platforms"] == [{"architecture": arch, "os": "linux"}]
    st, j2 = d.curl_json(f"/distribution/{reg.host}/distbb@{digest}/json")
    assert st == 200 and j2["Descriptor"]["digest"] == digest
    # docker-py's get_registry_data reads the same endpoint
    c = d.client()
    try:
        rd = c.images.get_registry_data(name)
        assert rd.id == digest and rd.has_platform(f"linux/{arch}")
    finally:
        c.close()
    st, j = d.curl_json(f"/distribution/{reg.host}/nosuchrepo/json")
    assert st == 404 and "not found" in j["message"]
    st, j = d.curl_json(f"/distribution/{authreg.host}/private/json")
    assert st == 401, j
    st, j = d.curl_json("/distribution/127.0.0.1:1/x/json")  # nothing listens there
    assert st == 500 and "127.0.0.1:1" in j["message"]
    st, j = d.curl_json("/distribution/UPPER/json")
    assert st == 400
    d.docker("rmi", name)
