"""berth's image, registry, archive and prune commands compared with the docker CLI against the same berthd:
stdout, the first line of stderr and the exit code, with ids normalized where each run makes its own."""
import base64
import io
import json
import os
import pty
import re
import subprocess
import tarfile

import pytest

from berthtest import BERTH, DOCKER
from test_registry import REGISTRY, Registry

ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def out(r):
    return r.stdout.decode(errors="replace")


def err1(r):
    lines = r.stderr.decode(errors="replace").splitlines()
    # docker 28 warns about its legacy builder on builder commands; berth has no such builder
    lines = [l for l in lines if not l.startswith(("DEPRECATED:", "            "))]
    return lines[0] if lines else ""


def norm(s):
    return ID.sub("<id>", s)


def same(cli, *args, input=None, ids=False, stderr=True):
    """berth and docker print the same thing (stdout, first stderr line) with the same exit code."""
    b = cli.berth(*args, input=input, check=False)
    d = cli.docker(*args, input=input, check=False)
    fb, fd = (norm, norm) if ids else (str, str)
    bo = (fb(out(b)), fb(err1(b)) if stderr else "", b.returncode)
    do = (fd(out(d)), fd(re.sub(r"\bdocker\b", "berth", err1(d))) if stderr else "", d.returncode)
    assert bo == do, (args, b.stderr, d.stderr)
    return out(b)


@pytest.fixture(scope="module")
def cli(busybox):
    busybox.berth("run", "-d", "--name", "cmd1", "-p", "127.0.0.1:8282:80", "-p", "9393:93/udp", "busybox",
                  "sh", "-c", "echo hi > /new; rm /bin/true; sleep 300")
    busybox.berth("exec", "cmd1", "true", check=False)
    return busybox


def run_tty(cli, prog, *args):
    """prog with stdout on a pseudo-terminal: (exit code, what it printed there, stderr)."""
    m, s = pty.openpty()
    argv = [BERTH, "-H", cli.host] if prog == "berth" else [DOCKER]
    p = subprocess.Popen(argv + list(args), stdout=s, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=cli.env())
    os.close(s)
    e = p.stderr.read().decode()
    p.wait(30)
    os.close(m)
    return p.returncode, e


def test_diff_matches_docker(cli):
    o = same(cli, "diff", "cmd1")
    assert "A /new" in o and "D /bin/true" in o
    same(cli, "container", "diff", "cmd1")
    same(cli, "diff", "nosuch")
    same(cli, "diff")


def test_port_matches_docker(cli):
    o = same(cli, "port", "cmd1")
    assert "80/tcp -> 127.0.0.1:8282" in o and "93/udp -> 0.0.0.0:9393" in o
    assert same(cli, "port", "cmd1", "80") == "127.0.0.1:8282\n"
    same(cli, "port", "cmd1", "93/udp")
    same(cli, "container", "port", "cmd1", "80/tcp")
    same(cli, "port", "cmd1", "81")
    same(cli, "port", "nosuch")


def test_commit_matches_docker(cli):
    o = same(cli, "commit", "-m", "snap msg", "-a", "Ann <a@x>", "-c", "ENV SNAP=1", "-c", "CMD [\"sh\"]",
             "cmd1", "snap:cli", ids=True)
    assert norm(o) == "<id>\n"
    img = json.loads(out(cli.berth("image", "inspect", "snap:cli")))[0]
    assert img["Comment"] == "snap msg" and img["Author"] == "Ann <a@x>"
    assert "SNAP=1" in img["Config"]["Env"] and img["Config"]["Cmd"] == ["sh"]
    same(cli, "container", "commit", "--pause=false", "cmd1", ids=True)
    same(cli, "commit", "-c", "BOGUS x", "cmd1")
    same(cli, "commit", "nosuch")
    same(cli, "commit")
    cli.berth("rmi", "snap:cli")


def tar_names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return sorted(t.getnames())


def test_export_and_save_match_docker(cli, tmp_path):
    b, d = cli.berth("export", "cmd1"), cli.docker("export", "cmd1")
    assert tar_names(b.stdout) == tar_names(d.stdout) and "./new" in tar_names(b.stdout)
    cli.berth("container", "export", "-o", str(tmp_path / "c.tar"), "cmd1")
    assert tar_names((tmp_path / "c.tar").read_bytes()) == tar_names(d.stdout)
    b, d = cli.berth("save", "busybox"), cli.docker("save", "busybox")
    assert tar_names(b.stdout) == tar_names(d.stdout) and "manifest.json" in tar_names(b.stdout)
    cli.berth("image", "save", "-o", str(tmp_path / "i.tar"), "busybox")
    assert tar_names((tmp_path / "i.tar").read_bytes()) == tar_names(d.stdout)
    same(cli, "save", "nosuch:img")
    same(cli, "export", "nosuch")
    same(cli, "save")


