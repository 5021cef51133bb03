"""System endpoints through curl, the docker CLI and docker-py; berthd's
flags, locks and shutdown; HTTP keep-alive, chunked bodies, many connections."""
import json
import os
import signal
import subprocess

import berthtest


def test_ping_headers(berthd):
    st, h, body = berthd.curl("/_ping")
    assert st == 200 and body == b"OK"
    assert h["api-version"] == "1.52"
    assert h["ostype"] == "linux"
    assert h["docker-experimental"] == "false"
    st, h, body = berthd.curl("/_ping", method="HEAD")
    assert st == 200 and h["api-version"] == "1.52"


def test_version_cli_negotiates(berthd):
    out = berthd.docker("version", "--format", "{{json .}}").stdout
    v = json.loads(out)
    assert v["Server"]["ApiVersion"] == "1.52"
    assert v["Server"]["MinAPIVersion"] == "1.12"
    # the v28 client negotiates down to its own maximum
    assert v["Client"]["ApiVersion"] == "1.50"


def test_version_too_new_and_unknown_path(berthd):
    st, body = berthd.curl_json("/v1.99/version")
    assert st == 400
    assert body["message"] == "client version 1.99 is too new. Maximum supported API version is 1.52"
    st, body = berthd.curl_json("/v1.52/nosuchthing")
    assert st == 404 and body == {"message": "page not found"}


def test_old_versions_accepted(berthd):
    for v in ("v1.12", "v1.13", "v1.41", "v1.52"):
        st, body = berthd.curl_json(f"/{v}/version")
        assert st == 200, v
        assert body["ApiVersion"] == "1.52"


def test_info_fields(berthd):
    st, info = berthd.curl_json("/info")
    assert st == 200
    for k in ("Containers", "Images", "Driver", "DriverStatus", "KernelVersion", "MemoryLimit", "NFd",
              "IPv4Forwarding", "IndexServerAddress", "ServerVersion", "DockerRootDir", "CgroupVersion"):
        assert k in info, k
    assert info["DockerRootDir"] == berthd.data_root
    out = berthd.docker("info").stdout.decode()
    assert "Server Version" in out


def test_docker_py_version(berthd):
    c = berthd.client()
    assert c.version()["ApiVersion"] == "1.52"
    assert c.ping() is True


# ---- field types against the v1.52 spec (definitions SystemInfo, ImageSummary) ----

INFO_TYPES = {
    "ID": str, "Containers": int, "ContainersRunning": int, "ContainersPaused": int, "ContainersStopped": int,
    "Images": int, "Driver": str, "DriverStatus": list, "DockerRootDir": str, "Plugins": dict,
    "MemoryLimit": bool, "SwapLimit": bool, "CpuCfsPeriod": bool, "CpuCfsQuota": bool, "CPUShares": bool,
    "CPUSet": bool, "PidsLimit": bool, "OomKillDisable": bool, "IPv4Forwarding": bool, "Debug": bool,
    "NFd": int, "NGoroutines": int, "SystemTime": str, "LoggingDriver": str, "CgroupDriver": str,
    "CgroupVersion": str, "NEventsListener": int, "KernelVersion": str, "OperatingSystem": str,
    "OSVersion": str, "OSType": str, "Architecture": str, "NCPU": int, "MemTotal": int,
    "IndexServerAddress": str, "RegistryConfig": dict, "HttpProxy": str, "HttpsProxy": str, "NoProxy": str,
    "Name": str, "Labels": list, "ExperimentalBuild": bool, "ServerVersion": str, "Runtimes": dict,
    "DefaultRuntime": str, "Swarm": dict, "LiveRestoreEnabled": bool, "Isolation": str, "InitBinary": str,
    "ContainerdCommit": dict, "RuncCommit": dict, "InitCommit": dict, "SecurityOptions": list,
}


def _type_ok(v, t):
    # JSON booleans are not integers here, whatever Python thinks
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, t)


def test_info_field_types(berthd):
    st, info = berthd.curl_json("/v1.52/info")
    assert st == 200
    wrong = {k: type(info.get(k)).__name__ for k, t in INFO_TYPES.items() if not _type_ok(info.get(k), t)}
    assert wrong == {}, f"missing or mistyped /info fields: {wrong}"
    assert info["OSType"] == "linux"
    assert info["CgroupVersion"] in ("1", "2")
    assert all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
               for p in info["DriverStatus"])
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    for name in ("ContainerdCommit", "RuncCommit", "InitCommit"):
        assert isinstance(info[name].get("ID"), str), name
    assert info["Warnings"] is None or isinstance(info["Warnings"], list)
    # docker-py decodes the same document
    assert berthd.client().info()["ID"] == info["ID"]


