"""Networking: bridge, published ports, modes, user-defined networks, embedded DNS, no leaks.

Each berthd runs in its own network namespace (berthtest.Berthd), so berth0, the veths
and `table ip berth` live there; nothing here touches the host's network."""
import json
import os
import socket
import subprocess
import threading
import time

import pytest


def run(d, *args, check=True, timeout=60):
    return d.docker(*args, check=check, timeout=timeout)


def out(r):
    return r.stdout.decode(errors="replace")


def links(d):
    r = d.nsenter(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    return [l.split(":")[1].strip().split("@")[0] for l in r.stdout.splitlines()]


def veths(d):
    return [l for l in links(d) if l.startswith("bv")]


def no_veths(d, timeout=5):
    """True once no container veth is left (berth deletes them off the rm path, after the RCU grace period)."""
    deadline = time.time() + timeout
    while veths(d):
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


def nft_rules(d):
    r = d.nsenter(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True)
    return r.stdout


def curl_until(d, url, want, timeout=10):
    """GET url from berthd's netns until the body has want. The published port listens
    (the proxy) before the server in the container does; until then a connection is
    accepted and closed empty. Returns the last body."""
    deadline = time.time() + timeout
    while True:
        r = d.nsenter(["curl", "-s", "--max-time", "5", url], capture_output=True, text=True)
        if want in r.stdout or time.time() > deadline:
            return r.stdout
        time.sleep(0.2)


def inspect(d, name):
    return json.loads(out(run(d, "inspect", name)))[0]


def ip_of(d, name, net="bridge"):
    return inspect(d, name)["NetworkSettings"]["Networks"][net]["IPAddress"]


def wait_port(d, port, host="127.0.0.1", timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = d.nsenter(["bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True)
        if r.returncode == 0:
            return True
        time.sleep(0.2)
    return False


def test_default_bridge_and_inspect(busybox):
    d = busybox
    run(d, "run", "-d", "--name", "b1", "busybox", "sleep", "300")
    try:
        ns = inspect(d, "b1")["NetworkSettings"]
        br = ns["Networks"]["bridge"]
        assert br["IPAddress"].startswith("172.17.0.")
        assert br["Gateway"] == "172.17.0.1"
        assert br["IPPrefixLen"] == 16
        assert br["MacAddress"].startswith("02:42:ac:11:")
        assert len(br["EndpointID"]) == 64 and len(br["NetworkID"]) == 64
        assert ns["IPAddress"] == br["IPAddress"]
        # the container sees eth0 with that address and a default route
        r = run(d, "exec", "b1", "ip", "-o", "-4", "addr", "show", "eth0", check=False)
        if r.returncode == 0:
            assert br["IPAddress"] in out(r)
        # the bridge exists in the daemon's netns with the gateway address
        a = d.nsenter(["ip", "-o", "-4", "addr", "show", "berth0"], capture_output=True, text=True).stdout
        assert "172.17.0.1/16" in a
        ps = json.loads(d.curl("/containers/json")[2])
        me = [c for c in ps if c["Names"] == ["/b1"]][0]
        assert me["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == br["IPAddress"]
    finally:
        run(d, "rm", "-f", "b1")


def test_container_to_container(busybox):
    d = busybox
    run(d, "run", "-d", "--name", "srv", "busybox", "sh", "-c",
        "mkdir -p /www && echo hello-berth > /www/index.html && httpd -f -p 80 -h /www")
    try:
        ip = ip_of(d, "srv")
        r = run(d, "run", "--rm", "busybox", "sh", "-c", f"ping -c1 -W2 {ip} && wget -q -O- http://{ip}/", check=False)
        assert r.returncode == 0, out(r) + r.stderr.decode()
        assert "hello-berth" in out(r)
    finally:
        run(d, "rm", "-f", "srv")


def test_published_port_loopback_and_container(busybox):
    d = busybox
    run(d, "run", "-d", "--name", "web", "-p", "18080:80", "busybox", "sh", "-c",
        "mkdir -p /www && echo pub-ok > /www/index.html && httpd -f -p 80 -h /www")
    try:
        ports = inspect(d, "web")["NetworkSettings"]["Ports"]
        assert ports["80/tcp"][0]["HostPort"] == "18080"
        assert "18080" in out(run(d, "port", "web"))
        assert wait_port(d, 18080)
        assert "pub-ok" in curl_until(d, "http://127.0.0.1:18080/", "pub-ok")
        # from another container, through the gateway address
        r = run(d, "run", "--rm", "busybox", "wget", "-q", "-O-", "http://172.17.0.1:18080/", check=False)
        assert "pub-ok" in out(r), r.stderr.decode()
        assert "dport 18080" in nft_rules(d)
        # the same port again: Docker's error, and nothing is left of the second container's network
        r = run(d, "run", "-d", "--name", "web2", "-p", "18080:80", "busybox", "sleep", "10", check=False)
        assert r.returncode != 0
        assert "port is already allocated" in r.stderr.decode()
        assert inspect(d, "web2")["State"]["Running"] is False
        assert len([v for v in veths(d)]) == 1
        run(d, "rm", "-f", "web2")
    finally:
        run(d, "rm", "-f", "web")
    assert "dport 18080" not in nft_rules(d)
    assert no_veths(d)


def test_publish_all_random_port(busybox):
    d = busybox
    run(d, "run", "-d", "--name", "pall", "--expose", "80", "-P", "busybox", "sh", "-c",
        "mkdir -p /www && echo rnd > /www/index.html && httpd -f -p 80 -h /www")
    try:
        hp = inspect(d, "pall")["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        assert int(hp) > 1024
        assert wait_port(d, int(hp))
        assert "rnd" in curl_until(d, f"http://127.0.0.1:{hp}/", "rnd")
    finally:
        run(d, "rm", "-f", "pall")


UDP_ECHO = r"""
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) return 1;
        for (;;) {
                char b[1500]; struct sockaddr_in p; socklen_t l = sizeof(p);
                ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *) &p, &l);
                if (n > 0) sendto(fd, b, n, 0, (struct sockaddr *) &p, l);
        }
}
"""


def test_udp_published(busybox, tmp_path):
    """busybox has no UDP server: a static echo server is built and bind-mounted."""
    d = busybox
    src = tmp_path / "udpecho.c"
    src.write_text(UDP_ECHO)
    exe = tmp_path / "udpecho"
    subprocess.run(["cc", "-static", "-O1", "-o", str(exe), str(src)], check=True)
    run(d, "run", "-d", "--name", "udp", "-p", "15353:5353/udp", "-v", f"{tmp_path}:/tmp", "busybox",
        "/tmp/udpecho", "5353")
    try:
        time.sleep(0.5)
        code = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); "
                "s.sendto(b'udp-hello', ('127.0.0.1', 15353)); print(s.recv(100).decode())")
        r = d.nsenter(["/usr/bin/python3", "-c", code], capture_output=True, text=True)
        assert "udp-hello" in r.stdout, r.stderr
    finally:
        run(d, "rm", "-f", "udp")


def test_none_and_host_modes(busybox):
    d = busybox
    r = run(d, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    names = [l.split(":")[1].strip() for l in out(r).splitlines()]
    assert names == ["lo"]
    r = run(d, "run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    assert "berth0" in out(r)


def test_container_mode(busybox):
    d = busybox
    run(d, "run", "-d", "--name", "owner", "busybox", "sleep", "300")
    try:
        ip = ip_of(d, "owner")
        r = run(d, "run", "--rm", "--network", "container:owner", "busybox", "ip", "-o", "-4", "addr")
        assert ip in out(r)
    finally:
        run(d, "rm", "-f", "owner")


def test_dns_options_and_hosts(busybox):
    d = busybox
    r = run(d, "run", "--rm", "--dns-search", "example.test", "--dns-option", "timeout:2", "--add-host",
            "extra.test:10.1.2.3", "--hostname", "myhost", "busybox", "sh", "-c",
            "cat /etc/resolv.conf /etc/hosts; hostname")
    o = out(r)
    assert "nameserver 127.0.0.11" in o
    assert "search example.test" in o
    assert "timeout:2" in o
    assert "10.1.2.3\textra.test" in o
    assert "myhost" in o


def test_user_network_dns_and_isolation(busybox):
    d = busybox
    run(d, "network", "create", "--subnet", "10.77.0.0/24", "--label", "k=v", "mynet")
    try:
        netj = json.loads(out(run(d, "network", "inspect", "mynet")))[0]
        assert netj["IPAM"]["Config"][0]["Subnet"] == "10.77.0.0/24"
        assert netj["Labels"] == {"k": "v"}
        assert "mynet" in out(run(d, "network", "ls", "--filter", "label=k=v"))
        run(d, "run", "-d", "--name", "alpha", "--network", "mynet", "--network-alias", "svc", "busybox",
            "sleep", "300")
        run(d, "run", "-d", "--name", "outsider", "busybox", "sleep", "300")
        aip = ip_of(d, "alpha", "mynet")
        assert aip.startswith("10.77.0.")
        for q in ("alpha", "svc"):
            r = run(d, "run", "--rm", "--network", "mynet", "busybox", "nslookup", q, "127.0.0.11", check=False)
            assert aip in out(r), out(r) + r.stderr.decode()
        # the default bridge resolves names too (unlike Docker)
        oip = ip_of(d, "outsider")
        r = run(d, "run", "--rm", "busybox", "nslookup", "outsider", check=False)
        assert oip in out(r), out(r)
        # no name of another network, and isolation between networks
        r = run(d, "run", "--rm", "--network", "mynet", "busybox", "nslookup", "outsider", check=False)
        assert oip not in out(r)
        r = run(d, "run", "--rm", "busybox", "ping", "-c1", "-W1", aip, check=False)
        assert r.returncode != 0
        # inspect shows the container; rm refuses while it runs
        netj = json.loads(out(run(d, "network", "inspect", "mynet")))[0]
        assert any(c["Name"] == "alpha" for c in netj["Containers"].values())
        r = run(d, "network", "rm", "mynet", check=False)
        assert r.returncode != 0 and "active endpoints" in r.stderr.decode()
        # connect / disconnect
        run(d, "network", "connect", "--alias", "out2", "mynet", "outsider")
        ns = inspect(d, "outsider")["NetworkSettings"]["Networks"]
        assert set(ns) == {"bridge", "mynet"}
        assert ns["mynet"]["IPAddress"].startswith("10.77.0.")
        r = run(d, "run", "--rm", "--network", "mynet", "busybox", "sh", "-c",
                f"ping -c1 -W2 {ns['mynet']['IPAddress']} && nslookup out2", check=False)
        assert r.returncode == 0 and ns["mynet"]["IPAddress"] in out(r), out(r)
        run(d, "network", "disconnect", "mynet", "outsider")
        assert set(inspect(d, "outsider")["NetworkSettings"]["Networks"]) == {"bridge"}
    finally:
        run(d, "rm", "-f", "alpha", "outsider", check=False)
    run(d, "network", "rm", "mynet")
    assert "mynet" not in out(run(d, "network", "ls"))
    assert not [l for l in links(d) if l.startswith("berth-")]


def test_static_ip_and_duplicate(busybox):
    d = busybox
    run(d, "network", "create", "--subnet", "10.78.0.0/24", "--ip-range", "10.78.0.128/25", "staticnet")
    try:
        run(d, "run", "-d", "--name", "st1", "--network", "staticnet", "--ip", "10.78.0.50", "busybox", "sleep", "300")
        assert ip_of(d, "st1", "staticnet") == "10.78.0.50"
        run(d, "run", "-d", "--name", "st2", "--network", "staticnet", "busybox", "sleep", "300")
        assert ip_of(d, "st2", "staticnet").startswith("10.78.0.1")  # from the ip-range
        r = run(d, "run", "-d", "--name", "st3", "--network", "staticnet", "--ip", "10.78.0.50", "busybox",
                "sleep", "300", check=False)
        assert r.returncode != 0 and "Address already in use" in r.stderr.decode()
        r = run(d, "network", "create", "dupnet", check=False)
        r = run(d, "network", "create", "dupnet", check=False)
        assert r.returncode != 0 and "already exists" in r.stderr.decode()
    finally:
        run(d, "rm", "-f", "st1", "st2", "st3", check=False)
        run(d, "network", "rm", "staticnet", "dupnet", check=False)


def test_network_api_docker_py(busybox):
    d = busybox
    c = d.client()
    n = c.networks.create("pynet", driver="bridge", labels={"a": "b"})
    try:
        names = {x.name for x in c.networks.list()}
        assert {"bridge", "host", "none", "pynet"} <= names
        custom = [x.name for x in c.networks.list(filters={"type": "custom"})]
        assert "pynet" in custom and "bridge" not in custom
        assert c.networks.get("pynet").attrs["Driver"] == "bridge"
        ctr = c.containers.run("busybox", "sleep 300", detach=True, name="pyc")
        n.connect(ctr, aliases=["pyalias"])
        n.reload()
        assert ctr.id in n.attrs["Containers"]
        n.disconnect(ctr)
        ctr.remove(force=True)
    finally:
        n.remove()
    st, _, _ = d.curl("/networks/pynet")
    assert st == 404
    st, _, body = d.curl("/networks/bridge", method="DELETE")
    assert st == 403
    c.networks.create("prunable")
    r = c.networks.prune()
    assert "prunable" in r["NetworksDeleted"]


def test_published_port_ipv6_side(busybox):
    """As Docker with IPv6 on the host: a port published without an address is on 0.0.0.0 and [::]
    (same host port), an explicit address only on that one, and [::] relays to the IPv4 container."""
    d = busybox
    run(d, "run", "-d", "--name", "six", "-p", "80", "-p", "0.0.0.0:18401:81", "-p", "[::]:18402:80",
        "-p", "18403:82/udp", "busybox", "sh", "-c",
        "mkdir -p /www && echo six > /www/index.html && httpd -f -p 80 -h /www")
    ports = inspect(d, "six")["NetworkSettings"]["Ports"]
    hp = ports["80/tcp"][0]["HostPort"]
    assert ports["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": hp}, {"HostIp": "::", "HostPort": hp},
                               {"HostIp": "::", "HostPort": "18402"}]
    assert ports["81/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "18401"}]
    assert ports["82/udp"] == [{"HostIp": "0.0.0.0", "HostPort": "18403"}, {"HostIp": "::", "HostPort": "18403"}]
    listed = [c for c in json.loads(d.curl("/containers/json")[2]) if "/six" in c["Names"]][0]["Ports"]
    assert {"IP": "::", "PrivatePort": 80, "PublicPort": int(hp), "Type": "tcp"} in listed
    assert "[::]:18402->80/tcp" in out(run(d, "ps", "--format", "{{.Ports}}", "-f", "name=six"))
    assert wait_port(d, int(hp))
    for url in (f"http://[::1]:{hp}/", "http://[::1]:18402/", f"http://127.0.0.1:{hp}/"):
        assert curl_until(d, url, "six").strip() == "six", url
    # the IPv6 side comes back with a restart of the daemon (re-adoption) and goes with the container
    d.restart()
    r = d.nsenter(["curl", "-s", "--max-time", "5", f"http://[::1]:{hp}/"], capture_output=True, text=True)
    assert r.stdout.strip() == "six"
    run(d, "rm", "-f", "six")
    ss = d.nsenter(["ss", "-lntuH"], capture_output=True, text=True).stdout
    assert f":{hp} " not in ss and ":18402 " not in ss and ":18403 " not in ss


def host_state(d):
    """What berth may leave behind in the daemon's namespace, minus what an idle daemon holds."""
    addrs = d.nsenter(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    routes = d.nsenter(["ip", "-o", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    ss = d.nsenter(["ss", "-lntuH"], capture_output=True, text=True).stdout
    return {
        "links": sorted(links(d)),
        "addrs": sorted(l.split()[1] + " " + l.split()[3] for l in addrs.splitlines()
                        if not (l.split()[3].startswith("fe80:") and l.split()[1].startswith("berth"))),
        # A bridge without ports is "linkdown" once its last port went, not before the first, and
        # its IPv6 link-local address and routes come and go with its carrier: the kernel's, per
        # bridge, not per container.
        "routes": sorted(l.replace(" linkdown", "") for l in routes.splitlines()
                         if not ("fe80::" in l and " dev berth" in l)),
        "listeners": sorted(l.split()[4] for l in ss.splitlines()),
        "nft": nft_rules(d),
    }


def daemon_counts(d):
    pid = d.proc.pid
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def wait_settled(d, want, timeout=10):
    """Veths go away asynchronously (the kernel and berth delete them after the RCU grace period)."""
    deadline = time.time() + timeout
    while True:
        st = host_state(d)
        if st == want or time.time() > deadline:
            return st
        time.sleep(0.2)


def assert_settled(d, base):
    st = wait_settled(d, base)
    diff = {k: (sorted(set(v) - set(base[k])), sorted(set(base[k]) - set(v))) if isinstance(v, list) else (v, base[k])
            for k, v in st.items() if v != base[k]}
    assert diff == {}, "left behind (new, gone): %r" % diff


def baseline(d):
    """The idle state once each kind of container has been through (a bridge gets its IPv6
    link-local address and routes when its first port comes up: not a leak)."""
    churn(d, 3, 1)
    deadline = time.time() + 10
    while veths(d) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    return host_state(d)


def churn(d, n, threads, stop=None, port_base=21000):
    """n create/start/rm cycles spread over threads, a third with a published port, a third on a
    user-defined network; returns the number of cycles that completed."""
    done = [0]
    lock = threading.Lock()

    def worker(w):
        c = d.client()
        for i in range(w, n, threads):
            if stop is not None and stop.is_set():
                return
            try:
                kw = {}
                if i % 3 == 1:
                    kw["ports"] = {"80/tcp": port_base + i, "53/udp": port_base + i}
                elif i % 3 == 2:
                    kw["network"] = "churnnet"
                ct = c.containers.create("busybox", ["true"], **kw)
                ct.start()
                ct.remove(force=True)
                with lock:
                    done[0] += 1
            except Exception:
                if stop is None:
                    raise
                return

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    return done[0]


def test_churn_no_leaks(busybox):
    d = busybox
    run(d, "network", "create", "churnnet")
    base = baseline(d)
    fds0, tasks0 = daemon_counts(d)
    assert churn(d, 200, 4) == 200
    assert_settled(d, base)
    fds, tasks = daemon_counts(d)
    # per-container leaks would show as dozens; allow for an idle HTTP connection thread or two
    assert fds <= fds0 + 4, (fds0, fds)
    assert tasks <= tasks0 + 4, (tasks0, tasks)
    assert no_veths(d)
    assert "dnat" not in nft_rules(d)
    run(d, "network", "rm", "churnnet")


def test_churn_sigkill_no_leaks(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    run(d, "network", "create", "churnnet")
    base = baseline(d)
    fds0, tasks0 = daemon_counts(d)
    stop = threading.Event()
    t = threading.Thread(target=churn, args=(d, 400, 4, stop, 22000))
    t.start()
    deadline = time.time() + 30
    while time.time() < deadline and not veths(d):  # kill while containers are on the bridge
        time.sleep(0.05)
    time.sleep(1)
    d.kill9()
    stop.set()
    t.join(120)
    assert not t.is_alive()
    d.start()
    for c in json.loads(d.curl("/containers/json?all=1")[2]):
        run(d, "rm", "-f", c["Id"], check=False)
    assert_settled(d, base)
    fds, tasks = daemon_counts(d)
    assert fds <= fds0 + 4, (fds0, fds)
    assert tasks <= tasks0 + 4, (tasks0, tasks)
    # and networking still works after all that
    run(d, "run", "-d", "--name", "after", "-p", "18282:80", "busybox", "sh", "-c",
        "mkdir -p /www && echo after > /www/index.html && httpd -f -p 80 -h /www")
    assert wait_port(d, 18282)
    r = d.nsenter(["curl", "-s", "--max-time", "5", "http://127.0.0.1:18282/"], capture_output=True, text=True)
    assert "after" in r.stdout
    run(d, "rm", "-f", "after")
    assert_settled(d, base)


def test_start_after_network_removed(busybox):
    """Docker: a stopped container whose network was removed fails to start with 404."""
    d = busybox
    run(d, "network", "create", "goner")
    run(d, "create", "--name", "orphan1", "--network", "goner", "busybox", "true")
    run(d, "run", "--name", "orphan2", "--network", "goner", "busybox", "true")
    run(d, "create", "--name", "orphan3", "busybox", "true")
    run(d, "network", "connect", "goner", "orphan3")
    run(d, "network", "rm", "goner")
    for name in ("orphan1", "orphan2", "orphan3"):
        st, _, body = d.curl(f"/containers/{name}/start", method="POST")
        assert st == 404, (name, st, body)
        assert json.loads(body)["message"] == "network goner not found"
    # a network of that name created since takes its place
    run(d, "network", "create", "goner")
    run(d, "start", "-a", "orphan3")
    assert "goner" in inspect(d, "orphan3")["NetworkSettings"]["Networks"]
    run(d, "rm", "-f", "orphan1", "orphan2", "orphan3")
    run(d, "network", "rm", "goner")


def test_restart_keeps_networking_and_sigkill(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    run(d, "run", "-d", "--name", "keep", "-p", "18181:80", "busybox", "sh", "-c",
        "mkdir -p /www && echo kept > /www/index.html && httpd -f -p 80 -h /www")
    ip = ip_of(d, "keep")
    d.kill9()
    d.start()
    assert inspect(d, "keep")["State"]["Running"]
    assert ip_of(d, "keep") == ip
    assert wait_port(d, 18181)
    assert "kept" in curl_until(d, "http://127.0.0.1:18181/", "kept")
    assert len(veths(d)) == 1
    # a new container does not get the same address
    run(d, "run", "-d", "--name", "other", "busybox", "sleep", "300")
    assert ip_of(d, "other") != ip
    # SIGKILL while containers churn, then restart: nothing stray
    p = subprocess.Popen(["sh", "-c", "for i in $(seq 20); do docker run --rm busybox true; done"], env=d.env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    d.kill9()
    p.wait(60)
    d.start()
    time.sleep(1)
    run(d, "rm", "-f", "keep", "other")
    for c in json.loads(d.curl("/containers/json?all=1")[2]):
        run(d, "rm", "-f", c["Id"], check=False)
    assert no_veths(d)
    assert "dnat" not in nft_rules(d)


DNSBURST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsburst.py")
DNSQ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsq.py")


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("Threads:")).split()[1])


def test_dns_forward_burst_bounded(tmp_path):
    """A burst of queries that need forwarding, to an upstream that never answers,
    once cost berthd a thread each. Now a fixed pool forwards them and the rest get
    SERVFAIL at once; berthd keeps answering the API and local names meanwhile."""
    from berthtest import Berthd
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.54\n")
    d = Berthd()
    sink = None
    try:
        # the upstream: a UDP socket in berthd's netns that is never read (no answer, no ICMP)
        sink = subprocess.Popen(["nsenter", f"--net=/run/netns/{d.netns}", "/usr/bin/python3", "-c",
                                 "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                                 "s.bind(('127.0.0.54', 53)); print('up', flush=True); time.sleep(3600)"],
                                stdout=subprocess.PIPE)
        assert sink.stdout.readline() == b"up\n"
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        logf = open(d.log, "ab")
        d.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(conf)]
                                  + d.argv(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        d.wait_ready()
        d.import_busybox()
        run(d, "run", "-d", "--name", "burst", "busybox", "sleep", "300")
        cpid = inspect(d, "burst")["State"]["Pid"]
        cip = ip_of(d, "burst")
        with open(d.pidfile) as f:
            bpid = int(f.read().strip())
        base = threads_of(bpid)
        b = subprocess.Popen(["nsenter", f"--net=/proc/{cpid}/ns/net", "/usr/bin/python3", DNSBURST, "500", "20"],
                             stdout=subprocess.PIPE)
        peak = base
        while b.poll() is None:
            peak = max(peak, threads_of(bpid))
            time.sleep(0.02)
        res = json.loads(b.stdout.read())
        # answered (the kernel may drop some of the burst before berthd reads it), all with
        # SERVFAIL: at once when the pool was full, after the forwarding timeout otherwise
        assert res["answers"] >= 250, res
        assert res["rcodes"] == {"2": res["answers"]}, res
        # the thread-per-query forwarder peaked at ~500 threads here
        assert peak <= base + 8, (base, peak)
        st, _, body = d.curl("/_ping")
        assert st == 200 and body == b"OK"
        r = subprocess.run(["nsenter", f"--net=/proc/{cpid}/ns/net", "/usr/bin/python3", DNSQ, "burst"],
                           capture_output=True, check=True)
        assert json.loads(r.stdout)["a"] == [cip], r.stdout
        assert d.proc.poll() is None
    finally:
        if sink:
            sink.kill()
            sink.wait()
        d.cleanup()


def exec_out(d, name, *cmd):
    r = run(d, "exec", name, *cmd, check=False)
    return r.returncode, out(r) + r.stderr.decode(errors="replace")


def test_ipv6_dual_stack_network(busybox):
    """EnableIPv6 with an IPv6 pool: the bridge gets the IPv6 gateway, containers a static (--ip6) or
    allocated IPv6 address on their interface and a default route; inspect shows them as Docker does."""
    d = busybox
    c = d.client().api
    run(d, "network", "create", "--ipv6", "--subnet", "10.81.0.0/24", "--subnet", "2001:db8:81::/64",
        "--ip-range", "2001:db8:81::/96", "--gateway", "2001:db8:81::ffff", "v6net")
    try:
        netj = json.loads(out(run(d, "network", "inspect", "v6net")))[0]
        assert netj["EnableIPv6"] is True
        assert netj["IPAM"]["Config"] == [{"Subnet": "10.81.0.0/24", "Gateway": "10.81.0.1"},
                                          {"Subnet": "2001:db8:81::/64", "IPRange": "2001:db8:81::/96",
                                           "Gateway": "2001:db8:81::ffff"}]
        run(d, "run", "-d", "--name", "six1", "--network", "v6net", "--ip6", "2001:db8:81::f00d", "busybox",
            "sleep", "300")
        run(d, "run", "-d", "--name", "six2", "--network", "v6net", "busybox", "sleep", "300")
        n1 = inspect(d, "six1")["NetworkSettings"]["Networks"]["v6net"]
        assert n1["IPAMConfig"] == {"IPv6Address": "2001:db8:81::f00d"}
        assert n1["GlobalIPv6Address"] == "2001:db8:81::f00d" and n1["GlobalIPv6PrefixLen"] == 64
        assert n1["IPv6Gateway"] == "2001:db8:81::ffff" and n1["IPAddress"].startswith("10.81.0.")
        n2 = inspect(d, "six2")["NetworkSettings"]["Networks"]["v6net"]
        assert n2["GlobalIPv6Address"] == "2001:db8:81::1"  # the lowest free of the range
        rc, o = exec_out(d, "six1", "ip", "-6", "addr", "show", "eth0")
        assert rc == 0 and "2001:db8:81::f00d/64" in o, o
        rc, o = exec_out(d, "six1", "ip", "-6", "route")
        assert "default via 2001:db8:81::ffff" in o, o
        rc, o = exec_out(d, "six2", "ping6", "-c1", "-W3", "2001:db8:81::f00d")
        assert rc == 0, o
        rc, o = exec_out(d, "six1", "ping6", "-c1", "-W3", "2001:db8:81::ffff")
        assert rc == 0, o
        # the embedded DNS answers AAAA with the endpoint's IPv6 address
        rc, o = exec_out(d, "six2", "nslookup", "-type=aaaa", "six1", "127.0.0.11")
        assert rc == 0 and "2001:db8:81::f00d" in o, o
        netj = json.loads(out(run(d, "network", "inspect", "v6net")))[0]
        assert sorted(x["IPv6Address"] for x in netj["Containers"].values()) == \
            ["2001:db8:81::1/64", "2001:db8:81::f00d/64"]
        # a taken address, and connect with an IPv6 address (docker-py)
        r = run(d, "run", "-d", "--name", "six3", "--network", "v6net", "--ip6", "2001:db8:81::f00d", "busybox",
                "sleep", "300", check=False)
        assert r.returncode != 0 and "Address already in use" in r.stderr.decode()
        run(d, "rm", "-f", "six3")
        run(d, "network", "disconnect", "v6net", "six2")
        c.connect_container_to_network("six2", "v6net", ipv6_address="2001:db8:81::beef")
        n2 = inspect(d, "six2")["NetworkSettings"]["Networks"]["v6net"]
        assert n2["IPAMConfig"]["IPv6Address"] == "2001:db8:81::beef"
        assert "2001:db8:81::beef/64" in exec_out(d, "six2", "ip", "-6", "addr", "show", "eth0")[1]
        # an IPv6 address on a network without IPv6 is refused
        run(d, "network", "create", "v4only")
        r = run(d, "network", "connect", "--ip6", "2001:db8:81::5", "v4only", "six2", check=False)
        assert r.returncode != 0 and "user configured subnets" in r.stderr.decode()
        # a stopped container's IPv6 address is free again
        run(d, "stop", "-t", "0", "six1")
        run(d, "run", "-d", "--name", "six4", "--network", "v6net", "--ip6", "2001:db8:81::f00d", "busybox",
            "sleep", "300")
        assert inspect(d, "six4")["NetworkSettings"]["Networks"]["v6net"]["GlobalIPv6Address"] == "2001:db8:81::f00d"
        # EnableIPv6 without an IPv6 pool: Docker 20.10 has no default IPv6 pool either
        r = run(d, "network", "create", "--ipv6", "nopool", check=False)
        assert r.returncode != 0 and "non-overlapping IPv6 address pool" in r.stderr.decode()
        st, body = d.curl_json("/networks/create", "POST", json.dumps(
            {"Name": "badgw", "EnableIPv6": True, "IPAM": {"Config": [{"Subnet": "2001:db8:82::/64",
                                                                       "Gateway": "2001:db8:83::1"}]}}),
            headers=("Content-Type: application/json",))
        assert st == 400 and body["message"] == \
            "failed to allocate gateway (2001:db8:83::1): Requested address is out of range"
    finally:
        run(d, "rm", "-f", "six1", "six2", "six3", "six4", check=False)
        run(d, "network", "rm", "v6net", "v4only", "nopool", "badgw", check=False)
    # the bridge and its IPv6 gateway go with the network
    assert not [l for l in links(d) if l.startswith("berth-")]


def test_ipam_gateway_aux_and_names(busybox):
    """IPAM config as docker-py sends it: range, gateway outside the range, auxiliary addresses (kept out of
    allocation); Docker's errors for a gateway or aux address outside the subnet; names with spaces."""
    import docker
    from docker.types import IPAMConfig, IPAMPool
    d = busybox
    c = d.client().api
    aux = {"a": "172.28.5.0", "b": "172.28.1.6"}
    nid = c.create_network("ipamnet", ipam=IPAMConfig(pool_configs=[IPAMPool(
        subnet="172.28.0.0/16", iprange="172.28.5.0/24", gateway="172.28.5.254", aux_addresses=aux)]))["Id"]
    try:
        ipam = c.inspect_network(nid)["IPAM"]
        assert ipam["Options"] is None and ipam["Driver"] == "default"
        assert ipam["Config"] == [{"Subnet": "172.28.0.0/16", "IPRange": "172.28.5.0/24",
                                   "Gateway": "172.28.5.254", "AuxiliaryAddresses": aux}]
        run(d, "run", "-d", "--name", "auxc", "--network", "ipamnet", "busybox", "sleep", "300")
        # Docker allocates from the range's first address; .0 is an auxiliary one here
        assert ip_of(d, "auxc", "ipamnet") == "172.28.5.1"
        r = run(d, "run", "-d", "--name", "auxc2", "--network", "ipamnet", "--ip", "172.28.1.6", "busybox",
                "sleep", "300", check=False)
        assert r.returncode != 0 and "Address already in use" in r.stderr.decode()
        with pytest.raises(docker.errors.APIError) as ei:
            c.create_network("badaux", ipam=IPAMConfig(pool_configs=[IPAMPool(
                subnet="10.82.0.0/24", aux_addresses={"x": "10.0.0.1"})]))
        assert "auxiliary address: (x:10.0.0.1) must belong to the master pool: 10.82.0.0/24" in str(ei.value)
        with pytest.raises(docker.errors.APIError) as ei:
            c.create_network("badgw", ipam=IPAMConfig(pool_configs=[IPAMPool(
                subnet="10.82.0.0/24", gateway="10.83.0.1")]))
        assert "failed to allocate gateway (10.83.0.1): Requested address is out of range" in str(ei.value)
        assert not [n for n in c.networks() if n["Name"] in ("badaux", "badgw")]
        # any name Docker accepts, spaces included
        sid = c.create_network("test 01")["Id"]
        assert c.inspect_network("test 01")["Id"] == sid
        c.remove_network("test 01")
        assert not c.networks(names=["test 01"])
    finally:
        run(d, "rm", "-f", "auxc", "auxc2", check=False)
        c.remove_network(nid)


def test_bridge_driver_options(busybox):
    """Options of Docker's bridge driver: the bridge name and MTU are applied, masquerading can be turned
    off; an option berth does not implement is refused, not stored and ignored."""
    d = busybox
    run(d, "network", "create", "-o", "com.docker.network.bridge.name=nctestbr0",
        "-o", "com.docker.network.driver.mtu=1400", "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
        "--subnet", "10.84.0.0/24", "optnet")
    try:
        assert "nctestbr0" in links(d)
        r = d.nsenter(["ip", "-o", "link", "show", "nctestbr0"], capture_output=True, text=True)
        assert "mtu 1400" in r.stdout, r.stdout
        run(d, "run", "-d", "--name", "optc", "--network", "optnet", "busybox", "sleep", "300")
        rc, o = exec_out(d, "optc", "ip", "link", "show", "eth0")
        assert "mtu 1400" in o, o
        assert "10.84.0.0/24" not in nft_rules(d)  # no masquerade for this subnet
        assert "172.17.0.0/16" in nft_rules(d)
        netj = json.loads(out(run(d, "network", "inspect", "optnet")))[0]
        assert netj["Options"]["com.docker.network.bridge.name"] == "nctestbr0"
        for opt, msg in (("com.example.unknown=1", "network option com.example.unknown is not supported by berth"),
                         ("com.docker.network.bridge.enable_icc=maybe",
                          'failed to parse com.docker.network.bridge.enable_icc value: maybe (strconv.ParseBool: '
                          'parsing "maybe": invalid syntax)'),
                         ("com.docker.network.driver.mtu=abc",
                          "failed to parse com.docker.network.driver.mtu value: abc"),
                         ("com.docker.network.bridge.enable_icc=false", "is not supported by berth")):
            r = run(d, "network", "create", "-o", opt, "refused", check=False)
            assert r.returncode != 0 and msg in r.stderr.decode(), (opt, r.stderr)
            assert "refused" not in out(run(d, "network", "ls"))
    finally:
        run(d, "rm", "-f", "optc", check=False)
        run(d, "network", "rm", "optnet", check=False)
    assert "nctestbr0" not in links(d)


def test_endpoint_links_aliases_linklocal_mac(busybox):
    """EndpointConfig of create (NetworkingConfig) and connect: Links make an alias resolvable for the
    linking container, Aliases for every one, LinkLocalIPs and MacAddress land on the interface, DriverOpts
    and the given MAC show in inspect (before the start too)."""
    d = busybox
    c = d.client().api
    run(d, "network", "create", "--subnet", "10.85.0.0/24", "lnet")
    ids = []
    try:
        ctr = c.create_container("busybox", "sleep 300", host_config=c.create_host_config(network_mode="lnet"),
                                 networking_config=c.create_networking_config({"lnet": c.create_endpoint_config(
                                     links=[("upstream", "bar")], link_local_ips=["169.254.8.8"],
                                     driver_opt={"com.example.x": "on"})}), name="linker")
        ids.append(ctr["Id"])
        c.start(ctr)
        up = c.create_container("busybox", "sleep 300", host_config=c.create_host_config(network_mode="lnet"),
                                name="upstream")
        ids.append(up["Id"])
        c.start(up)
        ns = c.inspect_container(ctr)["NetworkSettings"]["Networks"]["lnet"]
        assert ns["Links"] == ["upstream:bar"]
        assert ns["IPAMConfig"] == {"LinkLocalIPs": ["169.254.8.8"]}
        assert ns["DriverOpts"] == {"com.example.x": "on"}
        upip = c.inspect_container(up)["NetworkSettings"]["Networks"]["lnet"]["IPAddress"]
        rc, o = exec_out(d, "linker", "nslookup", "bar", "127.0.0.11")
        assert rc == 0 and upip in o, o
        rc, o = exec_out(d, "upstream", "nslookup", "bar", "127.0.0.11")
        assert upip not in o  # the link is the linking container's only
        assert "169.254.8.8/16" in exec_out(d, "linker", "ip", "addr", "show", "eth0")[1]
        # connect: links and aliases on a running container, MAC on a created one
        other = c.create_container("busybox", "sleep 300", name="other")
        ids.append(other["Id"])
        c.start(other)
        c.connect_container_to_network(other, "lnet", links=[("upstream", "baz")], aliases=["otheralias"])
        ns = c.inspect_container(other)["NetworkSettings"]["Networks"]["lnet"]
        assert ns["Links"] == ["upstream:baz"] and ns["Aliases"] == ["otheralias"]
        rc, o = exec_out(d, "other", "nslookup", "baz", "127.0.0.11")
        assert rc == 0 and upip in o, o
        oip = ns["IPAddress"]
        rc, o = exec_out(d, "upstream", "nslookup", "otheralias", "127.0.0.11")
        assert rc == 0 and oip in o, o
        mac = c.create_container("busybox", "sleep 300", name="macc")
        ids.append(mac["Id"])
        H = ("Content-Type: application/json",)
        st, _ = d.curl_json("/networks/lnet/connect", "POST", json.dumps(
            {"Container": "macc", "EndpointConfig": {"MacAddress": "02:42:ac:11:00:42"}}), headers=H)
        assert st == 200
        assert c.inspect_container(mac)["NetworkSettings"]["Networks"]["lnet"]["MacAddress"] == "02:42:ac:11:00:42"
        c.start(mac)
        ns = c.inspect_container(mac)["NetworkSettings"]["Networks"]["lnet"]
        assert ns["MacAddress"] == "02:42:ac:11:00:42"
        rc, o = exec_out(d, "macc", "ip", "addr")
        assert "02:42:ac:11:00:42" in o, o
        c.disconnect_container_from_network(other, "lnet")
        st, body = d.curl_json("/networks/lnet/connect", "POST", json.dumps(
            {"Container": "other", "EndpointConfig": {"MacAddress": "zz:42"}}), headers=H)
        assert st == 400 and body["message"] == "invalid MAC address: zz:42"
        assert "lnet" not in c.inspect_container(other)["NetworkSettings"]["Networks"]
    finally:
        for i in ids:
            c.remove_container(i, force=True)
        run(d, "network", "rm", "lnet", check=False)


def test_reconnect_keeps_embedded_dns(busybox):
    """Connecting a running container again keeps its 127.0.0.11 listener: re-opening it raced the close
    of the old socket, and a lost race left the container without DNS."""
    d = busybox
    run(d, "network", "create", "rcnet")
    try:
        run(d, "run", "-d", "--name", "rc1", "--network", "rcnet", "busybox", "sleep", "300")
        for i in range(6):
            run(d, "network", "disconnect", "rcnet", "rc1")
            run(d, "network", "connect", "--alias", f"rcalias{i}", "rcnet", "rc1")
            rc, o = exec_out(d, "rc1", "nslookup", f"rcalias{i}", "127.0.0.11")
            assert rc == 0 and ip_of(d, "rc1", "rcnet") in o, (i, o)
    finally:
        run(d, "rm", "-f", "rc1", check=False)
        run(d, "network", "rm", "rcnet", check=False)


def test_create_wrong_types_rejected(berthd):
    # wrongly typed fields used to be dropped silently and the network created
    for body, field in (({"Name": "wt1", "Internal": -1}, "Internal"), ({"Name": "wt1", "Labels": {"a": 1}}, "Labels"),
                        ({"Name": "wt1", "Options": []}, "Options"), ({"Name": "wt1", "Scope": [[]]}, "Scope"),
                        ({"Name": "wt1", "IPAM": {"Config": [{"Subnet": 10}]}}, "Subnet"),
                        ({"Name": "wt1", "IPAM": {"Config": ["x"]}}, "Config")):
        st, j = berthd.curl_json("/networks/create", "POST", body)
        assert st == 400 and j["message"].startswith("json: cannot unmarshal") and field in j["message"], (body, j)
    st, j = berthd.curl_json("/networks/wt1")
    assert st == 404, j
    st, j = berthd.curl_json("/networks/create", "POST", {"Name": "wt1", "Labels": None, "Internal": None})
    assert st == 201, j
    berthd.curl("/networks/wt1", "DELETE")


def test_network_list_filters_as_dockerd(berthd):
    from urllib.parse import quote
    d = berthd
    nid = out(run(d, "network", "create", "nlf1")).strip()
    ls = lambda flt: sorted(n["Name"] for n in d.curl_json("/networks?filters=" + quote(json.dumps(flt)))[1])
    assert ls({"name": ["^nlf"]}) == ["nlf1"]
    assert ls({"name": ["^bri"]}) == ["bridge"]
    assert ls({"id": [nid[:10]]}) == ["nlf1"]
    assert ls({"id": ["nlf1"]}) == ["nlf1"]  # an id term matches names too (API 1.52)
    assert ls({"type": ["custom"]}) == ["nlf1"]
    assert ls({"dangling": ["true"]}) == ["nlf1"]
    for flt, st_want, msg in [
            ({"type": ["x"]}, 500, "invalid filter: 'type'='x'"),
            ({"dangling": ["x"]}, 400, "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or "
                                       "\"false\" (or \"0\")"),
            ({"dangling": ["true", "false"]}, 400, 'got more than one value for filter key "dangling"'),
            ({"until": ["1h"]}, 400, "invalid filter 'until'")]:
        st, j = d.curl_json("/networks?filters=" + quote(json.dumps(flt)))
        assert (st, j["message"]) == (st_want, msg), flt
    run(d, "network", "rm", "nlf1")
