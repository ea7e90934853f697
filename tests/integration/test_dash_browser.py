#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# slob-dash in headless Chromium: log in through the form, load every page,
# take screenshots, check that the equity chart drew (pixels of the series
# colour on the uPlot canvas), that the breaker badge follows the store
# (tripped -> red, reset -> green), that the session cookie is invisible to
# scripts (HttpOnly) and that no page throws or violates the CSP.
# Chromium is driven over the DevTools protocol on a pipe
# (--remote-debugging-pipe: JSON messages separated by NUL on fds 3 and 4),
# so nothing beyond the standard library and the chromium package is needed.
# Screenshots are left in $SLOB_TEST_TMP/dash-screens/.
import base64
import fcntl
import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_dash_http import Fixture, PASSWORD, check, fail  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class CDP:
    def __init__(self, profile):
        r3, self.w = os.pipe()   # we write, chromium reads fd 3
        self.r, w4 = os.pipe()   # chromium writes fd 4, we read

        def pre():
            a = fcntl.fcntl(r3, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(w4, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"]
        # close_fds=False: fds 3 and 4 are set up by pre() after the fork.
        self.proc = subprocess.Popen(args, preexec_fn=pre, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, close_fds=False)
        os.close(r3)
        os.close(w4)
        self.buf = b""
        self.n = 0
        self.events = []

    def _read(self, timeout):
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.r], [], [], timeout)
            if not ready:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self.n += 1
        m = {"id": self.n, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            msg = self._read(max(0.1, deadline - time.time()))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.w)
        os.close(self.r)


