"""Container isolation: each test runs an attack (or a refused option) against the defaults.
See docs/security.md "Container isolation"."""
import hashlib
import json
import os
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from berthtest import BUILD  # noqa: F401  (the build under test)


def run(d, *args, check=False):
    return d.docker("run", "--rm", *args, check=check)


# ---- 1. device cgroup ----

DEV_ATTACK = ('cd /dev; mknod loop0 b 7 0 && echo mknod-ok; '
              '(exec 3<>loop0 && echo loop-rw); mknod kmsg c 1 11; (exec 4<kmsg && echo kmsg-open); echo end')


def test_device_nodes_made_in_container_are_useless(busybox):
    r = run(busybox, "busybox", "sh", "-c", DEV_ATTACK)
    out = r.stdout.decode()
    assert "mknod-ok" in out          # Docker allows mknod ("c *:* m", "b *:* m")
    assert "loop-rw" not in out       # but not opening the host's loop device
    assert "kmsg-open" not in out     # nor the kernel log
    assert "end" in out
    # The default nodes still work.
    r = run(busybox, "busybox", "sh", "-c", "head -c 4 /dev/zero | wc -c; echo x > /dev/null; "
            "head -c 4 /dev/urandom | wc -c", check=True)
    assert r.stdout.split() == [b"4", b"4"]


def test_device_flag_and_cgroup_rule(busybox):
    r = run(busybox, "--device", "/dev/loop0:/dev/xloop", "busybox", "sh", "-c",
            "ls -l /dev/xloop; exec 3</dev/xloop && echo open-ok", check=True)
    assert b"open-ok" in r.stdout and r.stdout.startswith(b"b")
    r = run(busybox, "--device", "/dev/loop0:/dev/xloop:r", "busybox", "sh", "-c",
            "(exec 3<>/dev/xloop && echo rw-ok); (exec 4</dev/xloop && echo r-ok)")
    assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    r = run(busybox, "--device-cgroup-rule", "b 7:* r", "busybox", "sh", "-c",
            "mknod /dev/l0 b 7 0; (exec 3</dev/l0 && echo r-ok); (exec 4<>/dev/l0 && echo rw-ok)")
    assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "DeviceCgroupRules": ["x 1:2 rwm"]}})
    assert st == 400 and j["message"] == "invalid device cgroup rule format: 'x 1:2 rwm'"
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwx"}]}})
    assert st == 400 and j["message"] == "invalid device mode: rwx"
    r = run(busybox, "--device", "/dev/nonexistent-dev", "busybox", "true")
    assert r.returncode != 0 and b"error gathering device information" in r.stderr


