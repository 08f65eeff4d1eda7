#!/usr/bin/env bash
# Packs the built package, installs the tarball into throwaway Nest apps (Nest 11
# CommonJS and Nest 12 ESM), boots each with TracingModule.forRoot() and a @Traced
# provider, makes one HTTP request and one TCP microservice call, and checks the spans
# that were exported.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
work="$PWD/.work"
rm -rf "$work" && mkdir -p "$work"

(cd "$root" && npm run build --silent && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/nestjs-tracing-*.tgz)"

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
