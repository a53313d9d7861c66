#!/usr/bin/env bash
# Installs what PinGlass needs beyond the .NET SDK, Node and PostgreSQL, then restores the solution.
# Idempotent and quiet when everything is already in place. Sourced by run.sh and test.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# Debian packages: redis-server, and chromium for the studio's browser tests (driven by Playwright, which never downloads a
# browser); PostgreSQL 15 and setpriv are on the machine already: install them too if not.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=()
  elif command -v sudo >/dev/null 2>&1; then as_root=(sudo)
  else say "installing ${missing[*]} needs root: run this as root or install sudo"; exit 1
  fi
  say "installing ${missing[*]} (apt)"
  apt_log="$(mktemp)"
  if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2; rm -f "$apt_log"; say "apt-get install ${missing[*]} failed"; exit 1
  fi
  rm -f "$apt_log"
  # PinGlass starts its own Redis on a port of its own; the package's system service is not wanted running.
  if [ -d /run/systemd/system ] && systemctl is-enabled redis-server >/dev/null 2>&1; then
    "${as_root[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
fi

# npm packages of every Node project in the repo (Azurite for the local blob store, the faces service, ...).
# Each is reinstalled only when its lock file changes.
while IFS= read -r lock; do
  project="$(dirname "$lock")"
  stamp="$project/node_modules/.installed-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
    say "installing npm packages in ${project#"$repo"/} (npm ci)"
    (cd "$project" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$lock" "$stamp"
  fi
done < <(find "$repo" -name package-lock.json -not -path '*/node_modules/*' -not -path '*/bin/*' -not -path '*/obj/*')

# NuGet packages.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore "$repo/PinGlass.sln" --verbosity quiet >/dev/null || { say "dotnet restore failed"; dotnet restore "$repo/PinGlass.sln"; exit 1; }
