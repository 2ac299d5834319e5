#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end tests (tests/serving/test_console_browser.py).
# Only Debian's package is used: nothing else is downloaded (Playwright must never fetch its own browser).
# Exits 0 at once when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser.sh: /usr/bin/chromium is missing and this is not root (no sudo): run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium

if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser.sh: apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
