#!/usr/bin/env bash
# Builds the package and packs it, as npm publishes it, into a fresh folder ($1);
# prints the tarball's path. Used by the runs that install the built package.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$1" && mkdir -p "$1"
(cd "$root" && npm run build --silent && npm pack --silent --pack-destination "$1" >/dev/null)
ls "$1"/nestjs-tracing-*.tgz
