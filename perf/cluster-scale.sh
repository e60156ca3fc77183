#!/usr/bin/env bash
# Ingest rate and analyzer pass time with 1, 2 and 3 Redis Cluster masters on this box, in one
# session (ratios between them are what carries over to other machines):
#   perf/cluster-scale.sh [metrics=250000] [seconds=30] [analyzer_metrics=50000]
# Each size: fresh redis-servers in cluster mode on loopback (slots split evenly with CLUSTER
# ADDSLOTSRANGE, so one and two masters are clusters too and every run routes the same way),
# `horizon ingest` with horizon-load sending plaintext --max over 4 connections and reading every
# point back; then horizon-load seeds a day of history for analyzer_metrics metrics and
# `horizon analyze` runs three passes, the last one's duration reported. Needs redis-server.
# NAME_INDEX (Split): the Series:NameIndex every process and the seed use (Skyline: one set).
set -euo pipefail
cd "$(dirname "$0")/.."
METRICS=${1:-250000}
SECONDS_PER_RUN=${2:-30}
ANALYZER_METRICS=${3:-50000}
NAME_INDEX=${NAME_INDEX:-Split}
WORK=$(mktemp -d /tmp/horizon-cluster.XXXXXX)
PORTS=(7301 7302 7303)
stop_nodes() { for p in "${PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done; }
cleanup() { stop_nodes; rm -rf "$WORK"; }
trap cleanup EXIT
dotnet build src/Horizon -c Release -v q -nologo >/dev/null
dotnet build tools/Horizon.Load -c Release -v q -nologo >/dev/null
LOAD=$(pwd)/tools/Horizon.Load/bin/Release/net10.0/horizon-load
HORIZON=$(pwd)/src/Horizon/bin/Release/net10.0/horizon.dll

cluster() {
  local m=$1
  stop_nodes
  for i in $(seq 0 $((m - 1))); do
    local p=${PORTS[$i]}
    mkdir -p "$WORK/n$p"; rm -f "$WORK/n$p/nodes.conf"
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --cluster-enabled yes \
      --cluster-config-file nodes.conf --dir "$WORK/n$p" --logfile "$WORK/n$p/redis.log"
    until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done
  done
  local per=$((16384 / m))
  for i in $(seq 0 $((m - 1))); do
    local first=$((i * per)) last=$(( i == m - 1 ? 16383 : (i + 1) * per - 1 ))
    redis-cli -p "${PORTS[$i]}" cluster addslotsrange "$first" "$last" >/dev/null
    [[ $i -gt 0 ]] && redis-cli -p "${PORTS[$i]}" cluster meet 127.0.0.1 "${PORTS[0]}" >/dev/null
  done
  until [[ $(for i in $(seq 0 $((m - 1))); do redis-cli -p "${PORTS[$i]}" cluster info | grep -c 'cluster_state:ok'; done | paste -sd+ | bc) == "$m" ]]; do sleep 0.2; done
  CONN=$(for i in $(seq 0 $((m - 1))); do printf '127.0.0.1:%s,' "${PORTS[$i]}"; done); CONN=${CONN%,}
}

echo "Series:NameIndex=$NAME_INDEX"
echo
echo "| masters | ingest points/s (plaintext --max, $METRICS metrics, ${SECONDS_PER_RUN} s) | lost | analyzer pass ($ANALYZER_METRICS metrics x 1 day) |"
echo "|---:|---:|---:|---:|"
for m in 1 2 3; do
  cluster "$m"
  dotnet "$HORIZON" ingest --redis "$CONN" --web-port=1530 --Roomba:Enabled=false --Logs:Enabled=false --Series:NameIndex="$NAME_INDEX" \
    --Listeners:Plaintext:Port=2303 --Listeners:Pickle:Enabled=false --Listeners:StatsdTcp:Enabled=false \
    --Listeners:StatsdUdp:Enabled=false --Listeners:Msgpack:Enabled=false >"$WORK/ingest-$m.log" 2>&1 &
  pid=$!
  until curl -sf 127.0.0.1:1530/metrics >/dev/null 2>&1; do sleep 0.2; done
  "$LOAD" run --metrics "$METRICS" --protocol plaintext --max --duration "${SECONDS_PER_RUN}s" --connections 4 \
    --target-plaintext 127.0.0.1:2303 --metrics-url http://127.0.0.1:1530/metrics --redis "$CONN" --json "$WORK/run-$m.json" >"$WORK/run-$m.log" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rate=$(grep -o '"achieved_rate": *[^,}]*' "$WORK/run-$m.json" | head -1 | sed 's/.*: *//')
  lost=$(grep -o '"lost": *[^,}]*' "$WORK/run-$m.json" | head -1 | sed 's/.*: *//')
  cluster "$m"
  "$LOAD" seed --metrics "$ANALYZER_METRICS" --redis "$CONN" --name-index "$NAME_INDEX" >"$WORK/seed-$m.log" 2>&1
  rm -rf "$WORK/analyzer-$m"
  dotnet "$HORIZON" analyze --redis "$CONN" --web-port=1531 --Analyzer:CacheDirectory="$WORK/analyzer-$m" --Series:NameIndex="$NAME_INDEX" \
    --Analyzer:AnomaliesFile= >"$WORK/analyze-$m.log" 2>&1 &
  pid=$!
  until [[ $(grep -c 'Pass (shard' "$WORK/analyze-$m.log" 2>/dev/null; true) -ge 3 ]]; do sleep 1; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pass=$(grep 'Pass (shard' "$WORK/analyze-$m.log" | sed -n 3p | grep -o 'in [0-9.]* s' | head -1)
  first=$(grep 'Pass (shard' "$WORK/analyze-$m.log" | sed -n 1p | grep -o 'in [0-9.]* s' | head -1)
  printf '| %s | %.0f | %s | %s (first, a full read: %s) |\n' "$m" "$rate" "$lost" "${pass#in }" "${first#in }"
done