class Page:
    def __init__(self, cdp):
        self.cdp = cdp
        tid = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = cdp.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for dom in ("Page.enable", "Runtime.enable", "Log.enable"):
            cdp.send(dom, session=self.s)

    def eval(self, expr):
        r = self.cdp.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=self.s)
        if "exceptionDetails" in r:
            raise RuntimeError("JS error in %r: %s" % (expr, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait(self, expr, what, timeout=20):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.eval(expr)
                if last:
                    return last
            except RuntimeError:
                pass
            time.sleep(0.1)
        fail("timed out waiting for %s (last value %r)" % (what, last))

    def goto(self, url):
        # Mark the current document so the wait below cannot be satisfied by it.
        try:
            self.eval("window.__slobOld = true")
        except RuntimeError:
            pass
        self.cdp.send("Page.navigate", {"url": url}, session=self.s)
        self.wait("!window.__slobOld && document.readyState === 'complete' && location.href",
                  "load of " + url)

    def shot(self, path):
        data = base64.b64decode(self.cdp.send("Page.captureScreenshot", {"format": "png"}, session=self.s)["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data

    def errors(self):
        bad = []
        for e in self.cdp.events:
            m = e.get("method")
            if m == "Runtime.exceptionThrown":
                bad.append(e["params"]["exceptionDetails"].get("text"))
            elif (m == "Log.entryAdded" and e["params"]["entry"]["level"] == "error" and
                  e["params"]["entry"].get("source") != "network"):  # 401 on a wrong password is expected
                bad.append(e["params"]["entry"].get("text"))
        return bad


def bg(page):
    return page.eval("getComputedStyle(document.getElementById('breaker')).backgroundColor")


def main():
    if CHROMIUM is None:
        print("SKIP: chromium not installed (scripts/install-deps.sh --test)")
        return 77
    base_tmp = os.environ.get("SLOB_TEST_TMP") or tempfile.gettempdir()
    shots = os.path.join(base_tmp, "dash-screens")
    os.makedirs(shots, exist_ok=True)
    # Store says tripped; the (fake) engine says not: the badge must follow the store.
    fx = Fixture(trades=2000, breaker=1, engine_breaker=0)
    profile = tempfile.mkdtemp(prefix="chromium.", dir=base_tmp)
    cdp = None
    try:
        fx.start()
        url = "http://127.0.0.1:%d" % fx.port
        cdp = CDP(profile)
        pg = Page(cdp)

        pg.goto(url + "/")
        check(pg.eval("location.pathname") == "/login", "browser: / redirects to the login page")
        pg.eval("document.getElementById('password').value = 'not the password';"
                "document.getElementById('login-form').submit(); true")
        pg.wait("location.pathname === '/login' && document.getElementById('login-msg') && "
                "document.getElementById('login-msg').textContent.includes('Invalid password')",
                "the wrong-password message")
        check(True, "browser: wrong password shows 'Invalid password'")
        pg.eval("document.getElementById('password').value = %s;"
                "document.getElementById('login-form').submit(); true" % json.dumps(PASSWORD))
        pg.wait("location.pathname === '/' && document.body.dataset.ready === '1'", "overview after login")
        check(True, "browser: login lands on the overview")
        check("slob_session" not in (pg.eval("document.cookie") or ""), "browser: session cookie hidden from scripts (HttpOnly)")
        check(pg.eval("document.getElementById('breaker').textContent") == "TRIPPED", "overview: breaker says TRIPPED")
        check(bg(pg) == "rgb(198, 40, 40)", "overview: tripped breaker is red")
        check(pg.eval("document.getElementById('engine-status').textContent") == "RUNNING", "overview: engine RUNNING")
        check(pg.eval("document.getElementById('today-pnl').textContent") == "-$1,250.00", "overview: today's P&L")
        check(pg.eval("document.querySelectorAll('#conn-table tbody tr').length") == 2, "overview: two connections")
        ev = pg.eval("document.getElementById('events-table').textContent")
        check("IB connection lost (1100)" in ev and "Circuit breaker tripped" in ev, "overview: recent events and alerts listed")
        png = pg.shot(os.path.join(shots, "overview-tripped.png"))
        check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000, "overview screenshot")

        pg.goto(url + "/positions")
        pg.wait("document.body.dataset.ready === '1'", "positions page")
        check(pg.eval("document.querySelectorAll('#positions-table tbody tr').length") == 1, "positions: one open position")
        setups = pg.eval("[...document.querySelectorAll('#setups-table tbody tr td:first-child')].map(td => td.textContent)")
        check(sorted(setups) == ["00000000000000a1", "00000000000000a2"], "positions: active setups listed")
        pg.shot(os.path.join(shots, "positions.png"))

        pg.goto(url + "/trades")
        pg.wait("document.body.dataset.ready === '1' && document.getElementById('pnl-chart').dataset.drawn === '1'", "trades page and chart")
        check(int(pg.eval("document.getElementById('pnl-chart').dataset.points")) > 300, "chart: a year of daily points")
        check(pg.eval("document.querySelectorAll('#trades-table tbody tr').length") == 100, "trades: first page of 100 rows")
        # The cumulative series is stroked in #1565c0: count such pixels on the canvas.
        blue = pg.eval("""(() => { const c = document.querySelector('#pnl-chart canvas'); if (!c) return -1;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]-21) < 40 && Math.abs(d[i+1]-101) < 40 && Math.abs(d[i+2]-192) < 40 && d[i+3] > 100) n++;
            return n; })()""")
        check(blue > 300, "chart: the equity line is drawn on the canvas (%s pixels)" % blue)
        pg.eval("document.getElementById('trades-more').click(); true")
        pg.wait("document.querySelectorAll('#trades-table tbody tr').length === 200", "older trades page")
        check(True, "trades: 'Older trades' appends the next page")
        pg.shot(os.path.join(shots, "trades.png"))

        pg.goto(url + "/stats")
        pg.wait("document.body.dataset.ready === '1'", "stats page")
        lat = pg.eval("[...document.querySelectorAll('#latency-table tbody tr td:first-child')].map(td => td.textContent)")
        check("tick_to_order" in lat, "stats: latency histogram listed")
        check(pg.eval("document.querySelectorAll('#stages-table tbody tr').length") == 6, "stats: six stages")
        pg.shot(os.path.join(shots, "stats.png"))

        # The operator resets the breaker in the store: the badge turns green.
        con = sqlite3.connect(fx.db)
        con.execute("UPDATE risk_state SET breaker_tripped = 0, breaker_reason = NULL WHERE id = 1")
        con.commit()
        con.close()
        pg.goto(url + "/")
        pg.wait("document.body.dataset.ready === '1'", "overview again")
        check(pg.eval("document.getElementById('breaker').textContent") == "OK", "overview: breaker OK after reset in the store")
        check(bg(pg) == "rgb(46, 125, 50)", "overview: reset breaker is green")
        pg.shot(os.path.join(shots, "overview-ok.png"))
        errs = pg.errors()
        check(not errs, "no script errors or CSP violations (%s)" % errs)

        pg.eval("document.getElementById('logout').click(); true")
        pg.wait("location.pathname === '/login'", "login page after logout")
        pg.goto(url + "/trades")
        check(pg.eval("location.pathname") == "/login", "browser: after logout pages need a login again")
    finally:
        if cdp:
            cdp.close()
        fx.close()
        shutil.rmtree(profile, ignore_errors=True)
    print("test_dash_browser: all checks passed (screenshots in %s)" % shots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
