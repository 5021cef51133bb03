"""Resource limits: applied at start, changed live by update, refused or warned about as dockerd does,
and seen in effect from the cgroup files and from inside the container (OOM kill, pids limit, CPU
throttling). This host is cgroup v1; the v2 translation is unit-tested (tests/unit/test-cgroup.c)."""
import json
import os
import time

import pytest

CG = "/sys/fs/cgroup"
V1 = os.path.isdir(f"{CG}/memory") and os.path.isdir(f"{CG}/cpu")
pytestmark = pytest.mark.skipif(not V1, reason="needs the cgroup v1 hierarchies")
MIB = 1024 * 1024


def cg(ctl, cid, f):
    with open(f"{CG}/{ctl}/berth/{cid}/{f}") as fh:
        return fh.read().strip()


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def run_d(d, *args):
    return d.docker("run", "-d", *args).stdout.decode().strip()


def inspect(d, cid):
    return json.loads(d.docker("inspect", cid).stdout)[0]


def create(d, hc, cmd=("true",)):
    return d.curl_json("/containers/create", "POST", {"Image": "busybox", "Cmd": list(cmd), "HostConfig": hc})


def test_limits_applied_at_start(busybox):
    d = busybox
    cid = run_d(d, "-m", "32m", "--memory-reservation", "16m", "--cpus", "0.5", "--cpu-shares", "512",
                "--cpuset-cpus", "0", "--pids-limit", "20", "--oom-score-adj", "500", "--ulimit", "nofile=100:200",
                "--shm-size", "8m", "--oom-kill-disable", "busybox",
                "sh", "-c", "cat /proc/self/oom_score_adj; ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1; sleep 600")
    try:
        assert cg("memory", cid, "memory.limit_in_bytes") == str(32 * MIB)
        # Docker's default swap: as much again as the memory
        assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(64 * MIB)
        assert cg("memory", cid, "memory.soft_limit_in_bytes") == str(16 * MIB)
        assert "oom_kill_disable 1" in cg("memory", cid, "memory.oom_control")
        assert cg("cpu", cid, "cpu.cfs_period_us") == "100000"
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "50000"
        assert cg("cpu", cid, "cpu.shares") == "512"
        assert cg("cpuset", cid, "cpuset.cpus") == "0"
        assert cg("pids", cid, "pids.max") == "20"
        assert wait_for(lambda: "/dev/shm" in d.docker("logs", cid).stdout.decode())
        out = d.docker("logs", cid).stdout.decode().split("\n")
        assert out[0] == "500"
        assert out[1] == "100" and out[2] == "200"
        assert out[3].split()[1] == "8192"  # /dev/shm is 8 MiB
        hc = inspect(d, cid)["HostConfig"]
        assert hc["Memory"] == 32 * MIB and hc["MemorySwap"] == 64 * MIB and hc["NanoCpus"] == 500000000
    finally:
        d.docker("rm", "-f", cid)
    assert not os.path.exists(f"{CG}/memory/berth/{cid}")


