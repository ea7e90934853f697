#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_gw_options.py: slob-gw behaves like IB Gateway for what it is told to
# serve, and both simulator tools explain themselves (issue 16).
#  - `slob-gw --help` lists every option; an unknown option is named as
#    unknown (not "needs a value"); `slob-gw-client --help` works, and the
#    client stops retrying an unreachable gateway after --max-attempts.
#  - --contract MNQ: reqContractDetails answered for MNQ (multiplier 2, tick
#    0.25, conId, contract month); NQ is not served (IB 200); an order for NQ
#    is refused with IB 200, an order for MNQ accepted and reported with the
#    contract actually ordered (openOrder, orderStatus, execDetails,
#    position); orderStatus filled/remaining are whole numbers as in the
#    vectors.
#  - --live-time: streamed ticks carry the current time, not the file's.
import os
import socket
import struct
import subprocess
import sys
import time

BIN = os.environ.get("SLOB_BIN_DIR")
if not BIN or not os.access(os.path.join(BIN, "slob-gw"), os.X_OK):
    print("slob-gw missing")
    sys.exit(77)
TMP = os.environ.get("SLOB_TEST_TMP", "/tmp")
failures = []


def check(what, cond):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


# ---- options ------------------------------------------------------------------
h = subprocess.run([os.path.join(BIN, "slob-gw"), "--help"], capture_output=True, text=True)
check("slob-gw --help exits 0", h.returncode == 0)
for opt in ["--port", "--control-port", "--contract", "--ticks", "--speed", "--live-time",
            "--wait-sub", "--bar-pause-ms", "--state", "--account", "--first-id",
            "--log-requests", "--help"]:
    check("slob-gw --help lists " + opt, opt in h.stdout)
b = subprocess.run([os.path.join(BIN, "slob-gw"), "--bogus"], capture_output=True, text=True)
check("slob-gw --bogus: named as unknown, exit 2",
      b.returncode == 2 and "unknown option --bogus" in b.stderr and "needs a value" not in b.stderr)
b = subprocess.run([os.path.join(BIN, "slob-gw"), "--contract", "MNQ,mult=x"], capture_output=True,
                   text=True)
check("slob-gw --contract with a bad value: refused", b.returncode == 2 and "--contract" in b.stderr)
c = subprocess.run([os.path.join(BIN, "slob-gw-client"), "--help"], capture_output=True, text=True)
check("slob-gw-client --help exits 0 and lists --max-attempts",
      c.returncode == 0 and "--max-attempts" in c.stdout and "needs a value" not in c.stderr)

# slob-gw-client against a port nobody listens on: gives up after --max-attempts
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
dead_port = ls.getsockname()[1]
ls.close()
t0 = time.time()
try:
    r = subprocess.run([os.path.join(BIN, "slob-gw-client"), "--port", str(dead_port),
                        "--backoff-ms", "50", "--max-attempts", "3", "--run-ms", "60000"],
                       capture_output=True, text=True, timeout=30)
    check("slob-gw-client stops retrying after --max-attempts (exit 3, %.1f s)" % (time.time() - t0),
          r.returncode == 3 and "not reachable after 3 attempts" in r.stderr)
except subprocess.TimeoutExpired:
    check("slob-gw-client stops retrying after --max-attempts (still retrying after 30 s)", False)

