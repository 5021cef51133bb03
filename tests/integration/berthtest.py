"""Test harness: a berthd with its own data root, exec root, socket and
network namespace, driven with the docker CLI, docker-py and curl."""
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build"))
BERTHD = os.path.join(BUILD, "src", "berthd")
BERTH = os.path.join(BUILD, "src", "berth")
DOCKER = shutil.which("docker") or "/usr/bin/docker"


def _sanitized():
    try:
        with open(os.path.join(BUILD, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        return opts.get("b_sanitize", "none") != "none"
    except (OSError, ValueError, KeyError):
        return False


# ASan/UBSan builds: memory figures mean nothing there, behaviour must not differ
SANITIZED = _sanitized()
_counter = itertools.count()
_busybox_tar = None


def busybox_tar():
    """A busybox rootfs tar made once per test session."""
    global _busybox_tar
    if _busybox_tar is None:
        fd, path = tempfile.mkstemp(prefix="berth-busybox-", suffix=".tar")
        os.close(fd)
        subprocess.run([os.path.join(REPO, "scripts", "mkimage-busybox.sh"), path], check=True)
        _busybox_tar = path
    return _busybox_tar


class Berthd:
    def __init__(self, extra_args=()):
        n = next(_counter)
        self.name = f"berth-t{os.getpid()}-{n}"
        self.base = tempfile.mkdtemp(prefix=self.name + "-")
        self.data_root = os.path.join(self.base, "data")
        self.exec_root = os.path.join(self.base, "run")
        self.sock = os.path.join(self.base, "berth.sock")
        self.pidfile = os.path.join(self.base, "berthd.pid")
        self.log = os.path.join(self.base, "berthd.log")
        self.host = "unix://" + self.sock
        # an empty daemon.json of its own: the host's /etc/berth/daemon.json never applies
        self.config = os.path.join(self.base, "daemon.json")
        with open(self.config, "w") as f:
            f.write("{}\n")
        self.netns = self.name
        self.extra_args = list(extra_args)
        self.proc = None
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.nsenter(["ip", "link", "set", "lo", "up"], check=True)

    def nsenter(self, argv, **kw):
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}"] + argv, **kw)

    def argv(self, extra=()):
        return ["nsenter", f"--net=/run/netns/{self.netns}", BERTHD,
                "--data-root", self.data_root, "--exec-root", self.exec_root,
                "--pidfile", self.pidfile, "-H", self.host, "--log-level", "debug", "--config-file", self.config] \
            + self.extra_args + list(extra)

    def start(self, extra=(), wait=True, env=None):
        """env: extra environment variables for this run of berthd (e.g. BERTH_CRASH_AT)."""
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv(extra), stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=dict(os.environ, **env) if env else None)
        logf.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}:\n{self.logtail()}")
            try:
                st, _, _ = self.curl("/_ping", timeout=1)
                if st == 200:
                    return
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError("berthd did not become ready:\n" + self.logtail())

    def logtail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode if self.proc else None
        self.proc = None
        return code

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self, extra=()):
        self.stop()
        return self.start(extra)

    def cleanup(self):
        # Containers must not outlive their test: remove them through the API
        # while the daemon is up, then kill whatever the daemon left behind.
        if self.proc and self.proc.poll() is None:
            try:
                ids = self.docker("ps", "-aq", check=False, timeout=20).stdout.split()
                if ids:
                    self.docker("rm", "-f", *[i.decode() for i in ids], check=False, timeout=60)
            except Exception:
                pass
        self.stop()
        self.kill_leftovers()
        subprocess.run(["ip", "netns", "del", self.netns], check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", self.base], check=False)

    def kill_leftovers(self):
        """Kills monitors started from this daemon's exec root and every process
        in the cgroups of its containers; returns how many were found."""
        found = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"berth-monitor" in cmd and self.exec_root.encode() in cmd:
                found += 1
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        cdir = os.path.join(self.data_root, "containers")
        ids = os.listdir(cdir) if os.path.isdir(cdir) else []
        for cid in ids:
            for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/memory",
                         "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                procs = os.path.join(root, "berth", cid, "cgroup.procs")
                try:
                    with open(procs) as f:
                        pids = [int(x) for x in f.read().split()]
                except (OSError, ValueError):
                    continue
                for p in pids:
                    found += 1
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
        return found

    # ---- clients ----
    def env(self):
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e.pop("DOCKER_CONTEXT", None)
        e["DOCKER_CONFIG"] = os.path.join(self.base, "docker-config")
        return e

    def docker(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run([DOCKER] + list(args), input=input, capture_output=True, env=self.env(),
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}):\n"
                                 f"stdout: {r.stdout.decode(errors='replace')}\n"
                                 f"stderr: {r.stderr.decode(errors='replace')}")
        return r

    def berth(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run([BERTH, "-H", self.host] + list(args), input=input, capture_output=True,
                           env=self.env(), timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed ({r.returncode}):\n"
                                 f"stdout: {r.stdout.decode(errors='replace')}\n"
                                 f"stderr: {r.stderr.decode(errors='replace')}")
        return r

    def curl(self, path, method="GET", data=None, headers=(), timeout=30, data_file=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        hfile = tempfile.NamedTemporaryFile(delete=False)
        hfile.close()
        argv = ["curl", "-s", "-S", "--max-time", str(timeout), "--unix-socket", self.sock, "-X", method,
                "-D", hfile.name, "-o", "-"]
        if method == "HEAD":
            argv = [a for a in argv if a not in ("-X", "HEAD")] + ["-I"]
        for h in headers:
            argv += ["-H", h]
        if data is not None:
            if isinstance(data, (dict, list)):
                data = json.dumps(data)
                argv += ["-H", "Content-Type: application/json"]
            argv += ["--data-binary", "@-"]
        if data_file is not None:
            argv += ["--data-binary", "@" + data_file]
        argv.append("http://localhost" + path)
        inp = data.encode() if isinstance(data, str) else data
        r = subprocess.run(argv, input=inp, capture_output=True, timeout=timeout + 5)
        with open(hfile.name, "rb") as f:
            raw = f.read().decode(errors="replace")
        os.unlink(hfile.name)
        blocks = [b for b in raw.split("\r\n\r\n") if b.strip()]
        status, hdrs = 0, {}
        if blocks:
            lines = blocks[-1].split("\r\n")
            status = int(lines[0].split()[1])
            for ln in lines[1:]:
                if ":" in ln:
                    k, v = ln.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
        body = r.stdout if method != "HEAD" else b""
        return status, hdrs, body

    def curl_json(self, path, method="GET", data=None, headers=()):
        st, h, body = self.curl(path, method, data, headers)
        return st, (json.loads(body) if body.strip() else None)

    def client(self, version="auto"):
        import docker
        return docker.DockerClient(base_url=self.host, version=version, timeout=60)

    def import_busybox(self, ref="busybox:latest"):
        with open(busybox_tar(), "rb") as f:
            self.docker("import", "-c", 'CMD ["sh"]', "-", ref, input=f.read())


def join_netns(a, b, addr_a, addr_b, ifname="vjoin"):
    """Joins two daemons' network namespaces with a veth pair (ifname on both
    sides) and gives them addr_a and addr_b ("10.99.0.1/24"): two "hosts" on
    one link. Everything stays inside the namespaces the harness created and
    goes away with them."""
    subprocess.run(["ip", "-n", a.netns, "link", "add", ifname, "type", "veth", "peer", "name", ifname,
                    "netns", b.netns], check=True)
    for d, addr in ((a, addr_a), (b, addr_b)):
        subprocess.run(["ip", "-n", d.netns, "addr", "add", addr, "dev", ifname], check=True)
        subprocess.run(["ip", "-n", d.netns, "link", "set", ifname, "up"], check=True)
