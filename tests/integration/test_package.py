"""The Debian package: dpkg-buildpackage builds berth_<version>_amd64.deb from a
copy of the tree; it is installed into a fresh Debian root (mmdebstrap
--variant=minbase with the package's dependencies and busybox-static), where
the installed /usr/bin/berthd starts from the installed files in its own
network, mount and pid namespaces and `berth run --rm busybox true` works.

Slow (a full build plus a root: about 4 minutes, 2 when the root is cached in
/var/cache/berth-test), so it runs only with BERTH_TEST_PACKAGE=1 (tests/run-all sets it for its first integration run); BERTH_TEST_DEB=path tests a .deb built already. Needs
dpkg-dev, debhelper and mmdebstrap, and Debian's archive reachable by apt."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from berthtest import REPO

pytestmark = [
    pytest.mark.skipif(os.environ.get("BERTH_TEST_PACKAGE") != "1", reason="set BERTH_TEST_PACKAGE=1 (slow)"),
    pytest.mark.timeout(1800),
]

CACHE = "/var/cache/berth-test"
SUITE = "bookworm"


def need(*progs):
    for p in progs:
        if not shutil.which(p):
            pytest.skip(f"{p} not installed")


def version():
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        return re.match(r"berth \(([^)]+)\)", f.readline()).group(1)


@pytest.fixture(scope="module")
def deb():
    prebuilt = os.environ.get("BERTH_TEST_DEB")  # a .deb built already: test that one
    if prebuilt:
        yield prebuilt
        return
    need("dpkg-buildpackage", "dh")
    tmp = tempfile.mkdtemp(prefix="berth-pkg-")
    src = os.path.join(tmp, "berth")
    os.mkdir(src)
    # the tree as committed plus new files, never a build directory
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True,
                           check=True).stdout.split(b"\0")
    files = [f for f in files if f and not f.startswith(b"build") and os.path.exists(os.path.join(REPO.encode(), f))]
    tar = subprocess.run(["tar", "-C", REPO, "--null", "-T", "-", "-cf", "-"], input=b"\0".join(files),
                         capture_output=True, check=True).stdout
    subprocess.run(["tar", "-C", src, "-xf", "-"], input=tar, check=True)
    r = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src, capture_output=True, text=True,
                       env=dict(os.environ, DEB_BUILD_OPTIONS="parallel=2"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    path = os.path.join(tmp, f"berth_{version()}_amd64.deb")
    assert os.path.exists(path), os.listdir(tmp)
    yield path
    shutil.rmtree(tmp, ignore_errors=True)


def test_package_contents(deb):
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    for p in ("./usr/bin/berthd", "./usr/bin/berth", "./usr/libexec/berth-monitor", "./usr/libexec/berth-init",
              "./lib/systemd/system/berth.service", "./lib/systemd/system/berth.socket", "./etc/berth/daemon.json",
              "./etc/logrotate.d/berth", "./usr/share/bash-completion/completions/berth",
              "./usr/share/zsh/vendor-completions/_berth", "./usr/share/man/man1/berth.1.gz",
              "./usr/share/man/man1/berth-run.1.gz", "./usr/share/man/man8/berthd.8.gz",
              "./usr/share/man/man5/daemon.json.5.gz"):
        assert p in files, p
    conffiles = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, text=True).stdout
    assert "/etc/berth/daemon.json" in conffiles.split()


def root_tar(deb):
    """A minbase root with the package's dependencies and busybox-static, cached by that list."""
    need("mmdebstrap")
    depends = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                             check=True).stdout
    pkgs = sorted({re.sub(r"\(.*?\)", "", d).split("|")[0].strip() for d in depends.split(",")} | {"busybox-static"})
    key = hashlib.sha256((SUITE + " " + ",".join(pkgs)).encode()).hexdigest()[:16]
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"root-{SUITE}-{key}.tar")
    if not os.path.exists(path):
        tmp = path + ".tmp"
        r = subprocess.run(["mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(pkgs), SUITE, tmp],
                           capture_output=True, text=True, timeout=1200)
        if r.returncode != 0:
            pytest.skip("mmdebstrap failed (is Debian's archive reachable?): " + r.stderr[-1000:])
        os.rename(tmp, path)
    return path


# Runs as pid 1 of fresh pid and mount namespaces, in the test's network namespace:
# the mounts below vanish with it.
# The root becomes / by pivot_root, not a bare chroot: the runtime makes / private
# and pivots into each container, which needs / to be a mount point.
ENTER = r'''
set -e
R="$1"
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
exec /usr/sbin/chroot . /bin/sh -ec "umount -l /.oldroot; rmdir /.oldroot; $2"
'''

# Inside the installed root: berthd from the package with its default
# configuration (/etc/berth/daemon.json from the package), busybox imported
# from busybox-static's /bin/busybox, then a container.
INSIDE = r'''
ip link set lo up 2>/dev/null || true
getent group berth
berthd --validate
/usr/bin/berthd >/var/log/berthd.log 2>&1 &
i=0
until [ -S /run/berth/berth.sock ] && berth version >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 600 ] || { cat /var/log/berthd.log; exit 1; }
    sleep 0.1
done
mkdir -p /tmp/bb/bin
cp /bin/busybox /tmp/bb/bin/busybox
for a in $(/bin/busybox --list); do [ -e /tmp/bb/bin/$a ] || ln -s busybox /tmp/bb/bin/$a; done
tar -C /tmp/bb -cf /tmp/bb.tar .
berth import /tmp/bb.tar busybox:latest
berth run --rm busybox true
echo "run-ok"
berth run --rm busybox sh -c 'echo hello from the package'
berth ps -a --format '{{.Names}}' | wc -l
kill -TERM $(cat /run/berth/berthd.pid)
wait
echo "done"
'''


def test_install_and_run(deb):
    need("unshare", "chroot", "ip")
    tar = root_tar(deb)
    work = tempfile.mkdtemp(prefix="berth-pkgroot-")
    root = os.path.join(work, "root")
    os.mkdir(root)
    netns = "berth-pkg-%d" % os.getpid()
    try:
        subprocess.run(["tar", "-C", root, "-xf", tar], check=True)
        shutil.copy(deb, os.path.join(root, "tmp", "berth.deb"))
        r = subprocess.run(["chroot", root, "dpkg", "-i", "/tmp/berth.deb"], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(os.path.join(root, "etc", "berth", "daemon.json")) as f:
            assert f.read().strip() == "{}"
        subprocess.run(["ip", "netns", "add", netns], check=True)
        # ip is not in minbase: bring lo up from outside
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        r = subprocess.run(["nsenter", "--net=/run/netns/" + netns, "unshare", "--mount", "--pid", "--fork",
                            "--propagation", "private", "sh", "-c", ENTER, "enter", root, INSIDE],
                           capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out + open(os.path.join(root, "var", "log", "berthd.log"), errors="replace").read()
        assert "configuration OK" in r.stdout
        assert "run-ok" in r.stdout
        assert "hello from the package" in r.stdout
        # --rm left nothing behind
        lines = r.stdout.splitlines()
        assert lines[lines.index("hello from the package") + 1].strip() == "0"
        assert "done" in r.stdout
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", work], check=False)
