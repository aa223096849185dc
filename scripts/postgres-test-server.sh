#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL server for vigil's state tests.
#
#   scripts/postgres-test-server.sh start [DIR]   # prints POSTGRES_URL=..., POSTGRES_DIR=...
#   scripts/postgres-test-server.sh stop DIR      # stops it and removes DIR
#
# The server listens on 127.0.0.1 only, on a free port picked at start (its Unix
# socket in DIR, not /var/run/postgresql), keeps its cluster and log under DIR (a
# fresh temp dir by default) and trades durability for speed (fsync off: it is
# thrown away). Users: `postgres` (superuser, Unix socket only, no password) and
# `vigil` (owns the database `vigil`, may create databases) with the password in
# POSTGRES_TEST_PASSWORD (default `vigil-test-password`), over TCP with
# scram-sha-256, so the tests go through the password path.
#
# initdb refuses to run as root: as root, the cluster belongs to the `postgres`
# user (Debian's package creates it) and its commands run through runuser.
# Environment:
#   POSTGRES_BIN_DIR        initdb/pg_ctl/psql directory (default: the newest
#                           /usr/lib/postgresql/*/bin, then PATH)
#   POSTGRES_TEST_OWNER_PID stop the server and remove DIR once this process exits
#                           (a test binary that starts one server for all its tests)
set -euo pipefail

die() { echo "postgres-test-server: $*" >&2; exit 1; }

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"

bin_dir() {
    if [[ -n "${POSTGRES_BIN_DIR:-}" ]]; then
        echo "$POSTGRES_BIN_DIR"
        return
    fi
    local newest
    newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$newest" ]]; then
        echo "$newest"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    else
        die "PostgreSQL is not installed (apt-get install -y postgresql)"
    fi
}

# Runs a PostgreSQL command as the cluster's owner.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir="${1:-}"
    if [[ -z "$dir" ]]; then
        dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-postgres.XXXXXX")"
    fi
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no postgres user to own the cluster (install postgresql)"
        chown postgres: "$dir"
    fi
    local bin port password
    bin="$(bin_dir)"
    port="$(free_port)"
    password="${POSTGRES_TEST_PASSWORD:-vigil-test-password}"
    touch "$dir/postgres-test-server"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >"$dir/pg_ctl.log" 2>&1 </dev/null; then
        tail -n 30 "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
        stop "$dir"
        die "the server did not start"
    fi
    local escaped="${password//\'/\'\'}"
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE vigil LOGIN CREATEDB PASSWORD '$escaped'" \
        -c "CREATE DATABASE vigil OWNER vigil" >/dev/null ||
        { stop "$dir"; die "could not create the vigil user"; }
    if [[ -n "${POSTGRES_TEST_OWNER_PID:-}" ]]; then
        # Detached, every stream closed: the caller reading this script's
        # output must not wait for the watcher.
        setsid bash "$0" watch "$POSTGRES_TEST_OWNER_PID" "$dir" </dev/null >/dev/null 2>&1 &
    fi
    echo "POSTGRES_URL=postgres://vigil@127.0.0.1:$port/vigil"
    echo "POSTGRES_DIR=$dir"
}

stop() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || die "usage: $0 stop DIR"
    [[ -d "$dir" ]] || return 0
    # Refuse to delete anything that this script did not create.
    [[ -f "$dir/postgres-test-server" ]] || die "$dir does not look like a test server dir"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

# Waits for process $1 to end, then stops the server in $2.
watch() {
    local owner="$1" dir="$2"
    while kill -0 "$owner" 2>/dev/null; do
        sleep 1
    done
    stop "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    watch) shift; watch "$@" ;;
    *) die "usage: $0 start [DIR] | stop DIR" ;;
esac
