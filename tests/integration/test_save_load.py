"""docker save / docker load: berth's tar format, round trips, tars from the
real Docker (reference daemon) and into it, hostile archives."""
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

# the reference daemon of the shared tools beside the checkout
REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "tools", "reference-dockerd")


def ref_sock():
    if not os.path.exists(REF):
        return None
    try:
        out = subprocess.run([REF, "start"], capture_output=True, timeout=120, check=True).stdout.decode()
    except (subprocess.SubprocessError, OSError):
        return None
    return out.strip().splitlines()[-1]


def ref_docker(sock, *args, input=None, check=True):
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    return subprocess.run(["docker", *args], input=input, capture_output=True, env=env, check=check, timeout=120)


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: (t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


def layer_dirs(d):
    p = os.path.join(d.data_root, "image", "layers")
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def load(d, data, quiet=True):
    st, h, b = d.curl("/images/load" + ("?quiet=1" if quiet else ""), method="POST", data=data,
                      headers=["Content-Type: application/x-tar"])
    return st, [json.loads(line) for line in b.decode().splitlines() if line.strip()]


def test_save_format(busybox):
    d = busybox
    st, h, data = d.curl("/images/get?names=busybox")
    assert st == 200
    m = members(data)
    man = json.loads(m["manifest.json"])
    assert len(man) == 1 and man[0]["RepoTags"] == ["busybox:latest"]
    insp = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]
    cfg = m[man[0]["Config"]]
    assert "sha256:" + hashlib.sha256(cfg).hexdigest() == insp["Id"]
    diff_ids = json.loads(cfg)["rootfs"]["diff_ids"]
    assert len(man[0]["Layers"]) == len(diff_ids)
    for path, did in zip(man[0]["Layers"], diff_ids):
        assert "sha256:" + hashlib.sha256(m[path]).hexdigest() == did
    assert json.loads(m["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    idx = json.loads(m["index.json"])
    assert idx["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/busybox:latest"
    omf = m["blobs/sha256/" + idx["manifests"][0]["digest"][7:]]
    assert json.loads(omf)["config"]["digest"] == insp["Id"]
    assert "busybox" in json.loads(m["repositories"])
    # by id: no tags, no repositories file
    st, h, data = d.curl("/images/%s/get" % insp["Id"][7:19])
    assert st == 200
    m = members(data)
    assert json.loads(m["manifest.json"])[0]["RepoTags"] is None and "repositories" not in m
    st, h, b = d.curl("/images/get?names=nosuchimage")
    assert st == 404


def test_round_trip_keeps_id_tags_history(busybox):
    d = busybox
    d.docker("import", "-m", "round trip msg", "-c", "CMD [\"/x\"]", "-", "rt/one:v1",
             input=layer_tar(b"round\n", "r.txt"))
    d.docker("tag", "rt/one:v1", "rt/one:v2")
    insp = json.loads(d.docker("image", "inspect", "rt/one:v1").stdout)[0]
    fmt = ["history", "--no-trunc", "--format", "{{.ID}} {{.CreatedAt}} {{.Comment}} {{.Size}}"]
    hist = d.docker(*fmt, "rt/one:v1").stdout
    assert b"round trip msg" in hist
    nlayers = len(layer_dirs(d))
    data = d.docker("save", "rt/one").stdout  # bare name: every tag of the repository
    d.docker("rmi", "rt/one:v1", "rt/one:v2")
    assert len(layer_dirs(d)) == nlayers - 1
    st, out = load(d, data)
    assert st == 200 and out == [{"stream": "Loaded image: rt/one:v1\n"}, {"stream": "Loaded image: rt/one:v2\n"}]
    insp2 = json.loads(d.docker("image", "inspect", "rt/one:v1").stdout)[0]
    assert insp2["Id"] == insp["Id"] and insp2["RootFS"] == insp["RootFS"]
    assert d.docker(*fmt, "rt/one:v1").stdout == hist
    assert insp2["Config"]["Cmd"] == ["/x"]
    # CLI with progress (not quiet)
    r = d.docker("load", input=data)
    assert b"Loaded image: rt/one:v1" in r.stdout


def test_load_untagged_reports_id(busybox):
    d = busybox
    iid = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]["Id"]
    st, h, data = d.curl("/images/%s/get" % iid)
    st, out = load(d, data)
    assert out == [{"stream": "Loaded image ID: %s\n" % iid}]


def hostile(d, data, needle=None):
    before = layer_dirs(d)
    imgs = d.docker("images", "-aq").stdout
    st, out = load(d, data)
    assert st == 200
    assert "errorDetail" in out[-1], out
    if needle:
        assert needle in out[-1]["error"], out
    assert layer_dirs(d) == before
    assert d.docker("images", "-aq").stdout == imgs
    tmp = os.path.join(d.data_root, "tmp")
    assert not [x for x in os.listdir(tmp) if x.startswith("layer-")]


def mk(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def layer_tar(content=b"hi\n", name="f.txt"):
    return mk({name: content})


def test_load_hostile(busybox):
    d = busybox
    lt = layer_tar()
    good_did = "sha256:" + hashlib.sha256(lt).hexdigest()
    other = layer_tar(b"other\n", "g.txt")

    def image(diff_ids, layers, tags=("h/x:1",)):
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        files = {"c.json": cfg, "manifest.json": json.dumps(
            [{"Config": "c.json", "RepoTags": list(tags), "Layers": [n for n, _ in layers]}]).encode()}
        for n, b in layers:
            files[n] = b
        return mk(files)

    # wrong diff id: the second layer does not hash to what the config says
    hostile(d, image([good_did, "sha256:" + "1" * 64],
                     [("l1.tar", lt), ("l2.tar", other)]), "invalid diffID")
    # truncated archive
    full = image([good_did], [("l1.tar", lt)])
    hostile(d, full[:700])
    # path escape
    hostile(d, image([good_did], [("../../etc/evil", lt)]))
    # missing layer file
    hostile(d, image([good_did], [("nope.tar", b"")])[:-1024] + b"\0" * 1024)
    # no manifest
    hostile(d, mk({"x": b"y"}), "manifest.json")
    # layer count mismatch
    hostile(d, image([good_did, good_did], [("l1.tar", lt)]), "mismatch")
    # garbage
    hostile(d, b"\x00garbage" * 100)
    # and the good one works
    st, out = load(d, image([good_did], [("l1.tar", lt)]))
    assert out == [{"stream": "Loaded image: h/x:1\n"}]


def test_load_into_reference_and_back(busybox):
    d = busybox
    sock = ref_sock()
    if not sock:
        pytest.skip("reference daemon not available")
    # berth -> reference
    d.docker("tag", "busybox", "berthsaved:1")
    bid = json.loads(d.docker("image", "inspect", "berthsaved:1").stdout)[0]["Id"]
    data = d.docker("save", "berthsaved:1").stdout
    ref_docker(sock, "rmi", "-f", "berthsaved:1", check=False)
    r = ref_docker(sock, "load", input=data)
    assert b"Loaded image: berthsaved:1" in r.stdout
    rid = json.loads(ref_docker(sock, "image", "inspect", "berthsaved:1").stdout)[0]["Id"]
    assert rid == bid
    ref_docker(sock, "rmi", "berthsaved:1")
    # reference -> berth (20.10 layout: <dir>/layer.tar, <id>.json)
    data = ref_docker(sock, "save", "busybox:latest").stdout
    refid = json.loads(ref_docker(sock, "image", "inspect", "busybox:latest").stdout)[0]["Id"]
    d.docker("tag", "busybox", "keep:me")
    d.docker("rmi", "busybox")
    st, out = load(d, data)
    assert out == [{"stream": "Loaded image: busybox:latest\n"}]
    insp = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]
    assert insp["Id"] == refid
    d.docker("rmi", "keep:me", check=False)


def test_load_gzip_layer_then_save(busybox):
    import gzip
    d = busybox
    lt = layer_tar(b"zipped\n", "z.txt")
    did = "sha256:" + hashlib.sha256(lt).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [did]}}).encode()
    data = mk({"c.json": cfg, "l.tar.gz": gzip.compress(lt),
               "manifest.json": json.dumps([{"Config": "c.json", "RepoTags": ["gz/img:1"],
                                             "Layers": ["l.tar.gz"]}]).encode()})
    st, out = load(d, data)
    assert out == [{"stream": "Loaded image: gz/img:1\n"}]
    st, h, saved = d.curl("/images/get?names=gz/img:1")
    m = members(saved)
    layer = m[json.loads(m["manifest.json"])[0]["Layers"][0]]
    assert layer == lt  # the kept tar is the decompressed stream, byte for byte