@pytest.mark.parametrize("hc,status,msg", [
    ({"Memory": 1024 * 1024}, 400, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 10 * MIB, "MemorySwap": 5 * MIB}, 400,
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    ({"MemorySwap": 20 * MIB}, 400, "You should always set the Memory limit when using Memoryswap limit, see usage"),
    ({"MemoryReservation": MIB}, 400, "Minimum memory reservation allowed is 6MB"),
    ({"Memory": 10 * MIB, "MemoryReservation": 20 * MIB}, 400,
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    ({"NanoCpus": 500000000, "CpuPeriod": 1000}, 400,
     "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"NanoCpus": 500000000, "CpuQuota": 10000}, 400,
     "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"NanoCpus": (os.cpu_count() + 1) * 1000000000}, 400,
     f"Range of CPUs is from 0.01 to {os.cpu_count()}.00, as there are only {os.cpu_count()} CPUs available"),
    ({"CpuPeriod": 100}, 400, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
    ({"CpuQuota": 100}, 400, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    ({"CpusetCpus": "abc"}, 400, "Invalid value abc for cpuset cpus: invalid format: abc"),
    ({"CpusetCpus": "77"}, 400, "Requested CPUs are not available - requested 77, available: "),
    ({"CpusetMems": "9"}, 400, "Requested memory nodes are not available - requested 9, available: "),
    ({"OomScoreAdj": 2000}, 400, "Invalid value 2000, range for oom score adj is [-1000, 1000]"),
    ({"MemorySwappiness": 200}, 400, "Invalid value: 200, valid memory swappiness range is 0-100"),
    ({"ShmSize": -1}, 400, "SHM size can not be less than 0"),
    ({"Memory": "lots"}, 400, "json: cannot unmarshal string into Go struct field HostConfig.Memory"),
    ({"CpuRealtimeRuntime": 1000}, 400, "real-time"),
])
def test_bad_values_are_refused_with_dockers_text(busybox, hc, status, msg):
    st, body = create(busybox, hc)
    assert st == status, body
    assert body["message"].startswith(msg) or msg in body["message"], body


def test_unenforceable_limits_warn_and_are_discarded(busybox):
    """A limit this kernel cannot enforce is dropped with dockerd's warning, never stored silently."""
    st, body = create(busybox, {"KernelMemory": 10 * MIB, "BlkioWeight": 300})
    assert st == 201, body
    w = body["Warnings"]
    assert "Specifying a kernel memory limit is deprecated and will be removed in a future release." in w
    hc = inspect(busybox, body["Id"])["HostConfig"]
    if not os.path.exists(f"{CG}/blkio/blkio.weight") and not os.path.exists(f"{CG}/blkio/blkio.bfq.weight"):
        assert ("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
                in w)
        assert hc["BlkioWeight"] == 0
    # kernels from 5.16 ignore memory.kmem.limit_in_bytes: so the limit is dropped, with a warning
    if tuple(int(x) for x in os.uname().release.split(".")[:2]) >= (5, 16):
        assert ("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. "
                "Limitation discarded.") in w
    st, body2 = create(busybox, {"OomKillDisable": True})
    assert st == 201
    assert ("OOM killer is disabled for the container, but no memory limit is set, this can result in the system "
            "running out of resources.") in body2["Warnings"]
    # the docker CLI shows them
    r = busybox.docker("create", "--blkio-weight", "300", "busybox", "true")
    if hc["BlkioWeight"] == 0:
        assert b"WARNING: Your kernel does not support Block I/O weight" in r.stderr
    for c in (body["Id"], body2["Id"], r.stdout.decode().strip()):
        busybox.docker("rm", c)


def test_blkio_throttle_devices_in_cgroup(busybox):
    dev = next((f"/dev/{n}" for n in sorted(os.listdir("/sys/block")) if not n.startswith(("loop", "ram"))), None)
    if dev is None or not os.path.exists(dev):
        pytest.skip("no block device")
    st = os.stat(dev)
    mm = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    cid = run_d(busybox, "--device-read-bps", f"{dev}:1mb", "--device-write-iops", f"{dev}:100", "busybox",
                "sleep", "600")
    try:
        assert f"{mm} 1048576" in cg("blkio", cid, "blkio.throttle.read_bps_device")
        assert f"{mm} 100" in cg("blkio", cid, "blkio.throttle.write_iops_device")
    finally:
        busybox.docker("rm", "-f", cid)


def test_update_changes_the_running_containers_cgroup(busybox):
    d = busybox
    cid = run_d(d, "-m", "32m", "busybox", "sleep", "600")
    try:
        r = d.docker("update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "1.5", "--pids-limit", "50",
                     "--cpu-shares", "300", "--cpuset-cpus", "0", "--memory-reservation", "20m", cid)
        assert r.stdout.decode().strip() == cid
        assert cg("memory", cid, "memory.limit_in_bytes") == str(64 * MIB)
        assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(128 * MIB)
        assert cg("memory", cid, "memory.soft_limit_in_bytes") == str(20 * MIB)
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "150000"
        assert cg("cpu", cid, "cpu.shares") == "300"
        assert cg("cpuset", cid, "cpuset.cpus") == "0"
        assert cg("pids", cid, "pids.max") == "50"
        hc = inspect(d, cid)["HostConfig"]
        assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == \
            (64 * MIB, 128 * MIB, 1500000000, 50, 300)
        # shrinking memory below the recorded swap: memory is lowered first, swap after (kernel order)
        d.docker("update", "--memory", "16m", "--memory-swap", "16m", cid)
        assert cg("memory", cid, "memory.limit_in_bytes") == str(16 * MIB)
        assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(16 * MIB)
        # pids limit back to unlimited
        d.docker("update", "--pids-limit", "-1", cid)
        assert cg("pids", cid, "pids.max") == "max"
        # the limits hold across a stop and start (they are the recorded ones)
        d.docker("restart", "-t", "0", cid)
        assert cg("memory", cid, "memory.limit_in_bytes") == str(16 * MIB)
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "150000"
        # berth update does the same
        r = d.berth("update", "--cpus", "0.25", cid)
        assert r.stdout.decode().strip() == cid
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "25000"
    finally:
        d.docker("rm", "-f", cid)


def test_update_conflicts_and_refusals(busybox):
    d = busybox
    cid = run_d(d, "--cpus", "0.5", "busybox", "sleep", "600")
    try:
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"CpuPeriod": 50000})
        assert st == 409
        assert body["message"] == (f"Cannot update container {cid}: Conflicting options: CPU Period cannot be "
                                   "updated as NanoCPUs has already been set")
        # more memory than the recorded swap, without a new swap value
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"Memory": 20 * MIB})
        assert st == 409
        assert body["message"].endswith("Memory limit should be smaller than already set memoryswap limit, update "
                                        "the memoryswap at the same time")
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"Memory": MIB})
        assert st == 400 and body["message"] == "Minimum memory limit allowed is 6MB"
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"CpusetCpus": "99"})
        assert st == 400 and body["message"].startswith("Requested CPUs are not available")
        # a field dockerd takes but never applies is refused, not stored
        st, body = d.curl_json(f"/containers/{cid}/update", "POST",
                               {"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 10}]})
        assert st == 400 and "Ulimits" in body["message"]
        assert inspect(d, cid)["HostConfig"]["Ulimits"] in (None, [])
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "50000"
        # a warning comes back in Warnings and is printed by the docker CLI
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"KernelMemory": 10 * MIB})
        assert st == 200
        assert "Specifying a kernel memory limit is deprecated and will be removed in a future release." in \
            body["Warnings"]
        r = d.docker("update", "--kernel-memory", "10m", cid)
        assert b"Specifying a kernel memory limit is deprecated" in r.stdout
    finally:
        d.docker("rm", "-f", cid)


