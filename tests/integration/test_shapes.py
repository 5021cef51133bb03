"""The JSON shapes of berthd's inspect and list objects against Docker's, key by key.

shapes/*.json are what a reference dockerd 20.10 (API 1.41) answered for the same objects
(shapes/record.sh regenerates them). Keys and, where both sides have a value, JSON kinds are
compared; values are not. A key Docker has that berth lacks fails, and so does a key berth adds
that Docker 1.41 does not have, unless it is in EXTRAS with its reason. Newer versions are checked
against the key sets of the v1.52 spec (shapes/spec-v1.52-keys.json). Also here: HostConfig/Config fields berth does not
implement are refused, never stored and ignored."""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = os.path.join(HERE, "shapes")

# Objects whose keys are names or ids, not fields: their values are compared, one against another.
MAPS = {"Networks", "Ports", "Labels", "ExposedPorts", "Volumes", "Containers", "Options", "Runtimes",
        "IndexConfigs", "LogConfig.Config", "Sysctls", "Tmpfs", "DriverOpts",
        "Annotations"}

# Keys berth shows that dockerd 1.41 does not, each for a reason.
EXTRAS = {
    # berth resolves the runtime at create, dockerd at start: the created container shows it already.
    ".HostConfig.Runtime",
    # dockerd leaves the gateway out of the default bridge's IPAM config when started with --bip.
    ".IPAM.Config[].Gateway",
}


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(v)]


def is_map(path):
    return any(path == "." + m or path.endswith("." + m) for m in MAPS)


def diff(ref, got, path="", out=None):
    """Differences of keys (and of kinds, where neither side is null) from Docker's ref to berth's got."""
    out = [] if out is None else out
    if isinstance(ref, dict) and isinstance(got, dict):
        if is_map(path):
            if ref and got:
                diff(next(iter(ref.values())), next(iter(got.values())), path + ".*", out)
            return out
        for k in ref:
            if k not in got:
                out.append(f"missing {path}.{k}")
            else:
                diff(ref[k], got[k], f"{path}.{k}", out)
        for k in got:
            if k not in ref and f"{path}.{k}" not in EXTRAS:
                out.append(f"extra   {path}.{k}")
    elif isinstance(ref, list) and isinstance(got, list):
        if ref and got:
            diff(ref[0], got[0], path + "[]", out)
    elif kind(ref) != kind(got) and "null" not in (kind(ref), kind(got)):
        out.append(f"kind    {path}: docker {kind(ref)}, berth {kind(got)}")
    return out


def reference(name):
    with open(os.path.join(SHAPES, name + ".json")) as f:
        return json.load(f)


def get(d, path, version="v1.41"):
    st, j = d.curl_json(f"/{version}{path}")
    assert st == 200, (path, st, j)
    return j


def post(d, path, body=None, version="v1.41"):
    st, j = d.curl_json(f"/{version}{path}", "POST", body if body is not None else {})
    assert st in (200, 201, 204), (path, st, j)
    return j


