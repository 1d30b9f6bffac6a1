#!/usr/bin/env bash
# Create (or keep) the project virtualenv with Python >= 3.11 and upgrade pip.
#
#   scripts/venv.sh [VENV_DIR]      (default .venv)
#
# Interpreter choice: $PYTHON if set, else the first of python3.11, python3.12,
# python3.13, python3.14, python3 that runs and is >= 3.11. An existing venv is
# kept if its python runs, is >= 3.11 and has pip; otherwise it is recreated.
# On Debian as root, missing python3 / python3-venv are installed with apt-get.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${1:-.venv}"

log() { printf 'venv.sh: %s\n' "$*" >&2; }
die() { printf 'venv.sh: error: %s\n' "$*" >&2; exit 1; }

py_ok() {
    # True if "$1" runs and is Python >= 3.11 (pyenv shims for versions that are
    # not active exist but fail, so actually run it).
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
    local p
    for p in ${PYTHON:+"$PYTHON"} python3.11 python3.12 python3.13 python3.14 python3; do
        if command -v "$p" >/dev/null 2>&1 && py_ok "$p"; then
            command -v "$p"
            return 0
        fi
    done
    return 1
}

can_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    log "installing with apt-get: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends "$@" >&2
}

# Keep a working venv as it is.
if [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python" \
        && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "keeping $VENV ($("$VENV/bin/python" --version 2>&1))"
else
    if ! PY="$(find_python)"; then
        if can_apt; then
            apt_install python3 python3-venv
        fi
        PY="$(find_python)" || die "Python >= 3.11 not found (tried \$PYTHON, python3.11..python3.14, python3)"
    fi
    log "creating $VENV with $PY ($("$PY" --version 2>&1))"
    rm -rf "$VENV"
    if ! "$PY" -m venv "$VENV"; then
        # Debian/Ubuntu split ensurepip into python3-venv / python3.X-venv.
        rm -rf "$VENV"
        can_apt || die "'$PY -m venv' failed; install the venv module (Debian: apt-get install python3-venv)"
        ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        apt_install python3-venv "python$ver-venv" || apt_install python3-venv
        "$PY" -m venv "$VENV" || die "'$PY -m venv' failed even after installing python3-venv"
    fi
fi

log "upgrading pip"
"$VENV/bin/python" -m pip install --quiet --upgrade pip \
    || log "warning: could not upgrade pip; continuing with $("$VENV/bin/python" -m pip --version)"