def test_update_is_atomic_when_the_kernel_refuses(busybox):
    """Memory the container holds (tmpfs pages, no swap) cannot be taken back: the kernel refuses the
    lower limit, the update fails and neither the cgroup nor the recorded config change."""
    with open("/proc/swaps") as f:
        if len(f.read().strip().splitlines()) > 1:
            pytest.skip("with swap the kernel can always meet a lower limit")
    d = busybox
    cid = run_d(d, "-m", "64m", "--memory-swap", "64m", "busybox", "sh", "-c",
                "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 && echo filled && sleep 600")
    try:
        assert wait_for(lambda: b"filled" in d.docker("logs", cid).stdout)
        st, body = d.curl_json(f"/containers/{cid}/update", "POST", {"Memory": 8 * MIB, "MemorySwap": 8 * MIB})
        assert st == 500, body
        assert body["message"].startswith(f"Cannot update container {cid}: ")
        hc = inspect(d, cid)["HostConfig"]
        assert hc["Memory"] == 64 * MIB and hc["MemorySwap"] == 64 * MIB
        assert cg("memory", cid, "memory.limit_in_bytes") == str(64 * MIB)
        assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(64 * MIB)
    finally:
        d.docker("rm", "-f", cid)


def test_memory_hog_is_oom_killed_with_event(busybox):
    d = busybox
    since = str(int(time.time()) - 1)
    r = d.docker("run", "--name", "hog", "-m", "8m", "--memory-swap", "8m", "busybox", "tail", "/dev/zero",
                 check=False)
    try:
        assert r.returncode == 137
        st = inspect(d, "hog")["State"]
        assert st["OOMKilled"] is True and st["ExitCode"] == 137
        ev = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "container=hog",
                      "--format", "{{.Action}}").stdout.decode().split()
        assert "oom" in ev and ev.index("oom") < ev.index("die"), ev
        # a new start clears it
        d.docker("start", "hog")
        assert inspect(d, "hog")["State"]["OOMKilled"] is False or \
            inspect(d, "hog")["State"]["Status"] != "running"
    finally:
        d.docker("rm", "-f", "hog")


