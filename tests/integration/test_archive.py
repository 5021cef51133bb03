"""The archive API (HEAD/GET/PUT /containers/{id}/archive) and docker cp / berth cp: Docker's
shapes and errors, running, created and stopped containers, binds, read-only rootfs, and
hostile input: tars and images whose symlinks point at the host."""
import base64
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from berthtest import BERTH, busybox_tar


def stat_of(hdrs):
    return json.loads(base64.b64decode(hdrs["x-docker-container-path-stat"]))


def tar_bytes(entries):
    """entries: (name, kind, data/target, mode, uid) with kind 'f', 'd', 'l' (symlink), 'h' (hard link)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, data, mode, uid in entries:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, uid, 1000000000
            if kind == "f":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE}[kind]
            if kind in "lh":
                ti.linkname = data
            t.addfile(ti)
    return buf.getvalue()


def names_of(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return [m.name for m in t.getmembers()]


def raw_names(data):
    """Entry names as written (tarfile strips a trailing slash)."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            out.append(m.name + ("/" if m.isdir() and m.name not in ("/",) else ""))
    return out


def actions(d, name):
    until = str(int(time.time()) + 1)
    return d.docker("events", "--since", "120s", "--until", until, "--filter", "container=" + name,
                    "--format", "{{.Action}}").stdout.decode().split()


def put(d, cid, path, data, query=""):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    try:
        return d.curl(f"/containers/{cid}/archive?path={path}{query}", method="PUT", data_file=f.name,
                      headers=("Content-Type: application/x-tar",))
    finally:
        os.unlink(f.name)


def test_head_stat(busybox):
    d = busybox
    d.docker("create", "--name", "st1", "busybox", "sleep", "100")
    st, h, _ = d.curl("/containers/st1/archive?path=/etc", method="HEAD")
    assert st == 200
    s = stat_of(h)
    assert list(s) == ["name", "size", "mode", "mtime", "linkTarget"]
    assert s["name"] == "etc" and s["mode"] == (1 << 31) | 0o755 and s["linkTarget"] == ""
    assert s["mtime"].endswith("Z") and "T" in s["mtime"]
    assert stat_of(d.curl("/containers/st1/archive?path=/etc/.", method="HEAD")[1])["name"] == "."
    assert stat_of(d.curl("/containers/st1/archive?path=/", method="HEAD")[1])["name"] == "/"
    assert stat_of(d.curl("/containers/st1/archive?path=etc//", method="HEAD")[1])["name"] == "etc"
    assert stat_of(d.curl("/containers/st1/archive?path=/tmp", method="HEAD")[1])["mode"] == (1 << 31) | (1 << 20) | 0o777
    s = stat_of(d.curl("/containers/st1/archive?path=/bin/sh", method="HEAD")[1])
    assert s["mode"] == (1 << 27) | 0o777 and s["linkTarget"] == "/bin/busybox"
    s = stat_of(d.curl("/containers/st1/archive?path=/etc/passwd", method="HEAD")[1])
    assert s["mode"] == 0o644 and s["size"] > 0
    st, body = d.curl_json("/containers/st1/archive?path=/nonexist")
    assert st == 404 and body["message"] == "Could not find the file /nonexist in container st1"
    st, body = d.curl_json("/containers/st1/archive?path=")
    assert st == 400 and body["message"] == "bad parameter: pathcannot be empty"
    st, body = d.curl_json("/containers/nosuch/archive?path=/")
    assert st == 404 and body["message"] == "No such container: nosuch"
    st, _, _ = d.curl("/containers/st1/archive?path=/etc/passwd/", method="HEAD")
    assert st == 500