def test_device_directory(busybox, tmp_path):
    d = tmp_path / "devs"
    (d / "sub").mkdir(parents=True)
    os.mknod(d / "sub" / "mynull", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(d / "myloop", 0o660 | stat.S_IFBLK, os.makedev(7, 0))
    r = run(busybox, "--device", f"{d}:/dev/mine:r", "busybox", "sh", "-c",
            "ls -l /dev/mine/sub/mynull | cut -c1; (exec 3</dev/mine/myloop && echo loop-r); "
            "(exec 4<>/dev/mine/myloop && echo loop-rw)")
    assert r.stdout.split() == [b"c", b"loop-r"], (r.stdout, r.stderr)


def test_privileged_gets_host_devices(busybox):
    r = run(busybox, "--privileged", "busybox", "sh", "-c", "exec 3</dev/loop0 && echo open-ok", check=True)
    assert b"open-ok" in r.stdout


def test_device_program_on_cgroup_v2():
    """On cgroup v2 the same rules are an eBPF device program attached to the container's group."""
    from test_cgroup_v2 import UNIFIED, V2Berthd, _is_cgroup2
    if not _is_cgroup2(UNIFIED):
        pytest.skip("no cgroup2 mount")
    d = V2Berthd().start()
    try:
        d.import_busybox()
        r = d.docker("run", "--rm", "busybox", "sh", "-c", DEV_ATTACK + "; head -c 3 /dev/zero | wc -c")
        out = r.stdout.decode()
        assert "mknod-ok" in out and "loop-rw" not in out and "kmsg-open" not in out and "end\n3" in out
        r = d.docker("run", "--rm", "--device-cgroup-rule", "b 7:* r", "busybox", "sh", "-c",
                     "mknod /dev/l0 b 7 0; (exec 3</dev/l0 && echo r-ok); (exec 4<>/dev/l0 && echo rw-ok)",
                     check=False)
        assert b"r-ok" in r.stdout and b"rw-ok" not in r.stdout
    finally:
        d.cleanup()


def test_import_rootfs_with_device_nodes(busybox, tmp_path):
    """A debootstrap/mmdebstrap rootfs has /dev/console, /dev/null, ...: accepted, as by Docker."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("./dev")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        t.addfile(d)
        for name, maj, mino, mode in (("./dev/console", 5, 1, 0o600), ("./dev/null", 1, 3, 0o4666)):
            e = tarfile.TarInfo(name)
            e.type, e.devmajor, e.devminor, e.mode = tarfile.CHRTYPE, maj, mino, mode
            t.addfile(e)
        f = tarfile.TarInfo("./hello")
        f.size = 3
        t.addfile(f, io.BytesIO(b"hi\n"))
    busybox.docker("import", "-", "devimg:latest", input=buf.getvalue())
    r = busybox.docker("create", "devimg:latest", "x")
    cid = r.stdout.decode().strip()
    out = busybox.docker("export", cid).stdout
    busybox.docker("rm", cid)
    names = {m.name.lstrip("./"): m for m in tarfile.open(fileobj=io.BytesIO(out)).getmembers()}
    assert names["dev/null"].ischr() and names["dev/null"].mode & 0o7000 == 0
    assert names["dev/console"].ischr() and names["dev/console"].devmajor == 5


# ---- 2. exec fd theft ----

FD_THIEF = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
        static char known[4096];
        for (int pid = 1; pid < 4096; pid++) { /* what runs already is the container's own */
                int p = syscall(SYS_pidfd_open, pid, 0);
                if (p >= 0) { known[pid] = 1; close(p); }
        }
        long opened = 0, got = 0, eperm = 0;
        FILE *out = fopen("/w/out", "w");
        while (access("/w/stop", F_OK) != 0) {
                for (int pid = 2; pid < 4096; pid++) {
                        if (known[pid] || pid == getpid())
                                continue;
                        int p = syscall(SYS_pidfd_open, pid, 0);
                        if (p < 0)
                                continue;
                        if (!opened++) { fprintf(out, "OPENED\n"); fflush(out); }
                        for (int fd = 0; fd < 64; fd++) {
                                int x = syscall(SYS_pidfd_getfd, p, fd, 0);
                                if (x >= 0) {
                                        struct stat st;
                                        fstat(x, &st);
                                        fprintf(out, "GOT pid %d fd %d mode %o\n", pid, fd, st.st_mode);
                                        fflush(out);
                                        got++;
                                        close(x);
                                } else if (errno == EPERM)
                                        eperm++;
                        }
                        close(p);
                }
        }
        fprintf(out, "DONE opened %ld got %ld eperm %ld\n", opened, got, eperm);
        fclose(out);
        return 0;
}
"""


def _compile_static(src, tmp_path, name):
    c = tmp_path / (name + ".c")
    c.write_text(src)
    exe = tmp_path / name
    subprocess.run(["gcc", "-static", "-O1", "-o", str(exe), str(c)], check=True)
    return exe


def test_exec_fds_cannot_be_stolen(busybox, tmp_path):
    w = tmp_path / "w"
    w.mkdir()
    _compile_static(FD_THIEF, w, "thief")
    cid = busybox.docker("run", "-d", "-v", f"{w}:/w", "busybox", "sh", "-c",
                         "/w/thief; sleep 1000").stdout.decode().strip()
    try:
        for i in range(200):
            busybox.docker("exec", cid, "true")
            if i >= 20 and "OPENED" in (w / "out").read_text():
                break
        (w / "stop").touch()
        deadline = time.time() + 20
        while "DONE" not in (w / "out").read_text() and time.time() < deadline:
            time.sleep(0.1)
        out = (w / "out").read_text()
        assert "DONE" in out and "OPENED" in out, out  # the exec processes were seen
        assert "GOT" not in out, out                   # and nothing was taken from them
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert j["State"]["Running"] is True
        # The container's own processes stay reachable for tools like ps; only pidfd_getfd is refused.
        r = busybox.docker("exec", cid, "sh", "-c", "echo ok")
        assert r.stdout == b"ok\n"
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_monitor_refuses_non_root_peers(busybox, tmp_path):
    cid = busybox.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        sock = None
        for root, dirs, files in os.walk(busybox.base):
            if cid in root and "monitor.sock" in files:
                sock = os.path.join(root, "monitor.sock")
        assert sock
        os.chmod(sock, 0o666)  # even when the file mode would let it in
        code = ("import os,socket,sys; d=os.open(os.path.dirname(sys.argv[1]), os.O_PATH); "
                "s=socket.socket(socket.AF_UNIX); s.connect('/proc/self/fd/%d/monitor.sock' % d); "
                "import time; time.sleep(0.2)\ntry:\n s.sendall(b'{\"op\":\"state\"}\\n'); print(s.recv(100) or b'REFUSED')\n"
                "except OSError: print('REFUSED')")
        # uid 65534 keeping CAP_DAC_OVERRIDE, so only the monitor's own check can refuse it.
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=+dac_override", "--ambient-caps=+dac_override", "/usr/bin/python3",
                            "-c", code, sock], capture_output=True, timeout=20)
        assert r.stdout.strip() in (b"REFUSED", b"b'REFUSED'"), (r.stdout, r.stderr)
        st, j = busybox.curl_json(f"/containers/{cid}/json")
        assert j["State"]["Running"] is True
    finally:
        busybox.docker("rm", "-f", cid, check=False)


