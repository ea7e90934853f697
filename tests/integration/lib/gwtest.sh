# SPDX-License-Identifier: MIT
# gwtest.sh: the set-up integration tests against slob-gw share. Source it
# after setting T (the test's temporary directory): it defines
#   pids     processes to kill -9 at exit (append with pids+=($!))
#   fail     print FAIL and exit 1
#   ctl CMD  one line on slob-gw's control port ($CTL), its answer printed
# and removes T at exit unless KEEP is set.
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ctl() { python3 - "$CTL" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall((sys.argv[2] + "\n").encode())
buf = b""
while not (buf.endswith(b"\n") and (b"OK" in buf or b"ERR" in buf)):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}