def test_get_names_as_docker(busybox):
    d = busybox
    d.docker("create", "--name", "gt1", "busybox", "sleep", "100")
    st, h, data = d.curl("/containers/gt1/archive?path=/etc")
    assert st == 200 and h["content-type"] == "application/x-tar" and stat_of(h)["name"] == "etc"
    n = raw_names(data)
    assert n[0] == "etc/" and "etc/passwd" in n and all(x.startswith("etc/") for x in n)
    n = raw_names(d.curl("/containers/gt1/archive?path=/etc/.")[2])
    assert n[0] == "./" and "./passwd" in n
    n = names_of(d.curl("/containers/gt1/archive?path=/etc/passwd")[2])
    assert n == ["passwd"]
    with tarfile.open(fileobj=io.BytesIO(d.curl("/containers/gt1/archive?path=/bin/sh")[2])) as t:
        m = t.getmembers()
        assert len(m) == 1 and m[0].issym() and m[0].name == "sh" and m[0].linkname == "busybox"
    n = names_of(d.curl("/containers/gt1/archive?path=/")[2])
    assert "/bin/busybox" in n and "/etc/passwd" in n
    # events: archive-path for GET, none for HEAD
    ev = actions(d, "gt1")
    assert ev.count("archive-path") == 5, ev


def test_put_and_errors(busybox):
    d = busybox
    d.docker("create", "--name", "pt1", "busybox", "sleep", "100")
    data = tar_bytes([("d", "d", None, 0o750, 1234), ("d/f", "f", b"hello", 0o640, 1234),
                      ("d/l", "l", "f", 0o777, 0), ("d/h", "h", "d/f", 0o640, 1234)])
    st, _, body = put(d, "pt1", "/tmp", data)
    assert st == 200, body
    with tarfile.open(fileobj=io.BytesIO(d.curl("/containers/pt1/archive?path=/tmp/d")[2])) as t:
        m = {x.name: x for x in t.getmembers()}
        assert m["d/f"].uid == 1234 and m["d/f"].mode == 0o640 and t.extractfile("d/f").read() == b"hello"
        assert m["d"].mode == 0o750 and m["d/l"].issym() and m["d/l"].linkname == "f"
        assert m["d/h"].islnk() and m["d/h"].linkname == "d/f"
    st, body = d.curl_json("/containers/pt1/archive?path=/etc/passwd", method="PUT", data="x")
    assert st == 400 and body["message"] == "extraction point is not a directory"
    st, _, body = put(d, "pt1", "/nonexist", data)
    assert st == 404 and json.loads(body)["message"] == "Could not find the file /nonexist in container pt1"
    # noOverwriteDirNonDir: a file may not replace a directory
    st, _, body = put(d, "pt1", "/tmp", tar_bytes([("d", "f", b"x", 0o644, 0)]), "&noOverwriteDirNonDir=1")
    assert st == 500 and b"cannot overwrite directory" in body
    st, _, body = put(d, "pt1", "/tmp", tar_bytes([("d", "f", b"x", 0o644, 0)]))
    assert st == 200
    ev = actions(d, "pt1")
    assert ev.count("extract-to-dir") == 2, ev
    d.docker("start", "pt1")
    assert d.docker("exec", "pt1", "cat", "/tmp/d").stdout == b"x"
    d.docker("rm", "-f", "pt1")


def test_docker_cp_running_and_stopped(busybox, tmp_path):
    d = busybox
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    d.docker("run", "-d", "--name", "cp1", "busybox", "sleep", "1000")
    d.docker("cp", str(src), "cp1:/root/")
    assert d.docker("exec", "cp1", "cat", "/root/src/sub/b.txt").stdout == b"beta"
    d.docker("cp", str(src / "a.txt"), "cp1:/renamed.txt")
    assert d.docker("exec", "cp1", "cat", "/renamed.txt").stdout == b"alpha"
    d.docker("exec", "cp1", "sh", "-c", "mkdir /made && echo inside > /made/f")
    out = tmp_path / "out"
    d.docker("cp", "cp1:/made", str(out))
    assert (out / "f").read_text() == "inside\n"
    d.docker("stop", "-t", "0", "cp1")
    d.docker("cp", "cp1:/root/src/a.txt", str(tmp_path / "a2"))
    assert (tmp_path / "a2").read_text() == "alpha"
    d.docker("cp", str(src / "a.txt"), "cp1:/stopped.txt")
    # stdout and stdin carry a tar
    r = d.docker("cp", "cp1:/stopped.txt", "-")
    assert names_of(r.stdout) == ["stopped.txt"]
    d.docker("cp", "-", "cp1:/tmp", input=tar_bytes([("fromstdin", "f", b"std", 0o644, 0)]))
    d.docker("start", "cp1")
    assert d.docker("exec", "cp1", "cat", "/stopped.txt", "/tmp/fromstdin").stdout == b"alphastd"
    r = d.docker("cp", "cp1:/nonexist", str(tmp_path), check=False)
    assert r.returncode != 0 and b"Could not find the file /nonexist in container cp1" in r.stderr
    d.docker("rm", "-f", "cp1")


