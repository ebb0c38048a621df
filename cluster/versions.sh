# Versions of everything the test cluster is built from. Sourced by the cluster scripts; a change here changes the
# cache keys, so the next `npm run cluster:up` rebuilds what changed.
#
# Two version sets, chosen with NC_CLUSTER_SET (`npm run test:cluster` runs the tests on both, one after the other):
#   v1.27  Kubernetes v1.27.16 (the API level of imports/k8s.ts and cdk8s-plus-27) + MetalLB v0.13.12 (the line
#          microk8s's metallb add-on ships; it reads only metallb.universe.tf/* annotations)
#   v1.37  the newest Kubernetes release on the Go module proxy + the newest MetalLB release that builds from it
#          (v0.15.2; reads metallb.io/* and still honours metallb.universe.tf/*)
# The Go wrapper modules of each set are in cluster/build/<set>/.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts that source this file
CLUSTER_SETS="v1.27 v1.37"
NC_CLUSTER_SET="${NC_CLUSTER_SET:-v1.27}"
case "$NC_CLUSTER_SET" in
  v1.27)
    # Commit and build date are the release's own, so `kubectl version` reports what an official build reports.
    KUBERNETES_VERSION=v1.27.16
    KUBERNETES_COMMIT=cbb86e0d7f4a049666fac0551e8b02ef3d6c3d9a
    KUBERNETES_BUILD_DATE=2024-07-17T01:44:24Z
    # The versions kubeadm v1.27.16 uses (cmd/kubeadm/app/constants): etcd 3.5.12, CoreDNS v1.10.1, pause 3.9.
    ETCD_VERSION=v3.5.12
    COREDNS_VERSION=v1.10.1
    METALLB_VERSION=v0.13.12
    # Kubernetes v1.27.16 was released with Go 1.22; every Go binary of the set is built with that toolchain (fetched
    # through the Go module proxy by GOTOOLCHAIN), which also lets them share one build cache.
    GO_TOOLCHAIN=go1.22.12
    ;;
  v1.37)
    # The newest release on the Go module proxy (`go list -m -versions k8s.io/kubernetes`); the proxy's .info gives
    # its date but no commit, so `kubectl version` shows an empty gitCommit.
    KUBERNETES_VERSION=v1.37.2
    KUBERNETES_COMMIT=
    KUBERNETES_BUILD_DATE=2026-10-27T12:01:04Z
    # The versions kubeadm v1.37.2 uses (cmd/kubeadm/app/constants): etcd 3.7.0, CoreDNS v1.14.6.
    ETCD_VERSION=v3.7.0
    COREDNS_VERSION=v1.14.6
    # The newest MetalLB release that builds from the Go module proxy: v0.16.2 (the newest listed by
    # `go list -m -versions go.universe.tf/metallb`) requires github.com/metallb/frr-k8s v0.0.27, which the proxy
    # does not serve (403), and the newest frr-k8s it serves (v0.0.26) lacks the API v0.16.2 uses.
    METALLB_VERSION=v0.15.2
    # k8s.io/kubernetes v1.37.2 requires Go 1.26.
    GO_TOOLCHAIN=go1.26.8
    ;;
  *)
    printf '[cluster] ERROR: unknown NC_CLUSTER_SET=%s (use one of: %s)\n' "$NC_CLUSTER_SET" "$CLUSTER_SETS" >&2
    exit 1
    ;;
esac
# kube-router's network policy controller enforces NetworkPolicies (the bridge CNI does not); the only release the
# Go module proxy serves (v2.x) is v2.1.0. Both sets.
KUBE_ROUTER_VERSION=v2.1.0
# metrics-server (the autoscaler's resource metrics): the Go module proxy serves v0.8.0 and v0.9.0; v0.8.0 declares
# support for Kubernetes 1.31+ (0.7.x, "1.27+", is not on the proxy) and works on v1.27.16 here. It requires Go 1.24.4,
# so both sets build it with this toolchain (one binary for both).
METRICS_SERVER_VERSION=v0.8.0
METRICS_SERVER_TOOLCHAIN=go1.26.8
# The pause image containerd runs as every pod's sandbox (a stand-in, built from cluster/images/pause/pause.c; the
# same for both sets).
PAUSE_IMAGE=registry.k8s.io/pause:3.9
KUBERNETES_MINOR=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
