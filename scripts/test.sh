#!/usr/bin/env bash
# Run the test suite against a throwaway PostgreSQL server.
#
#   scripts/test.sh [pytest args...]
#
# Installs Debian's chromium for the browser tests when it is missing (as root).
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

# The browser tests drive Debian's chromium through Playwright (never a browser that
# playwright downloads). Install it once when it is missing and we may; idempotent.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: chromium not found; installing Debian's chromium with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends chromium >&2
    else
        echo "test.sh: warning: chromium is missing and cannot be installed here (not root)" >&2
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