def test_cp_archive_mode_owner(busybox, tmp_path):
    d = busybox
    f = tmp_path / "owned"
    f.write_text("o")
    os.chown(f, 4321, 4321)
    d.docker("create", "--name", "cpa", "-u", "nobody", "busybox", "sleep", "100")
    d.docker("cp", str(f), "cpa:/tmp/plain")
    d.docker("cp", "-a", str(f), "cpa:/tmp/archived")
    with tarfile.open(fileobj=io.BytesIO(d.curl("/containers/cpa/archive?path=/tmp")[2])) as t:
        m = {x.name: x for x in t.getmembers()}
    # without -a the tar's owner (the local file's) is kept, as dockerd does; -a makes it the User's
    assert (m["tmp/plain"].uid, m["tmp/plain"].gid) == (4321, 4321)
    assert (m["tmp/archived"].uid, m["tmp/archived"].gid) == (65534, 65534)


def test_binds_and_readonly(busybox, tmp_path):
    d = busybox
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "keep").write_text("k")
    d.docker("create", "--name", "cpb", "--read-only", "-v", f"{rw}:/data", "-v", f"{ro}:/rodata:ro",
             "busybox", "sleep", "1000")
    payload = tar_bytes([("n.txt", "f", b"bind", 0o644, 0)])
    for state in ("created", "running"):
        if state == "running":
            d.docker("start", "cpb")
        st, _, body = put(d, "cpb", "/data", payload)
        assert st == 200, body
        assert (rw / "n.txt").read_text() == "bind"
        os.unlink(rw / "n.txt")
        st, _, body = put(d, "cpb", "/rodata", payload)
        assert st == 400 and json.loads(body)["message"] == "mounted volume is marked read-only"
        st, _, body = put(d, "cpb", "/", payload)
        assert st == 400 and json.loads(body)["message"] == "container rootfs is marked read-only"
        st, _, body = put(d, "cpb", "/data/../etc", payload)
        assert st == 400
        # reading crosses into the bind
        assert names_of(d.curl("/containers/cpb/archive?path=/rodata")[2]) == ["rodata", "rodata/keep"]
    assert sorted(os.listdir(ro)) == ["keep"]
    d.docker("rm", "-f", "cpb")


def test_hostile_tar(busybox, tmp_path):
    d = busybox
    canary = tmp_path / "canary"
    canary.mkdir()
    d.docker("run", "-d", "--name", "ht", "busybox", "sleep", "1000")
    d.docker("exec", "ht", "mkdir", "/dst")
    hostile = [
        [("../escape", "f", b"x", 0o644, 0)],
        [("a/../../escape", "f", b"x", 0o644, 0)],
        [("evil", "l", "../../../../../../", 0o777, 0)],
        # a symlink made earlier in the same archive is never written through
        [("evil", "l", "/", 0o777, 0), ("evil" + str(canary) + "/pwned", "f", b"x", 0o644, 0)],
        [("link", "h", "../../etc/passwd", 0o644, 0)],
    ]
    for entries in hostile:
        st, _, body = put(d, "ht", "/dst", tar_bytes(entries))
        assert st in (400, 500), (entries, body)
    st, _, body = put(d, "ht", "/dst", b"this is not a tar" * 100)
    assert st == 400
    # absolute names land inside the extraction directory
    st, _, _ = put(d, "ht", "/dst", tar_bytes([(str(canary) + "/abs", "f", b"x", 0o644, 0)]))
    assert st == 200
    assert d.docker("exec", "ht", "cat", "/dst" + str(canary) + "/abs").stdout == b"x"
    assert os.listdir(canary) == []
    assert not os.path.exists(tmp_path.parent / "escape")
    d.docker("rm", "-f", "ht")


