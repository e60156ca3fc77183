#!/usr/bin/env bash
# Ingest throughput of an earlier revision against the working tree, in alternating runs in one
# session (the VM's speed drifts within the hour, so runs measured apart do not compare):
#   perf/ab-ingest.sh REV [rounds] [metrics] [seconds] [protocol]
# NEW_ARGS adds switches to the working tree's runs only (REV=HEAD and
# NEW_ARGS=--Forward:Destinations:0=127.0.0.1:2203 with perf/carbon-sink.py running: the cost of forwarding).
# Each run: a fresh redis-server (no persistence), `horizon ingest` of one build, horizon-load
# sending --max over 4 connections and reading every point back. Prints each run's rate, points
# lost, and the median per build. Needs redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: perf/ab-ingest.sh REV [rounds] [metrics] [seconds] [protocol]}
ROUNDS=${2:-3}
METRICS=${3:-250000}
SECONDS_PER_RUN=${4:-30}
PROTOCOL=${5:-plaintext}
PORT=6396
WORK=$(mktemp -d /tmp/horizon-ab.XXXXXX)
cleanup() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  git worktree remove --force "$WORK/old" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git worktree add --detach "$WORK/old" "$REV" >/dev/null
dotnet build "$WORK/old/src/Horizon" -c Release -v q -nologo >/dev/null
dotnet build src/Horizon -c Release -v q -nologo >/dev/null
dotnet build tools/Horizon.Load -c Release -v q -nologo >/dev/null
dotnet build-server shutdown >/dev/null 2>&1 || true
LOAD=$(pwd)/tools/Horizon.Load/bin/Release/net10.0/horizon-load
declare -A BUILD=([old]="$WORK/old/src/Horizon/bin/Release/net10.0/horizon.dll" [new]="$(pwd)/src/Horizon/bin/Release/net10.0/horizon.dll")

run() {
  local which=$1 file=$2
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --logfile "$WORK/redis.log" --dir "$WORK"
  until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
  dotnet "${BUILD[$which]}" ingest --redis "127.0.0.1:$PORT" --web-port=1520 --Roomba:Enabled=false \
    --Listeners:Plaintext:Port=2103 --Listeners:Pickle:Port=2124 --Listeners:StatsdTcp:Enabled=false \
    --Listeners:StatsdUdp:Enabled=false --Listeners:Msgpack:Enabled=false $([[ $which == new ]] && echo "${NEW_ARGS:-}") >"$file.horizon.log" 2>&1 &
  local pid=$!
  until curl -sf 127.0.0.1:1520/metrics >/dev/null 2>&1; do sleep 0.2; done
  "$LOAD" run --metrics "$METRICS" --protocol "$PROTOCOL" --max --duration "${SECONDS_PER_RUN}s" --connections 4 \
    --target-plaintext 127.0.0.1:2103 --target-pickle 127.0.0.1:2124 --metrics-url http://127.0.0.1:1520/metrics \
    --redis "127.0.0.1:$PORT" --json "$file.json" >"$file.log" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rate lost
  rate=$(grep -o '"achieved_rate": *[^,}]*' "$file.json" | head -1 | sed 's/.*: *//')
  lost=$(grep -o '"lost": *[^,}]*' "$file.json" | head -1 | sed 's/.*: *//')
  echo "$which $rate $lost" | tee -a "$WORK/rates"
}

echo "$REV (old) against the working tree (new): $ROUNDS rounds, $METRICS metrics, $PROTOCOL --max, ${SECONDS_PER_RUN} s each"
for i in $(seq "$ROUNDS"); do
  for which in $([[ $((i % 2)) == 1 ]] && echo "old new" || echo "new old"); do
    run "$which" "$WORK/$which-$i"
  done
done
for which in old new; do
  awk -v w="$which" '$1 == w { print $2 }' "$WORK/rates" | sort -g | awk -v w="$which" '{a[NR]=$1} END {printf "%s: median %.0f points/s over %d runs\n", w, (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), NR}'
done
