#!/usr/bin/env bash
# Runs the HTTP and microservice e2e specs against NestJS 12, ES modules only, and the
# built package: packs it, installs the tarball beside Nest 12 (test/nest12/node_modules,
# from this folder's lockfile), compiles the specs to ES modules and runs them on Node's
# test runner with Jest's globals (jest-globals.ts). Jest itself cannot load Nest 12 on
# Node 20: it has no require() of ES modules before Node 24.9.
# Extra arguments narrow the run to those compiled specs, e.g.
#   bash test/nest12/run.sh .work/dist/http/http.e2e-spec.js
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
work="$PWD/.work"
tarball="$(bash ../pack.sh "$work")"
npm ci --silent --no-audit --no-fund
mkdir -p node_modules/nestjs-tracing
tar xzf "$tarball" --strip-components=1 -C node_modules/nestjs-tracing
"$root/node_modules/.bin/tsc" -p tsconfig.json

specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  specs=("$work"/dist/http/*.e2e-spec.js "$work"/dist/microservices/*.e2e-spec.js "$work"/dist/nest12/*.e2e-spec.js)
else
  specs=("${specs[@]/#/$PWD/}")
fi
echo "== e2e on Nest $(node -p "require('./node_modules/@nestjs/core/package.json').version") (ESM), the packed package"
cd "$root"
node --import "$work/dist/nest12/jest-globals.js" --test --test-concurrency=1 --test-reporter=spec "${specs[@]}"
