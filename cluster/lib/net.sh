# Addresses and names of everything the harness creates on the machine (sourced). Nothing overlaps the machine's
# own networks; every interface, network namespace and iptables chain made here starts with "nc-" / "NC-", and
# kube-proxy's and kubelet's chains start with "KUBE-".
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts that source this file

NODE_NAME=nc-node
# A second node (its own containerd and kubelet on this machine), so that `kubectl drain` has somewhere to move pods.
NODE2_NAME=nc-node2
NODE2_IP=10.97.0.2
NODE2_POD_CIDR=10.88.1.0/24
NODE2_POD_GATEWAY=10.88.1.1
# The "LAN": a bridge holding the node's address, the load balancer's pool and two client network namespaces.
LAN_BRIDGE=nc-lan0
LAN_CIDR=10.97.0.0/24
NODE_IP=10.97.0.1
CLIENT_NETNS=nc-client
CLIENT_VETH=nc-client0
CLIENT_IP=10.97.0.100
# A second client on the LAN (the hostile-client test's well-behaved client).
CLIENT2_NETNS=nc-client2
CLIENT2_VETH=nc-client2v
CLIENT2_IP=10.97.0.101
LB_POOL_RANGE=10.97.0.200-10.97.0.220
# Pods: the CNI bridge plugin's bridge, no IP masquerade.
POD_BRIDGE=nc-pods0
POD_CIDR=10.88.0.0/16
NODE_POD_CIDR=10.88.0.0/24
POD_GATEWAY=10.88.0.1
# Services: ClusterIPs exist only in kube-proxy's iptables rules; the range is routed to the pod bridge so that no
# packet for it is ever sent towards the machine's default route.
SERVICE_CIDR=10.96.0.0/24
KUBERNETES_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10

# Machine-wide settings the cluster needs; their previous values are saved at `up` and restored at `down`.
# kubelet sets the vm/kernel ones itself at start (its "kernel tunables").
SYSCTLS=(
  net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables
  net.ipv4.conf.all.route_localnet
  vm.overcommit_memory
  vm.panic_on_oom
  kernel.panic
  kernel.panic_on_oops
  kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes
)
