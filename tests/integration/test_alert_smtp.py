#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_alert_smtp.py: e-mail alerts over a real SMTP server with STARTTLS
and AUTH (aiosmtpd with a throw-away self-signed certificate), driven through
`slobctl alert-test`: delivery with login, a wrong password (exit 1, the
password never printed), an untrusted certificate (TLS verification is on),
the message format (subject prefix, severity, recipients), and two alerts
in a row with a non-ASCII prefix and title: each subject decodes back to the
original text (RFC 2047) and the Message-IDs' random parts differ."""
import email
import email.policy
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    # the Debian package lives in the system interpreter
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("aiosmtpd not installed: skip")
    sys.exit(77)

BIN = os.path.join(os.environ.get("SLOB_BIN_DIR", ""), "slobctl")
if not os.access(BIN, os.X_OK):
    print("slobctl not built: skip")
    sys.exit(77)

tmp = tempfile.mkdtemp(dir=os.environ.get("SLOB_TEST_TMP"))
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
try:
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True)
except FileNotFoundError:
    print("openssl not installed: skip")
    sys.exit(77)
if r.returncode != 0:
    print("openssl cannot make a certificate: skip", r.stderr.decode())
    sys.exit(77)

received = []


class Handler:
    async def handle_DATA(self, server, session, envelope):
        received.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                         "data": envelope.content.decode("utf-8", "replace"),
                         "auth": session.authenticated, "tls": session.ssl is not None})
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"bot@example.test" and auth_data.password == b"g00d-app-pw"
    return AuthResult(success=ok)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
port = free_port()
ctl = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
                 require_starttls=True, authenticator=authenticator, auth_require_tls=True)
ctl.start()

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def alert_test(password, ca=True, extra_env=None, prefix=None, title=None):
    ini = os.path.join(tmp, "slob.ini")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[alert]\nsmtp_server = 127.0.0.1\nsmtp_port = %d\nsmtp_tls = starttls\n"
                "email_from = bot@example.test\nemail_to = ops@example.test, lead@example.test\n"
                "timeout_ms = 5000\n%s" % (port, "ca_file = %s\n" % cert if ca else ""))
        if prefix is not None:
            f.write("subject_prefix = %s\n" % prefix)
    os.chmod(ini, 0o600)
    env = dict(os.environ)
    for k in ("TELEGRAM_BOT_TOKEN", "ALERT_EMAILS", "SENDER_EMAIL", "SMTP_SERVER", "SMTP_PORT"):
        env.pop(k, None)
    env["SENDER_PASSWORD"] = password
    if extra_env:
        env.update(extra_env)
    argv = [BIN, "--config", ini, "--data-dir", tmp, "alert-test", "--channel", "email",
            "--text", "smtp check"]
    if title is not None:
        argv += ["--title", title]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def wait_for(n):
    for _ in range(50):
        if len(received) >= n:
            break
        time.sleep(0.1)


try:
    r = alert_test("g00d-app-pw")
    check(r.returncode == 0, "delivered with STARTTLS + AUTH (exit %d: %s %s)" % (r.returncode, r.stdout, r.stderr))
    check("email     ok" in r.stdout, "ok line printed")
    for _ in range(50):
        if received:
            break
        time.sleep(0.1)
    check(len(received) == 1, "one mail received")
    if received:
        m = received[0]
        check(m["auth"], "session authenticated")
        check(m["tls"], "session upgraded to TLS")
        check(m["from"] == "bot@example.test", "envelope sender")
        check(sorted(m["to"]) == ["lead@example.test", "ops@example.test"], "both recipients")
        check("Subject: [SLOB Bot] INFO: Test alert" in m["data"], "subject")
        check("smtp check" in m["data"], "body text")

    r = alert_test("wrong-password-123")
    check(r.returncode == 1, "wrong password: exit 1 (got %d)" % r.returncode)
    check("FAILED" in r.stdout, "failure reported")
    check("wrong-password-123" not in r.stdout + r.stderr, "password never printed")
    check(len(received) == 1, "nothing delivered with a wrong password")

    r = alert_test("g00d-app-pw", ca=False)
    check(r.returncode == 1, "self-signed certificate refused without ca_file (exit %d)" % r.returncode)
    check(len(received) == 1, "nothing delivered over an unverified TLS session")

    # two alerts in a row, non-ASCII in the configured prefix and the title
    prefix, title = "[SLOB Bøt ⚡]", "Disjoncteur déclenché — ΔP 5 % ✓ " + "é" * 40
    mids = []
    for i in range(2):
        r = alert_test("g00d-app-pw", prefix=prefix, title=title)
        check(r.returncode == 0, "non-ASCII alert %d delivered (exit %d: %s)" % (i + 1, r.returncode, r.stderr))
        wait_for(2 + i)
    check(len(received) == 3, "both non-ASCII alerts received")
    for m in received[1:]:
        raw = m["data"]
        hdr = raw.split("\r\n\r\n", 1)[0] if "\r\n\r\n" in raw else raw.split("\n\n", 1)[0]
        check(all(ord(ch) < 128 for ch in hdr), "headers are 7-bit ASCII")
        msg = email.message_from_string(raw, policy=email.policy.default)
        want = "%s INFO: %s" % (prefix, title)
        check(str(msg["Subject"]) == want, "subject decodes to the original (%r)" % str(msg["Subject"]))
        body = msg.get_body(("plain",))
        check(body is not None and "smtp check" in body.get_content(), "body decodes")
        mids.append(str(msg["Message-ID"]))
    if len(mids) == 2:
        # <slob.<ns>.<random>@host>: the random parts must differ on their own
        rnd = [mid.strip("<>").split("@")[0].split(".")[-1] for mid in mids]
        check(rnd[0] != rnd[1], "Message-ID random parts differ (%s vs %s)" % tuple(rnd))
        check(all(len(x) >= 16 for x in rnd), "Message-ID random part has at least 64 bits (%s)" % rnd)
finally:
    ctl.stop()
    shutil.rmtree(tmp, ignore_errors=True)

print("failures:", failures)
sys.exit(1 if failures else 0)
