"""GET /events: the journal replay (--since/--until), live streaming, filters and
the event shapes, through the docker CLI, docker-py and curl."""
import json
import os
import subprocess
import threading
import time
import urllib.parse

import pytest


def q(obj):
    return urllib.parse.quote(json.dumps(obj))


def lines(b):
    return [json.loads(x) for x in b.decode().splitlines() if x.strip()]


def replay(d, since, path_extra="", version="v1.41"):
    st, h, body = d.curl(f"/{version}/events?since={since}&until={time.time():.9f}{path_extra}", timeout=20)
    assert st == 200, body
    return h, lines(body)


def test_run_lifecycle_replay_cli(busybox):
    d = busybox
    t0 = time.time() - 1
    d.docker("run", "--name", "evweb", "--label", "com.example=1", "busybox", "sh", "-c", "exit 3", check=False)
    d.docker("rm", "evweb")
    time.sleep(1.1)  # the CLI sends --until 0s as whole seconds
    r = d.docker("events", "--since", f"{t0:.0f}", "--until", "0s", "--format", "{{json .}}",
                 "--filter", "container=evweb", timeout=20)
    evs = lines(r.stdout)
    actions = [e["Action"] for e in evs]
    # docker run: create, attach, start, die, destroy (in this order)
    for a in ("create", "attach", "start", "die", "destroy"):
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = evs[actions.index("die")]
    assert die["Type"] == "container"
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["name"] == "evweb"
    assert die["Actor"]["Attributes"]["image"] == "busybox"
    assert die["Actor"]["Attributes"]["com.example"] == "1"
    assert die["scope"] == "local"
    assert die["timeNano"] // 10**9 == die["time"]


def test_legacy_fields_by_version(busybox):
    d = busybox
    t0 = time.time() - 1
    cid = d.docker("create", "--name", "evlegacy", "busybox", "true").stdout.decode().strip()
    d.docker("rm", "evlegacy")
    _, old = replay(d, f"{t0:.3f}", "&filters=" + q({"container": ["evlegacy"]}), "v1.41")
    create = [e for e in old if e["Action"] == "create"][0]
    assert list(create)[:3] == ["status", "id", "from"]
    assert create["status"] == "create" and create["id"] == cid and create["from"] == "busybox"
    _, new = replay(d, f"{t0:.3f}", "&filters=" + q({"container": ["evlegacy"]}), "v1.52")
    create = [e for e in new if e["Action"] == "create"][0]
    assert "status" not in create and "id" not in create and "from" not in create
    assert create["Actor"]["ID"] == cid


def test_image_events(busybox):
    d = busybox
    t0 = time.time() - 1
    d.docker("tag", "busybox", "evtag:1")
    d.docker("rmi", "evtag:1")
    _, evs = replay(d, f"{t0:.3f}", "&filters=" + q({"type": {"image": True}}))
    tag = [e for e in evs if e["Action"] == "tag"]
    untag = [e for e in evs if e["Action"] == "untag"]
    assert tag and untag, evs
    assert tag[-1]["Actor"]["Attributes"]["name"] == "evtag:1"
    assert tag[-1]["Actor"]["ID"].startswith("sha256:")
    assert tag[-1]["status"] == "tag" and "from" not in tag[-1]
    assert all(e["Type"] == "image" for e in evs)


def test_live_stream_docker_py(busybox):
    d = busybox
    c = d.client()
    got = []
    stream = c.events(decode=True, filters={"container": "evlive", "event": ["start", "die"]})

    def reader():
        for ev in stream:
            got.append(ev)
            if ev["Action"] == "die":
                break

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.3)
    d.docker("run", "--rm", "--name", "evlive", "busybox", "true")
    t.join(15)
    stream.close()
    assert [e["Action"] for e in got] == ["start", "die"], got
    assert got[1]["Actor"]["Attributes"]["exitCode"] == "0"


