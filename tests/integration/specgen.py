"""Request generation from the Docker Engine API spec (swagger 2.0, v1.52) for
test_api_robustness.py: every route with valid, boundary, wrongly typed and
hostile values in its path, query, headers and body. Pure functions of the
spec and a random.Random, so a seed replays the same requests."""
import copy
import json
import os
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.environ.get("BERTH_DOCKER_SPEC",
                           os.path.join(REPO, "..", "shared", "reference", "docker-engine-api-v1.52.yaml"))

HUGE = 2 ** 63
LONG = 64 * 1024          # body strings
LONG_QUERY = 8 * 1024     # query/path strings (berthd's connection memory limit is 64 KiB per request)

# (kind, value): "valid" values a client may send, "bad" ones are client mistakes
HOSTILE_STRINGS = [
    "../../etc/passwd", "/../../../../etc/shadow", "a\x00b", "\x00", "\x01\x02\x1b[31m\x7f", "line\nbreak\r\n",
    "%00", "%2e%2e%2f", "caf\u00e9 \u2603 \U0001f600", "\ufeff", "\u202e", "name with spaces", " ", "'; DROP",
    "$(reboot)", "`id`", "%s%s%n%n", "{}", "[]", "null", "-1", "0x7fffffffffffffff",
    # invalid UTF-8 where bytes are sent raw (path, query, headers): lone surrogates encode to it
    "\udcff\udcfe", "ok\udc80", "\ud800",
]


class Route:
    def __init__(self, method, path, op, spec):
        self.method = method
        self.path = path
        self.op = op
        self.params = [resolve(spec, p) for p in op.get("parameters", [])]
        self.path_params = [p for p in self.params if p.get("in") == "path"]
        self.query_params = [p for p in self.params if p.get("in") == "query"]
        self.header_params = [p for p in self.params if p.get("in") == "header"]
        body = [p for p in self.params if p.get("in") == "body"]
        self.body = body[0] if body else None
        self.body_schema = resolve(spec, self.body.get("schema", {"type": "string"})) if self.body else None
        self.consumes = op.get("consumes") or []

    def __repr__(self):
        return f"{self.method} {self.path}"


def load_spec(path=SPEC_PATH):
    import yaml
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the Docker Engine API spec is missing: {os.path.abspath(path)} (CI has shared/ beside the clone: "
            "../shared/reference/docker-engine-api-v1.52.yaml; set BERTH_DOCKER_SPEC to use another copy)")
    with open(path) as f:
        return yaml.safe_load(f)


def routes(spec):
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method.lower() in ("get", "post", "put", "delete", "head"):
                out.append(Route(method.upper(), path, op, spec))
    return out


def resolve(spec, s, depth=0):
    """Resolves $ref and merges allOf, a few levels deep (enough for values)."""
    if not isinstance(s, dict):
        return s
    if "$ref" in s:
        name = s["$ref"].split("/")[-1]
        base = copy.copy(spec["definitions"].get(name, {}))
        return resolve(spec, base, depth)
    if "allOf" in s:
        merged = {"type": "object", "properties": {}}
        for part in s["allOf"]:
            p = resolve(spec, part, depth)
            merged["properties"].update(p.get("properties", {}))
            merged.setdefault("required", []).extend(p.get("required", []))
        for k, v in s.items():
            if k != "allOf":
                merged[k] = v
        return merged
    return s


def stype(s):
    t = s.get("type")
    if t is None and "properties" in s:
        return "object"
    return t or "string"


# ---- values ----

