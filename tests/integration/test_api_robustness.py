"""API-wide robustness: every route of the Docker Engine API spec (v1.52) gets
valid, boundary, wrongly typed and hostile requests (specgen.py) against a
berthd with containers in every state, images and user networks. berthd must
keep answering; client mistakes get a 4xx with {"message": ...}; nothing gets a
5xx (except the listed cases where Docker answers one too), a dropped
connection or a hang.

BERTH_ROBUST_SEED replays a run (printed on failure); BERTH_ROBUST_TIME bounds
the random phase in seconds (every route gets one deterministic pass first);
BERTH_DOCKER_SPEC points at another copy of the spec. A request head over the
HTTP layer's 64 KiB limit gets libmicrohttpd's own 414/431 page, not JSON: that
is the one non-JSON error allowed."""
import http.client
import json
import os
import random
import re
import socket
import time
import urllib.parse

import pytest

import specgen

SEED = int(os.environ.get("BERTH_ROBUST_SEED", str(random.SystemRandom().randrange(1 << 32))))
BUDGET = float(os.environ.get("BERTH_ROBUST_TIME", "40"))
TIMEOUT = 30          # seconds one request may take before it counts as a hang
STREAM_TIMEOUT = 15   # streaming routes: until the status line and headers

# Routes that may stream or hijack: only their headers are awaited.
STREAMING = [
    ("POST", r"/containers/[^/]+/attach"), ("GET", r"/containers/[^/]+/attach/ws"),
    ("POST", r"/containers/[^/]+/wait"), ("GET", r"/containers/[^/]+/logs"), ("GET", r"/events"),
    ("GET", r"/containers/[^/]+/stats"), ("POST", r"/exec/[^/]+/start"), ("POST", r"/images/create"),
    ("POST", r"/images/.+/push"), ("POST", r"/images/load"), ("GET", r"/containers/[^/]+/export"),
    ("GET", r"/images/.*get"), ("POST", r"/session"), ("POST", r"/build"),
]

# Valid requests that may get a 5xx, as they do from Docker.
ALLOWED_5XX = [
    # the test's network namespace has no route to a registry: Docker answers 500 as well
    (r"POST /images/create\?.*fromImage=", "pull from an unreachable registry"),
    (r"POST /images/.+/push", "push to an unreachable registry"),
    (r"POST /auth", "login to an unreachable registry"),
    (r"GET /distribution/", "registry lookup: unreachable, so even a name that does not exist is a 500", 500),
    # a container whose process cannot start: Docker answers 500 ("OCI runtime create failed")
    (r"POST /containers/[^/]+/(start|restart)", "start of a container whose command does not exist"),
    (r"POST /exec/[^/]+/start", "exec of a command that does not exist"),
    # berth's "not implemented" for fields it does not implement (Docker has no such answer)
    (r".*", "501 Not Implemented", 501),
    # a daemon outside a swarm answers every swarm route with 503 before looking at the request
    (r"[A-Z]+ /(swarm|nodes|services|tasks|secrets|configs)(/|\?|$)", "not part of a swarm", 503),
]

# Routes whose valid use changes the fixture: they get disposable objects.
DESTRUCTIVE = re.compile(r"^(DELETE /containers/|DELETE /images/|DELETE /networks/|POST /containers/\{id\}/"
                         r"(kill|stop|restart|rename|pause|unpause|start|update|wait)|POST /networks/\{id\}/"
                         r"(connect|disconnect)|POST /[a-z]+/prune)")


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Result:
    def __init__(self, status=None, headers=None, body=b"", error=None):
        self.status, self.headers, self.body, self.error = status, headers or {}, body, error

    def __repr__(self):
        if self.error:
            return f"<{self.error}>"
        return f"{self.status} {self.headers.get('content-type')} {self.body[:300]!r}"


