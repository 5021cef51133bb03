"""Robustness regressions: requests and host states that once took berthd down
or left a client hanging. The fixture's own assertion (berthd still alive at
the end of the module) is part of every test here."""
import json
import subprocess

from berthtest import Berthd


def test_inspect_container_with_bind(busybox, tmp_path):
    # A bind mount made GET /containers/{id}/json read past json_pack's arguments.
    src = tmp_path / "bindsrc"
    src.mkdir()
    cid = busybox.docker("run", "-d", "-v", f"{src}:/data", "-v", f"{src}:/ro:ro", "busybox",
                         "sleep", "1000").stdout.decode().strip()
    try:
        r = busybox.docker("inspect", cid)
        assert r.stdout, r
        j = json.loads(r.stdout)[0]
        mounts = {m["Destination"]: m for m in j["Mounts"]}
        assert mounts["/data"] == {"Type": "bind", "Source": str(src), "Destination": "/data", "Mode": "",
                                   "RW": True, "Propagation": "rprivate"}
        assert mounts["/ro"]["RW"] is False and mounts["/ro"]["Mode"] == "ro"
        busybox.docker("port", cid)
        c = busybox.client().containers.get(cid)
        assert c.attrs["Mounts"][0]["Type"] == "bind"
        st, _, body = busybox.curl("/_ping")
        assert st == 200 and body == b"OK"
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def _run_rm_must_return(d, args):
    """docker run --rm whose start fails inside berthd: it must return with
    an error, and the container must be gone."""
    before = set(d.docker("ps", "-aq", "--no-trunc").stdout.split())
    r = d.docker("run", "--rm", *args, check=False, timeout=30)
    assert r.returncode != 0
    after = set(d.docker("ps", "-aq", "--no-trunc").stdout.split())
    assert after <= before, "the --rm container stayed behind"
    return r


def test_run_rm_port_taken_returns(busybox):
    cid = busybox.docker("run", "-d", "-p", "18080:80", "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        r = _run_rm_must_return(busybox, ["-p", "18080:80", "busybox", "true"])
        assert b"port is already allocated" in r.stderr or b"address already in use" in r.stderr, r.stderr
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_run_rm_unknown_network_returns(busybox):
    r = _run_rm_must_return(busybox, ["--network", "nosuchnet", "busybox", "true"])
    assert b"nosuchnet" in r.stderr and b"not found" in r.stderr, r.stderr


def test_resolv_conf_without_final_newline(tmp_path):
    """The host's resolv.conf without a final newline made the container's copy
    one byte longer than its buffer (caught by ASan)."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example.test\nnameserver 192.0.2.53")
    d = Berthd()
    try:
        # berthd (and its monitors) in a mount namespace of their own, where the
        # host's resolv.conf is the file above
        argv = d.argv()
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        logf = open(d.log, "ab")
        d.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(conf)] + argv,
                                  stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        d.wait_ready()
        d.import_busybox()
        out = d.docker("run", "--rm", "--network", "none", "busybox", "cat", "/etc/resolv.conf").stdout.decode()
        assert sorted(out.splitlines(keepends=True)) == ["nameserver 192.0.2.53\n", "search example.test\n"], out
        # the embedded resolver's file keeps the host's search domains, each line whole
        out = d.docker("run", "--rm", "busybox", "cat", "/etc/resolv.conf").stdout.decode()
        assert "search example.test\n" in out and out.endswith("\n"), out
        assert d.proc.poll() is None
    finally:
        d.cleanup()


def test_state_store_failure(tmp_path, monkeypatch):
    """While the state store refuses writes (debug builds: $BERTH_TEST_STORE_FAIL names a
    file whose presence fails every write), each state change fails with a 500 and
    leaves the container as the store still has it; berthd stays up, and after the
    store is back and berthd restarts it shows the same state."""
    flag = tmp_path / "store-fail"
    monkeypatch.setenv("BERTH_TEST_STORE_FAIL", str(flag))
    d = Berthd().start()
    try:
        d.import_busybox()
        d.docker("create", "--name", "c1", "busybox", "sleep", "300")
        d.docker("start", "c1")
        d.docker("create", "--name", "c3", "busybox", "sleep", "300")
        d.docker("tag", "busybox", "keep:1")

        def state(name):
            st, j = d.curl_json(f"/containers/{name}/json")
            assert st == 200, j
            return j

        flag.touch()
        for path in ("/containers/c1/stop?t=1", "/containers/c1/kill", "/containers/c1/pause",
                     "/containers/c1/rename?name=c2", "/containers/c3/start"):
            st, j = d.curl_json(path, method="POST")
            assert st == 500 and "state store" in j["message"], (path, st, j)
        st, j = d.curl_json("/containers/c1/update", method="POST", data={"RestartPolicy": {"Name": "always"}})
        assert st == 500 and "state store" in j["message"], (st, j)
        st, j = d.curl_json("/images/keep:1", method="DELETE")
        assert st == 500, (st, j)

        def check():
            c1 = state("c1")
            assert c1["State"]["Running"] and not c1["State"]["Paused"], c1["State"]
            assert c1["Name"] == "/c1"
            assert c1["HostConfig"]["RestartPolicy"]["Name"] in ("", "no"), c1["HostConfig"]["RestartPolicy"]
            assert not state("c3")["State"]["Running"]
            assert d.curl("/images/keep:1/json")[0] == 200

        check()
        st, _, body = d.curl("/_ping")
        assert st == 200 and body == b"OK"
        assert d.proc.poll() is None

        # the store is back: what berthd reads from it after a restart is what it showed
        flag.unlink()
        d.stop(timeout=30)
        d.start()
        check()
        d.docker("stop", "-t", "1", "c1")
        assert not state("c1")["State"]["Running"]
    finally:
        d.cleanup()
