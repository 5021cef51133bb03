"""Containers: create/start/stop/wait/logs/rm through the docker CLI, docker-py and curl."""
import json
import os
import signal
import subprocess
import time

import pytest


def wait_for(fn, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def test_run_rm_echo(busybox):
    r = busybox.docker("run", "--rm", "busybox", "echo", "hi")
    assert r.stdout == b"hi\n"
    out = busybox.docker("ps", "-a", "-q", "--no-trunc").stdout.decode().split()
    # --rm: the daemon removed it
    for cid in out:
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert j["HostConfig"]["AutoRemove"] is False


@pytest.mark.parametrize("args,code", [
    (["true"], 0),
    (["sh", "-c", "exit 3"], 3),
    (["nonexistentcmd"], 127),
    (["/nonexistent"], 127),
    (["/etc/passwd/x"], 125),  # dockerd says 127 in State.ExitCode, the CLI finds no text it knows
    (["/etc"], 126),
    (["/etc/passwd"], 126),
])
def test_run_exit_codes(busybox, args, code):
    r = busybox.docker("run", "--rm", "busybox", *args, check=False)
    assert r.returncode == code, r.stderr


def test_start_errors_as_docker_words_them(busybox):
    """The docker CLI picks its exit code from the lowercase Go error texts; dockerd sets
    State.ExitCode from the same texts."""
    prefix = ("failed to create shim task: OCI runtime create failed: runc create failed: "
              "unable to start container process: ")
    for cmd, code, text in [
            ("/nonexistent", 127, 'exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown'),
            ("/etc/passwd", 126, 'exec: "/etc/passwd": permission denied: unknown'),
            ("/etc/passwd/x", 127, 'exec: "/etc/passwd/x": stat /etc/passwd/x: not a directory: unknown: Are you '
             "trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists "
             "and is the expected type")]:
        cid = busybox.docker("create", "busybox", cmd).stdout.decode().strip()
        st, j = busybox.curl_json(f"/containers/{cid}/start", "POST")
        assert st == 400 and j["message"] == prefix + text, j
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert j["State"]["Status"] == "created"
        assert j["State"]["ExitCode"] == code and j["State"]["Error"] == prefix + text
        busybox.docker("rm", cid)
    busybox.docker("run", "-d", "--name", "execerr", "busybox", "sleep", "60")
    r = busybox.docker("exec", "execerr", "/nonexistent", check=False)
    assert r.returncode == 126  # the docker CLI prints this error on stdout
    assert r.stdout.decode().strip() == ("OCI runtime exec failed: exec failed: unable to start container process: "
                                         'exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown')
    r = busybox.docker("exec", "-w", "/nonexistent", "execerr", "true", check=False)
    assert b'chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory' in r.stdout
    busybox.docker("rm", "-f", "execerr")


def test_run_exit_125_bad_flag(busybox):
    r = busybox.docker("run", "--name", "bad name", "busybox", "true", check=False)
    assert r.returncode == 125
    assert b"Invalid container name (bad name)" in r.stderr


def test_create_errors(busybox):
    st, j = busybox.curl_json("/containers/create?name=bad+name", "POST", {"Image": "busybox"})
    assert st == 400
    assert j["message"] == ("Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "nosuchimage"})
    assert st == 404 and j["message"] == "No such image: nosuchimage:latest"
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "Env": "notalist"})
    assert st == 400
    st, j = busybox.curl_json("/containers/create?name=dup", "POST", {"Image": "busybox", "NewerField": {"x": 1}})
    assert st == 201
    cid = j["Id"]
    st, j = busybox.curl_json("/containers/create?name=dup", "POST", {"Image": "busybox"})
    assert st == 409
    assert j["message"] == (f'Conflict. The container name "/dup" is already in use by container "{cid}". '
                            "You have to remove (or rename) that container to be able to reuse that name.")
    st, _ = busybox.curl_json("/containers/dup", "DELETE")
    assert st == 204


