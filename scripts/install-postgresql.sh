#!/usr/bin/env bash
# Installs what the PostgreSQL tests need (tests/postgres.py starts a throwaway server per test
# session from these binaries: initdb, pg_ctl, postgres): Debian's `postgresql` package. Only
# Debian's packages are used. Exits 0 at once when the binaries are already there. The package's
# own cluster is not needed (the tests run their own in a temporary folder), so it is not started.
set -euo pipefail

find_initdb() {
  ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1
}

if [ -n "$(find_initdb)" ]; then
  echo "postgresql already installed: $(find_initdb)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-postgresql.sh: PostgreSQL is missing and this is not root (no sudo): run 'apt-get install -y postgresql' as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# policy-rc.d 101: the package's post-install does not start a cluster service (none is needed);
# only when the machine has no policy of its own, which is then left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  $SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y --no-install-recommends postgresql

if [ -z "$(find_initdb)" ]; then
  echo "install-postgresql.sh: apt-get finished but no /usr/lib/postgresql/*/bin/initdb" >&2
  exit 1
fi
echo "installed: $(find_initdb)"
