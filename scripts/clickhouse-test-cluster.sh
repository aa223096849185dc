#!/usr/bin/env bash
# Start (or stop) a throwaway two-shard ClickHouse cluster on this machine: two
# servers started by clickhouse-test-server.sh (same users, same environment
# variables), each with a `remote_servers` entry naming both as the shards of
# the cluster `vigil_cluster` (one replica each, internal_replication false).
#
#   scripts/clickhouse-test-cluster.sh start [DIR]   # prints CLICKHOUSE_SHARD1_URL=...,
#                                                    # CLICKHOUSE_SHARD2_URL=..., CLICKHOUSE_DIR=...
#   scripts/clickhouse-test-cluster.sh stop DIR      # stops both and removes DIR
#
# No ZooKeeper: there is no ON CLUSTER DDL, so every table (local and
# Distributed) is created on each shard by its own statement (docs/clickhouse.md,
# "A sharded cluster"). Works with Debian's 18.16 and current ClickHouse.
set -euo pipefail

# shellcheck source=scripts/clickhouse-test-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/clickhouse-test-server.sh"

CLUSTER_NAME="vigil_cluster"

# The config.d file both servers merge into their config.xml.
remote_servers() {
    local shards="" port
    for port in "$@"; do
        shards+="
            <shard>
                <internal_replication>false</internal_replication>
                <replica><host>127.0.0.1</host><port>$port</port><user>default</user></replica>
            </shard>"
    done
    cat <<EOF
<?xml version="1.0"?>
<yandex>
    <remote_servers>
        <$CLUSTER_NAME>$shards
        </$CLUSTER_NAME>
    </remote_servers>
</yandex>
EOF
}

start_cluster() {
    local dir="${1:-}"
    if [[ -z "$dir" ]]; then
        dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-clickhouse-cluster.XXXXXX")"
    fi
    touch "$dir/vigil-test-cluster"
    local tcp1 tcp2
    tcp1="$(free_port)"
    tcp2="$(free_port)"
    while [[ "$tcp2" == "$tcp1" ]]; do tcp2="$(free_port)"; done
    local shard port output
    for shard in 1 2; do
        mkdir -p "$dir/shard$shard/config.d"
        remote_servers "$tcp1" "$tcp2" >"$dir/shard$shard/config.d/remote_servers.xml"
    done
    for shard in 1 2; do
        port="$tcp1"
        [[ "$shard" == 2 ]] && port="$tcp2"
        # A subshell: the single-server `start` exits on failure, and the
        # other shard must then be stopped too.
        if ! output="$(CLICKHOUSE_TCP_PORT="$port" start "$dir/shard$shard")"; then
            stop_cluster "$dir"
            die "shard $shard did not start"
        fi
        echo "$output" | sed -n "s/^CLICKHOUSE_URL=/CLICKHOUSE_SHARD${shard}_URL=/p"
        echo "$output" | sed -n "s/^CLICKHOUSE_HTTPS_URL=/CLICKHOUSE_SHARD${shard}_HTTPS_URL=/p"
    done
    echo "CLICKHOUSE_CLUSTER=$CLUSTER_NAME"
    echo "CLICKHOUSE_DIR=$dir"
}

stop_cluster() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || die "usage: $0 stop DIR"
    [[ -d "$dir" ]] || return 0
    # Refuse to delete anything that this script did not create.
    [[ -f "$dir/vigil-test-cluster" ]] || die "$dir does not look like a test cluster dir"
    local shard
    for shard in 1 2; do
        if [[ -f "$dir/shard$shard/config.xml" ]]; then
            stop "$dir/shard$shard"
        fi
    done
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start_cluster "$@" ;;
    stop) shift; stop_cluster "$@" ;;
    *) die "usage: $0 start [DIR] | stop DIR" ;;
esac
