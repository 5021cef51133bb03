"""berth's --format engine, --help, unsupported commands and the run/create flags, each compared with
what the docker CLI prints or creates against the same daemon."""
import json
import re
import subprocess

import pytest

from berthtest import BERTH


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def cli(busybox):
    busybox.berth("run", "-d", "--name", "fmt1", "-l", "tier=web", "-l", "zone=a", "-p", "127.0.0.1:8181:80",
                  "-v", "fmtvol:/data", "-v", "/tmp:/hosttmp:ro", "busybox", "sleep", "300")
    busybox.berth("volume", "create", "--label", "kind=cache", "fmtvol2")
    busybox.berth("create", "--name", "fmt2", "-l", "tier=db", "busybox", "true")
    return busybox


def same(cli, *args):
    """berth and docker print the same thing with the same exit code."""
    b, d = cli.berth(*args, check=False), cli.docker(*args, check=False)
    assert (out(b), b.returncode) == (out(d), d.returncode), (args, err(b), err(d))
    return out(b)


PS_TEMPLATES = [
    "{{.Names}} {{.Image}} {{.State}} {{.Ports}} {{.Label \"tier\"}}|{{.Label \"nope\"}}",
    "{{.ID}} {{.Command}} {{.Networks}} {{.LocalVolumes}} {{.Mounts}}",
    "{{range $i, $l := split .Labels \",\"}}{{if $i}};{{end}}{{upper $l}}{{end}}",
    "{{if eq .State \"running\"}}up{{else}}{{printf \"%-8s|\" .State}}{{end}} {{len .Names}} {{title .Names}}",
    "{{.Names | printf \"%q\"}} {{pad .Image 1 2}}| {{truncate .ID 4}} {{json .Names}} {{lower \"ABC\"}}",
    "table {{.Names}}\\t{{.Image}}\\t{{.State}}",
    "table {{.Names}}\\t{{.Label \"tier\" | json}}\\t{{upper .State}}",
    "  {{.Names}}\\n{{/* a comment */}}",
]


@pytest.mark.parametrize("tmpl", PS_TEMPLATES)
def test_ps_templates_match_docker(cli, tmpl):
    assert same(cli, "ps", "-a", "--filter", "name=fmt", "--format", tmpl).strip()


def test_ps_json_lines_match_docker(cli):
    b = out(cli.berth("ps", "-a", "--filter", "name=fmt2", "--format", "json")).splitlines()
    d = out(cli.docker("ps", "-a", "--filter", "name=fmt2", "--format", "json")).splitlines()
    assert len(b) == len(d) == 1
    bj, dj = json.loads(b[0]), json.loads(d[0])
    # docker 28 knows the same fields; the time-relative ones may tick between the two calls
    assert sorted(bj) == sorted(dj)
    for k in ("ID", "Image", "Names", "State", "Labels", "Command", "Ports", "Networks", "LocalVolumes"):
        assert bj[k] == dj[k], k


IMAGE_TEMPLATES = [
    "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.Digest}}",
    "{{json .Repository}} {{.VirtualSize}} {{.SharedSize}} {{.UniqueSize}}",
    "table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}",
]


@pytest.mark.parametrize("tmpl", IMAGE_TEMPLATES)
def test_images_templates_match_docker(cli, tmpl):
    assert "busybox" in same(cli, "images", "--format", tmpl)


VOLUME_TEMPLATES = [
    "{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}} {{.Label \"kind\"}}",
    "table {{.Name}}\\t{{.Driver}}\\t{{.Size}}",
    "json",
]


@pytest.mark.parametrize("tmpl", VOLUME_TEMPLATES)
def test_volume_templates_match_docker(cli, tmpl):
    assert "fmtvol" in same(cli, "volume", "ls", "--format", tmpl)
    same(cli, "volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{json .Labels}}", "fmtvol", "fmtvol2")


INSPECT_TEMPLATES = [
    "{{.Name}} {{.State.Status}} {{.State.Running}} {{.Config.Image}} {{json .Config.Cmd}}",
    "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
    "{{range $p, $b := .HostConfig.PortBindings}}{{$p}}->{{(index $b 0).HostPort}}{{end}}",
    "{{with .State}}{{if gt .Pid 0}}pid{{else}}nopid{{end}}{{end}} {{len .Config.Cmd}}",
    "{{index .Config.Labels \"tier\"}} {{join .Config.Cmd \"+\"}} {{.HostConfig.RestartPolicy.Name}}",
    "{{$n := .Name}}{{$n}}{{range .Config.Cmd}}/{{$n}}:{{.}}{{end}}",
    "{{.Config.Labels}} {{.Config.Cmd}}",
]