def valid_value(spec, s, rng, depth=0):
    """A plausible value for schema s (examples and enums first)."""
    s = resolve(spec, s)
    if "example" in s and rng.random() < 0.5 and depth > 0:
        return copy.deepcopy(s["example"])
    if "enum" in s and s["enum"]:
        return rng.choice(s["enum"])
    t = stype(s)
    if t == "integer":
        return rng.choice([0, 1, 10, s.get("default", 2) if isinstance(s.get("default"), int) else 3])
    if t == "number":
        return rng.choice([0, 0.5, 1])
    if t == "boolean":
        return rng.choice([True, False])
    if t == "array":
        if depth > 3:
            return []
        return [valid_value(spec, s.get("items", {"type": "string"}), rng, depth + 1)
                for _ in range(rng.randint(0, 2))]
    if t == "object":
        if depth > 3:
            return {}
        props = s.get("properties", {})
        out = {}
        for k, v in props.items():
            if rng.random() < 0.3 or k in s.get("required", []):
                out[k] = valid_value(spec, v, rng, depth + 1)
        if not props and isinstance(s.get("additionalProperties"), dict) and rng.random() < 0.5:
            out["key"] = valid_value(spec, s["additionalProperties"], rng, depth + 1)
        return out
    return rng.choice(["", "a", "test", "value1"])


def boundary_value(s, rng):
    t = stype(s)
    if t in ("integer", "number"):
        return rng.choice([0, -1, HUGE, -HUGE, 2 ** 31, 2 ** 64, 1e308, -1e308])
    if t == "boolean":
        return rng.choice([True, False, 0, 1])
    if t == "array":
        return rng.choice([[], [""] * 1000, ["x" * LONG]])
    if t == "object":
        return rng.choice([{}, {"": ""}, {"k" * 1000: "v"}])
    return rng.choice(["", "x" * LONG, " " * 100])


def wrong_type_value(s, rng):
    t = stype(s)
    choices = [None, [[[]]], [[[[1]]], {"a": [None]}], 1.5, -1, True]
    if t != "string":
        choices += ["not-a-" + t, ""]
    if t != "object":
        choices += [{"nested": {"deeper": [1, "2", None]}}]
    if t != "array":
        choices += [[1, "two", None, {}]]
    if t in ("array",):
        choices += [{"0": "a"}, "comma,separated"]
    return rng.choice(choices)


def kind_mismatch(s, v):
    """True when Go's json.Unmarshal rejects v for schema s's top-level type."""
    t = stype(s)
    if v is None:
        return False
    if t == "string":
        return not isinstance(v, str)
    if t == "integer":
        return isinstance(v, bool) or not isinstance(v, int)
    if t == "number":
        return isinstance(v, bool) or not isinstance(v, (int, float))
    if t == "boolean":
        return not isinstance(v, bool)
    if t == "array":
        return not isinstance(v, list)
    if t == "object":
        return not isinstance(v, dict)
    return False


def hostile_string(rng):
    v = rng.choice(HOSTILE_STRINGS + ["x" * LONG, "\U0010ffff" * 100])
    return v


def deep_json(n):
    return ("[" * n + "]" * n).encode()


def deep_json_object(n):
    return ('{"a":' * n + "1" + "}" * n).encode()


# ---- query strings ----

def query_value_strings(spec, p, rng, mode):
    """(string value, is_mistake) for query parameter p; mistakes only where
    Docker rejects them (malformed ints and JSON filters)."""
    t = p.get("type", "string")
    name = p["name"]
    if mode == "valid":
        if t == "integer":
            return str(rng.choice([0, 1, 10])), False
        if t == "boolean":
            return rng.choice(["1", "0", "true", "false"]), False
        if t == "array":
            return json.dumps([]), False
        if name == "filters":
            return rng.choice(["{}", '{"label":["a=b"]}', '{"name":{"x":true}}', ""]), False
        if "enum" in p:
            return rng.choice(p["enum"]), False
        return rng.choice(["", "test", "1"]), False
    if mode == "boundary":
        if t == "integer":
            return rng.choice(["0", "-1", str(HUGE), str(-HUGE - 1), str(2 ** 64), "99999999999999999999999"]), \
                None
        return rng.choice(["", "x" * LONG_QUERY, " ", "0", "-1"]), None
    if mode == "wrongtype":
        if t == "integer":
            return rng.choice(["abc", "1.5", "1e3", "[]", "{}", "0x10", " 1", "1 ", "--1"]), True
        if name == "filters":
            return rng.choice(["[]", "null", "1", '"s"', '{"a":1}', '{"a":[1,{}]}', "{", '{"a":{"b":1}}',
                               '{"label":"x"}', json.dumps([[[]]])]), None
        return rng.choice(["[]", "{}", "null", "1.5"]), None
    # hostile
    v = hostile_string(rng)
    if len(v) > LONG_QUERY:
        v = v[:LONG_QUERY]
    if name == "filters" and rng.random() < 0.5:
        v = rng.choice(["[" * 10000 + "]" * 10000, '{"a":' * 3000 + "1" + "}" * 3000,
                        '{"\\u0000":["\\u0000"]}', '{"label":["\\ud800"]}', '{"status":["' + "x" * 4000 + '"]}'])
    return v, None