# ---- 3. the host binary is out of reach (CVE-2019-5736) ----

EXE_GRABBER = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* Waits for a process whose exe is not a file of the container (the monitor's copy), keeps it
 * open, and tries to write to it: rewriting its first byte with itself, so the test never
 * damages the binary even where the attack works. */
int main(void)
{
        FILE *out = fopen("/w/out", "w");
        int found = 0, writable = 0;
        while (access("/w/stop", F_OK) != 0 && !found) {
                DIR *d = opendir("/proc");
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        int pid = atoi(de->d_name);
                        if (pid <= 1 || pid == getpid())
                                continue;
                        char p[64], l[256];
                        snprintf(p, sizeof(p), "/proc/%d/exe", pid);
                        ssize_t n = readlink(p, l, sizeof(l) - 1);
                        if (n <= 0)
                                continue;
                        l[n] = 0;
                        if (!strstr(l, "berth-monitor"))
                                continue;
                        int fd = open(p, O_RDONLY);
                        if (fd < 0)
                                continue;
                        found = 1;
                        fprintf(out, "FOUND %s\n", l);
                        char q[64];
                        snprintf(q, sizeof(q), "/proc/self/fd/%d", fd);
                        for (int i = 0; i < 20000 && !writable; i++) {
                                int w = open(q, O_WRONLY);
                                char c;
                                if (w >= 0 && pread(fd, &c, 1, 0) == 1 && pwrite(w, &c, 1, 0) == 1)
                                        writable = 1;
                                if (w >= 0)
                                        close(w);
                                usleep(100);
                        }
                        break;
                }
                if (d)
                        closedir(d);
        }
        fprintf(out, "DONE found %d writable %d\n", found, writable);
        fclose(out);
        return 0;
}
"""


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_exec_cannot_reach_host_binary(busybox, tmp_path):
    import berthtest
    if berthtest.SANITIZED:
        pytest.skip("a sanitizer build's monitor is dynamic and dies in busybox before it can be caught")
    from berthtest import BUILD as build
    monitor = os.path.join(build, "src", "berth-monitor")
    before = _sha(monitor)
    w = tmp_path / "w"
    w.mkdir()
    _compile_static(EXE_GRABBER, w, "grab")
    cid = busybox.docker("run", "-d", "-v", f"{w}:/w", "busybox", "sh", "-c",
                         "printf '#!/proc/self/exe\\n' > /bin/xx; chmod +x /bin/xx; /w/grab; sleep 1000"
                         ).stdout.decode().strip()
    try:
        for _ in range(100):
            busybox.docker("exec", cid, "/bin/xx", check=False)
            if "DONE" in ((w / "out").read_text() if (w / "out").exists() else ""):
                break
        (w / "stop").touch()
        deadline = time.time() + 30
        while time.time() < deadline and "DONE" not in (
                (w / "out").read_text() if (w / "out").exists() else ""):
            time.sleep(0.1)
        out = (w / "out").read_text()
        assert "found 1" in out, out             # a process ran the monitor's binary in the container
        assert "memfd:" in out, out              # from the sealed copy
        assert "writable 0" in out, out          # which nobody can write
        assert _sha(monitor) == before
    finally:
        busybox.docker("rm", "-f", cid, check=False)


# ---- 4. recursive read-only binds ----

def test_readonly_bind_is_readonly_below_submounts(busybox, tmp_path):
    src = tmp_path / "src"
    sub = src / "sub"
    sub.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "secrt-test", str(sub)], check=True)
    try:
        r = run(busybox, "-v", f"{src}:/h:ro", "busybox", "sh", "-c",
                "touch /h/top 2>/dev/null && echo top-rw; touch /h/sub/x 2>/dev/null && echo sub-rw; "
                "grep ' /h/sub ' /proc/mounts")
        assert b"top-rw" not in r.stdout
        assert b"sub-rw" not in r.stdout, r.stdout
        assert b" ro," in r.stdout or b" ro " in r.stdout
        assert not (sub / "x").exists()
        # A rw bind stays writable below its submounts.
        r = run(busybox, "-v", f"{src}:/h", "busybox", "sh", "-c", "touch /h/sub/y && echo sub-rw", check=True)
        assert r.stdout == b"sub-rw\n"
    finally:
        subprocess.run(["umount", "-l", str(sub)], check=False)


# ---- 7. masked paths ----

def test_masked_paths(busybox):
    # (/sys/devices/virtual/powercap and /proc/kcore do not exist on this test host's kernel.)
    r = run(busybox, "busybox", "sh", "-c", "wc -c < /proc/interrupts", check=True)
    assert r.stdout.split() == [b"0"]
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox"})
    assert st == 201
    st, j = busybox.curl_json(f"/containers/{j['Id']}/json")
    masked = j["HostConfig"]["MaskedPaths"]
    assert "/proc/interrupts" in masked and "/sys/devices/virtual/powercap" in masked
    assert j["HostConfig"]["ReadonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                "/proc/sysrq-trigger"]
    r = run(busybox, "--privileged", "busybox", "sh", "-c", "wc -c < /proc/interrupts", check=True)
    assert int(r.stdout) > 0


# ---- 5. seccomp: Docker's allow-list profile ----

SC_PROBE = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void show(const char *n, long r) { printf("%s=%s\n", n, r < 0 ? strerrorname_np(errno) : "ok"); }
int main(void)
{
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        show("io_uring", syscall(SYS_io_uring_setup, 1, &p));
        show("vsock", socket(40, SOCK_STREAM, 0));
        show("personality", personality(PER_BSD));
        show("syslog", klogctl(10, NULL, 0));
        show("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
        long c = syscall(SYS_clone, CLONE_NEWNS | 17 /* SIGCHLD */, 0, 0, 0, 0);
        if (c == 0)
                _exit(0);
        show("clone_newns", c < 0 ? -1 : 0);
        show("unshare_user", unshare(CLONE_NEWUSER));
        char src[4] = "abc", dst[4] = "";
        struct iovec l = { dst, 3 }, r = { src, 3 };
        show("process_vm", process_vm_readv(getpid(), &l, 1, &r, 1, 0));
        pid_t k = fork();
        if (k == 0) {
                pause();
                _exit(0);
        }
        show("ptrace", ptrace(PTRACE_ATTACH, k, 0, 0));
        kill(k, 9);
        return 0;
}
"""


