# SPDX-License-Identifier: MIT
# Shared helpers for the slob-dash integration tests (test_dash_*.py): build a
# fixture (store, password file, fake engine stats file) in a fresh temp dir,
# start slob-dash on a free port (--port 0, port read from its stdout), and
# make HTTP requests over 127.0.0.1 with the standard library only.
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("SLOB_BIN_DIR", "build/bin")
PASSWORD = "correct horse battery"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok - " + msg)


def tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        print("SKIP: %s not built" % path)
        sys.exit(77)
    return path


class Fixture:
    def __init__(self, trades=500, breaker=1, engine=True, password=True):
        base = os.environ.get("SLOB_TEST_TMP") or tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="dash.", dir=base)
        self.db = os.path.join(self.dir, "slob_state.db")
        self.stats = os.path.join(self.dir, "slob.stats")
        self.pw = os.path.join(self.dir, "dashboard.pw")
        self.procs = []
        subprocess.run([tool("dash_bench"), "seed", self.db, "--trades", str(trades),
                        "--breaker", str(breaker)], check=True, stdout=subprocess.DEVNULL)
        if password:
            subprocess.run([tool("slob-dash"), "set-password", self.pw],
                           input=PASSWORD + "\n", text=True, check=True,
                           stdout=subprocess.DEVNULL)
        if engine:
            p = subprocess.Popen([tool("dash_bench"), "fake-engine", self.stats, "--breaker",
                                  str(breaker), "--seconds", "300"],
                                 stdout=subprocess.PIPE, text=True)
            p.stdout.readline()  # "fake-engine: pid N writing ..." once the file exists
            self.procs.append(p)

    def start(self, *extra, env=None):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("DASHBOARD_") or k == "STATE_DB_PATH":
                del e[k]
        if env:
            e.update(env)
        p = subprocess.Popen([tool("slob-dash"), "--data-dir", self.dir, "--port", "0"] +
                             list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=e)
        self.procs.append(p)
        deadline = time.time() + 20
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            if "listening on http://" in line:
                self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
                return p
        fail("slob-dash did not start: " + p.stderr.read())

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    h = dict(headers or {})
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data


def login(port, password=PASSWORD):
    st, r, _ = request(port, "POST", "/login", body="password=" +
                       __import__("urllib.parse").parse.quote_plus(password))
    cookie = r.getheader("Set-Cookie")
    return st, r, cookie
