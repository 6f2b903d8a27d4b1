#!/usr/bin/env bash
# Re-pin constraints.txt to today's releases of everything pyproject.toml asks for (tests included):
# resolves in a throw-away virtual environment, then writes the exact versions it installed.
# Run it on purpose (and run the tests after it); scripts/venv.sh only ever installs what is pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
{
    echo "# Exact versions installed by scripts/venv.sh; regenerate with scripts/lock.sh."
    "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -v '^-e ' | sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