def _probe(d, tmp_path, *opts):
    w = tmp_path / "sc"
    if not (w / "probe").exists():
        w.mkdir(exist_ok=True)
        _compile_static(SC_PROBE, w, "probe")
    r = d.docker("run", "--rm", "-v", f"{w}:/w:ro", *opts, "busybox", "/w/probe", check=True)
    return dict(ln.split("=", 1) for ln in r.stdout.decode().split())


def test_seccomp_default_refusals(busybox, tmp_path):
    res = _probe(busybox, tmp_path)
    assert res["io_uring"] == "EPERM"
    assert res["vsock"] == "EPERM"
    assert res["personality"] == "EPERM"
    assert res["syslog"] == "EPERM"
    assert res["mount"] == "EPERM"
    assert res["clone_newns"] == "EPERM"
    assert res["unshare_user"] == "EPERM"
    assert res["ptrace"] == "EPERM" and res["process_vm"] == "EPERM"
    res = _probe(busybox, tmp_path, "--cap-add", "SYS_PTRACE")
    assert res["ptrace"] == "ok" and res["process_vm"] == "ok"
    # CAP_SYS_ADMIN unlocks mount, unshare and namespace flags of clone, as in Docker's profile.
    res = _probe(busybox, tmp_path, "--cap-add", "SYS_ADMIN")
    assert res["mount"] == "ok" and res["clone_newns"] == "ok"
    # --cap-add ALL: every capability, and the filter's capability rules follow.
    res = _probe(busybox, tmp_path, "--cap-add", "ALL")
    assert res["mount"] == "ok" and res["syslog"] == "ok" and res["io_uring"] == "EPERM", res
    # unconfined: no filter (what is left is the kernel's own answer).
    res = _probe(busybox, tmp_path, "--security-opt", "seccomp=unconfined")
    assert res["io_uring"] != "EPERM" and res["vsock"] != "EPERM" and res["personality"] == "ok"
    assert res["unshare_user"] == "ok"


