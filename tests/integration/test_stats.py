"""GET /containers/{id}/stats: Docker's JSON key by key (recorded from dockerd 20.10 on this cgroup v1
host, busybox container), streaming, stream=false and one-shot, a stopped container's zeros, the
< 1.21 shape, and the clients: docker stats, docker-py, berth stats."""
import json
import os
import re
import socket
import subprocess
import time

import pytest

V1 = os.path.isdir("/sys/fs/cgroup/memory") and os.path.isdir("/sys/fs/cgroup/cpuacct")
pytestmark = pytest.mark.skipif(not V1, reason="the recorded shapes are cgroup v1's")
MIB = 1024 * 1024

# dockerd 20.10, GET /containers/{id}/stats?stream=false on a running busybox container (cgroup v1)
REF_KEYS = [
    "read", "preread", "pids_stats", "pids_stats/current", "blkio_stats",
    "blkio_stats/io_service_bytes_recursive", "blkio_stats/io_serviced_recursive", "blkio_stats/io_queue_recursive",
    "blkio_stats/io_service_time_recursive", "blkio_stats/io_wait_time_recursive", "blkio_stats/io_merged_recursive",
    "blkio_stats/io_time_recursive", "blkio_stats/sectors_recursive", "num_procs", "storage_stats", "cpu_stats",
    "cpu_stats/cpu_usage", "cpu_stats/cpu_usage/total_usage", "cpu_stats/cpu_usage/percpu_usage",
    "cpu_stats/cpu_usage/usage_in_kernelmode", "cpu_stats/cpu_usage/usage_in_usermode", "cpu_stats/system_cpu_usage",
    "cpu_stats/online_cpus", "cpu_stats/throttling_data", "cpu_stats/throttling_data/periods",
    "cpu_stats/throttling_data/throttled_periods", "cpu_stats/throttling_data/throttled_time", "precpu_stats",
    "precpu_stats/cpu_usage", "precpu_stats/cpu_usage/total_usage", "precpu_stats/cpu_usage/percpu_usage",
    "precpu_stats/cpu_usage/usage_in_kernelmode", "precpu_stats/cpu_usage/usage_in_usermode",
    "precpu_stats/system_cpu_usage", "precpu_stats/online_cpus", "precpu_stats/throttling_data",
    "precpu_stats/throttling_data/periods", "precpu_stats/throttling_data/throttled_periods",
    "precpu_stats/throttling_data/throttled_time", "memory_stats", "memory_stats/usage", "memory_stats/max_usage",
    "memory_stats/stats", "memory_stats/limit", "name", "id", "networks", "networks/eth0",
    "networks/eth0/rx_bytes", "networks/eth0/rx_packets", "networks/eth0/rx_errors", "networks/eth0/rx_dropped",
    "networks/eth0/tx_bytes", "networks/eth0/tx_packets", "networks/eth0/tx_errors", "networks/eth0/tx_dropped",
]
REF_MEMORY_STAT_KEYS = sorted([
    "active_anon", "active_file", "cache", "dirty", "hierarchical_memory_limit", "hierarchical_memsw_limit",
    "inactive_anon", "inactive_file", "mapped_file", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "rss", "rss_huge",
    "total_active_anon", "total_active_file", "total_cache", "total_dirty", "total_inactive_anon",
    "total_inactive_file", "total_mapped_file", "total_pgfault", "total_pgmajfault", "total_pgpgin", "total_pgpgout",
    "total_rss", "total_rss_huge", "total_unevictable", "total_writeback", "unevictable", "writeback"])