def test_curl_create_start_wait_inspect(busybox):
    st, j = busybox.curl_json("/containers/create?name=cw", "POST",
                              {"Image": "busybox", "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 5"],
                               "Env": ["FOO=bar"], "Labels": {"a": "b"}})
    assert st == 201 and j["Warnings"] == []
    cid = j["Id"]
    st, ins = busybox.curl_json("/containers/cw/json")
    assert st == 200
    assert ins["Name"] == "/cw" and ins["State"]["Status"] == "created"
    assert "FOO=bar" in ins["Config"]["Env"] and ins["Config"]["Labels"] == {"a": "b"}
    assert ins["Config"]["Hostname"] == cid[:12]
    assert ins["Path"] == "sh" and ins["Args"] == ["-c", "echo out; echo err >&2; exit 5"]
    for k in ("Networks", "Ports", "IPAddress"):
        assert k in ins["NetworkSettings"]
    st, _, _ = busybox.curl(f"/containers/{cid[:10]}/start", "POST")
    assert st == 204
    st, w = busybox.curl_json(f"/containers/{cid}/wait", "POST")
    assert st == 200 and w["StatusCode"] == 5
    st, ins = busybox.curl_json(f"/containers/{cid}/json")
    assert ins["State"]["Status"] == "exited" and ins["State"]["ExitCode"] == 5
    assert ins["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
    st, _, body = busybox.curl(f"/containers/{cid}/logs?stdout=1&stderr=1")
    # stdcopy frames: stdout then stderr
    assert body[:8] == b"\x01\x00\x00\x00\x00\x00\x00\x04" and body[8:12] == b"out\n"
    assert body[12:20] == b"\x02\x00\x00\x00\x00\x00\x00\x04" and body[20:24] == b"err\n"
    st, _, body = busybox.curl(f"/containers/{cid}/logs?stdout=1&timestamps=1")
    ts = body[8:].split(b" ")[0].decode()
    assert len(ts.split(".")[1]) == 10 and ts.endswith("Z")  # 9 digits + Z
    st, _, _ = busybox.curl(f"/containers/{cid}/start", "POST")
    assert st == 204
    busybox.curl_json(f"/containers/{cid}/wait", "POST")
    st, _, _ = busybox.curl(f"/containers/{cid}/stop", "POST")
    assert st == 304
    st, j = busybox.curl_json(f"/containers/{cid}/kill", "POST")
    assert st == 409 and j["message"] == f"Cannot kill container: {cid}: Container {cid} is not running"
    st, _ = busybox.curl_json(f"/containers/{cid}", "DELETE")
    assert st == 204
    st, _ = busybox.curl_json(f"/containers/{cid}/json")
    assert st == 404


def test_detached_logs_follow_stop(busybox):
    cid = busybox.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                         "trap 'exit 7' TERM; i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done"
                         ).stdout.decode().strip()
    assert len(cid) == 64
    assert wait_for(lambda: b"line2" in busybox.docker("logs", cid).stdout)
    p = subprocess.Popen(["docker", "logs", "-f", "ticker"], stdout=subprocess.PIPE, env=busybox.env())
    time.sleep(1)
    st, j = busybox.curl_json("/containers/ticker/json")
    assert j["State"]["Running"] is True and j["State"]["Pid"] > 0
    r = busybox.docker("rm", "ticker", check=False)
    assert r.returncode == 1 and b"You cannot remove a running container" in r.stderr
    top = busybox.curl_json("/containers/ticker/top")[1]
    assert "PID" in top["Titles"] and len(top["Processes"]) >= 1
    busybox.docker("stop", "-t", "5", "ticker")
    out, _ = p.communicate(timeout=10)
    assert b"line0\n" in out and p.returncode == 0
    st, j = busybox.curl_json("/containers/ticker/json")
    assert j["State"]["Status"] == "exited" and j["State"]["ExitCode"] == 7
    busybox.docker("rm", "ticker")