def test_stop_kill_pause_restart_rename(busybox):
    d = busybox
    t0 = time.time() - 1
    d.docker("run", "-d", "--name", "evops", "busybox", "sleep", "300")
    d.docker("pause", "evops")
    d.docker("unpause", "evops")
    d.docker("kill", "-s", "USR1", "evops")  # sleep dies of SIGUSR1
    time.sleep(0.5)
    d.docker("start", "evops")
    d.docker("restart", "-t", "1", "evops")
    d.docker("rename", "evops", "evops2")
    d.docker("stop", "-t", "1", "evops2")
    d.docker("rm", "evops2")
    _, evs = replay(d, f"{t0:.3f}", "&filters=" + q({"type": ["container"]}))
    evs = [e for e in evs if e["Actor"]["Attributes"]["name"] in ("evops", "evops2")]
    acts = [e["Action"] for e in evs]
    for a in ("pause", "unpause", "kill", "restart", "rename", "stop", "destroy"):
        assert a in acts, acts
    kill = [e for e in evs if e["Action"] == "kill"][0]
    assert kill["Actor"]["Attributes"]["signal"] == "10"
    ren = [e for e in evs if e["Action"] == "rename"][0]
    assert ren["Actor"]["Attributes"]["oldName"] == "/evops"
    assert ren["Actor"]["Attributes"]["name"] == "evops2"
    # stop: kill (SIGTERM; sleep as PID 1 ignores it, so SIGKILL after 1 s), die, stop
    tail = evs[acts.index("rename") + 1:]
    assert [e["Action"] for e in tail] == ["kill", "kill", "die", "stop", "destroy"], tail
    assert [e["Actor"]["Attributes"]["signal"] for e in tail[:2]] == ["15", "9"]


def test_filters_label_image_event(busybox):
    d = busybox
    t0 = time.time() - 1
    d.docker("create", "--name", "evlab1", "--label", "tier=web", "busybox", "true")
    d.docker("create", "--name", "evlab2", "--label", "tier=db", "busybox", "true")
    f = "&filters=" + q({"label": ["tier=web"]})
    _, evs = replay(d, f"{t0:.3f}", f)
    assert {e["Actor"]["Attributes"]["name"] for e in evs} == {"evlab1"}
    f = "&filters=" + q({"image": ["busybox"], "event": ["create"]})
    _, evs = replay(d, f"{t0:.3f}", f)
    assert {e["Actor"]["Attributes"]["name"] for e in evs} >= {"evlab1", "evlab2"}
    assert all(e["Action"] == "create" for e in evs)
    f = "&filters=" + q({"image": ["alpine"]})
    _, evs = replay(d, f"{t0:.3f}", f)
    assert evs == []
    d.docker("rm", "evlab1", "evlab2")


def test_until_closes_stream(busybox):
    d = busybox
    start = time.time()
    st, _, body = d.curl(f"/events?until={time.time() + 1.5:.3f}", timeout=10)
    took = time.time() - start
    assert st == 200
    assert 1.0 <= took < 5, took


def test_until_in_past_and_bad_times(busybox):
    d = busybox
    start = time.time()
    r = d.docker("events", "--since", "30s", "--until", "0s", timeout=10)
    assert r.returncode == 0
    assert time.time() - start < 5
    st, _, body = d.curl("/events?since=abc")
    assert st == 400, body
    st, _, body = d.curl("/events?since=20&until=10")
    assert st == 400
    assert b"cannot be after" in body


