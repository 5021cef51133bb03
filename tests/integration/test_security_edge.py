"""The API edge fails closed (docs/security.md): TLS that cannot be set up stops
the daemon, client certificates need the client-auth usage, plain TCP off
loopback needs an explicit --tls=false, an unknown -G group is an error, the
state database and private directories are root's alone, JSON bodies need
application/json, bodies are capped as they arrive, idle connections time out
and cannot lock real clients out, layers cannot unpack without bounds, and the
registry client neither follows https->http redirects nor sends passwords to a
foreign plain-http token realm."""
import gzip
import hashlib
import io
import json
import os
import resource
import socket
import stat
import subprocess
import tarfile
import time

import berthtest
from test_system import _make_certs


def _run_daemon(d, extra, timeout=20):
    """Runs berthd expecting it to refuse to start; returns (exit code, output)."""
    r = subprocess.run(d.argv(extra), capture_output=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def _eventually(fn, within=30, step=0.2):
    deadline = time.time() + within
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


# ---- TLS fails closed ----

def test_tls_asked_for_but_impossible_refuses_to_start(fresh_berthd):
    d = fresh_berthd
    c = _make_certs(d.base)
    host = ["-H", "tcp://127.0.0.1:23760"]
    # the repro: --tlsverify with only a CA used to serve plain HTTP to anyone
    code, out = _run_daemon(d, host + ["--tlsverify", "--tlscacert", f"{c}/ca.pem"])
    assert code != 0 and "--tlsverify on tcp://127.0.0.1:23760 needs --tlscacert, --tlscert and --tlskey" in out, out
    code, out = _run_daemon(d, host + ["--tls", "--tlscert", f"{c}/server-cert.pem"])
    assert code != 0 and "needs --tlscert and --tlskey" in out, out
    code, out = _run_daemon(d, host + ["--tlsverify", "--tlscacert", f"{c}/nope.pem", "--tlscert",
                                       f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem"])
    assert code != 0 and f'could not read CA certificate "{c}/nope.pem"' in out, out
    # a key that does not belong to the certificate
    code, out = _run_daemon(d, host + ["--tls", "--tlscert", f"{c}/server-cert.pem", "--tlskey",
                                       f"{c}/client-key.pem"])
    assert code != 0 and "could not load X509 key pair" in out, out
    # a CA file that holds no certificate
    junk = os.path.join(c, "junk.pem")
    open(junk, "w").write("not a certificate\n")
    code, out = _run_daemon(d, host + ["--tlsverify", "--tlscacert", junk, "--tlscert", f"{c}/server-cert.pem",
                                       "--tlskey", f"{c}/server-key.pem"])
    assert code != 0 and "failed to append certificates from PEM file" in out, out
    # refused before any state was touched
    assert "failed to load listeners" in out and not os.path.exists(d.pidfile)
    # and none of these left a plain-HTTP listener behind
    r = d.nsenter(["curl", "-s", "--max-time", "3", "http://127.0.0.1:23760/_ping"], capture_output=True)
    assert r.stdout != b"OK"


def test_tlsverify_client_cert_needs_client_auth_usage(fresh_berthd):
    d = fresh_berthd
    c = _make_certs(d.base)
    d.start(extra=["-H", "tcp://127.0.0.1:23761", "--tlsverify", "--tlscacert", f"{c}/ca.pem",
                   "--tlscert", f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem"])

    def ping(cert, key, *extra):
        return d.nsenter(["curl", "-s", "--max-time", "5", "--cacert", f"{c}/ca.pem", "--cert", cert, "--key", key,
                          *extra, "https://127.0.0.1:23761/_ping"], capture_output=True)

    assert ping(f"{c}/client-cert.pem", f"{c}/client-key.pem").stdout == b"OK"
    # signed by the same CA, but a server certificate (serverAuth only): not a login
    bad = ping(f"{c}/server-cert.pem", f"{c}/server-key.pem")
    assert bad.stdout != b"OK"
    # TLS 1.1 and older are not offered
    old = ping(f"{c}/client-cert.pem", f"{c}/client-key.pem", "--tlsv1.0", "--tls-max", "1.1", "--ciphers",
               "DEFAULT@SECLEVEL=0")
    assert old.returncode != 0 and old.stdout != b"OK"
    assert "client certificates required" in d.logtail(80)


def test_plain_tcp_off_loopback_needs_explicit_tls_false(fresh_berthd):
    d = fresh_berthd
    code, out = _run_daemon(d, ["-H", "tcp://0.0.0.0:23762"])
    assert code != 0, out
    assert "API would be accessible on http://0.0.0.0:23762 without encryption" in out
    assert "--tls=false" in out
    # --tls without --tlsverify off loopback: encrypted but anyone may log in
    c = _make_certs(d.base)
    code, out = _run_daemon(d, ["-H", "tcp://0.0.0.0:23762", "--tls", "--tlscert", f"{c}/server-cert.pem",
                                "--tlskey", f"{c}/server-key.pem"])
    assert code != 0 and "without client authentication" in out, out
    # --tlsverify=false: TLS without client authentication, explicitly accepted (dockerd's spelling)
    d.start(extra=["-H", "tcp://0.0.0.0:23762", "--tlsverify=false", "--tlscert", f"{c}/server-cert.pem",
                   "--tlskey", f"{c}/server-key.pem"])
    r = d.nsenter(["curl", "-s", "--max-time", "5", "--cacert", f"{c}/ca.pem", "https://127.0.0.1:23762/_ping"],
                  capture_output=True)
    assert r.stdout == b"OK"
    assert "with TLS but without --tlsverify" in d.logtail(80)
    d.stop()
    # explicitly asked for: it starts, and says loudly what it means
    d.start(extra=["-H", "tcp://0.0.0.0:23762", "--tls=false"])
    r = d.nsenter(["curl", "-s", "--max-time", "5", "http://127.0.0.1:23762/_ping"], capture_output=True)
    assert r.stdout == b"OK"
    assert "without TLS: anyone who reaches it" in d.logtail(80)


def test_unknown_socket_group_is_an_error(fresh_berthd):
    d = fresh_berthd
    code, out = _run_daemon(d, ["-G", "no-such-group-berth"])
    assert code != 0 and "group no-such-group-berth not found" in out, out
    assert not os.path.exists(d.sock)
    # a numeric group is taken as it is
    d.start(extra=["-G", "4242"])
    st = os.stat(d.sock)
    assert st.st_gid == 4242 and stat.S_IMODE(st.st_mode) == 0o660


# ---- the state on disk ----

def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_state_database_and_private_dirs_are_root_only(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    d.docker("create", "--name", "secret", "-e", "PASSWORD=hunter2", "busybox", "true")
    db = os.path.join(d.data_root, "berth.db")
    expect_files = [db] + [db + s for s in ("-wal", "-shm") if os.path.exists(db + s)]
    assert db + "-wal" in expect_files
    for f in expect_files:
        assert _mode(f) == 0o600, f
    dirs = {"tmp": 0o700, "image": 0o700, "containers": 0o710}
    for sub, m in dirs.items():
        assert _mode(os.path.join(d.data_root, sub)) == m, sub
    # quarantine/ appears only with a damaged record; an old one is narrowed too
    assert not os.path.exists(os.path.join(d.data_root, "quarantine"))
    assert _mode(d.data_root) == 0o711
    assert _mode(os.path.join(d.exec_root, "containers")) == 0o700
    # an upgrade from a version that left everything world-readable is narrowed at start
    # (killed, so the -wal and -shm stay behind too)
    d.kill9()
    for f in expect_files:
        os.chmod(f, 0o644)
    os.mkdir(os.path.join(d.data_root, "quarantine"), 0o755)
    dirs["quarantine"] = 0o700
    for sub in dirs:
        os.chmod(os.path.join(d.data_root, sub), 0o755)
    d.start()
    for f in expect_files:
        assert _mode(f) == 0o600, f
    for sub, m in dirs.items():
        assert _mode(os.path.join(d.data_root, sub)) == m, sub
    # and as nobody the secret cannot be read
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", db],
                       capture_output=True)
    assert r.returncode != 0 and b"hunter2" not in r.stdout


# ---- JSON bodies must say so (CSRF from a web page) ----

def test_json_bodies_need_json_content_type(busybox):
    d = busybox
    body = json.dumps({"Image": "busybox", "Cmd": ["true"]})
    for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        st, h, b = d.curl("/containers/create?name=csrf", method="POST", data=body, headers=[f"Content-Type: {ct}"])
        assert st == 400, (ct, st, b)
        assert json.loads(b)["message"] == f"Content-Type specified ({ct}) must be 'application/json'"
    # no Content-Type at all with a body: refused too, as dockerd does
    st, h, b = d.curl("/containers/create?name=csrf", method="POST", data=body, headers=["Content-Type:"])
    assert st == 400 and json.loads(b)["message"] == "Content-Type specified () must be 'application/json'"
    assert d.docker("ps", "-aq", "--filter", "name=csrf").stdout.strip() == b""
    for path in ("/networks/create", "/exec/x/start", "/containers/x/update"):
        st, h, b = d.curl(path, method="POST", data="{}", headers=["Content-Type: text/plain"])
        assert st == 400 and b"must be 'application/json'" in b, (path, b)
    # JSON with parameters is JSON; docker-py and the CLI keep working
    st, h, b = d.curl("/containers/create?name=okjson", method="POST", data=body,
                      headers=["Content-Type: application/json; charset=utf-8"])
    assert st == 201, b
    c = d.client().containers.create("busybox", ["true"], name="okpy")
    assert c.name == "okpy"
    d.docker("rm", "okjson", "okpy")


# ---- bodies are capped as they arrive ----

def _raw(port_or_path, data, read_timeout=20):
    if isinstance(port_or_path, str):
        s = socket.socket(socket.AF_UNIX)
        s.connect(port_or_path)
    else:
        s = socket.create_connection(("127.0.0.1", port_or_path))
    s.settimeout(read_timeout)
    s.sendall(data)
    return s


def test_large_body_refused_before_it_is_read(busybox):
    d = busybox
    tmp = os.path.join(d.data_root, "tmp")
    # a Content-Length over the JSON cap: 413 without a byte of body sent
    s = _raw(d.sock, b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 4294967296\r\n\r\n")
    resp = s.recv(4096)
    s.close()
    assert resp.startswith(b"HTTP/1.1 413"), resp
    assert b"request body too large" in resp
    # chunked: refused once the cap is crossed, not after the whole body went to disk
    s = _raw(d.sock, b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
    sent = 0
    try:
        for _ in range(200):  # up to 200 MiB; the cap is 16 MiB
            s.sendall(chunk)
            sent += 1
    except OSError:
        pass
    try:
        resp = s.recv(4096)
    except OSError:
        resp = b""
    s.close()
    assert sent < 200, "the daemon kept reading past the cap"
    assert resp.startswith(b"HTTP/1.1 413") and b"request body too large" in resp, resp
    assert sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)
               if os.path.isfile(os.path.join(tmp, f))) < (16 << 20)
    assert d.curl("/_ping")[0] == 200


# ---- idle connections and connection caps ----

def test_idle_connections_time_out_and_cannot_lock_out_clients(fresh_berthd):
    d = fresh_berthd
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    d.start(extra=["-H", "tcp://127.0.0.1:23763", "--api-idle-timeout", "3"])
    # 1100 idle connections from one address, inside the daemon's namespace
    script = r'''
import socket, sys, time
conns = []
for i in range(1100):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", 23763))
        conns.append(s)
    except OSError:
        s.close()
print("open", len(conns), flush=True)
sys.stdin.readline()  # the real client runs now
deadline = time.time() + 60
for s in conns:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        s.recv(1)  # EOF (or reset) once the daemon closed it
    except socket.timeout:
        pass
    except OSError:
        pass
closed = 0
for s in conns:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print("closed", closed, "of", len(conns), flush=True)
'''
    p = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", "/usr/bin/python3", "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
        assert first.startswith("open"), first

        def real_request():
            r = d.nsenter(["curl", "-s", "--max-time", "3", "http://127.0.0.1:23763/_ping"], capture_output=True)
            return r.stdout == b"OK"
        assert _eventually(real_request, within=20), d.logtail()
        p.stdin.write("go\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=120)
        n_closed, n_open = int(out.split()[1]), int(out.split()[3])
        assert n_closed == n_open, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert d.curl("/_ping")[0] == 200


def test_idle_tls_handshake_is_closed(fresh_berthd):
    d = fresh_berthd
    c = _make_certs(d.base)
    d.start(extra=["-H", "tcp://127.0.0.1:23764", "--tlsverify", "--tlscacert", f"{c}/ca.pem",
                   "--tlscert", f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem", "--api-idle-timeout", "2"])
    script = r'''
import socket, time
s = socket.create_connection(("127.0.0.1", 23764))
s.settimeout(30)
try:
    while s.recv(4096):  # at most a TLS alert, then the end
        pass
    print("eof")
except socket.timeout:
    print("still open")
except OSError:
    print("reset")
'''
    r = d.nsenter(["/usr/bin/python3", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() in ("eof", "reset"), r


def test_streams_are_not_cut_by_the_idle_timeout(fresh_berthd):
    d = fresh_berthd.start(extra=["--api-idle-timeout", "2"])
    d.import_busybox()
    ev = subprocess.Popen(["curl", "-s", "-N", "--unix-socket", d.sock, "http://localhost/events"],
                          stdout=subprocess.PIPE)
    logs = None
    try:
        d.docker("run", "-d", "--name", "quiet", "busybox", "sh", "-c", "sleep 5; echo late")
        logs = subprocess.Popen(["curl", "-s", "-N", "--unix-socket", d.sock,
                                 "http://localhost/containers/quiet/logs?follow=1&stdout=1"], stdout=subprocess.PIPE)
        time.sleep(4)  # silent for twice the idle timeout
        d.docker("create", "--name", "after-quiet", "busybox", "true")
        out, _ = logs.communicate(timeout=30)
        assert b"late" in out
        line = b""
        deadline = time.time() + 10
        while b"after-quiet" not in line and time.time() < deadline:
            line = ev.stdout.readline()
        assert b"after-quiet" in line
    finally:
        ev.kill()
        ev.wait()
        if logs and logs.poll() is None:
            logs.kill()
            logs.wait()


# ---- layer unpacking bounds ----

def _load_archive(layer_bytes, diff_id):
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    man = json.dumps([{"Config": cid + ".json", "RepoTags": ["bomb:1"], "Layers": ["l/layer.tar"]}]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in ((cid + ".json", cfg), ("l/layer.tar", layer_bytes), ("manifest.json", man)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _zeros_layer(mib):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        ti = tarfile.TarInfo("zeros")
        ti.size = mib << 20
        t.addfile(ti, io.BytesIO(bytes(ti.size)))
    data = raw.getvalue()
    return gzip.compress(data, 9), "sha256:" + hashlib.sha256(data).hexdigest()


def test_gzip_bomb_layer_is_refused(fresh_berthd):
    d = fresh_berthd.start()
    gz, diff_id = _zeros_layer(160)  # ~160 KiB that would become 160 MiB
    before = os.listdir(os.path.join(d.data_root, "image"))
    r = d.docker("load", input=_load_archive(gz, diff_id), check=False, timeout=120)
    assert r.returncode != 0
    assert b"layer decompresses to more than 500 times its compressed size" in r.stderr + r.stdout, r
    layers = os.path.join(d.data_root, "image", "layers")
    assert not os.path.isdir(layers) or os.listdir(layers) == []
    assert os.listdir(os.path.join(d.data_root, "image")) == before or not os.listdir(layers)
    tmp = os.path.join(d.data_root, "tmp")
    assert subprocess.run(["du", "-sm", tmp], capture_output=True, text=True).stdout.split()[0] in ("0", "1")
    assert d.docker("images", "-q", "bomb").stdout.strip() == b""
    # the bounds are the daemon's to set: an absolute cap, and free space that must remain
    d.restart(extra=["--layer-max-ratio", "0", "--layer-max-size", str(8 << 20)])
    r = d.docker("load", input=_load_archive(gz, diff_id), check=False, timeout=120)
    assert r.returncode != 0 and b"layer is larger than 8388608 bytes uncompressed" in r.stderr + r.stdout, r
    d.restart(extra=["--min-free-space", str(1 << 60)])
    small, small_id = _zeros_layer(1)
    r = d.docker("load", input=_load_archive(small, small_id), check=False, timeout=120)
    assert r.returncode != 0 and b"no space left on device" in r.stderr + r.stdout, r
    d.restart()
    r = d.docker("load", input=_load_archive(small, small_id), timeout=120)
    assert b"bomb:1" in r.stdout


# ---- docker info ----

def test_info_security_options(berthd):
    info = json.loads(berthd.docker("info", "--format", "{{json .SecurityOptions}}").stdout)
    assert "name=seccomp,profile=builtin" in info
    cg2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert ("name=cgroupns" in info) == cg2


def test_slow_handler_is_not_cut_by_the_idle_timeout(fresh_berthd):
    # a request being worked on is not idle: stop -t 5 of a container ignoring SIGTERM
    # answers after more than twice the idle timeout
    d = fresh_berthd.start(extra=["--api-idle-timeout", "2"])
    d.import_busybox()
    d.docker("run", "-d", "--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; sleep 100")
    r = d.docker("stop", "-t", "5", "stubborn", check=False)
    assert r.returncode == 0 and r.stdout.strip() == b"stubborn", r
    assert d.curl("/containers/stubborn/json")[0] == 200


def test_tls_attach_and_exec_are_not_cut_by_the_idle_timeout(fresh_berthd):
    d = fresh_berthd
    c = _make_certs(d.base)
    d.start(extra=["-H", "tcp://127.0.0.1:23765", "--tlsverify", "--tlscacert", f"{c}/ca.pem",
                   "--tlscert", f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem", "--api-idle-timeout", "2"])
    d.import_busybox()
    env = dict(d.env(), DOCKER_HOST="tcp://127.0.0.1:23765", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=c)
    # hijacked over TLS and silent for more than twice the timeout
    r = d.nsenter([berthtest.DOCKER, "run", "--rm", "busybox", "sh", "-c", "sleep 5; echo late"],
                  capture_output=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout == b"late\n", r
    d.docker("run", "-d", "--name", "tlsexec", "busybox", "sleep", "100")
    r = d.nsenter([berthtest.DOCKER, "exec", "tlsexec", "sh", "-c", "sleep 5; echo late2"],
                  capture_output=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout == b"late2\n", r