def assert_shape(name, got):
    problems = diff(reference(name), got)
    assert not problems, f"{name}: berth's shape differs from dockerd's:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def objs(busybox):
    """The objects record.sh creates on the reference daemon, created the same way on berthd."""
    d = busybox
    created = post(d, "/containers/create?name=shape-created", {"Image": "busybox"})["Id"]
    post(d, "/networks/create", {"Name": "shape-net"})
    running = post(d, "/containers/create?name=shape-running",
                   {"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "shape-net"}})["Id"]
    post(d, f"/containers/{running}/start")
    exec_id = post(d, f"/containers/{running}/exec", {"Cmd": ["true"], "AttachStdout": True})["Id"]
    yield {"d": d, "created": created, "running": running, "exec": exec_id}
    d.docker("rm", "-f", created, running, check=False)
    d.docker("network", "rm", "shape-net", check=False)


def one(items, pred):
    found = [x for x in items if pred(x)]
    assert len(found) == 1, items
    return found[0]


def test_container_inspect_created(objs):
    assert_shape("container-inspect-created", get(objs["d"], f"/containers/{objs['created']}/json"))


@pytest.mark.parametrize("version", ["v1.12", "v1.20"])
def test_container_inspect_old_versions(objs, version):
    assert_shape(f"container-inspect-created-{version}",
                 get(objs["d"], f"/containers/{objs['created']}/json", version))


def test_container_inspect_running(objs):
    j = get(objs["d"], f"/containers/{objs['running']}/json")
    assert_shape("container-inspect-running", j)
    # overlayfs' lowerdir order: the container's init layer, then the image's layers, all present
    lower = j["GraphDriver"]["Data"]["LowerDir"].split(":")
    assert lower[0].endswith(f"/{objs['running']}/init") and len(lower) >= 2
    assert all(os.path.isdir(p) for p in lower), lower


def test_container_inspect_size(objs):
    j = get(objs["d"], f"/containers/{objs['running']}/json?size=1")
    assert_shape("container-inspect-size", j)
    assert "SizeRw" in j and "SizeRootFs" in j
    assert "SizeRw" not in get(objs["d"], f"/containers/{objs['running']}/json")


def test_container_list_item(objs):
    items = get(objs["d"], "/containers/json?all=1")
    assert_shape("container-list-item", one(items, lambda x: x["Id"] == objs["running"]))
    items = get(objs["d"], "/containers/json?all=1&size=1")
    assert_shape("container-list-item-size", one(items, lambda x: x["Id"] == objs["running"]))


def test_exec_inspect(objs):
    assert_shape("exec-inspect", get(objs["d"], f"/exec/{objs['exec']}/json"))


def test_image_inspect_and_list(objs):
    assert_shape("image-inspect", get(objs["d"], "/images/busybox/json"))
    items = get(objs["d"], "/images/json")
    assert_shape("image-list-item", one(items, lambda x: "busybox:latest" in (x["RepoTags"] or [])))


def test_networks(objs):
    d = objs["d"]
    assert_shape("network-inspect-bridge", get(d, "/networks/bridge"))
    assert_shape("network-inspect-user", get(d, "/networks/shape-net"))
    assert_shape("network-list-item", one(get(d, "/networks"), lambda x: x["Name"] == "shape-net"))


def test_system(objs):
    d = objs["d"]
    assert_shape("info", get(d, "/info"))
    assert_shape("version", get(d, "/version"))
    df = get(d, "/system/df")
    assert_shape("system-df", df)
    assert any(c["Id"] == objs["running"] for c in df["Containers"])
    assert df["BuildCache"] == [] and isinstance(df["Volumes"], list)


def spec_properties(definition):
    """The keys of a definition of the v1.52 spec (recorded by shapes/record.sh)."""
    with open(os.path.join(SHAPES, "spec-v1.52-keys.json")) as f:
        return set(json.load(f)[definition])


LEGACY_NETWORK_SETTINGS = {"Bridge", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen",
                           "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "Gateway",
                           "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway",
                           "MacAddress"}

# Go's omitempty keys: absent until set
HOST_OMITEMPTY = {"Annotations", "StorageOpt", "Tmpfs", "Sysctls", "Runtime", "Mounts", "Init"}


def test_host_config_keys_at_1_52(objs):
    hc = get(objs["d"], f"/containers/{objs['created']}/json", "v1.52")["HostConfig"]
    want = spec_properties("HostConfig")
    assert want - HOST_OMITEMPTY <= set(hc), sorted(want - HOST_OMITEMPTY - set(hc))
    assert set(hc) <= want, sorted(set(hc) - want)
    assert "KernelMemoryTCP" not in hc and "KernelMemory" not in hc


def test_inspect_keys_at_1_52(objs):
    j = get(objs["d"], f"/containers/{objs['running']}/json", "v1.52")
    assert set(j) <= spec_properties("ContainerInspectResponse"), sorted(set(j) - spec_properties(
        "ContainerInspectResponse"))
    # dockerd dropped the default network's copy at the top in 1.52; berth keeps it (docker-py reads it)
    assert set(j["NetworkSettings"]) - LEGACY_NETWORK_SETTINGS <= spec_properties("NetworkSettings")
    assert set(j["Config"]) <= spec_properties("ContainerConfig")
    for ep in j["NetworkSettings"]["Networks"].values():
        assert set(ep) <= spec_properties("EndpointSettings")


def test_info_and_list_keys_at_1_52(objs):
    d = objs["d"]
    info = get(d, "/info", "v1.52")
    assert set(info) <= spec_properties("SystemInfo"), sorted(set(info) - spec_properties("SystemInfo"))
    assert info["CDISpecDirs"] == [] and "BridgeNfIptables" not in info
    assert "AllowNondistributableArtifactsCIDRs" not in info["RegistryConfig"]
    item = one(get(d, "/containers/json", "v1.52"), lambda x: x["Id"] == objs["running"])
    assert set(item) <= spec_properties("ContainerSummary"), sorted(set(item) - spec_properties("ContainerSummary"))


def test_other_objects_at_1_52(objs):
    """Image, network, exec, version: no key the v1.52 spec does not have."""
    d = objs["d"]
    for name, path in (("ImageInspect", "/images/busybox/json"), ("NetworkInspect", "/networks/shape-net"),
                       ("ExecInspect", f"/exec/{objs['exec']}/json"), ("SystemVersion", "/version")):
        j = get(d, path, "v1.52")
        # dockerd still shows the deprecated DockerVersion and Parent of an image when they are set
        extra = {"DockerVersion", "Parent"} if name == "ImageInspect" else set()
        assert set(j) - extra <= spec_properties(name), (name, sorted(set(j) - spec_properties(name)))
    for name, path in (("ImageSummary", "/images/json"), ("NetworkSummary", "/networks")):
        for j in get(d, path, "v1.52"):
            assert set(j) <= spec_properties(name), (name, sorted(set(j) - spec_properties(name)))
    assert get(d, "/networks/shape-net", "v1.52")["EnableIPv4"] is True
    # IPAM usage (1.52): the network and broadcast addresses, the gateway and the running container
    sub = get(d, "/networks/shape-net", "v1.52")["IPAM"]["Config"][0]["Subnet"]
    st = get(d, "/networks/shape-net", "v1.52")["Status"]["IPAM"]["Subnets"][sub]
    size = 1 << (32 - int(sub.split("/")[1]))
    assert st == {"IPsInUse": 4, "DynamicIPsAvailable": size - 4}, st
    assert "Status" not in get(d, "/networks/shape-net", "v1.51")
    assert "EnableIPv4" not in get(d, "/networks/shape-net", "v1.47")


def test_network_without_ipv4_refused(busybox):
    st, j = busybox.curl_json("/v1.52/networks/create", "POST", {"Name": "nov4", "EnableIPv4": False})
    assert st == 400 and "EnableIPv4=false is not supported by berth" in j["message"]
    assert busybox.curl_json("/v1.52/networks/nov4")[0] == 404
    # before 1.48 the field is not Docker's: ignored, as dockerd does
    st, j = busybox.curl_json("/v1.47/networks/create", "POST", {"Name": "oldv4", "EnableIPv4": False})
    assert st == 201
    busybox.curl("/networks/oldv4", "DELETE")


def test_versioned_keys(objs):
    d = objs["d"]
    old = get(d, f"/containers/{objs['created']}/json", "v1.39")["HostConfig"]
    assert "CgroupnsMode" in old  # added in 1.40, but dockerd shows it at every version
    hc41 = get(d, f"/containers/{objs['created']}/json", "v1.41")["HostConfig"]
    assert hc41["KernelMemory"] == 0 and hc41["ConsoleSize"] == [0, 0]
    assert "KernelMemory" not in get(d, f"/containers/{objs['created']}/json", "v1.42")["HostConfig"]
    assert "BuilderSize" in get(d, "/system/df", "v1.41")
    assert "BuilderSize" not in get(d, "/system/df", "v1.42")


def test_defaults_shown_not_stored(objs):
    """Defaults are filled when shown: values the client sent win over them."""
    d = objs["d"]
    cid = post(d, "/containers/create", {"Image": "busybox", "HostConfig": {"CpuShares": 512, "Dns": ["1.1.1.1"]}})["Id"]
    try:
        hc = get(d, f"/containers/{cid}/json")["HostConfig"]
        assert hc["CpuShares"] == 512 and hc["Dns"] == ["1.1.1.1"]
        assert hc["BlkioWeight"] == 0 and hc["PidsLimit"] is None and hc["ShmSize"] == 67108864
    finally:
        d.docker("rm", "-f", cid, check=False)


# ---- fields berth does not implement ----

REFUSED = [
    ({"HostConfig": {"StorageOpt": {"size": "1G"}}}, "HostConfig.StorageOpt is not supported by berth"),
    ({"HostConfig": {"Isolation": "hyperv"}}, "HostConfig.Isolation is not supported by berth"),
    ({"HostConfig": {"Cgroup": "container:x"}}, "HostConfig.Cgroup is not supported by berth"),
    ({"HostConfig": {"Annotations": {"a": "b"}}}, "HostConfig.Annotations is not supported by berth"),
    ({"HostConfig": {"CgroupParent": "/mine"}}, "HostConfig.CgroupParent is not supported by berth"),
    ({"HostConfig": {"CpuCount": 2}}, "HostConfig.CpuCount is not supported by berth"),
    ({"HostConfig": {"KernelMemoryTCP": 1 << 24}}, "HostConfig.KernelMemoryTCP is not supported by berth"),
    ({"HostConfig": {"DeviceRequests": [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]}},
     "HostConfig.DeviceRequests is not supported by berth"),
    ({"HostConfig": {"CgroupnsMode": "host"}}, "HostConfig.CgroupnsMode=host is not supported by berth"),
    ({"NetworkDisabled": True}, "Config.NetworkDisabled is not supported by berth"),
]


@pytest.mark.parametrize("body,msg", REFUSED, ids=[m.split()[0] for _, m in REFUSED])
def test_unimplemented_field_refused(busybox, body, msg):
    d = busybox
    before = get(d, "/containers/json?all=1")
    st, j = d.curl_json("/v1.41/containers/create", "POST", dict({"Image": "busybox"}, **body))
    assert st == 400, j
    assert j["message"] == msg or j["message"].startswith(msg), j
    assert len(get(d, "/containers/json?all=1")) == len(before)


def test_field_gone_from_a_version_is_ignored(busybox):
    """KernelMemoryTCP is refused where the API has it, and unknown (so ignored) from 1.52 on."""
    d = busybox
    body = {"Image": "busybox", "HostConfig": {"KernelMemoryTCP": 1 << 24}}
    assert d.curl_json("/v1.51/containers/create", "POST", body)[0] == 400
    cid = post(d, "/containers/create", body, version="v1.52")["Id"]
    try:
        assert get(d, f"/containers/{cid}/json", "v1.41")["HostConfig"]["KernelMemoryTCP"] == 0
    finally:
        d.docker("rm", "-f", cid, check=False)


def test_default_values_accepted(busybox):
    """What clients send for "not set" (zero values, Docker's defaults), and keys Docker does not know."""
    d = busybox
    body = {"Image": "busybox", "NetworkDisabled": False, "Bogus": 1,
            "HostConfig": {"StorageOpt": {}, "Isolation": "default", "Cgroup": "", "IOMaximumIOps": 0,
                           "Annotations": None, "CgroupnsMode": "private", "ConsoleSize": [0, 0],
                           "CgroupParent": "", "CpuCount": 0, "DeviceRequests": [],
                           "NotDockers": {"x": 1}}}
    cid = post(d, "/containers/create", body)["Id"]
    try:
        hc = get(d, f"/containers/{cid}/json")["HostConfig"]
        assert hc["Isolation"] == "default" and hc["CgroupnsMode"] == "private"
    finally:
        d.docker("rm", "-f", cid, check=False)


def test_refusal_through_the_cli(busybox):
    r = busybox.docker("create", "--storage-opt", "size=1G", "busybox", check=False)
    assert r.returncode != 0
    assert b"HostConfig.StorageOpt is not supported by berth" in r.stderr


def test_invalid_cgroupns_mode(busybox):
    st, j = busybox.curl_json("/v1.41/containers/create", "POST",
                              {"Image": "busybox", "HostConfig": {"CgroupnsMode": "bogus"}})
    assert st == 400 and j["message"] == "invalid cgroup namespace mode: bogus"


def test_record_script_is_executable():
    assert os.access(os.path.join(SHAPES, "record.sh"), os.X_OK)
    subprocess.run(["sh", "-n", os.path.join(SHAPES, "record.sh")], check=True)


def test_console_size_honoured(busybox):
    """HostConfig.ConsoleSize is the tty's size when the process starts (API 1.42+)."""
    d = busybox
    cid = post(d, "/containers/create",
               {"Image": "busybox", "Tty": True, "Cmd": ["stty", "size"], "HostConfig": {"ConsoleSize": [33, 77]}},
               version="v1.43")["Id"]
    try:
        post(d, f"/containers/{cid}/start", version="v1.43")
        d.docker("wait", cid)
        assert d.docker("logs", cid).stdout.strip() == b"33 77"
    finally:
        d.docker("rm", "-f", cid, check=False)
