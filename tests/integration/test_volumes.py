"""Volumes: the /volumes API, the local driver, mounts in containers (-v, --mount, --volumes-from, tmpfs),
copy-up, rm -v, restart survival, leaks, compose and `berth volume`."""
import json
import os
import shutil
import subprocess
import time
import urllib.parse

import pytest


def wait_for(fn, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def mounts_under(path):
    """Mount points at or below path in berthd's mount namespace (the tests share it)."""
    out = []
    for ln in open("/proc/self/mountinfo"):
        mp = ln.split()[4].replace("\\040", " ")
        if mp == path or mp.startswith(path + "/"):
            out.append(mp)
    return out


def qf(filters):
    return urllib.parse.quote(json.dumps(filters))


def vroot(d):
    return os.path.join(d.data_root, "volumes")


def test_create_inspect_list_remove(busybox):
    d = busybox
    st, v = d.curl_json("/volumes/create", "POST", {"Name": "va1", "Labels": {"k": "v"}})
    assert st == 201
    assert v["Name"] == "va1" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"k": "v"} and v["Options"] is None
    assert v["Mountpoint"] == os.path.join(vroot(d), "va1", "_data") and os.path.isdir(v["Mountpoint"])
    assert sorted(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    # the same name again: the existing volume, unchanged
    st, again = d.curl_json("/volumes/create", "POST", {"Name": "va1", "Labels": {"k": "other"}})
    assert st == 201 and again == v
    st, got = d.curl_json("/volumes/va1")
    assert (st, got) == (200, v)
    st, lst = d.curl_json("/volumes")
    assert st == 200 and lst["Warnings"] is None and v in lst["Volumes"]
    # no name: 64 hex, marked anonymous
    st, anon = d.curl_json("/volumes/create", "POST", {})
    assert st == 201 and len(anon["Name"]) == 64 and int(anon["Name"], 16) >= 0
    assert anon["Labels"] == {"com.docker.volume.anonymous": ""}
    for name in ("va1", anon["Name"]):
        st, _ = d.curl_json(f"/volumes/{name}", "DELETE")
        assert st == 204
    st, j = d.curl_json("/volumes/va1")
    assert (st, j["message"]) == (404, "get va1: no such volume")
    assert not os.path.exists(os.path.join(vroot(d), "va1"))
    st, j = d.curl_json("/volumes/va1", "DELETE")
    assert (st, j["message"]) == (404, "get va1: no such volume")
    st, _ = d.curl_json("/volumes/va1?force=1", "DELETE")
    assert st == 204


@pytest.mark.parametrize("body,status,message", [
    ({"Name": "x"}, 400, "create x: volume name is too short, names should be at least two alphanumeric characters"),
    ({"Name": "a/b"}, 400, "create a/b: \"a/b\" includes invalid characters for a local volume name, only "
     "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
    ({"Name": "vd", "Driver": "foo"}, 404, "create vd: error looking up volume plugin foo: plugin \"foo\" not found"),
    ({"Name": "vo", "DriverOpts": {"foo": "bar"}}, 400, "create vo: invalid option: \"foo\""),
    ({"Name": "vt", "DriverOpts": {"type": "tmpfs"}}, 400, "create vt: missing required option: \"device\""),
    ({"Name": "vl", "Labels": ["a"]}, 400, None),
])
def test_create_errors(busybox, body, status, message):
    st, j = busybox.curl_json("/volumes/create", "POST", body)
    assert st == status
    if message:
        assert j["message"] == message
    assert not os.path.exists(os.path.join(vroot(busybox), body["Name"]))


def test_list_filters(busybox):
    d = busybox
    d.docker("volume", "create", "--label", "team=a", "flt-a")
    d.docker("volume", "create", "--label", "team=b", "flt-b")
    d.docker("create", "--name", "flt-user", "-v", "flt-a:/a", "busybox")

    def names(q):
        st, j = d.curl_json("/volumes?filters=" + qf(q))
        assert st == 200, j
        return sorted(v["Name"] for v in j["Volumes"] if v["Name"].startswith("flt-"))

    assert names({"label": ["team=a"]}) == ["flt-a"]
    assert names({"label": ["team"]}) == ["flt-a", "flt-b"]
    assert names({"name": ["flt-b"]}) == ["flt-b"]
    assert names({"driver": ["local"]}) == ["flt-a", "flt-b"]
    assert names({"dangling": ["true"]}) == ["flt-b"]
    assert names({"dangling": ["false"]}) == ["flt-a"]
    st, j = d.curl_json("/volumes?filters=" + qf({"bogus": ["x"]}))
    assert (st, j["message"]) == (400, "invalid filter 'bogus'")
    st, j = d.curl_json("/volumes?filters=" + qf({"dangling": ["x"]}))
    assert st == 400
    d.docker("rm", "flt-user")
    d.docker("volume", "rm", "flt-a", "flt-b")


def test_in_use_and_prune_by_version(busybox):
    d = busybox
    cid = d.docker("create", "-v", "pr-used:/u", "busybox").stdout.decode().strip()
    st, j = d.curl_json("/volumes/pr-used", "DELETE")
    assert (st, j["message"]) == (409, f"remove pr-used: volume is in use - [{cid}]")
    st, j = d.curl_json("/volumes/pr-used?force=1", "DELETE")
    assert st == 409
    d.docker("volume", "create", "pr-named")
    st, anon = d.curl_json("/volumes/create", "POST", {})
    # API 1.52: only anonymous volumes, unless all
    st, j = d.curl_json("/volumes/prune", "POST")
    assert st == 200 and j["VolumesDeleted"] == [anon["Name"]]
    st, j = d.curl_json("/volumes/prune?filters=" + qf({"label": ["nosuch"], "all": ["true"]}), "POST")
    assert st == 200 and j["VolumesDeleted"] == []
    # API 1.41: every unused volume, named ones too, never one in use
    st, j = d.curl_json("/v1.41/volumes/prune", "POST")
    assert st == 200 and "pr-named" in j["VolumesDeleted"] and "pr-used" not in j["VolumesDeleted"]
    d.docker("volume", "create", "pr-named2")
    st, j = d.curl_json("/volumes/prune?filters=" + qf({"all": ["1"]}), "POST")
    assert st == 200 and j["VolumesDeleted"] == ["pr-named2"]
    d.docker("rm", cid)
    d.docker("volume", "rm", "pr-used")


def test_mounts_shape_each_kind(busybox, tmp_path):
    d = busybox
    host = tmp_path / "h"
    host.mkdir()
    from berthtest import busybox_tar
    with open(busybox_tar(), "rb") as f:
        d.docker("import", "-c", 'CMD ["sh"]', "-c", "VOLUME /ivol", "-", "vimg:1", input=f.read())
    img = "vimg:1"
    cid = d.docker("create", "-v", "shp-n:/n", "-v", "shp-r:/r:ro", "-v", f"{host}:/hb:ro", "-v", "/anon",
                   "--mount", f"type=bind,src={host},dst=/mb,bind-propagation=rslave",
                   "--mount", "type=volume,src=shp-m,dst=/mv,volume-nocopy",
                   "--mount", "type=tmpfs,dst=/tm,tmpfs-size=1m", img, "true").stdout.decode().strip()
    st, c = d.curl_json(f"/containers/{cid}/json")
    by = {m["Destination"]: m for m in c["Mounts"]}
    vr = vroot(d)
    assert by["/n"] == {"Type": "volume", "Name": "shp-n", "Source": f"{vr}/shp-n/_data", "Destination": "/n",
                        "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
    assert by["/r"]["Mode"] == "ro" and by["/r"]["RW"] is False
    assert by["/hb"] == {"Type": "bind", "Source": str(host), "Destination": "/hb", "Mode": "ro", "RW": False,
                         "Propagation": "rprivate"}
    assert by["/mb"] == {"Type": "bind", "Source": str(host), "Destination": "/mb", "Mode": "", "RW": True,
                         "Propagation": "rslave"}
    assert by["/mv"]["Name"] == "shp-m" and by["/mv"]["Mode"] == "z"
    assert by["/tm"] == {"Type": "tmpfs", "Source": "", "Destination": "/tm", "Mode": "", "RW": True,
                         "Propagation": ""}
    anon = by["/anon"]
    assert anon["Type"] == "volume" and len(anon["Name"]) == 64 and anon["Mode"] == ""
    assert by["/ivol"]["Type"] == "volume" and len(by["/ivol"]["Name"]) == 64
    # the list shows the same
    st, lst = d.curl_json("/containers/json?all=1&filters=" + qf({"id": [cid]}))
    assert sorted(m["Destination"] for m in lst[0]["Mounts"]) == sorted(by)
    d.docker("rm", "-v", cid)
    d.docker("rmi", "vimg:1")
    # rm -v: the anonymous volumes go, the named stay
    st, _ = d.curl_json(f"/volumes/{anon['Name']}")
    assert st == 404
    for n in ("shp-n", "shp-r", "shp-m"):
        st, _ = d.curl_json(f"/volumes/{n}")
        assert st == 200
        d.docker("volume", "rm", n)


def test_data_survives_and_read_only(busybox):
    d = busybox
    d.docker("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo hello > /data/f")
    r = d.docker("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c",
                 "cat /data/f; touch /data/g 2>/dev/null && echo WROTE; true")
    assert r.stdout == b"hello\n"
    r = d.docker("run", "--rm", "--mount", "type=volume,src=keep,dst=/data,readonly", "busybox", "sh", "-c",
                 "touch /data/g 2>/dev/null && echo WROTE; grep ' /data ' /proc/mounts")
    assert b"WROTE" not in r.stdout and b" ro," in r.stdout
    d.docker("volume", "rm", "keep")


def test_copy_up_keeps_modes_and_owners(busybox):
    d = busybox
    # /etc of busybox: copied into the empty volume at its first mount
    r = d.docker("run", "--rm", "-v", "cu-etc:/etc", "busybox", "sh", "-c",
                 "cat /etc/passwd | head -1; stat -c '%a %u' /etc/passwd")
    assert r.stdout.startswith(b"root:") and r.stdout.split(b"\n")[1] == b"644 0"
    data = os.path.join(vroot(d), "cu-etc", "_data")
    st = os.stat(os.path.join(data, "passwd"))
    assert (st.st_mode & 0o777, st.st_uid) == (0o644, 0)
    # a second container sees the volume's content, not the image's
    d.docker("run", "--rm", "-v", "cu-etc:/etc", "busybox", "sh", "-c", "echo mine > /etc/passwd")
    r = d.docker("run", "--rm", "-v", "cu-etc:/etc", "busybox", "head", "-1", "/etc/passwd")
    assert r.stdout == b"mine\n"
    # nocopy: nothing copied
    r = d.docker("run", "--rm", "-v", "cu-none:/etc:nocopy", "busybox", "ls", "/etc")
    assert b"passwd" not in r.stdout
    d.docker("volume", "rm", "cu-etc", "cu-none")


def test_volumes_from(busybox):
    d = busybox
    d.docker("create", "--name", "vf-src", "-v", "vf-data:/data", "-v", "/anon", "busybox")
    d.docker("run", "--rm", "--volumes-from", "vf-src", "busybox", "sh", "-c", "echo x > /data/f; echo y > /anon/g")
    r = d.docker("run", "--rm", "--volumes-from", "vf-src:ro", "busybox", "sh", "-c",
                 "cat /data/f /anon/g; touch /data/h 2>/dev/null && echo WROTE; true")
    assert r.stdout == b"x\ny\n"
    cid = d.docker("create", "--volumes-from", "vf-src:ro", "busybox").stdout.decode().strip()
    st, c = d.curl_json(f"/containers/{cid}/json")
    by = {m["Destination"]: m for m in c["Mounts"]}
    assert by["/data"]["Name"] == "vf-data" and by["/data"]["RW"] is False
    st, j = d.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"VolumesFrom": ["nosuch"]}})
    assert (st, j["message"]) == (404, "No such container: nosuch")
    st, j = d.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "VolumesFrom": ["vf-src:bogus"]}})
    assert (st, j["message"]) == (400, "invalid mode: bogus")
    d.docker("rm", "-v", cid, "vf-src")
    d.docker("volume", "rm", "vf-data")


