#!/usr/bin/env bash
# Start (or stop) a throwaway ClickHouse server for vigil's integration tests and benchmarks.
#
#   scripts/clickhouse-test-server.sh start [DIR]   # prints CLICKHOUSE_URL=..., CLICKHOUSE_DIR=...
#   scripts/clickhouse-test-server.sh stop DIR      # kills it and removes DIR
#
# The server listens on 127.0.0.1 only, on free ports picked at start, keeps all its
# data, logs and temp files under DIR (a fresh temp dir by default), runs in UTC and
# logs every query to system.query_log (the benchmark reads `read_rows` from there).
# Users: `default` without a password; `vigil` (read-write) and `vigil_reader`
# (readonly=1, like a production dashboard user) with the password in
# CLICKHOUSE_TEST_PASSWORD (default `vigil-test-password`) to exercise the password path.
#
# Works with the Debian package (18.16) and with current ClickHouse; nothing but the
# `clickhouse-server` binary is needed. Environment:
#   CLICKHOUSE_SERVER_BIN   server binary (default: clickhouse-server on PATH, then `clickhouse server`)
#   CLICKHOUSE_START_TIMEOUT  seconds to wait for /ping (default 60)
#   CLICKHOUSE_TLS_CERT, CLICKHOUSE_TLS_KEY  PEM certificate and key: also serve HTTPS on
#                             another free port (prints CLICKHOUSE_HTTPS_URL=https://127.0.0.1:PORT)
#   CLICKHOUSE_TLS_CLIENT_CA  PEM CA: with it, a client certificate is checked against it
#                             (Poco's `relaxed` mode: one that does not verify is refused)
#   CLICKHOUSE_TCP_PORT       native-protocol port to use instead of a free one picked here
#                             (scripts/clickhouse-test-cluster.sh names it in remote_servers
#                             before the server starts)
# Any DIR/config.d/*.xml written before `start` is merged into config.xml by the server.
set -euo pipefail

die() { echo "clickhouse-test-server: $*" >&2; exit 1; }

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"

# Answer of GET /ping ("Ok." once the server is up), over bash's /dev/tcp.
ping_server() {
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
        cat <&3' _ "$1" 2>/dev/null | tr -d '\r' | tail -n 1
}

# Prints the command that runs the server, as words on one line.
server_command() {
    if [[ -n "${CLICKHOUSE_SERVER_BIN:-}" ]]; then
        echo "$CLICKHOUSE_SERVER_BIN"
    elif command -v clickhouse-server >/dev/null 2>&1; then
        command -v clickhouse-server
    elif command -v clickhouse >/dev/null 2>&1; then
        echo "$(command -v clickhouse) server"
    else
        die "clickhouse-server is not installed (apt-get install -y clickhouse-server clickhouse-client)"
    fi
}

# The <https_port> and <openSSL> part of config.xml: the server's certificate and key,
# no dhParamsFile (the server then uses ECDHE and OpenSSL's built-in groups).
tls_config() {
    local verification="none" client_ca=""
    if [[ -n "${CLICKHOUSE_TLS_CLIENT_CA:-}" ]]; then
        verification="relaxed"
        client_ca="<caConfig>$CLICKHOUSE_TLS_CLIENT_CA</caConfig>"
    fi
    cat <<EOF
    <https_port>$1</https_port>
    <openSSL>
        <server>
            <certificateFile>$CLICKHOUSE_TLS_CERT</certificateFile>
            <privateKeyFile>$CLICKHOUSE_TLS_KEY</privateKeyFile>
            <verificationMode>$verification</verificationMode>
            $client_ca
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
EOF
}