@pytest.fixture
def evil_image(busybox, tmp_path):
    """An image whose symlinks point at a host directory (the canary) by absolute and
    relative paths, and which holds its own file at the canary's path."""
    d = busybox
    canary = tempfile.mkdtemp(prefix="berth-canary-")
    with open(os.path.join(canary, "secret"), "w") as f:
        f.write("HOST-SECRET")
    rel = canary.lstrip("/")
    entries = [("etc", "d", None, 0o755, 0), ("etc/evil", "l", "/", 0o777, 0),
               ("x", "l", "../../../../../../../.." + canary, 0o777, 0),
               ("abs", "l", canary, 0o777, 0), ("rootlink", "l", "/", 0o777, 0)]
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        entries.append(("/".join(parts[:i]), "d", None, 0o755, 0))
    entries.append((rel + "/secret", "f", b"inside", 0o644, 0))
    img = tmp_path / "evil.tar"
    # busybox's files too, so the container can run
    with tarfile.open(busybox_tar()) as bt, tarfile.open(img, "w") as t:
        for m in bt.getmembers():
            if m.name.strip("./").split("/")[0] in ("etc", "x", "abs", "rootlink", parts[0]):
                continue
            t.addfile(m, bt.extractfile(m) if m.isfile() else None)
        for name, kind, data, mode, uid in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            if kind == "f":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                ti.type = tarfile.DIRTYPE if kind == "d" else tarfile.SYMTYPE
                if kind == "l":
                    ti.linkname = data
                t.addfile(ti)
    d.docker("import", "-c", 'CMD ["sh"]', str(img), "evil:1")
    yield canary
    shutil.rmtree(canary)


def test_attack_symlinks_to_host(busybox, evil_image, tmp_path):
    d = busybox
    canary = evil_image
    before = sorted(os.listdir(canary))
    d.docker("create", "--name", "ev", "evil:1", "sleep", "1000")
    for state in ("created", "running", "stopped"):
        if state == "running":
            d.docker("start", "ev")
        elif state == "stopped":
            d.docker("stop", "-t", "0", "ev")
        # every way to the host path reads the container's own file, never the host's
        for p in ("/abs/secret", "/x/secret", "/etc/evil" + canary + "/secret", "/rootlink/abs/secret",
                  canary + "/secret"):
            out = tmp_path / ("out-" + state + p.replace("/", "_"))
            d.docker("cp", "ev:" + p, str(out))
            assert out.read_text() == "inside", (state, p)
            r = d.docker("cp", "ev:" + p, "-")
            assert b"HOST-SECRET" not in r.stdout
        # and every write through them lands inside the container
        src = tmp_path / ("w-" + state)
        src.write_text(state)
        for p in ("/abs/", "/x/", "/etc/evil" + canary + "/", "/rootlink" + canary + "/"):
            d.docker("cp", str(src), "ev:" + p)
        assert sorted(os.listdir(canary)) == before, state
        with open(os.path.join(canary, "secret")) as f:
            assert f.read() == "HOST-SECRET"
        st, _, data = d.curl("/containers/ev/archive?path=" + canary)
        assert st == 200 and os.path.basename(canary) + "/w-" + state in names_of(data)
        # a tar whose entries go through the image's symlinks stays in the root too
        st, _, _ = put(d, "ev", "/abs", tar_bytes([("t-" + state, "f", b"t", 0o644, 0)]))
        assert st == 200
        assert sorted(os.listdir(canary)) == before
    d.docker("rm", "-f", "ev")


