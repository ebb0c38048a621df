#!/usr/bin/env bash
# Builds (or finds cached) every image the test cluster runs, as archives in $NC_CACHE/images that up.sh side-loads
# into containerd under the names the manifests reference. Nothing is pulled. The application images, the nginx
# stand-in and pause come from cluster/images/build.sh; CoreDNS, MetalLB and metrics-server are the binaries built by build.sh,
# packed into FROM-scratch images by cluster/images/from-binary.sh (stand-ins of the published images).
. "$(dirname "$0")/lib/common.sh"

images="$CLUSTER_DIR/images"
[ -x "$images/build.sh" ] || die "cluster/images/build.sh is missing (it builds number-crunch:local, the nginx stand-in and pause)"
[ -x "$images/from-binary.sh" ] || die "cluster/images/from-binary.sh is missing (it packs CoreDNS and MetalLB into images)"

start=$SECONDS
"$images/build.sh"
"$images/from-binary.sh" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" \
  "$NC_IMAGES/coredns-$COREDNS_VERSION.tar" "$COREDNS_BIN/coredns"
"$images/from-binary.sh" "quay.io/metallb/controller:$METALLB_VERSION" \
  "$NC_IMAGES/metallb-controller-$METALLB_VERSION.tar" "$METALLB_BIN/controller"
"$images/from-binary.sh" "quay.io/metallb/speaker:$METALLB_VERSION" \
  "$NC_IMAGES/metallb-speaker-$METALLB_VERSION.tar" "$METALLB_BIN/speaker"
"$images/from-binary.sh" --user 65534:65534 "$METRICS_SERVER_IMAGE" \
  "$NC_IMAGES/metrics-server-$METRICS_SERVER_VERSION.tar" "$METRICS_SERVER_BIN/metrics-server"
# The archives to side-load, "<image name> <archive>" per line: the current ones of images/build.sh, and these four.
[ -f "$NC_IMAGES/archives.txt" ] || die "cluster/images/build.sh wrote no $NC_IMAGES/archives.txt"
{
  cat "$NC_IMAGES/archives.txt"
  echo "registry.k8s.io/coredns/coredns:$COREDNS_VERSION $NC_IMAGES/coredns-$COREDNS_VERSION.tar"
  echo "quay.io/metallb/controller:$METALLB_VERSION $NC_IMAGES/metallb-controller-$METALLB_VERSION.tar"
  echo "quay.io/metallb/speaker:$METALLB_VERSION $NC_IMAGES/metallb-speaker-$METALLB_VERSION.tar"
  echo "$METRICS_SERVER_IMAGE $NC_IMAGES/metrics-server-$METRICS_SERVER_VERSION.tar"
} >"$CLUSTER_IMAGES_LIST"
log "images ready in $((SECONDS - start))s"
