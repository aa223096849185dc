# Sourced by the test-server scripts: `free_port` prints a port nobody listens on
# right now. Plain bash (no python, ss or curl needed on a fresh machine): try
# random ports until a connection to one is refused. Ports are picked below
# Linux's ephemeral range (32768-60999): a port picked there can be taken by any
# outgoing connection before the server binds it. A tiny race with other
# processes is acceptable for tests. The caller defines `die`.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "found no free port"
}
