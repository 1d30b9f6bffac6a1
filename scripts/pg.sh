#!/usr/bin/env bash
# Throwaway PostgreSQL server for tests.
#
#   scripts/pg.sh start   start a fresh server (or reuse the running one); the
#                         connection URL is the last line printed on stdout
#   scripts/pg.sh stop    stop the server and delete its data; idempotent
#   scripts/pg.sh url     print the URL of the running server (exit 1 if none)
#   scripts/pg.sh status  say whether it is running (exit 0 if running, 3 if not)
#   scripts/pg.sh pause   stop the server but keep its data, port and state (fault tests:
#                         "the database went away"); idempotent
#   scripts/pg.sh resume  start a paused server again, same data and port; prints the URL
#
# A paused server counts as not running: `status` exits 3, `url` fails, `stop` deletes its
# data, and `start` cleans it up and starts a fresh one, exactly as for a crashed server.
#
# The server is built from the system's initdb/pg_ctl (highest version under
# /usr/lib/postgresql/*/bin, else PATH), installed with apt-get when missing and
# running as root. Its data and unix socket live in a temp dir (/tmp/gongkai-pg-*),
# it listens only on 127.0.0.1 on a free port, superuser "gongkai" with trust
# auth, and a database "gongkai_test" is created. Durability is switched off
# (fsync, synchronous_commit, full_page_writes) because the data is disposable.
#
# State (temp dir, port, bin dir) is kept in <repo>/.pg-state (git-ignored).
# Only the URL goes to stdout; everything else goes to stderr.
#
# Environment overrides:
#   GONGKAI_PG_STATE   state file path   (default <repo>/.pg-state)
#   GONGKAI_PG_TMPBASE where to make the temp dir (default /tmp; keep it short,
#                      unix socket paths are limited to ~100 bytes)
#   GONGKAI_PG_OSUSER  OS user that runs the server when we are root (default postgres)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_FILE="${GONGKAI_PG_STATE:-$REPO_ROOT/.pg-state}"
TMP_BASE="${GONGKAI_PG_TMPBASE:-/tmp}"
OS_USER="${GONGKAI_PG_OSUSER:-postgres}"
DB_USER="gongkai"
DB_NAME="gongkai_test"
TMP_PREFIX="gongkai-pg-"

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the server's OS user (postgres refuses to run as root).
as_server_user() {
    if is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$OS_USER" -- "$@")
        else
            local quoted
            quoted="$(printf '%q ' "$@")"
            (cd / && su -s /bin/bash "$OS_USER" -c "$quoted")
        fi
    else
        "$@"
    fi
}

# Directory holding initdb, pg_ctl, pg_isready, createdb. Empty if none.
find_bindir() {
    local d best=""
    # Highest major version under /usr/lib/postgresql.
    while IFS= read -r d; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            best="$d"
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V)
    if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        best="$(dirname "$(readlink -f "$(command -v initdb)")")"
        [ -x "$best/pg_ctl" ] || best="$(dirname "$(command -v initdb)")"
    fi
    printf '%s' "$best"
}

ensure_bindir() {
    local bindir
    bindir="$(find_bindir)"
    if [ -z "$bindir" ]; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            log "PostgreSQL server binaries not found; installing with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update >&2
            apt-get install -y --no-install-recommends postgresql >&2
            bindir="$(find_bindir)"
        fi
        [ -n "$bindir" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH.
Install them (Debian/Ubuntu: sudo apt-get install postgresql) or run this script as root."
    fi
    printf '%s' "$bindir"
}

# Pick a client tool: prefer the server's bin dir, fall back to PATH.
tool() {
    local name="$1" bindir="$2"
    if [ -x "$bindir/$name" ]; then
        printf '%s' "$bindir/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    else
        die "$name not found"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
    else
        # Fallback: a random high port; the start loop retries on collision.
        printf '%s' $(( 20000 + RANDOM % 30000 ))
    fi
}

# --- state file ---------------------------------------------------------------

PG_TMP="" PG_PORT="" PG_BINDIR=""

load_state() {
    PG_TMP="" PG_PORT="" PG_BINDIR=""
    [ -f "$STATE_FILE" ] || return 1
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
            PG_TMP) PG_TMP="$value" ;;
            PG_PORT) PG_PORT="$value" ;;
            PG_BINDIR) PG_BINDIR="$value" ;;
        esac
    done <"$STATE_FILE"
    [ -n "$PG_TMP" ]
}

save_state() {
    mkdir -p "$(dirname "$STATE_FILE")"
    printf 'PG_TMP=%s\nPG_PORT=%s\nPG_BINDIR=%s\n' "$PG_TMP" "$PG_PORT" "$PG_BINDIR" >"$STATE_FILE.tmp"
    mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$DB_USER" "$PG_PORT" "$DB_NAME"; }

# Only ever delete directories that look like ours.
safe_rm_tmp() {
    local dir="$1"
    [ -n "$dir" ] || return 0
    case "$(basename "$dir")" in
        "$TMP_PREFIX"*) rm -rf -- "$dir" ;;
        *) log "refusing to delete unexpected directory: $dir" ;;
    esac
}

