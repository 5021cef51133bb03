"""POST /build: the classic Dockerfile builder, its cache, its clients (docker CLI with and without
DOCKER_BUILDKIT=0, docker-py, compose) and its confinement to the context."""
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.parse

import pytest

from berthtest import DOCKER


def make_tar(files, gz=False):
    """files: {name: bytes | str | ("symlink", target) | ("dir",)}"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, content in files.items():
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if isinstance(content, tuple) and content[0] == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = content[1]
                t.addfile(ti)
            elif isinstance(content, tuple) and content[0] == "exec":
                ti.size = len(content[1])
                ti.mode = 0o755
                t.addfile(ti, io.BytesIO(content[1]))
            elif isinstance(content, tuple) and content[0] == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                data = content.encode() if isinstance(content, str) else content
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    data = buf.getvalue()
    return gzip.compress(data) if gz else data


def build(d, files, gz=False, **query):
    """(status, [messages]) of POST /build with the context files."""
    qs = []
    for k, v in query.items():
        for item in (v if isinstance(v, list) else [v]):
            qs.append((k, item if isinstance(item, str) else json.dumps(item)))
    path = "/build?" + urllib.parse.urlencode(qs)
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(make_tar(files, gz))
    try:
        st, _, body = d.curl(path, method="POST", data_file=f.name, headers=["Content-Type: application/x-tar"],
                             timeout=120)
    finally:
        os.unlink(f.name)
    if st != 200:
        return st, [json.loads(body)]
    return st, [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def stream(msgs):
    return "".join(m.get("stream", "") for m in msgs)


def image_id(msgs):
    ids = [m["aux"]["ID"] for m in msgs if "aux" in m]
    assert ids, msgs
    return ids[-1]


def inspect(d, ref):
    return json.loads(d.docker("image", "inspect", ref).stdout)[0]


def run(d, *args):
    r = d.docker("run", "--rm", *args, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_progress_and_history(busybox):
    d = busybox
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV A=b\nCOPY f /f\nRUN echo hi && echo oops >&2\nCMD [\"sh\"]\n",
                         "f": "hello\n"}, t=["prog:1", "prog:2"])
    assert st == 200
    out = stream(msgs)
    assert out.startswith("Step 1/5 : FROM busybox\n ---> ")
    assert "Step 2/5 : ENV A=b\n ---> Running in " in out
    assert "Removing intermediate container " in out
    assert "\nhi\n" in out and "\x1b[91moops\n\x1b[0m" in out
    assert out.endswith("Successfully tagged prog:1\nSuccessfully tagged prog:2\n")
    iid = image_id(msgs)
    assert f"Successfully built {iid[7:19]}\n" in out
    img = inspect(d, "prog:1")
    assert img["Id"] == iid and "A=b" in img["Config"]["Env"] and img["Config"]["Cmd"] == ["sh"]
    assert img["Parent"].startswith("sha256:")
    hist = d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "prog:1").stdout.decode().splitlines()
    assert hist[0] == '/bin/sh -c #(nop)  CMD ["sh"]'
    assert hist[1] == "/bin/sh -c echo hi && echo oops >&2"
    assert hist[2].startswith("/bin/sh -c #(nop) COPY file:") and hist[2].endswith(" in /f ")
    assert hist[3] == "/bin/sh -c #(nop)  ENV A=b"
    # no intermediate container is left, intermediates are hidden from the plain image list
    assert d.docker("ps", "-aq").stdout.decode().strip() == ""
    listed = d.docker("images", "-q", "--no-trunc").stdout.decode().split()
    listed_all = d.docker("images", "-aq", "--no-trunc").stdout.decode().split()
    assert img["Parent"] not in listed and img["Parent"] in listed_all
    assert run(d, "prog:1", "cat", "/f") == "hello\n"


def test_every_instruction(busybox):
    d = busybox
    df = """# escape=\\
ARG BASE=busybox
FROM ${BASE} AS base
MAINTAINER Ann <ann@example.com>
ARG V=1
ENV P=/opt \\
    Q="x y"