start() {
    local dir="${1:-}"
    if [[ -z "$dir" ]]; then
        dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-clickhouse.XXXXXX")"
    fi
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
    local http_port tcp_port interserver_port
    http_port="$(free_port)"
    tcp_port="${CLICKHOUSE_TCP_PORT:-$(free_port)}"
    interserver_port="$(free_port)"
    while [[ "$tcp_port" == "$http_port" ]]; do http_port="$(free_port)"; done
    while [[ "$interserver_port" == "$http_port" || "$interserver_port" == "$tcp_port" ]]; do
        interserver_port="$(free_port)"
    done
    local password="${CLICKHOUSE_TEST_PASSWORD:-vigil-test-password}"
    local https_config="" https_port=""
    if [[ -n "${CLICKHOUSE_TLS_CERT:-}" || -n "${CLICKHOUSE_TLS_KEY:-}" ]]; then
        [[ -r "${CLICKHOUSE_TLS_CERT:-}" && -r "${CLICKHOUSE_TLS_KEY:-}" ]] ||
            die "CLICKHOUSE_TLS_CERT and CLICKHOUSE_TLS_KEY must both name readable PEM files"
        https_port="$(free_port)"
        while [[ "$https_port" == "$http_port" || "$https_port" == "$tcp_port" ||
                 "$https_port" == "$interserver_port" ]]; do
            https_port="$(free_port)"
        done
        https_config="$(tls_config "$https_port")"
    fi

    cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/clickhouse-server.log</log>
        <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http_port</http_port>
    <tcp_port>$tcp_port</tcp_port>
    <interserver_http_port>$interserver_port</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
$https_config
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <flush_interval_milliseconds>500</flush_interval_milliseconds>
    </query_log>
</yandex>
EOF

    cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <log_queries>1</log_queries>
        </default>
        <reader>
            <log_queries>1</log_queries>
            <readonly>1</readonly>
        </reader>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <vigil>
            <password>$password</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </vigil>
        <vigil_reader>
            <password>$password</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>reader</profile>
            <quota>default</quota>
        </vigil_reader>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF

    local cmd
    cmd="$(server_command)"
    # Own process group (setsid) so `stop` can end the server and anything it spawned.
    # TZ matters to old servers that read the zone from the environment too.
    # shellcheck disable=SC2086 # $cmd may be "clickhouse server": two words on purpose.
    TZ=UTC setsid $cmd --config-file="$dir/config.xml" \
        >"$dir/log/stdout.log" 2>"$dir/log/stderr.log" </dev/null &
    local pid=$!
    echo "$pid" >"$dir/clickhouse.pid"
    echo "http://127.0.0.1:$http_port" >"$dir/url"

    local timeout="${CLICKHOUSE_START_TIMEOUT:-60}"
    local deadline=$((SECONDS + timeout))
    until [[ "$(ping_server "$http_port")" == "Ok." ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "clickhouse-test-server: the server exited during start; its logs:" >&2
            tail -n 30 "$dir/log/stderr.log" "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
            rm -rf "$dir"
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "clickhouse-test-server: no answer on /ping within ${timeout}s; stopping it" >&2
            tail -n 30 "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
            stop "$dir"
            exit 1
        fi
        sleep 0.2
    done
    echo "CLICKHOUSE_URL=http://127.0.0.1:$http_port"
    if [[ -n "$https_port" ]]; then
        echo "CLICKHOUSE_HTTPS_URL=https://127.0.0.1:$https_port"
    fi
    echo "CLICKHOUSE_DIR=$dir"
    echo "CLICKHOUSE_PID=$pid"
}

stop() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || die "usage: $0 stop DIR"
    [[ -d "$dir" ]] || return 0
    # Refuse to delete anything that this script did not create.
    [[ -f "$dir/config.xml" && -d "$dir/data" ]] || die "$dir does not look like a test server dir"
    if [[ -f "$dir/clickhouse.pid" ]]; then
        local pid
        pid="$(cat "$dir/clickhouse.pid")"
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

# Sourced (by clickhouse-test-cluster.sh): define the functions only.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    return 0
fi

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) die "usage: $0 start [DIR] | stop DIR" ;;
esac
