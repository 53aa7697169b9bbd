#!/usr/bin/env bash
# A throwaway PostgreSQL server for the storage tests, listening on 127.0.0.1 only.
#
#   eval "$(tools/ci/postgres.sh)"      start (or reuse) it; exports BMDX_TEST_POSTGRES_URL
#   tools/ci/postgres.sh stop           stop it (the cluster directory is kept)
#
# Installs the server with apt-get when it is missing and we run as root (as on CI).
# The cluster lives in $BMDX_PG_DIR (default /tmp/bmdx-postgres) and is run by the
# postgres user when we are root (the server refuses to run as root), otherwise by the
# calling user.  It listens on 127.0.0.1:$BMDX_PG_PORT (default 55432) and on a Unix
# socket inside the cluster directory; TCP logins need a password (scram-sha-256), the
# socket admits only the cluster's owner (peer).  The role "bmdx" (may create databases)
# owns the database "bmdx_test"; its random password is kept in the cluster directory.
# Only the export line goes to stdout, so the script can be eval'd; the rest is stderr.
# Running it again while the server is up reuses it.
set -euo pipefail

DIR=${BMDX_PG_DIR:-/tmp/bmdx-postgres}
PORT=${BMDX_PG_PORT:-55432}
ROLE=bmdx
DB=bmdx_test

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        echo "$d"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

BIN=$(find_bindir)
if [ -z "$BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing postgresql with apt-get"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        BIN=$(find_bindir)
    fi
    if [ -z "$BIN" ]; then
        log "PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package"
        exit 1
    fi
fi

if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    as_owner() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER=$(id -un)
    as_owner() { "$@"; }
fi

DATA=$DIR/data
pg_ctl_() { as_owner "$BIN/pg_ctl" -D "$DATA" "$@"; }

if [ "${1:-start}" = stop ]; then
    if [ -f "$DATA/postmaster.pid" ]; then
        pg_ctl_ -m fast -w stop >&2
    fi
    exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    [ "$OWNER" = "$(id -un)" ] || chown "$OWNER" "$DIR"
    as_owner "$BIN/initdb" -D "$DATA" -U "$OWNER" --auth-local=peer \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >&2
    # The password is written by the owner; nobody else can read the directory.
    as_owner sh -c "umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > '$DIR/password'"
fi

if ! pg_ctl_ status >/dev/null 2>&1; then
    log "starting the server on 127.0.0.1:$PORT"
    pg_ctl_ -w -l "$DIR/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR" start >&2
fi

PASSWORD=$(as_owner cat "$DIR/password")
sql() { as_owner "$BIN/psql" -h "$DIR" -p "$PORT" -U "$OWNER" -d postgres -qtAX -v ON_ERROR_STOP=1 "$@"; }

if [ "$(sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    sql -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
fi
if [ "$(sql -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    sql -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

echo "export BMDX_TEST_POSTGRES_URL=postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