LABEL l1=one "l 2"="two ${V}"
WORKDIR $P/work
RUN ["sh", "-c", "echo exec-form > made"]
RUN echo "$V:$Q" > args
COPY --chown=12:34 --chmod=640 a.txt sub/
ADD arch.tar.gz /ext/
ADD plain.txt /plain
EXPOSE 8080 53/udp
VOLUME ["/data"]
USER 1000:1000
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered > /tmp/trigger
ENTRYPOINT ["/bin/echo"]
CMD ["hello"]
"""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        ti = tarfile.TarInfo("pkg/inner.txt")
        ti.size = 6
        t.addfile(ti, io.BytesIO(b"inner\n"))
    st, msgs = build(d, {"Dockerfile": df, "a.txt": "A\n", "arch.tar.gz": inner.getvalue(), "plain.txt": "p\n"},
                     t="every:1", buildargs={"V": "7"})
    assert st == 200, msgs
    assert "errorDetail" not in msgs[-1], msgs[-1]
    img = inspect(d, "every:1")
    c = img["Config"]
    assert img["Author"] == "Ann <ann@example.com>"
    assert "P=/opt" in c["Env"] and "Q=x y" in c["Env"]
    assert c["Labels"] == {"l1": "one", "l 2": "two 7"}
    assert c["WorkingDir"] == "/opt/work"
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}}
    assert c["User"] == "1000:1000" and c["StopSignal"] == "SIGINT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q localhost || exit 1"], "Interval": 5000000000,
                                "Retries": 3}
    assert c["Shell"] == ["/bin/sh", "-ec"] and c["OnBuild"] == ["RUN echo triggered > /tmp/trigger"]
    assert c["Entrypoint"] == ["/bin/echo"] and c["Cmd"] == ["hello"]
    assert run(d, "every:1") == "hello\n"
    # history entries written as dockerd writes them
    hist = d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "every:1").stdout.decode().splitlines()
    assert "/bin/sh -c #(nop) WORKDIR /opt/work" in hist
    assert '/bin/sh -c #(nop)  VOLUME [/data]' in hist
    assert '/bin/sh -ec #(nop)  ENTRYPOINT ["/bin/echo"]' in hist
    assert "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]" in hist  # its own entry already uses it
    assert "|1 V=7 /bin/sh -c echo \"$V:$Q\" > args" in hist
    assert any(h.startswith("/bin/sh -c #(nop) COPY --chown=12:34 --chmod=640 file:") and h.endswith(" in /opt/work/sub/ ")
               for h in hist), hist
    out = run(d, "--user", "0", "--entrypoint", "sh", "every:1", "-c",
              "cat made args /ext/pkg/inner.txt /plain; stat -c '%u:%g %a' sub/a.txt; ls /opt/work/sub")
    assert out == "exec-form\n7:x y\ninner\np\n12:34 640\na.txt\n", out
    # ONBUILD: the trigger runs when the image is a base
    st, msgs = build(d, {"Dockerfile": "FROM every:1\nRUN true\n"}, t="child:1")
    assert "# Executing 1 build trigger\n" in stream(msgs)
    assert run(d, "--entrypoint", "cat", "child:1", "/tmp/trigger") == "triggered\n"
    assert inspect(d, "child:1")["Config"]["OnBuild"] in (None, [])
    # the pairs of one ENV see the environment from before it (dockerd's documented example)
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"},
                     t="envorder:1")
    env = inspect(d, "envorder:1")["Config"]["Env"]
    assert "abc=bye" in env and "def=hello" in env and "ghi=bye" in env, env
    # HEALTHCHECK NONE, an ENTRYPOINT that resets an inherited CMD
    st, msgs = build(d, {"Dockerfile": "FROM every:1\nHEALTHCHECK NONE\nENTRYPOINT [\"/bin/true\"]\n"}, t="hc:1")
    c = inspect(d, "hc:1")["Config"]
    assert c["Healthcheck"]["Test"] == ["NONE"] and c["Cmd"] is None


def test_cache(busybox):
    d = busybox
    files = {"Dockerfile": "FROM busybox\nENV X=1\nCOPY a /a\nRUN cat /a > /b\nCOPY c /c\nCMD [\"cat\", \"/b\"]\n",
             "a": "one\n", "c": "c\n"}
    st, first = build(d, files, t="cache:1")
    assert "Using cache" not in stream(first)
    st, second = build(d, files, t="cache:2")
    out = stream(second)
    assert out.count(" ---> Using cache\n") == 5, out
    assert "Running in" not in out
    assert image_id(first) == image_id(second)
    # a changed file breaks the cache from its COPY on
    files["a"] = "two\n"
    st, third = build(d, files, t="cache:3")
    out = stream(third)
    steps = out.split("Step ")[1:]
    assert "Using cache" in steps[1] and "Using cache" not in steps[2] and "Using cache" not in steps[3]
    assert run(d, "cache:3") == "two\n"
    # nocache builds everything again
    st, fourth = build(d, files, nocache="1")
    assert "Using cache" not in stream(fourth)
    # cachefrom: only the given image's ancestors serve as the cache
    st, fifth = build(d, files, cachefrom='["cache:3"]')
    assert stream(fifth).count("Using cache") == 5
    st, sixth = build(d, files, cachefrom='["nosuch:tag"]')
    assert "Using cache" not in stream(sixth)
    # build args take part in the cache key of RUN
    argfiles = {"Dockerfile": "FROM busybox\nARG A\nRUN echo $A > /a\n"}
    st, m1 = build(d, argfiles, buildargs={"A": "1"})
    st, m2 = build(d, argfiles, buildargs={"A": "2"})
    assert stream(m2).count("Using cache") == 1  # the ARG step only
    st, m3 = build(d, argfiles, buildargs={"A": "1"})
    assert stream(m3).count("Using cache") == 2 and image_id(m3) == image_id(m1)
    hist = d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image_id(m1)).stdout.decode()
    assert hist.splitlines()[0] == "|1 A=1 /bin/sh -c echo $A > /a"


def test_buildargs_warning_and_meta_args(busybox):
    d = busybox
    st, msgs = build(d, {"Dockerfile": "ARG TAG=latest\nFROM busybox:${TAG}\nARG TAG\nARG USED=d\n"
                                       "RUN echo $TAG $USED $HTTP_PROXY > /o\n"},
                     t="args:1", buildargs={"USED": "u", "NOTUSED": "x", "HTTP_PROXY": "http://p"})
    out = stream(msgs)
    assert "[Warning] One or more build-args [NOTUSED] were not consumed\n" in out
    assert run(d, "args:1", "cat", "/o") == "latest u http://p\n"
    # the proxy argument stays out of the history
    hist = d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "args:1").stdout.decode()
    assert "http://p" not in hist


def test_multistage_target_and_from(busybox, tmp_path):
    d = busybox
    # a real two-stage build: a C program compiled on the host (static), a stage that "installs"
    # it, and a busybox stage that takes only the binary
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void){puts("hello from C");return 0;}\n')
    exe = tmp_path / "hello"
    r = subprocess.run(["gcc", "-static", "-O2", "-o", str(exe), str(src)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("no static C toolchain: " + r.stderr.decode()[-200:])
    df = """FROM busybox AS compiler