def test_seccomp_custom_profile(busybox, tmp_path):
    prof = tmp_path / "profile.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    res = _probe(busybox, tmp_path, "--security-opt", f"seccomp={prof}")
    assert res["io_uring"] != "EPERM" and res["unshare_user"] == "ok"
    r = run(busybox, "--security-opt", f"seccomp={prof}", "busybox", "mkdir", "/x")
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"defaultAction": "SCMP_ACT_NOPE"}))
    r = busybox.docker("create", "--security-opt", f"seccomp={bad}", "busybox", check=False)
    assert r.returncode != 0 and b"Decoding seccomp profile failed" in r.stderr


# ---- 6. options honoured or refused, never ignored ----

def test_no_new_privileges(busybox):
    r = run(busybox, "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status",
            check=True)
    assert r.stdout.split()[-1] == b"1"
    r = run(busybox, "busybox", "grep", "NoNewPrivs", "/proc/self/status", check=True)
    assert r.stdout.split()[-1] == b"0"


@pytest.mark.parametrize("opt,msg", [
    ("label=type:svirt_apache_t", "SELinux is not supported"),
    ("apparmor=docker-default", "AppArmor is not supported"),
    ("bogus=1", 'invalid --security-opt 2: "bogus=1"'),
    ("nonsense", 'invalid --security-opt 1: "nonsense"'),
])
def test_security_opt_refused(busybox, opt, msg):
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "SecurityOpt": [opt]}})
    assert st == 400 and msg in j["message"], j


def test_security_opt_accepted(busybox):
    for opt in ("label=disable", "apparmor=unconfined", "seccomp=unconfined", "no-new-privileges:true"):
        r = run(busybox, "--security-opt", opt, "busybox", "true")
        assert r.returncode == 0, (opt, r.stderr)
    r = run(busybox, "--security-opt", "systempaths=unconfined", "busybox", "sh", "-c",
            "wc -c < /proc/interrupts", check=True)
    assert int(r.stdout.split()[0]) > 0


def test_sysctls(busybox):
    r = run(busybox, "--sysctl", "net.ipv4.ip_unprivileged_port_start=42", "--sysctl", "kernel.shmmni=1234",
            "busybox", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shmmni", check=True)
    assert r.stdout.split() == [b"42", b"1234"]
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Sysctls": {"kernel.hostname": "x"}}})
    assert st == 400 and j["message"] == "sysctl 'kernel.hostname' is not whitelisted"
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "NetworkMode": "host", "Sysctls": {"net.ipv4.ip_forward": "1"}}})
    assert st == 400 and "not allowed in host network namespace" in j["message"]


def test_ulimits(busybox):
    r = run(busybox, "--ulimit", "nofile=123:456", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn", check=True)
    assert r.stdout.split() == [b"123", b"456"]
    cid = busybox.docker("run", "-d", "--ulimit", "nofile=77:88", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        r = busybox.docker("exec", cid, "sh", "-c", "ulimit -n")
        assert r.stdout.split() == [b"77"]
    finally:
        busybox.docker("rm", "-f", cid, check=False)
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]}})
    assert st == 400 and "soft limit must be less than or equal to hard limit" in j["message"]
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}})
    assert st == 400 and j["message"] == "invalid ulimit type: bogus"


