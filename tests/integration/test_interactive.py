"""Interactive streams: attach, TTYs and exec, driven through a real pty (docker CLI and berth),
plus docker-py's exec_run and attach_socket."""
import fcntl
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from berthtest import BERTH, DOCKER


class Pty:
    """A command on a fresh pty (30x100) whose output is collected as it comes."""

    def __init__(self, argv, env, rows=30, cols=100):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.out = b""
        self.status = None

    def read_until(self, needle, timeout=15):
        if isinstance(needle, str):
            needle = needle.encode()
        deadline = time.time() + timeout
        while needle not in self.out and time.time() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    d = os.read(self.fd, 4096)
                except OSError:
                    break
                if not d:
                    break
                self.out += d
        assert needle in self.out, f"{needle!r} not in {self.out!r}"
        return self.out

    def send(self, data):
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p:
                self.status = os.waitstatus_to_exitcode(st)
                try:  # what it wrote last
                    while select.select([self.fd], [], [], 0.2)[0]:
                        d = os.read(self.fd, 4096)
                        if not d:
                            break
                        self.out += d
                except OSError:
                    pass
                break
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.out += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise AssertionError(f"still running; output {self.out!r}")
        os.close(self.fd)
        return self.status


def cli(busybox, which):
    return [DOCKER] if which == "docker" else [BERTH, "-H", busybox.host]


CLIS = ["docker", "berth"]


@pytest.fixture(scope="module")
def running(busybox):
    busybox.docker("run", "-d", "--name", "it-sleeper", "busybox", "sleep", "10000")
    yield "it-sleeper"
    busybox.docker("rm", "-f", "it-sleeper", check=False)


@pytest.mark.parametrize("which", CLIS)
def test_run_it_shell(busybox, which):
    p = Pty(cli(busybox, which) + ["run", "-it", "--rm", "busybox", "sh"], busybox.env())
    p.read_until("# ")
    p.send("echo $((6*7))\r")
    p.read_until("42")
    p.send("stty size\r")
    p.read_until("30 100")
    p.resize(40, 120)
    time.sleep(0.5)
    p.send("stty size\r")
    p.read_until("40 120")
    p.send("exit 5\r")
    assert p.wait() == 5


@pytest.mark.parametrize("which", CLIS)
def test_exec_it_shell(busybox, running, which):
    p = Pty(cli(busybox, which) + ["exec", "-it", running, "sh"], busybox.env())
    p.read_until("# ")
    p.send("tty; echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ')\r")
    p.read_until("pid1=sleep 10000")
    assert b"/dev/pts/" in p.out
    p.send("stty size\r")
    p.read_until("30 100")
    p.resize(33, 90)
    time.sleep(0.5)
    p.send("stty size\r")
    p.read_until("33 90")
    p.send("exit 3\r")
    assert p.wait() == 3