# the same for a stopped container, exactly (name and id aside)
REF_STOPPED = {
    "read": "0001-01-01T00:00:00Z", "preread": "0001-01-01T00:00:00Z", "pids_stats": {},
    "blkio_stats": {k: None for k in ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                                      "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                                      "io_time_recursive", "sectors_recursive")},
    "num_procs": 0, "storage_stats": {},
    "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                  "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
    "precpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                     "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
    "memory_stats": {},
}
ZERO_TIME = "0001-01-01T00:00:00Z"


def keys(o, p=""):
    out = []
    if isinstance(o, dict):
        for k, v in o.items():
            out.append(p + k)
            if k != "stats":
                out += keys(v, p + k + "/")
    return out


def stats(d, cid, query="stream=false", prefix=""):
    st, _, body = d.curl(f"{prefix}/containers/{cid}/stats?{query}")
    assert st == 200, body
    return json.loads(body)


def run_d(d, *args):
    return d.docker("run", "-d", *args).stdout.decode().strip()


@pytest.fixture(scope="module")
def running(busybox):
    cid = run_d(busybox, "--name", "statme", "-m", "64m", "--pids-limit", "50", "busybox", "sleep", "600")
    yield cid
    busybox.docker("rm", "-f", cid)


def test_shape_is_dockers_key_by_key(busybox, running):
    s = stats(busybox, running)
    got = [k for k in keys(s) if k != "pids_stats/limit"]  # the reference container had no pids limit
    assert got == REF_KEYS
    assert sorted(s["memory_stats"]["stats"]) == REF_MEMORY_STAT_KEYS
    assert s["name"] == "/statme" and s["id"] == running
    assert s["pids_stats"] == {"current": 1, "limit": 50}
    assert s["memory_stats"]["limit"] == 64 * MIB
    assert 0 < s["memory_stats"]["usage"] <= 64 * MIB
    assert s["cpu_stats"]["online_cpus"] == os.cpu_count()
    assert len(s["cpu_stats"]["cpu_usage"]["percpu_usage"]) >= os.cpu_count()
    assert s["cpu_stats"]["system_cpu_usage"] > 0
    assert all(isinstance(v, list) for v in s["blkio_stats"].values())
    # stream=false waits for a second sample: precpu is the first one
    assert s["preread"] != ZERO_TIME and s["preread"] < s["read"]
    assert s["precpu_stats"]["system_cpu_usage"] < s["cpu_stats"]["system_cpu_usage"]
    assert "lo" not in s["networks"]


def test_network_counters_come_from_the_containers_netns(busybox, running):
    pid = json.loads(busybox.docker("inspect", running).stdout)[0]["State"]["Pid"]
    with open(f"/proc/{pid}/net/dev") as f:
        line = next(ln for ln in f if ln.strip().startswith("eth0:"))
    rx_before = int(line.split(":")[1].split()[0])
    s = stats(busybox, running, "stream=false&one-shot=true")
    assert s["networks"]["eth0"]["rx_bytes"] >= rx_before


def test_one_shot_has_no_previous_sample(busybox, running):
    s = stats(busybox, running, "stream=false&one-shot=true")
    assert s["preread"] == ZERO_TIME
    assert s["precpu_stats"] == REF_STOPPED["precpu_stats"]
    st, _, body = busybox.curl(f"/containers/{running}/stats?stream=true&one-shot=true")
    assert st == 400 and json.loads(body)["message"] == "cannot have stream=true and one-shot=true"


def test_stopped_container_gives_dockers_zeros(busybox):
    cid = busybox.docker("create", "--name", "stillborn", "busybox", "true").stdout.decode().strip()
    try:
        s = stats(busybox, cid)
        assert s.pop("name") == "/stillborn" and s.pop("id") == cid
        assert s == REF_STOPPED
        assert list(s) == list(REF_STOPPED)
    finally:
        busybox.docker("rm", cid)
    st, _, body = busybox.curl("/containers/nosuch/stats?stream=false")
    assert st == 404 and json.loads(body)["message"] == "No such container: nosuch"


def test_old_api_sums_the_interfaces(busybox, running):
    s = stats(busybox, running, prefix="/v1.20")
    assert "networks" not in s and "name" not in s and "id" not in s
    assert set(s["network"]) == {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets",
                                 "tx_errors", "tx_dropped"}


def test_host_network_has_no_networks(busybox):
    cid = run_d(busybox, "--network", "host", "busybox", "sleep", "600")
    try:
        s = stats(busybox, cid, "stream=false&one-shot=true")
        assert "networks" not in s
        assert s["memory_stats"]["usage"] > 0
    finally:
        busybox.docker("rm", "-f", cid)


def _open_stream(d, cid):
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.sendall(f"GET /containers/{cid}/stats HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return s


def _read_objects(s, n, timeout=30):
    buf, objs = b"", []
    s.settimeout(timeout)
    while len(objs) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        objs = [json.loads(m) for m in re.findall(rb"(\{\"read\".*?)\r?\n", buf)]
    return objs, buf


def _threads(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/task"))


def test_stream_chains_samples_and_ends_when_the_container_stops(busybox):
    cid = run_d(busybox, "busybox", "sleep", "600")
    s = _open_stream(busybox, cid)
    try:
        objs, _ = _read_objects(s, 3)
        assert len(objs) == 3
        assert objs[0]["preread"] == ZERO_TIME
        assert objs[1]["preread"] == objs[0]["read"] and objs[2]["preread"] == objs[1]["read"]
        assert objs[2]["precpu_stats"] == objs[1]["cpu_stats"]
        busybox.docker("stop", "-t", "0", cid)
        s.settimeout(30)
        rest = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            rest += c
        assert rest.endswith(b"0\r\n\r\n")  # the chunked response ended cleanly
    finally:
        s.close()
        busybox.docker("rm", "-f", cid)


def test_stream_ends_when_the_client_goes_away(busybox, running):
    before = _threads(busybox)
    socks = [_open_stream(busybox, running) for _ in range(5)]
    for s in socks:
        assert len(_read_objects(s, 1)[0]) == 1
    assert _threads(busybox) >= before + 5
    for s in socks:
        s.close()
    deadline = time.time() + 30
    while time.time() < deadline and _threads(busybox) > before:
        time.sleep(0.2)
    assert _threads(busybox) <= before


def test_docker_stats_no_stream(busybox, running):
    r = busybox.docker("stats", "--no-stream", running)
    lines = r.stdout.decode().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                             "NET I/O", "BLOCK I/O", "PIDS"]
    cols = re.split(r"\s{2,}", lines[1])
    assert cols[0] == running[:12] and cols[1] == "statme"
    assert 0 <= float(cols[2].rstrip("%")) <= 100 * os.cpu_count()
    usage, limit = cols[3].split(" / ")
    assert limit == "64MiB" and re.fullmatch(r"[\d.]+(B|KiB|MiB)", usage)
    assert 0 < float(cols[4].rstrip("%")) < 100
    assert cols[7] == "1"
    # all running containers, and a format
    r = busybox.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemPerc}}")
    assert any(ln.startswith("statme ") for ln in r.stdout.decode().splitlines())


