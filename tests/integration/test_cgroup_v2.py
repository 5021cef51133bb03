"""The runtime's cgroup v2 operations (rt_cgroup_v2_ops), exercised for real.

This host is cgroup v1 hybrid with an empty cgroup2 hierarchy at /sys/fs/cgroup/unified. A berthd
started with BERTH_CGROUP_ROOT pointing there detects cgroup2 by the mount's magic and uses the v2
operations: create, add pid, list pids (top, kill), freeze/thaw through cgroup.freeze (pause,
unpause), kill every process, remove. No controllers are enabled there, so limits are not checked."""
import os
import time

import pytest

from berthtest import Berthd

UNIFIED = "/sys/fs/cgroup/unified"


def _is_cgroup2(path):
    try:
        with open("/proc/self/mounts") as f:
            return any(ln.split()[1] == path and ln.split()[2] == "cgroup2" for ln in f)
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _is_cgroup2(UNIFIED), reason=f"no cgroup2 mount at {UNIFIED}")


class V2Berthd(Berthd):
    """A berthd whose runtime and monitors use the cgroup2 hierarchy at UNIFIED."""

    def start(self, extra=(), wait=True):
        saved = os.environ.get("BERTH_CGROUP_ROOT")
        os.environ["BERTH_CGROUP_ROOT"] = UNIFIED  # inherited by berthd's Popen
        try:
            return super().start(extra, wait)
        finally:
            if saved is None:
                del os.environ["BERTH_CGROUP_ROOT"]
            else:
                os.environ["BERTH_CGROUP_ROOT"] = saved


@pytest.fixture(scope="module")
def v2():
    d = V2Berthd().start()
    d.import_busybox()
    yield d
    died = d.proc is not None and d.proc.poll() is not None
    d.cleanup()
    assert not died, "berthd exited early"


def cg(cid, f=None):
    p = os.path.join(UNIFIED, "berth", cid)
    return os.path.join(p, f) if f else p


def read(path):
    with open(path) as f:
        return f.read()


def procs(cid):
    return [int(x) for x in read(cg(cid, "cgroup.procs")).split()]


def events(cid):
    return dict(ln.split() for ln in read(cg(cid, "cgroup.events")).splitlines())


def no_v1_cgroup(cid):
    return all(not os.path.exists(f"/sys/fs/cgroup/{c}/berth/{cid}")
               for c in ("pids", "freezer", "memory", "cpu", "cpuset", "devices", "blkio", "cpuacct"))


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_info_still_reports_the_host_version(v2):
    # The override only moves the runtime's cgroups; the host itself stays v1 hybrid.
    assert v2.docker("info", "--format", "{{.CgroupVersion}}").stdout.decode().strip() == "1"


def test_run_pause_unpause_stop_rm(v2):
    cid = v2.docker("run", "-d", "busybox", "sh", "-c", "sleep 600 & sleep 600; wait").stdout.decode().strip()
    try:
        # create + add pid: the container's processes are in its own cgroup2 group, not in v1 ones
        assert os.path.isdir(cg(cid))
        assert wait_for(lambda: len(procs(cid)) == 3), procs(cid)
        assert events(cid)["populated"] == "1"
        assert no_v1_cgroup(cid)
        with open(f"/proc/{procs(cid)[0]}/cgroup") as f:
            assert f"0::/berth/{cid}" in f.read()

        # list pids: top lists what cgroup.procs holds
        top = v2.docker("top", cid).stdout.decode().splitlines()[1:]
        assert sorted(int(ln.split()[1]) for ln in top) == sorted(procs(cid)), top
        assert sum(ln.endswith(" sleep 600") for ln in top) == 2, top

        # freeze through cgroup.freeze
        v2.docker("pause", cid)
        assert read(cg(cid, "cgroup.freeze")).strip() == "1"
        assert events(cid)["frozen"] == "1"
        for pid in procs(cid):
            # a frozen task sleeps in the freezer; its state is never R
            assert read(f"/proc/{pid}/stat").split()[2] != "R"
        assert v2.docker("inspect", "-f", "{{.State.Status}}", cid).stdout.decode().strip() == "paused"

        # thaw
        v2.docker("unpause", cid)
        assert read(cg(cid, "cgroup.freeze")).strip() == "0"
        assert events(cid)["frozen"] == "0"
        assert v2.docker("inspect", "-f", "{{.State.Status}}", cid).stdout.decode().strip() == "running"

        # stop: sh as PID 1 ignores SIGTERM, so this ends in the SIGKILL of every process
        pids = procs(cid)
        v2.docker("stop", "-t", "1", cid)
        assert v2.docker("inspect", "-f", "{{.State.Status}}", cid).stdout.decode().strip() == "exited"
        for pid in pids:
            assert not os.path.exists(f"/proc/{pid}") or "Z" == read(f"/proc/{pid}/stat").split()[2]
        assert not os.path.exists(cg(cid)) or procs(cid) == []
    finally:
        v2.docker("rm", "-f", cid, check=False)
    # remove: no cgroup left behind, in either hierarchy
    assert not os.path.exists(cg(cid))
    assert no_v1_cgroup(cid)


def test_kill_all_while_paused_and_rm_force(v2):
    # A paused container must still be removable: kill-all freezes, signals and thaws every process.
    cid = v2.docker("run", "-d", "busybox", "sh", "-c", "sleep 600 & sleep 600 & sleep 600").stdout.decode().strip()
    assert wait_for(lambda: len(procs(cid)) >= 3)
    pids = procs(cid)
    v2.docker("pause", cid)
    assert events(cid)["frozen"] == "1"
    v2.docker("rm", "-f", cid)
    assert not os.path.exists(cg(cid))
    assert no_v1_cgroup(cid)
    for pid in pids:
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}")), f"pid {pid} survived rm -f"
    assert v2.docker("ps", "-aq").stdout.strip() == b""


def test_run_rm_leaves_no_cgroup(v2):
    r = v2.docker("run", "--rm", "busybox", "sh", "-c", "cat /proc/self/cgroup")
    # the container has its own cgroup namespace: its cgroup2 group is the root there
    assert b"0::/\n" in r.stdout
    left = [e for e in os.listdir(os.path.join(UNIFIED, "berth")) if os.path.isdir(os.path.join(UNIFIED, "berth", e))]
    assert left == []
