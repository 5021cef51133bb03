"""Legacy links (--link name:alias): hosts entries, environment, inspect, errors,
hosts refresh on restart, link removal, and the ambassador example of
docs/ambassador.md run exactly as written."""
import os
import re
import shlex
import time

from berthtest import REPO


def wait_for(fn, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def test_link_missing_and_stopped(busybox):
    d = busybox
    r = d.docker("create", "--name", "lkbad", "--link", "nosuch:al", "busybox", "true", check=False)
    assert r.returncode != 0
    assert b"could not get container for nosuch: No such container: nosuch" in r.stderr
    st, j = d.curl_json("/containers/create?name=lkbad2", "POST",
                        {"Image": "busybox", "HostConfig": {"Links": ["nosuch:al"]}})
    assert st == 400 and j["message"] == "could not get container for nosuch: No such container: nosuch"
    d.docker("create", "--name", "lkstopped", "busybox", "sleep", "300")
    d.docker("create", "--name", "lkcli", "--link", "lkstopped:webalias", "busybox", "true")
    st, j = d.curl_json("/containers/lkcli/start", "POST")
    assert st == 500
    assert j["message"] == "Cannot link to a non running container: /lkstopped AS /lkcli/webalias"
    # Stored (and shown) the way dockerd does
    st, j = d.curl_json("/containers/lkcli/json")
    assert j["HostConfig"]["Links"] == ["/lkstopped:/lkcli/webalias"]
    d.docker("rm", "-f", "lkcli", "lkstopped")


def test_link_env_and_hosts(busybox):
    d = busybox
    d.docker("run", "-d", "--name", "lkweb", "-e", "WEBVAR=webval", "-e", "OTHER=x=y", "--expose", "80",
             "--expose", "7000-7002", "--expose", "9000/udp", "busybox", "sleep", "300")
    st, j = d.curl_json("/containers/lkweb/json")
    ip = j["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    short = j["Id"][:12]
    assert ip
    r = d.docker("run", "--rm", "--name", "lkrun", "--link", "lkweb:web-alias", "busybox", "sh", "-c",
                 "env; echo ---; cat /etc/hosts")
    env_part, hosts = r.stdout.decode().split("---\n")
    env = dict(line.split("=", 1) for line in env_part.splitlines() if "=" in line)
    A = "WEB_ALIAS"
    assert env[f"{A}_NAME"] == "/lkrun/web-alias"
    assert env[f"{A}_PORT"] == f"tcp://{ip}:80"
    assert env[f"{A}_PORT_80_TCP"] == f"tcp://{ip}:80"
    assert env[f"{A}_PORT_80_TCP_ADDR"] == ip
    assert env[f"{A}_PORT_80_TCP_PORT"] == "80"
    assert env[f"{A}_PORT_80_TCP_PROTO"] == "tcp"
    assert env[f"{A}_PORT_9000_UDP"] == f"udp://{ip}:9000"
    assert env[f"{A}_PORT_9000_UDP_PROTO"] == "udp"
    assert env[f"{A}_PORT_7000_TCP_START"] == f"tcp://{ip}:7000"
    assert env[f"{A}_PORT_7000_TCP_END"] == f"tcp://{ip}:7002"
    assert env[f"{A}_PORT_7000_TCP_PORT_START"] == "7000"
    assert env[f"{A}_PORT_7000_TCP_PORT_END"] == "7002"
    assert env[f"{A}_PORT_7001_TCP_ADDR"] == ip
    assert env[f"{A}_ENV_WEBVAR"] == "webval"
    assert env[f"{A}_ENV_OTHER"] == "x=y"
    assert f"{A}_ENV_PATH" not in env and f"{A}_ENV_HOME" not in env
    assert f"{ip}\tweb-alias {short} lkweb" in hosts.splitlines()
    # the container's own Env wins over link variables
    r = d.docker("run", "--rm", "--link", "lkweb:w", "-e", "W_NAME=mine", "busybox", "sh", "-c", "echo $W_NAME")
    assert r.stdout == b"mine\n"
    # docker-py: links={"lkweb": "pyalias"}
    c = d.client()
    out = c.containers.run("busybox", ["sh", "-c", "echo $PYALIAS_PORT; grep pyalias /etc/hosts"],
                           links={"lkweb": "pyalias"}, remove=True)
    assert out.decode().splitlines() == [f"tcp://{ip}:80", f"{ip}\tpyalias {short} lkweb"]


def test_hosts_follow_restart_and_link_removal(busybox):
    d = busybox
    d.docker("run", "-d", "--name", "lksrv", "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "lkpar", "--link", "lksrv:srv", "busybox", "sh", "-c",
             "while :; do grep -w srv /etc/hosts || echo none; sleep 0.2; done")
    st, j = d.curl_json("/containers/lksrv/json")
    ip1 = j["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert wait_for(lambda: ip1.encode() in d.docker("logs", "lkpar").stdout)
    d.docker("stop", "-t", "0", "lksrv")
    d.docker("run", "-d", "--name", "lkfill", "busybox", "sleep", "300")  # takes the old address
    d.docker("start", "lksrv")
    st, j = d.curl_json("/containers/lksrv/json")
    ip2 = j["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert ip2 != ip1
    # the running container sees the new address through its bind-mounted /etc/hosts
    assert wait_for(lambda: f"{ip2}\tsrv ".encode() in d.docker("logs", "lkpar").stdout)
    # docker rm --link /lkpar/srv
    d.docker("rm", "--link", "/lkpar/srv")
    st, j = d.curl_json("/containers/lkpar/json")
    assert not j["HostConfig"]["Links"]
    assert wait_for(lambda: d.docker("logs", "--tail", "1", "lkpar").stdout == b"none\n")
    st, j = d.curl_json("/containers/lkpar/nosuch?link=1", "DELETE")
    assert st == 404
    d.docker("rm", "-f", "lkpar", "lksrv", "lkfill")


def test_ambassador_doc(busybox):
    d = busybox
    with open(os.path.join(REPO, "docs", "ambassador.md")) as f:
        doc = f.read()
    block = re.search(r"```sh\n(.*?)```", doc, re.S).group(1)
    cmds = [shlex.split(line) for line in block.splitlines() if line.startswith("docker ")]
    assert len(cmds) == 3
    for argv in cmds[:-1]:
        d.docker(*argv[1:])
    out = wait_for(lambda: d.docker(*cmds[-1][1:], check=False).stdout, timeout=10, interval=0.3)
    assert out == b"hello from the server\n"
    d.docker("rm", "-f", "server", "ambassador")


def test_names_ids_and_ambiguous_prefix(busybox):
    d = busybox
    ids = [d.docker("create", "--label", "nmtest=1", "busybox", "sleep", "300").stdout.decode().strip()
           for _ in range(20)]
    firsts = [i[0] for i in ids]
    dup = next(ch for ch in firsts if firsts.count(ch) > 1)
    for method, path in (("GET", "json"), ("POST", "start"), ("DELETE", "")):
        st, j = d.curl_json(f"/containers/{dup}/{path}".rstrip("/"), method)
        assert st == 400, (method, path, j)
        assert j["message"] == f"multiple IDs found with provided prefix: {dup}"
    # every form reaches the same container: full id, unique prefix, name
    cid = ids[0]
    prefix = next(cid[:n] for n in range(1, 65) if sum(i.startswith(cid[:n]) for i in ids) == 1)
    d.docker("rename", prefix, "nmfirst")
    for ref in (cid, prefix, "nmfirst"):
        st, j = d.curl_json(f"/containers/{ref}/json")
        assert st == 200 and j["Id"] == cid, ref
    d.docker("start", prefix)
    d.docker("kill", "nmfirst")
    st, j = d.curl_json("/containers/nosuchname/json")
    assert st == 404 and j["message"] == "No such container: nosuchname"
    d.docker("rm", "-f", *ids)
