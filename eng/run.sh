#!/usr/bin/env bash
# Runs PinGlass: every resource (PostgreSQL, Redis, blob storage, the Replicate emulator, the faces service, Api, two Jobs replicas)
# under the Aspire AppHost, then one demo generation on samples/photos with the pinglass command line, and leaves everything running
# for the dashboards. Ctrl+C stops everything.
#   ./eng/run.sh [--no-demo] [AppHost settings, e.g. ReplicateEmulator:TimeScale=10]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/eng/bootstrap.sh"

demo=1
args=()
for arg in "$@"; do
  if [ "$arg" = "--no-demo" ]; then demo=0; else args+=("$arg"); fi
done
# The AppHost talks to the real Replicate when REPLICATE_API_TOKEN is set anywhere it reads configuration: the environment, an
# argument, its user secrets. A demo there would spend money.
if [ "$demo" = 1 ] && { [ -n "${REPLICATE_API_TOKEN:-}" ] || printf '%s\n' "${args[@]}" | grep -q 'REPLICATE_API_TOKEN' \
    || dotnet user-secrets list --project "$repo/PinGlass.AppHost" 2>/dev/null | grep -q '^REPLICATE_API_TOKEN'; }; then
  echo "run: no demo generation against the real Replicate (it would spend money): 'pinglass generate samples/photos' runs one" >&2
  demo=0
fi

for project in PinGlass.AppHost PinGlass.Cli; do
  out="$(dotnet build "$repo/$project" --verbosity quiet --nologo -clp:NoSummary -warnaserror 2>&1)" || { printf '%s\n' "$out" >&2; exit 1; }
done
log="$(mktemp)"
# The AppHost in its own process group, so Ctrl+C (or the end of this script) stops it and every server it started: with SIGTERM,
# since a command a script starts in the background ignores SIGINT.
setsid dotnet run --no-build --project "$repo/PinGlass.AppHost" -- "${args[@]}" > >(tee "$log") 2>&1 &
apphost=$!
stop() { kill -TERM -- "-$apphost" 2>/dev/null || true; wait "$apphost" 2>/dev/null || true; rm -f "$log"; }
trap stop EXIT
trap 'exit 130' INT TERM

if [ "$demo" = 1 ]; then
  # The AppHost prints the demo client's key once the Api is ready.
  key=""
  for _ in $(seq 1 600); do
    key="$(sed -n "s/.*Demo API key (client 'demo'): \([A-Za-z0-9_-]*\).*/\1/p" "$log" | head -n 1)"
    [ -n "$key" ] && break
    kill -0 "$apphost" 2>/dev/null || { echo "run: the AppHost stopped before the Api was ready" >&2; exit 1; }
    sleep 1
  done
  [ -n "$key" ] || { echo "run: the Api was not ready after 10 minutes; no demo generation" >&2; wait "$apphost"; exit 1; }
  api="http://localhost:5280"
  portraits="$repo/portraits/demo"
  echo
  echo "run: a demo generation on samples/photos, as any client would make it: pinglass generate samples/photos"
  status=0
  # The key in the environment, not on the command line, where any user's ps would show it.
  PINGLASS_API_KEY="$key" dotnet "$repo/PinGlass.Cli/bin/Debug/net10.0/pinglass.dll" generate "$repo/samples/photos" --out "$portraits" \
    --api "$api" --user demo || status=$?
  echo
  [ "$status" = 0 ] && echo "run: the demo generation finished: its portraits are in $portraits" \
    || echo "run: the demo generation ended with exit code $status (see above); its portraits so far are in $portraits"
  echo "run: the studio (upload, watch, look): $api/studio/#key=$key&user=demo"
  echo "run: everything keeps running for the dashboards (links above); Ctrl+C stops it all"
fi
wait "$apphost"