@pytest.mark.parametrize("tmpl", INSPECT_TEMPLATES)
def test_inspect_templates_match_docker(cli, tmpl):
    assert same(cli, "inspect", "--format", tmpl, "fmt1", "fmt2").strip()


def test_inspect_json_and_missing_keys(cli):
    b = json.loads(out(cli.berth("inspect", "--format", "json", "fmt1")))
    d = json.loads(out(cli.docker("inspect", "--format", "json", "fmt1")))
    assert isinstance(b, list) and b[0]["Id"] == d[0]["Id"]
    assert len(out(cli.berth("inspect", "--format", "json", "fmt1")).splitlines()) == 1
    same(cli, "inspect", "--format", "{{.Nope}}", "fmt1", "fmt2")
    # an object the template fails on is skipped, the others printed
    tmpl = '{{if eq .Name "/fmt1"}}{{.Nope}}{{else}}ok{{end}}'
    assert same(cli, "inspect", "--format", tmpl, "fmt2", "fmt1", "fmt2") == "ok\nok\n"


def test_version_info_templates_match_docker(cli):
    # docker's version context is a Go struct: its field names, not the JSON keys (APIVersion)
    same(cli, "version", "--format", "{{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}} {{.Server.GitCommit}}")
    same(cli, "version", "--format", "{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}")
    same(cli, "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}} {{.OSType}}")
    same(cli, "info", "--format", "{{json .Labels}} {{len .Name}} {{if .Debug}}debug{{else}}quiet{{end}}")
    v = json.loads(out(cli.berth("version", "--format", "json")))
    assert v["Server"]["ApiVersion"] == "1.52"
    i = json.loads(out(cli.berth("info", "--format", "json")))
    assert i["Containers"] >= 2


@pytest.mark.parametrize("cmd", [["ps"], ["images"], ["version"], ["info"], ["inspect", "fmt1"],
                                 ["history", "busybox"]])
@pytest.mark.parametrize("tmpl", ["{{foo .ID}}", "{{.ID", "{{if .X}}", "{{.Nope.X}}", "{{end}}"])
def test_template_errors_match_docker(cli, cmd, tmpl):
    b = cli.berth(*cmd, "--format", tmpl, check=False)
    d = cli.docker(*cmd, "--format", tmpl, check=False)
    assert b.returncode == d.returncode != 0
    # docker names its struct types; berth names the same ones
    assert err(b).replace("berth", "docker") == err(d), (err(b), err(d))


def test_help_lists_options_like_docker(cli):
    for cmd in (["ps"], ["images"], ["logs"], ["stop"], ["exec"], ["rm"]):
        b = out(cli.berth(*cmd, "--help"))
        d = out(cli.docker(*cmd, "--help"))
        assert b.startswith(f"Usage:  berth {cmd[0]} ")
        assert "\nOptions:\n" in b
        flags = lambda t: re.findall(r"^ +(?:-\w, )?(--[\w-]+)", t, re.M)
        bf = flags(b)
        assert bf and bf == sorted(bf)
        assert set(bf) <= set(flags(d)), set(bf) - set(flags(d))
    # the same text for the first lines of the option list
    b = out(cli.berth("ps", "--help")).split("Options:\n")[1].splitlines()
    d = out(cli.docker("ps", "--help")).split("Options:\n")[1].splitlines()
    assert b[:2] == d[:2]
    assert out(cli.berth("help", "ps")) == out(cli.berth("ps", "--help"))
    for cmd in (["ps"], ["network", "ls"], ["rm"], ["images"], ["volume", "rm"]):
        b, d = out(cli.berth(*cmd, "--help")), out(cli.docker(*cmd, "--help"))
        assert b.split("\nOptions:")[0] == d.split("\nOptions:")[0].replace("docker", "berth"), cmd
    r = cli.berth("help", "nosuch", check=False)
    assert r.returncode == 1 and err(r) == "unknown help topic: nosuch\n"
    run = out(cli.berth("run", "--help"))
    for flag in ("--cap-add list", "--read-only", "-P, --publish-all", "--ulimit ulimit", "--network network",
                 "-a, --attach list", "--pull string", "--sig-proxy"):
        assert flag in run, flag
    assert "--sig-proxy" not in out(cli.berth("create", "--help"))


