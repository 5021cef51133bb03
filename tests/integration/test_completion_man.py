"""Shell completion (bash, zsh) against a live daemon, and the generated man pages
against the tables the CLI parses with."""
import os
import shutil
import subprocess

import pytest

from berthtest import BERTH, BUILD, REPO

BASH_COMP = os.path.join(REPO, "contrib", "completion", "bash", "berth")
ZSH_COMP = os.path.join(REPO, "contrib", "completion", "zsh", "_berth")
MAN = os.path.join(BUILD, "contrib", "man")


def commands():
    out = subprocess.run([BERTH, "__complete", "commands"], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.fixture(scope="module")
def objects(busybox):
    d = busybox
    d.docker("run", "-d", "--name", "comp-running", "busybox", "sleep", "300")
    d.docker("create", "--name", "comp-stopped", "busybox", "true")
    d.docker("network", "create", "comp-net")
    # volumes may not be served by this berthd yet
    d.has_volumes = d.docker("volume", "create", "comp-vol", check=False).returncode == 0
    yield d
    d.docker("rm", "-f", "comp-running", "comp-stopped", check=False)
    d.docker("network", "rm", "comp-net", check=False)
    d.docker("volume", "rm", "comp-vol", check=False)


def bash_complete(d, *words):
    script = (f'PATH={os.path.dirname(BERTH)}:$PATH; source {BASH_COMP}; COMP_WORDS=("$@"); '
              'COMP_CWORD=$(($#-1)); COMPREPLY=(); _berth; printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", script, "bash"] + list(words), capture_output=True, text=True,
                       env=d.env(), timeout=60)
    return set(r.stdout.split())


def test_complete_helper(objects):
    d = objects
    assert {"comp-running", "comp-stopped"} <= set(d.berth("__complete", "containers").stdout.decode().split())
    running = d.berth("__complete", "running").stdout.decode().split()
    assert "comp-running" in running and "comp-stopped" not in running
    assert "busybox:latest" in d.berth("__complete", "images").stdout.decode().split()
    assert "comp-net" in d.berth("__complete", "networks").stdout.decode().split()
    if d.has_volumes:
        assert "comp-vol" in d.berth("__complete", "volumes").stdout.decode().split()
    flags = d.berth("__complete", "flags", "run").stdout.decode()
    # name, short form, "arg" when it takes a value, and the description the man pages print
    assert "--detach\t-d\t\tRun container in background and print container ID\n" in flags
    assert "--name\t\targ\tAssign a name to the container\n" in flags


def test_bash_completion(objects):
    d = objects
    top = bash_complete(d, "berth", "")
    assert {"run", "ps", "image", "container"} <= top
    assert bash_complete(d, "berth", "ima") == {"image", "images"}
    assert {"ls", "rm", "inspect"} <= bash_complete(d, "berth", "image", "")
    assert {"comp-running", "comp-stopped"} <= bash_complete(d, "berth", "rm", "-f", "")
    assert "busybox:latest" in bash_complete(d, "berth", "run", "--rm", "-e", "A=1", "")
    assert "busybox:latest" not in bash_complete(d, "berth", "run", "busybox", "")
    assert "comp-net" in bash_complete(d, "berth", "run", "--network", "")
    assert bash_complete(d, "berth", "ps", "--fo") == {"--format"}
    assert "comp-running" in bash_complete(d, "berth", "container", "logs", "")
    assert {"comp-running", "busybox:latest"} <= bash_complete(d, "berth", "inspect", "")


ZSH_STUBS = r'''
_describe() { local -a a; a=("${(@P)${@[-1]}}"); a=("${(@)a//\\:/@@}"); print -rl -- ${${a%%:*}//@@/:}; }
compadd() { shift; print -rl -- "$@"; }
_files() { :; }
_values() { shift; print -rl -- "$@"; }
'''


def zsh_complete(d, *words):
    script = (f"path=({os.path.dirname(BERTH)} $path); {ZSH_STUBS} source {ZSH_COMP} >/dev/null 2>&1; "
              'words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; _berth')
    r = subprocess.run(["zsh", "-f", "-c", script, "zsh"] + list(words), capture_output=True, text=True,
                       env=d.env(), timeout=60)
    return {w.replace("\\:", ":") for w in r.stdout.split()}


def test_zsh_completion(objects):
    if not shutil.which("zsh"):
        pytest.skip("zsh not installed")
    d = objects
    r = subprocess.run(["zsh", "-n", ZSH_COMP], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert {"run", "ps", "image", "container"} <= zsh_complete(d, "berth", "")
    assert {"ls", "rm", "inspect"} <= zsh_complete(d, "berth", "image", "")
    assert {"comp-running", "comp-stopped"} <= zsh_complete(d, "berth", "stop", "")
    assert "busybox:latest" in zsh_complete(d, "berth", "run", "-d", "")
    assert "comp-net" in zsh_complete(d, "berth", "run", "--network", "")
    assert "--format" in zsh_complete(d, "berth", "ps", "--f")


def test_man_pages_cover_the_tables():
    if not os.path.isdir(MAN):
        pytest.skip("man pages not built")
    for sect, page in (("1", "berth"), ("8", "berthd"), ("5", "daemon.json")):
        assert os.path.exists(os.path.join(MAN, "man" + sect, f"{page}.{sect}"))
    for name, usage, summary in commands():
        page = os.path.join(MAN, "man1", "berth-" + name.replace(" ", "-") + ".1")
        with open(page) as f:
            text = f.read()
        assert summary.replace("-", "\\-") in text
        if " " not in name and any(name == c[0].split(" ")[0] and " " in c[0] for c in commands()):
            continue  # a management command's page lists its subcommands
        out = subprocess.run([BERTH, "__complete", "flags"] + name.split(" "), capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            flag = line.split("\t")[0] or line.split("\t")[1]
            assert flag.replace("-", "\\-") in text, f"{flag} missing from {page}"
    # berthd(8) and daemon.json(5) from berthd's option table
    opts = subprocess.run([os.path.join(BUILD, "src", "berthd-options")], capture_output=True, text=True,
                          check=True).stdout
    import json
    berthd8 = open(os.path.join(MAN, "man8", "berthd.8")).read()
    dj5 = open(os.path.join(MAN, "man5", "daemon.json.5")).read()
    for o in json.loads(opts):
        if o["flag"]:
            assert "\\-\\-" + o["flag"].replace("-", "\\-") in berthd8
        if o["key"]:
            assert "\\fB" + o["key"].replace("-", "\\-") + "\\fR" in dj5
    # the pages are well-formed roff
    if shutil.which("groff"):
        for sub in os.listdir(MAN):
            for p in os.listdir(os.path.join(MAN, sub)):
                r = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(MAN, sub, p)],
                                   capture_output=True, text=True)
                assert r.stderr == "", f"{p}: {r.stderr}"
