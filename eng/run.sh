#!/usr/bin/env bash
# Runs PinGlass: every resource (PostgreSQL, Redis, blob storage, the Replicate emulator, Api, two Jobs replicas) under the Aspire
# AppHost. Ctrl+C stops everything. Extra arguments go to the AppHost, e.g. ReplicateEmulator:TimeScale=10.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/eng/bootstrap.sh"
exec dotnet run --project "$repo/PinGlass.AppHost" -- "$@"