@pytest.mark.parametrize("which", CLIS)
def test_run_i_pipe(busybox, which):
    r = subprocess.run(cli(busybox, which) + ["run", "-i", "--rm", "busybox", "cat"], input=b"hi\n",
                       capture_output=True, env=busybox.env(), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"


@pytest.mark.parametrize("which", CLIS)
def test_run_stdin_closed(busybox, which):
    r = subprocess.run(cli(busybox, which) + ["run", "--rm", "busybox", "sh", "-c", "cat; echo done"],
                       stdin=subprocess.DEVNULL, capture_output=True, env=busybox.env(), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"done\n"


@pytest.mark.parametrize("which", CLIS)
def test_exec_exit_codes_env_user(busybox, running, which):
    c = cli(busybox, which)
    r = subprocess.run(c + ["exec", running, "sh", "-c", "echo out; echo err >&2; exit 7"], capture_output=True,
                       env=busybox.env(), timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (7, b"out\n", b"err\n")
    r = subprocess.run(c + ["exec", "-e", "FOO=bar", "-u", "1000:1000", "-w", "/tmp", running, "sh", "-c",
                            "echo $FOO $(id -u) $(pwd) $HOSTNAME"], capture_output=True, env=busybox.env())
    assert r.stdout.split()[:3] == [b"bar", b"1000", b"/tmp"], r
    r = subprocess.run(c + ["exec", running, "nosuch"], capture_output=True, env=busybox.env())
    assert r.returncode == 126
    assert b'exec: "nosuch": executable file not found in $PATH' in r.stdout + r.stderr
    r = subprocess.run(c + ["exec", "-i", running, "cat"], input=b"piped\n", capture_output=True,
                       env=busybox.env(), timeout=30)
    assert (r.returncode, r.stdout) == (0, b"piped\n")


def test_exec_joins_container(busybox, running):
    out = busybox.docker("exec", running, "sh", "-c",
                         "cat /proc/1/cmdline; echo; hostname; grep -E '^(CapEff|Seccomp):' /proc/self/status").stdout
    lines = out.decode().split("\n")
    assert lines[0].startswith("sleep")
    cid = busybox.docker("inspect", "-f", "{{.Id}}", running).stdout.decode().strip()
    assert lines[1] == cid[:12]
    assert "CapEff:\t00000000a80425fb" in out.decode()
    assert "Seccomp:\t2" in out.decode()
    priv = busybox.docker("exec", "--privileged", running, "grep", "CapEff", "/proc/self/status").stdout
    assert priv.split()[1] != b"00000000a80425fb"
    # the exec is in the container's cgroup
    pid = busybox.docker("exec", running, "sh", "-c", "echo $$; cat /proc/self/cgroup").stdout.decode()
    assert cid in open(f"/proc/{busybox.docker('inspect', '-f', '{{.State.Pid}}', running).stdout.decode().strip()}"
                       "/cgroup").read()
    assert pid.split("\n")[0] != ""


def test_exec_api_and_inspect(busybox, running):
    st, j = busybox.curl_json(f"/v1.41/containers/{running}/exec", "POST",
                              {"AttachStdout": True, "AttachStderr": True, "Cmd": ["sh", "-c", "exit 9"]})
    assert st == 201
    xid = j["Id"]
    st, info = busybox.curl_json(f"/v1.41/exec/{xid}/json")
    assert st == 200 and info["Running"] is False and info["ExitCode"] is None
    st, _, _ = busybox.curl(f"/v1.41/exec/{xid}/start", "POST", {"Detach": True, "Tty": False})
    assert st == 200
    for _ in range(50):
        st, info = busybox.curl_json(f"/v1.41/exec/{xid}/json")
        if info["ExitCode"] is not None:
            break
        time.sleep(0.1)
    assert info["ExitCode"] == 9
    assert info["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "exit 9"],
                                     "privileged": False}
    assert info["ContainerID"] == busybox.docker("inspect", "-f", "{{.Id}}", running).stdout.decode().strip()
    st, cj = busybox.curl_json(f"/v1.41/containers/{running}/json")
    assert xid in cj["ExecIDs"]
    st, j = busybox.curl_json(f"/v1.41/exec/{xid}/start", "POST", {"Detach": True, "Tty": False})
    assert st == 409 and "has already run" in j["message"]
    st, j = busybox.curl_json("/v1.41/exec/nosuch/json")
    assert st == 404 and j["message"] == "No such exec instance: nosuch"
    st, j = busybox.curl_json(f"/v1.41/containers/{running}/exec", "POST", {"Cmd": []})
    assert st == 400


def test_exec_not_running_and_paused(busybox):
    busybox.docker("create", "--name", "it-created", "busybox", "sleep", "100")
    r = busybox.docker("exec", "it-created", "true", check=False)
    cid = busybox.docker("inspect", "-f", "{{.Id}}", "it-created").stdout.decode().strip()
    assert r.returncode == 1
    assert f"Container {cid} is not running" in r.stderr.decode()
    busybox.docker("start", "it-created")
    busybox.docker("pause", "it-created")
    st, j = busybox.curl_json("/v1.41/containers/it-created/exec", "POST", {"Cmd": ["true"]})
    assert st == 409 and j["message"] == f"Container {cid} is paused, unpause the container before exec"
    busybox.docker("unpause", "it-created")
    busybox.docker("rm", "-f", "it-created")


def test_docker_py_exec_run(busybox, running):
    client = busybox.client()
    c = client.containers.get(running)
    code, out = c.exec_run(["sh", "-c", "echo hello; exit 4"])
    assert (code, out) == (4, b"hello\n")
    code, out = c.exec_run("tty", tty=True)
    assert code == 0 and out.startswith(b"/dev/pts/")
    code, (o, e) = c.exec_run(["sh", "-c", "echo a; echo b >&2"], demux=True)
    assert (code, o, e) == (0, b"a\n", b"b\n")
    code, out = c.exec_run(["sh", "-c", "echo $FOO"], environment={"FOO": "baz"}, user="1000", workdir="/tmp")
    assert (code, out) == (0, b"baz\n")


def test_docker_py_attach_socket(busybox):
    client = busybox.client()
    c = client.containers.run("busybox", ["sh", "-c", "while read l; do echo got:$l; done; echo end"],
                              stdin_open=True, detach=True)
    try:
        s = c.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        raw = s._sock
        raw.sendall(b"one\ntwo\n")
        data = b""
        raw.settimeout(10)
        try:
            while b"got:two" not in data:
                b = raw.recv(4096)
                if not b:
                    break
                data += b
        except socket.timeout:
            pass
        assert b"\x01\x00\x00\x00" in data and b"got:one\n" in data and b"got:two\n" in data
        raw.shutdown(socket.SHUT_WR)  # not StdinOnce: ends this attach only, the container runs on
        raw.settimeout(10)
        while raw.recv(4096):
            pass
        raw.close()
        c.reload()
        assert c.status == "running"
    finally:
        c.remove(force=True)


def test_attach_logs_replay(busybox):
    busybox.docker("run", "-d", "--name", "it-logs", "busybox", "sh", "-c", "echo early; sleep 100")
    time.sleep(0.5)
    s = socket.socket(socket.AF_UNIX)
    s.connect(busybox.sock)
    s.sendall(b"POST /v1.41/containers/it-logs/attach?logs=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n"
              b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
    s.settimeout(10)
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    assert data.startswith(b"HTTP/1.1 101 UPGRADED")
    assert b"\x01\x00\x00\x00\x00\x00\x00\x06early\n" in data
    busybox.docker("rm", "-f", "it-logs")


@pytest.mark.parametrize("which", CLIS)
def test_detach_and_attach(busybox, which):
    name = f"it-detach-{which}"
    c = cli(busybox, which)
    p = Pty(c + ["run", "-it", "--name", name, "busybox", "sh"], busybox.env())
    p.read_until("# ")
    p.send("echo before\r")
    p.read_until("before")
    p.send(b"\x10\x11")
    assert p.wait() == 0
    st = busybox.docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
    assert st == b"true"
    a = Pty(c + ["attach", name], busybox.env())
    time.sleep(1)
    a.send("echo again\r")
    a.read_until("again")
    a.send(b"\x10\x11")
    assert a.wait() == 1
    assert b"read escape sequence" in a.out
    a = Pty(c + ["attach", "--detach-keys", "ctrl-a,x", name], busybox.env())
    time.sleep(1)
    a.send("exit 6\r")
    assert a.wait() == 6
    busybox.docker("rm", "-f", name)


@pytest.mark.parametrize("which", CLIS)
def test_start_ai(busybox, which):
    name = f"it-startai-{which}"
    busybox.docker("create", "-it", "--name", name, "busybox", "sh")
    p = Pty(cli(busybox, which) + ["start", "-ai", name], busybox.env())
    p.read_until("# ")
    p.send("echo started-$((1+1))\r")
    p.read_until("started-2")
    p.send("exit 2\r")
    assert p.wait() == 2
    busybox.docker("rm", "-f", name)


def test_exec_removed_with_container(busybox):
    busybox.docker("run", "-d", "--name", "it-gone", "busybox", "sleep", "100")
    st, j = busybox.curl_json("/v1.41/containers/it-gone/exec", "POST", {"Cmd": ["true"]})
    assert st == 201
    busybox.docker("rm", "-f", "it-gone")
    st, _ = busybox.curl_json(f"/v1.41/exec/{j['Id']}/json")
    assert st == 404


def _frames(data):
    """Splits Docker's multiplexed stream into (stream, payload) pairs; fails on a bad header."""
    out = []
    while data:
        assert len(data) >= 8 and data[0] in (1, 2) and data[1:4] == b"\0\0\0", data[:16]
        n = struct.unpack(">I", data[4:8])[0]
        out.append((data[0], data[8:8 + n]))
        data = data[8 + n:]
    return out


def test_exec_framing_follows_start_tty(busybox, running):
    # dockerd frames the output when the *start* request says Tty false, even
    # for an exec created with a TTY (docker-py reads it that way); a client
    # that read raw bytes as headers lost the first 8 bytes of output.
    c = busybox.client()
    api = c.api
    eid = api.exec_create(running, ["sh", "-c", "echo hello out; echo hello err >&2"], tty=True)["Id"]
    assert api.exec_start(eid) == b"hello out\r\nhello err\r\n"
    sock = api.exec_start(api.exec_create(running, ["printf", "yay"], tty=True)["Id"], socket=True)
    try:
        data = b""
        while True:
            d = sock.recv(4096) if hasattr(sock, "recv") else sock.read(4096)
            if not d:
                break
            data += d
    finally:
        sock.close()
    assert _frames(data) == [(1, b"yay")]
    # start with Tty true: raw bytes
    eid = api.exec_create(running, ["printf", "raw"], tty=True)["Id"]
    assert api.exec_start(eid, tty=True) == b"raw"


def test_exec_output_not_lost_to_client_buffering(busybox, running):
    # docker-py parses the response head with a buffered reader, then reads
    # the raw socket: output sent before it took the head was lost. berthd
    # starts the stream once the client has read the head.
    api = busybox.client().api
    for i in range(40):
        eid = api.exec_create(running, ["echo", f"hello world {i}"])["Id"]
        assert api.exec_start(eid) == f"hello world {i}\n".encode()


def test_exec_detach_keys_from_client_config(busybox, running):
    # docker-py sends "detachKeys" (lower-case d) from ~/.docker/config.json;
    # Go's decoder matches keys case-insensitively.
    api = busybox.client().api
    api._general_configs["detachKeys"] = "ctrl-p"
    eid = api.exec_create(running, "cat", stdin=True, tty=True, stdout=True)["Id"]
    st, j = busybox.curl_json(f"/exec/{eid}/json")
    assert j["DetachKeys"] == "ctrl-p"


def test_exec_wrong_types_rejected(busybox):
    # wrongly typed fields used to be ignored: an exec was created or started anyway
    cid = busybox.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        st, j = busybox.curl_json(f"/containers/{cid}/exec", "POST", {"Cmd": ["true"], "Tty": "x"})
        assert st == 400 and j["message"].startswith("json: cannot unmarshal string into Go struct field "
                                                      "ExecConfig.Tty"), (st, j)
        st, j = busybox.curl_json(f"/containers/{cid}/exec", "POST", {"Cmd": ["true"], "Env": [1]})
        assert st == 400 and "Env" in j["message"], (st, j)
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert not j["ExecIDs"], j
        st, j = busybox.curl_json(f"/containers/{cid}/exec", "POST", {"Cmd": ["true"]})
        assert st == 201, j
        st, j2 = busybox.curl_json(f"/exec/{j['Id']}/start", "POST", {"Detach": "yes"})
        assert st == 400 and "ExecStartCheck.Detach" in j2["message"], (st, j2)
        st, j2 = busybox.curl_json(f"/exec/{j['Id']}/json")
        assert j2["Running"] is False and j2["ExitCode"] is None, j2
    finally:
        busybox.docker("rm", "-f", cid, check=False)
