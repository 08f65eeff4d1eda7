#!/usr/bin/env bash
# Packs the built package, installs the tarball into throwaway Nest apps (Nest 11
# CommonJS, Nest 12 CommonJS, which loads Nest through require() of ES modules, and
# Nest 12 ESM), boots each with TracingModule.forRoot() and a @Traced
# provider, makes one HTTP request and one TCP microservice call, and checks the spans
# that were exported; then a TCP call from each Nest version to the other.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
work="$PWD/.work"
tarball="$(bash ../pack.sh "$work")"

for app in apps/*/; do
  name="$(basename "$app")"
  dir="$work/$name"
  mkdir -p "$dir"
  cp "$app/package.json" apps/main.ts apps/tsconfig.json "$dir/"
  echo "== $name: installing"
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-package-lock "$tarball")
  (cd "$dir" && "$root/node_modules/.bin/tsc" -p tsconfig.json)
  echo "== $name: running"
  (cd "$dir" && node dist/main.js)
done

# A TCP call across Nest versions, each app the client of the other's server: the
# trace context crosses in the envelope's `metadata` either way.
cross() {
  local server="$1" client="$2" port pid
  port="$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"
  (cd "$work/$server" && SMOKE_ROLE=server SMOKE_PORT="$port" exec node dist/main.js >"$work/server.out") &
  pid=$!
  for _ in $(seq 100); do
    grep -q READY "$work/server.out" 2>/dev/null && break
    sleep 0.1
  done
  (cd "$work/$client" && SMOKE_ROLE=client SMOKE_PORT="$port" node dist/main.js >"$work/client.out")
  kill -TERM "$pid"
  wait "$pid"
  node check-cross.cjs "$work/client.out" "$work/server.out"
}
cross nest12-esm nest11-cjs
cross nest11-cjs nest12-esm
