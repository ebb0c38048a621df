#!/usr/bin/env bash
# Starts the single-node test cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
# kubelet and kube-proxy on this machine, then CoreDNS and MetalLB in it. Builds what is not cached first.
# Writes .cluster/env (KUBECONFIG=..., CLIENT_NETNS=...). `cluster/down.sh` undoes everything, also after a failure.
. "$(dirname "$0")/lib/common.sh"
. "$CLUSTER_DIR/lib/net.sh"
. "$CLUSTER_DIR/lib/node2.sh"

total_start=$SECONDS

# ---------------------------------------------------------------------------------------------------------------
# Prerequisites
[ "$(uname -s)" = Linux ] || die "the test cluster runs on Linux only"
[ "$(id -u)" -eq 0 ] || die "not root: the cluster needs root (network namespaces, iptables, mounts, containerd)"
ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (iproute2 with network namespace support is needed)"
missing=()
for spec in containerd=containerd containerd-shim-runc-v2=containerd ctr=containerd runc=runc buildah=buildah \
  iptables=iptables ipset=ipset conntrack=conntrack openssl=openssl curl=curl nsenter=util-linux; do
  command -v "${spec%%=*}" >/dev/null || missing+=("${spec#*=}")
done
for plugin in bridge host-local loopback portmap; do
  [ -x "/usr/lib/cni/$plugin" ] || { missing+=(containernetworking-plugins); break; }
