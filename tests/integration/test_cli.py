"""The berth CLI against berthd, its output compared with the docker CLI's
for the same command against the same daemon."""
import json
import os
import re
import subprocess

import pytest

from berthtest import BERTH, busybox_tar


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


def header(text):
    return text.splitlines()[0]


def cells(line):
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture(scope="module")
def cli(berthd):
    r = berthd.berth("import", "-c", 'CMD ["sh"]', "-m", "from berth", busybox_tar(), "busybox:latest")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out(r))
    return berthd


def test_no_daemon_one_line_exit_1(tmp_path):
    sock = tmp_path / "none.sock"
    r = subprocess.run([BERTH, "-H", f"unix://{sock}", "ps"], capture_output=True)
    assert r.returncode == 1
    assert err(r) == f"Cannot connect to the berth daemon at unix://{sock}. Is berthd running?\n"
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    r = subprocess.run([BERTH, "images"], capture_output=True, env=env)
    assert r.returncode == 1 and "Is berthd running?" in err(r)


def test_global_flags_and_usage_errors(cli):
    r = subprocess.run([BERTH, "--version"], capture_output=True)
    assert r.returncode == 0 and out(r).startswith("berth version 0.1.0, build ")
    r = cli.berth("rm", check=False)
    assert r.returncode == 1 and "'berth rm' requires at least 1 argument" in err(r)
    r = cli.berth("rm", "--bogus", "x", check=False)
    assert r.returncode == 125 and "unknown flag: --bogus" in err(r)
    r = cli.berth("nosuchcommand", check=False)
    assert r.returncode == 1


def test_version_and_info(cli):
    r = cli.berth("version")
    assert " API version:       1.52\n" in out(r)
    assert "  API version:      1.52 (minimum version 1.12)" in out(r)
    v = json.loads(out(cli.berth("version", "--format", "{{json .}}")))
    assert v["Server"]["ApiVersion"] == "1.52" and v["Client"]["ApiVersion"] == "1.52"
    info = out(cli.berth("info"))
    assert f" Docker Root Dir: {cli.data_root}\n" in info
    assert " Images: 1\n" in info
    assert out(cli.berth("info", "--format", "{{.DockerRootDir}}")) == cli.data_root + "\n"


def test_images_matches_docker(cli):
    b, d = out(cli.berth("images")), out(cli.docker("images"))
    assert header(b).startswith("REPOSITORY   TAG       IMAGE ID       CREATED")
    assert cells(header(b)) == cells(header(d)) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    assert [cells(l)[:3] + cells(l)[-1:] for l in b.splitlines()] == \
        [cells(l)[:3] + cells(l)[-1:] for l in d.splitlines()]
    iid = out(cli.berth("images", "-q")).strip()
    assert iid == out(cli.docker("images", "-q")).strip() and re.fullmatch(r"[0-9a-f]{12}", iid)
    full = out(cli.berth("images", "--no-trunc", "--format", "{{.ID}}")).strip()
    assert full.startswith("sha256:" + iid)
    # column widths follow the CREATED text, which changes between the two calls: compare names
    assert cells(header(out(cli.berth("images", "--digests")))) == cells(header(out(cli.docker("images", "--digests"))))
    assert out(cli.berth("images", "--format", "{{.Repository}}:{{.Tag}}")) == "busybox:latest\n"
    assert out(cli.berth("images", "--filter", "reference=nomatch*", "-q")) == ""


def test_tag_rmi_inspect(cli):
    cli.berth("tag", "busybox", "mytag:v1")
    rows = sorted(cells(l)[:3] for l in out(cli.berth("images")).splitlines()[1:])
    assert rows == sorted(cells(l)[:3] for l in out(cli.docker("images")).splitlines()[1:])
    assert ["mytag", "v1"] == [r[:2] for r in rows if r[0] == "mytag"][0]
    r = cli.berth("rmi", "mytag:v1")
    assert out(r) == "Untagged: mytag:v1\n"
    r = cli.berth("rmi", "mytag:v1", check=False)
    assert r.returncode == 1 and err(r).startswith("Error response from daemon: ")
    b = json.loads(out(cli.berth("inspect", "busybox")))
    d = json.loads(out(cli.docker("inspect", "busybox")))
    # docker negotiates 1.50, berth 1.52: the shapes may differ by version, the object not
    assert b[0]["Id"] == d[0]["Id"] and b[0]["Id"].startswith("sha256:")
    assert b[0]["RepoTags"] == d[0]["RepoTags"] == ["busybox:latest"]
    assert out(cli.berth("image", "inspect", "-f", "{{.Id}}", "busybox")).strip() == b[0]["Id"]
    r = cli.berth("inspect", "nosuch", check=False)
    assert r.returncode == 1 and out(r) == "[]\n" and err(r) == "Error: No such object: nosuch\n"


