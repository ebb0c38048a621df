#!/usr/bin/env bash
# Prints the path of a promtool binary built from the Go module proxy and kept in
# ${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}/bin/promtool-<version>-<go version>/ (built once, a few minutes).
# The tests use it to check the service's /metrics output (`promtool check metrics`).
#
#   scripts/fetch-promtool.sh            the pinned version below
#   scripts/fetch-promtool.sh v0.316.0   that exact version of github.com/prometheus/prometheus
set -euo pipefail
# github.com/prometheus/prometheus tags its Prometheus 3.x releases v0.3xx.y on the module proxy (v0.316.0 = 3.16.0).
version=${1:-v0.316.0}
command -v go >/dev/null || {
  echo "fetch-promtool: go is not installed (promtool is built with go install from the Go module proxy)" >&2
  exit 1
}
go_version=$(go env GOVERSION)
dir="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}/bin/promtool-$version-$go_version"
bin="$dir/promtool"
if [ ! -x "$bin" ]; then
  tmp="$dir.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-trimpath" nice -n 19 \
    go install "github.com/prometheus/prometheus/cmd/promtool@$version" >&2 || {
    echo "fetch-promtool: go install github.com/prometheus/prometheus/cmd/promtool@$version failed" \
      "(is the Go module proxy, $(go env GOPROXY), reachable?)" >&2
    exit 1
  }
  rm -rf "$dir" && mv "$tmp" "$dir"
fi
"$bin" --version >/dev/null 2>&1 || {
  echo "fetch-promtool: $bin does not run" >&2
  exit 1
}
echo "$bin"