def test_kill_signal_and_restart_policy(busybox):
    busybox.docker("run", "-d", "--name", "rs", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
    assert wait_for(lambda: busybox.curl_json("/containers/rs/json")[1]["RestartCount"] == 2
                    and busybox.curl_json("/containers/rs/json")[1]["State"]["Status"] == "exited", timeout=60)
    busybox.docker("run", "-d", "--name", "al", "--restart", "always", "busybox", "sleep", "100")
    busybox.docker("kill", "-s", "KILL", "al")
    st, j = busybox.curl_json("/containers/al/json")
    assert j["State"]["Status"] == "exited"  # a manual kill does not restart
    busybox.docker("start", "al")
    pid = busybox.curl_json("/containers/al/json")[1]["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # a crash does
    assert wait_for(lambda: busybox.curl_json("/containers/al/json")[1]["RestartCount"] >= 1
                    and busybox.curl_json("/containers/al/json")[1]["State"]["Running"])
    busybox.docker("rm", "-f", "al", "rs")


def test_ps_filters(busybox):
    busybox.docker("create", "--name", "f1", "--label", "k=v", "busybox", "true")
    assert busybox.docker("run", "--name", "f2", "busybox", "sh", "-c", "exit 2", check=False).returncode == 2
    names = lambda *a: sorted(busybox.docker("ps", "-a", "--format", "{{.Names}}", *a).stdout.decode().split())
    assert names("--filter", "label=k=v") == ["f1"]
    assert names("--filter", "exited=2") == ["f2"]
    assert "f1" in names("--filter", "status=created") and "f2" not in names("--filter", "status=created")
    assert names("--filter", "name=f2") == ["f2"]
    assert "f1" in names("--filter", "ancestor=busybox")
    assert names("--filter", "since=f1") == ["f2"]
    assert "f1" not in busybox.docker("ps", "--format", "{{.Names}}").stdout.decode().split()
    busybox.docker("rename", "f1", "f1b")
    assert "f1b" in names()
    busybox.docker("rm", "f1b", "f2")


def test_docker_py(busybox):
    cl = busybox.client()
    out = cl.containers.run("busybox", ["echo", "py"], remove=True)
    assert out == b"py\n"
    c = cl.containers.run("busybox", ["sh", "-c", "echo a; sleep 30"], detach=True, name="pyc")
    assert wait_for(lambda: b"a\n" in c.logs())
    assert [x.name for x in cl.containers.list(filters={"name": "pyc"})] == ["pyc"]
    c.kill()
    assert c.wait(timeout=10)["StatusCode"] == 137
    c.remove()
    assert cl.containers.list(all=True, filters={"name": "pyc"}) == []


def test_changes_and_prune(busybox):
    busybox.docker("run", "--name", "ch", "busybox", "sh", "-c", "echo x > /newfile; rm /bin/ls")
    st, ch = busybox.curl_json("/containers/ch/changes")
    kinds = {c["Path"]: c["Kind"] for c in ch}
    assert kinds["/newfile"] == 1 and kinds["/bin/ls"] == 2 and kinds["/bin"] == 0
    st, j = busybox.curl_json("/containers/prune", "POST")
    assert st == 200
    assert any(True for _ in j["ContainersDeleted"])
    assert busybox.curl_json("/containers/ch/json")[0] == 404


def _leftovers(d, cid):
    cg = [p for p in (f"/sys/fs/cgroup/pids/berth/{cid}", f"/sys/fs/cgroup/memory/berth/{cid}",
                      f"/sys/fs/cgroup/unified/berth/{cid}") if os.path.exists(p)]
    mons = subprocess.run(["pgrep", "-f", f"berth-monitor {d.exec_root}/containers/{cid}"],
                          capture_output=True).stdout.split()
    dirs = [p for p in (os.path.join(d.data_root, "containers", cid), os.path.join(d.exec_root, "containers", cid))
            if os.path.exists(p)]
    mnt = [ln for ln in open("/proc/self/mountinfo") if cid in ln]
    return cg + mons + dirs + mnt


def test_crash_restart(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    d.docker("run", "-d", "--name", "long", "busybox", "sh", "-c", "echo started; sleep 300")
    d.docker("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 2; exit 4")
    rm_id = d.docker("run", "-d", "--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 2").stdout.decode().strip()
    assert wait_for(lambda: b"started" in d.docker("logs", "long").stdout)
    long_pid = d.curl_json("/containers/long/json")[1]["State"]["Pid"]
    d.kill9()
    time.sleep(3.5)  # short and gone exit while berthd is down
    d.start()
    st, j = d.curl_json("/containers/long/json")
    assert j["State"]["Running"] and j["State"]["Pid"] == long_pid
    assert d.docker("logs", "long").stdout == b"started\n"
    st, j = d.curl_json("/containers/short/json")
    assert j["State"]["Status"] == "exited" and j["State"]["ExitCode"] == 4
    assert d.curl_json(f"/containers/{rm_id}/json")[0] == 404
    assert not _leftovers(d, rm_id)
    # the re-adopted container is still managed: stop and remove leave nothing
    cid = d.curl_json("/containers/long/json")[1]["Id"]
    d.docker("rm", "-f", "long")
    assert wait_for(lambda: not _leftovers(d, cid)), _leftovers(d, cid)


def test_damaged_record_quarantined(fresh_berthd):
    d = fresh_berthd.start()
    d.stop()
    import sqlite3
    db = sqlite3.connect(os.path.join(d.data_root, "berth.db"))
    db.execute("INSERT INTO containers VALUES (?,?,?,?,?,?)", ("ab" * 32, "broken", "sha256:x", 0, "{notjson", "{}"))
    db.commit()
    db.close()
    d.start()
    st, _ = d.curl_json("/containers/broken/json")
    assert st == 404
    assert os.listdir(os.path.join(d.data_root, "quarantine"))


def test_stdin_tty_pause(busybox):
    r = busybox.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", input=b"hello\n")
    assert r.stdout == b"hello\ndone\n"
    assert busybox.docker("run", "-t", "--rm", "busybox", "echo", "tty").stdout == b"tty\r\n"
    busybox.docker("run", "-d", "--name", "pz", "busybox", "sleep", "100")
    busybox.docker("pause", "pz")
    assert busybox.curl_json("/containers/pz/json")[1]["State"]["Paused"] is True
    busybox.docker("unpause", "pz")
    assert busybox.curl_json("/containers/pz/json")[1]["State"]["Status"] == "running"
    busybox.docker("rm", "-f", "pz")


def test_log_drivers(busybox):
    c = busybox.client()
    # none: nothing kept, and logs says so with Docker's 501
    ct = c.containers.run("busybox", ["echo", "hi"], detach=True, log_config={"Type": "none"})
    ct.wait()
    st, j = busybox.curl_json(f"/containers/{ct.id}/logs?stdout=1")
    assert (st, j) == (501, {"message": "configured logging driver does not support reading"})
    ct.remove()
    # an empty Type is the default driver, and its options are kept
    cid = c.api.create_container("busybox", "true", host_config=c.api.create_host_config(
        log_config={"Type": "", "Config": {"max-file": "100"}}))["Id"]
    lc = c.api.inspect_container(cid)["HostConfig"]["LogConfig"]
    assert lc == {"Type": "json-file", "Config": {"max-file": "100"}}
    c.api.remove_container(cid)
    # local: Docker's bounds by default
    cid = c.api.create_container("busybox", "true", host_config=c.api.create_host_config(
        log_config={"Type": "local"}))["Id"]
    assert c.api.inspect_container(cid)["HostConfig"]["LogConfig"]["Config"] == {"max-size": "20m", "max-file": "5",
                                                                                 "compress": "true"}
    c.api.remove_container(cid)
    for lc, msg in [({"Type": "asdf"}, 'error looking up logging plugin asdf: plugin "asdf" not found'),
                    ({"Type": "json-file", "Config": {"foo": "1"}}, "unknown log opt 'foo' for json-file log driver"),
                    ({"Type": "json-file", "Config": {"max-size": "x"}}, "invalid value for max-size"),
                    ({"Type": "json-file", "Config": {"tag": "x"}}, "not supported by berth"),
                    ({"Type": "json-file", "Config": {"compress": "maybe"}},
                     'strconv.ParseBool: parsing "maybe": invalid syntax'),
                    ({"Type": "json-file", "Config": {"compress": "true"}},
                     "compress cannot be true when max-file is less than 2 or max-size is not set"),
                    ({"Type": "json-file", "Config": {"compress": "1", "max-size": "1k", "max-file": "1"}},
                     "compress cannot be true when max-file is less than 2 or max-size is not set"),
                    ({"Type": "none", "Config": {"max-size": "1m"}}, "invalid logging opts for driver none")]:
        st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"LogConfig": lc}})
        assert st == 400 and msg in j["message"], (lc, j)


