#!/usr/bin/env bash
# Builds (or finds cached) every binary and image the test cluster runs. Each output is keyed on its version under
# $NC_CACHE; a step whose output exists is skipped. Usage: cluster/build.sh [binaries|images|all]
. "$(dirname "$0")/lib/common.sh"

what="${1:-all}"
command -v go >/dev/null || die "go is not installed (the cluster's binaries are built with go build from the Go module proxy)"

# One toolchain for everything (fetched through the module proxy), static binaries, Go's default build and module
# caches (they persist across runs, so a rebuild after a version change compiles only what changed).
export GOTOOLCHAIN="$GO_TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath"
GO_NICE=(nice -n 19 go)
# in_dir DIR CMD...: runs CMD in DIR (a step's CMD runs in a subshell of its own, so the cd stays there).
in_dir() { cd "$1" && shift && "$@"; }

build_kubernetes() {
  local bin="$K8S_BIN" pkg=k8s.io/kubernetes/cmd
  [ -x "$bin/kubectl" ] && [ -x "$bin/kubelet" ] && [ -x "$bin/kube-proxy" ] && [ -x "$bin/kube-apiserver" ] \
    && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kube-scheduler" ] && { log "kubernetes $KUBERNETES_VERSION: cached"; return; }
  local v x=""
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $v.gitVersion=$KUBERNETES_VERSION -X $v.gitTreeState=clean"
    [ -z "$KUBERNETES_COMMIT" ] || x+=" -X $v.gitCommit=$KUBERNETES_COMMIT"
    x+=" -X $v.buildDate=$KUBERNETES_BUILD_DATE -X $v.gitMajor=1 -X $v.gitMinor=$KUBERNETES_MINOR"
  done
  mkdir -p "$bin.tmp"
  # providerless: without the in-tree cloud providers (not used here; upstream supports this build tag).
  step "build kubernetes $KUBERNETES_VERSION (kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)" \
    "$NC_LOGS/build-kubernetes.log" \
    in_dir "$SET_BUILD_DIR/kubernetes" \
    "${GO_NICE[@]}" build -tags providerless -ldflags "-s -w$x" -o "$bin.tmp/" \
    $pkg/kube-apiserver $pkg/kube-controller-manager $pkg/kube-scheduler $pkg/kubelet $pkg/kube-proxy $pkg/kubectl
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
}

# go_build_module NAME DIR OUTDIR PKG...: builds main packages of the wrapper module in DIR into OUTDIR.
go_build_module() {
  local name="$1" dir="$2" out="$3"; shift 3
  mkdir -p "$out.tmp"
  step "build $name" "$NC_LOGS/build-${name%% *}.log" \
    in_dir "$dir" "${GO_NICE[@]}" build -ldflags "-s -w" -o "$out.tmp/" "$@"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd() {
  [ -x "$ETCD_BIN/etcd" ] && { log "etcd $ETCD_VERSION: cached"; return; }
  go_build_module "etcd $ETCD_VERSION" "$SET_BUILD_DIR/etcd" "$ETCD_BIN.d" go.etcd.io/etcd/server/v3
  mkdir -p "$ETCD_BIN" && mv "$ETCD_BIN.d/server" "$ETCD_BIN/etcd" && rm -rf "$ETCD_BIN.d"
}

build_coredns() {
  [ -x "$COREDNS_BIN/coredns" ] && { log "coredns $COREDNS_VERSION: cached"; return; }
  go_build_module "coredns $COREDNS_VERSION" "$SET_BUILD_DIR/coredns" "$COREDNS_BIN" .
}

build_metallb() {
  [ -x "$METALLB_BIN/controller" ] && [ -x "$METALLB_BIN/speaker" ] && { log "metallb $METALLB_VERSION: cached"; return; }
  go_build_module "metallb $METALLB_VERSION" "$SET_BUILD_DIR/metallb" "$METALLB_BIN" \
    go.universe.tf/metallb/controller go.universe.tf/metallb/speaker
}

# kube-router, run with its network policy controller only; the version it reports is the release's.
build_kube_router() {
  [ -x "$KUBE_ROUTER_BIN/kube-router" ] && { log "kube-router $KUBE_ROUTER_VERSION: cached"; return; }
  local out="$KUBE_ROUTER_BIN"
  mkdir -p "$out.tmp"
  step "build kube-router $KUBE_ROUTER_VERSION" "$NC_LOGS/build-kube-router.log" \
    in_dir "$SET_BUILD_DIR/kube-router" "${GO_NICE[@]}" build \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
    -o "$out.tmp/" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# metrics-server, with its own toolchain (cluster/versions.sh): it needs a newer Go than the v1.27 set's.
build_metrics_server() {
  [ -x "$METRICS_SERVER_BIN/metrics-server" ] && { log "metrics-server $METRICS_SERVER_VERSION: cached"; return; }
  GOTOOLCHAIN="$METRICS_SERVER_TOOLCHAIN" go_build_module "metrics-server $METRICS_SERVER_VERSION" \
    "$SET_BUILD_DIR/metrics-server" "$METRICS_SERVER_BIN" sigs.k8s.io/metrics-server/cmd/metrics-server
}

# The tests' load generator (cluster/loadgen, standard library only): always built, Go's build cache makes that
# about a second when nothing changed.
build_loadgen() {
  mkdir -p "$(dirname "$LOADGEN_BIN")"
  (cd "$CLUSTER_DIR/loadgen" && "${GO_NICE[@]}" build -o "$LOADGEN_BIN" .) || die "go build of cluster/loadgen failed"
}

start=$SECONDS
case "$what" in
  kubernetes) build_kubernetes ;;
  etcd) build_etcd ;;
  coredns) build_coredns ;;
  metallb) build_metallb ;;
  kube-router) build_kube_router ;;
  metrics-server) build_metrics_server ;;
  loadgen) build_loadgen ;;
  binaries|all)
    build_kubernetes; build_etcd; build_coredns; build_metallb; build_kube_router; build_metrics_server; build_loadgen ;;
  *) die "unknown build target '$what' (use kubernetes, etcd, coredns, metallb, kube-router, metrics-server, loadgen, binaries or all)" ;;
esac
log "build ($what) finished in $((SECONDS - start))s"