def test_oom_of_a_child_is_reported_while_running(busybox):
    """dockerd reports an OOM kill when it happens: OOMKilled and the "oom" event while the container
    keeps running (here its shell outlives the killed child)."""
    d = busybox
    since = str(int(time.time()) - 1)
    cid = run_d(d, "-m", "8m", "--memory-swap", "8m", "busybox", "sh", "-c", "tail /dev/zero; echo survived; sleep 600")
    try:
        assert wait_for(lambda: b"survived" in d.docker("logs", cid).stdout)
        assert wait_for(lambda: inspect(d, cid)["State"]["OOMKilled"] is True)
        assert inspect(d, cid)["State"]["Status"] == "running"
        ev = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                      f"container={cid}", "--format", "{{.Action}}").stdout.decode().split()
        assert ev.count("oom") >= 1 and "die" not in ev, ev
        d.docker("stop", "-t", "0", cid)
        ev = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                      f"container={cid}", "--format", "{{.Action}}").stdout.decode().split()
        assert ev.count("oom") == 1 and "die" in ev, ev  # not reported again at the exit
        assert inspect(d, cid)["State"]["OOMKilled"] is True
    finally:
        d.docker("rm", "-f", cid)


def test_oom_kill_disabled_hog_waits_and_is_reported(busybox):
    d = busybox
    since = str(int(time.time()) - 1)
    cid = run_d(d, "-m", "8m", "--memory-swap", "8m", "--oom-kill-disable", "busybox", "sh", "-c",
                "x=a; while :; do x=$x$x; done")  # faults in user space: the task waits
    try:
        assert wait_for(lambda: "under_oom 1" in cg("memory", cid, "memory.oom_control"))
        assert wait_for(lambda: "oom" in d.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                                                  "--filter", f"container={cid}", "--format",
                                                  "{{.Action}}").stdout.decode().split())
        st = inspect(d, cid)["State"]
        assert st["Status"] == "running" and st["OOMKilled"] is True
        assert "oom_kill 0" in cg("memory", cid, "memory.oom_control")  # nothing was killed
    finally:
        d.docker("rm", "-f", cid)


def test_oom_kill_while_berthd_is_down(fresh_berthd, tmp_path):
    """The monitor records the OOM kill in exit.json; berthd, started again, reports it and emits the event."""
    d = fresh_berthd
    d.start()
    d.import_busybox()
    sig = tmp_path / "sig"
    sig.mkdir()
    cid = run_d(d, "-m", "8m", "--memory-swap", "8m", "-v", f"{sig}:/sig", "busybox", "sh", "-c",
                "while [ ! -e /sig/go ]; do sleep 0.1; done; tail /dev/zero")
    since = str(int(time.time()) - 1)
    d.stop()
    (sig / "go").write_text("")
    pids = [int(p) for p in open(f"{CG}/memory/berth/{cid}/cgroup.procs").read().split()] \
        if os.path.exists(f"{CG}/memory/berth/{cid}") else []
    assert wait_for(lambda: not os.path.exists(f"{CG}/memory/berth/{cid}"), 60), pids
    d.start()
    st = inspect(d, cid)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137 and st["Status"] == "exited"
    ev = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", f"container={cid}",
                  "--format", "{{.Action}}").stdout.decode().split()
    assert "oom" in ev, ev
    d.docker("rm", cid)