def test_log_rotation_is_read_across_files(busybox):
    out = busybox.docker("run", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--name", "rot", "busybox",
                         "sh", "-c", "for i in $(seq 1 60); do echo line-$i; done").stdout
    try:
        logs = busybox.docker("logs", "rot").stdout.decode().split()
        # rotation keeps the newest lines, in order, up to about three files of 1 KiB
        assert logs[-1] == "line-60" and len(logs) < 60
        assert logs == [f"line-{i}" for i in range(61 - len(logs), 61)]
    finally:
        busybox.docker("rm", "-f", "rot", check=False)


def test_log_rotation_compressed(busybox):
    """compress=true: the rotated files are gzip (name.N.gz, as dockerd's json-file writes them), and logs reads
    through them in order."""
    busybox.docker("run", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--log-opt", "compress=true",
                   "--name", "rotz", "busybox", "sh", "-c", "for i in $(seq 1 60); do echo line-$i; done")
    try:
        path = busybox.client().api.inspect_container("rotz")["LogPath"]
        assert os.path.exists(path + ".1.gz") and os.path.exists(path + ".2.gz")
        assert not os.path.exists(path + ".1") and not os.path.exists(path + ".3.gz")
        import gzip
        with gzip.open(path + ".1.gz", "rt") as f:
            first = json.loads(f.readline())
        assert first["stream"] == "stdout" and first["log"].startswith("line-")
        logs = busybox.docker("logs", "rotz").stdout.decode().split()
        assert logs[-1] == "line-60" and len(logs) < 60
        assert logs == [f"line-{i}" for i in range(61 - len(logs), 61)]
    finally:
        busybox.docker("rm", "-f", "rotz", check=False)


def test_logs_tail_and_since_across_rotated_files(busybox):
    """logs reads the history in pieces and keeps only the last N entries for --tail: the right lines,
    in order, across plain and compressed rotated files."""
    for extra in ([], ["--log-opt", "compress=true"]):
        busybox.docker("run", "--name", "tails", "--log-opt", "max-size=2k", "--log-opt", "max-file=5", *extra,
                       "busybox", "sh", "-c", "for i in $(seq 1 200); do echo line-$i; done")
        try:
            everything = busybox.docker("logs", "tails").stdout.decode().split()
            assert everything[-1] == "line-200" and len(everything) > 50
            first = int(everything[0].split("-")[1])
            assert everything == [f"line-{i}" for i in range(first, 201)]
            for n in (1, 7, 64, len(everything), len(everything) + 10):
                got = busybox.docker("logs", "--tail", str(n), "tails").stdout.decode().split()
                assert got == everything[-n:], (extra, n)
            assert busybox.docker("logs", "--tail", "0", "tails").stdout == b""
        finally:
            busybox.docker("rm", "-f", "tails", check=False)


