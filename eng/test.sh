#!/usr/bin/env bash
# Runs every test in the solution and ends with each failed test's name and message, then one summary
# line: N passed, N failed, N skipped. Release builds: the AppHost tests run every service, and optimised code leaves the 2 cores to them.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/eng/bootstrap.sh"

dotnet build "$repo/PinGlass.sln" --configuration Release --no-restore --verbosity quiet -warnaserror

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
# One test project at a time: the AppHost tests start whole deployments and the Photos tests a faces service of their own, and
# started together with the rest they loaded 2 cores to a load average of 44 and slowed the AppHost tests' start-ups and heaviest
# tests three-fold. One at a time, the whole clean-clone run took 19 minutes instead of 23.
dotnet test --solution "$repo/PinGlass.sln" --configuration Release --no-build --max-parallel-test-modules 1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# A failed test's services log thousands of lines after its message: restate each failure's name and first 8 lines of its message
# and stack (at most 200 lines in all) last.
awk '/^[[:space:]]*failed [A-Za-z].* \([0-9][0-9hms .]*\)$/ { print; n = 8; next } n > 0 && !/^[[:space:]]*(info|warn|fail):/ { print substr($0, 1, 300); n-- }' "$log" \
    | sed -n '1,200p' | { grep . && echo; } || true

# Microsoft.Testing.Platform ends with a summary block per run; restate it in the plain form CI reads.
summary() { grep -E "^\s+$1: [0-9]+" "$log" | tail -n 1 | grep -oE '[0-9]+' || echo 0; }
printf '\ntests: %s passed, %s failed, %s skipped\n' "$(summary succeeded)" "$(summary failed)" "$(summary skipped)"
exit "$status"