# ---- a gateway serving MNQ, streaming a small file ------------------------------
ticks = os.path.join(TMP, "gw_options_%d.csv" % os.getpid())
with open(ticks, "w") as f:
    f.write("timestamp,price,size\n")
    for i in range(600):
        f.write("2026-01-06T14:%02d:%02dZ,%.2f,1\n" % (30 + i // 60, i % 60, 21000 + (i % 8) * 0.25))


def frames(sock, want, timeout=3.0):
    sock.settimeout(0.2)
    buf, msgs, end = b"", [], time.time() + timeout
    while time.time() < end:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        except socket.timeout:
            pass
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            msgs.append([x.decode() for x in buf[4:4 + n].split(b"\0")[:-1]])
            buf = buf[4 + n:]
        if want(msgs):
            return msgs
    return msgs


def msg(*fields):
    body = b"".join(str(x).encode() + b"\0" for x in fields)
    return struct.pack(">I", len(body)) + body


def connect(port, client_id):
    s = socket.create_connection(("127.0.0.1", port))
    v = b"v100..200"
    s.sendall(b"API\0" + struct.pack(">I", len(v)) + v)
    frames(s, lambda ms: len(ms) >= 1)
    s.sendall(msg(71, 2, client_id, ""))
    frames(s, lambda ms: any(m[0] == "9" for m in ms))
    return s


C11 = lambda con_id, sym, exp: [con_id, sym, "FUT", exp, "", "", "", "CME", "", "USD", "", ""]


def place(s, oid, con_id, sym, action, otype, px, transmit=1, parent=0):
    f = [3, oid] + C11(con_id, sym, "202603") + ["", "", action, 1, otype,
                                                   px if otype == "LMT" else "",
                                                   px if otype == "STP" else "", "GTC", "", "",
                                                   "", 0, "ref%d" % oid, transmit, parent]
    f += ["0"] * 90  # the rest of placeOrder does not matter to slob-gw
    s.sendall(msg(*f))


for live in (False, True):
    args = [os.path.join(BIN, "slob-gw"), "--port", "0", "--control-port", "0", "--contract", "MNQ",
            "--ticks", ticks, "--speed", "1", "--wait-sub"] + (["--live-time"] if live else [])
    gw = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(gw.stdout.readline().split()[1])
        gw.stdout.readline()
        s = connect(port, 7)
        if not live:
            s.sendall(msg(9, 8, 77, 0, "MNQ", "FUT", "202603", "0.0", "", "", "CME", "", "USD", "",
                          "", 0, "", "", ""))
            m = frames(s, lambda ms: any(x[0] == "52" for x in ms))
            cd = [x for x in m if x[0] == "10"]
            check("contract details answered for MNQ (one, then the end marker)",
                  len(cd) == 1 and any(x[0] == "52" and x[2] == "77" for x in m))
            if cd:
                d = cd[0]
                check("contract details: MNQ FUT 20260320 conId, tick 0.25, multiplier 2, MNQH6",
                      d[2] == "MNQ" and d[3] == "FUT" and d[4] == "20260320" and
                      int(d[13]) > 0 and d[14] == "0.25" and d[15] == "2" and d[10] == "MNQH6")
                mnq_con = int(d[13])
            s.sendall(msg(9, 8, 78, 0, "NQ", "FUT", "202603", "0.0", "", "", "CME", "", "USD", "",
                          "", 0, "", "", ""))
            m = frames(s, lambda ms: any(x[0] == "4" for x in ms))
            check("NQ is not served: IB 200 for its contract details",
                  any(x[0] == "4" and x[1] == "78" and x[2] == "200" for x in m))
            place(s, 50, 0, "NQ", "BUY", "LMT", "20000")
            m = frames(s, lambda ms: any(x[0] == "4" for x in ms))
            check("an order for NQ is refused with IB 200",
                  any(x[0] == "4" and x[1] == "50" and x[2] == "200" for x in m))
            # MNQ by conId: a market BUY that fills on the first tick
            s.sendall(msg(97, 5, mnq_con, "MNQ", "FUT", "", "", "", "", "CME", "", "USD", "", "",
                          "Last", 0, 0))
            place(s, 51, mnq_con, "MNQ", "BUY", "MKT", "")
            m = frames(s, lambda ms: any(x[0] == "3" and x[2] == "Filled" for x in ms), 5)
            oo = [x for x in m if x[0] == "5"]
            check("openOrder carries the contract ordered (MNQ, conId, multiplier 2)",
                  bool(oo) and oo[0][3] == "MNQ" and oo[0][2] == str(mnq_con) and oo[0][8] == "2")
            st = [x for x in m if x[0] == "3"]
            check("orderStatus filled/remaining are whole numbers (vectors: '1', '0')",
                  bool(st) and all("." not in x[3] and "." not in x[4] for x in st) and
                  any(x[2] == "Filled" and x[3] == "1" and x[4] == "0" for x in st))
            check("orderStatus prices as TWS writes them ('0' before a fill)",
                  all(x[5] == "0" for x in st if x[2] != "Filled"))
            ex = [x for x in m if x[0] == "11"]
            check("execDetails carries MNQ and its conId",
                  bool(ex) and ex[0][4] == "MNQ" and ex[0][3] == str(mnq_con))
            s.sendall(msg(61, 1))
            m = frames(s, lambda ms: any(x[0] == "62" for x in ms))
            pos = [x for x in m if x[0] == "61"]
            check("position carries MNQ, its conId and multiplier 2",
                  bool(pos) and pos[0][4] == "MNQ" and pos[0][3] == str(mnq_con) and
                  pos[0][9] == "2" and pos[0][14] == "1")
        else:
            s.sendall(msg(97, 5, 0, "MNQ", "FUT", "202603", "", "", "", "CME", "", "USD", "", "",
                          "Last", 0, 0))
            m = frames(s, lambda ms: any(x[0] == "99" for x in ms))
            t = [int(x[3]) for x in m if x[0] == "99"]
            check("--live-time: ticks stamped with the current time (not 2026-01-06)",
                  bool(t) and abs(t[0] - time.time()) < 60)
        s.close()
    finally:
        gw.terminate()
        gw.wait()
os.unlink(ticks)
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