COPY hello /toolchain/hello
RUN mkdir -p /out && cp /toolchain/hello /out/hello && /out/hello > /out/proof
FROM scratch AS tiny
COPY --from=compiler /out/hello /hello
FROM busybox AS final
COPY --from=compiler /out/ /usr/local/bin/
COPY --from=0 /out/proof /proof
RUN hello > /ran
FROM final AS extra
RUN echo never > /never
"""
    st, msgs = build(d, {"Dockerfile": df, "hello": ("exec", exe.read_bytes())}, t="ms:final", target="final")
    out = stream(msgs)
    assert "Successfully tagged ms:final" in out, out
    assert "Step 1/9 :" in out and "echo never" not in out
    assert run(d, "ms:final", "sh", "-c", "cat /proof /ran; hello") == "hello from C\n" * 3
    # the final image has none of the compiler stage's toolchain layer
    assert d.docker("run", "--rm", "ms:final", "ls", "/toolchain", check=False).returncode != 0
    st, msgs = build(d, {"Dockerfile": df, "hello": ("exec", exe.read_bytes())}, t="ms:tiny", target="tiny")
    assert run(d, "--entrypoint", "/hello", "ms:tiny") == "hello from C\n"
    st, msgs = build(d, {"Dockerfile": df, "hello": ("exec", exe.read_bytes())}, target="nosuch")
    assert st == 400 and msgs[0]["message"] == "failed to reach build target nosuch in Dockerfile"


def test_copy_semantics_and_globs(busybox):
    d = busybox
    df = """FROM busybox
