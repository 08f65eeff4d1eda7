#!/usr/bin/env bash
# Runs the e2e specs of HTTP, microservices, autoInstrument, the module itself and log
# correlation against other Nest versions than the repository's own (Nest 11.2, which
# Jest runs them on): Nest 11.1.4, the oldest one supported, and Nest 12, ES modules
# only: 12.0.3, the last without packet.metadata, and the newest 12. Each version is a
# folder here with its own package.json and lockfile. The specs are compiled once to ES
# modules and run from inside each folder, so that they and the packed package
# (unpacked there from its tarball) load that folder's Nest. They run on Node's test
# runner with Jest's globals (jest-globals.ts): Jest cannot require() an ES module
# before Node 24.9.
#   bash test/versions/run.sh                    every version, every spec
#   bash test/versions/run.sh nest-12 [spec…]    one version, e.g. http/http.e2e-spec.js
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
if [ $# -gt 0 ]; then
  versions=("$1")
  shift
else
  versions=(nest-11.1 nest-12.0 nest-12)
fi

tarball="$(bash ../pack.sh "$PWD/.work")"
"$root/node_modules/.bin/tsc" -p tsconfig.json

# Every version runs, whatever the one before did; the run fails if any did.
failed=()
for version in "${versions[@]}"; do
  work="$PWD/$version/.work"
  (cd "$version" && npm ci --silent --no-audit --no-fund)
  rm -rf "$version/node_modules/nestjs-tracing" "$work" && mkdir -p "$version/node_modules/nestjs-tracing" "$work"
  tar xzf "$tarball" --strip-components=1 -C "$version/node_modules/nestjs-tracing"
  cp -r .work/dist "$work/dist"

  specs=("${@/#/$work/dist/}")
  if [ $# -eq 0 ]; then
    specs=("$work"/dist/{http,microservices,auto-instrument,foundation,logging}/*.e2e-spec.js)
    # Nest >= 12.0.4 only: packet.metadata, and messages to and from Nest 11.
    if [ "$version" = nest-12 ]; then
      specs+=("$work/dist/versions/packet-metadata.e2e-spec.js")
    fi
  fi
  nest="$(cd "$version" && node -p "['core', 'microservices'].map((name) => name + ' ' +
    JSON.parse(require('node:fs').readFileSync('node_modules/@nestjs/' + name + '/package.json', 'utf8')).version)
    .join(', ')")"
  echo "== e2e on Nest ($nest), the packed package, as ES modules"
  globals="$(node -p "require('node:url').pathToFileURL(process.argv[1]).href" "$work/dist/versions/jest-globals.js")"
  # From the repository's root, where the specs find their .proto files. A spec that
  # leaves something running must not hold the run open: --test-force-exit.
  (cd "$root" && node --import "$globals" --test --test-concurrency=1 --test-force-exit \
    --test-reporter=spec "${specs[@]}") || failed+=("$version")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== e2e failed on: ${failed[*]}" >&2
  exit 1
fi