is_running() {
    if [ -z "$PG_PORT" ] || [ ! -f "$PG_TMP/data/postmaster.pid" ]; then
        return 1
    fi
    "$(tool pg_isready "$PG_BINDIR")" -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -t 2 >/dev/null 2>&1
}

# --- commands -----------------------------------------------------------------

cmd_stop() {
    local timeout="${1:-60}"
    if ! load_state; then
        [ -f "$STATE_FILE" ] && rm -f "$STATE_FILE"
        log "not running"
        return 0
    fi
    if [ -f "$PG_TMP/data/postmaster.pid" ] && [ -x "$PG_BINDIR/pg_ctl" ]; then
        log "stopping server on port $PG_PORT"
        as_server_user "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast -w -t "$timeout" stop >&2 \
            || log "pg_ctl stop failed (server may already be gone)"
    fi
    safe_rm_tmp "$PG_TMP"
    rm -f "$STATE_FILE"
    log "stopped"
}

cmd_start() {
    if load_state; then
        if is_running; then
            log "already running on port $PG_PORT"
            url; echo
            return 0
        fi
        log "stale state found; cleaning up"
        cmd_stop 10
    fi

    local bindir
    bindir="$(ensure_bindir)"
    log "using $("$bindir/pg_ctl" --version) from $bindir"

    if is_root; then
        id "$OS_USER" >/dev/null 2>&1 \
            || die "running as root but OS user '$OS_USER' does not exist (postgres refuses to run as root); set GONGKAI_PG_OSUSER"
    fi

    mkdir -p "$TMP_BASE"
    PG_TMP="$(mktemp -d "$TMP_BASE/${TMP_PREFIX}XXXXXX")"
    PG_BINDIR="$bindir"
    PG_PORT=""
    save_state  # so that `stop` can clean up even if we fail half-way
    chmod 700 "$PG_TMP"
    if is_root; then
        chown "$OS_USER:" "$PG_TMP"
    fi

    log "initdb in $PG_TMP/data"
    if ! as_server_user "$bindir/initdb" -D "$PG_TMP/data" -U "$DB_USER" --auth=trust \
            --encoding=UTF8 --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        cmd_stop
        die "initdb failed"
    fi

    # Our settings live in an included file, read after the defaults.
    echo "include_if_exists = 'conf.gongkai'" >>"$PG_TMP/data/postgresql.conf"

    local attempt started=""
    for attempt in 1 2 3 4 5; do
        PG_PORT="$(free_port)"
        save_state
        cat >"$PG_TMP/data/conf.gongkai" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_TMP'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
        if is_root; then
            chown "$OS_USER:" "$PG_TMP/data/conf.gongkai"
        fi
        log "starting on 127.0.0.1:$PG_PORT (attempt $attempt)"
        if as_server_user "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start >&2; then
            started=1
            break
        fi
        log "start failed; server log tail:"
        tail -n 20 "$PG_TMP/server.log" >&2 || true
    done
    if [ -z "$started" ]; then
        cmd_stop
        die "could not start PostgreSQL"
    fi

    local isready i
    isready="$(tool pg_isready "$bindir")"
    for i in $(seq 1 60); do
        if "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -t 2; then
            break
        fi
        if [ "$i" -eq 60 ]; then
            tail -n 20 "$PG_TMP/server.log" >&2 || true
            cmd_stop
            die "server did not accept connections"
        fi
        sleep 0.5
    done

    "$(tool createdb "$bindir")" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" "$DB_NAME" >&2 \
        || { cmd_stop; die "createdb $DB_NAME failed"; }

    log "ready"
    url; echo
}

cmd_pause() {
    load_state || die "no server to pause (use: $0 start)"
    if [ -f "$PG_TMP/data/postmaster.pid" ]; then
        log "pausing server on port $PG_PORT (data kept in $PG_TMP)"
        as_server_user "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast -w -t 60 stop >&2
    fi
    log "paused"
}

cmd_resume() {
    load_state || die "no paused server to resume (use: $0 start)"
    [ -d "$PG_TMP/data" ] || die "the paused server's data is gone: $PG_TMP/data"
    if ! is_running; then
        log "resuming on 127.0.0.1:$PG_PORT"
        as_server_user "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start >&2 \
            || { tail -n 20 "$PG_TMP/server.log" >&2 || true; die "could not resume PostgreSQL"; }
    fi
    local i
    for i in $(seq 1 60); do
        is_running && break
        [ "$i" -eq 60 ] && die "server did not accept connections"
        sleep 0.5
    done
    log "ready"
    url; echo
}

cmd_url() {
    if load_state && is_running; then
        url; echo
    else
        log "not running (use: $0 start)"
        return 1
    fi
}

cmd_status() {
    if load_state && is_running; then
        log "running: $(url) (data in $PG_TMP)"
        return 0
    fi
    log "not running"
    return 3
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    status) cmd_status ;;
    pause) cmd_pause ;;
    resume) cmd_resume ;;
    *)
        echo "usage: $0 start|stop|url|status|pause|resume" >&2
        exit 2
        ;;
esac