def test_unknown_flag_exit_125(cli):
    for cmd in ("run", "create", "ps"):
        b = cli.berth(cmd, "--foo", check=False)
        d = cli.docker(cmd, "--foo", check=False)
        assert b.returncode == d.returncode == 125
        assert err(b).replace("berth", "docker") == err(d)


@pytest.mark.parametrize("group", ["swarm", "plugin", "context", "trust", "manifest", "secret", "config",
                                   "service", "stack", "node"])
def test_unsupported_groups(group):
    r = subprocess.run([BERTH, group, "ls"], capture_output=True)
    assert r.returncode == 1
    assert err(r).startswith(f"berth: '{group}' is not supported by berth")


RUN_FLAGS = [
    ["--read-only", "--cap-drop", "ALL", "--cap-add", "net_bind_service", "--cap-add", "CAP_CHOWN",
     "--security-opt", "no-new-privileges", "--group-add", "10", "--init"],
    ["--dns", "1.1.1.1", "--dns-search", "example.com", "--dns-option", "ndots:2", "--add-host", "db:10.0.0.5",
     "--add-host", "v6=[::1]", "--hostname", "h1", "--domainname", "example.com"],
    ["--ipc", "private", "--pid", "host", "--uts", "host", "--cgroupns", "private", "--sysctl",
     "net.ipv4.ip_forward=1", "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=50", "--shm-size", "32m"],
    ["-l", "a=b", "--entrypoint", "sh", "-w", "/tmp", "-u", "1000:10", "--restart", "on-failure:2", "--log-driver",
     "json-file", "--log-opt", "max-size=1m", "--stop-signal", "SIGUSR1", "--stop-timeout", "7", "-e", "X=1"],
    ["--expose", "8080-8081/udp", "-P", "-p", "127.0.0.1:9090:90", "--privileged", "--device",
     "/dev/null:/dev/xnull:rw", "--device-cgroup-rule", "c 1:3 rwm",
     "--security-opt", "seccomp=unconfined", "--read-only=false", "--init=false"],
    ["-i", "-t", "-a", "stdout", "-a", "STDERR", "--rm"],
    ["-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m", "--cpus", "0.5", "-c", "512",
     "--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "100", "--oom-score-adj", "100",
     "--memory-swappiness", "10", "--oom-kill-disable=false"],
    ["--memory", "1g", "--memory-swap", "-1", "--cpu-period", "100000", "--cpu-quota", "50000"],
]


def settings(cli, name):
    j = json.loads(out(cli.berth("inspect", name)))[0]
    return j["HostConfig"], j["Config"], j["NetworkSettings"]["Networks"]


@pytest.mark.parametrize("flags", RUN_FLAGS, ids=lambda f: f[0].lstrip("-"))
def test_create_flags_match_docker(cli, flags):
    name = "rf" + re.sub(r"\W", "", flags[0])
    cli.berth("create", "--name", "b" + name, *flags, "busybox", "true")
    cli.docker("create", "--name", "d" + name, *flags, "busybox", "true")
    bh, bc, bn = settings(cli, "b" + name)
    dh, dc, dn = settings(cli, "d" + name)
    assert bh == dh
    for k in ("Domainname", "User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "StopSignal",
              "StopTimeout", "ExposedPorts", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
              "StdinOnce"):
        assert bc.get(k) == dc.get(k), k
    assert bn.keys() == dn.keys()
    cli.berth("rm", "-f", "b" + name, "d" + name)


def test_resource_flag_errors_match_docker(cli):
    for flags in (["-m", "lots"], ["--cpus", "x"], ["--cpu-shares", "many"], ["--device-read-bps", "nocolon"]):
        b = cli.berth("create", *flags, "busybox", "true", check=False)
        d = cli.docker("create", *flags, "busybox", "true", check=False)
        assert b.returncode == d.returncode == 125, flags
        assert err(d).splitlines()[0] == err(b).splitlines()[0], flags