def test_berth_cp(busybox, tmp_path):
    d = busybox
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a").write_text("A")
    (src / "sub" / "b").write_text("B")
    d.docker("run", "-d", "--name", "bcp", "busybox", "sleep", "1000")
    d.berth("cp", str(src), "bcp:/root/")
    d.berth("cp", str(src), "bcp:/renamed")
    d.berth("cp", str(src) + "/.", "bcp:/content")
    d.berth("cp", str(src / "a"), "bcp:/file")
    out = d.docker("exec", "bcp", "sh", "-c", "cat /root/src/sub/b /renamed/sub/b /content/a /file").stdout
    assert out == b"BBAA"
    d.docker("stop", "-t", "0", "bcp")
    d.berth("cp", "bcp:/renamed", str(tmp_path / "back"))
    assert (tmp_path / "back" / "sub" / "b").read_text() == "B"
    d.berth("cp", "bcp:/file", str(tmp_path))
    assert (tmp_path / "file").read_text() == "A"
    d.berth("cp", "bcp:/content/.", str(tmp_path / "c2"))
    assert sorted(os.listdir(tmp_path / "c2")) == ["a", "sub"]
    assert names_of(d.berth("cp", "bcp:/file", "-").stdout) == ["file"]
    d.berth("cp", "-", "bcp:/tmp", input=tar_bytes([("viastdin", "f", b"S", 0o644, 0)]))
    assert names_of(d.curl("/containers/bcp/archive?path=/tmp/viastdin")[2]) == ["viastdin"]
    r = d.berth("cp", "bcp:/nonexist", str(tmp_path), check=False)
    assert r.returncode == 1
    assert r.stderr.decode() == "Error response from daemon: Could not find the file /nonexist in container bcp\n"
    r = d.berth("cp", str(tmp_path / "missing"), "bcp:/tmp", check=False)
    assert r.returncode == 1 and r.stderr.decode() == f"lstat {tmp_path / 'missing'}: no such file or directory\n"
    r = d.berth("cp", "-", "bcp:/file", input=b"", check=False)
    assert r.returncode == 1 and r.stderr.decode() == 'destination "bcp:/file" must be a directory\n'
    # -L: the link's target under the link's name, both ways
    d.docker("start", "bcp")
    d.docker("exec", "bcp", "sh", "-c", "ln -s /renamed /ldir; ln -s /file /lfile")
    d.berth("cp", "bcp:/lfile", str(tmp_path / "lf-plain"))
    assert os.readlink(tmp_path / "lf-plain") == "/file"
    d.berth("cp", "-L", "bcp:/lfile", str(tmp_path / "lf"))
    assert (tmp_path / "lf").read_text() == "A"
    d.berth("cp", "-L", "bcp:/ldir", str(tmp_path / "ld"))
    assert (tmp_path / "ld" / "sub" / "b").read_text() == "B"
    os.symlink(src / "a", tmp_path / "local-link")
    d.berth("cp", str(tmp_path / "local-link"), "bcp:/tmp/")
    d.berth("cp", "-L", str(tmp_path / "local-link"), "bcp:/tmp/followed")
    out = d.docker("exec", "bcp", "sh", "-c", "readlink /tmp/local-link; cat /tmp/followed").stdout.decode()
    assert out == f"{src / 'a'}\nA"
    # the size line goes only to a terminal, as docker's does
    assert d.berth("cp", "bcp:/file", str(tmp_path / "quiet")).stderr == b""
    r = subprocess.run(["script", "-qc", f"{BERTH} -H {d.host} cp bcp:/file {tmp_path / 'tty'}", "/dev/null"],
                       capture_output=True, env=d.env(), timeout=60)
    assert r.stdout.decode().strip() == f"Successfully copied 2.05kB to {tmp_path / 'tty'}", r.stdout
    d.docker("rm", "-f", "bcp")


