#!/usr/bin/env bash
# The browser tests (tests/viewing) drive Debian's Chromium through Playwright for Python.
# Install it where it is missing and we may (root, apt); otherwise say why those tests
# will skip. Fast when Chromium is there. `make test` runs this first.
set -euo pipefail
if [ -x "${NORMALKIT_CHROMIUM:-/usr/bin/chromium}" ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests (apt-get) …"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq chromium >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }
    exit 0
fi
echo "warning: no chromium; the browser tests will skip (install Debian's chromium package," \
     "or set NORMALKIT_CHROMIUM to a Chromium binary)" >&2
