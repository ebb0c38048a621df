#!/usr/bin/env bash
# `npm run test:cluster`: starts the test cluster, runs the cluster tests against it, stops it (also when something
# fails or the run is interrupted). Exits non-zero if any of the three fails.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
rc=0
finish() {
  trap - EXIT INT TERM
  cluster/down.sh || rc=1
  echo "[cluster] test:cluster finished in $((SECONDS - start))s (exit $rc)" >&2
  exit $rc
}
trap finish EXIT
trap 'rc=130; finish' INT TERM

# A state left by a killed run is removed first.
[ ! -e "${NC_CLUSTER_STATE:-.cluster}" ] || cluster/down.sh || { rc=1; exit; }
up_start=$SECONDS
cluster/up.sh || { rc=1; exit; }
echo "[cluster] cluster:up took $((SECONDS - up_start))s" >&2
npx jest -c cluster/jest.config.js "$@" || rc=1
