#!/usr/bin/env bash
# Runs every Horizon test. Installs what the integration tests need (redis-server, Prometheus'
# Alertmanager, aiosmtpd, graphite-web, graphite-carbon, logger and rsyslog, and chromium for the web page's browser test) when it is missing, using apt-get (as root, or through sudo).
# Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Incidents are delivered to a real Alertmanager and a real SMTP server in the tests.
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ -x /usr/bin/aiosmtpd ] || missing+=(python3-aiosmtpd)
# The Graphite read API is checked against graphite-web's own functions over whisper files.
[ -f /usr/lib/python3/dist-packages/graphite/render/functions.py ] || missing+=(graphite-web)
# Forwarding is checked against real carbon-caches, read back from their whisper files.
[ -x /usr/bin/carbon-cache ] || missing+=(graphite-carbon)
# Logs arrive from util-linux's logger and through a real rsyslog relay.
command -v logger >/dev/null 2>&1 || missing+=(bsdutils)
[ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
[ -n "${HORIZON_BROWSER:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || command -v google-chrome >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "cannot install ${missing[*]}: run as root or install it yourself" >&2
    exit 1
  fi
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# One results folder per test project: projects run side by side and their TRX files could
# otherwise take the same name, and one would overwrite the other's counts.
dotnet build Horizon.sln -c Release -v q -nologo
status=$?
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build --results-directory "$results/$name" --report-xunit-trx "$@" || status=$?
done

passed=0
failed=0
for trx in "$results"/*/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
done
# Name the failed tests again at the end, where a log's tail shows them.
for trx in "$results"/*/*.trx; do
  [ -e "$trx" ] || continue
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/FAILED: \1/p'
done
# A test host that crashed leaves no counters: report it as a failure rather than a pass.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
