#!/usr/bin/env bash
# `npm run test:cluster`: for each version set (cluster/versions.sh: Kubernetes v1.27 + MetalLB v0.13, and the newest
# Kubernetes + the newest MetalLB), starts the test cluster, runs the cluster tests against it and stops it (also when
# something fails or the run is interrupted). Exits non-zero if anything fails in any set.
#   NC_CLUSTER_SETS="v1.37" npm run test:cluster    # one set only (NC_CLUSTER_SET=v1.37 does the same)
# Arguments are passed to jest (e.g. a test file).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# One cluster per machine: its interfaces, network namespaces and iptables chains have fixed names. A second run (from
# another clone, say) waits here for the first to finish instead of breaking both.
lock="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}/test-cluster.lock"
mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
if ! flock -n 9; then
  echo "[cluster] another test:cluster runs on this machine; waiting for it ($lock)" >&2
  flock 9
fi
# shellcheck disable=SC2031 # versions.sh's default of NC_CLUSTER_SET is meant to stay in the $(...) subshells
sets="${NC_CLUSTER_SETS:-${NC_CLUSTER_SET:-$(. cluster/versions.sh && echo "$CLUSTER_SETS")}}"
start=$SECONDS
rc=0
summary=()
current=""
finish() {
  trap - EXIT INT TERM
  [ -z "$current" ] || NC_CLUSTER_SET="$current" cluster/down.sh || rc=1
  for line in "${summary[@]}"; do echo "[cluster] $line" >&2; done
  echo "[cluster] test:cluster finished in $((SECONDS - start))s (exit $rc)" >&2
  exit $rc
}
trap finish EXIT
trap 'rc=130; finish' INT TERM

for set in $sets; do
  # shellcheck disable=SC2031 # set here for the set; versions.sh's default stays in the $(...) subshell below
  export NC_CLUSTER_SET="$set"
  set_start=$SECONDS
  echo "[cluster] ===== version set $set: $(. cluster/versions.sh && echo "Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, CoreDNS $COREDNS_VERSION, MetalLB $METALLB_VERSION, Go $GO_TOOLCHAIN")" >&2
  # A state left by a killed run is removed first.
  [ ! -e "${NC_CLUSTER_STATE:-.cluster}" ] || cluster/down.sh || { rc=1; exit; }
  current="$set"
  up_start=$SECONDS
  if ! cluster/up.sh; then
    rc=1; summary+=("set $set: cluster:up FAILED after $((SECONDS - up_start))s"); exit
  fi
  up_time=$((SECONDS - up_start))
  echo "[cluster] cluster:up ($set) took ${up_time}s" >&2
  set_rc=0
  npx jest -c cluster/jest.config.js "$@" || set_rc=1
  cluster/down.sh || set_rc=1
  current=""
  [ $set_rc -eq 0 ] || rc=1
  summary+=("set $set: $([ $set_rc -eq 0 ] && echo passed || echo FAILED) (up ${up_time}s, total $((SECONDS - set_start))s)")
done
