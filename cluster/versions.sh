# Versions of everything the test cluster is built from. Sourced by the cluster scripts; a change here changes the
# cache keys, so the next `npm run cluster:up` rebuilds what changed.

# Kubernetes: the API level of imports/k8s.ts and cdk8s-plus-27. Commit and build date are the release's own
# (from the Go module proxy's .info), so `kubectl version` reports what an official v1.27.16 build reports.
KUBERNETES_VERSION=v1.27.16
KUBERNETES_COMMIT=cbb86e0d7f4a049666fac0551e8b02ef3d6c3d9a
KUBERNETES_BUILD_DATE=2024-07-17T01:44:24Z
# The versions kubeadm v1.27.16 uses (cmd/kubeadm/app/constants): etcd 3.5.12, CoreDNS v1.10.1, pause 3.9.
ETCD_VERSION=v3.5.12
COREDNS_VERSION=v1.10.1
PAUSE_IMAGE=registry.k8s.io/pause:3.9
# MetalLB v0.13.x: the line microk8s's metallb add-on ships; it reads only metallb.universe.tf/* annotations.
METALLB_VERSION=v0.13.12
# Kubernetes v1.27.16 was released with Go 1.22; every Go binary here is built with that toolchain (fetched through
# the Go module proxy by GOTOOLCHAIN), which also lets them share one build cache.
GO_TOOLCHAIN=go1.22.12