@pytest.mark.parametrize("args,message", [
    (["--mount", "type=volume,src=x,dst=relative"],
     "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute"),
    (["--mount", "type=volume,dst=/x,readonly"],
     "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"),
    (["--mount", "type=volume,dst=/x,volume-subpath=a"],
     "invalid mount config for type \"volume\": must not set Subpath when using anonymous volumes"),
    (["--mount", "type=volume,src=sp,dst=/x,volume-subpath=../a"],
     "invalid mount config for type \"volume\": subpath must be a relative path within the volume"),
    (["--mount", "type=bind,src=/nonexistent-berth-src,dst=/x"],
     "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth-src"),
    (["--mount", "type=volume,src=a/b,dst=/x"], "create a/b: \"a/b\" includes invalid characters"),
    (["--mount", "type=volume,src=vv,dst=/"],
     "invalid mount config for type \"volume\": invalid specification: destination can't be '/'"),
    (["-v", "vv:/a", "-v", "/tmp:/a"], "Duplicate mount point: /a"),
])
def test_mount_errors(busybox, args, message):
    r = busybox.docker("create", *args, "busybox", check=False)
    assert r.returncode != 0 and message.encode() in r.stderr, r.stderr
    st, _ = busybox.curl_json("/volumes/vv")
    assert st == 404  # nothing made by a refused create


