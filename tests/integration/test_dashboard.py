"""The web console (berthd --dashboard, docs/dashboard.md): how it is served, the Origin check that keeps
web pages from driving the API, and the page itself in headless Chromium: the container list, a stop
through the UI, a live CPU plot, live logs, and a screenshot of each view for the docs."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from berthtest import Berthd, REPO

TCP = "127.0.0.1:2375"  # berthd's TCP listener inside its own network namespace
# docs/dashboard/*.png are taken by this test; they are rewritten in the tree only when asked
# (BERTH_UPDATE_SCREENSHOTS=1), so a test run leaves the checkout as it found it.
SHOTS = (os.path.join(REPO, "docs", "dashboard") if os.environ.get("BERTH_UPDATE_SCREENSHOTS")
         else os.path.join(tempfile.gettempdir(), "berth-dashboard-shots"))


def wait_for(fn, timeout=60, what="condition"):
    """Polls fn until it returns something true; generous bounds, never a timing assertion."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # a page still rendering, an element replaced under us
            last = e
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def dash():
    d = Berthd(extra_args=["--dashboard", "-H", "tcp://" + TCP]).start()
    d.import_busybox()
    yield d
    died = d.proc is not None and d.proc.poll() is not None
    d.cleanup()
    assert not died, "berthd exited early"


def tcp_curl(d, path, method="GET", headers=()):
    """curl on berthd's TCP listener, from inside its namespace: (status, headers, body)."""
    argv = ["curl", "-s", "-S", "--max-time", "30", "-X", method, "-D", "-", "-o", "/dev/stderr"]
    for h in headers:
        argv += ["-H", h]
    r = d.nsenter(argv + ["http://" + TCP + path], capture_output=True, timeout=40)
    head = r.stdout.decode(errors="replace").split("\r\n\r\n")[-2 if r.stdout.endswith(b"\r\n\r\n") else -1]
    lines = head.split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    return int(lines[0].split()[1]), hdrs, r.stderr


def running(d, name):
    st, j = d.curl_json(f"/containers/{name}/json")
    assert st == 200, j
    return j["State"]["Running"]


# ---- serving ----

def test_served_with_strict_headers(dash):
    st, h, _ = dash.curl("/dashboard")
    assert st == 301 and h["location"] == "dashboard/"
    st, h, body = dash.curl("/dashboard/")
    assert st == 200 and h["content-type"].startswith("text/html")
    assert b'<script src="app.js"' in body and b"<script>" not in body  # no inline script
    csp = h["content-security-policy"]
    for d in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert d in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert not any(k.startswith("access-control-") for k in h)
    st, h, body = dash.curl("/dashboard/app.js")
    assert st == 200 and h["content-type"].startswith("text/javascript") and b"/v1.52" in body
    st, h2, _ = dash.curl("/dashboard/app.js", headers=["If-None-Match: " + h["etag"]])
    assert st == 304
    st, h, _ = dash.curl("/dashboard/style.css")
    assert st == 200 and h["content-type"].startswith("text/css")
    assert dash.curl("/dashboard/../berth.db")[0] == 404
    assert dash.curl("/dashboard/nope.js")[0] == 404
    assert dash.curl("/dashboard/", method="POST")[0] == 405
    # the same files over TCP: one listener, one server
    st, h, body = tcp_curl(dash, "/dashboard/")
    assert st == 200 and b"app.js" in body and "content-security-policy" in h


def test_off_by_default(berthd):
    for path in ("/dashboard/", "/dashboard", "/dashboard/app.js"):
        st, _, body = berthd.curl(path)
        assert st == 404, (path, body)
        assert json.loads(body)["message"] == "page not found"