done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing Debian packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')(install them with: apt-get install -y $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' '))"
fi
[ -d /proc/sys/net/bridge ] || die "br_netfilter is not available (/proc/sys/net/bridge missing): kube-proxy's rules would not see bridged pod traffic"
grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem (containerd's snapshotter needs it)"
if [ -f "$STATE_DIR/pids/kube-apiserver.pid" ]; then
  die "a cluster state exists in $STATE_DIR; run 'npm run cluster:down' first"
fi
for ifname in "$LAN_BRIDGE" "$POD_BRIDGE"; do
  ! ip link show "$ifname" >/dev/null 2>&1 || die "interface $ifname exists already (left from an earlier run?); run 'npm run cluster:down' first"
done

# ---------------------------------------------------------------------------------------------------------------
# Build (cached)
"$CLUSTER_DIR/build.sh" binaries
"$CLUSTER_DIR/build-images.sh"
export PATH="$K8S_BIN:$PATH"

# ---------------------------------------------------------------------------------------------------------------
# State directory, machine settings
mkdir -p "$STATE_DIR"/{pids,logs,pki,etcd,kubelet,containerd,cni/net.d,config}
chmod 700 "$STATE_DIR"
echo "$NC_CLUSTER_SET" >"$STATE_DIR/set"
if [ ! -f "$STATE_DIR/sysctl.saved" ]; then
  for s in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$STATE_DIR/sysctl.saved"
fi
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
# Directories outside the state that kubelet, CNI and containerd use at fixed paths; the ones that do not exist yet
# are removed again by down.sh.
for d in /var/log/pods /var/log/containers /var/lib/kubelet /var/lib/cni /run/containerd; do
  [ -e "$d" ] || echo "$d" >>"$STATE_DIR/created-dirs"
done

# wait_for DESCRIPTION SECONDS CMD...: polls CMD once a second until it succeeds, at most SECONDS times.
wait_for() {
  local what="$1" limit="$2" i start=$SECONDS; shift 2
  for ((i = 0; i < limit; i++)); do
    if "$@" >/dev/null 2>&1; then log "$what after $((SECONDS - start))s"; return 0; fi
    check_procs
    sleep 1
  done
  die "timed out after ${limit}s waiting for: $what"
}
# check_procs: fails early, with the end of its log, when a started process has died.
check_procs() {
  local f name
  for f in "$STATE_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    if ! kill -0 "$(cat "$f")" 2>/dev/null; then
      printf '[cluster] ERROR: %s exited; last lines of %s:\n' "$name" "$STATE_DIR/logs/$name.log" >&2
      tail -n 30 "$STATE_DIR/logs/$name.log" >&2
      exit 1
    fi
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Networks: the LAN bridge with the node address and a client namespace; the pod bridge; the Service route.
step "networks ($LAN_BRIDGE $LAN_CIDR, $POD_BRIDGE $NODE_POD_CIDR, netns $CLIENT_NETNS and $CLIENT2_NETNS)" "$STATE_DIR/logs/net.log" bash -c "
  set -e
  ip link add $LAN_BRIDGE type bridge
  ip addr add $NODE_IP/24 dev $LAN_BRIDGE
  ip addr add $NODE2_IP/24 dev $LAN_BRIDGE
  ip link set $LAN_BRIDGE up
  # Each client: a network namespace, a veth pair into the LAN bridge, an address.
  for client in '$CLIENT_NETNS $CLIENT_VETH $CLIENT_IP' '$CLIENT2_NETNS $CLIENT2_VETH $CLIENT2_IP'; do
    set -- \$client
    ip netns add \$1
    ip link add \$2 type veth peer name eth0 netns \$1
    ip link set \$2 master $LAN_BRIDGE up
    ip -n \$1 addr add \$3/24 dev eth0
    ip -n \$1 link set eth0 up
    ip -n \$1 link set lo up
  done
  ip link add $POD_BRIDGE type bridge
  ip addr add $POD_GATEWAY/24 dev $POD_BRIDGE
  ip addr add $NODE2_POD_GATEWAY/24 dev $POD_BRIDGE
  ip link set $POD_BRIDGE up
  ip route add $SERVICE_CIDR dev $POD_BRIDGE src $POD_GATEWAY
  # Forwarded traffic stays between the harness's interfaces: nothing from them is routed out of the machine.
  iptables -N NC-FORWARD
  iptables -A NC-FORWARD -o nc-+ -j RETURN
  iptables -A NC-FORWARD -i nc-+ -j DROP
  iptables -I FORWARD 1 -j NC-FORWARD
"

# ---------------------------------------------------------------------------------------------------------------
# PKI: one CA; serving and client certificates for every component (Node + RBAC authorization as in kubeadm).
pki="$STATE_DIR/pki"
cert() { # cert NAME SUBJECT [SAN]
  local name="$1" subj="$2" san="${3:-}"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/$name.key" -subj "$subj" \
    -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 7 \
    -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}
make_pki() {
  set -e
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
    -subj "/CN=nc-cluster-ca" -days 7 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=nc-admin"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
  cert kubelet2 "/O=system:nodes/CN=system:node:$NODE2_NAME" "IP:$NODE2_IP,DNS:$NODE2_NAME"
  cert kube-proxy "/CN=system:kube-proxy"
  cert kube-router "/CN=kube-router"
  # The API server's client certificate towards aggregated APIs (metrics-server), accepted there by its name only.
  cert front-proxy-client "/CN=front-proxy-client"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  for who in admin controller-manager scheduler kubelet kubelet2 kube-proxy kube-router; do
    local kc="$STATE_DIR/config/$who.kubeconfig"
    kubectl config set-cluster nc --server="https://$NODE_IP:6443" --certificate-authority="$pki/ca.crt" --embed-certs --kubeconfig="$kc"
    kubectl config set-credentials "$who" --client-certificate="$pki/$who.crt" --client-key="$pki/$who.key" --embed-certs --kubeconfig="$kc"
    kubectl config set-context nc --cluster=nc --user="$who" --kubeconfig="$kc"
    kubectl config use-context nc --kubeconfig="$kc"
  done
}
step "certificates and kubeconfigs" "$STATE_DIR/logs/pki.log" make_pki
export KUBECONFIG="$STATE_DIR/config/admin.kubeconfig"

# ---------------------------------------------------------------------------------------------------------------
# Control plane
start_proc etcd "$ETCD_BIN/etcd" --name nc-etcd --data-dir "$STATE_DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster nc-etcd=http://127.0.0.1:2380 --listen-metrics-urls "" --unsafe-no-fsync
wait_for "etcd healthy" 60 curl -fsS http://127.0.0.1:2379/health

start_proc kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --kubelet-preferred-address-types=InternalIP \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false \
  --requestheader-client-ca-file="$pki/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
  --enable-aggregator-routing=true
wait_for "kube-apiserver ready" 120 kubectl get --raw /readyz

start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$STATE_DIR/config/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE_DIR/config/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE_DIR/config/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
start_proc kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$STATE_DIR/config/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE_DIR/config/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE_DIR/config/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# ---------------------------------------------------------------------------------------------------------------
# containerd: own root, state and socket; pulls go nowhere (every registry's only host is a closed loopback port).
# node_runtime_config DIR SUBNET GATEWAY IS_GATEWAY: containerd's config in DIR/containerd and the CNI config in
# DIR/cni for a node whose pods get addresses of SUBNET on the pod bridge. The bridge plugin can own only one IPv4
# address of the bridge (IS_GATEWAY true, the first node's); the second node's gateway address is put on the bridge
# by the harness (above) and its pods route through it.
node_runtime_config() {
local dir="$1" subnet="$2" gateway="$3" is_gateway="$4"
local ctrd="$dir/containerd"
mkdir -p "$dir/cni/net.d"
mkdir -p "$ctrd/certs.d/_default"
cat >"$ctrd/certs.d/_default/hosts.toml" <<EOF
# No registry is reachable from this cluster: every image is side-loaded. A pull fails here at once.
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
cat >"$ctrd/config.toml" <<EOF
version = 2
root = "$ctrd/root"
state = "$ctrd/state"
[grpc]
  address = "$ctrd/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$ctrd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE (as in a sandboxed machine) a negative oom_score_adj (kubelet gives pause -998) is refused.
  restrict_oom_score_adj = $( [ $(( 0x$(sed -n 's/^CapEff:\t//p' /proc/self/status) >> 24 & 1 )) -eq 1 ] && echo false || echo true )
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$ctrd/runc"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$ctrd/certs.d"
EOF
cat >"$dir/cni/net.d/10-nc-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "nc-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": $is_gateway,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$subnet", "gateway": "$gateway" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$dir/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}
ctrd="$STATE_DIR/containerd"
node_runtime_config "$STATE_DIR" "$NODE_POD_CIDR" "$POD_GATEWAY" true
start_proc containerd containerd --config "$ctrd/config.toml"
CTR=(ctr --address "$ctrd/containerd.sock" -n k8s.io)
wait_for "containerd answering" 60 "${CTR[@]}" version
"${CTR[@]}" plugins ls | grep -q 'io.containerd.grpc.v1 .*cri .*ok' \
  || die "containerd's CRI plugin is not running (see $STATE_DIR/logs/containerd.log)"

# import_images SOCKET: side-loads every image of the list into the containerd at SOCKET.
import_images() {
  local name tar list CTR=(ctr --address "$1" -n k8s.io)
  while read -r name tar; do
    echo "== $name from $tar"
    "${CTR[@]}" images import "$tar"
    # (the list is read whole first: with pipefail, grep -q ending early could fail ctr with SIGPIPE)
    list=$("${CTR[@]}" images ls -q)
    grep -qxF "$name" <<<"$list" || { echo "importing $tar gave no image $name"; return 1; }
  done <"$CLUSTER_IMAGES_LIST"
  "${CTR[@]}" images ls -q
}
step "import $(wc -l <"$CLUSTER_IMAGES_LIST") images into containerd" "$STATE_DIR/logs/import.log" import_images "$ctrd/containerd.sock"

# ---------------------------------------------------------------------------------------------------------------
# kubelet and kube-proxy
printf '# No upstream resolver: pods with dnsPolicy Default get no nameserver; the cluster answers cluster names only.\n' \
  >"$STATE_DIR/kubelet/resolv.conf"
# kubelet_config FILE NODE_IP CONTAINERD_DIR CERT HEALTHZ_PORT
kubelet_config() {
cat >"$1" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $2
healthzBindAddress: 127.0.0.1
healthzPort: $5
containerRuntimeEndpoint: unix://$3/containerd.sock
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
resolvConf: $STATE_DIR/kubelet/resolv.conf
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization:
  mode: Webhook
tlsCertFile: $pki/$4.crt
tlsPrivateKeyFile: $pki/$4.key
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
serializeImagePulls: false
$( [ "$KUBERNETES_MINOR" -lt 31 ] || [ -e /sys/fs/cgroup/cgroup.controllers ] || echo "# This machine has cgroup v1, which kubelet refuses from v1.35 on unless told otherwise (deprecated, still supported).
failCgroupV1: false" )
EOF
}
kubelet_config "$STATE_DIR/config/kubelet.yaml" "$NODE_IP" "$ctrd" kubelet 10248
start_proc kubelet "$K8S_BIN/kubelet" --config="$STATE_DIR/config/kubelet.yaml" \
  --kubeconfig="$STATE_DIR/config/kubelet.kubeconfig" --root-dir="$STATE_DIR/kubelet/root" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --register-node=true

cat >"$STATE_DIR/config/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $STATE_DIR/config/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the harness's LAN, never on the machine's own interfaces.
nodePortAddresses: [$LAN_CIDR]
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start_proc kube-proxy "$K8S_BIN/kube-proxy" --config="$STATE_DIR/config/kube-proxy.yaml"

wait_for "node $NODE_NAME Ready" 120 kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s

# ---------------------------------------------------------------------------------------------------------------
# NetworkPolicy enforcement: kube-router's network policy controller only (no routing, no service proxy), one for the
# machine. It enforces the policies of the pods whose hostIP is its node's address ($NODE_NAME's): both nodes share
# this network namespace, and a second kube-router (for $NODE2_NAME) would remove the first one's chains at each
# sync, so the pods on $NODE2_NAME are not enforced (their peers' rules still apply: traffic to and from a pod on
# $NODE_NAME is checked whichever node the other end runs on). The tests that need enforcement keep their pods on
# $NODE_NAME. No health port (it would listen on every interface of the machine), no metrics port.
step "kube-router $KUBE_ROUTER_VERSION RBAC" "$STATE_DIR/logs/kube-router-rbac.log" \
  kubectl apply -f "$CLUSTER_DIR/manifests/kube-router-rbac.yaml"
start_proc kube-router "$KUBE_ROUTER_BIN/kube-router" --kubeconfig="$STATE_DIR/config/kube-router.kubeconfig" \
  --hostname-override="$NODE_NAME" --run-firewall --run-router=false --run-service-proxy=false \
  --service-cluster-ip-range="$SERVICE_CIDR" --health-port=0 --metrics-port=0
wait_for "kube-router's firewall chains in place" 60 bash -c \
  'iptables -S FORWARD | grep -q -- "-j KUBE-ROUTER-FORWARD" && iptables -S KUBE-NWPLCY-DEFAULT'

# ---------------------------------------------------------------------------------------------------------------
# CoreDNS and MetalLB
deploy_coredns() {
  set -e
  sed "s|coredns/coredns:COREDNS_VERSION|coredns/coredns:$COREDNS_VERSION|" "$CLUSTER_DIR/manifests/coredns.yaml" | kubectl apply -f -
}
step "deploy CoreDNS $COREDNS_VERSION" "$STATE_DIR/logs/coredns.log" deploy_coredns
# Upstream's metallb-native.yaml as it is, then controller and speaker pinned to the first node: the speaker runs
# with the host network, and the second node shares this machine's network namespace (a second speaker there would
# collide with the first on its ports), and the drain test drains the second node.
deploy_metallb() {
  set -e
  kubectl apply -f "$(go_mod_dir go.universe.tf/metallb "$METALLB_VERSION")/config/manifests/metallb-native.yaml"
  local pin='{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/hostname":"'"$NODE_NAME"'"}}}}}'
  kubectl -n metallb-system patch deployment controller --type merge -p "$pin"
  kubectl -n metallb-system patch daemonset speaker --type merge -p "$pin"
}
step "deploy MetalLB $METALLB_VERSION (upstream metallb-native.yaml, pinned to $NODE_NAME)" "$STATE_DIR/logs/metallb.log" deploy_metallb
wait_for "CoreDNS available" 120 kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=1s
wait_for "MetalLB controller available" 120 kubectl -n metallb-system wait --for=condition=Available deployment/controller --timeout=1s
wait_for "MetalLB speaker running" 120 kubectl -n metallb-system rollout status daemonset/speaker --timeout=1s
# The pool goes through MetalLB's validating webhook, served by the controller once its certificate is in place.
wait_for "MetalLB IPAddressPool and L2Advertisement accepted" 90 kubectl apply -f "$CLUSTER_DIR/manifests/metallb-pool.yaml"

# metrics-server (the autoscaler's resource metrics): upstream's manifests/base as it is, with the published image's
# name and two flags a test cluster needs: the kubelets' serving certificates are not verified (they are signed by
# the cluster's CA, which metrics-server is not given), and it runs on the first node.
deploy_metrics_server() {
  set -e
  kubectl kustomize "$(GO_TOOLCHAIN="$METRICS_SERVER_TOOLCHAIN" go_mod_dir sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION")/manifests/base" \
    | sed "s|image: gcr.io/k8s-staging-metrics-server/metrics-server:master|image: $METRICS_SERVER_IMAGE|" | kubectl apply -f -
  kubectl -n kube-system patch deployment metrics-server --type json -p '[
    {"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--kubelet-insecure-tls"},
    {"op": "add", "path": "/spec/template/spec/nodeSelector/kubernetes.io~1hostname", "value": "'"$NODE_NAME"'"}]'
}
step "deploy metrics-server $METRICS_SERVER_VERSION (upstream manifests/base)" "$STATE_DIR/logs/metrics-server.log" deploy_metrics_server

# ---------------------------------------------------------------------------------------------------------------
# The second node: its own containerd (root, state, socket, runc root, pod subnet $NODE2_POD_CIDR on the same pod
# bridge) and kubelet (root dir, address $NODE2_IP, healthz port), both in a mount namespace of their own where
# /var/log/pods and /var/log/containers are the node's own directories: a kubelet removes the log directories of pods
# it does not know, which on a shared /var/log/pods would be the other node's. kube-proxy (one per machine: the nodes
# share its network namespace) and MetalLB's speaker stay on the first node.
node2="$NODE2_DIR"
mkdir -p "$node2/kubelet" "$node2/var-log-pods" "$node2/var-log-containers" /var/log/pods /var/log/containers
node_runtime_config "$node2" "$NODE2_POD_CIDR" "$NODE2_POD_GATEWAY" false
start_node2_containerd
CTR2=(ctr --address "$node2/containerd/containerd.sock" -n k8s.io)
wait_for "containerd of $NODE2_NAME answering" 60 "${CTR2[@]}" version
step "import $(wc -l <"$CLUSTER_IMAGES_LIST") images into the containerd of $NODE2_NAME" "$STATE_DIR/logs/import-node2.log" \
  import_images "$node2/containerd/containerd.sock"
kubelet_config "$STATE_DIR/config/kubelet-node2.yaml" "$NODE2_IP" "$node2/containerd" kubelet2 10258
start_node2_kubelet
wait_for "node $NODE2_NAME Ready" 120 kubectl wait --for=condition=Ready "node/$NODE2_NAME" --timeout=1s

wait_for "metrics-server serving node metrics" 180 bash -c \
  "kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes | grep -q '\"$NODE2_NAME\"'"

cat >"$STATE_DIR/env" <<EOF
KUBECONFIG=$KUBECONFIG
CLIENT_NETNS=$CLIENT_NETNS
CLIENT2_NETNS=$CLIENT2_NETNS
CLUSTER_BIN=$K8S_BIN
CONTAINERD_ADDRESS=$ctrd/containerd.sock
CONTAINERD2_ADDRESS=$node2/containerd/containerd.sock
CONTAINERD_LOG=$STATE_DIR/logs/containerd.log
CONTAINERD2_LOG=$STATE_DIR/logs/containerd-node2.log
LB_POOL_RANGE=$LB_POOL_RANGE
IMAGES_LIST=$CLUSTER_IMAGES_LIST
LOADGEN=$LOADGEN_BIN
NODE_IP=$NODE_IP
NODE_NAME=$NODE_NAME
NODE2_NAME=$NODE2_NAME
CLUSTER_SET=$NC_CLUSTER_SET
KUBERNETES_VERSION=$KUBERNETES_VERSION
METALLB_VERSION=$METALLB_VERSION
EOF
log "cluster up in $((SECONDS - total_start))s; environment in $STATE_DIR/env"