def test_client_disconnect_frees_stream(busybox):
    d = busybox
    # A client that goes away must not leave its producer thread behind:
    # open and drop many streams, then count berthd's threads.
    task_dir = f"/proc/{d.proc.pid}/task"
    base = len(os.listdir(task_dir))
    procs = [subprocess.Popen(["curl", "-s", "-N", "--unix-socket", d.sock, "http://x/events"],
                              stdout=subprocess.DEVNULL) for _ in range(20)]
    deadline = time.time() + 10
    while time.time() < deadline and len(os.listdir(task_dir)) < base + 20:
        time.sleep(0.1)
    assert len(os.listdir(task_dir)) >= base + 20  # a producer (and a connection) per stream
    for p in procs:
        p.kill()
        p.wait()
    deadline = time.time() + 5
    while time.time() < deadline and len(os.listdir(task_dir)) > base + 2:
        time.sleep(0.1)
    assert len(os.listdir(task_dir)) <= base + 2
    st, _, _ = d.curl("/_ping")
    assert st == 200


@pytest.mark.parametrize("accept,ctype,prefix", [
    ("application/json-seq", "application/json-seq", b"\x1e"),
    ("application/x-ndjson", "application/x-ndjson", b"{"),
])
def test_content_negotiation_1_52(busybox, accept, ctype, prefix):
    d = busybox
    t0 = time.time() - 1
    d.docker("create", "--name", "evneg", "busybox", "true")
    d.docker("rm", "evneg")
    st, h, body = d.curl(f"/v1.52/events?since={t0:.3f}&until={time.time():.3f}", headers=[f"Accept: {accept}"])
    assert st == 200
    assert h["content-type"] == ctype
    assert body.startswith(prefix)


def test_network_events(busybox):
    """create, connect (on start and on `network connect`), disconnect (on
    `network disconnect` and on exit), destroy; only Type/Action/Actor/scope/
    time/timeNano, Attributes name, type and container, as dockerd sends them."""
    d = busybox
    t0 = time.time() - 1
    nid = d.docker("network", "create", "evnet").stdout.decode().strip()
    cid = d.docker("run", "-d", "--name", "evnetc", "--network", "evnet", "busybox", "sleep", "60").stdout.decode().strip()
    d.docker("network", "connect", "bridge", "evnetc")
    d.docker("network", "disconnect", "bridge", "evnetc")
    d.docker("rm", "-f", "evnetc")
    d.docker("network", "rm", "evnet")
    bridge_id = d.curl_json("/networks/bridge")[1]["Id"]
    _, evs = replay(d, f"{t0:.3f}", "&filters=" + q({"type": ["network"]}), "v1.41")
    mine = [e for e in evs if e["Actor"]["ID"] in (nid, bridge_id) and
            e["Actor"]["Attributes"].get("container", cid) == cid]
    got = [(e["Action"], e["Actor"]["ID"]) for e in mine]
    assert got == [("create", nid), ("connect", nid), ("connect", bridge_id), ("disconnect", bridge_id),
                   ("disconnect", nid), ("destroy", nid)], got
    for e in mine:
        assert set(e) == {"Type", "Action", "Actor", "scope", "time", "timeNano"}, e
        assert e["Type"] == "network" and e["scope"] == "local"
        attrs = e["Actor"]["Attributes"]
        assert attrs["type"] == "bridge"
        assert attrs["name"] == ("evnet" if e["Actor"]["ID"] == nid else "bridge")
        if e["Action"] in ("connect", "disconnect"):
            assert attrs["container"] == cid
        else:
            assert "container" not in attrs
    # the network filter selects by name or id, the event filter by action
    _, f = replay(d, f"{t0:.3f}", "&filters=" + q({"network": ["evnet"], "event": ["connect"]}), "v1.52")
    assert [(e["Action"], e["Actor"]["ID"]) for e in f] == [("connect", nid)], f
    # docker events --filter type=network through the CLI
    time.sleep(1.1)
    r = d.docker("events", "--since", f"{t0:.0f}", "--until", "0s", "--format", "{{.Action}} {{.Actor.Attributes.name}}",
                 "--filter", "type=network", "--filter", "network=evnet", timeout=20)
    assert r.stdout.decode().split("\n")[0] == "create evnet", r.stdout
    assert "destroy evnet" in r.stdout.decode()