def test_tls_listener_needs_a_client_certificate(fresh_berthd):
    """Over TCP the console is behind the listener's TLS and client-certificate check like the API."""
    from test_system import _make_certs
    d = fresh_berthd
    c = _make_certs(d.base)
    addr = "127.0.0.1:23764"
    d.start(extra=["--dashboard", "-H", "tcp://" + addr, "--tlsverify", "--tlscacert", f"{c}/ca.pem",
                   "--tlscert", f"{c}/server-cert.pem", "--tlskey", f"{c}/server-key.pem"])
    d.import_busybox()
    d.docker("run", "-d", "--name", "svc", "busybox", "sleep", "1000")

    def curl(path, *extra, cert=True):
        auth = ["--cert", f"{c}/client-cert.pem", "--key", f"{c}/client-key.pem"] if cert else []
        return d.nsenter(["curl", "-s", "--max-time", "10", "--cacert", f"{c}/ca.pem", "-o", "/dev/null",
                          "-w", "%{http_code}", *auth, *extra, "https://" + addr + path], capture_output=True)

    anon = curl("/dashboard/", cert=False)
    assert anon.stdout in (b"", b"000"), anon.stdout  # the handshake fails: no page without a certificate
    assert curl("/dashboard/").stdout == b"200"
    # on TLS the page's own origin is https://<host>; http://<host> is another origin
    assert curl("/containers/svc/stop?t=0", "-X", "POST", "-H", f"Origin: http://{addr}").stdout == b"403"
    assert running(d, "svc")
    assert curl("/containers/svc/stop?t=0", "-X", "POST", "-H", f"Origin: https://{addr}").stdout == b"204"
    assert not running(d, "svc")


def test_daemon_json_key(fresh_berthd):
    d = fresh_berthd
    with open(d.config, "w") as f:
        json.dump({"dashboard": True}, f)
    d.start()
    st, h, _ = d.curl("/dashboard/")
    assert st == 200 and "content-security-policy" in h
    with open(d.config, "w") as f:
        json.dump({"dashboard": "yes"}, f)  # a wrong type is refused, never taken as on or off
    d.stop()
    r = subprocess.run(d.argv(), capture_output=True, timeout=30)
    assert r.returncode != 0 and b"dashboard" in r.stdout + r.stderr, r


# ---- the Origin check: a web page cannot drive the API through a browser ----

def test_cross_origin_unsafe_requests_refused(dash):
    dash.docker("run", "-d", "--name", "victim", "busybox", "sleep", "1000")
    attacks = [
        ("POST", "/v1.52/containers/victim/stop?t=0", "Origin: http://evil.example"),
        ("POST", "/containers/victim/kill", "Origin: http://evil.example"),
        ("DELETE", "/containers/victim?force=1", "Origin: null"),
        ("POST", "/containers/victim/stop?t=0", f"Origin: https://{TCP}"),       # scheme differs
        ("POST", "/containers/victim/stop?t=0", "Origin: http://127.0.0.1:2376"),  # port differs
    ]
    for method, path, origin in attacks:
        st, h, body = tcp_curl(dash, path, method, [origin])
        assert st == 403, (method, path, origin, st, body)
        assert "cross-origin request refused" in json.loads(body)["message"]
        assert not any(k.startswith("access-control-") for k in h)
    st, _, _ = dash.curl("/containers/victim/stop?t=0", "POST", headers=["Origin: http://evil.example"])
    assert st == 403
    # DNS rebinding: evil.example made to resolve to this daemon; its page is "same-origin" by name
    st, _, body = tcp_curl(dash, "/containers/victim/stop?t=0", "POST",
                           ["Host: evil.example:2375", "Origin: http://evil.example:2375"])
    assert st == 403, body
    assert running(dash, "victim")
    # reads stay open to every client; a browser cannot read them cross-origin without CORS
    assert tcp_curl(dash, "/containers/json", headers=["Origin: http://evil.example"])[0] == 200
    # same origin: the dashboard's own requests
    st, _, body = tcp_curl(dash, "/v1.52/containers/victim/stop?t=0", "POST", [f"Origin: http://{TCP}"])
    assert st == 204, body
    assert not running(dash, "victim")
    # no Origin at all: the docker CLI, docker-py and compose
    st, _, _ = tcp_curl(dash, "/containers/victim/start", "POST")
    assert st == 204 and running(dash, "victim")
    dash.client().containers.get("victim").stop(timeout=0)
    assert not running(dash, "victim")
    dash.docker("rm", "-f", "victim")


# ---- the page in a real browser ----

class UnixProxy:
    """127.0.0.1:<port> -> berthd's unix socket, byte for byte (the browser runs outside berthd's
    network namespace; Host and Origin pass through untouched)."""

    def __init__(self, sock_path):
        self.sock_path = sock_path
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX)
            try:
                u.connect(self.sock_path)
            except OSError:
                c.close()
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def close(self):
        self.lsock.close()


