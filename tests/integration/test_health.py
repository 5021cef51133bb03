"""Healthchecks: Config.Healthcheck (API, image, CLI flags), the probes berthd runs as execs in
the container, State.Health, health_status events, ps status and filter, a daemon restart and
compose's condition: service_healthy. Intervals are short; every wait polls with a generous
bound and nothing asserts a duration."""
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time
import urllib.parse

import pytest

MS = 1000000
SHORT = 200 * MS


def wait_for(fn, timeout=30, step=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def ts(s):
    """RFC 3339 with Go's trimmed nanoseconds as integer ns (string order is wrong for trimmed fractions)."""
    import calendar
    base, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000000000 + int((frac + "000000000")[:9])


def inspect(d, ref):
    st, j = d.curl_json(f"/containers/{ref}/json")
    assert st == 200, j
    return j


def health(d, ref):
    return inspect(d, ref)["State"].get("Health")


def wait_status(d, ref, status, timeout=30):
    return wait_for(lambda: (h := health(d, ref)) and h["Status"] == status and h,
                    timeout=timeout, what=f"health {status} of {ref}")


def create(d, name, hc, cmd=("sleep", "1000"), image="busybox", version="", **extra):
    body = {"Image": image, "Cmd": list(cmd)}
    if hc is not None:
        body["Healthcheck"] = hc
    body.update(extra)
    st, j = d.curl_json(f"{version}/containers/create?name={name}", "POST", body)
    return st, j


def run(d, name, hc, **kw):
    st, j = create(d, name, hc, **kw)
    assert st == 201, j
    st, _, body = d.curl(f"/containers/{name}/start", "POST")
    assert st == 204, body
    return j["Id"]


def ps_status(d, name):
    out = d.docker("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Status}}").stdout.decode()
    return out.strip()


def listed(d, flt):
    st, j = d.curl_json("/containers/json?all=1&filters=" + urllib.parse.quote(json.dumps({"health": [flt]})))
    assert st == 200, j
    return {c["Names"][0].lstrip("/") for c in j}


def test_healthy_log_shape_ps_and_filter(busybox):
    d = busybox
    run(d, "h-ok", {"Test": ["CMD-SHELL", "echo hello"], "Interval": SHORT})
    h = health(d, "h-ok")
    assert h is not None and h["Status"] in ("starting", "healthy")
    h = wait_status(d, "h-ok", "healthy")
    assert h["FailingStreak"] == 0
    entry = h["Log"][0]
    assert set(entry) == {"Start", "End", "ExitCode", "Output"}
    assert entry["ExitCode"] == 0 and entry["Output"] == "hello\n"
    assert entry["Start"].endswith("Z") and ts(entry["End"]) >= ts(entry["Start"])
    assert wait_for(lambda: ps_status(d, "h-ok").endswith("(healthy)"), what="ps (healthy)")
    assert ps_status(d, "h-ok").startswith("Up ")
    assert "h-ok" in listed(d, "healthy")
    assert "h-ok" not in listed(d, "unhealthy") and "h-ok" not in listed(d, "none")
    # the summary of 1.52 carries the health too
    st, j = d.curl_json("/v1.52/containers/json?filters=" + urllib.parse.quote(json.dumps({"name": ["h-ok"]})))
    assert j[0]["Health"] == {"Status": "healthy", "FailingStreak": 0}
    # probes are not listed as the container's execs, and leave none behind
    assert inspect(d, "h-ok")["ExecIDs"] is None
    d.docker("rm", "-f", "h-ok")


def test_health_filter_rejects_bad_values(busybox):
    st, j = busybox.curl_json("/containers/json?filters=" + urllib.parse.quote(json.dumps({"health": ["bogus"]})))
    assert st == 400
    assert "bogus" in j["message"]


def test_unhealthy_after_retries_and_log_keeps_five(busybox):
    d = busybox
    run(d, "h-bad", {"Test": ["CMD-SHELL", "echo nope; exit 1"], "Interval": 100 * MS, "Retries": 3})
    h = wait_status(d, "h-bad", "unhealthy")
    assert h["FailingStreak"] >= 3
    assert all(e["ExitCode"] == 1 and e["Output"] == "nope\n" for e in h["Log"])
    # the log is a ring of the last 5
    h = wait_for(lambda: (x := health(d, "h-bad")) and x["FailingStreak"] >= 7 and x, what="7 failures")
    assert len(h["Log"]) == 5
    starts = [ts(e["Start"]) for e in h["Log"]]
    assert starts == sorted(starts)
    assert ps_status(d, "h-bad").endswith("(unhealthy)")
    assert "h-bad" in listed(d, "unhealthy")
    d.docker("rm", "-f", "h-bad")


def test_exit_code_other_than_one_is_a_failure(busybox):
    d = busybox
    run(d, "h-two", {"Test": ["CMD", "sh", "-c", "exit 2"], "Interval": 100 * MS, "Retries": 1})
    h = wait_status(d, "h-two", "unhealthy")
    assert h["Log"][-1]["ExitCode"] == 2
    d.docker("rm", "-f", "h-two")


def test_timeout_kills_the_probe(busybox):
    d = busybox
    run(d, "h-slow", {"Test": ["CMD-SHELL", "echo started; sleep 30"], "Interval": 100 * MS,
                      "Timeout": 300 * MS, "Retries": 1})
    h = wait_status(d, "h-slow", "unhealthy")
    e = h["Log"][0]
    assert e["ExitCode"] == -1
    assert e["Output"].startswith("Health check exceeded timeout (300ms)")
    d.docker("rm", "-f", "h-slow")


def test_probe_error_and_missing_command(busybox):
    d = busybox
    since = str(time.time() - 1)
    cid = run(d, "h-nocmd", {"Test": ["CMD", "nosuchcmd"], "Interval": 100 * MS, "Retries": 1})
    h = wait_status(d, "h-nocmd", "unhealthy")
    assert h["Log"][0]["ExitCode"] == -1
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in h["Log"][0]["Output"]
    # as in dockerd: exec_create and exec_start, and no exec_die for a process that never ran
    out = d.docker("events", "--since", since, "--until", str(time.time()), "--filter", f"container={cid}",
                   "--format", "{{.Action}}").stdout.decode().splitlines()
    assert out[out.index("exec_create: nosuchcmd") + 1] == "exec_start: nosuchcmd"
    assert "exec_die" not in out and "health_status: unhealthy" in out
    d.docker("rm", "-f", "h-nocmd")


def test_start_period_and_start_interval(busybox):
    d = busybox
    # failures during the start period do not count; the start interval paces the probes meanwhile
    # (the interval itself is an hour, so any probe seen here ran at the start interval)
    run(d, "h-sp", {"Test": ["CMD-SHELL", "exit 1"], "Interval": 3600 * 1000 * MS, "Retries": 1,
                    "StartPeriod": 600 * 1000 * MS, "StartInterval": 100 * MS})
    h = wait_for(lambda: (x := health(d, "h-sp")) and len(x["Log"]) >= 3 and x, what="3 probes")
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert ps_status(d, "h-sp").endswith("(health: starting)")
    assert "h-sp" in listed(d, "starting")
    d.docker("rm", "-f", "h-sp")


def test_start_period_ends_at_first_success(busybox):
    d = busybox
    # docker-py's start_period test: healthy from the third probe on, failures before that ignored
    run(d, "h-sp2", {"Test": ["CMD-SHELL", "echo x >> /c; test $(wc -l < /c) -ge 3"], "Interval": 100 * MS,
                     "Retries": 1, "StartPeriod": 600 * 1000 * MS})
    h = wait_status(d, "h-sp2", "healthy")
    assert [e["ExitCode"] for e in h["Log"][:3]] == [1, 1, 0]
    d.docker("rm", "-f", "h-sp2")


def test_none_and_empty_healthchecks(busybox):
    d = busybox
    run(d, "h-none", {"Test": ["NONE"]})
    j = inspect(d, "h-none")
    assert j["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert "Health" not in j["State"]
    assert ps_status(d, "h-none").startswith("Up ") and "(" not in ps_status(d, "h-none")
    assert "h-none" in listed(d, "none")
    # {} and Test [] inherit, and there is nothing to inherit from busybox
    run(d, "h-empty", {"Test": []})
    j = inspect(d, "h-empty")
    assert j["Config"]["Healthcheck"] == {} and "Health" not in j["State"]
    d.docker("rm", "-f", "h-none", "h-empty")


def test_validation_errors(busybox):
    d = busybox
    cases = [
        ({"Interval": 500}, "Interval in Healthcheck cannot be less than 1ms"),
        ({"Timeout": -1}, "Timeout in Healthcheck cannot be less than 1ms"),
        ({"Retries": -1}, "Retries in Healthcheck cannot be negative"),
        ({"StartPeriod": 10}, "StartPeriod in Healthcheck cannot be less than 1ms"),
        ({"StartInterval": 10}, "StartInterval in Healthcheck cannot be less than 1ms"),
        ({"Interval": "1s"}, "json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval "
                             "of type time.Duration"),
        ({"Test": "echo"}, "json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Test of "
                           "type []string"),
        ({"Retries": 1.5}, "json: cannot unmarshal number 1.5 into Go struct field HealthConfig.Healthcheck."
                           "Retries of type int"),
    ]
    for hc, msg in cases:
        st, j = create(d, "h-invalid", hc)
        assert (st, j["message"]) == (400, msg), hc
    # StartInterval came with API 1.44: older clients' is dropped, as dockerd does
    st, j = create(d, "h-old", {"StartInterval": 10, "Interval": SHORT}, version="/v1.41")
    assert st == 201, j
    assert inspect(d, "h-old")["Config"]["Healthcheck"] == {"Interval": SHORT}
    st, j = create(d, "h-new", {"StartInterval": 5 * MS}, version="/v1.44")
    assert st == 201, j
    assert inspect(d, "h-new")["Config"]["Healthcheck"] == {"StartInterval": 5 * MS}
    d.docker("rm", "-f", "h-old", "h-new")


def test_probe_runs_as_the_container(busybox):
    d = busybox
    # the container's env, user, working dir, namespaces and cgroup
    check = ('test "$FOO" = bar && test "$(pwd)" = /tmp && test "$(id -u)" = 1000 && '
             'test "$(hostname)" = hc-host && test "$(cat /proc/self/cgroup)" = "$(cat /proc/1/cgroup)"')
    run(d, "h-ctx", {"Test": ["CMD-SHELL", check], "Interval": 100 * MS, "Retries": 1},
        Env=["FOO=bar"], WorkingDir="/tmp", User="1000", Hostname="hc-host")
    h = wait_for(lambda: (x := health(d, "h-ctx")) and x["Log"] and x, what="a probe")
    assert h["Status"] == "healthy", h
    # Config.Shell runs CMD-SHELL
    run(d, "h-shell", {"Test": ["CMD-SHELL", "exit 0"], "Interval": 100 * MS, "Retries": 1},
        Shell=["/bin/sh", "-c", "echo via-shell; exit 0", "ignored"])
    h = wait_status(d, "h-shell", "healthy")
    assert h["Log"][0]["Output"] == "via-shell\n"
    d.docker("rm", "-f", "h-ctx", "h-shell")


def test_output_is_cut_at_4096_bytes(busybox):
    d = busybox
    run(d, "h-big", {"Test": ["CMD-SHELL", "head -c 10000 /dev/zero | tr '\\0' a"], "Interval": 100 * MS})
    h = wait_status(d, "h-big", "healthy")
    out = h["Log"][0]["Output"]
    assert out == "a" * 4096 + "..."
    d.docker("rm", "-f", "h-big")


def test_stop_pause_and_start_reset_the_status(busybox):
    d = busybox
    run(d, "h-cycle", {"Test": ["CMD-SHELL", "true"], "Interval": 300 * MS})
    wait_status(d, "h-cycle", "healthy")
    d.docker("pause", "h-cycle")
    assert health(d, "h-cycle")["Status"] == "unhealthy"
    assert ps_status(d, "h-cycle").endswith("(Paused)")
    d.docker("unpause", "h-cycle")
    wait_status(d, "h-cycle", "healthy")
    d.docker("stop", "-t", "0", "h-cycle")
    h = health(d, "h-cycle")
    assert h["Status"] == "unhealthy" and h["Log"]
    kept = h["Log"][-1]
    # no probe runs for a stopped container
    time.sleep(0.5)
    assert health(d, "h-cycle")["Log"][-1] == kept
    d.docker("start", "h-cycle")
    h = health(d, "h-cycle")
    assert h["Status"] in ("starting", "healthy") and kept in h["Log"]
    wait_status(d, "h-cycle", "healthy")
    d.docker("rm", "-f", "h-cycle")


def test_events_of_a_probe(busybox):
    d = busybox
    since = str(time.time() - 1)
    cid = run(d, "h-ev", {"Test": ["CMD-SHELL", "true"], "Interval": SHORT})
    wait_status(d, "h-ev", "healthy")
    until = str(time.time() + 0.2)
    time.sleep(0.3)
    out = d.docker("events", "--since", since, "--until", until, "--filter", f"container={cid}",
                   "--format", "{{json .}}").stdout.decode()
    evs = [json.loads(x) for x in out.splitlines() if x.strip()]
    actions = [e["Action"] for e in evs]
    first = actions.index("exec_create: /bin/sh -c true")
    assert actions[first + 1] == "exec_start: /bin/sh -c true"
    assert actions[first + 2] == "exec_die"
    assert actions[first + 3] == "health_status: healthy"
    assert actions.count("health_status: healthy") == 1
    exec_id = evs[first]["Actor"]["Attributes"]["execID"]
    assert evs[first + 2]["Actor"]["Attributes"]["execID"] == exec_id
    assert evs[first + 2]["Actor"]["Attributes"]["exitCode"] == "0"
    # docker's filter: "health_status" matches the actions with a status
    out = d.docker("events", "--since", since, "--until", until, "--filter", f"container={cid}",
                   "--filter", "event=health_status", "--format", "{{.Action}}").stdout.decode()
    assert out.split("\n")[0] == "health_status: healthy"
    d.docker("rm", "-f", "h-ev")


def _load_image_with_healthcheck(d, tag, hc):
    """busybox's layer under a config that carries hc, loaded as tag."""
    with tempfile.TemporaryDirectory() as tmp:
        saved = d.docker("save", "busybox:latest").stdout
        src = tarfile.open(fileobj=io.BytesIO(saved))
        manifest = json.load(src.extractfile("manifest.json"))[0]
        cfg = json.load(src.extractfile(manifest["Config"]))
        cfg["config"]["Healthcheck"] = hc
        raw = json.dumps(cfg).encode()
        name = hashlib.sha256(raw).hexdigest() + ".json"
        out = os.path.join(tmp, "img.tar")
        with tarfile.open(out, "w") as t:
            def add(n, data):
                ti = tarfile.TarInfo(n)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            add(name, raw)
            for layer in manifest["Layers"]:
                add(layer, src.extractfile(layer).read())
            add("manifest.json", json.dumps([{"Config": name, "RepoTags": [tag],
                                              "Layers": manifest["Layers"]}]).encode())
        with open(out, "rb") as f:
            d.docker("load", input=f.read())


def test_image_healthcheck_inherited_and_overridden(busybox):
    d = busybox
    image_hc = {"Test": ["CMD-SHELL", "exit 1"], "Interval": 100 * MS, "Retries": 1}
    _load_image_with_healthcheck(d, "hc-image:1", image_hc)
    assert d.curl_json("/images/hc-image:1/json")[1]["Config"]["Healthcheck"] == image_hc
    # inherited whole
    run(d, "h-img", None, image="hc-image:1")
    assert inspect(d, "h-img")["Config"]["Healthcheck"] == image_hc
    wait_status(d, "h-img", "unhealthy")
    # field by field: the container's Test, the image's Interval and Retries
    run(d, "h-img-test", {"Test": ["CMD-SHELL", "true"]}, image="hc-image:1")
    assert inspect(d, "h-img-test")["Config"]["Healthcheck"] == dict(image_hc, Test=["CMD-SHELL", "true"])
    wait_status(d, "h-img-test", "healthy")
    # the container's Retries, the image's Test
    run(d, "h-img-retries", {"Retries": 1000}, image="hc-image:1")
    assert inspect(d, "h-img-retries")["Config"]["Healthcheck"] == dict(image_hc, Retries=1000)
    # NONE turns the image's off
    run(d, "h-img-none", {"Test": ["NONE"]}, image="hc-image:1")
    j = inspect(d, "h-img-none")
    assert j["Config"]["Healthcheck"]["Test"] == ["NONE"] and "Health" not in j["State"]
    # --no-healthcheck of the docker CLI does the same
    d.docker("run", "-d", "--name", "h-img-cli", "--no-healthcheck", "hc-image:1", "sleep", "1000")
    assert "Health" not in inspect(d, "h-img-cli")["State"]
    d.docker("rm", "-f", "h-img", "h-img-test", "h-img-retries", "h-img-none", "h-img-cli")
    d.docker("rmi", "hc-image:1")


def test_berth_cli_flags(busybox):
    d = busybox
    d.berth("run", "-d", "--name", "h-cli", "--health-cmd", "true", "--health-interval", "150ms",
            "--health-timeout", "1m30s", "--health-retries", "2", "--health-start-period", "1s",
            "--health-start-interval", "100ms", "busybox", "sleep", "1000")
    assert inspect(d, "h-cli")["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 150 * MS, "Timeout": 90 * 1000 * MS, "Retries": 2,
        "StartPeriod": 1000 * MS, "StartInterval": 100 * MS}
    wait_status(d, "h-cli", "healthy")
    out = d.berth("ps", "--filter", "name=h-cli").stdout.decode()
    assert "(healthy)" in out
    d.berth("create", "--name", "h-cli-none", "--no-healthcheck", "busybox", "true")
    assert inspect(d, "h-cli-none")["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    r = d.berth("run", "-d", "--no-healthcheck", "--health-cmd", "true", "busybox", "true", check=False)
    assert r.returncode == 125 and b"--no-healthcheck conflicts with --health-* options" in r.stderr
    r = d.berth("create", "--health-retries", "-1", "busybox", "true", check=False)
    assert r.returncode == 125 and b"--health-retries cannot be negative" in r.stderr
    r = d.berth("create", "--health-interval", "-1s", "busybox", "true", check=False)
    assert r.returncode == 125 and b"--health-interval cannot be negative" in r.stderr
    r = d.berth("create", "--health-timeout", "soon", "busybox", "true", check=False)
    assert r.returncode == 125 and b'time: invalid duration "soon"' in r.stderr
    d.docker("rm", "-f", "h-cli", "h-cli-none")


def test_remove_ends_the_schedule(busybox):
    d = busybox
    cid = run(d, "h-rm", {"Test": ["CMD-SHELL", "true"], "Interval": 100 * MS})
    wait_status(d, "h-rm", "healthy")
    d.docker("rm", "-f", "h-rm")
    since = str(time.time())
    time.sleep(0.6)
    out = d.docker("events", "--since", since, "--until", str(time.time()), "--filter",
                   f"container={cid}", "--format", "{{.Action}}").stdout.decode()
    assert out.strip() == ""


def test_checks_survive_a_daemon_restart(fresh_berthd):
    d = fresh_berthd.start()
    d.import_busybox()
    run(d, "h-restart", {"Test": ["CMD-SHELL", "true"], "Interval": SHORT})
    before = wait_for(lambda: (x := health(d, "h-restart")) and len(x["Log"]) >= 2 and x, what="2 probes")
    d.restart()
    h = health(d, "h-restart")
    # the log is in the store; the status starts over as in dockerd
    assert h is not None and before["Log"][0] in h["Log"]
    assert h["Status"] in ("starting", "healthy")
    last = ts(h["Log"][-1]["Start"])
    h = wait_for(lambda: (x := health(d, "h-restart")) and ts(x["Log"][-1]["Start"]) > last and
                 x["Status"] == "healthy" and x, what="a probe after the restart")
    assert h["FailingStreak"] == 0
    # and a kill -9 of berthd too
    d.kill9()
    d.start()
    last = ts(health(d, "h-restart")["Log"][-1]["Start"])
    wait_for(lambda: ts(health(d, "h-restart")["Log"][-1]["Start"]) > last, what="a probe after kill -9")
    d.docker("rm", "-f", "h-restart")


COMPOSE = """
version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 200ms
      timeout: 5s
      retries: 100
  web:
    image: busybox
    command: ["sleep", "1000"]
    depends_on:
      db:
        condition: service_healthy
"""


def test_compose_service_healthy(busybox):
    d = busybox
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "docker-compose.yml"), "w") as f:
            f.write(COMPOSE)
        env = d.env()
        env["COMPOSE_PROJECT_NAME"] = "hc"
        try:
            r = subprocess.run(["docker-compose", "up", "-d"], cwd=tmp, env=env, capture_output=True, timeout=120)
            assert r.returncode == 0, r.stderr.decode()
            db, web = inspect(d, "hc_db_1"), inspect(d, "hc_web_1")
            assert db["State"]["Health"]["Status"] == "healthy"
            assert web["State"]["Running"]
            # web was started only after db reported healthy
            out = d.docker("events", "--since", "0", "--until", str(time.time() + 1), "--format",
                           "{{json .}}").stdout.decode()
            evs = [json.loads(x) for x in out.splitlines() if x.strip()]
            healthy = [e["timeNano"] for e in evs if e["Action"] == "health_status: healthy" and
                       e["Actor"]["ID"] == db["Id"]]
            started = [e["timeNano"] for e in evs if e["Action"] == "start" and e["Actor"]["ID"] == web["Id"]]
            assert healthy and started and started[0] > healthy[0]
            assert db["State"]["Health"]["Log"][0]["ExitCode"] == 1  # it had to wait
        finally:
            subprocess.run(["docker-compose", "down", "-t", "0"], cwd=tmp, env=env, capture_output=True,
                           timeout=120)


def test_commit_change_healthcheck(busybox):
    d = busybox
    d.docker("run", "--name", "h-base", "busybox", "true")
    d.docker("commit", "-c", "HEALTHCHECK --interval=100ms --retries=2 CMD echo from-image", "h-base", "hc-commit:1")
    hc = d.curl_json("/images/hc-commit:1/json")[1]["Config"]["Healthcheck"]
    assert hc == {"Test": ["CMD-SHELL", "echo from-image"], "Interval": 100 * MS, "Retries": 2}
    d.docker("run", "-d", "--name", "h-from-commit", "hc-commit:1", "sleep", "1000")
    h = wait_status(d, "h-from-commit", "healthy")
    assert h["Log"][0]["Output"] == "from-image\n"
    d.docker("commit", "-c", 'HEALTHCHECK CMD ["true", "x"]', "h-base", "hc-commit:2")
    assert d.curl_json("/images/hc-commit:2/json")[1]["Config"]["Healthcheck"] == {"Test": ["CMD", "true", "x"]}
    d.docker("commit", "-c", "HEALTHCHECK NONE", "h-base", "hc-commit:3")
    assert d.curl_json("/images/hc-commit:3/json")[1]["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    for change, msg in [("HEALTHCHECK --interval=1us CMD true", 'Interval "interval" cannot be less than 1ms'),
                        ("HEALTHCHECK --foo=1 CMD true", "Unknown flag: foo"),
                        ("HEALTHCHECK FOO", 'Unknown type "FOO" in HEALTHCHECK (try CMD)'),
                        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
                        ("HEALTHCHECK --interval 5s CMD true", "Missing a value on flag: interval"),
                        ("HEALTHCHECK --timeout=x CMD true", 'time: invalid duration "x"')]:
        r = d.docker("commit", "-c", change, "h-base", "hc-commit:bad", check=False)
        assert r.returncode != 0 and msg in r.stderr.decode(), change
    d.docker("rm", "-f", "h-base", "h-from-commit")
    d.docker("rmi", "hc-commit:1", "hc-commit:2", "hc-commit:3")
