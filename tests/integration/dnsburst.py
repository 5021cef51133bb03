#!/usr/bin/python3
"""Sends N UDP queries for names the embedded DNS must forward, in quick
batches from one socket, then collects answers for WAIT seconds. Run it in a
container's network namespace. Prints {"sent": n, "answers": n, "rcodes": {rcode: count}}.

usage: dnsburst.py N WAIT [SERVER]"""
import json
import select
import socket
import struct
import sys
import time


def main():
    n, wait = int(sys.argv[1]), float(sys.argv[2])
    server = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.11"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for i in range(n):
        q = struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0)
        for label in (f"q{i}", "burst", "example"):
            q += bytes([len(label)]) + label.encode()
        q += b"\0" + struct.pack(">HH", 1, 1)
        s.sendto(q, (server, 53))
        if i % 50 == 49:
            time.sleep(0.01)  # the server socket's buffer holds ~250 queries; a burst, not a flood
    rcodes, seen = {}, set()
    deadline = time.time() + wait
    while len(seen) < n and time.time() < deadline:
        if not select.select([s], [], [], max(0.0, deadline - time.time()))[0]:
            break
        m = s.recv(4096)
        qid, flags = struct.unpack(">HH", m[:4])
        if qid in seen:
            continue
        seen.add(qid)
        rcodes[flags & 0xF] = rcodes.get(flags & 0xF, 0) + 1
    print(json.dumps({"sent": n, "answers": len(seen), "rcodes": rcodes}))


if __name__ == "__main__":
    main()
