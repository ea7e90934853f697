#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_gw_vectors.py: slob-gw accepts exactly the bytes the official ibapi
# client sends (tests/data/tws_vectors/client_messages.hex): the v100..225
# handshake, startApi, and the golden bracket (parent LMT BUY, TP LMT SELL,
# SL STP SELL with transmit only on the last). Checks the gateway's answers:
# version 200, managedAccounts + nextValidId, the bracket goes live when the
# last child transmits (parent Submitted, children PreSubmitted), and a
# garbage length prefix closes only that connection.
import os
import socket
import struct
import subprocess
import sys
import time

BIN = os.environ.get("SLOB_BIN_DIR")
SRC = os.environ.get("SLOB_SOURCE_DIR")
if not BIN or not SRC or not os.access(os.path.join(BIN, "slob-gw"), os.X_OK):
    print("slob-gw or env missing")
    sys.exit(77)

vec = {}
with open(os.path.join(SRC, "tests/data/tws_vectors/client_messages.hex")) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        label, hx = line.split()
        vec[label] = bytes.fromhex(hx)

gw = subprocess.Popen([os.path.join(BIN, "slob-gw"), "--port", "0", "--control-port", "0"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    port = int(gw.stdout.readline().split()[1])
    cport = int(gw.stdout.readline().split()[1])

    def frames(sock, want, timeout=3.0):
        """Reads messages until `want(msgs)` is true; returns them (lists of str fields)."""
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
                msgs.append(buf[4:4 + n].split(b"\0")[:-1])
                buf = buf[4 + n:]
            if want(msgs):
                return msgs
        return msgs

    def fail(msg):
        print("FAIL:", msg)
        sys.exit(1)

    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(vec["handshake_official_v100..225"])
    m = frames(s, lambda ms: len(ms) >= 1)
    if not m or m[0][0] != b"200":
        fail("handshake reply %r" % (m[:1],))
    s.sendall(vec["startApi_clientId7"])
    m = frames(s, lambda ms: any(x[0] == b"9" for x in ms))
    kinds = [x[0] for x in m]
    if b"15" not in kinds or b"9" not in kinds:
        fail("no managedAccounts/nextValidId: %r" % kinds)
    s.sendall(vec["placeOrder_bracket_parent_LMT_BUY"])
    s.sendall(vec["placeOrder_bracket_tp_LMT_SELL"])
    m = frames(s, lambda ms: len(ms) > 0, timeout=0.5)
    if m:
        fail("untransmitted orders answered early: %r" % [x[:3] for x in m])
    s.sendall(vec["placeOrder_bracket_sl_STP_SELL"])
    m = frames(s, lambda ms: sum(1 for x in ms if x[0] == b"3") >= 3)
    status = {int(x[1]): x[2].decode() for x in m if x[0] == b"3"}
    if status != {1000: "Submitted", 1001: "PreSubmitted", 1002: "PreSubmitted"}:
        fail("bracket statuses %r" % status)
    opens = {int(x[1]): x[23].decode() for x in m if x[0] == b"5"}
    if opens != {1000: "strat1-entry", 1001: "strat1-tp", 1002: "strat1-sl"}:
        fail("openOrder refs %r" % opens)
    if any(len(x) != 148 for x in m if x[0] == b"5"):
        fail("openOrder is not the 147-field form")
    # reqAllOpenOrders returns the three and openOrderEnd
    s.sendall(vec["reqAllOpenOrders"])
    m = frames(s, lambda ms: any(x[0] == b"53" for x in ms))
    if sum(1 for x in m if x[0] == b"5") != 3:
        fail("reqAllOpenOrders: %r" % [x[:2] for x in m])
    # the golden cancelOrder cancels order 1001 (the TP child): orderStatus Cancelled + error 202
    s.sendall(vec["cancelOrder"])
    m = frames(s, lambda ms: any(x[0] == b"4" and x[2] == b"202" for x in ms))
    if not any(x[0] == b"3" and x[1] == b"1001" and x[2] == b"Cancelled" for x in m):
        fail("cancelOrder: %r" % [x[:4] for x in m])

    # garbage on a second connection: closed, the first one lives on
    g = socket.create_connection(("127.0.0.1", port))
    g.sendall(vec["handshake_v100..200_synthesized"])
    frames(g, lambda ms: len(ms) >= 1)
    g.sendall(b"\xff\xff\xff\xff garbage")
    g.settimeout(2)
    try:
        closed = g.recv(100) == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    if not closed:
        fail("garbage did not close the connection")
    s.sendall(vec["reqCurrentTime"])
    m = frames(s, lambda ms: any(x[0] == b"49" for x in ms))
    if not any(x[0] == b"49" for x in m):
        fail("first connection died with the garbage one")
    print("PASS test_gw_vectors")
finally:
    gw.terminate()
    gw.wait()