def test_binds_errors_api(busybox):
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"Mounts": [
        {"Type": "volume", "Source": "vv", "Target": "/x", "VolumeOptions": {"DriverConfig": {"Name": "foo"}}}]}})
    assert (st, j["message"]) == (404, "error looking up volume plugin foo: plugin \"foo\" not found")
    for bind, msg in [("/tmp:/a:bogus", "invalid mode: bogus"),
                      ("vv:rel", "invalid volume specification: 'vv:rel': invalid mount config for type \"volume\": "
                                 "invalid mount path: 'rel' mount path must be absolute"),
                      ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
                      ("/tmp:/", "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": "
                                 "invalid specification: destination can't be '/'")]:
        st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"Binds": [bind]}})
        assert (st, j["message"]) == (400, msg)


def test_local_driver_tmpfs_refcount_and_events(busybox):
    d = busybox
    since = str(time.time() - 1)
    d.docker("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=1m", "tv")
    data = os.path.join(vroot(d), "tv", "_data")
    assert mounts_under(data) == []  # mounted at first use only
    d.docker("run", "-d", "--name", "tv1", "-v", "tv:/t", "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "tv2", "-v", "tv:/t", "busybox", "sleep", "300")
    r = d.docker("exec", "tv1", "sh", "-c", "echo shared > /t/f; grep ' /t ' /proc/mounts")
    assert b"tmpfs" in r.stdout and b"size=1024k" in r.stdout
    assert d.docker("exec", "tv2", "cat", "/t/f").stdout == b"shared\n"
    assert mounts_under(data) == [data]
    d.docker("rm", "-f", "tv1")
    assert mounts_under(data) == [data]  # tv2 still uses it
    d.docker("rm", "-f", "tv2")
    assert mounts_under(data) == []
    d.docker("volume", "rm", "tv")
    until = str(time.time() + 1)
    ev = d.docker("events", "--since", since, "--until", until, "--filter", "type=volume", "--filter", "volume=tv",
                  "--format", "{{.Action}}").stdout.decode().split()
    assert ev[0] == "create" and ev[-1] == "destroy"
    assert ev.count("mount") == 2 and ev.count("unmount") == 2


def test_local_driver_bind_keeps_host_files(busybox, tmp_path):
    d = busybox
    src = tmp_path / "src"
    src.mkdir()
    (src / "precious").write_text("keep me")
    d.docker("volume", "create", "--opt", "type=none", "--opt", f"device={src}", "--opt", "o=bind", "bv")
    r = d.docker("run", "--rm", "-v", "bv:/b", "busybox", "sh", "-c", "cat /b/precious; echo new > /b/n")
    assert r.stdout == b"keep me"
    assert (src / "n").read_text() == "new\n"
    d.docker("volume", "rm", "bv")
    # removing the volume never removes what it bound
    assert (src / "precious").read_text() == "keep me"
    assert mounts_under(os.path.join(vroot(d), "bv")) == []


def test_rm_leaves_no_mounts_and_autoremove_takes_anonymous(busybox):
    d = busybox
    before = set(v["Name"] for v in d.curl_json("/volumes")[1]["Volumes"])
    d.docker("run", "--rm", "-v", "/anon", "-v", "lk-named:/n", "busybox", "true")
    after = set(v["Name"] for v in d.curl_json("/volumes")[1]["Volumes"])
    assert after - before == {"lk-named"}
    cid = d.docker("run", "-d", "-v", "lk-named:/n", "busybox", "sleep", "300").stdout.decode().strip()
    d.docker("rm", "-fv", cid)
    assert mounts_under(vroot(d)) == []
    assert [ln for ln in open("/proc/self/mountinfo") if cid in ln] == []
    d.docker("volume", "rm", "lk-named")


def test_system_df_usage(busybox):
    d = busybox
    d.docker("run", "--rm", "-v", "dfv:/d", "busybox", "sh", "-c", "head -c 10000 /dev/zero > /d/z")
    cid = d.docker("create", "-v", "dfv:/d", "busybox").stdout.decode().strip()
    st, j = d.curl_json("/system/df")
    v = [x for x in j["Volumes"] if x["Name"] == "dfv"][0]
    assert v["UsageData"]["RefCount"] == 1 and v["UsageData"]["Size"] >= 10000
    d.docker("rm", cid)
    d.docker("volume", "rm", "dfv")


def test_restart_with_volume_in_use(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    d.docker("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "rv")
    d.docker("run", "-d", "--name", "rv1", "-v", "rv:/t", "-v", "rn:/n", "busybox", "sleep", "300")
    d.docker("exec", "rv1", "sh", "-c", "echo a > /t/f; echo b > /n/f")
    data = os.path.join(vroot(d), "rv", "_data")
    d.restart()
    assert mounts_under(data) == [data]  # still in use: still mounted
    assert d.docker("exec", "rv1", "cat", "/t/f", "/n/f").stdout == b"a\nb\n"
    st, vols = d.curl_json("/volumes")
    assert {"rv", "rn"} <= {v["Name"] for v in vols["Volumes"]}
    d.docker("stop", "-t", "0", "rv1")
    assert mounts_under(data) == []
    # a mount that no running container explains is undone at start
    d.stop()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", data], check=True)
    d.start()
    assert mounts_under(data) == []
    assert "unmounted volume rv" in d.logtail(200)
    d.docker("rm", "rv1")
    d.docker("volume", "rm", "rv", "rn")
    assert not os.path.exists(os.path.join(vroot(d), "rv"))


def test_berth_volume_cli(busybox):
    d = busybox
    d.berth("volume", "create", "--label", "x=1", "cli-v")
    assert d.berth("volume", "create", "cli-v").stdout == b"cli-v\n"
    for args in (["volume", "ls"], ["volume", "ls", "-q"], ["volume", "ls", "--filter", "label=x"],
                 ["volume", "ls", "--format", "{{.Name}} {{.Driver}}"], ["volume", "ls", "--format", "json"]):
        assert d.berth(*args).stdout == d.docker(*args).stdout, args
    bi = json.loads(d.berth("volume", "inspect", "cli-v").stdout)
    di = json.loads(d.docker("volume", "inspect", "cli-v").stdout)
    assert bi == di
    assert d.berth("volume", "inspect", "-f", "{{.Mountpoint}}", "cli-v").stdout == \
        d.docker("volume", "inspect", "-f", "{{.Mountpoint}}", "cli-v").stdout
    for args in (["volume", "inspect", "cli-v", "nosuch-v"], ["volume", "create", "--opt", "bad", "cli-x"]):
        b, k = d.berth(*args, check=False), d.docker(*args, check=False)
        assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr), args
    r = d.berth("volume", "rm", "nosuch-v", check=False)
    assert r.returncode == 1 and b"no such volume" in r.stderr
    d.berth("volume", "create", "cli-w")
    r = d.berth("volume", "prune", "-af")
    assert b"cli-v" in r.stdout and b"cli-w" in r.stdout and b"Total reclaimed space" in r.stdout
    assert d.curl_json("/volumes/cli-v")[0] == 404
    d.berth("volume", "create", "cli-z")
    assert d.berth("volume", "rm", "cli-z").stdout == b"cli-z\n"


COMPOSE = """
version: "2.4"
services:
  db:
    image: busybox
    command: sleep 300
    stop_grace_period: 1s
    volumes:
      - data:/data
      - ./hostdir:/host
    tmpfs:
      - /scratch
  side:
    image: busybox
    command: sleep 300
    stop_grace_period: 1s
    volumes_from:
      - db
volumes:
  data: {}
"""


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_compose_named_volume_volumes_from_tmpfs_bind(busybox, tmp_path):
    d = busybox
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "hostdir").mkdir()
    (tmp_path / "hostdir" / "h").write_text("from host")
    # compose 1.29 negotiates API 1.52 and reads the image's ContainerConfig on every recreate
    env = dict(d.env(), COMPOSE_PROJECT_NAME="vproj")

    def compose(*args):
        r = subprocess.run(["docker-compose", *args], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        return r

    def sh(svc, cmd):
        return d.docker("exec", f"vproj_{svc}_1", "sh", "-c", cmd).stdout

    compose("up", "-d")
    sh("db", "echo kept > /data/f")
    assert sh("side", "cat /data/f /host/h") == b"kept\nfrom host"
    assert b"tmpfs" in sh("db", "grep ' /scratch ' /proc/mounts")
    compose("up", "-d", "--force-recreate")
    assert sh("db", "cat /data/f") == b"kept\n"
    assert sh("side", "cat /data/f") == b"kept\n"
    compose("down", "-v")
    st, _ = d.curl_json("/volumes/vproj_data")
    assert st == 404
    assert mounts_under(vroot(d)) == []
    assert (tmp_path / "hostdir" / "h").read_text() == "from host"


def test_subpath_and_its_escape(busybox):
    d = busybox
    d.docker("run", "--rm", "-v", "sub-v:/v", "busybox", "sh", "-c",
             "mkdir -p /v/dir && echo inside > /v/dir/f && ln -s /etc /v/out && ln -s ../../../.. /v/up")
    r = d.docker("run", "--rm", "--mount", "type=volume,src=sub-v,dst=/s,volume-subpath=dir", "busybox",
                 "cat", "/s/f")
    assert r.stdout == b"inside\n"
    # symlinks written by a container never take the bind out of the volume
    for sub in ("out", "up"):
        r = d.docker("run", "--rm", "--mount", f"type=volume,src=sub-v,dst=/s,volume-subpath={sub}", "busybox",
                     "ls", "/s", check=False)
        assert r.returncode != 0 and b"subpath leaves the volume" in r.stderr, r.stderr
    d.docker("volume", "rm", "sub-v")


@pytest.mark.parametrize("point", ["volume-create-before-record", "volume-remove-after-delete"])
def test_crash_leaves_no_volume_directory(fresh_berthd, point):
    d = fresh_berthd
    if point == "volume-remove-after-delete":
        d.start()
        d.docker("volume", "create", "cv")
        d.stop()
    d.start(env={"BERTH_CRASH_AT": point})
    cmd = ["volume", "create", "cv"] if point.startswith("volume-create") else ["volume", "rm", "cv"]
    d.docker(*cmd, check=False)
    assert d.proc.wait(60) == -9
    d.proc = None
    assert os.path.isdir(os.path.join(vroot(d), "cv"))  # the directory a crash left
    d.start()
    assert not os.path.exists(os.path.join(vroot(d), "cv"))
    assert d.curl_json("/volumes/cv")[0] == 404
    assert "removed volume directory cv: no record" in d.logtail(200)


def test_berth_run_mount_flags_match_docker(busybox, tmp_path):
    d = busybox
    args = ["-v", "rf-n:/n:ro", "-v", "/anon", "--mount", f"type=bind,src={tmp_path},dst=/b,readonly",
            "--mount", "type=volume,src=rf-m,dst=/m,volume-nocopy,volume-label=k=v",
            "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "--tmpfs", "/tf:size=64k",
            "--volumes-from", "rf-src:ro"]
    d.docker("create", "--name", "rf-src", "-v", "rf-s:/s", "busybox")
    ids = [tool("create", *args, "busybox").stdout.decode().strip() for tool in (d.docker, d.berth)]
    shapes = []
    for cid in ids:
        c = d.curl_json(f"/containers/{cid}/json")[1]
        hc = c["HostConfig"]
        mounts = sorted((m["Type"], m["Destination"], m["RW"], m["Mode"], m["Propagation"],
                         "" if len(m.get("Name", "")) == 64 else m.get("Name")) for m in c["Mounts"])
        shapes.append((hc["Binds"], hc["Mounts"], hc["Tmpfs"], hc["VolumesFrom"], c["Config"]["Volumes"], mounts))
    assert shapes[0] == shapes[1]
    r = d.berth("run", "--rm", "--mount", "type=volume,dst=/x,bind-propagation=shared", "busybox", "true",
                check=False)
    assert r.returncode == 125 and b"cannot mix 'bind-*' options with mount type 'volume'" in r.stderr
    d.docker("rm", "-v", *ids, "rf-src")
    d.docker("volume", "rm", "rf-n", "rf-m", "rf-s")
