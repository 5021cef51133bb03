"""Resource limits and stats on the cgroup v2 path, as far as this host allows: its cgroup2 hierarchy
(/sys/fs/cgroup/unified) has no memory, cpu, pids or io controller (they are bound to the v1
hierarchies), so a limit there is what dockerd does on such a host: a warning and the limit dropped,
or Docker's error for --cpus. The stats come from the v2 files (cpu.stat) in Docker's v2 shape. The
v1 -> v2 value translation is unit-tested in tests/unit/test-cgroup.c."""
import json
import os

import pytest

from test_cgroup_v2 import UNIFIED, V2Berthd, _is_cgroup2

pytestmark = pytest.mark.skipif(not _is_cgroup2(UNIFIED), reason=f"no cgroup2 mount at {UNIFIED}")


def controllers():
    with open(os.path.join(UNIFIED, "cgroup.controllers")) as f:
        return f.read().split()


@pytest.fixture(scope="module")
def v2():
    d = V2Berthd().start()
    d.import_busybox()
    yield d
    died = d.proc is not None and d.proc.poll() is not None
    d.cleanup()
    assert not died, "berthd exited early"


def create(d, hc):
    return d.curl_json("/containers/create", "POST", {"Image": "busybox", "Cmd": ["sleep", "600"], "HostConfig": hc})


def test_missing_controllers_give_dockers_warnings(v2):
    if "memory" in controllers() or "pids" in controllers():
        pytest.skip("this host's cgroup2 has controllers")
    st, body = create(v2, {"Memory": 32 * 1024 * 1024, "PidsLimit": 5, "CpuShares": 512, "KernelMemory": 8 << 20})
    assert st == 201, body
    w = body["Warnings"]
    assert ("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation "
            "discarded.") in w
    assert "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded." \
        in w
    assert "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded." in w
    assert ("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. "
            "Limitation discarded.") in w
    hc = json.loads(v2.docker("inspect", body["Id"]).stdout)[0]["HostConfig"]
    assert hc["Memory"] == 0 and hc["MemorySwap"] == -1 and hc["PidsLimit"] is None and hc["CpuShares"] == 0
    v2.docker("rm", body["Id"])
    st, body = create(v2, {"NanoCpus": 500000000})
    assert st == 400
    assert body["message"] == ("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the "
                               "cgroup is not mounted")


def test_update_on_v2_warns_and_changes_nothing_it_cannot(v2):
    if "memory" in controllers():
        pytest.skip("this host's cgroup2 has controllers")
    cid = v2.docker("run", "-d", "busybox", "sleep", "600").stdout.decode().strip()
    try:
        st, body = v2.curl_json(f"/containers/{cid}/update", "POST", {"Memory": 64 << 20, "MemorySwap": -1})
        assert st == 200
        assert ("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation "
                "discarded.") in body["Warnings"]
        assert json.loads(v2.docker("inspect", cid).stdout)[0]["HostConfig"]["Memory"] == 0
    finally:
        v2.docker("rm", "-f", cid)


def test_stats_from_the_v2_files(v2):
    cid = v2.docker("run", "-d", "busybox", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
                    "sleep 600").stdout.decode().strip()
    try:
        st, _, body = v2.curl(f"/containers/{cid}/stats?stream=false")
        assert st == 200
        s = json.loads(body)
        with open(os.path.join(UNIFIED, "berth", cid, "cpu.stat")) as f:
            usage_usec = int(dict(ln.split() for ln in f.read().splitlines())["usage_usec"])
        cu = s["cpu_stats"]["cpu_usage"]
        # v2 has no per-CPU figures: Docker leaves percpu_usage out
        assert "percpu_usage" not in cu
        assert 0 < cu["total_usage"] <= usage_usec * 1000
        assert cu["total_usage"] % 1000 == 0  # microseconds in nanoseconds
        assert set(s["cpu_stats"]) == {"cpu_usage", "system_cpu_usage", "online_cpus", "throttling_data"}
        # v1-only block I/O lists are null on v2
        for k in ("io_serviced_recursive", "io_queue_recursive", "sectors_recursive"):
            assert s["blkio_stats"][k] is None
        if "memory" not in controllers():
            assert s["memory_stats"] == {}
        assert s["name"].startswith("/") and s["id"] == cid
    finally:
        v2.docker("rm", "-f", cid)
