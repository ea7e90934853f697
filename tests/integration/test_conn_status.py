#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_conn_status.py: the two TWS sessions' state as the operator sees it.
# A real slobd (replay-gw) against slob-gw over loopback is driven through
# every transition, and at each step the four views must agree with what the
# sessions actually do:
#   1. the stats file itself (status block parsed here, byte by byte),
#   2. `slobctl status` (text) and `slobctl status --json`,
#   3. the dashboard's /api/status,
#   4. the dashboard's /metrics (slob_connection_up / _state / _drops_total).
# Steps: a port that accepts and never answers (connecting) -> the port
# refused (down) -> slob-gw appears (market data up, orders reconciled) ->
# slob-gw drops both sockets (one drop each, back up and reconciled) ->
# slob-gw killed (down, two drops) -> slob-gw restarted (up, reconciled) ->
# slob-gw stalls its output (stale: connecting again, three drops) -> back.
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN = os.environ.get("SLOB_BIN_DIR", "build/release/bin")
PASSWORD = "conn status test pw"
procs = []


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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(0.1)
    return None


# ---- the four views ----------------------------------------------------------

STATE_NAMES = {0: "down", 1: "connecting", 2: "up", 3: "disabled", 4: "reconciled"}


def stats_file(path):
    """The status block read straight from the file (engine/stats.h layout)."""
    with open(path, "rb") as f:
        data = f.read(16384)
    magic, version, header_size, status_off = struct.unpack_from("<QIII", data, 0)
    if magic != 0x54415453424F4C53:
        return None
    for _ in range(1000):
        with open(path, "rb") as f:
            f.seek(status_off)
            blk = f.read(128)
        seq = struct.unpack_from("<Q", blk, 0)[0]
        if seq & 1:
            time.sleep(0.001)
            continue
        conn = struct.unpack_from("<ii", blk, 40)
        since = struct.unpack_from("<qq", blk, 48)
        drops = struct.unpack_from("<II", blk, 64)
        with open(path, "rb") as f:
            f.seek(status_off)
            seq2 = struct.unpack_from("<Q", f.read(8), 0)[0]
        if seq2 != seq:
            continue
        return {n: {"state": STATE_NAMES.get(conn[i], "?%d" % conn[i]), "since_ns": since[i],
                    "drops": drops[i]} for i, n in enumerate(("market_data", "orders"))}
    return None


class Views:
    def __init__(self, data_dir, dash_port):
        self.dir = data_dir
        self.dash = dash_port
        self.cookie = None

    def slobctl_json(self):
        p = subprocess.run([tool("slobctl"), "--data-dir", self.dir, "status", "--json"],
                           capture_output=True, text=True, timeout=20)
        return json.loads(p.stdout)["connections"]

    def slobctl_text(self):
        p = subprocess.run([tool("slobctl"), "--data-dir", self.dir, "status"],
                           capture_output=True, text=True, timeout=20)
        out = {}
        for label, key in (("market data", "market_data"), ("orders", "orders")):
            m = re.search(r"^%s +(\S+) +since (.*?)  disconnects (\d+)$" % label, p.stdout, re.M)
            out[key] = {"state": m.group(1), "drops": int(m.group(3))} if m else {"raw": p.stdout}
        return out

    def http(self, path, cookie=None, method="GET", body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.dash, timeout=20)
        h = {}
        if cookie:
            h["Cookie"] = cookie
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def api(self):
        if self.cookie is None:
            r, _ = self.http("/login", method="POST",
                             body="password=" + urllib.parse.quote_plus(PASSWORD))
            self.cookie = r.getheader("Set-Cookie").split(";")[0]
        r, data = self.http("/api/status", cookie=self.cookie)
        return {c["name"]: c for c in json.loads(data)["connections"]}

    def metrics(self):
        r, data = self.http("/metrics")
        text = data.decode()
        out = {}
        for key in ("market_data", "orders"):
            up = re.search(r'^slob_connection_up\{conn="%s"\} (\d+)$' % key, text, re.M)
            drops = re.search(r'^slob_connection_drops_total\{conn="%s"\} (\d+)$' % key, text, re.M)
            states = re.findall(r'^slob_connection_state\{conn="%s",state="(\w+)"\} 1$' % key,
                                text, re.M)
            out[key] = {"up": int(up.group(1)) if up else None,
                        "drops": int(drops.group(1)) if drops else None, "states": states}
        return out

    def all(self):
        return {"file": stats_file(os.path.join(self.dir, "slob.stats")),
                "json": self.slobctl_json(), "text": self.slobctl_text(), "api": self.api(),
                "metrics": self.metrics()}


