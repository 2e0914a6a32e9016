#!/usr/bin/env bash
# Measures spdycat against spdyd and against node-spdy's server in the same
# run: `spdycat -n 10000 -c 100` on a small file (requests/s) and a 1 GiB
# download (MB/s), plus the servers' peak resident memory. Not a test: the
# figures go into the closing note. Needs node and `npm ci` in
# conformance/peers/node. Everything listens on 127.0.0.1.
#
# usage: bash spdy-client/bench/compare_node.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}

cargo build --release -q -p spdy-server -p spdy-client --bin spdyd --bin spdycat
spdyd=target/release/spdyd
spdycat=target/release/spdycat

dir=$(mktemp -d)
cleanup() {
    [ -n "${spdyd_pid:-}" ] && kill "$spdyd_pid" 2>/dev/null || true
    [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
head -c 1024 /dev/urandom > "$dir/small.bin"
head -c $((1024 * 1024 * 1024)) /dev/zero > "$dir/big.bin"

# spdyd, access lines off (RUST_LOG=warn) so the terminal is not the bottleneck.
RUST_LOG=warn "$spdyd" --root "$dir" --listen 127.0.0.1:0 > "$dir/spdyd.out" &
spdyd_pid=$!
# node-spdy, fed an open stdin so it stays up.
mkfifo "$dir/node.in"
node conformance/peers/node/bench_server.js "$dir" < "$dir/node.in" > "$dir/node.out" 2>/dev/null &
node_pid=$!
exec 3> "$dir/node.in"
for _ in $(seq 50); do
    [ -s "$dir/spdyd.out" ] && [ -s "$dir/node.out" ] && break
    sleep 0.1
done
spdyd_addr=$(sed -n 's#.*http://\([^/]*\)/.*#\1#p' "$dir/spdyd.out" | head -n 1)
node_addr=127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$dir/node.out")

rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

measure() { # name addr pid
    local name=$1 addr=$2 pid=$3
    for round in $(seq "$rounds"); do
        printf '%-10s round %d  small: ' "$name" "$round"
        "$spdycat" -n 10000 -c 100 "http://$addr/small.bin"
        local start end
        start=$(date +%s.%N)
        "$spdycat" --no-progress -o /dev/null "http://$addr/big.bin"
        end=$(date +%s.%N)
        awk -v s="$start" -v e="$end" -v n="$name" -v r="$round" \
            'BEGIN { t = e - s; printf "%-10s round %d  1 GiB: %.2f s, %.0f MB/s\n", n, r, t, 1073741824 / t / 1e6 }'
    done
    echo "$name peak resident memory: $(rss_kb "$pid") kB"
}

echo "commands: $spdycat -n 10000 -c 100 http://ADDR/small.bin; $spdycat -o /dev/null http://ADDR/big.bin"
measure spdyd "$spdyd_addr" "$spdyd_pid"
measure node-spdy "$node_addr" "$node_pid"