WORKDIR /w
COPY *.txt dir/ ./
COPY dir /copied
COPY a.txt /file-dest
COPY a.txt rel
"""
    st, msgs = build(d, {"Dockerfile": df, "a.txt": "a", "b.txt": "b", "c.md": "c", "dir/x": "x",
                         "dir/sub/y": "y"}, t="copy:1")
    assert "errorDetail" not in msgs[-1], msgs[-1]
    out = run(d, "copy:1", "sh", "-c", "ls /w; ls -R /copied; cat /file-dest /w/rel")
    assert out.split() == ["a.txt", "b.txt", "rel", "sub", "x", "/copied:", "sub", "x", "/copied/sub:", "y", "aa"], out
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nCOPY a.txt b.txt /nodir\n", "a.txt": "", "b.txt": ""})
    assert msgs[-1]["error"] == ("When using COPY with more than one source file, the destination must be a "
                                 "directory and end with a /")
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nCOPY *.none /x/\n"})
    assert msgs[-1]["error"] == "COPY failed: no source files were specified"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nADD http://example.invalid/x /x\n"})
    assert "downloading from a URL is not supported" in msgs[-1]["error"]


def test_symlink_escape(busybox, tmp_path):
    """A context's links are resolved inside the context: COPY never reads a host file."""
    d = busybox
    canary = tmp_path / "canary"
    canary.write_text("HOST SECRET\n")
    os.chmod(tmp_path, 0o755)
    files = {"abs": ("symlink", str(canary)), "rel": ("symlink", "../../../../../../../../" + str(canary)),
             "dirlink": ("symlink", str(tmp_path)), "rootlink": ("symlink", "/"),
             "inside": ("symlink", "real.txt"), "real.txt": "inside\n"}
    for src in ("abs", "rel", "dirlink/canary", "rootlink" + str(canary)):
        st, msgs = build(d, dict(files, Dockerfile=f"FROM busybox\nCOPY {src} /got\n"))
        err = msgs[-1].get("error", "")
        assert "file not found in build context" in err, (src, msgs[-1])
    # a whole-directory copy keeps the links as links, unfollowed
    st, msgs = build(d, dict(files, Dockerfile="FROM busybox\nCOPY . /ctx/\n"), t="links:1")
    assert "errorDetail" not in msgs[-1], msgs[-1]
    out = run(d, "links:1", "sh", "-c", f"readlink /ctx/abs; cat /ctx/inside; cat {canary} 2>&1; true")
    assert out.splitlines()[0] == str(canary) and "inside" in out and "HOST SECRET" not in out
    # a link that stays inside is followed when named
    st, msgs = build(d, dict(files, Dockerfile="FROM busybox\nCOPY inside /in\n"), t="links:2")
    assert run(d, "links:2", "cat", "/in") == "inside\n"
    # the Dockerfile itself through a link out of the context
    st, msgs = build(d, dict(files, Dockerfile=("symlink", str(canary))))
    assert st == 500 and "Cannot locate specified Dockerfile" in msgs[0]["message"]
    # hostile archive entries are refused like a hostile layer
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as t:
        ti = tarfile.TarInfo("../../escape")
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(evil.getvalue())
    st, _, body = d.curl("/build", method="POST", data_file=f.name)
    os.unlink(f.name)
    assert st == 400, body


