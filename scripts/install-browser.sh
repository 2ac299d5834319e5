#!/usr/bin/env bash
# Installs what the browser end-to-end tests need (tests/serving/test_*_browser.py): Debian's Chromium
# and a Chinese font (fonts-wqy-microhei), so pages in Chinese render as text rather than boxes in the
# screenshots. Only Debian's packages are used: nothing else is downloaded (Playwright must never fetch
# its own browser). Exits 0 at once when both are already there.
set -euo pipefail

has_cjk_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]
}

if [ -x /usr/bin/chromium ] && has_cjk_font; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  echo "Chinese font already installed: $(fc-list :lang=zh family | head -1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser.sh: chromium or a Chinese font is missing and this is not root (no sudo): run 'apt-get install -y chromium fonts-wqy-microhei fontconfig' as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-wqy-microhei fontconfig

if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser.sh: apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
if ! has_cjk_font; then
  echo "install-browser.sh: apt-get finished but fc-list finds no Chinese font" >&2
  exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium); font: $(fc-list :lang=zh family | head -1)"