def agree(v, conn, state, drops=None):
    """True when all four views say `conn` is in `state` (and has `drops`)."""
    connected = state in ("up", "reconciled")
    f, j, t, a, m = (v["file"][conn], v["json"][conn], v["text"][conn], v["api"][conn],
                     v["metrics"][conn])
    ok = (f["state"] == state and j["state"] == state and t.get("state") == state and
          a["state"] == state and m["states"] == [state] and m["up"] == int(connected) and
          j["connected"] == connected and a["connected"] == connected)
    if drops is not None:
        ok = ok and f["drops"] == drops and j["drops"] == drops and t.get("drops") == drops and \
            a["drops"] == drops and m["drops"] == drops
    return ok


def step(views, what, want, timeout=30):
    """Waits until every view shows `want` {conn: (state, drops)}; checks it."""
    last = {}

    def pred():
        v = views.all()
        last["v"] = v
        return all(agree(v, c, s, d) for c, (s, d) in want.items())

    ok = wait_for(pred, timeout, what)
    if not ok:
        print(json.dumps(last.get("v"), indent=1, default=str), file=sys.stderr)
    check(bool(ok), what)
    return last["v"]


# ---- processes ---------------------------------------------------------------

def start_gw(tmp, port, ctl_port):
    out = open(os.path.join(tmp, "gw.out"), "a")
    p = subprocess.Popen([tool("slob-gw"), "--port", str(port), "--control-port", str(ctl_port),
                          "--ticks", os.path.join(tmp, "gen", "sample.ticks"), "--speed", "20",
                          "--wait-sub", "--account", "DU1234567", "--contract", "MNQ", "--state",
                          os.path.join(tmp, "gw.state")], stdout=out, stderr=out)
    procs.append(p)
    end = time.time() + 10
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", ctl_port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.1)
    fail("slob-gw did not start")


def gw(ctl_port, cmd):
    s = socket.create_connection(("127.0.0.1", ctl_port), timeout=5)
    s.sendall((cmd + "\n").encode())
    buf = b""
    while b"OK" not in buf and b"ERR" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return buf.decode().strip()