def test_errors_and_refusals(busybox):
    d = busybox
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nRUN exit 3\n"})
    assert msgs[-1] == {"errorDetail": {"code": 3, "message": "The command '/bin/sh -c exit 3' returned a non-zero "
                                                              "code: 3"},
                        "error": "The command '/bin/sh -c exit 3' returned a non-zero code: 3"}
    # the failed step's container stays unless forcerm
    assert d.docker("ps", "-aq").stdout.decode().strip() != ""
    d.docker("container", "prune", "-f")
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nRUN exit 4\n"}, forcerm="1")
    assert d.docker("ps", "-aq").stdout.decode().strip() == ""
    # rm=0 keeps every step's container
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV K=1\nRUN true\n"}, rm="0", nocache="1")
    assert "Removing intermediate container" not in stream(msgs)
    assert len(d.docker("ps", "-aq").stdout.decode().split()) == 2
    d.docker("container", "prune", "-f")
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nFOO bar\n"})
    assert st == 400 and msgs[0]["message"] == "dockerfile parse error line 2: unknown instruction: FOO"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nfoo bar\n"})
    assert st == 400 and msgs[0]["message"] == "dockerfile parse error line 2: unknown instruction: FOO"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nCOPY --bogus=1 f /f\n"})
    assert st == 400 and msgs[0]["message"] == "dockerfile parse error line 2: Unknown flag: bogus"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV A=1 B\n"})
    assert st == 400 and msgs[0]["message"] == ("failed to parse Dockerfile: Syntax error - can't find = in \"B\". "
                                                "Must be of the form: name=value")
    st, msgs = build(d, {"Dockerfile": "RUN true\n"})
    assert st == 400 and msgs[0]["message"] == "no build stage in current context"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV\n"})
    assert st == 400 and msgs[0]["message"] == "dockerfile parse error line 2: ENV requires at least one argument"
    st, msgs = build(d, {"Dockerfile": "FROM busybox\n"}, dockerfile="nope")
    assert st == 500 and msgs[0]["message"] == "Cannot locate specified Dockerfile: nope"
    st, msgs = build(d, {"Dockerfile": "FROM nosuchimage-offline:1\n"})
    assert "errorDetail" in msgs[-1]
    for q, word in (({"version": "2"}, "BuildKit"), ({"squash": "1"}, "squash"), ({"platform": "linux/arm64"},
                                                                                     "linux/arm64"),
                    ({"remote": "https://x/y.git"}, "remote"), ({"outputs": '[{"type":"local"}]'}, "outputs")):
        st, msgs = build(d, {"Dockerfile": "FROM busybox\n"}, **q)
        assert st == 400 and word in msgs[0]["message"], (q, msgs)
    st, msgs = build(d, {"Dockerfile": "FROM busybox\n"}, t="Bad:Tag:x")
    assert st == 400 and msgs[0]["message"] == "invalid reference format"


def test_quiet_gzip_labels_dockerfile_path(busybox):
    d = busybox
    st, msgs = build(d, {"sub/My.dockerfile": "FROM busybox\nLABEL from=file\n"}, gz=True, q="1",
                     dockerfile="sub/My.dockerfile", labels={"req": "v"}, t="q:1")
    assert len(msgs) == 1 and msgs[0]["stream"].startswith("sha256:"), msgs
    img = inspect(d, "q:1")
    assert img["Id"] == msgs[0]["stream"].strip()
    assert img["Config"]["Labels"] == {"from": "file", "req": "v"}