def test_refusals_come_from_the_daemon(cli):
    # flags berth parses but berthd does not implement: the daemon's refusal, as the docker CLI gets it
    for flags in (["--cgroup-parent", "cfpar"], ["--userns", "host"], ["--runtime", "nosuch"]):
        b = cli.berth("create", *flags, "busybox", "true", check=False)
        d = cli.docker("create", *flags, "busybox", "true", check=False)
        assert b.returncode == d.returncode
        if d.returncode == 0:
            cli.berth("rm", out(b).strip(), out(d).strip())
        else:
            assert "Error response from daemon: " in err(b)
            assert err(d).split("Error response from daemon: ")[1].splitlines()[0] in err(b)


def test_network_flags_match_docker(cli):
    cli.berth("run", "-d", "--name", "nf0", "busybox", "sleep", "300")
    cli.docker("network", "create", "--subnet", "172.29.0.0/16", "cfnet")
    flags = ["--network", "cfnet", "--network-alias", "web", "--ip", "172.29.0.9", "--mac-address",
             "02:42:ac:11:00:09", "--link", "nf0:al"]
    cli.berth("create", "--name", "bnf", *flags, "busybox", "true")
    flags[5] = "172.29.0.10"
    flags[7] = "02:42:ac:11:00:0a"
    cli.docker("create", "--name", "dnf", *flags, "busybox", "true")
    bh, _, bn = settings(cli, "bnf")
    dh, _, dn = settings(cli, "dnf")
    assert bh["NetworkMode"] == dh["NetworkMode"] == "cfnet"
    for k in ("Aliases", "Links", "DriverOpts"):
        assert bn["cfnet"].get(k) == dn["cfnet"].get(k), k
    assert bn["cfnet"]["IPAMConfig"] == {"IPv4Address": "172.29.0.9"} or \
        bn["cfnet"]["IPAMConfig"]["IPv4Address"] == "172.29.0.9"
    assert bn["cfnet"]["MacAddress"] == "02:42:ac:11:00:09"
    r = cli.berth("create", "--network-alias", "x", "busybox", check=False)
    assert r.returncode == 125 and "network-scoped aliases are only supported for user-defined networks" in err(r)
    cli.berth("rm", "-f", "bnf", "dnf", "nf0")
    cli.docker("network", "rm", "cfnet")