@pytest.mark.parametrize("args", [("save", "busybox"), ("export", "cmd1")])
def test_archive_to_terminal_refused_as_docker(cli, args):
    rb, eb = run_tty(cli, "berth", *args)
    rd, ed = run_tty(cli, "docker", *args)
    assert rb == rd == 1
    assert eb.splitlines()[0] == ed.splitlines()[0], (eb, ed)
    assert "cowardly refusing" in eb


def test_load_matches_docker(cli, tmp_path):
    tar = tmp_path / "bb.tar"
    cli.berth("save", "-o", str(tar), "busybox")
    assert same(cli, "load", "-i", str(tar)) == "Loaded image: busybox:latest\n"
    same(cli, "load", "-q", "-i", str(tar))
    same(cli, "image", "load", input=tar.read_bytes())
    same(cli, "load", input=b"")
    same(cli, "load", "-i", str(tmp_path / "missing.tar"))
    same(cli, "load", "extra")


def test_system_df_matches_docker(cli):
    o = same(cli, "system", "df")
    assert o.startswith("TYPE ") and "Images " in o
    same(cli, "system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}")
    same(cli, "system", "df", "--format", "table {{.Type}}\t{{.Size}}")
    same(cli, "system", "df", "--format", "{{.Nope}}")
    b, d = cli.berth("system", "df", "-v"), cli.docker("system", "df", "-v")
    # sections and column headers; CREATED of a row ticks between the two calls
    heads = lambda s: [l.split("  ")[0] for l in out(s).splitlines() if l and not ID.match(l)]
    assert heads(b) == heads(d)


def test_prune_prompts_match_docker(cli):
    for args in (["container", "prune"], ["image", "prune"], ["image", "prune", "-a"], ["builder", "prune"],
                 ["system", "prune"], ["system", "prune", "-a", "--volumes"], ["network", "prune"],
                 ["volume", "prune"]):
        assert same(cli, *args, input=b"n\n", stderr=False).startswith("WARNING!")


def test_container_prune_matches_docker(cli):
    outs = []
    for tool in (cli.berth, cli.docker):
        cli.berth("create", "--name", "prunable", "busybox", "true")
        r = tool("container", "prune", "-f")
        assert r.returncode == 0
        outs.append(norm(out(r)))
    assert outs[0] == outs[1]
    assert outs[0].startswith("Deleted Containers:\n<id>\n\nTotal reclaimed space: ")
    assert "cmd1" in out(cli.berth("ps", "--format", "{{.Names}}"))
    same(cli, "container", "prune", "-f", "--filter", "until=1h")
    same(cli, "container", "prune", "-f", "--filter", "bogus")


def test_image_prune_matches_docker(cli):
    cli.berth("image", "prune", "-f")
    outs = []
    for tool in (cli.berth, cli.docker):
        cli.berth("tag", "busybox", "dangler:1")
        cli.berth("commit", "-c", "ENV X=1", "cmd1", "dangler:1")  # the old dangler:1 stays: busybox
        cli.berth("commit", "-c", "ENV X=2", "cmd1", "dangler:1")  # the first commit is now dangling
        r = tool("image", "prune", "-f")
        assert r.returncode == 0
        outs.append(norm(out(r)))
        cli.berth("rmi", "dangler:1")
    assert outs[0] == outs[1] and outs[0].startswith("Deleted Images:\ndeleted: <id>\n"), outs
    assert "busybox" in out(cli.berth("images"))
    same(cli, "image", "prune", "-f")


def test_system_and_builder_prune_match_docker(cli):
    cli.berth("system", "prune", "-f")
    assert same(cli, "system", "prune", "-f") == "Total reclaimed space: 0B\n"
    same(cli, "system", "prune", "-f", "--volumes")
    same(cli, "builder", "prune", "-f")
    assert "cmd1" in out(cli.berth("ps", "--format", "{{.Names}}"))


def test_search_and_pull_all_tags_refused(cli):
    r = cli.berth("search", "busybox", check=False)
    assert r.returncode == 1 and "not supported by berth" in err1(r)
    r = cli.berth("pull", "-a", "busybox", check=False)
    assert r.returncode == 1 and "not supported by berth" in err1(r)
    for args in (("volume", "update", "v"), ("system", "dial-stdio")):
        r = cli.berth(*args, check=False)
        assert r.returncode == 1 and "not supported by berth" in err1(r), args
    same(cli, "pull")
    same(cli, "push")
    same(cli, "pull", "--bogus", "x")


