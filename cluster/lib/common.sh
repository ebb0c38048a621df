# Shared helpers for the cluster scripts (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts that source this file
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$CLUSTER_DIR/.." && pwd)"
# shellcheck source=../versions.sh
. "$CLUSTER_DIR/versions.sh"

# Build outputs live outside the clone so every clone on this machine (and CI on it) reuses them.
NC_CACHE="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}"
NC_LOGS="$NC_CACHE/logs"
# The Go wrapper modules of the chosen version set.
SET_BUILD_DIR="$CLUSTER_DIR/build/$NC_CLUSTER_SET"
K8S_BIN="$NC_CACHE/bin/kubernetes-$KUBERNETES_VERSION-$GO_TOOLCHAIN"
ETCD_BIN="$NC_CACHE/bin/etcd-$ETCD_VERSION-$GO_TOOLCHAIN"
COREDNS_BIN="$NC_CACHE/bin/coredns-$COREDNS_VERSION-$GO_TOOLCHAIN"
METALLB_BIN="$NC_CACHE/bin/metallb-$METALLB_VERSION-$GO_TOOLCHAIN"
KUBE_ROUTER_BIN="$NC_CACHE/bin/kube-router-$KUBE_ROUTER_VERSION-$GO_TOOLCHAIN"
METRICS_SERVER_BIN="$NC_CACHE/bin/metrics-server-$METRICS_SERVER_VERSION-$METRICS_SERVER_TOOLCHAIN"
METRICS_SERVER_IMAGE="registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION"
LOADGEN_BIN="$NC_CACHE/bin/loadgen-$GO_TOOLCHAIN"
NC_IMAGES="$NC_CACHE/images"
# The image archives the cluster side-loads ("<image name> <archive>" per line), written by build-images.sh.
CLUSTER_IMAGES_LIST="$NC_IMAGES/cluster-archives.txt"

# Runtime state of a running cluster (gitignored): kubeconfig, certificates, data, logs, pid files.
STATE_DIR="${NC_CLUSTER_STATE:-$REPO_DIR/.cluster}"

# start_proc NAME CMD...: starts a long-running process in its own session, logs to .cluster/logs/NAME.log.
start_proc() {
  local name="$1"; shift
  # (fd 9 is test.sh's machine-wide lock: a daemon must not hold it.)
  setsid "$@" >"$STATE_DIR/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/pids/$name.pid"
  log "started $name (pid $!)"
}

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# step NAME LOGFILE CMD...: runs CMD with output to LOGFILE, prints how long it took; on failure names the step
# and shows the end of its log.
step() {
  local name="$1" logfile="$2"; shift 2
  local start=$SECONDS
  log "$name ..."
  mkdir -p "$(dirname "$logfile")"
  # In the background so that `set -e` stays in force inside shell functions given as CMD.
  "$@" >"$logfile" 2>&1 &
  if ! wait $!; then
    printf '[cluster] ERROR: step "%s" failed after %ss; last lines of %s:\n' "$name" "$((SECONDS - start))" "$logfile" >&2
    tail -n 30 "$logfile" >&2
    exit 1
  fi
  log "$name done in $((SECONDS - start))s"
}

# go_mod_dir MODULE VERSION: the module's directory in Go's module cache (downloaded if needed), e.g. to read the
# manifests MetalLB ships in its module.
go_mod_dir() {
  GOTOOLCHAIN="$GO_TOOLCHAIN" GOFLAGS=-mod=mod go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