def main():
    base = os.environ.get("SLOB_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="conn_status.", dir=base)
    data = os.path.join(tmp, "data")
    os.makedirs(os.path.join(tmp, "logs"))
    subprocess.run([tool("slob-gen"), "--sample", os.path.join(tmp, "gen")], check=True,
                   stdout=subprocess.DEVNULL)
    port, ctl_port = free_port(), free_port()

    # a port that accepts and never answers: the handshake waits, "connecting"
    hole = socket.socket()
    hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hole.bind(("127.0.0.1", port))
    hole.listen(16)

    sd_out = open(os.path.join(tmp, "slobd.out"), "w")
    sd = subprocess.Popen([tool("slobd"), "--data-dir", data,
                           "--set", "instrument.symbol=MNQ", "--set", "instrument.point_value=2",
                           "--set", "tws.account=DU1234567", "--set", "tws.port=%d" % port,
                           "--set", "tws.backoff_initial_ms=1500", "--set", "tws.backoff_cap_ms=3000",
                           "--set", "tws.backoff_jitter_pct=0",
                           "--set", "tws.connect_timeout_ms=60000",
                           "--set", "tws.silence_ms=1000", "--set", "tws.probe_timeout_ms=1000",
                           "--set", "tws.md_silence_check=always",
                           "--set", "risk.daily_loss_limit=0", "--set", "risk.max_drawdown_pct=0",
                           "--set", "risk.max_concurrent_positions=64",
                           "--set", "risk.order_rate_limit=1000",
                           "--set", "log.trading_file=" + os.path.join(tmp, "logs", "trading.log"),
                           "--set", "log.errors_file=" + os.path.join(tmp, "logs", "errors.log"),
                           "replay-gw", "-q"], stdout=sd_out, stderr=sd_out)
    procs.append(sd)
    if not wait_for(lambda: os.path.exists(os.path.join(data, "slob.stats")) and
                    os.path.exists(os.path.join(data, "slob_state.db")), 20, "slobd files"):
        fail("slobd did not create its files: " + open(os.path.join(tmp, "slobd.out")).read())

    subprocess.run([tool("slob-dash"), "set-password", os.path.join(data, "dashboard.pw")],
                   input=PASSWORD + "\n", text=True, check=True, stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    dash = subprocess.Popen([tool("slob-dash"), "--data-dir", data, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    procs.append(dash)
    dash_port = None
    end = time.time() + 20
    while time.time() < end:
        line = dash.stdout.readline()
        if "listening on http://" in line:
            dash_port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
            break
    check(dash_port is not None, "slob-dash started on the engine's data directory")
    views = Views(data, dash_port)

    # 1. connecting: TCP accepted, the handshake never answered
    step(views, "TCP up, no handshake: both sessions connecting in all four views",
         {"market_data": ("connecting", 0), "orders": ("connecting", 0)})
    # 2. down: nobody listens
    hole.close()
    step(views, "port refused: both sessions down in all four views (no drop yet)",
         {"market_data": ("down", 0), "orders": ("down", 0)}, timeout=90)
    # 3. the gateway appears
    start_gw(tmp, port, ctl_port)
    v = step(views, "gateway up: market data up, orders reconciled in all four views",
             {"market_data": ("up", 0), "orders": ("reconciled", 0)})
    since0 = v["file"]["orders"]["since_ns"]
    check(abs(since0 / 1e9 - time.time()) < 60, "since is the time of the change (stats file)")
    check(v["json"]["orders"]["since_ns"] == since0, "slobctl --json since matches the file")
    # 4. the gateway drops both sockets: one drop each, back up and reconciled
    gw(ctl_port, "disconnect")
    v = step(views, "after a disconnect: up / reconciled again, one drop each",
             {"market_data": ("up", 1), "orders": ("reconciled", 1)})
    check(v["file"]["orders"]["since_ns"] > since0, "since moved with the reconnect")
    # 5. the gateway dies
    procs[-1].kill()
    procs[-1].wait()
    step(views, "gateway killed: both sessions down, two drops each",
         {"market_data": ("down", 2), "orders": ("down", 2)})
    # 6. and comes back
    start_gw(tmp, port, ctl_port)
    step(views, "gateway restarted: market data up, orders reconciled, two drops each",
         {"market_data": ("up", 2), "orders": ("reconciled", 2)})
    # 7. the gateway stalls with its sockets open: stale, reconnecting, back
    gw(ctl_port, "stall 8")
    step(views, "gateway stalled: both sessions stale, reconnecting, three drops each",
         {"market_data": ("connecting", 3), "orders": ("connecting", 3)}, timeout=8)
    log = open(os.path.join(tmp, "logs", "trading.log")).read()
    check("market data connection lost: stale:" in log and "order connection lost: stale:" in log,
          "the drops say stale (trading.log)")
    step(views, "stall over: market data up, orders reconciled, three drops each",
         {"market_data": ("up", 3), "orders": ("reconciled", 3)})

    # a stopped engine: the views do not claim the last states as current
    sd.send_signal(signal.SIGTERM)
    try:
        sd.wait(30)
    except subprocess.TimeoutExpired:
        fail("slobd did not stop")
    j = views.slobctl_json()
    check(j["orders"]["state"] == "unknown" and j["orders"]["last_state"] == "reconciled" and
          not j["orders"]["connected"], "engine stopped: slobctl says unknown, last state kept")
    m = views.metrics()
    check(m["orders"]["up"] == 0 and m["market_data"]["up"] == 0,
          "engine stopped: slob_connection_up is 0")
    shutil.rmtree(tmp, ignore_errors=True)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
