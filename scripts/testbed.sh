#!/usr/bin/env bash
# A three-node okmesh testbed on loopback, no radios needed.
#
#   scripts/testbed.sh          # publish, wait until the far node has it all, stop
#   scripts/testbed.sh --keep   # the same, then keep the nodes running (ctrl-c stops)
#
# Nodes a, b, c run `okmesh node` over the UDP testbed in a line: a hears b,
# b hears a and c, c hears b, so everything c gets travels through b. The
# corpus's in-the-wild OKH manifests are published at a through its HTTP API;
# the script then polls c's API until c holds exactly what a holds (same
# items, same versions) and prints how long that took.
#
# Environment: OKMESH_TESTBED_PORT (default 7001) is a's UDP port; b and c
# use the next two, and the HTTP APIs listen 1000 higher (8001-8003 by
# default). OKMESH_TESTBED_DEADLINE (default 300) bounds the wait in seconds.
# Stores and logs go to out/testbed/{a,b,c}; each run starts from empty stores.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 2; }
done

port="${OKMESH_TESTBED_PORT:-7001}"
deadline="${OKMESH_TESTBED_DEADLINE:-300}"
[[ "$port" =~ ^[0-9]+$ ]] && (( port > 0 && port + 1002 < 65536 )) \
  || { echo "$0: OKMESH_TESTBED_PORT=$port is not a usable port" >&2; exit 2; }
[[ "$deadline" =~ ^[0-9]+$ ]] \
  || { echo "$0: OKMESH_TESTBED_DEADLINE=$deadline is not a number of seconds" >&2; exit 2; }

cargo build --release --locked --quiet --bin okmesh
okmesh="$PWD/target/release/okmesh"
out="$PWD/out/testbed"
rm -rf "$out"
mkdir -p "$out"

names=(a b c)
udp() { echo "127.0.0.1:$((port + $1))"; }
api() { echo "http://127.0.0.1:$((port + 1000 + $1))"; }
peers=("$(udp 1)" "$(udp 0)+$(udp 2)" "$(udp 1)")

pids=()
stop() {
  # SIGTERM: each node flushes its store and prints its summary to its log.
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

for i in 0 1 2; do
  n="${names[$i]}"
  "$okmesh" node --radio "udp:$(udp "$i"),peers=${peers[$i]}" \
    --data-dir "$out/$n" --http "127.0.0.1:$((port + 1000 + i))" \
    --sync-imin 2s --seed "$((i + 1))" --status-every 10s \
    >"$out/$n.out" 2>"$out/$n.log" &
  pids+=("$!")
done

# The APIs answer once the nodes are up.
for i in 0 1 2; do
  for _ in $(seq 100); do
    curl -fsS "$(api "$i")/status" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null \
      || { echo "node ${names[$i]} stopped; see $out/${names[$i]}.log:" >&2; tail -5 "$out/${names[$i]}.log" >&2; exit 1; }
    sleep 0.1
  done
done
echo "three nodes up: a=$(api 0) b=$(api 1) c=$(api 2)"

# Writes need a's API token (created in its data directory on first start).
token="$("$okmesh" key show --token --data-dir "$out/a")"
for f in corpus/okh/in-the-wild/*/okh.*; do
  name="$(basename "$(dirname "$f")").${f##*.}"
  curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$f" "$(api 0)/manifests?name=$name" \
    | jq -r --arg n "$name" '.published[] | "published \($n) at a: \(.id[0:8])… seq \(.seq)"'
done

holdings() { curl -fsS "$1/items" | jq -c 'map([.id, .seq, .content]) | sort'; }
want="$(holdings "$(api 0)")"
total="$(jq length <<<"$want")"
start=$SECONDS
while :; do
  got="$(holdings "$(api 2)")"
  if [[ "$got" == "$want" ]]; then
    echo "c holds all $total items of a, same versions, after $((SECONDS - start)) s"
    break
  fi
  if (( SECONDS - start >= deadline )); then
    echo "c holds $(jq length <<<"$got") of $total items after ${deadline} s; logs in $out" >&2
    exit 1
  fi
  sleep 1
done
curl -fsS "$(api 2)/status" | jq '{node, neighbours, catalogue, duty_cycle}'

if (( keep )); then
  echo "nodes keep running (logs in $out); ctrl-c stops them"
  wait
fi
