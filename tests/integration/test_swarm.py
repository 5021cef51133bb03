"""Swarm and plugin endpoints answer as a daemon outside a swarm does."""
import pytest

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
               'this node to swarm and try again.')


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1.41/swarm"), ("GET", "/swarm/unlockkey"), ("POST", "/swarm/update"), ("GET", "/nodes"),
    ("GET", "/nodes/abc"), ("DELETE", "/nodes/abc"), ("GET", "/services"), ("POST", "/services/create"),
    ("POST", "/services/x/update"), ("GET", "/tasks"), ("GET", "/tasks/x"), ("GET", "/secrets"),
    ("POST", "/secrets/create"), ("GET", "/configs"), ("DELETE", "/configs/x"),
])
def test_not_a_manager(berthd, method, path):
    st, j = berthd.curl_json(path, method)
    assert (st, j) == (503, {"message": NOT_MANAGER})


def test_leave_outside_swarm(berthd):
    st, j = berthd.curl_json("/swarm/leave?force=1", "POST")
    assert (st, j) == (503, {"message": "This node is not part of a swarm"})


def test_init_refused_clearly(berthd):
    st, j = berthd.curl_json("/swarm/init", "POST", {"ListenAddr": "127.0.0.1:2377"})
    assert st == 501 and "not supported by berth" in j["message"]


def test_plugins(berthd):
    assert berthd.curl_json("/plugins") == (200, [])
    st, j = berthd.curl_json("/plugins/vieux/sshfs:latest/json")
    assert (st, j) == (404, {"message": 'plugin "vieux/sshfs:latest" not found'})
    st, j = berthd.curl_json("/plugins/pull?remote=vieux/sshfs", "POST", [])
    assert st == 501 and "not supported by berth" in j["message"]


def test_docker_py_leave_is_ignored(berthd):
    # docker-py's network tests tear down with leave_swarm(force=True), which
    # ignores only 503 and 406.
    c = berthd.client()
    assert c.api.leave_swarm(force=True) is True  # raises on any other status
    assert c.plugins.list() == []