def test_docker_stats_live(busybox, running):
    p = subprocess.Popen(["docker", "stats", running], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=busybox.env())
    try:
        buf = b""
        deadline = time.time() + 30
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < deadline and buf.count(b"statme") < 2:
            time.sleep(0.2)
            buf += p.stdout.read() or b""
        assert buf.count(b"statme") >= 2, buf  # redrawn with new samples
        assert b"64MiB" in buf
    finally:
        p.kill()
        p.wait()


def test_docker_py_stats(busybox, running):
    c = busybox.client()
    s = c.containers.get(running).stats(stream=False)
    assert s["id"] == running and s["memory_stats"]["limit"] == 64 * MIB
    gen = c.api.stats(running, decode=True)
    first, second = next(gen), next(gen)
    assert second["preread"] == first["read"]
    gen.close()
    c.close()


def test_berth_stats(busybox, running):
    r = busybox.berth("stats", "--no-stream", running)
    lines = r.stdout.decode().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                             "NET I/O", "BLOCK I/O", "PIDS"]
    cols = re.split(r"\s{2,}", lines[1])
    assert cols[0] == running[:12] and cols[1] == "statme"
    assert cols[3].endswith(" / 64MiB")
    r = busybox.berth("stats", "--no-stream", "--format", "{{.Container}}: {{.PIDs}}", "statme")
    assert r.stdout.decode().strip() == "statme: 1"
    r = busybox.berth("stats", "--no-stream", "nosuch", check=False)
    assert r.returncode == 1 and b"No such container: nosuch" in r.stderr