def test_system_df_types(busybox):
    st, h, body = busybox.curl("/v1.52/system/df")
    assert st == 200 and h["content-type"] == "application/json"
    df = json.loads(body)
    assert _type_ok(df["LayersSize"], int) and df["LayersSize"] > 0
    for k in ("Images", "Containers", "Volumes", "BuildCache"):
        assert isinstance(df[k], list), k
    img = next(i for i in df["Images"] if "busybox:latest" in (i.get("RepoTags") or []))
    types = {"Id": str, "ParentId": str, "RepoTags": list, "RepoDigests": list, "Created": int, "Size": int,
             "SharedSize": int, "Labels": dict, "Containers": int}
    wrong = {k: type(img.get(k)).__name__ for k, t in types.items() if not _type_ok(img.get(k), t)}
    assert wrong == {}, f"mistyped ImageSummary fields in /system/df: {wrong}"
    assert img["Id"].startswith("sha256:") and img["Size"] > 0
    # the CLI renders it
    out = busybox.docker("system", "df").stdout.decode()
    assert out.startswith("TYPE") and "Images" in out


# ---- berthd flags, locks and shutdown ----

def _run_second(d, args, timeout=10):
    return d.nsenter([berthtest.BERTHD] + args, capture_output=True, timeout=timeout)


def test_second_daemon_same_pidfile_refused(fresh_berthd):
    d = fresh_berthd.start()
    other = os.path.join(d.base, "other")
    r = _run_second(d, ["--data-root", other + "/data", "--exec-root", other + "/run", "--pidfile", d.pidfile,
                        "-H", "unix://" + other + "/s.sock"])
    assert r.returncode != 0
    assert b"pid file found, ensure berthd is not running or delete " + d.pidfile.encode() in r.stderr
    # the first one is untouched and still serving, its pidfile still names it
    assert d.curl("/_ping")[0] == 200
    with open(d.pidfile) as f:
        assert int(f.read()) == d.proc.pid


def test_second_daemon_same_data_root_refused(fresh_berthd):
    d = fresh_berthd.start()
    other = os.path.join(d.base, "other")
    r = _run_second(d, ["--data-root", d.data_root, "--exec-root", other + "/run", "--pidfile",
                        other + "/b.pid", "-H", "unix://" + other + "/s.sock"])
    assert r.returncode != 0
    assert f"data root {d.data_root} is in use by another berthd".encode() in r.stderr
    assert not os.path.exists(other + "/b.pid")
    assert d.curl("/_ping")[0] == 200


def test_tcp_listener(fresh_berthd):
    d = fresh_berthd.start(extra=["-H", "tcp://127.0.0.1:23751"])
    r = d.nsenter(["curl", "-s", "-S", "--max-time", "5", "-i", "http://127.0.0.1:23751/v1.41/version"],
                  capture_output=True)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Api-Version: 1.52" in head
    assert json.loads(body)["ApiVersion"] == "1.52"
    # the unix socket keeps working next to it
    assert d.curl("/_ping")[0] == 200
    # the docker CLI over TCP inside the namespace
    r = d.nsenter([berthtest.DOCKER, "-H", "tcp://127.0.0.1:23751", "version", "--format", "{{.Server.APIVersion}}"],
                  capture_output=True, env=d.env())
    assert r.stdout.strip() == b"1.52", r.stderr