def test_aliases_run_the_same_handlers(cli):
    for grp, sub in (("image", "pull"), ("image", "push"), ("image", "save"), ("image", "load"),
                     ("image", "prune"), ("container", "commit"), ("container", "export"),
                     ("container", "prune"), ("system", "df"), ("system", "prune"), ("builder", "prune")):
        r = cli.berth(grp, sub, "--help")
        assert r.returncode == 0 and f"berth {grp} {sub}" in out(r), (grp, sub, out(r))


needs_registry = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry not installed")


@pytest.fixture(scope="module")
def reg(cli):
    r = Registry(cli, 5000)
    yield r
    r.stop()


@pytest.fixture(scope="module")
def authreg(cli):
    r = Registry(cli, 5001, htpasswd=("alice", "s3cret"))
    yield r
    r.stop()


@needs_registry
def test_push_pull_match_docker(cli, reg):
    name = f"{reg.host}/cli/bb"
    cli.berth("tag", "busybox", name + ":1")
    first = cli.berth("push", name + ":1")
    assert "1: digest: sha256:" in out(first)
    # the layers are in the registry now: both clients see the same "already exists" stream
    o = same(cli, "push", name + ":1")
    assert o.startswith(f"The push refers to repository [{name}]")
    same(cli, "image", "push", "-q", name + ":1")
    same(cli, "push", name + ":nosuchtag")
    cli.berth("tag", "busybox", name)
    same(cli, "push", name)  # "Using default tag: latest"
    outs = []
    for tool in (cli.berth, cli.docker):
        cli.berth("rmi", name + ":1")
        r = tool("pull", name + ":1")
        assert r.returncode == 0, r.stderr
        outs.append(out(r))
    assert outs[0] == outs[1] and outs[0].endswith(f"{name}:1\n") and "Status: Downloaded newer image" in outs[0]
    same(cli, "pull", name + ":1")  # "Image is up to date"
    same(cli, "image", "pull", "-q", name + ":1")
    same(cli, "pull", name)  # "Using default tag: latest"
    same(cli, "pull", name + ":missing")
    same(cli, "pull", "--platform", "linux/amd64", name + ":1")
    cli.berth("rmi", name + ":1", name)


def config(cli):
    path = os.path.join(cli.env()["DOCKER_CONFIG"], "config.json")
    return json.load(open(path)) if os.path.exists(path) else {}


@needs_registry
def test_login_logout_match_docker(cli, authreg):
    host = authreg.host
    for tool, other in ((cli.berth, cli.docker), (cli.docker, cli.berth)):
        r = tool("login", "-u", "alice", "--password-stdin", host, input=b"s3cret\n")
        assert (r.returncode, out(r)) == (0, "Login Succeeded\n"), r.stderr
        auth = config(cli)["auths"][host]["auth"]
        assert base64.b64decode(auth) == b"alice:s3cret"
        # the other client uses the stored credentials
        name = f"{host}/priv/bb"
        cli.berth("tag", "busybox", name + ":1")
        assert other("push", name + ":1").returncode == 0
        cli.berth("rmi", name + ":1")
        assert other("pull", "-q", name + ":1").stdout.decode() == f"{name}:1\n"
        cli.berth("rmi", name + ":1")
        r = other("logout", host)
        assert out(r) == f"Removing login credentials for {host}\n"
        assert host not in config(cli).get("auths", {})
    assert same(cli, "logout", host) == f"Removing login credentials for {host}\n"
    same(cli, "login", "-u", "alice", "--password-stdin", host, input=b"wrong\n")
    same(cli, "login", "--password-stdin", host, input=b"x\n")
    same(cli, "login", "-u", "alice", "-p", "x", "--password-stdin", host, input=b"x\n")
    same(cli, "login", host, input=b"")
    same(cli, "login", "-p", "x", host, input=b"")
    b = cli.berth("login", "-u", "alice", "-p", "s3cret", host)
    d = cli.docker("login", "-u", "alice", "-p", "s3cret", host)
    assert (out(b), err1(b), b.returncode) == (out(d), err1(d), d.returncode)
    assert "--password-stdin" in err1(b)
    cli.berth("logout", host)
    # pushing without credentials is refused by the registry
    name = f"{host}/priv/bb"
    cli.berth("tag", "busybox", name + ":2")
    assert cli.berth("push", name + ":2", check=False).returncode == 1
    cli.berth("rmi", name + ":2")
