"""Service discovery across hosts (docs/discovery.md): two berthd "hosts" in
two network namespaces joined by a veth pair (10.99.0.1 and 10.99.0.2), an
etcd started here on host A's address, and both daemons running with
--discovery. Everything stays inside the namespaces the harness creates."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from berthtest import Berthd, join_netns

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
DNSQ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsq.py")
A_IP, B_IP = "10.99.0.1", "10.99.0.2"
ENDPOINT = f"{A_IP}:2379"
PREFIX = "/berth/v1/services/"
TTL = 5

pytestmark = pytest.mark.skipif(not os.path.exists(ETCD), reason="etcd-server is not installed")


class Etcd:
    def __init__(self, netns):
        self.netns = netns
        self.dir = tempfile.mkdtemp(prefix="berth-etcd-")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "etcd.log"), "ab")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}", ETCD, "--name", "disc",
             "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", f"http://{ENDPOINT}", "--advertise-client-urls", f"http://{ENDPOINT}",
             "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "disc=http://127.0.0.1:2380"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.ctl("endpoint", "health", check=False).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError("etcd did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ctl(self, *args, check=True):
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", ETCDCTL, "--endpoints", ENDPOINT,
                               "--dial-timeout", "2s", "--command-timeout", "3s"] + list(args),
                              capture_output=True, check=check, env=dict(os.environ, ETCDCTL_API="3"))

    def entries(self, name=""):
        """{key: value} under the prefix (or one service's keys)."""
        out = self.ctl("get", "--prefix", PREFIX + (name + "/" if name else "")).stdout.decode().splitlines()
        return {out[i]: json.loads(out[i + 1]) for i in range(0, len(out) - 1, 2)}


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def hosts():
    a, b = Berthd(), Berthd()
    etcd = None
    try:
        join_netns(a, b, A_IP + "/24", B_IP + "/24")
        etcd = Etcd(a.netns).start()
        for d in (a, b):
            d.start(["--discovery", f"etcd://{ENDPOINT}"])
            d.import_busybox()
        # the client: a long-running container on host B whose netns we ask from
        b.docker("run", "-d", "--name", "client", "busybox", "sleep", "3600")
        yield a, b, etcd
    finally:
        a.cleanup()
        b.cleanup()
        if etcd:
            etcd.stop()
            shutil.rmtree(etcd.dir, ignore_errors=True)


def dns(d, container, name, qtype="A", until=None):
    pid = d.docker("inspect", "-f", "{{.State.Pid}}", container).stdout.decode().strip()
    argv = ["nsenter", f"--net=/proc/{pid}/ns/net", "/usr/bin/python3", DNSQ, name, qtype]
    if until:
        argv += ["127.0.0.11", "--until-found", str(until)]
    return json.loads(subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout)


def run_web(d, name, port, text):
    return d.docker("run", "-d", "--name", name, "-p", f"{port}:80", "busybox", "sh", "-c",
                    f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"
                    ).stdout.decode().strip()


def test_register_resolve_and_fetch(hosts):
    a, b, etcd = hosts
    cid = run_web(a, "web", 8080, "hello-from-a")
    entries = wait_for(lambda: etcd.entries("web"), 5, "web in etcd")
    assert len(entries) == 1
    key, val = next(iter(entries.items()))
    with open(os.path.join(a.data_root, "engine-id")) as f:
        engine_id = f.read().strip()
    assert key.startswith(PREFIX + "web/")
    assert val["name"] == "web" and val["container"] == cid and val["host"] == A_IP
    assert val["engine"] == key.rsplit("/", 1)[1] == engine_id
    assert {"proto": "tcp", "container_port": 80, "host_ip": "0.0.0.0", "host_port": 8080} in val["ports"]
    assert val["addresses"] and val["addresses"][0]["network"] == "bridge"
    assert val["addresses"][0]["ip"].startswith("172.")
    # the lease is berthd's: etcd shows it attached to a TTL
    lease = etcd.ctl("get", key, "-w", "json").stdout
    lease_id = json.loads(lease)["kvs"][0]["lease"]
    ttl = etcd.ctl("lease", "timetolive", format(lease_id, "x")).stdout.decode()
    assert "granted with TTL(5s)" in ttl, ttl

    # host B: A, SRV in both spellings, and the per-host SRV target
    r = wait_for(lambda: dns(b, "client", "web")["a"], 5, "web in B's DNS")
    assert r == [A_IP]
    srv = dns(b, "client", "_80._tcp.web", "SRV")
    assert srv["rcode"] == 0 and len(srv["srv"]) == 1
    prio, weight, port, target = srv["srv"][0]
    assert port == 8080
    assert target == f"{val['engine'][:12]}.web"
    assert [target, A_IP] in srv["additional"]
    assert dns(b, "client", target)["a"] == [A_IP]
    assert dns(b, "client", "_web._tcp", "SRV")["srv"][0][2] == 8080
    assert dns(b, "client", "_81._tcp.web", "SRV")["srv"] == []
    aaaa = dns(b, "client", "web", "AAAA")
    assert aaaa["rcode"] == 0 and aaaa["a"] == []

    # and a container on B reaches the server on A by name, through 127.0.0.11:
    # the libc resolver (nc), and busybox's own (nslookup). (busybox-static's
    # wget crashes in this image whatever the address, so nc speaks the HTTP.)
    script = ("grep -q '^nameserver 127.0.0.11' /etc/resolv.conf || exit 7; "
              "nslookup web | grep -q '^Address: 10.99.0.1$' || exit 8; "
              "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web 8080")
    out = b.docker("run", "--rm", "busybox", "sh", "-c", script, timeout=60).stdout.decode()
    assert "200 OK" in out and "hello-from-a" in out, out

    # stopping the server removes its entry, and the name from B's DNS
    a.docker("stop", "-t", "1", "web")
    wait_for(lambda: not etcd.entries("web"), 5, "web to leave etcd")
    wait_for(lambda: not dns(b, "client", "web")["a"], 5, "web to leave B's DNS")
    # starting it again registers it again
    a.docker("start", "web")
    wait_for(lambda: etcd.entries("web"), 5, "web back in etcd")
    a.docker("rm", "-f", "web")
    wait_for(lambda: not etcd.entries("web"), 5, "web removed from etcd")


def test_rename_moves_the_key(hosts):
    a, b, etcd = hosts
    run_web(a, "old", 8082, "x")
    wait_for(lambda: etcd.entries("old"), 5, "old in etcd")
    a.docker("rename", "old", "new")
    wait_for(lambda: etcd.entries("new") and not etcd.entries("old"), 5, "the key to follow the rename")
    wait_for(lambda: dns(b, "client", "new")["a"] == [A_IP], 5, "new in B's DNS")
    a.docker("rm", "-f", "new")
    wait_for(lambda: not etcd.entries("new"), 5, "new removed")


def test_etcd_outage_serves_cache_and_reregisters(hosts):
    a, b, etcd = hosts
    run_web(a, "steady", 8083, "steady")
    wait_for(lambda: dns(b, "client", "steady")["a"] == [A_IP], 5, "steady in B's DNS")
    etcd.stop()
    try:
        time.sleep(1)
        # B serves what it cached; container starts do not wait for etcd
        assert dns(b, "client", "steady")["a"] == [A_IP]
        t0 = time.time()
        run_web(a, "during", 8084, "during")
        assert time.time() - t0 < 10
        time.sleep(TTL + 1)
        assert dns(b, "client", "steady")["a"] == [A_IP]
    finally:
        etcd.start()
    # etcd is back: A registers everything again under a new lease
    wait_for(lambda: etcd.entries("during") and etcd.entries("steady"), 15, "re-registration after the outage")
    wait_for(lambda: dns(b, "client", "during")["a"] == [A_IP], 10, "during in B's DNS")
    a.docker("rm", "-f", "steady", "during")
    wait_for(lambda: not etcd.entries("steady") and not etcd.entries("during"), 5, "entries removed")


def test_killed_daemon_entries_expire(hosts):
    a, b, etcd = hosts
    run_web(a, "orphan", 8085, "orphan")
    wait_for(lambda: etcd.entries("orphan"), 5, "orphan in etcd")
    wait_for(lambda: dns(b, "client", "orphan")["a"] == [A_IP], 5, "orphan in B's DNS")
    a.kill9()
    t_kill = time.time()
    assert etcd.entries("orphan"), "the entry must outlive berthd until its lease expires"
    wait_for(lambda: not etcd.entries("orphan"), TTL + 5, "the lease to expire")
    waited = time.time() - t_kill
    assert waited > 1.0, f"gone after {waited:.1f}s: removed, not expired"
    wait_for(lambda: not dns(b, "client", "orphan")["a"], 3, "orphan to leave B's DNS")
    # a new berthd on A registers the container that kept running
    a.start(["--discovery", f"etcd://{ENDPOINT}"])
    wait_for(lambda: etcd.entries("orphan"), 10, "orphan registered again after the restart")
    a.docker("rm", "-f", "orphan")
    wait_for(lambda: not etcd.entries("orphan"), 5, "orphan removed")


def test_bad_discovery_flag_is_refused(tmp_path):
    d = Berthd()
    try:
        r = subprocess.run(d.argv(["--discovery", "consul://x:1"]), capture_output=True, timeout=20)
        assert r.returncode != 0
        assert b"unsupported discovery backend" in r.stderr + r.stdout
        r = subprocess.run(d.argv(["--discovery", "etcd://nohostport"]), capture_output=True, timeout=20)
        assert r.returncode != 0 and b"invalid etcd endpoint" in r.stderr + r.stdout
    finally:
        d.cleanup()
