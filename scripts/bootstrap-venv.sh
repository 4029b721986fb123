#!/usr/bin/env bash
# Create .venv with Python 3.11+ and install Switchboard with its test and dev tools.
# Used by `make`; safe to run again (it only installs what changed).
set -euo pipefail

venv=${1:-.venv}

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  python=$(find_python) || {
    echo "Switchboard needs Python 3.11 or newer (python3 --version says: $(python3 --version 2>&1))." >&2
    exit 1
  }
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    # Debian and Ubuntu ship venv support separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv "$venv"
    else
      echo "Cannot create a virtual environment: install it with 'sudo apt-get install python3-venv' and run make again." >&2
      exit 1
    fi
  fi
fi

"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[dev]'
