#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package slob needs to build, test and run.
# Usage: scripts/install-deps.sh [--test]   (--test adds what only the tests use)
set -euo pipefail
pkgs=(build-essential cmake pkg-config git ca-certificates
      liburing-dev libck-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev
      libxxhash-dev libmicrohttpd-dev libjansson-dev libsodium-dev
      libinih-dev libcmocka-dev libsystemd-dev tzdata)
if [ "${1:-}" = "--test" ]; then
  # clang + libclang-rt-dev: the fuzz preset (libFuzzer and the sanitizer runtimes)
  pkgs+=(clang libclang-rt-dev python3 python3-aiosmtpd chromium curl procps psmisc)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