def test_group_add(busybox):
    out = busybox.docker("run", "--rm", "--group-add", "1234", "--group-add", "nogroup", "busybox", "id", "-G")
    groups = out.stdout.decode().split()
    assert "1234" in groups and "65534" in groups
    r = busybox.docker("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true", check=False)
    assert r.returncode == 125 and b"Unable to find group nosuchgroup" in r.stderr
    assert b"Error waiting for container" not in r.stderr
    cid = busybox.docker("run", "-d", "--group-add", "4321", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        assert "4321" in busybox.docker("exec", cid, "id", "-G").stdout.decode().split()
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_wait_returns_on_exit_with_restart_policy(busybox):
    c = busybox.client()
    ct = c.containers.create("busybox", ["sleep", "1"], restart_policy={"Name": "always"}, network_mode="none")
    try:
        ct.start()
        assert ct.wait(timeout=30)["StatusCode"] == 0
        import docker
        with pytest.raises(docker.errors.APIError) as e:
            ct.remove()
        assert e.value.status_code == 409 and "Stop the container before" in e.value.explanation
    finally:
        ct.remove(force=True)


def test_container_prune_filters_and_space(busybox):
    keep = busybox.docker("run", "--label", "keep=1", "busybox", "true").stdout
    c = busybox.client()
    a = c.containers.run("busybox", ["sh", "-c", "echo hello > /data.txt"], detach=True)
    a.wait()
    k = c.containers.run("busybox", "true", detach=True, labels={"keep": "1"})
    k.wait()
    res = c.api.prune_containers(filters={"label!": "keep"})
    assert a.id in res["ContainersDeleted"] and k.id not in res["ContainersDeleted"]
    assert res["SpaceReclaimed"] > 0
    from urllib.parse import quote
    st, j = busybox.curl_json("/containers/prune?filters=" + quote('{"until":["1h"]}'), "POST")
    assert st == 200
    st, j = busybox.curl_json("/containers/prune?filters=" + quote('{"bogus":["1"]}'), "POST")
    assert st == 400 and j["message"] == "invalid filter 'bogus'"
    k.remove()


def test_networking_config_in_inspect(busybox):
    c = busybox.client()
    net = c.networks.create("aliasnet")
    try:
        api = c.api
        cid = api.create_container("busybox", "true", host_config=api.create_host_config(network_mode="aliasnet"),
                                   networking_config={"EndpointsConfig": {"aliasnet": {
                                       "Aliases": ["hello"], "DriverOpts": {"key1": "a"}}}})["Id"]
        for start in (False, True):
            if start:
                api.start(cid)
                api.wait(cid)
            ep = api.inspect_container(cid)["NetworkSettings"]["Networks"]["aliasnet"]
            assert ep["Aliases"] == ["hello"] and ep["DriverOpts"] == {"key1": "a"}, (start, ep)
        api.remove_container(cid, force=True)
    finally:
        net.remove()


def test_update_wrong_types_rejected(busybox):
    # a wrongly typed field used to be stored into the host config as is
    cid = busybox.docker("create", "busybox", "true").stdout.decode().strip()
    try:
        st, j = busybox.curl_json(f"/containers/{cid}/update", "POST", {"Memory": "lots"})
        assert st == 400 and j["message"].startswith(
            "json: cannot unmarshal string into Go struct field UpdateConfig.Memory"), (st, j)
        st, j = busybox.curl_json(f"/containers/{cid}/update", "POST", {"RestartPolicy": {"Name": 1}})
        assert st == 400 and "UpdateConfig.RestartPolicy.Name" in j["message"], (st, j)
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert j["HostConfig"]["Memory"] == 0 and j["HostConfig"]["RestartPolicy"]["Name"] in ("", "no"), j
        st, j = busybox.curl_json(f"/containers/{cid}/update", "POST", {"Memory": 0, "CpuShares": None})
        assert st == 200, (st, j)
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_json_body_content_type(busybox):
    # Docker's CheckForJSON: a JSON body declared as something else is a 400
    body = '{"Image": "busybox", "Cmd": ["true"]}'
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/json\x7f"):
        st, h, b = busybox.curl("/containers/create", "POST", data=body, headers=[f"Content-Type: {ct}"])
        assert st == 400, (ct, st, b)
        assert json.loads(b)["message"].startswith("Content-Type specified ("), b
    # parameters and case do not matter; an empty body needs no type
    st, h, b = busybox.curl("/containers/create?name=ctok", "POST", data=body,
                            headers=["Content-Type: Application/JSON; charset=utf-8"])
    assert st == 201, b
    st, h, b = busybox.curl("/containers/ctok/start", "POST", headers=["Content-Type: text/plain"])
    assert st == 204, b
    busybox.docker("rm", "-f", "ctok", check=False)


def test_invalid_utf8_in_error_message(busybox):
    # an error message quoting invalid UTF-8 could not be encoded: 500 "encoding failed"
    st, h, b = busybox.curl("/containers/ab%ffcd/json")
    assert st == 404 and h["content-type"] == "application/json", (st, b)
    assert json.loads(b)["message"] == "No such container: ab\ufffdcd", b
    st, h, b = busybox.curl("/containers/json?limit=%ff")
    assert st == 400 and "\ufffd" in json.loads(b)["message"], (st, b)


def test_query_int_leading_blank(busybox):
    # strtoll skips leading blanks; Go's strconv (and so Docker) does not
    for v in ("%201", "%0a1", "%091"):
        st, j = busybox.curl_json(f"/containers/json?limit={v}")
        assert st == 400 and "limit" in j["message"], (v, st, j)
    st, j = busybox.curl_json("/containers/json?limit=-1")
    assert st == 200, j


def test_bind_relative_destination_rejected_at_create(busybox):
    # was accepted, then every start failed with 500 "invalid spec.json: bad mount entry"
    st, j = busybox.curl_json("/containers/create", "POST",
                              {"Image": "busybox", "HostConfig": {"Binds": ["/tmp:relative"]}})
    assert st == 400 and j["message"] == ("invalid volume specification: '/tmp:relative': invalid mount config for "
                                          "type \"bind\": invalid mount path: 'relative' mount path must be absolute"), j


def test_cap_add_all(busybox):
    # CapAdd ["ALL"] wrote a string where the runtime expects a list: every start failed with a 500
    r = busybox.docker("run", "--rm", "--cap-add", "ALL", "busybox", "grep", "CapEff", "/proc/self/status")
    eff = int(r.stdout.split()[1], 16)
    r = busybox.docker("run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status")
    default = int(r.stdout.split()[1], 16)
    assert eff & default == default and eff != default, (hex(eff), hex(default))
    assert eff & (1 << 21), hex(eff)  # CAP_SYS_ADMIN


def test_invalid_host_ip_start_error(busybox):
    # the start's error message was read from freed memory and stored in the container,
    # after which inspect answered 500 "encoding failed"
    st, j = busybox.curl_json("/containers/create?name=badhip", "POST",
                              {"Image": "busybox", "Cmd": ["sleep", "100"],
                               "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "x", "HostPort": "18094"}]}}})
    assert st == 201, j
    try:
        st, j = busybox.curl_json("/containers/badhip/start", "POST")
        assert st == 400 and j["message"] == "invalid host IP address: x", (st, j)
        st, j = busybox.curl_json("/containers/badhip/json")
        assert st == 200 and j["State"]["Status"] in ("created", "exited"), (st, j)
    finally:
        busybox.docker("rm", "-f", "badhip", check=False)


def test_privileged_has_no_masked_or_readonly_paths(busybox):
    """Docker makes /proc/sys, /proc/irq etc. read-only (and masks others), except for --privileged. The
    privileged spec used to leak its fallback arrays (json_pack 'O' on a new reference), which the
    ASan run reports at berthd's exit."""
    mounts = lambda *a: busybox.docker("run", "--rm", *a, "busybox", "cat", "/proc/self/mounts").stdout.decode()
    normal = mounts()
    assert " /proc/sys proc ro," in normal and " /proc/irq proc ro," in normal
    priv = mounts("--privileged")
    assert " /proc/sys " not in priv and " /proc/irq " not in priv
    # and a list/inspect of a container without labels: an empty Labels object, not null
    busybox.docker("create", "--name", "priv-nolabels", "--privileged", "busybox", "true")
    try:
        st, j = busybox.curl_json("/v1.41/containers/json?all=1&filters=%7B%22name%22%3A%5B%22priv-nolabels%22%5D%7D")
        assert st == 200 and len(j) == 1 and j[0]["Labels"] == {}
        st, j = busybox.curl_json("/v1.41/containers/priv-nolabels/json")
        assert st == 200 and j["Path"] == "true" and j["Args"] == []
    finally:
        busybox.docker("rm", "-f", "priv-nolabels", check=False)


def test_stop_restart_signal_and_timeout_checked(busybox):
    cid = busybox.docker("run", "-d", "busybox", "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done"
                         ).stdout.decode().strip()
    try:
        # API 1.42+: ?signal= is honoured, not ignored
        st, j = busybox.curl_json(f"/containers/{cid}/stop?signal=SIGBOGUS", "POST")
        assert st == 400 and j["message"] == "Invalid signal: SIGBOGUS"
        st, j = busybox.curl_json(f"/containers/{cid}/restart?t=%201", "POST")
        assert st == 400 and "invalid value for t" in j["message"]
        st, _, _ = busybox.curl(f"/containers/{cid}/stop?signal=USR1&t=30", "POST")
        assert st == 204
        assert busybox.client().api.inspect_container(cid)["State"]["ExitCode"] == 7
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_entrypoint_empty_string_resets(busybox):
    """docker run --entrypoint "" sends Entrypoint [""]: dockerd drops the image's entrypoint and, as the
    user's Entrypoint was not empty, does not take the image's Cmd either."""
    busybox.docker("create", "--name", "epsrc", "busybox")
    busybox.docker("commit", "-c", 'ENTRYPOINT ["echo","ep"]', "-c", 'CMD ["echo","cmd"]', "epsrc", "epimg")
    busybox.docker("rm", "epsrc")
    assert busybox.docker("run", "--rm", "epimg").stdout == b"ep echo cmd\n"
    assert busybox.docker("run", "--rm", "--entrypoint", "", "epimg", "echo", "x").stdout == b"x\n"
    r = busybox.docker("run", "--rm", "--entrypoint", "", "epimg", check=False)
    assert r.returncode == 125 and b"No command specified" in r.stderr
    cases = [({"Entrypoint": [""], "Cmd": ["true"]}, "true", [], None, ["true"]),
             ({"Entrypoint": []}, "echo", ["cmd"], [], ["echo", "cmd"]),
             ({"Entrypoint": None}, "echo", ["ep", "echo", "cmd"], ["echo", "ep"], ["echo", "cmd"]),
             ({"Entrypoint": "", "Cmd": "true"}, "true", [], None, ["true"])]
    for body, path, args, ep, cmd in cases:
        st, j = busybox.curl_json("/containers/create", "POST", dict(body, Image="epimg"))
        assert st == 201, j
        st, j = busybox.curl_json(f"/containers/{j['Id']}/json")
        assert (j["Path"], j["Args"], j["Config"]["Entrypoint"], j["Config"]["Cmd"]) == (path, args, ep, cmd), body
        busybox.curl_json(f"/containers/{j['Id']}", "DELETE")
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "epimg", "Entrypoint": [""]})
    assert st == 400 and j["message"] == "No command specified"
    busybox.docker("rmi", "epimg")


def test_bind_creates_missing_host_dir(busybox):
    """-v creates a missing host directory (0755, with its parents) at start, as dockerd does."""
    src = os.path.join(busybox.base, "bind-missing", "a", "b")
    r = busybox.docker("run", "--rm", "-v", f"{src}:/c", "busybox", "sh", "-c", "echo hi > /c/f; stat -c %a /c")
    assert r.stdout == b"755\n"
    assert os.path.isdir(src) and open(os.path.join(src, "f")).read() == "hi\n"
    blocker = os.path.join(busybox.base, "bind-file")
    open(blocker, "w").close()
    r = busybox.docker("run", "--rm", "-v", f"{blocker}/sub:/c", "busybox", "true", check=False)
    assert r.returncode == 125 and b"not a directory" in r.stderr


def test_host_network_uses_host_name(busybox):
    import socket
    host = socket.gethostname()
    r = busybox.docker("run", "--rm", "--network", "host", "busybox", "sh", "-c",
                       'hostname; cat /etc/hostname; echo "$HOSTNAME"')
    assert r.stdout.decode() == f"{host}\n" * 3
    hosts = busybox.docker("run", "--rm", "--network", "host", "busybox", "cat", "/etc/hosts").stdout.decode()
    assert hosts == open("/etc/hosts").read()  # the host's own, as libnetwork copies it
    cid = busybox.docker("create", "--network", "host", "busybox").stdout.decode().strip()
    st, j = busybox.curl_json(f"/containers/{cid}/json")
    assert j["Config"]["Hostname"] == host
    busybox.docker("rm", cid)
    assert busybox.docker("run", "--rm", "--network", "host", "-h", "given", "busybox", "hostname").stdout == b"given\n"
    assert busybox.docker("run", "--rm", "busybox", "hostname").stdout.decode().strip() != host


def test_ps_filters_every_key_honoured(busybox, tmp_path):
    """network, publish, expose, volume, health, is-task, isolation and regex names filter as in dockerd;
    bad values get its errors."""
    d = busybox
    d.docker("network", "create", "pfnet")
    d.docker("run", "-d", "--name", "pfa", "--network", "pfnet", "-p", "18080:80", "--expose", "9000/udp",
             "-v", f"{tmp_path}/vol:/data", "busybox", "sleep", "60")
    d.docker("create", "--name", "pfb", "busybox")
    assert d.docker("run", "--name", "pfc", "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    names = lambda f: sorted(n for n in d.docker("ps", "-a", "--format", "{{.Names}}", "--filter", f)
                             .stdout.decode().split() if n.startswith("pf"))
    everyone = ["pfa", "pfb", "pfc"]
    for f, want in [("network=pfnet", ["pfa"]), ("network=bridge", ["pfb", "pfc"]), ("publish=18080", ["pfa"]),
                    ("publish=18080/udp", []), ("publish=18000-18100", ["pfa"]), ("expose=80", ["pfa"]),
                    ("expose=9000", []), ("expose=9000/udp", ["pfa"]), ("volume=/data", ["pfa"]),
                    (f"volume={tmp_path}/vol", ["pfa"]), ("volume=/nope", []), ("exited=3", ["pfc"]),
                    ("exited=0", []), ("health=none", everyone), ("health=healthy", []),
                    ("is-task=false", everyone), ("is-task=true", []), ("isolation=default", everyone),
                    ("name=^pfa$", ["pfa"]), ("name=pf[ab]", ["pfa", "pfb"]), ("status=created", ["pfb"])]:
        assert names(f) == want, f
    st, lst = d.curl_json("/containers/json?all=1")
    assert all(c["Health"] == {"Status": "none", "FailingStreak": 0} for c in lst)
    st, lst = d.curl_json("/v1.51/containers/json?all=1")
    assert all("Health" not in c for c in lst)
    nid = d.docker("network", "inspect", "-f", "{{.Id}}", "pfnet").stdout.decode().strip()
    assert names("network=" + nid[:12]) == ["pfa"]
    # exited does not list stopped containers without all=1, as in dockerd
    assert "pfc" not in d.docker("ps", "--filter", "exited=3", "--format", "{{.Names}}").stdout.decode().split()
    from urllib.parse import quote
    for f, st_want, msg in [
            ({"publish": ["80:80"]}, 500, "filter for 'publish' should not contain ':': 80:80"),
            ({"expose": ["abc"]}, 500, "error while looking up for expose abc: invalid start port 'abc': "
                                       "invalid syntax"),
            ({"publish": ["90-80"]}, 500, "error while looking up for publish 90-80: invalid port range: 90-80"),
            ({"health": ["bogus"]}, 400, "invalid filter 'health=bogus': invalid value for health (bogus): must be "
                                         "one of none, starting, healthy, unhealthy"),
            ({"exited": ["abc"]}, 400, "invalid filter 'exited=abc': strconv.Atoi: parsing \"abc\": invalid syntax"),
            ({"is-task": ["maybe"]}, 400, "invalid filter 'is-task=[maybe]'"),
            ({"before": ["nosuch"]}, 404, "No such container: nosuch"),
            ({"status": ["bogus"]}, 400, "invalid filter 'status=bogus': invalid value for state (bogus): must be "
                                         "one of created, running, paused, restarting, removing, exited, dead"),
            ({"label!": ["a"]}, 400, "invalid filter 'label!'")]:
        st, j = d.curl_json("/containers/json?all=1&filters=" + quote(json.dumps(f)))
        assert (st, j["message"]) == (st_want, msg), f
    d.docker("rm", "-f", "pfa", "pfb", "pfc")
    d.docker("network", "rm", "pfnet")


def test_prune_label_not_spares_only_what_matches_every_value(busybox):
    """label!=a label!=b keeps what carries both labels, as moby's matchLabels does."""
    d = busybox
    d.docker("create", "--name", "lboth", "-l", "lp=1", "-l", "a=1", "-l", "b=1", "busybox")
    d.docker("create", "--name", "lone", "-l", "lp=1", "-l", "a=1", "busybox")
    d.docker("container", "prune", "-f", "--filter", "label=lp", "--filter", "label!=a", "--filter", "label!=b")
    left = d.docker("ps", "-a", "--filter", "label=lp", "--format", "{{.Names}}").stdout.decode().split()
    assert left == ["lboth"]
    d.docker("rm", "lboth")
    for n, labels in [("nboth", ["a=1", "b=1"]), ("nonly", ["a=1"])]:
        d.docker("network", "create", "--label", "lp=1", *sum((["--label", x] for x in labels), []), n)
    d.docker("network", "prune", "-f", "--filter", "label=lp", "--filter", "label!=a", "--filter", "label!=b")
    left = d.docker("network", "ls", "--filter", "label=lp", "--format", "{{.Name}}").stdout.decode().split()
    assert left == ["nboth"]
    d.docker("network", "rm", "nboth")


def test_named_volume_made_at_create(busybox):
    # the volume a container names is created with the container (tests/integration/test_volumes.py has the rest)
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"Binds": ["data:/d"]}})
    assert st == 201
    st, v = busybox.curl_json("/volumes/data")
    assert st == 200 and v["Name"] == "data"
    busybox.docker("rm", j["Id"])
    busybox.docker("volume", "rm", "data")


def test_bool_filters_checked(busybox):
    from urllib.parse import quote
    for path, key in [("/containers/json", "is-task"), ("/images/json", "dangling"), ("/volumes", "dangling")]:
        st, j = busybox.curl_json(path + "?filters=" + quote('{"%s":["maybe"]}' % key))
        assert st == 400 and j["message"] == f"invalid filter '{key}=[maybe]'", (path, j)
        st, _ = busybox.curl_json(path + "?filters=" + quote('{"%s":["true"]}' % key))
        assert st == 200


def test_stop_signal_checked_at_create(busybox):
    """dockerd refuses an unknown StopSignal when the container is created, not when it is stopped."""
    r = busybox.docker("create", "--stop-signal", "FOO", "busybox", check=False)
    assert r.returncode != 0 and "Invalid signal: FOO" in r.stderr.decode()
    cid = busybox.docker("create", "--stop-signal", "SIGRTMIN+3", "busybox").stdout.decode().strip()
    busybox.docker("rm", cid)