def chromium_driver():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("python3-selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    drv = shutil.which("chromedriver")
    if not binary or not drv:
        pytest.skip("chromium or chromedriver is not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions",
              "--user-data-dir=" + tempfile.mkdtemp(prefix="berth-chromium-")):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(drv), options=opts)


@pytest.fixture(scope="module")
def browser(dash):
    proxy = UnixProxy(dash.sock)
    drv = chromium_driver()
    drv.set_page_load_timeout(60)
    drv.base = f"http://127.0.0.1:{proxy.port}"
    yield drv
    drv.quit()
    proxy.close()


def css(drv, sel):
    return drv.find_elements("css selector", sel)


def click(drv, sel, what):
    """Clicks the element once it is there; the lists re-render on events, so a button found a
    moment ago may be gone: find it again until the click lands."""
    def attempt():
        css(drv, sel)[0].click()
        return True
    wait_for(attempt, what=what)


def show(drv, view):
    drv.get(drv.base + "/dashboard/#/" + view)


def shot(drv, name):
    os.makedirs(SHOTS, exist_ok=True)
    drv.save_screenshot(os.path.join(SHOTS, name + ".png"))


def console_errors(drv):
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def test_lists_the_containers(dash, browser):
    dash.docker("run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sleep", "1000")
    dash.docker("create", "--name", "idle", "busybox", "true")
    show(browser, "containers")
    wait_for(lambda: css(browser, 'tr[data-name="web"]') and css(browser, 'tr[data-name="idle"]'),
             what="both containers listed")
    assert css(browser, 'tr[data-name="web"]')[0].get_attribute("data-state") == "running"
    assert css(browser, 'tr[data-name="idle"]')[0].get_attribute("data-state") == "created"
    assert not [m for m in console_errors(browser) if "Content Security Policy" in m]


def test_stop_through_the_ui(dash, browser):
    dash.docker("run", "-d", "--name", "stopme", "busybox", "sleep", "1000")
    show(browser, "containers")
    click(browser, 'tr[data-name="stopme"] button[data-action="stop"]', "the stop button")
    wait_for(lambda: browser.find_element("id", "confirm").get_attribute("open") is not None, what="the dialog")
    click(browser, "#confirm-ok", "OK")
    wait_for(lambda: not running(dash, "stopme"), what="the API to report it stopped")
    # and the page follows, without a reload
    wait_for(lambda: css(browser, 'tr[data-name="stopme"][data-state="exited"]'), what="the row to say exited")


def test_cancel_leaves_it_running(dash, browser):
    dash.docker("run", "-d", "--name", "keepme", "busybox", "sleep", "1000")
    show(browser, "containers")
    click(browser, 'tr[data-name="keepme"] button[data-action="remove"]', "the remove button")
    wait_for(lambda: browser.find_element("id", "confirm").get_attribute("open") is not None, what="the dialog")
    browser.find_element("id", "confirm-cancel").click()
    time.sleep(1)
    assert running(dash, "keepme")


def test_remove_from_the_container_page(dash, browser):
    dash.docker("run", "-d", "--name", "goner", "busybox", "sleep", "1000")
    show(browser, "container/goner")
    click(browser, 'button[data-action="remove"]', "the remove button")
    wait_for(lambda: browser.find_element("id", "confirm").get_attribute("open") is not None, what="the dialog")
    click(browser, "#confirm-ok", "OK")
    wait_for(lambda: dash.curl("/containers/goner/json")[0] == 404, what="the container to be gone")
    wait_for(lambda: browser.current_url.endswith("#/containers"), what="the page to go back to the list")
    wait_for(lambda: css(browser, "tr[data-name]") and not css(browser, 'tr[data-name="goner"]'), what="the list")


def test_cpu_plot_and_live_logs(dash, browser):
    hog = dash.client().containers.run("busybox", ["sh", "-c", "while :; do :; done"], name="hog", detach=True)
    show(browser, "container/" + hog.id)
    plot = lambda: int(css(browser, "#plot-cpu")[0].get_attribute("data-points"))  # noqa: E731
    first = wait_for(lambda: plot() >= 2 and plot(), what="the CPU plot's first points")
    wait_for(lambda: plot() > first + 2, what="the CPU plot to gain points")
    line = css(browser, "#plot-cpu polyline")[0].get_attribute("points")
    assert len(line.split()) >= 3
    # the hog shows: some sample is well above zero (the y scale is relative to the largest)
    assert any(float(p.split(",")[1]) < 90 for p in line.split()), line
    body = browser.find_element("tag name", "body").text
    assert "[object" not in body and "undefined" not in body, body
    shot(browser, "container")
    hog.remove(force=True)

    talk = dash.client().containers.run(
        "busybox", ["sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done"],
        name="talker", detach=True)
    show(browser, "container/" + talk.id)

    def last_tick():
        text = browser.find_element("id", "logs").text
        ticks = [int(w.split()[1]) for w in text.splitlines() if w.startswith("tick ")]
        return ticks and max(ticks)

    seen = wait_for(last_tick, what="log lines")
    # lines keep arriving on the open page: the logs follow
    wait_for(lambda: last_tick() >= seen + 5, what="new log lines without a reload")
    talk.remove(force=True)


