"""daemon.json: start with a file, dockerd's errors for conflicts and unknown
keys, --validate, SIGHUP reload; systemd readiness and socket activation; the
docker-socket opt-in."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from berthtest import BERTHD, REPO, Berthd


def write(path, obj):
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def run_berthd(d, *extra, env=None, timeout=30):
    """berthd in d's netns, expected to exit on its own."""
    return subprocess.run(d.argv(extra), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def info(d):
    st, j = d.curl_json("/info")
    assert st == 200
    return j


def wait_for(pred, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_start_with_config_file(fresh_berthd):
    d = fresh_berthd
    write(d.config, {"insecure-registries": ["reg.example:5000"], "live-restore": True,
                     "log-driver": "json-file", "userland-proxy": True})
    d.start()
    assert "reg.example:5000" in info(d)["RegistryConfig"]["InsecureRegistryCIDRs"]


def test_flag_and_file_conflict(fresh_berthd):
    d = fresh_berthd
    write(d.config, {"data-root": "/tmp/elsewhere", "debug": True})
    r = run_berthd(d, "--debug")
    assert r.returncode == 1
    assert ("the following directives are specified both as a flag and in the configuration file: "
            "data-root: (from flag: " + d.data_root + ", from file: /tmp/elsewhere), debug: "
            "(from flag: true, from file: true)") in r.stderr
    assert not os.path.exists("/tmp/elsewhere")


def test_unknown_and_unsupported_keys(fresh_berthd):
    d = fresh_berthd
    write(d.config, {"no-such-key": 1, "debug": False, "other": "x"})
    r = run_berthd(d)
    assert r.returncode == 1
    assert "the following directives don't match any configuration option: no-such-key, other" in r.stderr
    write(d.config, {"registry-mirrors": ["https://mirror.example"]})
    r = run_berthd(d)
    assert r.returncode == 1
    assert "not supported by berth: registry-mirrors" in r.stderr
    write(d.config, {"live-restore": False})
    r = run_berthd(d)
    assert r.returncode == 1 and "live-restore: false is not supported" in r.stderr


def test_validate(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    write(good, {"debug": True, "hosts": ["unix:///run/x.sock"], "bip": "10.9.0.1/24"})
    write(bad, '{"debug": true,')
    r = subprocess.run([BERTHD, "--validate", "--config-file", str(good)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "configuration OK\n"
    r = subprocess.run([BERTHD, "--validate", "--config-file", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "invalid JSON" in r.stderr and "OK" not in r.stdout
    # a file named explicitly must exist
    r = subprocess.run([BERTHD, "--validate", "--config-file", str(tmp_path / "none.json")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "No such file or directory" in r.stderr
    # a bad value is checked too, not only the shape
    write(bad, {"log-level": "loud"})
    r = subprocess.run([BERTHD, "--validate", "--config-file", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and 'unknown log level "loud"' in r.stderr


def test_sighup_reload(fresh_berthd):
    d = fresh_berthd
    write(d.config, {"insecure-registries": ["a.example:5000"]})
    d.start()
    assert "a.example:5000" in info(d)["RegistryConfig"]["InsecureRegistryCIDRs"]
    write(d.config, {"insecure-registries": ["b.example:5000"], "debug": True, "bip": "10.77.0.1/16"})
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "b.example:5000" in info(d)["RegistryConfig"]["InsecureRegistryCIDRs"], "reload")
    j = info(d)
    assert "a.example:5000" not in j["RegistryConfig"]["InsecureRegistryCIDRs"]
    assert j["Debug"] is True
    wait_for(lambda: "insecure-registries: [a.example:5000] -> [b.example:5000]" in d.logtail(200), "log")
    log = d.logtail(200)
    assert "debug: <nil> -> true" in log
    assert "bip changed in" in log  # not reloadable: said so, not silently dropped
    # a bad file keeps the running configuration and the daemon
    write(d.config, {"debug": False, "unknown-thing": 1})
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "Error reloading the configuration" in d.logtail(200), "error log")
    assert "unknown-thing" in d.logtail(200)
    assert d.proc.poll() is None
    assert info(d)["Debug"] is True
    # a reload may not bring a conflict with the command line either
    write(d.config, {"data-root": "/tmp/x"})
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "specified both as a flag and in the configuration file: data-root" in d.logtail(200),
             "conflict log")
    assert d.proc.poll() is None


RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1].replace("@", "\\0", 1))
print("bound", flush=True)
for _ in range(4):
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
"""


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_ready(fresh_berthd, tmp_path, abstract):
    d = fresh_berthd
    # abstract names are per network namespace: the receiver sits in berthd's
    name = "@berth-notify-%d" % os.getpid() if abstract else str(tmp_path / "notify")
    rx = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, "/usr/bin/python3", "-c", RECEIVER, name],
                          stdout=subprocess.PIPE, text=True)
    try:
        assert rx.stdout.readline() == "bound\n"
        d.start(env={"NOTIFY_SOCKET": name}, wait=False)
        assert rx.stdout.readline() == "READY=1\n"
        # ready means ready: the API answers now
        st, _, _ = d.curl("/_ping")
        assert st == 200
        # a reload is announced, with the time systemd asks for
        d.proc.send_signal(signal.SIGHUP)
        assert rx.stdout.readline().startswith("RELOADING=1 MONOTONIC_USEC=")
        assert rx.stdout.readline() == "READY=1\n"
        d.stop()
        assert rx.stdout.readline() == "STOPPING=1\n"
    finally:
        rx.kill()
        rx.wait()


def test_socket_activation(fresh_berthd):
    if not shutil.which("systemd-socket-activate"):
        pytest.skip("systemd-socket-activate not installed")
    d = fresh_berthd
    argv = [a for a in d.argv() if a not in ("-H", d.host)]
    logf = open(d.log, "ab")
    # -l: systemd-socket-activate listens and passes the socket as fd 3 (LISTEN_FDS=1)
    d.proc = subprocess.Popen(["systemd-socket-activate", "-l", d.sock] + argv + ["-H", "fd://"],
                              stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    logf.close()
    d.wait_ready(timeout=30)
    st, _, body = d.curl("/_ping")
    assert st == 200 and body == b"OK"
    assert "API listen on fd://3" in d.logtail(200)
    d.stop()
    # the socket belongs to the service manager: berthd leaves its path alone
    assert os.path.exists(d.sock)


def test_socket_activation_one_fd(fresh_berthd):
    """fd://N takes one of the passed sockets; one that was not passed is an error."""
    if not shutil.which("systemd-socket-activate"):
        pytest.skip("systemd-socket-activate not installed")
    d = fresh_berthd
    other = os.path.join(d.base, "other.sock")
    argv = [a for a in d.argv() if a not in ("-H", d.host)]
    p = subprocess.Popen(["systemd-socket-activate", "-l", other, "-l", d.sock] + argv + ["-H", "fd://9"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # systemd-socket-activate starts its program on the first connection
    wait_for(lambda: os.path.exists(d.sock), "the socket")
    c = socket.socket(socket.AF_UNIX)
    c.connect(d.sock)
    out, _ = p.communicate(timeout=30)
    c.close()
    assert p.returncode == 1
    assert "too few socket activated files passed in by systemd for fd://9" in out
    logf = open(d.log, "ab")
    d.proc = subprocess.Popen(["systemd-socket-activate", "-l", other, "-l", d.sock] + argv + ["-H", "fd://4"],
                              stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    logf.close()
    d.wait_ready(timeout=30)
    log = d.logtail(200)
    assert "API listen on fd://4" in log and "fd://3" not in log
    # the socket not taken is not inherited by what berthd starts either
    pid = d.proc.pid
    fds = {os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
    assert any("socket:" in f for f in fds)
    flags = open(f"/proc/{pid}/fdinfo/3").read()
    assert int(re.search(r"flags:\s+(\d+)", flags).group(1), 8) & 0o2000000  # O_CLOEXEC
    d.stop()


def test_fd_host_without_activation(fresh_berthd):
    d = fresh_berthd
    argv = [a for a in d.argv() if a not in ("-H", d.host)] + ["-H", "fd://"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "no sockets found via socket activation" in r.stderr


def test_docker_socket(fresh_berthd):
    d = fresh_berthd
    ds = os.path.join(d.base, "docker.sock")
    write(d.config, {"docker-socket": True})
    d.start(env={"BERTH_DOCKER_SOCKET": ds})
    r = subprocess.run(["curl", "-s", "--unix-socket", ds, "http://localhost/_ping"], capture_output=True)
    assert r.stdout == b"OK"
    # a second daemon never takes a live socket over
    other = Berthd()
    try:
        write(other.config, {"docker-socket": True})
        r = subprocess.run(other.argv(), capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, BERTH_DOCKER_SOCKET=ds))
        assert r.returncode == 1
        assert "belongs to a running daemon" in r.stderr
    finally:
        other.cleanup()
    r = subprocess.run(["curl", "-s", "--unix-socket", ds, "http://localhost/_ping"], capture_output=True)
    assert r.stdout == b"OK"
    d.stop()
    assert not os.path.exists(ds)
    # a file that is not a socket is not replaced
    write(ds, "precious")
    r = run_berthd(d, env={"BERTH_DOCKER_SOCKET": ds})
    assert r.returncode == 1 and "is not a socket" in r.stderr
    with open(ds) as f:
        assert f.read() == "precious"
    # a stale socket (no one listening) is replaced
    os.unlink(ds)
    s = socket.socket(socket.AF_UNIX)
    s.bind(ds)
    s.close()
    d.start(env={"BERTH_DOCKER_SOCKET": ds})
    r = subprocess.run(["curl", "-s", "--unix-socket", ds, "http://localhost/_ping"], capture_output=True)
    assert r.stdout == b"OK"


def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify on the shipped units (ExecStart pointed at the built berthd)."""
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("systemd-analyze not installed")
    src = os.path.join(REPO, "contrib", "systemd")
    for unit in ("berth.service", "berth.socket"):
        with open(os.path.join(src, unit)) as f:
            text = f.read()
        write(tmp_path / unit, text.replace("/usr/bin/berthd", BERTHD))
    probe = subprocess.run([sa, "verify", "--man=no", str(tmp_path / "berth.socket")], capture_output=True, text=True)
    if probe.returncode != 0 and "Failed to" in probe.stderr and "berth" not in probe.stderr:
        pytest.skip("systemd-analyze unusable here: " + probe.stderr.strip()[:200])
    r = subprocess.run([sa, "verify", "--man=no", str(tmp_path / "berth.service"), str(tmp_path / "berth.socket")],
                       capture_output=True, text=True)
    # verify exits 0 on some mistakes and only warns: any message about the units fails
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    service = open(os.path.join(src, "berth.service")).read()
    for line in ("Type=notify", "KillMode=process", "ExecStart=/usr/bin/berthd -H fd://"):
        assert line in service.splitlines()
    assert "ListenStream=/run/berth/berth.sock" in open(os.path.join(src, "berth.socket")).read().splitlines()
    # the unit's command line and the packaged daemon.json go together
    r = subprocess.run([BERTHD, "--validate", "--config-file", os.path.join(REPO, "debian", "daemon.json"), "-H",
                        "fd://"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "configuration OK\n", r.stderr