def test_run_flags_take_effect(cli):
    r = cli.berth("run", "--rm", "--read-only", "--cap-drop", "ALL", "busybox", "touch", "/x", check=False)
    assert r.returncode == 1 and "Read-only file system" in err(r)
    r = cli.berth("run", "--rm", "--ulimit", "nofile=99:99", "--sysctl", "net.ipv4.ip_forward=1", "--add-host",
                  "h1:1.2.3.4", "--shm-size", "8m", "busybox", "sh", "-c",
                  "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; grep h1 /etc/hosts; df -k /dev/shm | tail -1")
    lines = out(r).splitlines()
    assert lines[0] == "99" and lines[1] == "1" and lines[2].split() == ["1.2.3.4", "h1"]
    assert lines[3].split()[1] == "8192"
    r = cli.berth("run", "--rm", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert out(r) == "out\n" and err(r) == ""
    r = cli.berth("run", "--rm", "-e", "A=1", "--env-file", "/dev/null", "busybox", "sh", "-c", "echo $A")
    assert out(r) == "1\n"


def test_bad_run_flag_values(cli, tmp_path):
    for flags, text in ((["--ulimit", "bogus=1"], 'invalid argument "bogus=1" for "--ulimit" flag'),
                        (["--shm-size", "lots"], "invalid size: 'lots'"),
                        (["--pid", "weird"], "--pid: invalid PID mode"),
                        (["--pull", "sometimes"], "invalid pull option: 'sometimes'"),
                        (["--init=maybe"], 'invalid argument "maybe" for "--init" flag'),
                        (["--rm", "--restart", "always"], "conflicting options: cannot specify both --restart and --rm"),
                        (["-d", "-a", "stdout"], "conflicting options: cannot specify both --attach and --detach"),
                        (["--mac-address", "nope"], "nope is not a valid mac address")):
        r = cli.berth("run", *flags, "busybox", "true", check=False)
        assert r.returncode == 125 and text in err(r), (flags, err(r))
    cid = tmp_path / "cid"
    cli.berth("create", "--cidfile", str(cid), "busybox")
    ident = cid.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", ident)
    r = cli.berth("create", "--cidfile", str(cid), "busybox", check=False)
    assert r.returncode == 125 and "container ID file found" in err(r)
    assert cid.read_text() == ident
    cli.berth("rm", ident)


def run_in_pty(argv, env, cols=120):
    """Runs argv on a terminal of cols columns; returns what it wrote."""
    import fcntl
    import os
    import pty
    import struct
    import termios
    m, s = pty.openpty()
    fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    p = subprocess.Popen(argv, stdout=s, stderr=s, stdin=s, env=env)
    os.close(s)
    data = b""
    while True:
        try:
            d = os.read(m, 65536)
        except OSError:
            break
        if not d:
            break
        data += d
    p.wait(60)
    os.close(m)
    return data.decode(errors="replace")


def screen(text):
    """The lines a terminal shows after text: newlines, carriage returns, cursor up/down, erase line."""
    lines, row, col, i = [""], 0, 0, 0
    while i < len(text):
        m = re.match(r"\x1b\[(\d*)([ABK])", text[i:])
        if m:
            n = int(m.group(1) or 1)
            if m.group(2) == "A":
                row = max(0, row - n)
            elif m.group(2) == "B":
                row += n
            else:
                lines[row], col = "", 0
            lines += [""] * (row + 1 - len(lines))
            i += m.end()
            continue
        c = text[i]
        if c == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif c == "\r":
            col = 0
        else:
            lines[row] = lines[row][:col] + c + lines[row][col + 1:]
            col += 1
        i += 1
    return [l.rstrip() for l in lines if l.strip()]


def test_pull_progress_like_docker(cli):
    reg = pytest.importorskip("test_registry")
    if not __import__("os").path.exists(reg.REGISTRY):
        pytest.skip("docker-registry not installed")
    r = reg.Registry(cli, 5077)
    try:
        # a layer of its own, so that the pull downloads something
        cli.berth("run", "--name", "bigc", "busybox", "dd", "if=/dev/urandom", "of=/big", "bs=1M", "count=8")
        ref = f"{r.host}/big:1"
        cli.docker("commit", "bigc", ref)
        cli.berth("rm", "bigc")
        cli.docker("push", ref)
        shown = {}
        for who in ("berth", "docker"):
            cli.berth("rmi", ref)
            argv = [BERTH, "-H", cli.host] if who == "berth" else ["docker"]
            raw = run_in_pty(argv + ["run", "--rm", ref, "true"], cli.env())
            assert "\x1b[2K\r" in raw and re.search(r"\x1b\[\dA", raw), raw[:400]
            shown[who] = screen(raw)
        assert shown["berth"] == shown["docker"]
        assert any(l.endswith(": Pull complete") for l in shown["berth"])
        # bars are drawn on a wide terminal
        cli.berth("rmi", ref)
        raw = run_in_pty([BERTH, "-H", cli.host, "run", "--rm", ref, "true"], cli.env(), cols=150)
        assert re.search(r"Downloading \[=*>\s*\]\s+[\d.]+[kM]B/[\d.]+MB", raw)
        # off a terminal: one line per message, no bars, as docker prints
        plain = {}
        for who in ("berth", "docker"):
            cli.berth("rmi", ref)
            p = (cli.berth if who == "berth" else cli.docker)("run", "--rm", ref, "true")
            plain[who] = err(p)
        assert plain["berth"] == plain["docker"]
        assert "Pull complete\n" in plain["berth"] and "[=" not in plain["berth"]
        cli.berth("rmi", ref)
    finally:
        r.stop()


NETWORK_TEMPLATES = [
    "table {{.Name}}\\t{{.Driver}}\\t{{.Scope}}",
    "{{.Name}} {{.IPv4}} {{.IPv6}} {{.Internal}} {{.Labels}} {{.Label \"x\"}} {{len .ID}}",
    "json",
    "",
]


def test_network_commands_match_docker(cli):
    flags = ["--subnet", "10.77.0.0/16", "--gateway", "10.77.0.1", "--ip-range", "10.77.5.0/24", "--label", "x=y",
             "--aux-address", "r=10.77.0.9", "--internal", "-o", "com.docker.network.bridge.name=bfmt0"]
    cli.berth("network", "create", *flags, "bfmt")
    flags = [f.replace("10.77.", "10.78.").replace("bfmt0", "dfmt0") for f in flags]
    cli.docker("network", "create", *flags, "dfmt")
    for tmpl in NETWORK_TEMPLATES:
        assert "fmt" in same(cli, "network", "ls", "--format", tmpl)
    assert "bfmt" in same(cli, "network", "ls")
    assert same(cli, "network", "ls", "-q", "--filter", "name=fmt").count("\n") == 2
    b = json.loads(out(cli.berth("network", "inspect", "bfmt")))[0]
    d = json.loads(out(cli.docker("network", "inspect", "dfmt")))[0]
    for k in ("Driver", "Internal", "Attachable", "Labels", "EnableIPv6", "Scope"):
        assert b[k] == d[k], k
    assert b["IPAM"]["Config"] == json.loads(json.dumps(d["IPAM"]["Config"]).replace("10.78.", "10.77."))
    same(cli, "network", "inspect", "--format", "{{.Name}} {{json .Labels}} {{.Driver}}", "bfmt", "dfmt")
    cli.berth("run", "-d", "--name", "netc", "busybox", "sleep", "300")
    cli.berth("network", "connect", "--alias", "a1", "bfmt", "netc")
    assert out(cli.berth("inspect", "-f", "{{json (index .NetworkSettings.Networks \"bfmt\").Aliases}}",
                         "netc")).startswith('["a1"')
    cli.berth("network", "disconnect", "bfmt", "netc")
    cli.berth("rm", "-f", "netc")
    b = cli.berth("network", "rm", "bfmt", "nosuchnet", check=False)
    d = cli.docker("network", "rm", "dfmt", "nosuchnet", check=False)
    assert (out(b), b.returncode) == ("bfmt\n", d.returncode) and out(d) == "dfmt\n"
    # docker 28 adds a line "exit status 1" of its own
    assert err(b) == err(d).replace("exit status 1\n", "")
    r = cli.berth("network", "create", "--subnet", "10.79.0.0/16", "--gateway", "10.80.0.1", "bad", check=False)
    assert r.returncode == 1 and "no matching subnet for gateway 10.80.0.1" in err(r)


def test_events_match_docker(cli):
    import time
    since = str(int(time.time()))
    cli.berth("run", "--rm", "--name", "evfmt", "busybox", "true")
    until = str(int(time.time()) + 1)
    time.sleep(1.1)  # until must have passed for the stream to end by itself
    args = ["events", "--since", since, "--until", until, "--filter", "container=evfmt"]
    text = same(cli, *args)
    assert re.search(r"^\S+Z container create [0-9a-f]{64} \(image=busybox, name=evfmt\)$", text, re.M)
    for tmpl in ('{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}} {{.Actor.Attributes}}',
                 '{{if eq .Action "die"}}{{index .Actor.Attributes "exitCode"}}{{end}}', '{{json .Actor}}'):
        assert same(cli, *args, "--format", tmpl).strip()
    for tmpl in ("{{.Nope}}", "{{foo}}"):
        b, d = cli.berth(*args, "--format", tmpl, check=False), cli.docker(*args, "--format", tmpl, check=False)
        assert b.returncode == d.returncode == 64 and err(b) == err(d)
    lines = out(cli.berth(*args, "--format", "json")).splitlines()
    assert [json.loads(l)["Action"] for l in lines][:2] == ["create", "attach"]


def test_stats_format_matches_docker(cli):
    args = ["stats", "--no-stream", "fmt1"]
    b = json.loads(out(cli.berth(*args, "--format", "json")))
    d = json.loads(out(cli.docker(*args, "--format", "json")))
    assert list(b) == list(d) == sorted(d)
    for k in ("Name", "ID", "Container", "PIDs"):
        assert b[k] == d[k], k
    assert same(cli, *args, "--format", "table {{.Name}}\\t{{.PIDs}}\\t{{len .ID}}") .startswith("NAME")
    b, d = cli.berth(*args, "--format", "{{.Nope}}", check=False), cli.docker(*args, "--format", "{{.Nope}}",
                                                                             check=False)
    assert (b.returncode, err(b)) == (d.returncode, err(d))
