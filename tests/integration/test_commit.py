"""docker commit (upper dir -> layer with docker whiteouts, config merged,
changes, history message) and docker export."""
import io
import json
import tarfile


def test_commit_with_changes_and_whiteouts(busybox):
    d = busybox
    r = d.docker("run", "--name", "cm1", "busybox", "sh", "-c",
                 "echo new > /newfile; rm /bin/ls; rm -rf /usr; mkdir /usr; echo x > /usr/only",
                 check=False)
    assert r.returncode == 0, r.stderr.decode()[-200:]
    r = d.docker("commit", "-m", "my commit msg", "-a", "Ann <a@x>", "-c", "ENV C=1", "-c", 'CMD ["/bin/true"]',
                 "cm1", "committed:1")
    iid = r.stdout.decode().strip()
    assert iid.startswith("sha256:")
    insp = json.loads(d.docker("image", "inspect", "committed:1").stdout)[0]
    base = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]
    assert insp["Id"] == iid
    assert insp["Comment"] == "my commit msg" and insp["Author"] == "Ann <a@x>"
    assert "C=1" in insp["Config"]["Env"] and insp["Config"]["Cmd"] == ["/bin/true"]
    assert insp["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    assert len(insp["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    h = d.docker("history", "--format", "{{.Comment}}", "committed:1").stdout.decode()
    assert h.splitlines()[0] == "my commit msg"
    # the new layer's tar carries docker whiteouts
    st, hd, data = d.curl("/images/committed:1/get")
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        man = json.load(t.extractfile("manifest.json"))
        top = man[0]["Layers"][-1]
        with tarfile.open(fileobj=io.BytesIO(t.extractfile(top).read())) as lt:
            names = lt.getnames()
    assert "newfile" in names and "bin/.wh.ls" in names and "usr/.wh..wh..opq" in names, names
    # berth's own mount points live in the init layer, never in a commit
    for n in ("etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv", "dev/console"):
        assert n not in names, names
    # the committed image runs and shows the changes
    r = d.docker("run", "--rm", "committed:1", "sh", "-c", "cat /newfile; ls /bin/ls; ls /usr", check=False)
    out = r.stdout.decode()
    assert out.split() == ["new", "only"], (out, r.stderr)
    # unknown container
    st, hd, b = d.curl("/commit?container=nosuch", method="POST")
    assert st == 404
    # the v1.13 spelling m= and a JSON config body merged over the container's
    st, hd, b = d.curl("/v1.41/commit?container=cm1&repo=committed&tag=2&m=old+style", method="POST",
                       data=json.dumps({"Labels": {"l": "v"}}).encode(), headers=["Content-Type: application/json"])
    assert st == 201, b
    insp2 = json.loads(d.docker("image", "inspect", "committed:2").stdout)[0]
    assert insp2["Comment"] == "old style" and insp2["Config"]["Labels"] == {"l": "v"}
    d.docker("rm", "-f", "cm1")


def test_export_flattened(busybox):
    d = busybox
    r = d.docker("run", "--name", "ex1", "busybox", "sh", "-c", "echo hi > /exported; rm /bin/ls", check=False)
    assert r.returncode == 0, r.stderr.decode()[-200:]
    data = d.docker("export", "ex1").stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        names = [n.lstrip("./") for n in t.getnames()]
        assert t.extractfile("./exported").read() == b"hi\n"
    assert "bin/sh" in names and "bin/ls" not in names
    assert not any(".wh." in n for n in names)
    # nothing left mounted
    assert d.data_root not in open("/proc/self/mountinfo").read()
    st, h, b = d.curl("/containers/nosuch/export")
    assert st == 404
    d.docker("rm", "-f", "ex1")