def test_history_matches_docker(cli):
    b, d = out(cli.berth("history", "busybox")), out(cli.docker("history", "busybox"))
    assert cells(header(b)) == cells(header(d))  # widths follow the CREATED text
    assert b.splitlines()[1].split()[0] == d.splitlines()[1].split()[0]
    assert b.rstrip().endswith("from berth")
    assert out(cli.berth("history", "-q", "busybox")) == out(cli.docker("history", "-q", "busybox"))
    assert out(cli.berth("history", "-H=false", "--format", "{{.Size}}", "busybox")).strip().isdigit()


def test_run_exit_code_and_streams(cli):
    r = cli.berth("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3
    assert out(r) == "out\n" and err(r) == "err\n"
    r = cli.berth("run", "--rm", "-i", "busybox", "cat", input=b"piped\n")
    assert out(r) == "piped\n"
    r = cli.berth("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1:2", "busybox", "sh", "-c",
                  'echo "$FOO $(pwd) $(id -u):$(id -g)"')
    assert out(r) == "bar /tmp 1:2\n"
    r = cli.berth("run", "--rm", "busybox", "nonexistentcmd", check=False)
    assert r.returncode == 127, err(r)
    r = cli.berth("run", "--rm", "nosuchimage:1", "true", check=False)
    assert r.returncode == 125 and "Unable to find image 'nosuchimage:1' locally" in err(r)


def test_container_lifecycle_and_ps(cli):
    cid = out(cli.berth("run", "-d", "--name", "clic1", "-l", "k=v", "busybox", "sh", "-c",
                        "echo hello; echo oops >&2; sleep 30")).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    try:
        b, d = out(cli.berth("ps")), out(cli.docker("ps"))
        assert cells(header(b)) == cells(header(d))  # widths follow CREATED/STATUS texts
        assert cells(b.splitlines()[1])[:3] == cells(d.splitlines()[1])[:3]
        assert cells(b.splitlines()[1])[0] == cid[:12]
        assert out(cli.berth("ps", "-q")) == cid[:12] + "\n"
        assert out(cli.berth("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Labels}}")) == \
            f"{cid} clic1 k=v\n"
        assert out(cli.berth("ps", "--format", "{{.Command}}")) == out(cli.docker("ps", "--format", "{{.Command}}"))
        assert out(cli.berth("inspect", "-f", "{{.Name}} {{.State.Running}}", "clic1")) == "/clic1 true\n"
        for _ in range(50):
            r = cli.berth("logs", "clic1")
            if out(r):
                break
        assert out(r) == "hello\n" and err(r) == "oops\n"
        top = out(cli.berth("top", "clic1"))
        assert header(top).split() == header(out(cli.docker("top", "clic1"))).split()
        assert "sleep 30" in top
        assert out(cli.berth("pause", "clic1")) == "clic1\n"
        assert out(cli.berth("unpause", "clic1")) == "clic1\n"
        assert out(cli.berth("stop", "-t", "1", "clic1")) == "clic1\n"
        assert out(cli.berth("wait", "clic1")) == "137\n"
        cli.berth("rename", "clic1", "clic2")
        ps = out(cli.berth("ps", "-a", "--filter", "name=clic2", "--format", "{{.Names}} {{.State}}"))
        assert ps == "clic2 exited\n"
        assert out(cli.berth("ps")).count("\n") == 1
    finally:
        r = cli.berth("rm", "-f", "clic2", check=False)
        cli.berth("rm", "-f", "clic1", check=False)
    assert out(r) == "clic2\n"
    r = cli.berth("rm", "clic2", check=False)
    assert r.returncode == 1 and "No such container" in err(r)


def test_create_start_attach(cli):
    cid = out(cli.berth("create", "--name", "clic3", "busybox", "sh", "-c", "echo started; exit 4")).strip()
    try:
        assert out(cli.berth("ps", "-a", "-q", "--filter", "name=clic3")) == cid[:12] + "\n"
        r = cli.berth("start", "-a", "clic3", check=False)
        assert r.returncode == 4 and out(r) == "started\n"
    finally:
        cli.berth("rm", "-f", "clic3", check=False)
