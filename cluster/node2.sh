#!/usr/bin/env bash
# The fault tests' node crash (cluster/test/faults.test.ts), on the running test cluster:
#   cluster/node2.sh crash   kills every process of the second node at once (SIGKILL, one kill call): its kubelet, its
#                            containerd, every containerd-shim of that containerd and every process under those shims
#                            (the containers). Nothing is told first, as when the machine loses power; the node's
#                            files stay, and its pods' network namespaces go with their last process.
#   cluster/node2.sh start   starts its containerd and kubelet again, as up.sh does; the kubelet re-registers and
#                            reconciles the node's pods with the API server.
# Prints what it did, one line.
. "$(dirname "$0")/lib/common.sh"
. "$CLUSTER_DIR/lib/net.sh"
. "$CLUSTER_DIR/lib/node2.sh"

[ -f "$STATE_DIR/pids/kube-apiserver.pid" ] || die "no running cluster (npm run cluster:up)"
sock="$NODE2_DIR/containerd/containerd.sock"

# descendants PID...: the given pids and every process under them.
descendants() {
  local all=" $* " changed=1 pid ppid
  while [ $changed -eq 1 ]; do
    changed=0
    while read -r pid ppid; do
      if [[ "$all" == *" $ppid "* && "$all" != *" $pid "* ]]; then all="$all$pid "; changed=1; fi
    done < <(ps -e -o pid= -o ppid=)
  done
  echo "$all"
}

case "${1:-}" in
  crash)
    mapfile -t shims < <(pgrep -f -- "containerd-shim.* -address $sock" || true)
    own=()
    for name in kubelet-node2 containerd-node2; do
      [ -f "$STATE_DIR/pids/$name.pid" ] && own+=("$(cat "$STATE_DIR/pids/$name.pid")")
    done
    [ ${#own[@]} -gt 0 ] || die "the second node's kubelet and containerd are not running"
    read -r -a victims <<<"$(descendants "${own[@]}" "${shims[@]}")"
    kill -9 "${victims[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      left=0
      for p in "${victims[@]}"; do [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && left=1; done
      [ "$left" -eq 0 ] && break
      sleep 0.1
    done
    [ "$left" -eq 0 ] || die "processes of $NODE2_NAME still alive after SIGKILL"
    echo "crashed $NODE2_NAME: killed ${#victims[@]} processes (kubelet, containerd, ${#shims[@]} shims and the containers under them)"
    ;;
  start)
    for name in kubelet-node2 containerd-node2; do
      if [ -f "$STATE_DIR/pids/$name.pid" ] && kill -0 "$(cat "$STATE_DIR/pids/$name.pid")" 2>/dev/null; then
        die "$name is running already"
      fi
    done
    export PATH="$K8S_BIN:$PATH"
    start_node2_containerd
    for _ in $(seq 60); do ctr --address "$sock" version >/dev/null 2>&1 && break; sleep 1; done
    ctr --address "$sock" version >/dev/null 2>&1 || die "the containerd of $NODE2_NAME does not answer (see $STATE_DIR/logs/containerd-node2.log)"
    start_node2_kubelet
    echo "started $NODE2_NAME: containerd and kubelet"
    ;;
  *) die "usage: cluster/node2.sh crash|start" ;;
esac
