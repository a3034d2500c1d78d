#!/usr/bin/env bash
# Everything the test suite needs, then the whole suite: system packages (as root, through
# apt-get), teal with its dev extra, the linters, then pytest. README.md's second command.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use, one per line in scripts/system-packages.txt.
mapfile -t wanted < <(grep -v '^\s*#' scripts/system-packages.txt | grep -v '^\s*$' || true)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: needs root to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # slim Debian images drop man pages, and Java's post-install step needs this folder
  mkdir -p /usr/share/man/man1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python -m pip install -q -e ".[dev]"

ruff check .
ruff format --check .
bash scripts/typecheck.sh

set +e
python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
