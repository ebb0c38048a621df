# The second node's containerd and kubelet, started by up.sh and again by node2.sh after a crash (sourced, not run).
# Both run in a mount namespace of their own where /var/log/pods and /var/log/containers are the node's own
# directories: a kubelet removes the log directories of pods it does not know, which on a shared /var/log/pods would
# be the other node's.
# shellcheck shell=bash
# shellcheck disable=SC2153 # NODE2_NAME and NODE2_IP come from lib/net.sh, sourced before this file

NODE2_DIR="$STATE_DIR/node2"

# start_node2_containerd: its containerd (root, state, socket, runc root under $NODE2_DIR).
start_node2_containerd() {
  # shellcheck disable=SC2016 # $1 is the inner bash's argument (the node's directory), expanded there
  start_proc containerd-node2 unshare --mount --propagation slave -- bash -c '
    mount --bind "$1/var-log-pods" /var/log/pods && mount --bind "$1/var-log-containers" /var/log/containers \
      && exec containerd --config "$1/containerd/config.toml"' _ "$NODE2_DIR"
}

# start_node2_kubelet: its kubelet, in the mount namespace of its containerd (which must be running).
start_node2_kubelet() {
  start_proc kubelet-node2 nsenter --mount="/proc/$(cat "$STATE_DIR/pids/containerd-node2.pid")/ns/mnt" -- \
    "$K8S_BIN/kubelet" --config="$STATE_DIR/config/kubelet-node2.yaml" \
    --kubeconfig="$STATE_DIR/config/kubelet2.kubeconfig" --root-dir="$NODE2_DIR/kubelet/root" \
    --hostname-override="$NODE2_NAME" --node-ip="$NODE2_IP" --register-node=true
}
