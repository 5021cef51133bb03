#!/usr/bin/python3
"""Daemon-side cost of `docker run --rm busybox true`: the API calls the docker CLI makes (create, hijacked
attach of stdout/stderr, wait?condition=removed with its headers read before start, start, then the
attach stream's end and the wait's body) over a unix socket from one process, without the CLI's startup.
Also the bulk parts of bench/containers.sh.

  containers-api.py SOCK run N          -> median, p90 and min ms of one --rm run of `true`
  containers-api.py SOCK create N       -> total ms to create N stopped containers (busybox true)
  containers-api.py SOCK rmall          -> removes every container labelled $BENCH_LABEL (force), prints how many"""
import json
import os
import socket
import statistics
import sys
import time
import urllib.parse

sock, mode = sys.argv[1], sys.argv[2]
VER = "/v1.41"
# Every container made here carries this label; rmall removes only those (the reference daemon is shared).
LABEL = os.environ.get("BENCH_LABEL", "berth-bench=containers")
LK, _, LV = LABEL.partition("=")


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    return s


def send(s, method, path, body=None, upgrade=False):
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {VER}{path} HTTP/1.1\r\nHost: api\r\nContent-Length: {len(data)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    if upgrade:
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    else:
        head += "Connection: close\r\n"
    s.sendall(head.encode() + b"\r\n" + data)


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise RuntimeError("connection closed before the response headers")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.lower(), rest


def read_body(s, head, rest):
    """The rest of a response: Content-Length, chunked, or until close."""
    if head.split(b" ", 2)[1] in (b"204", b"304"):
        return b""
    if b"content-length:" in head:
        n = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < n:
            b = s.recv(65536)
            if not b:
                break
            rest += b
        return rest[:n]
    if b"chunked" in head:
        out = b""
        while True:
            while b"\r\n" not in rest:
                rest += s.recv(65536)
            ln, _, rest = rest.partition(b"\r\n")
            n = int(ln, 16)
            if n == 0:
                return out
            while len(rest) < n + 2:
                rest += s.recv(65536)
            out += rest[:n]
            rest = rest[n + 2:]
    while True:
        b = s.recv(65536)
        if not b:
            return rest
        rest += b


def call(method, path, body=None):
    s = connect()
    send(s, method, path, body)
    st, head, rest = read_head(s)
    data = read_body(s, head, rest)
    s.close()
    return st, (json.loads(data) if data.strip() else None)


CREATE = {"Image": "busybox", "Cmd": ["true"], "AttachStdout": True, "AttachStderr": True, "Labels": {LK: LV},
          "HostConfig": {"AutoRemove": True, "NetworkMode": "default"}}


def one_run():
    st, r = call("POST", "/containers/create", CREATE)
    assert st == 201, (st, r)
    cid = r["Id"]
    a = connect()
    send(a, "POST", f"/containers/{cid}/attach?stderr=1&stdout=1&stream=1", upgrade=True)
    st, _, arest = read_head(a)
    assert st in (101, 200), st
    w = connect()
    send(w, "POST", f"/containers/{cid}/wait?condition=removed")
    st, whead, wrest = read_head(w)
    assert st == 200, st
    st, r = call("POST", f"/containers/{cid}/start")
    assert st == 204, (st, r)
    while a.recv(65536):
        pass
    a.close()
    res = json.loads(read_body(w, whead, wrest))
    w.close()
    assert res["StatusCode"] == 0, res


if mode == "run":
    n = int(sys.argv[3])
    one_run()  # warm-up
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        one_run()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    print(f"{statistics.median(ts):.1f} {ts[int(len(ts) * 0.9) - 1 if len(ts) >= 10 else -1]:.1f} {ts[0]:.1f}")
elif mode == "create":
    n = int(sys.argv[3])
    t0 = time.perf_counter()
    for _ in range(n):
        st, r = call("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "Labels": {LK: LV},
                                                    "HostConfig": {"NetworkMode": "default"}})
        assert st == 201, (st, r)
    print(f"{(time.perf_counter() - t0) * 1000:.0f}")
elif mode == "rmall":
    filt = urllib.parse.quote(json.dumps({"label": [LABEL]}))
    st, l = call("GET", "/containers/json?all=1&filters=" + filt)
    for c in l:
        st, r = call("DELETE", f"/containers/{c['Id']}?force=1")
        assert st == 204, (st, r)
    print(len(l))
else:
    sys.exit(f"unknown mode {mode}")