class EvilSite:
    """Another origin: a page of its own on another port, without the dashboard's CSP."""

    def __init__(self):
        import functools
        import http.server
        self.dir = tempfile.mkdtemp(prefix="berth-evil-")
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("<!doctype html><title>evil</title><p>nothing to see</p>")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=self.dir)
        handler.log_message = lambda *a: None
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_attack_from_another_origin_in_the_browser(dash, browser):
    """A page of another origin fires a no-cors POST at the API, as a malicious site would; the
    browser sends that page's Origin and berthd refuses the request, so the container keeps running."""
    dash.docker("run", "-d", "--name", "target", "busybox", "sleep", "1000")
    evil = EvilSite()
    try:
        browser.get(f"http://127.0.0.1:{evil.port}/")
        status = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0] + '/v1.52/containers/target/stop?t=0', {method: 'POST', mode: 'no-cors'})
              .then(r => done('sent ' + r.type), e => done('error ' + e));""", browser.base)
    finally:
        evil.close()
    assert status == "sent opaque", status  # it reached berthd; the browser hides the answer
    wait_for(lambda: "POST /v1.52/containers/target/stop" in open(dash.log).read(), what="the request in the log")
    assert running(dash, "target")
    # the same request from the dashboard's own origin works
    show(browser, "host")
    status = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/v1.52/containers/target/stop?t=0', {method: 'POST'}).then(r => done(r.status), e => done(String(e)));""")
    assert status == 204
    assert not running(dash, "target")


def test_the_page_cannot_reach_other_origins(dash, browser):
    """Defence in depth: the dashboard's CSP (connect-src 'self') stops its own scripts from talking
    to any other address."""
    show(browser, "host")
    status = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('http://localhost:9/x', {mode: 'no-cors'}).then(r => done('sent'), e => done('blocked'));""")
    assert status == "blocked"
    assert [m for m in console_errors(browser) if "Content Security Policy" in m]


def test_screenshots_of_each_view(dash, browser):
    dash.docker("volume", "create", "data")
    dash.docker("run", "-d", "--name", "db", "-v", "data:/var/lib/db", "busybox", "sleep", "1000")
    views = {
        "containers": 'tr[data-name="db"]',
        "images": "tr[data-id]",
        "networks": 'tr[data-name="bridge"]',
        "events": "#event-list li",
        "host": "svg.bars rect",
    }
    for view, ready in views.items():
        show(browser, view)
        wait_for(lambda: css(browser, ready), what=view + " view")
        if view == "images":
            click(browser, "tr[data-id] button", "history")  # open one image's history
            wait_for(lambda: css(browser, "tr.sub td"), what="image history")
        if view == "events":  # live: a new container's events appear on the open page
            dash.docker("create", "--name", "newcomer", "busybox", "true")
            wait_for(lambda: "create newcomer" in browser.find_element("id", "event-list").text,
                     what="the create event")
        if view == "networks":
            wait_for(lambda: "db" in css(browser, 'tr[data-name="data"]')[0].text, what="the volume's user")
        body = browser.find_element("tag name", "body").text
        assert "[object" not in body and "undefined" not in body and "Error:" not in body, body
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 1280, (view, width)
        shot(browser, view)
    browser.set_window_size(390, 844)  # a phone
    show(browser, "containers")
    wait_for(lambda: css(browser, 'tr[data-name="db"]'), what="containers at phone width")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, width  # nothing forces sideways scrolling of the page
    shot(browser, "phone")
    browser.set_window_size(1280, 900)
    errors = [m for m in console_errors(browser) if "Content Security Policy" in m or "Uncaught" in m]
    assert not errors, errors
