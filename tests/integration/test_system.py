"""System endpoints through curl, the docker CLI and docker-py."""
import json


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