def test_no_leaks_after_stopped_copies(busybox, tmp_path):
    """The private mounts of a stopped container's view go with the operation: nothing stays
    mounted in berthd's namespace or the host's, no temporary directory stays, and the
    container starts afterwards (its upper dir is free)."""
    d = busybox
    bind = tmp_path / "b"
    bind.mkdir()
    d.docker("create", "--name", "lk", "-v", f"{bind}:/data", "busybox", "sh", "-c", "cat /data/f /x")
    for _ in range(3):
        assert put(d, "lk", "/data", tar_bytes([("f", "f", b"F", 0o644, 0)]))[0] == 200
        assert put(d, "lk", "/", tar_bytes([("x", "f", b"X", 0o644, 0)]))[0] == 200
        assert d.curl("/containers/lk/archive?path=/data/f")[0] == 200
        # a GET whose client leaves early
        subprocess.run(["curl", "-s", "--max-time", "5", "--unix-socket", d.sock,
                        "http://x/containers/lk/archive?path=/bin"], stdout=subprocess.PIPE).stdout[:10]
    time.sleep(0.5)
    pid = open(d.pidfile).read().strip()
    for mi in (f"/proc/{pid}/mountinfo", "/proc/self/mountinfo"):
        with open(mi) as f:
            text = f.read()
        assert d.data_root not in text, text
    assert [n for n in os.listdir(os.path.join(d.data_root, "tmp")) if n.startswith("archive-")] == []
    d.docker("start", "-a", "lk")
    assert d.docker("logs", "lk").stdout == b"FX"


def test_legacy_copy_endpoint(busybox):
    """POST /containers/{id}/copy until API 1.23: symlinks followed, a directory's content by
    relative names; a "copy" event; gone from 1.24 on."""
    d = busybox
    d.docker("create", "--name", "lc", "busybox", "true")
    st, _, data = d.curl("/v1.23/containers/lc/copy", method="POST", data={"Resource": "/bin/sh"})
    assert st == 200
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = t.getmembers()
        assert [x.name for x in m] == ["busybox"] and m[0].isfile()
    st, _, data = d.curl("/v1.23/containers/lc/copy", method="POST", data={"Resource": "/etc"})
    n = names_of(data)
    assert st == 200 and "passwd" in n and "etc" not in n and not any(x.startswith("etc/") for x in n)
    st, body = d.curl_json("/v1.23/containers/lc/copy", method="POST", data={"Resource": "/nonexist"})
    assert st == 404 and body["message"] == "Could not find the file /nonexist in container lc"
    st, body = d.curl_json("/v1.23/containers/lc/copy", method="POST", data={"Resource": ""})
    assert st == 400
    st, _ = d.curl_json("/v1.24/containers/lc/copy", method="POST", data={"Resource": "/etc"})
    assert st == 404
    assert actions(d, "lc").count("copy") == 2


def test_attack_volume_subpath_symlink_on_stopped_container(busybox, tmp_path):
    """A container writes a symlink into a shared volume; another container mounts that name as its
    volume subpath. docker cp on the second, stopped, must not follow the link out of the volume."""
    d = busybox
    canary = tmp_path / "canary"
    canary.write_text("host secret")
    d.docker("volume", "create", "subatk")
    try:
        d.docker("run", "--rm", "-v", "subatk:/v", "busybox", "sh", "-c",
                 f"mkdir /v/ok && echo fine > /v/ok/f && ln -s {tmp_path} /v/evil")
        c = d.client()
        good = c.api.create_container("busybox", "true", host_config=c.api.create_host_config(mounts=[
            {"Type": "volume", "Source": "subatk", "Target": "/data", "VolumeOptions": {"Subpath": "ok"}}]))["Id"]
        r = d.docker("cp", f"{good}:/data/f", "-")
        assert names_of(r.stdout) == ["f"]
        bad = c.api.create_container("busybox", "true", host_config=c.api.create_host_config(mounts=[
            {"Type": "volume", "Source": "subatk", "Target": "/data", "VolumeOptions": {"Subpath": "evil"}}]))["Id"]
        r = d.docker("cp", f"{bad}:/data/canary", "-", check=False)
        assert r.returncode != 0 and b"host secret" not in r.stdout
        r = d.docker("cp", "-", f"{bad}:/data", input=tar_bytes([("planted", "f", b"x", 0o644, 0)]), check=False)
        assert r.returncode != 0
        assert not (tmp_path / "planted").exists() and canary.read_text() == "host secret"
        c.api.remove_container(good)
        c.api.remove_container(bad)
    finally:
        d.docker("volume", "rm", "-f", "subatk", check=False)
