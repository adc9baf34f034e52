#!/usr/bin/env bash
# The benchmark from a fresh clone: .venv with requirements.txt, Debian's wrk, then bench/run.py.
#   bash bench/run.sh            # the full run (about 13 minutes on 2 cores, with the install)
#   bash bench/run.sh --quick    # a short check
# Options pass through to bench/run.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is missing: sudo apt-get install -y wrk" >&2
    exit 1
  fi
fi
exec .venv/bin/python bench/run.py "$@"