def test_fork_bomb_stops_at_pids_limit(busybox):
    d = busybox
    cid = run_d(d, "--pids-limit", "10", "busybox", "sh", "-c",
                "(i=0; while [ $i -lt 40 ]; do sleep 600 & i=$((i+1)); done); echo tried; exec sleep 600")
    try:
        assert wait_for(lambda: b"tried" in d.docker("logs", cid).stdout)
        assert cg("pids", cid, "pids.max") == "10"
        assert 8 <= int(cg("pids", cid, "pids.current")) <= 10
        assert int(cg("pids", cid, "pids.events").split()[1]) > 0  # "max N": forks refused
        logs = d.docker("logs", cid)
        assert b"can't fork" in logs.stderr or b"Resource temporarily unavailable" in logs.stderr, logs
    finally:
        d.docker("rm", "-f", cid)


def test_cpu_hog_is_throttled(busybox):
    d = busybox
    cid = run_d(d, "--cpus", "0.1", "busybox", "sh", "-c", "while :; do :; done")
    try:
        assert cg("cpu", cid, "cpu.cfs_quota_us") == "10000"
        assert cg("cpu", cid, "cpu.cfs_period_us") == "100000"

        def throttled():
            stat = dict(ln.split() for ln in cg("cpu", cid, "cpu.stat").splitlines())
            return int(stat["nr_throttled"]) > 0

        assert wait_for(throttled, 60)
        s = json.loads(d.curl(f"/containers/{cid}/stats?stream=false")[2])
        assert s["cpu_stats"]["throttling_data"]["throttled_periods"] > 0
    finally:
        d.docker("rm", "-f", cid)


def test_update_of_a_stopped_container_applies_at_start(busybox):
    d = busybox
    cid = d.docker("create", "busybox", "sleep", "600").stdout.decode().strip()
    try:
        d.docker("update", "--memory", "48m", "--memory-swap", "96m", "--pids-limit", "33", cid)
        d.docker("start", cid)
        assert cg("memory", cid, "memory.limit_in_bytes") == str(48 * MIB)
        assert cg("pids", cid, "pids.max") == "33"
    finally:
        d.docker("rm", "-f", cid)


def test_limits_visible_in_the_containers_own_cgroupfs(busybox):
    """/sys/fs/cgroup in the container is its own cgroups (as Docker mounts it), so programs that size
    themselves from it see their limits; read-only, and nothing of the host's or other containers' tree."""
    other = run_d(busybox, "--name", "cgneighbour", "busybox", "sleep", "300")
    try:
        out = busybox.docker("run", "--rm", "-m", "96m", "--pids-limit", "33", "busybox", "sh", "-c",
                             "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max;"
                             "ls /sys/fs/cgroup; ls /sys/fs/cgroup/memory;"
                             "touch /sys/fs/cgroup/memory/x 2>/dev/null && echo WRITABLE;"
                             "echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null && echo WRITABLE; true"
                             ).stdout.decode().split()
        assert out[0] == str(96 << 20) and out[1] == "33"
        assert "memory" in out and "pids" in out
        assert "WRITABLE" not in out
        # the namespace root is the container's own cgroup: no host hierarchy without a cgroup of its own,
        # and no sibling container's directory
        assert "systemd" not in out and not any(other[:12] in w for w in out)
        assert not any(w.startswith("berth") for w in out)
    finally:
        busybox.docker("rm", "-f", other, check=False)
