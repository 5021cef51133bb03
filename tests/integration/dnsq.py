#!/usr/bin/python3
"""A tiny DNS client for the tests and benchmarks: one query over UDP, the
answer as JSON. Run it inside a container's network namespace
(nsenter --net=/proc/<pid>/ns/net) to ask the embedded DNS at 127.0.0.11.

usage: dnsq.py NAME [A|SRV|AAAA] [SERVER] [--until-found SECONDS]
prints {"rcode": n, "a": ["ip", ...], "srv": [[prio, weight, port, target], ...], "additional": [...],
        "elapsed": seconds, "at": unix time of the answer}"""
import json
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "AAAA": 28, "SRV": 33, "ANY": 255}


def read_name(m, off):
    labels, jumped, end = [], False, off
    while True:
        ln = m[off]
        if ln & 0xC0 == 0xC0:
            ptr = ((ln & 0x3F) << 8) | m[off + 1]
            if not jumped:
                end = off + 2
            jumped, off = True, ptr
            continue
        off += 1
        if ln == 0:
            break
        labels.append(m[off:off + ln].decode())
        off += ln
    return ".".join(labels), (end if jumped else off)


def query(name, qtype="A", server="127.0.0.11", timeout=2.0):
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(q, (server, 53))
    m, _ = s.recvfrom(4096)
    s.close()
    _, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", m[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(m, off)
        off += 4
    out = {"rcode": flags & 0xF, "a": [], "srv": [], "additional": []}
    for i in range(an + ns + ar):
        rname, off = read_name(m, off)
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", m[off:off + 10])
        off += 10
        rd = m[off:off + rdlen]
        if rtype == 1:
            rec = socket.inet_ntoa(rd)
            (out["a"] if i < an else out["additional"]).append(rec if i < an else [rname, rec])
        elif rtype == 33 and i < an:
            prio, weight, port = struct.unpack(">HHH", rd[:6])
            target, _ = read_name(m, off + 6)
            out["srv"].append([prio, weight, port, target])
        off += rdlen
    return out


def main():
    args = sys.argv[1:]
    until = None
    if "--until-found" in args:
        i = args.index("--until-found")
        until = float(args[i + 1])
        del args[i:i + 2]
    name = args[0]
    qtype = args[1] if len(args) > 1 else "A"
    server = args[2] if len(args) > 2 else "127.0.0.11"
    t0 = time.time()
    while True:
        try:
            r = query(name, qtype, server, timeout=0.5 if until else 2.0)
        except socket.timeout:
            r = {"rcode": -1, "a": [], "srv": [], "additional": []}
        if until is None or r["a"] or r["srv"] or time.time() - t0 > until:
            break
        time.sleep(0.005)
    r["elapsed"] = time.time() - t0
    r["at"] = time.time()
    print(json.dumps(r))


if __name__ == "__main__":
    main()
