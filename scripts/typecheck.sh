#!/usr/bin/env bash
# mypy over teal as it is installed: the layers live at the repository's top level but are
# imported as teal.compiler, teal.warehouse and teal.runtime (a setuptools package-dir
# mapping mypy cannot follow), so mypy reads them through a tree of symbolic links that
# has the installed shape. Arguments go to mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
tree=".teal/typecheck"
rm -rf "$tree"
mkdir -p "$tree/teal"
for file in teal/*.py; do ln -s "$root/$file" "$tree/teal/"; done
for layer in compiler warehouse runtime; do ln -s "$root/$layer" "$tree/teal/$layer"; done
cd "$tree"
mypy --config-file "$root/pyproject.toml" -p teal "$@"
