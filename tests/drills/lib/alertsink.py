#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""alertsink.py: local stand-ins for the two alert channels used by the drills.

One process serves a Telegram Bot API look-alike over HTTP (POST
/bot<token>/sendMessage answers {"ok":true,...}) and, when aiosmtpd is
installed, a plain SMTP server (no TLS, no AUTH). Every message received is
appended as one JSON line {"channel": "telegram"|"email", "text": ...} to
OUT (flushed at once, so shell scripts can grep it while slob runs). The
ports are written to PORTS as "telegram <n>\nsmtp <n>\n" (smtp 0 when
aiosmtpd is missing) once both listen. Only 127.0.0.1, ports chosen by the
kernel. Environment knobs: ALERTSINK_TG_STATUS=<http code> makes the fake
Telegram answer with that status (channel-failure drills).

usage: alertsink.py OUT PORTS
"""
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT, PORTS = sys.argv[1], sys.argv[2]
lock = threading.Lock()


def record(channel, text, extra=None):
    rec = {"channel": channel, "text": text}
    if extra:
        rec.update(extra)
    with lock, open(OUT, "a") as f:
        f.write(json.dumps(rec) + "\n")
        f.flush()


class TG(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        ctype = self.headers.get("Content-Type", "")
        text = body
        try:
            if "json" in ctype:
                text = json.loads(body).get("text", body)
            else:
                q = urllib.parse.parse_qs(body)
                text = q.get("text", [body])[0]
        except Exception:
            pass
        status = int(os.environ.get("ALERTSINK_TG_STATUS", "200"))
        record("telegram", text, {"path": self.path, "status": status})
        out = json.dumps({"ok": status == 200, "result": {"message_id": 1}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


httpd = ThreadingHTTPServer(("127.0.0.1", 0), TG)
tg_port = httpd.server_address[1]
smtp_port = 0
try:
    from aiosmtpd.controller import Controller

    class Mail:
        async def handle_DATA(self, server, session, envelope):
            record("email", envelope.content.decode("utf-8", "replace"),
                   {"to": list(envelope.rcpt_tos)})
            return "250 OK"

    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    smtp_port = s.getsockname()[1]
    s.close()
    ctl = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
    ctl.start()
except Exception as e:  # aiosmtpd missing: Telegram only
    print("alertsink: no SMTP (%s)" % e, file=sys.stderr)
    smtp_port = 0

tmp = PORTS + ".tmp"
with open(tmp, "w") as f:
    f.write("telegram %d\nsmtp %d\n" % (tg_port, smtp_port))
os.rename(tmp, PORTS)
httpd.serve_forever()