def raw_bytes(v):
    """str -> bytes, lone surrogates \\udc80-\\udcff as the raw bytes they stand for, others as CESU-8."""
    if not isinstance(v, str):
        return v
    try:
        return v.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return v.encode("utf-8", "surrogatepass")


def encode_query(pairs, rng):
    out = []
    for k, v in pairs:
        raw = raw_bytes(v)
        out.append(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote_from_bytes(raw, safe=""))
    if rng.random() < 0.05:
        out.append(rng.choice(["%ff%fe=1", "a=%00", "=", "&&", "x=%zz", "k%00ey=v"]))
    return "&".join(out)


# ---- bodies ----

def body_cases(spec, route, rng, mode):
    """(bytes, content-type, is_mistake) for route's body."""
    s = route.body_schema
    if s is None:
        if mode == "hostile" and route.method in ("POST", "PUT"):
            return rng.choice([(b"x" * (5 * 1024 * 1024), "application/octet-stream"),
                               (b"{}", "application/json"), (b"\xff\xfe", "text/plain")]) + (None,)
        return None, None, False
    t = stype(s)
    if t == "string":   # tar streams and the like
        if mode == "valid":
            return b"", "application/x-tar", None
        return rng.choice([b"not a tar", b"\x00" * 1024, os.urandom(4096), b"x" * (5 * 1024 * 1024)]), \
            rng.choice(["application/x-tar", "application/octet-stream", "text/plain", None]), None
    ct = "application/json"
    if mode == "valid":
        return json.dumps(valid_value(spec, s, rng)).encode(), ct, False
    if mode in ("boundary", "wrongtype"):
        v = valid_value(spec, s, rng) if t == "object" else {}
        props = list(s.get("properties", {}).items())
        if not isinstance(v, dict) or not props:
            return json.dumps(wrong_type_value(s, rng)).encode(), ct, True
        touched = {}
        for _ in range(rng.randint(1, 3)):
            k, ps = rng.choice(props)
            ps = resolve(spec, ps)
            v[k] = boundary_value(ps, rng) if mode == "boundary" else wrong_type_value(ps, rng)
            touched[k] = ps
        # judged on the final values: a key may have been picked twice
        nonnull = mode == "wrongtype" and any(kind_mismatch(ps, v[k]) for k, ps in touched.items() if k in v)
        if mode == "wrongtype" and rng.random() < 0.3:
            for r in s.get("required", []):
                v.pop(r, None)
        # null is every Go type's zero value: only other wrong types are mistakes
        return json.dumps(v).encode(), ct, (mode == "wrongtype" and nonnull) or None
    # hostile
    kind = rng.randrange(14)
    if kind > 11:
        kind = 11
    if kind == 0:
        return deep_json(10000), ct, True
    if kind == 1:
        return deep_json_object(10000), ct, True
    if kind == 2:
        return b'{"a": ', ct, True
    if kind == 3:
        return rng.choice([b"\xff\xfe\xfd", b'{"Image": "\xff\xfe"}', b'{"a":"\\ud800"}', b'{"a\x00":1}']), ct, True
    if kind == 4:
        return b'{"x": "' + b"A" * (5 * 1024 * 1024) + b'"}', ct, None
    if kind == 5:
        return json.dumps(valid_value(spec, s, rng)).encode(), rng.choice(
            ["text/plain", "application/x-tar", "multipart/form-data; boundary=x", "application/json; charset=latin1",
             "", "application/json\x7f"]), None
    if kind == 6:
        return rng.choice([b"null", b"[]", b"1", b"\"s\"", b"true", b"\x00"]), ct, True
    if kind == 7:
        # hostile strings in every string field of a valid body
        v = valid_value(spec, s, rng)
        if isinstance(v, dict):
            for k, ps in s.get("properties", {}).items():
                ps = resolve(spec, ps)
                if stype(ps) == "string" and rng.random() < 0.5:
                    v[k] = hostile_string(rng)
                elif stype(ps) == "array" and rng.random() < 0.2:
                    v[k] = [hostile_string(rng)]
                elif stype(ps) == "object" and rng.random() < 0.2:
                    v[k] = {hostile_string(rng): hostile_string(rng)}
        return json.dumps(v).encode(), ct, None
    if kind == 8:
        return json.dumps({"a": [[[[{}]]]] * 1000, "b": {"c": None}}).encode(), ct, None
    if kind == 9:
        return b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(20000)) + b"}", ct, None
    if kind == 10:
        return rng.choice([b'{"a":1,"a":2,"":null}', b"\xef\xbb\xbf{}"]), ct, None
    # kind 11: a valid body with leaves anywhere in it replaced by hostile, boundary or wrongly typed values
    v = full_value(spec, s, rng)
    return json.dumps(mutate(v, rng)).encode(), ct, None


