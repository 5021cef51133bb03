#!/usr/bin/python3
"""Daemon-side cost of `docker exec`: the API calls the docker CLI makes for `docker exec c CMD`
(POST /containers/c/exec, POST /exec/ID/start hijacked until the stream ends, GET /exec/ID/json)
over a unix socket from one process, without the CLI's own startup.

  exec-api.py SOCK CONTAINER latency N        -> median and p90 ms of `true`
  exec-api.py SOCK CONTAINER throughput FILE   -> MB/s of `cat FILE` through the stream"""
import json
import socket
import statistics
import sys
import time

sock, container, mode, arg = sys.argv[1:5]


def request(method, path, body=None, upgrade=False):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} /v1.41{path} HTTP/1.1\r\nHost: api\r\nContent-Length: {len(data)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    if upgrade:
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    return s


def read_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def simple(method, path, body=None):
    s = request(method, path, body)
    s.shutdown(socket.SHUT_WR)
    raw = read_all(s)
    s.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        out, p = b"", rest
        while p:
            ln, _, p = p.partition(b"\r\n")
            n = int(ln, 16)
            if n == 0:
                break
            out += p[:n]
            p = p[n + 2:]
        rest = out
    return json.loads(rest)


def one_exec(cmd):
    x = simple("POST", f"/containers/{container}/exec",
               {"AttachStdout": True, "AttachStderr": True, "Cmd": cmd})["Id"]
    s = request("POST", f"/exec/{x}/start", {"Detach": False, "Tty": False}, upgrade=True)
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        n += len(b)
    s.close()
    info = simple("GET", f"/exec/{x}/json")
    assert info["ExitCode"] == 0, info
    return n


if mode == "latency":
    one_exec(["true"])
    ts = []
    for _ in range(int(arg)):
        t0 = time.perf_counter()
        one_exec(["true"])
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    print(f"{statistics.median(ts):.1f} {ts[int(len(ts) * 0.9) - 1]:.1f}")
else:
    t0 = time.perf_counter()
    n = one_exec(["cat", arg])
    dt = time.perf_counter() - t0
    print(f"{n / dt / 1e6:.0f}")
