"""berth-monitor driven directly through its protocol (docs/monitor.md): a busybox rootfs as
the only layer, a spec.json, the sync pipe on fd 3, and monitor.sock. Needs root."""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import uuid

import pytest

import berthtest

from berthtest import BUILD, busybox_tar

MONITOR = os.path.join(BUILD, "src", "berth-monitor")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(scope="module")
def layer():
    d = tempfile.mkdtemp(prefix="berth-mon-layer-")
    subprocess.run(["tar", "-C", d, "-xf", busybox_tar()], check=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Mon:
    def __init__(self, layer, args, **spec):
        self.base = tempfile.mkdtemp(prefix="berth-mon-")
        self.id = uuid.uuid4().hex + uuid.uuid4().hex
        self.data = os.path.join(self.base, "data", self.id)
        self.run = os.path.join(self.base, "run", "containers", self.id)
        for d in ("upper", "work"):
            os.makedirs(os.path.join(self.data, d))
        os.makedirs(self.run)
        for name, text in (("hostname", "mon-test\n"), ("hosts", "127.0.0.1\tlocalhost\n"),
                           ("resolv.conf", "nameserver 127.0.0.1\n")):
            with open(os.path.join(self.data, name), "w") as f:
                f.write(text)
        self.cgroup = "berth/" + self.id
        self.log = os.path.join(self.data, self.id + "-json.log")
        self.exit_file = os.path.join(self.data, "exit.json")
        s = {
            "id": self.id, "args": args, "env": [PATH_ENV, "HOSTNAME=mon-test"], "cwd": "/",
            "user": "", "hostname": "mon-test", "domainname": "",
            "tty": False, "open_stdin": False, "stdin_once": False, "init": False,
            "layers": [layer], "upper": os.path.join(self.data, "upper"), "work": os.path.join(self.data, "work"),
            "mounts": [{"source": os.path.join(self.data, n), "destination": "/etc/" + n, "type": "bind",
                        "options": ["rbind", "rw"]} for n in ("hostname", "hosts", "resolv.conf")],
            "readonly_rootfs": False, "shm_size": 67108864, "cgroup": self.cgroup,
            "cgroup_resources": {"memory": 0, "pids_limit": 0, "cpu_shares": 0}, "netns": None,
            "privileged": False, "seccomp": True,
            "log_path": self.log, "log_max_size": 10485760, "log_max_file": 5, "exit_file": self.exit_file,
        }
        s.update(spec)
        with open(os.path.join(self.run, "spec.json"), "w") as f:
            json.dump(s, f)
        self.monitor_pid = None
        self.sync = self._launch()

    def _launch(self):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(w, 3)
                os.execv(MONITOR, ["berth-monitor", self.run])
            finally:
                os._exit(127)
        os.close(w)
        _, st = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(st) == 0
        data = b""
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            data += b
        os.close(r)
        line = json.loads(data.decode().splitlines()[0])
        self.monitor_pid = line.get("monitor_pid")
        return line

    def connect(self, req):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        # The full path exceeds sun_path (108 bytes), as it will under berthd's exec root:
        # go through a directory descriptor, like berthd has to.
        dfd = os.open(self.run, os.O_PATH | os.O_DIRECTORY)
        try:
            s.connect(f"/proc/self/fd/{dfd}/monitor.sock")
        finally:
            os.close(dfd)
        s.sendall((json.dumps(req) + "\n").encode())
        return s

    def request(self, req):
        s = self.connect(req)
        data = b""
        while not data.endswith(b"\n"):
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        return json.loads(data)

    def start(self):
        return self.request({"op": "start"})

    def wait(self):
        """The monitor's answer, or exit.json once the monitor is gone (what berthd does too)."""
        try:
            return self.request({"op": "wait"})
        except (ConnectionError, FileNotFoundError, json.JSONDecodeError):
            assert self.wait_gone()
            with open(self.exit_file) as f:
                return json.load(f)

    def attach(self, stdin=False):
        return self.connect({"op": "attach", "stdin": stdin, "stdout": True, "stderr": True})

    @staticmethod
    def read_frames(s):
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        frames = []
        while data:
            assert len(data) >= 8
            stream, n = struct.unpack(">B3xI", data[:8])
            frames.append((stream, data[8:8 + n]))
            data = data[8 + n:]
        return frames

    def run_collect(self):
        """attach, start, read everything; returns (stdout bytes, stderr bytes, exit dict)."""
        a = self.attach()
        st = self.start()
        assert st == {"ok": True}, st
        frames = self.read_frames(a)
        out = b"".join(p for s, p in frames if s == 1)
        err = b"".join(p for s, p in frames if s == 2)
        return out, err, self.wait()

    def wait_gone(self, timeout=10):
        deadline = time.time() + timeout
        while self.monitor_pid and _alive(self.monitor_pid) and time.time() < deadline:
            time.sleep(0.05)
        return not (self.monitor_pid and _alive(self.monitor_pid))

    def assert_clean(self):
        assert self.wait_gone(), "monitor still running"
        with open("/proc/self/mountinfo") as f:
            mi = f.read()
        assert self.base not in mi
        for c in ("memory", "pids", "freezer", "cpu", "unified"):
            assert not os.path.exists(os.path.join("/sys/fs/cgroup", c, self.cgroup))
        assert not os.path.exists(os.path.join(self.run, "monitor.sock"))
        assert not os.path.exists(os.path.join(self.run, "monitor.pid"))

    def cleanup(self):
        if self.monitor_pid and _alive(self.monitor_pid):
            os.kill(self.monitor_pid, 9)
        subprocess.run(["rm", "-rf", "--one-file-system", self.base], check=False)


@pytest.fixture
def mon(layer):
    made = []

    def make(args, **spec):
        m = Mon(layer, args, **spec)
        made.append(m)
        return m
    yield make
    for m in made:
        m.cleanup()


def test_output_exit_code_and_log(mon):
    m = mon(["sh", "-c", "echo out1; echo err1 >&2; printf 'partial<&>'; exit 3"])
    assert m.sync["pid"] > 0 and m.sync["monitor_pid"] > 0
    assert os.path.exists(os.path.join(m.run, "monitor.pid"))
    assert m.request({"op": "state"})["running"] is False
    out, err, ex = m.run_collect()
    assert out == b"out1\npartial<&>"
    assert err == b"err1\n"
    assert ex["ExitCode"] == 3 and ex["Error"] == "" and ex["OOMKilled"] is False
    with open(m.exit_file) as f:
        assert json.load(f)["ExitCode"] == 3
    with open(m.log) as f:
        lines = [json.loads(x) for x in f]
    # stdout and stderr are two pipes: each keeps its order, their interleaving is the scheduler's
    assert [x["log"] for x in lines if x["stream"] == "stdout"] == ["out1\n", "partial<&>"]
    assert [x["log"] for x in lines if x["stream"] == "stderr"] == ["err1\n"]
    raw = open(m.log).read()
    assert "partial\\u003c\\u0026\\u003e" in raw
    assert lines[0]["time"].endswith("Z") and lines[0]["time"][:4].isdigit()
    m.assert_clean()


def test_exit_zero_and_wait_after_exit(mon):
    m = mon(["true"])
    out, err, ex = m.run_collect()
    assert ex["ExitCode"] == 0 and out == b"" and err == b""
    m.assert_clean()


def test_missing_command_is_127(mon):
    m = mon(["nonexistentcmd"])
    assert m.sync["exit_code"] == 127
    assert 'exec: "nonexistentcmd": executable file not found in $PATH' in m.sync["error"]
    assert m.sync["error"].startswith("failed to create shim task: OCI runtime create failed")
    m.assert_clean()


def test_not_executable_is_126(mon):
    m = mon(["/etc/passwd"])
    assert m.sync["exit_code"] == 126
    assert "permission denied" in m.sync["error"]
    m.assert_clean()


def test_unknown_user(mon):
    m = mon(["true"], user="nosuchuser")
    assert m.sync["error"] == "unable to find user nosuchuser: no matching entries in passwd file"
    assert m.sync["exit_code"] == 125
    m.assert_clean()


def test_namespaces_and_mounts(mon):
    script = ("hostname; echo pid=$$; cat /etc/hostname; "
              "echo x > /proc/sys/kernel/hostname 2>/dev/null && echo procsys-writable || echo procsys-ro; "
              "touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro; "
              "echo keys=$(wc -c < /proc/keys); echo firmware=$(ls /sys/firmware | wc -l); "
              "ls -l /dev/null /dev/ptmx; ip link 2>/dev/null | grep -c 'state' ; "
              "grep -c ' / overlay ' /proc/mounts; echo shm=$(grep /dev/shm /proc/mounts | grep -c size=65536k); "
              "cat /proc/self/status | grep CapEff; "
              "mount -t tmpfs none /mnt 2>&1 || echo mount-denied")
    m = mon(["sh", "-c", script])
    out, err, ex = m.run_collect()
    text = out.decode()
    assert ex["ExitCode"] == 0, (text, err)
    lines = text.splitlines()
    assert lines[0] == "mon-test"
    assert "pid=1" in lines
    assert "procsys-ro" in lines and "sys-ro" in lines
    assert "keys=0" in lines and "firmware=0" in lines
    assert any(x.startswith("crw-rw-rw-") and x.endswith("/dev/null") for x in lines)
    assert any("/dev/ptmx -> pts/ptmx" in x for x in lines)
    assert "shm=1" in lines
    assert "CapEff:\t00000000a80425fb" in lines
    assert "mount-denied" in lines
    m.assert_clean()


def test_user_and_workdir(mon):
    m = mon(["sh", "-c", "id -u; id -g; id -G; pwd; echo $HOME"], user="1000:1000", cwd="/new/work/dir")
    out, _, ex = m.run_collect()
    assert ex["ExitCode"] == 0
    assert out.decode().splitlines() == ["1000", "1000", "1000", "/new/work/dir", "/"]
    m2 = mon(["sh", "-c", "id -u; id -g; echo $HOME; cat /proc/self/status | grep CapEff"], user="nobody")
    out, _, ex = m2.run_collect()
    assert out.decode().splitlines() == ["65534", "65534", "/home", "CapEff:\t0000000000000000"]
    m.assert_clean()
    m2.assert_clean()


def test_wait_before_start(mon):
    m = mon(["sh", "-c", "sleep 0.2; exit 7"])
    w = m.connect({"op": "wait"})
    assert m.start() == {"ok": True}
    data = w.recv(4096)
    assert data.endswith(b"\n")
    assert json.loads(data)["ExitCode"] == 7
    m.assert_clean()


def test_stdin_once(mon):
    m = mon(["sh", "-c", "cat; echo done"], open_stdin=True, stdin_once=True)
    a = m.attach(stdin=True)
    assert m.start() == {"ok": True}
    a.sendall(b"hello stdin\n")
    a.shutdown(socket.SHUT_WR)
    frames = Mon.read_frames(a)
    assert b"".join(p for s, p in frames if s == 1) == b"hello stdin\ndone\n"
    assert m.wait()["ExitCode"] == 0
    m.assert_clean()


def test_tty_and_resize(mon):
    m = mon(["sh", "-c", "sleep 0.3; stty size; tty; echo err >&2"], tty=True)
    assert m.request({"op": "resize", "h": 37, "w": 101}) == {"ok": True}
    out, err, ex = m.run_collect()
    assert ex["ExitCode"] == 0
    assert err == b""  # a tty has one stream
    assert out.split(b"\r\n")[:3] == [b"37 101", b"/dev/console", b"err"] or b"37 101\r\n" in out
    with open(m.log) as f:
        lines = [json.loads(x) for x in f]
    assert lines[0]["log"] == "37 101\r\n" and lines[0]["stream"] == "stdout"
    m.assert_clean()


def test_log_rotation(mon):
    m = mon(["sh", "-c", "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"],
            log_max_size=4096, log_max_file=3)
    _, _, ex = m.run_collect()
    assert ex["ExitCode"] == 0
    assert os.path.exists(m.log + ".1") and os.path.exists(m.log + ".2")
    assert not os.path.exists(m.log + ".3")
    for p in (m.log, m.log + ".1", m.log + ".2"):
        size = os.path.getsize(p)
        assert size < 4096 + 200
        with open(p) as f:
            for ln in f:
                assert json.loads(ln)["log"].startswith("line-")
    with open(m.log) as f:
        last = [json.loads(x)["log"] for x in f][-1]
    assert last.startswith("line-399-")
    m.assert_clean()


def test_init_reaper(mon):
    init = os.path.join(BUILD, "src", "berth-init")
    if not os.path.exists(init):
        pytest.skip("berth-init not built")
    m = mon(["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5"], init=True)
    out, _, ex = m.run_collect()
    assert out.decode().startswith("/sbin/docker-init -- sh")
    assert ex["ExitCode"] == 5
    m.assert_clean()


def test_idle_monitor_small_and_killed_container(mon):
    m = mon(["sleep", "100"])
    assert m.start() == {"ok": True}
    time.sleep(0.3)
    st = m.request({"op": "state"})
    assert st["running"] is True and st["pid"] == m.sync["pid"]
    rss = int(subprocess.run(["ps", "-o", "rss=", "-p", str(m.monitor_pid)], capture_output=True,
                             text=True).stdout.strip())
    print(f"idle berth-monitor RSS: {rss} kB")
    if not berthtest.SANITIZED:
        assert rss <= 2048
    os.kill(m.sync["pid"], 9)
    assert m.wait()["ExitCode"] == 137
    m.assert_clean()


def test_readonly_rootfs_and_cgroup_limits(mon):
    m = mon(["sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/y && echo shm-ok; sleep 1"],
            readonly_rootfs=True, cgroup_resources={"memory": 64 * 1024 * 1024, "pids_limit": 50, "cpu_shares": 512})
    a = m.attach()
    assert m.start() == {"ok": True}
    time.sleep(0.3)
    with open(f"/sys/fs/cgroup/memory/{m.cgroup}/memory.limit_in_bytes") as f:
        assert int(f.read()) == 64 * 1024 * 1024
    with open(f"/sys/fs/cgroup/pids/{m.cgroup}/pids.max") as f:
        assert f.read().strip() == "50"
    with open(f"/sys/fs/cgroup/pids/{m.cgroup}/cgroup.procs") as f:
        assert str(m.sync["pid"]) in f.read().split()
    out = b"".join(p for s, p in Mon.read_frames(a) if s == 1)
    assert out == b"ro\nshm-ok\n"
    assert m.wait()["ExitCode"] == 0
    m.assert_clean()