def full_value(spec, s, rng, depth=0):
    """Like valid_value, with most properties present (nested ones too)."""
    s = resolve(spec, s)
    t = stype(s)
    if t == "object" and depth < 4 and s.get("properties"):
        return {k: full_value(spec, v, rng, depth + 1) for k, v in s["properties"].items() if rng.random() < 0.7}
    if t == "array" and depth < 4:
        return [full_value(spec, s.get("items", {"type": "string"}), rng, depth + 1)]
    return valid_value(spec, s, rng, depth + 1)


def mutate(v, rng):
    if isinstance(v, dict):
        return {k: mutate(x, rng) for k, x in v.items()}
    if isinstance(v, list):
        return [mutate(x, rng) for x in v]
    r = rng.random()
    if r < 0.15:
        return hostile_string(rng)
    if r < 0.25:
        return rng.choice([0, -1, HUGE, -HUGE, 2 ** 64, 1e308, "", None, [], {}, True])
    return v


# Semantically hostile create bodies the schema cannot express: bad ports, binds, links,
# namespaces modes, capabilities, limits. Each is created, started, inspected and removed.
HOSTILE_HOSTCONFIGS = [
    {"PortBindings": {"99999/tcp": [{"HostPort": "-1"}]}}, {"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}},
    {"PortBindings": {"80/tcp": [{"HostIp": "x", "HostPort": "18095"}]}}, {"PortBindings": {"80/tcp": None}},
    {"PortBindings": {"80/tcp": [1]}}, {"PortBindings": {"": []}}, {"PortBindings": {"80/tcp": [{"HostPort": "a-b"}]}},
    {"PortBindings": {"80/tcp": [{"HostPort": "18096-18090"}]}},
    {"Binds": ["relative:/x"]}, {"Binds": ["/etc:/etc:zz"]}, {"Binds": [":"]}, {"Binds": ["/a:/b:ro:extra"]},
    {"Binds": ["/tmp:relative"]}, {"Binds": [""]}, {"Binds": ["/proc/nonexistent-src:/x"]},
    {"Mounts": [{"Type": "bind", "Source": "", "Target": ""}]}, {"Mounts": [{"Type": "xx"}]}, {"Mounts": [1]},
    {"Mounts": [{"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"SizeBytes": -1}}]},
    {"Links": ["", ":", "a:b:c"]}, {"Links": ["rb-running:"]}, {"Links": [":alias"]}, {"Links": ["nonexistent:x"]},
    {"NetworkMode": "container:"}, {"NetworkMode": "container:nonexistent"}, {"NetworkMode": "container:rb-running"},
    {"NetworkMode": "nonexistent"}, {"NetworkMode": "default"}, {"NetworkMode": "host"}, {"NetworkMode": "none"},
    {"Ulimits": [{"Name": "nofile", "Soft": -1, "Hard": -2}]}, {"Ulimits": [1]},
    {"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]},
    {"Tmpfs": {"/x": "size=abc"}}, {"Tmpfs": {"relative": ""}}, {"Sysctls": {"kernel.bogus": "1"}},
    {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}, {"RestartPolicy": {"Name": "bogus"}},
    {"LogConfig": {"Type": "syslog"}}, {"LogConfig": {"Type": "json-file", "Config": {"max-size": "abc"}}},
    {"Dns": ["not-an-ip"]}, {"ExtraHosts": ["bad"]}, {"ExtraHosts": ["h:1.2.3.4:5"]},
    {"CapAdd": ["CAP_BOGUS"]}, {"CapAdd": ["ALL"]}, {"CapDrop": ["ALL"]}, {"SecurityOpt": ["bogus"]},
    {"Memory": -1}, {"CpuShares": -5}, {"PidsLimit": -2}, {"ShmSize": -1}, {"OomScoreAdj": 5000},
    {"ConsoleSize": [1]}, {"IpcMode": "bogus"}, {"PidMode": "container:nonexistent"}, {"UTSMode": "bogus"},
    {"CgroupnsMode": "bogus"}, {"UsernsMode": "bogus"}, {"VolumesFrom": ["nonexistent"]},
    {"VolumesFrom": ["rb-bind:bogus"]}, {"GroupAdd": ["nonexistentgroup"]},
    {"Devices": [{"PathOnHost": "/dev/nonexistent"}]}, {"MaskedPaths": ["relative"]}, {"ReadonlyPaths": [""]},
]
HOSTILE_CONFIGS = [
    {"ExposedPorts": {"abc": {}}}, {"ExposedPorts": {"80/sctp": {}}}, {"ExposedPorts": {"0/tcp": {}}},
    {"ExposedPorts": {"65536/tcp": {}}}, {"Env": ["=x", "", "A"]}, {"StopSignal": "SIGFOO"}, {"StopSignal": "99"},
    {"Healthcheck": {"Test": ["CMD"], "Interval": -1}}, {"User": "99999999999:-1"}, {"User": "nouser"},
    {"WorkingDir": "relative"}, {"WorkingDir": "/" + "x" * 5000}, {"Hostname": "x" * 300}, {"Hostname": "bad host"},
    {"MacAddress": "zz"}, {"Cmd": []}, {"Cmd": [""]}, {"Entrypoint": [""]}, {"Cmd": ["/nonexistent"]},
    {"Volumes": {"relative": {}}}, {"Labels": {"": ""}}, {"StopTimeout": -5}, {"Image": "busybox@sha256:00"},
    {"Image": "BUSYBOX"}, {"NetworkingConfig": {"EndpointsConfig": {"nonexistent": {}}}},
    {"NetworkingConfig": {"EndpointsConfig": {"bridge": {"IPAMConfig": {"IPv4Address": "bad"}}}}},
    {"NetworkingConfig": {"EndpointsConfig": {"rb-net1": {"IPAMConfig": {"IPv4Address": "1.1.1.1"}}}}},
    {"NetworkingConfig": {"EndpointsConfig": {"bridge": {"Links": ["rb-running:x"], "MacAddress": "zz"}}}},
    {"NetworkingConfig": {"EndpointsConfig": {"rb-net1": {"Aliases": ["a" * 1000]}}}},
]
