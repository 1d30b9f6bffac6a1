#!/usr/bin/env bash
# Run the test suite against a throwaway PostgreSQL server.
#
#   scripts/test.sh [pytest args...]
#
# Installs Debian's chromium, a Chinese font, poppler-utils and zbar-tools for the browser
# and notice-board sheet tests when they are missing (as root).
# Starts PostgreSQL with scripts/pg.sh, exports GONGKAI_TEST_POSTGRES_URL
# (postgresql://gongkai@127.0.0.1:PORT/gongkai_test), runs .venv/bin/pytest -q,
# always stops PostgreSQL afterwards and exits with pytest's status.
# Expects the dev install to be done already (make test does it, plus lint).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTEST=".venv/bin/pytest"
[ -x "$PYTEST" ] || { echo "test.sh: $PYTEST not found; run 'make dev' first" >&2; exit 1; }

cleanup() {
    bash scripts/pg.sh stop || echo "test.sh: warning: stopping PostgreSQL failed" >&2
}
PYTEST_PID=""
on_signal() {
    # Forward the signal to pytest, wait for it, then exit (EXIT trap cleans up).
    if [ -n "$PYTEST_PID" ]; then
        kill "-$1" "$PYTEST_PID" 2>/dev/null || true
        wait "$PYTEST_PID" 2>/dev/null || true
    fi
    exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# System packages the tests need, installed once when missing and we may (root, apt-get);
# idempotent. The browser tests drive Debian's chromium through Playwright (never a browser
# that playwright downloads); the notice-board sheets embed a Chinese font (fonts-wqy-microhei,
# which `gongkai publish` needs too); the sheet tests render a page with pdftoppm
# (poppler-utils) and read its QR code with zbarimg (zbar-tools).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing Debian's ${missing[*]} with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends "${missing[@]}" >&2
    else
        echo "test.sh: warning: ${missing[*]} missing and cannot be installed here (not root)" >&2
    fi
fi

pg_out="$(bash scripts/pg.sh start)"
url="$(printf '%s\n' "$pg_out" | tail -n 1)"
case "$url" in
    postgresql://*) ;;
    *) echo "test.sh: scripts/pg.sh start printed no URL (got: '$url')" >&2; exit 1 ;;
esac
export GONGKAI_REQUIRE_POSTGRES=1
export GONGKAI_TEST_POSTGRES_URL="$url"
echo "test.sh: GONGKAI_TEST_POSTGRES_URL=$GONGKAI_TEST_POSTGRES_URL" >&2

# Run pytest as a background job so a signal to this script is handled at once
# (bash defers traps while a foreground child runs); <&0 keeps stdin for --pdb.
"$PYTEST" -q "$@" <&0 &
PYTEST_PID=$!
status=0
wait "$PYTEST_PID" || status=$?
PYTEST_PID=""
exit "$status"
