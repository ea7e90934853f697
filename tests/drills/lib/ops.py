#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ops.py: HTTP helpers for the operations drills (drillsB), used by ops.sh.

slob-dash is driven the way an operator's browser does: POST /login with the
password, keep the session cookie, GET the JSON APIs. Only 127.0.0.1.

usage:
  ops.py login PORT PASSWORD        prints the HTTP status of POST /login
  ops.py logins PORT PASSWORD N     N logins in a row; prints the statuses
  ops.py time PORT PASSWORD PATH..  logs in, GETs each PATH 3 times; prints
                                    "PATH STATUS BEST_MS MEDIAN_MS BYTES"
  ops.py health PORT                prints the status of GET /health (0 = refused)
  ops.py get PORT PATH              prints the body of GET PATH (no login)
  ops.py blackhole 0 PORTFILE       listens on a free port (written to
                                    PORTFILE), accepts and never answers
"""
import http.client
import sys
import time
import urllib.parse


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data


def login(port, pw):
    st, r, _ = request(port, "POST", "/login", body="password=" + urllib.parse.quote_plus(pw))
    cookie = r.getheader("Set-Cookie")
    return st, (cookie.split(";")[0] if cookie else None)


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "blackhole":
        import socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        with open(sys.argv[3] + ".tmp", "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        import os
        os.rename(sys.argv[3] + ".tmp", sys.argv[3])
        held = []
        while True:
            c, _ = srv.accept()
            held.append(c)  # never read, never answer, never close
    if cmd == "health":
        try:
            st, _, _ = request(port, "GET", "/health")
        except OSError:
            st = 0
        print(st)
    elif cmd == "get":
        st, _, data = request(port, "GET", sys.argv[3])
        sys.stdout.write(data.decode("utf-8", "replace"))
    elif cmd == "login":
        print(login(port, sys.argv[3])[0])
    elif cmd == "logins":
        print(" ".join(str(login(port, sys.argv[3])[0]) for _ in range(int(sys.argv[4]))))
    elif cmd == "time":
        st, cookie = login(port, sys.argv[3])
        if cookie is None:
            print("login failed: HTTP %d" % st)
            return 1
        for path in sys.argv[4:]:
            ms = []
            for _ in range(3):
                t0 = time.perf_counter()
                st, _, data = request(port, "GET", path, headers={"Cookie": cookie})
                ms.append((time.perf_counter() - t0) * 1000.0)
            ms.sort()
            print("%s %d %.1f %.1f %d" % (path, st, ms[0], ms[1], len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