def send(sock_path, method, target, headers, body, streaming, timeout=TIMEOUT):
    """One request on a fresh connection, bytes exactly as given."""
    conn = UnixConn(sock_path, STREAM_TIMEOUT if streaming else timeout)
    try:
        conn.connect()
        head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n".encode()
        for k, v in headers.items():
            head += k.encode() + b": " + (v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v) + b"\r\n"
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        head += b"Connection: close\r\n\r\n"
        try:
            conn.sock.sendall(head + (body or b""))
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            # berthd (or libmicrohttpd, for a head over its limit) may answer without reading a
            # large body: its answer is what counts
            conn.sock.settimeout(5)
        resp = http.client.HTTPResponse(conn.sock, method=method)
        resp.begin()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if streaming and (resp.status < 300 or resp.status == 101):
            try:
                conn.sock.settimeout(0.5)
                data = resp.read1(4096) if resp.status != 101 else b""
            except (socket.timeout, OSError, http.client.HTTPException):
                data = b""
            return Result(resp.status, hdrs, data)
        return Result(resp.status, hdrs, resp.read())
    except socket.timeout:
        return Result(error="timeout (no answer within %ds)" % (STREAM_TIMEOUT if streaming else timeout))
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        return Result(error=f"connection dropped: {type(e).__name__}: {e}")
    finally:
        conn.close()