def test_tmpfs_and_mounts(busybox, tmp_path):
    r = run(busybox, "--tmpfs", "/scratch:size=1m,mode=1770", "busybox", "sh", "-c",
            "grep ' /scratch ' /proc/mounts; stat -c %a /scratch", check=True)
    line, mode = r.stdout.decode().strip().split("\n")
    assert line.startswith("tmpfs /scratch tmpfs") and "size=1024k" in line and "noexec" in line
    assert mode == "1770"
    src = tmp_path / "m"
    src.mkdir()
    (src / "f").write_text("hello")
    r = run(busybox, "--mount", f"type=bind,source={src},target=/b,readonly", "--mount",
            "type=tmpfs,target=/t,tmpfs-size=65536", "busybox", "sh", "-c",
            "cat /b/f; touch /b/g 2>/dev/null && echo rw; grep ' /t ' /proc/mounts", check=True)
    out = r.stdout.decode()
    assert out.startswith("hello") and "rw\n" not in out and "size=64k" in out
    missing = str(tmp_path / "nonexistent-src")
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Mounts": [{"Type": "bind", "Source": missing, "Target": "/x"}]}})
    assert st == 400 and f"bind source path does not exist: {missing}" in j["message"]
    st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": {
        "Mounts": [{"Type": "volume", "Source": "v", "Target": "relative"}]}})
    assert st == 400 and "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must " \
        "be absolute" in j["message"]


def test_namespace_modes(busybox):
    r = run(busybox, "--pid=host", "busybox", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'", check=True)
    pid, n = r.stdout.split()
    assert int(pid) != 1 and int(n) > 5
    hostipc = os.readlink("/proc/self/ns/ipc")
    r = run(busybox, "--ipc=host", "busybox", "readlink", "/proc/self/ns/ipc", check=True)
    assert r.stdout.decode().strip() == hostipc
    r = run(busybox, "busybox", "readlink", "/proc/self/ns/ipc", check=True)
    assert r.stdout.decode().strip() != hostipc
    shm = f"/dev/shm/secrt-test-{os.getpid()}"
    with open(shm, "w") as f:
        f.write("shared")
    try:  # --ipc=host shares the host's /dev/shm too
        assert run(busybox, "--ipc=host", "busybox", "cat", shm, check=True).stdout == b"shared"
        assert run(busybox, "busybox", "cat", shm).returncode != 0
    finally:
        os.unlink(shm)
    for body, msg in ((({"UsernsMode": "private"}), "user namespaces are not supported"),
                      (({"PidMode": "container:abc"}), "is not supported"),
                      (({"PidMode": "bogus"}), "invalid PID mode: bogus"),
                      (({"IpcMode": "container:abc"}), "is not supported"),
                      (({"IpcMode": "bogus"}), "invalid IPC mode: bogus")):
        st, j = busybox.curl_json("/containers/create", "POST", {"Image": "busybox", "HostConfig": body})
        assert st == 400 and msg in j["message"], (body, j)
    cid = busybox.docker("run", "-d", "--pid=host", "busybox", "sleep", "100").stdout.decode().strip()
    try:  # exec, and the monitor's peer check, still work with the host's pid namespace
        assert busybox.docker("exec", cid, "echo", "ok").stdout == b"ok\n"
    finally:
        busybox.docker("rm", "-f", cid, check=False)


def test_monitor_refuses_container_cgroup_peers(busybox):
    """Even root, with the host's pid namespace (--pid=host), is refused from inside the container's cgroup."""
    cid = busybox.docker("run", "-d", "--pid=host", "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        sock = None
        for root, dirs, files in os.walk(busybox.base):
            if cid in root and "monitor.sock" in files:
                sock = os.path.join(root, "monitor.sock")
        procs = f"/sys/fs/cgroup/pids/berth/{cid}/cgroup.procs"
        if not os.path.exists(procs):
            pytest.skip("no v1 pids hierarchy")
        code = ("import os,socket,sys; d=os.open(os.path.dirname(sys.argv[1]), os.O_PATH)\n"
                "if sys.argv[2] != '-':\n open(sys.argv[2], 'w').write(str(os.getpid()))\n"
                "s=socket.socket(socket.AF_UNIX); s.connect('/proc/self/fd/%d/monitor.sock' % d)\n"
                "import time; time.sleep(0.2)\ntry:\n s.sendall(b'{\"op\":\"state\"}\\n'); print(s.recv(100) or b'REFUSED')\n"
                "except OSError: print('REFUSED')")
        r = subprocess.run(["/usr/bin/python3", "-c", code, sock, "-"], capture_output=True, timeout=20)
        assert b'"running":true' in r.stdout, r  # root outside: served
        r = subprocess.run(["/usr/bin/python3", "-c", code, sock, procs], capture_output=True, timeout=20)
        assert r.stdout.strip() in (b"REFUSED", b"b'REFUSED'"), r
    finally:
        busybox.docker("rm", "-f", cid, check=False)
