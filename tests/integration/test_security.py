"""Container isolation: each test runs an attack (or a refused option) against the defaults.
See docs/security.md "Container isolation"."""
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time

import pytest

from berthtest import BUILD  # noqa: F401  (the build under test)


def run(d, *args, check=False):
    return d.docker("run", "--rm", *args, check=check)


# ---- 1. device cgroup ----

DEV_ATTACK = ('cd /dev; mknod loop0 b 7 0 && echo mknod-ok; '
              '(exec 3<>loop0 && echo loop-rw); mknod kmsg c 1 11; (exec 4<kmsg && echo kmsg-open); echo end')


def test_device_nodes_made_in_container_are_useless(busybox):
    r = run(busybox, "busybox", "sh", "-c", DEV_ATTACK)
    out = r.stdout.decode()
    assert "mknod-ok" in out          # Docker allows mknod ("c *:* m", "b *:* m")
    assert "loop-rw" not in out       # but not opening the host's loop device
    assert "kmsg-open" not in out     # nor the kernel log
    assert "end" in out
    # The default nodes still work.
    r = run(busybox, "busybox", "sh", "-c", "head -c 4 /dev/zero | wc -c; echo x > /dev/null; "
            "head -c 4 /dev/urandom | wc -c", check=True)
    assert r.stdout.split() == [b"4", b"4"]


def test_device_flag_and_cgroup_rule(busybox):
    r = run(busybox, "--device", "/dev/loop0:/dev/xloop", "busybox", "sh", "-c",
            "ls -l /dev/xloop; exec 3</dev/xloop && echo open-ok", check=True)
    assert b"open-ok" in r.stdout and r.stdout.startswith(b"b")
    r = run(busybox, "--device", "/dev/loop0:/dev/xloop:r", "busybox", "sh", "-c",
            "(exec 3<>/dev/xloop && echo rw-ok); (exec 4</dev/xloop && echo r-ok)")
    assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    r = run(busybox, "--device-cgroup-rule", "b 7:* r", "busybox", "sh", "-c",
            "mknod /dev/l0 b 7 0; (exec 3</dev/l0 && echo r-ok); (exec 4<>/dev/l0 && echo rw-ok)")
    assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "DeviceCgroupRules": ["x 1:2 rwm"]}})
    assert st == 400 and j["message"] == "invalid device cgroup rule format: 'x 1:2 rwm'"
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwx"}]}})
    assert st == 400 and j["message"] == "invalid device mode: rwx"
    r = run(busybox, "--device", "/dev/nonexistent-dev", "busybox", "true")
    assert r.returncode != 0 and b"error gathering device information" in r.stderr


def test_privileged_gets_host_devices(busybox):
    r = run(busybox, "--privileged", "busybox", "sh", "-c", "exec 3</dev/loop0 && echo open-ok", check=True)
    assert b"open-ok" in r.stdout


def test_device_program_on_cgroup_v2():
    """On cgroup v2 the same rules are an eBPF device program attached to the container's group."""
    from test_cgroup_v2 import UNIFIED, V2Berthd, _is_cgroup2
    if not _is_cgroup2(UNIFIED):
        pytest.skip("no cgroup2 mount")
    d = V2Berthd().start()
    try:
        d.import_busybox()
        r = d.docker("run", "--rm", "busybox", "sh", "-c", DEV_ATTACK + "; head -c 3 /dev/zero | wc -c")
        out = r.stdout.decode()
        assert "mknod-ok" in out and "loop-rw" not in out and "kmsg-open" not in out and "end\n3" in out
        r = d.docker("run", "--rm", "--device-cgroup-rule", "b 7:* r", "busybox", "sh", "-c",
                     "mknod /dev/l0 b 7 0; (exec 3</dev/l0 && echo r-ok); (exec 4<>/dev/l0 && echo rw-ok)",
                     check=False)
        assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    finally:
        d.cleanup()


def test_import_rootfs_with_device_nodes(busybox, tmp_path):
    """A debootstrap/mmdebstrap rootfs has /dev/console, /dev/null, ...: accepted, as by Docker."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("./dev")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        t.addfile(d)
        for name, maj, mino, mode in (("./dev/console", 5, 1, 0o600), ("./dev/null", 1, 3, 0o4666)):
            e = tarfile.TarInfo(name)
            e.type, e.devmajor, e.devminor, e.mode = tarfile.CHRTYPE, maj, mino, mode
            t.addfile(e)
        f = tarfile.TarInfo("./hello")
        f.size = 3
        t.addfile(f, io.BytesIO(b"hi\n"))
    busybox.docker("import", "-", "devimg:latest", input=buf.getvalue())
    r = busybox.docker("create", "devimg:latest", "x")
    cid = r.stdout.decode().strip()
    out = busybox.docker("export", cid).stdout
    busybox.docker("rm", cid)
    names = {m.name.lstrip("./"): m for m in tarfile.open(fileobj=io.BytesIO(out)).getmembers()}
    assert names["dev/null"].ischr() and names["dev/null"].mode & 0o7000 == 0
    assert names["dev/console"].ischr() and names["dev/console"].devmajor == 5