def test_dockerignore_and_docker_cli(busybox, tmp_path):
    d = busybox
    ctx = tmp_path / "ctx"
    (ctx / "keep").mkdir(parents=True)
    (ctx / "keep" / "a.txt").write_text("a\n")
    (ctx / "keep" / "b.log").write_text("b\n")
    (ctx / "secret.txt").write_text("s\n")
    (ctx / "README.md").write_text("r\n")
    (ctx / "other.md").write_text("o\n")
    (ctx / ".dockerignore").write_text("# comment\n**/*.log\nsecret.txt\n*.md\n!README.md\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY . /ctx/\nRUN find /ctx -type f | sort > /list\n")
    outside = tmp_path / "Outside.Dockerfile"
    outside.write_text("FROM busybox\nCOPY keep /keep\n")
    for env in ({"DOCKER_BUILDKIT": "0"}, {}):
        e = dict(d.env(), **env)
        e.pop("DOCKER_BUILDKIT", None) if not env else None
        r = subprocess.run([DOCKER, "build", "-t", "cli:1", "--build-arg", "X=1", "--label", "k=v", "--add-host",
                            "h1:10.9.8.7", "--network", "none", str(ctx)], capture_output=True, env=e, timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        assert "Successfully tagged cli:1" in r.stdout.decode()
    out = run(d, "cli:1", "cat", "/list")
    assert out.split() == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/README.md", "/ctx/keep/a.txt"], out
    assert inspect(d, "cli:1")["Config"]["Labels"] == {"k": "v"}
    # -f outside the context: the CLI sends it inside under a random name
    e = dict(d.env(), DOCKER_BUILDKIT="0")
    r = subprocess.run([DOCKER, "build", "-q", "-f", str(outside), str(ctx)], capture_output=True, env=e, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    iid = r.stdout.decode().strip()
    assert run(d, iid, "cat", "/keep/a.txt") == "a\n"
    # --target, --no-cache, extra hosts visible to RUN
    (ctx / "Dockerfile").write_text("FROM busybox AS one\nRUN grep h1 /etc/hosts > /h\nFROM one\nRUN false\n")
    r = subprocess.run([DOCKER, "build", "--no-cache", "--target", "one", "--add-host", "h1:10.9.8.7", "-t", "cli:2",
                        str(ctx)], capture_output=True, env=e, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert "10.9.8.7" in run(d, "cli:2", "cat", "/h")


def test_docker_py(busybox, tmp_path):
    d = busybox
    client = d.client()
    img, logs = client.images.build(fileobj=io.BytesIO(b"FROM busybox\nCMD [\"echo\", \"py\"]\n"), tag="py:1")
    assert img.tags == ["py:1:latest"] or "py:1" in img.tags[0]
    assert any("Successfully built" in x.get("stream", "") for x in logs)
    (tmp_path / "f").write_text("ctx\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY f /f\n")
    img, _ = client.images.build(path=str(tmp_path), tag="py:2")
    assert run(d, "py:2", "cat", "/f") == "ctx\n"
    import docker
    with pytest.raises(docker.errors.BuildError) as e:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 1\n"))
    assert "returned a non-zero code: 1" in str(e.value)
    client.close()


def test_compose_build(busybox, tmp_path):
    d = busybox
    compose = shutil.which("docker-compose")
    if not compose:
        pytest.skip("docker-compose not installed")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile.web").write_text("FROM busybox\nARG GREETING\nRUN echo $GREETING > /g\n")
    (tmp_path / "docker-compose.yml").write_text(
        "version: '3'\nservices:\n  web:\n    image: composed:1\n    build:\n      context: ./app\n"
        "      dockerfile: Dockerfile.web\n      args:\n        GREETING: hi-compose\n")
    r = subprocess.run([compose, "-p", "cb", "build"], cwd=tmp_path, capture_output=True, env=d.env(), timeout=120)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    assert run(d, "composed:1", "cat", "/g") == "hi-compose\n"


def test_prune(busybox):
    d = busybox
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV P=1\nRUN echo 1 > /x\n"})
    iid = image_id(msgs)
    st, res = d.curl_json("/build/prune", method="POST")
    assert st == 200 and iid in res["CachesDeleted"] and isinstance(res["SpaceReclaimed"], int)
    assert d.docker("image", "inspect", iid, check=False).returncode != 0
    st, res = d.curl_json("/build/prune?all=1", method="POST")
    assert (st, res) == (200, {"CachesDeleted": None, "SpaceReclaimed": 0})
    st, res = d.curl_json("/build/prune?filters=%7B%22type%22%3A%5B%22regular%22%5D%7D", method="POST")
    assert st == 400 and "not supported" in res["message"]
    # what a failed build leaves (its last good step, untagged) goes with docker image prune
    st, msgs = build(d, {"Dockerfile": "FROM busybox\nENV LEFT=1\nRUN exit 1\n"}, forcerm="1")
    left = [m["stream"].split()[-1] for m in msgs if re.fullmatch(r" ---> [0-9a-f]{12}\n", m.get("stream", ""))][-1]
    assert "LEFT=1" in inspect(d, left)["Config"]["Env"]
    d.docker("image", "prune", "-f")
    assert d.docker("image", "inspect", left, check=False).returncode != 0
    assert d.docker("image", "inspect", "busybox", check=False).returncode == 0


def test_berth_build(busybox, tmp_path):
    d = busybox
    (tmp_path / "f").write_text("berth\n")
    (tmp_path / "skip.txt").write_text("no\n")
    (tmp_path / ".dockerignore").write_text("skip.txt\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nARG A=0\nCOPY . /c/\nRUN echo $A > /a\n")
    r = d.berth("build", "-t", "bb:1", "--build-arg", "A=5", str(tmp_path))
    out = r.stdout.decode()
    assert "Step 1/4 : FROM busybox" in out and "Successfully tagged bb:1" in out
    assert run(d, "bb:1", "sh", "-c", "cat /a /c/f; ls -A /c") == "5\nberth\n.dockerignore\nDockerfile\nf\n"
    r = d.berth("build", "-q", str(tmp_path))
    assert r.stdout.decode().strip().startswith("sha256:")
    # a Dockerfile on stdin, and a tar context on stdin
    r = d.berth("build", "-t", "bb:2", "-", input=b"FROM busybox\nRUN echo from-stdin > /s\n")
    assert "from-stdin" in r.stdout.decode() and run(d, "bb:2", "cat", "/s") == "from-stdin\n"
    r = d.berth("build", "-q", "-", input=make_tar({"Dockerfile": "FROM busybox\nCOPY x /x\n", "x": "tar\n"}))
    assert run(d, r.stdout.decode().strip(), "cat", "/x") == "tar\n"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 2\n")
    r = d.berth("build", str(tmp_path), check=False)
    assert r.returncode != 0 and "returned a non-zero code: 2" in r.stderr.decode()


def test_client_gone_cancels(busybox):
    """A client that leaves stops the build: the running step's container is killed and removed."""
    import time
    d = busybox
    before = set(d.docker("ps", "-aq").stdout.decode().split())
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(make_tar({"Dockerfile": "FROM busybox\nRUN sleep 300\n"}))
    try:
        d.curl("/build?t=cancelled:1", method="POST", data_file=f.name, timeout=3)
    finally:
        os.unlink(f.name)
    for _ in range(300):
        if set(d.docker("ps", "-aq").stdout.decode().split()) == before:
            break
        time.sleep(0.1)
    assert set(d.docker("ps", "-aq").stdout.decode().split()) == before
    assert d.docker("image", "inspect", "cancelled:1", check=False).returncode != 0


def test_cache_from_loaded_image(busybox, tmp_path):
    """--cache-from an image without a local parent chain (docker load): matched by its history."""
    d = busybox
    files = {"Dockerfile": "FROM busybox\nENV A=1\nCOPY f /f\nRUN echo built > /b\nCMD [\"cat\", \"/b\"]\n", "f": "data\n"}
    st, msgs = build(d, files, t="cfl:1")
    iid = image_id(msgs)
    tar = tmp_path / "cfl.tar"
    d.docker("save", "-o", str(tar), "cfl:1")
    d.docker("rmi", "cfl:1")
    assert d.docker("image", "inspect", iid, check=False).returncode != 0
    d.docker("load", "-i", str(tar))
    assert inspect(d, "cfl:1")["Parent"] == ""
    st, msgs = build(d, files)
    assert "Using cache" not in stream(msgs)
    st, msgs = build(d, files, cachefrom='["cfl:1"]', t="cfl:2")
    assert stream(msgs).count(" ---> Using cache\n") == 4, stream(msgs)
    assert image_id(msgs) == iid
    assert run(d, "cfl:2") == "built\n"
    # a changed source ends the match from its step on
    files["f"] = "other\n"
    st, msgs = build(d, files, cachefrom='["cfl:1"]')
    out = stream(msgs)
    assert out.count(" ---> Using cache\n") == 1 and "Running in" in out.split("Step 4/5")[1]


@pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="docker-registry not installed")
def test_base_image_pull_with_registry_config(busybox):
    """A base image missing locally is pulled with X-Registry-Config's credentials for its registry."""
    import base64
    from test_registry import Registry
    d = busybox
    reg = Registry(d, 5002, htpasswd=("bob", "pw2"))
    try:
        auth = {"username": "bob", "password": "pw2", "serveraddress": reg.host}
        name = f"{reg.host}/base:1"
        d.docker("tag", "busybox", name)
        xra = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
        st, _, body = d.curl(f"/images/{reg.host}/base/push?tag=1", method="POST", headers=["X-Registry-Auth: " + xra])
        assert st == 200 and b"error" not in body, body
        d.docker("rmi", name)
        files = {"Dockerfile": f"FROM {name}\nRUN echo pulled > /p\n"}
        st, msgs = build(d, files)
        assert "errorDetail" in msgs[-1]  # no credentials
        cfg = base64.b64encode(json.dumps({reg.host: {"username": "bob", "password": "pw2"}}).encode()).decode()
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(make_tar(files))
        st, _, body = d.curl("/build?t=pulledbase:1", method="POST", data_file=f.name,
                             headers=["X-Registry-Config: " + cfg])
        os.unlink(f.name)
        msgs = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
        assert "errorDetail" not in msgs[-1], msgs[-1]
        assert inspect(d, name)["Id"]
        assert run(d, "pulledbase:1", "cat", "/p") == "pulled\n"
    finally:
        reg.stop()