def _make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    c = os.path.join(d, "certs")
    os.makedirs(c)

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=c, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=berth-test-ca")
    for name, subj, ext in (("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                            ("client", "/CN=client", "extendedKeyUsage=clientAuth\n")):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
            "-subj", subj)
        with open(os.path.join(c, f"{name}.ext"), "w") as f:
            f.write(ext)
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", f"{name}-cert.pem", "-days", "2", "-extfile", f"{name}.ext")
    # the docker CLI reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH
    os.symlink("client-cert.pem", os.path.join(c, "cert.pem"))
    os.symlink("client-key.pem", os.path.join(c, "key.pem"))
    return c


def test_tls_verify(fresh_berthd):
    d = fresh_berthd
    c = _make_certs(d.base)
    d.start(extra=["-H", "tcp://127.0.0.1:23752", "--tlsverify", "--tlscacert", f"{c}/ca.pem",
                   "--tlscert", f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem"])
    env = dict(d.env(), DOCKER_HOST="tcp://127.0.0.1:23752", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=c)
    r = d.nsenter([berthtest.DOCKER, "version", "--format", "{{.Server.APIVersion}}"], capture_output=True, env=env)
    assert r.stdout.strip() == b"1.52", r.stderr
    ok = d.nsenter(["curl", "-s", "--max-time", "5", "--cacert", f"{c}/ca.pem", "--cert", f"{c}/client-cert.pem",
                    "--key", f"{c}/client-key.pem", "https://127.0.0.1:23752/_ping"], capture_output=True)
    assert ok.stdout == b"OK"
    # --tlsverify: no client certificate, no answer
    bad = d.nsenter(["curl", "-s", "--max-time", "5", "--cacert", f"{c}/ca.pem", "https://127.0.0.1:23752/_ping"],
                    capture_output=True)
    assert bad.returncode != 0 and bad.stdout == b""
    # and plain http on the TLS port gets nothing useful either
    plain = d.nsenter(["curl", "-s", "--max-time", "5", "http://127.0.0.1:23752/_ping"], capture_output=True)
    assert plain.stdout != b"OK"


def test_sigterm_clean_exit(fresh_berthd):
    d = fresh_berthd.start()
    assert os.path.exists(d.pidfile) and os.path.exists(d.sock)
    code = d.stop(signal.SIGTERM)
    assert code == 0, d.logtail()
    assert not os.path.exists(d.pidfile)
    assert not os.path.exists(d.sock)
    # and it starts again on the same data root
    d.start()
    assert d.curl("/_ping")[0] == 200


# ---- HTTP: keep-alive, chunked request bodies, many connections ----

def test_keepalive_reuses_connection(berthd):
    argv = ["curl", "-s", "--unix-socket", berthd.sock, "-w", "%{http_code} %{num_connects}\n"]
    for path in ("/_ping", "/version", "/_ping"):
        argv += ["-o", "/dev/null", "http://localhost" + path]
    r = subprocess.run(argv, capture_output=True, timeout=30)
    lines = r.stdout.decode().split()
    assert lines == ["200", "1", "200", "0", "200", "0"], r.stdout


def test_chunked_request_body(berthd):
    # a chunked body is read whole: malformed JSON is reported as such ...
    st, h, body = berthd.curl("/containers/create", method="POST", data='{"Image": "busybox", "Cmd": [',
                              headers=("Transfer-Encoding: chunked", "Content-Type: application/json"))
    assert st == 400, body
    assert "invalid JSON" in json.loads(body)["message"]
    # ... and a well-formed one reaches the handler (no such image in this daemon)
    st, h, body = berthd.curl("/containers/create", method="POST",
                              data='{"Image": "nosuchimage:1", "Cmd": ["true"], "Pad": "' + "x" * 200000 + '"}',
                              headers=("Transfer-Encoding: chunked", "Content-Type: application/json"))
    assert st == 404, body
    assert json.loads(body)["message"].startswith("No such image")


def test_many_simultaneous_connections(berthd):
    procs = [subprocess.Popen(["curl", "-s", "--max-time", "20", "--unix-socket", berthd.sock,
                               "-o", "/dev/null", "-w", "%{http_code}",
                               "http://localhost/" + ("_ping" if i % 2 else "v1.41/info")],
                              stdout=subprocess.PIPE) for i in range(50)]
    codes = [p.communicate(timeout=30)[0] for p in procs]
    assert codes == [b"200"] * 50
    assert berthd.curl("/_ping")[0] == 200


def test_system_prune_runs_through(busybox):
    """docker system prune calls container, network, volume, image and build-cache prune: none may 404."""
    d = busybox
    d.docker("create", "--name", "sp1", "busybox")
    r = d.docker("system", "prune", "-af", "--volumes")
    assert b"Total reclaimed space" in r.stdout
    assert d.docker("ps", "-aq").stdout == b""
    d.import_busybox()
    assert d.docker("builder", "prune", "-af").returncode == 0
    st, j = d.curl_json("/build/prune", "POST")
    assert (st, j) == (200, {"CachesDeleted": None, "SpaceReclaimed": 0})
    st, j = d.curl_json("/build/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D", "POST")
    assert (st, j["message"]) == (400, "failed to prune build cache: invalid filter 'bogus'")
    st, j = d.curl_json("/volumes/prune", "POST")
    assert (st, j) == (200, {"VolumesDeleted": [], "SpaceReclaimed": 0})
    st, j = d.curl_json("/volumes/prune?filters=%7B%22all%22%3A%5B%22maybe%22%5D%7D", "POST")
    assert st == 400 and j["message"] == "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax"
    st, j = d.curl_json("/volumes")
    assert (st, j) == (200, {"Volumes": [], "Warnings": None})
    st, j = d.curl_json("/volumes/nosuch")
    assert (st, j["message"]) == (404, "get nosuch: no such volume")
    st, _ = d.curl_json("/volumes/nosuch?force=1", "DELETE")
    assert st == 204
    st, j = d.curl_json("/volumes/create", "POST", {"Name": "v1"})
    assert st == 201 and j["Name"] == "v1"
    st, _ = d.curl_json("/volumes/v1", "DELETE")
    assert st == 204


def test_sizes_and_system_df(busybox):
    d = busybox
    d.docker("run", "--name", "szc", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big")
    st, img = d.curl_json("/images/busybox/json")
    st, j = d.curl_json("/containers/szc/json?size=1")
    assert j["SizeRw"] >= 100000 and j["SizeRootFs"] == j["SizeRw"] + img["Size"]
    st, j = d.curl_json("/containers/szc/json")
    assert "SizeRw" not in j
    st, lst = d.curl_json("/containers/json?all=1&size=1")
    c = [x for x in lst if x["Names"] == ["/szc"]][0]
    assert c["SizeRw"] >= 100000 and c["SizeRootFs"] == c["SizeRw"] + img["Size"]
    st, df = d.curl_json("/system/df")
    assert [x["Names"] for x in df["Containers"]] == [["/szc"]]
    assert df["Containers"][0]["SizeRw"] == c["SizeRw"] and df["Volumes"] == [] and df["BuildCache"] == []
    assert df["ContainerUsage"] == {"ActiveCount": 0, "TotalCount": 1, "Reclaimable": c["SizeRw"],
                                    "TotalSize": c["SizeRw"]}
    assert df["ImageUsage"]["TotalCount"] == len(df["Images"]) and df["ImageUsage"]["ActiveCount"] == 1
    assert df["ImageUsage"]["TotalSize"] == df["LayersSize"] > 0
    st, df = d.curl_json("/system/df?verbose=1")
    assert "Containers" not in df and len(df["ContainerUsage"]["Items"]) == 1
    st, df = d.curl_json("/v1.41/system/df")
    assert "ContainerUsage" not in df and len(df["Containers"]) == 1
    st, df = d.curl_json("/system/df?type=container&type=volume")
    assert sorted(df) == ["ContainerUsage", "Containers", "VolumeUsage", "Volumes"]
    st, j = d.curl_json("/system/df?type=bogus")
    assert (st, j["message"]) == (400, "unknown object type: bogus")
    d.docker("rm", "szc")


def test_info_runtimes_and_commits(busybox):
    d = busybox
    st, info = d.curl_json("/info")
    mon = info["Runtimes"]["berth"]["path"]
    assert os.path.isabs(mon) and os.access(mon, os.X_OK) and os.path.basename(mon) == "berth-monitor"
    assert info["Runtimes"]["runc"]["path"] == mon
    assert info["DefaultRuntime"] == "runc" and info["InitBinary"] == "berth-init"
    for k in ("ContainerdCommit", "RuncCommit", "InitCommit"):
        assert info[k]["ID"] and "Expected" not in info[k]
    st, old = d.curl_json("/v1.48/info")
    assert old["RuncCommit"] == {"ID": info["RuncCommit"]["ID"], "Expected": info["RuncCommit"]["ID"]}
    cid = d.docker("create", "busybox").stdout.decode().strip()
    st, j = d.curl_json(f"/containers/{cid}/json")
    assert j["HostConfig"]["Runtime"] == "runc"  # Docker's default name, as docker-py's tests expect
    d.docker("rm", cid)
    assert d.docker("run", "--rm", "--runtime", "berth", "busybox", "true").returncode == 0
    assert d.docker("run", "--rm", "--runtime", "runc", "busybox", "true").returncode == 0
    st, j = d.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {"Runtime": "bogus"}})
    assert (st, j["message"]) == (400, "unknown or invalid runtime name: bogus")
