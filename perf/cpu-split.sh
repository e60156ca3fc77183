#!/usr/bin/env bash
# One ingest run at full speed, with the CPU each process takes (Horizon, Redis, the sender), from
# /proc/<pid>/stat over 10 s in the middle of the run; PERF=1 also records Horizon with perf.
#
#   PROTO=pickle METRICS=1000000 perf/cpu-split.sh        # PROTO: plaintext or pickle
#   PERF=1 perf/cpu-split.sh && perf report -i $WORK/perf.data --no-children --sort sym -g none
#
# Extra Horizon settings in EXTRA (e.g. EXTRA=--Writer:MaxInFlightFlushes=8), environment in HENV
# (e.g. HENV=DOTNET_gcServer=0). Needs redis-server; loopback only; port 6395.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=6395 PROTO=${PROTO:-pickle} METRICS=${METRICS:-1000000}
WORK=${WORK:-/tmp/horizon-cpu-split}
dotnet build src/Horizon -c Release -v q -nologo >/dev/null
dotnet build tools/Horizon.Load -c Release -v q -nologo >/dev/null
redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true
rm -rf "$WORK" && mkdir -p "$WORK"
redis-server --port $PORT --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --daemonize yes --logfile "$WORK/redis.log"
until redis-cli -p $PORT ping >/dev/null 2>&1; do sleep 0.1; done
[[ -n "${PERF:-}" ]] && HENV="${HENV:-} DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0"
# shellcheck disable=SC2086
env ${HENV:-} dotnet src/Horizon/bin/Release/net10.0/horizon.dll ingest --redis 127.0.0.1:$PORT --web-port=1510 \
  --Roomba:Enabled=false --Listeners:Pickle:Port=2124 --Listeners:StatsdTcp:Enabled=false ${EXTRA:-} >"$WORK/horizon.log" 2>&1 &
horizon=$!
trap 'kill $horizon 2>/dev/null || true; redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true' EXIT
until curl -sf 127.0.0.1:1510/health/live >/dev/null; do sleep 0.2; done
redis=$(pgrep -f "redis-server 127.0.0.1:$PORT")
tools/Horizon.Load/bin/Release/net10.0/horizon-load run --metrics "$METRICS" --protocol "$PROTO" --max --duration 30s \
  --connections 4 --target-pickle 127.0.0.1:2124 --metrics-url http://127.0.0.1:1510/metrics --redis 127.0.0.1:$PORT \
  --json "$WORK/run.json" >"$WORK/run.log" 2>&1 &
load=$!
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 10
[[ -n "${PERF:-}" ]] && (perf record -F 499 -g -p $horizon -o "$WORK/perf.data" -- sleep 8 >"$WORK/perf.log" 2>&1 &)
sleep 2
h0=$(ticks $horizon) r0=$(ticks "$redis") l0=$(ticks $load) t0=$(date +%s.%N)
sleep 10
h1=$(ticks $horizon) r1=$(ticks "$redis") l1=$(ticks $load) t1=$(date +%s.%N)
wait $load || true
share() { awk "BEGIN { printf \"%.2f\", ($2 - $1) / 100 / ($t1 - $t0) }"; }
echo "cores used: horizon $(share "$h0" "$h1"), redis $(share "$r0" "$r1"), sender $(share "$l0" "$l1")"
grep -o '"achieved_rate": [0-9.]*\|"lost": [0-9]*' "$WORK/run.json" | head -2
