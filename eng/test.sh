#!/usr/bin/env bash
# Runs every test in the solution (test projects run in parallel) and ends with one summary line: N passed, N failed, N skipped.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/eng/bootstrap.sh"

dotnet build "$repo/PinGlass.sln" --no-restore --verbosity quiet -warnaserror

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test --solution "$repo/PinGlass.sln" --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Microsoft.Testing.Platform ends with a summary block per run; restate it in the plain form CI reads.
summary() { grep -E "^\s+$1: [0-9]+" "$log" | tail -n 1 | grep -oE '[0-9]+' || echo 0; }
printf '\ntests: %s passed, %s failed, %s skipped\n' "$(summary succeeded)" "$(summary failed)" "$(summary skipped)"
exit "$status"