class Fixture:
    """Containers in every state, images and user networks, repaired between batches."""
    NAMES = ["rb-created", "rb-running", "rb-paused", "rb-exited", "rb-bind", "rb-port", "rb-link", "rb-twonet"]

    def __init__(self, d, tmp):
        self.d, self.tmp = d, tmp
        self.ids = {}
        self.image_id = None
        self.exec_id = None
        self.net_ids = {}
        self.disp = 0

    def api(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"} if body is not None else {}
        r = send(self.d.sock, method, path, h, data, False, timeout)
        assert not r.error and r.status < 300, f"fixture: {method} {path}: {r}"
        return json.loads(r.body) if r.body.strip() else None

    def inspect(self, name):
        r = send(self.d.sock, "GET", f"/containers/{name}/json", {}, None, False)
        return json.loads(r.body) if r.status == 200 else None

    def create(self, name, cmd=("sleep", "100000"), hostcfg=None, net=None):
        body = {"Image": "busybox:latest", "Cmd": list(cmd), "HostConfig": hostcfg or {}}
        if net:
            body["HostConfig"]["NetworkMode"] = net
        j = self.api("POST", f"/containers/create?name={name}", body)
        return j["Id"]

    def setup(self):
        d = self.d
        d.import_busybox()
        d.docker("tag", "busybox:latest", "busybox:robust")
        self.ensure()

    def ensure(self):
        """Brings images, networks and containers back to their fixture state."""
        d = self.d
        if send(d.sock, "GET", "/images/busybox:latest/json", {}, None, False).status != 200:
            d.import_busybox()
        self.image_id = self.api("GET", "/images/busybox:latest/json")["Id"]
        for n in ("rb-net1", "rb-net2"):
            r = send(d.sock, "GET", f"/networks/{n}", {}, None, False)
            if r.status != 200:
                self.api("POST", "/networks/create", {"Name": n})
            self.net_ids[n] = self.api("GET", f"/networks/{n}")["Id"]
        bind_src = os.path.join(self.tmp, "bind")
        os.makedirs(bind_src, exist_ok=True)
        want = {
            "rb-created": dict(),
            "rb-running": dict(),
            "rb-paused": dict(),
            "rb-exited": dict(cmd=("true",)),
            "rb-bind": dict(hostcfg={"Binds": [f"{bind_src}:/data"]}),
            "rb-port": dict(hostcfg={"PortBindings": {"80/tcp": [{"HostPort": "18093"}]}}),
            "rb-link": dict(hostcfg={"Links": ["rb-running:alias"]}),
            "rb-twonet": dict(net="rb-net1"),
        }
        state = {"rb-created": "created", "rb-exited": "exited", "rb-paused": "paused"}
        for name in self.NAMES:
            j = self.inspect(name)
            if j is None and name in self.ids:
                j = self.inspect(self.ids[name])
                if j is not None:   # renamed
                    self.api("POST", f"/containers/{self.ids[name]}/rename?name={name}")
            st = state.get(name, "running")
            if j is not None and (st == "created" and j["State"]["Status"] != "created"
                                  or name == "rb-twonet" and len(j["NetworkSettings"]["Networks"]) != 2
                                  or name == "rb-link" and j["State"]["Status"] != "running"):
                send(d.sock, "DELETE", f"/containers/{j['Id']}?force=1", {}, None, False)
                j = None
            if j is None:
                self.ids[name] = self.create(name, **want[name])
                j = self.inspect(name)
            self.ids[name] = j["Id"]
            cur = j["State"]["Status"]
            if st == "created" or st == cur:
                continue
            if cur == "paused" and st != "paused":
                self.api("POST", f"/containers/{name}/unpause")
                cur = "running"
            if cur != "running" and st in ("running", "paused"):
                self.api("POST", f"/containers/{name}/start")
                cur = "running"
            if st == "paused" and cur != "paused":
                self.api("POST", f"/containers/{name}/pause")
            if st == "exited" and cur == "created":
                self.api("POST", f"/containers/{name}/start")
            if st == "exited":
                self.api("POST", f"/containers/{name}/wait", timeout=30)
            if name == "rb-twonet":
                nets = self.inspect(name)["NetworkSettings"]["Networks"]
                if "rb-net2" not in nets:
                    self.api("POST", "/networks/rb-net2/connect", {"Container": name})
        if self.exec_id is None or send(d.sock, "GET", f"/exec/{self.exec_id}/json", {}, None, False).status != 200:
            self.exec_id = self.api("POST", "/containers/rb-running/exec", {"Cmd": ["true"]})["Id"]
        # what requests left behind: extra containers and networks
        keep = set(self.ids.values())
        for c in self.api("GET", "/containers/json?all=1"):
            if c["Id"] not in keep:
                send(d.sock, "DELETE", f"/containers/{c['Id']}?force=1", {}, None, False)
        for n in self.api("GET", "/networks"):
            if n["Name"] not in ("bridge", "host", "none", "rb-net1", "rb-net2"):
                send(d.sock, "DELETE", f"/networks/{n['Id']}", {}, None, False)

    def disposable_container(self, rng):
        self.disp += 1
        name = f"rb-disp{self.disp}"
        cid = self.create(name)
        if rng.random() < 0.7:
            self.api("POST", f"/containers/{cid}/start")
            if rng.random() < 0.2:
                self.api("POST", f"/containers/{cid}/pause")
        return rng.choice([cid, name, cid[:12]])

    def disposable_network(self):
        self.disp += 1
        return self.api("POST", "/networks/create", {"Name": f"rb-dnet{self.disp}"})["Id"]

    def ambiguous_prefix(self):
        ids = sorted(c["Id"] for c in self.api("GET", "/containers/json?all=1"))
        best = None
        for a, b in zip(ids, ids[1:]):
            n = 0
            while n < len(a) and a[n] == b[n]:
                n += 1
            if n and (best is None or n > len(best)):
                best = a[:n]
        return best


def path_values(fx, route, name, rng, destructive):
    """(value, is_mistake) for a path parameter."""
    p = route.path
    bad = [("nonexistent-" + str(rng.randrange(10 ** 6)), True), ("0" * 64, True), ("name with spaces", True),
           ("deadbeef", True)]
    hostile = [(specgen.hostile_string(rng)[:specgen.LONG_QUERY], None) for _ in range(2)]
    if p.startswith("/containers/") or p.startswith("/networks/{id}/"):
        if p.startswith("/containers/"):
            if destructive:
                good = [(fx.disposable_container(rng), False)]
            else:
                good = [(rng.choice(list(fx.ids.values()) + fx.NAMES), False)]
                good.append((rng.choice(list(fx.ids.values()))[:12], False))
            amb = fx.ambiguous_prefix()
            if amb:
                bad.append((amb, True))
        else:
            good = [(fx.disposable_network() if destructive else rng.choice(["rb-net1", "rb-net2", "bridge"]), False)]
    elif p.startswith("/networks/"):
        good = [(fx.disposable_network() if destructive else rng.choice(["rb-net1", "rb-net2", "bridge"]), False)]
    elif p.startswith("/images/"):
        if destructive:
            fx.disp += 1
            tag = f"rb-disp{fx.disp}:t"
            fx.d.docker("tag", "busybox:latest", tag)
            good = [(tag, False)]
        else:
            good = [(rng.choice(["busybox", "busybox:latest", "busybox:robust", fx.image_id,
                                 fx.image_id.split(":")[1][:12]]), False)]
        bad += [("library/../../x", True), ("UPPER", True), ("a" * 300, True), ("x:y:z", True)]
    elif p.startswith("/exec/"):
        good = [(fx.exec_id, False)]
    else:
        good = [("a", None)]
    return good, bad, hostile


def is_streaming(method, path):
    return any(m == method and re.fullmatch(rx, path) for m, rx in STREAMING)


def build_case(fx, spec, route, rng, mode):
    """One request: dict(method, path, target, headers, body, mistake, allow_timeout)."""
    key = f"{route.method} {route.path}"
    # never a fixture object: a stop that outlives its request would race with the repair
    destructive = bool(DESTRUCTIVE.match(key))
    path = route.path
    mistake = False
    for pp in route.path_params:
        good, bad, hostile = path_values(fx, route, pp["name"], rng, destructive)
        if mode == "valid":
            v, m = rng.choice(good)
        elif mode == "hostile":
            v, m = rng.choice(hostile + bad + good)
        else:
            v, m = rng.choice(good + bad)
        if m:
            mistake = True
        raw = specgen.raw_bytes(v)
        path = path.replace("{" + pp["name"] + "}", urllib.parse.quote_from_bytes(raw, safe=":@"))
    pairs = []
    allow_timeout = False
    for qp in route.query_params:
        if rng.random() < (0.5 if mode == "valid" else 0.6):
            qmode = mode if rng.random() < 0.7 else "valid"
            v, m = specgen.query_value_strings(spec, qp, rng, qmode)
            if qp["name"] in ("t", "timeout") and route.path.endswith(("/stop", "/restart")):
                if v not in ("0", "1"):
                    allow_timeout = True   # t=-1 waits for ever, t=huge very long: as in Docker
            if qp["name"] == "fromImage" and qmode == "valid":
                v = rng.choice(["busybox", "busybox:latest", "localhost:1/x"])
            if m:
                mistake = True
            pairs.append((qp["name"], v))
    target = path + ("?" + specgen.encode_query(pairs, rng) if pairs else "")
    if mode == "hostile" and rng.random() < 0.1:
        target = "/v" + rng.choice(["1.52", "1.12", "1.11", "9.99", "1.x", "1", "01.041", "1.999999999999"]) + target
    headers = {}
    for hp in route.header_params:
        if rng.random() < 0.5:
            headers[hp["name"]] = rng.choice(["", "e30=", "not base64 !!", "eyJ1c2VybmFtZSI6" * 100,
                                              "\u00e9\u00e8".encode().decode("latin-1")])
    body, ct, bm = specgen.body_cases(spec, route, rng, mode)
    if ct:
        headers["Content-Type"] = ct
    if bm and "application/json" in route.consumes and route.method in ("POST", "PUT"):
        mistake = True
    if mode == "hostile" and rng.random() < 0.1:
        headers["X-Registry-Auth"] = rng.choice(["%%%", "e30", "\x7f"])
    return dict(method=route.method, path=route.path, target=target, headers=headers, body=body, mistake=mistake,
                allow_timeout=allow_timeout, streaming=is_streaming(route.method, path), mode=mode)


def forced_volume_removal(key):
    """DELETE /volumes/{name}?force=<anything Docker reads as true>: dockerd ignores a volume that
    does not exist (httputils.BoolValue: all but "", "0", "no", "false", "none" is true)."""
    m = re.match(r"DELETE /volumes/[^?]*\?(.*)$", key)
    if not m:
        return False
    q = urllib.parse.parse_qs(m.group(1), keep_blank_values=True)
    return any(v.strip().lower() not in ("", "0", "no", "false", "none") for v in q.get("force", []))


def check(case, res):
    """Returns a failure text or None."""
    key = f"{case['method']} {re.sub(r'^/v[0-9]+[.][0-9]+(?=/)', '', case['target'])}"
    if res.error:
        if case["allow_timeout"] and res.error.startswith("timeout"):
            return None
        return res.error
    st = res.status
    if st >= 500:
        for entry in ALLOWED_5XX:
            rx, _why = entry[0], entry[1]
            code = entry[2] if len(entry) > 2 else None
            if re.match(rx, key) and (code is None or code == st) and (code or not case["mistake"]):
                break
        else:
            return f"{st} for {'a client mistake' if case['mistake'] else 'a request'}"
    if case["mistake"] and 200 <= st < 300 and not case["streaming"] and not forced_volume_removal(key):
        return f"{st} for a client mistake"
    if st in (414, 431) and "html" in res.headers.get("content-type", "html"):
        return None   # a request head over the HTTP layer's 64 KiB limit: libmicrohttpd's own answer
    if 400 <= st < 600 and case["method"] != "HEAD":
        try:
            j = json.loads(res.body)
            assert isinstance(j, dict) and isinstance(j.get("message"), str)
        except (ValueError, AssertionError):
            return "error answer without a JSON {\"message\": ...} body"
        if "json" not in res.headers.get("content-type", ""):
            return "error answer not served as application/json"
    return None


def describe(case, res, why):
    body = case["body"]
    excerpt = repr(body[:800]) + (f"... ({len(body)} bytes)" if body and len(body) > 800 else "") if body else "none"
    hdrs = {k: (v[:100] if isinstance(v, str) else v) for k, v in case["headers"].items()}
    return (f"{why}\n  request: {case['method']} {case['target'][:600]}\n  route: {case['method']} {case['path']} "
            f"({case['mode']})\n  headers: {hdrs}\n  body: {excerpt}\n  response: {res!r}")


@pytest.fixture(scope="module")
def fixture(busybox, tmp_path_factory):
    global SPEC
    SPEC = specgen.load_spec()   # before the fixture's work: a missing spec fails at once
    fx = Fixture(busybox, str(tmp_path_factory.mktemp("robust")))
    fx.setup()
    return fx


def test_api_robustness(fixture):
    fx = fixture
    d = fx.d
    spec = SPEC
    all_routes = specgen.routes(spec)
    assert len(all_routes) > 90, "the spec has fewer routes than expected"
    rng = random.Random(SEED)
    failures = []
    sent = 0
    implemented = set()   # routes berthd serves: the random phase favours them
    tally = {}            # (mode, status class) -> count, printed at the end
    allowed = []          # the 5xx answers ALLOWED_5XX let pass, printed for review

    def alive(after):
        if d.proc.poll() is not None:
            raise AssertionError(f"berthd died (exit {d.proc.returncode}) after: {after}\nseed {SEED}\n"
                                 + d.logtail(40))
        r = send(d.sock, "GET", "/_ping", {}, None, False, 10)
        if r.error or r.status != 200:
            raise AssertionError(f"/_ping failed ({r!r}) after: {after}\nseed {SEED}")

    def run(batch):
        nonlocal sent
        for route, mode in batch:
            case = build_case(fx, spec, route, rng, mode)
            res = send(d.sock, case["method"], case["target"], case["headers"], case["body"], case["streaming"])
            sent += 1
            tally[(case["mode"], res.status // 100 if res.status else res.error[:7])] = \
                tally.get((case["mode"], res.status // 100 if res.status else res.error[:7]), 0) + 1
            if not (res.status == 404 and b"page not found" in res.body):
                implemented.add(route)
            why = check(case, res)
            if why:
                failures.append(describe(case, res, why))
            elif res.status and res.status >= 500:
                allowed.append(f"{case['method']} {case['target'][:120]} -> {res!r}"[:400])
            if d.proc.poll() is not None or (res.error and "dropped" in res.error):
                alive(describe(case, res, "last request"))
        alive(f"batch ending with {batch[-1][0]!r}")
        fx.ensure()

    # one deterministic pass: every route in every mode
    modes = ["valid", "boundary", "wrongtype", "hostile"]
    for i in range(0, len(all_routes), 8):
        run([(r, m) for r in all_routes[i:i + 8] for m in modes])
    # then random requests until the budget is spent
    deadline = time.time() + BUDGET
    while time.time() < deadline and len(failures) < 200:
        served = [r for r in all_routes if r in implemented]
        run([(rng.choice(served if served and rng.random() < 0.85 else all_routes), rng.choice(modes))
             for _ in range(16)])

    print(f"seed {SEED}: {sent} requests, {len(failures)} failures; answers by mode and class: "
          + ", ".join(f"{m}/{c}xx: {n}" for (m, c), n in sorted(tally.items(), key=str)))
    print("allowed 5xx answers:\n  " + "\n  ".join(allowed[:50]))
    assert not failures, (f"BERTH_ROBUST_SEED={SEED}: {len(failures)} of {sent} requests failed:\n\n"
                          + "\n\n".join(failures[:40]))


def test_hostile_container_configs(fixture):
    """Create bodies whose values are wrong in meaning, not in type: each is created, started,
    inspected, listed and removed. A start may fail as in Docker (a 500 from the runtime is
    allowed), but the daemon must answer every request with a status and a JSON message,
    and the container must stay inspectable."""
    fx = fixture
    d = fx.d
    failures = []
    bodies = [{"HostConfig": hc} for hc in specgen.HOSTILE_HOSTCONFIGS] + specgen.HOSTILE_CONFIGS
    for n, extra in enumerate(bodies):
        body = {"Image": "busybox:latest", "Cmd": ["sleep", "1000"]}
        body.update(extra)
        name = f"rb-hostile{n}"
        steps = [("POST", f"/containers/create?name={name}", json.dumps(body).encode(), False)]
        for method, target, data, start_like in steps + [("POST", f"/containers/{name}/start", None, True),
                                                         ("GET", f"/containers/{name}/json", None, False),
                                                         ("GET", "/containers/json?all=1&size=1", None, False),
                                                         ("DELETE", f"/containers/{name}?force=1", None, False)]:
            hdrs = {"Content-Type": "application/json"} if data else {}
            res = send(d.sock, method, target, hdrs, data, False)
            case = dict(method=method, path=target, target=target, headers=hdrs, body=data, mistake=False,
                        allow_timeout=False, streaming=False, mode="hostile-config")
            why = check(case, res)
            # a start's 500 is the runtime's verdict on the process, never berthd failing itself
            if not why and res.status and res.status >= 500 and any(
                    t in res.body for t in (b"invalid spec.json", b"encoding failed", b"internal error", b"no response")):
                why = f"{res.status} from berthd itself"
            if why:
                failures.append(describe(case, res, why))
            if res.status in (400, 404, 409, 501) and method == "POST" and "create" in target:
                break   # refused: nothing to start
        if d.proc.poll() is not None:
            raise AssertionError(f"berthd died after {body}:\n" + d.logtail(40))
    fx.ensure()
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:40])
