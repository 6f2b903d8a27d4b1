#!/usr/bin/env bash
# Make (or bring up to date) the project's virtual environment .venv with the pinned packages of
# constraints.txt. Works where python3 refuses `pip install` outside a virtual environment (PEP 668,
# stock Debian and Ubuntu); installs Debian's python3-venv first when the machine lacks it.
# Usage: scripts/venv.sh [EXTRA]   e.g. scripts/venv.sh test   (installs mailflow[test])
set -euo pipefail
cd "$(dirname "$0")/.."

extra=${1:-}
venv=.venv

have_venv_module() {
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1
}

install_python_venv() {
    local runner=()
    [ "$(id -u)" -eq 0 ] || runner=(sudo)
    if ! command -v apt-get >/dev/null 2>&1 || { [ ${#runner[@]} -gt 0 ] && ! command -v sudo >/dev/null 2>&1; }; then
        echo "error: python3 cannot make virtual environments here; install your distribution's python3-venv" >&2
        exit 1
    fi
    local version
    version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    "${runner[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq "python${version}-venv" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq python3-venv >/dev/null
}

if [ ! -x "$venv/bin/python" ]; then
    have_venv_module || install_python_venv
    python3 -m venv "$venv"
fi
target="."
[ -n "$extra" ] && target=".[$extra]"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e "$target"
