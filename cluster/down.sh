#!/usr/bin/env bash
# Stops the test cluster and removes everything `cluster/up.sh` made: processes, containers, mounts, network
# namespaces, interfaces, iptables rules and chains, machine settings, the .cluster state. Works after a failed or
# killed run (it finds what is left by name and by path, not only through pid files) and does nothing the second time.
# The version set the cluster was started with (its binaries' paths name the processes to stop), whatever
# NC_CLUSTER_SET says now.
_state="${NC_CLUSTER_STATE:-$(cd "$(dirname "$0")/.." && pwd)/.cluster}"
if [ -f "$_state/set" ]; then NC_CLUSTER_SET=$(cat "$_state/set"); export NC_CLUSTER_SET; fi
. "$(dirname "$0")/lib/common.sh"
. "$CLUSTER_DIR/lib/net.sh"
set +e # clean up as much as possible; every step is checked at the end

[ "$(id -u)" -eq 0 ] || die "not root: only root can remove the cluster's processes, mounts and interfaces"
start=$SECONDS
ctrd="$STATE_DIR/containerd"

# pids_of PATTERN: our processes, i.e. those whose command line contains the cluster's state directory, and PATTERN;
# one pid a line.
pids_of() {
  local f cmd files
  # The whole list first: the grep has then exited (it matches its own command line).
  files=$(grep -lsF -- "$STATE_DIR/" /proc/[0-9]*/cmdline)
  [ -n "$files" ] || return 0
  while IFS= read -r f; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue # gone meanwhile (e.g. the grep itself)
    [ -n "$cmd" ] && [[ "$cmd" == *"$STATE_DIR/"* && "$cmd" == *$1* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done <<<"$files"
}
# alive PID: the process exists and has not exited (a zombie waiting for its parent to reap it has).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}
# stop NAME PATTERN: SIGTERM, up to 10 s, then SIGKILL.
stop() {
  local name="$1" p i
  local -a pids
  mapfile -t pids < <(pids_of "$2")
  [ ${#pids[@]} -gt 0 ] || return 0
  log "stopping $name (pid ${pids[*]})"
  kill "${pids[@]}" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    mapfile -t pids < <(for p in "${pids[@]}"; do alive "$p" && echo "$p"; done)
    [ ${#pids[@]} -gt 0 ] || return 0
    sleep 0.1
  done
  log "$name did not stop in 10s: SIGKILL"
  kill -9 "${pids[@]}" 2>/dev/null
  sleep 0.5
}

# 1. kubelet first, so that it restarts nothing; then the other Kubernetes components.
stop kubelet "$K8S_BIN/kubelet"
stop kube-proxy "$K8S_BIN/kube-proxy"
stop kube-router "$KUBE_ROUTER_BIN/kube-router"
stop kube-scheduler "$K8S_BIN/kube-scheduler"
stop kube-controller-manager "$K8S_BIN/kube-controller-manager"

# 2. Containers: kill every container of our containerd (through it when it runs, else directly: the children of
# our runc shims), then the shims and containerd.
for sock in "$ctrd/containerd.sock" "$STATE_DIR/node2/containerd/containerd.sock"; do
  if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
    CTR=(ctr --address "$sock" -n k8s.io)
    tasks=$("${CTR[@]}" tasks ls -q 2>/dev/null)
    if [ -n "$tasks" ]; then
      log "killing $(echo "$tasks" | wc -l) containers ($sock)"
      for t in $tasks; do "${CTR[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
      sleep 1
      for t in $tasks; do "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
    fi
  fi
done
for shim in $(pids_of containerd-shim); do
  for child in $(ps -o pid= --ppid "$shim"); do kill -9 "$child" 2>/dev/null; done
done
stop containerd-shims containerd-shim
stop containerd "$ctrd/config.toml"
# The second node's (its mount namespace, with the node's own /var/log/pods, goes with its last process).
stop containerd-node2 "$STATE_DIR/node2/containerd/config.toml"
stop kube-apiserver "$K8S_BIN/kube-apiserver"
stop etcd "$ETCD_BIN/etcd"
mapfile -t left < <(pids_of "")
[ ${#left[@]} -eq 0 ] || { log "killing leftover processes: ${left[*]}"; kill -9 "${left[@]}" 2>/dev/null; sleep 0.5; }

# 3. iptables: kube-proxy's own cleanup, then every chain named KUBE-*, CNI-* or NC-* and every rule jumping to one.
if [ -x "$K8S_BIN/kube-proxy" ]; then
  "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1
fi
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for table in filter nat mangle raw; do
    # Rules that jump to our chains, from any chain (deleted by their -A spec turned into -D).
    $ipt -t $table -S 2>/dev/null | grep -E -- '-j (KUBE-|CNI-|NC-)' | grep -E -- '^-A ' | while read -r rule; do
      eval "$ipt -t $table ${rule/-A /-D }" 2>/dev/null
    done
    chains=$($ipt -t $table -S 2>/dev/null | sed -n -E 's/^-N ((KUBE-|CNI-|NC-)[^ ]*)$/\1/p')
    for c in $chains; do $ipt -t $table -F "$c" 2>/dev/null; done
    for c in $chains; do $ipt -t $table -X "$c" 2>/dev/null; done
  done
done

# kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*, inet6:KUBE-* for IPv6, and the TMP-<16 base32 characters> of a swap
# it was killed in), once no rule refers to them.
our_ipsets() { command -v ipset >/dev/null && ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|TMP-[A-Z2-7]{16}$)'; }
for s in $(our_ipsets); do ipset destroy "$s" 2>/dev/null; done

# 4. Mounts under the state directory (container root filesystems, pod volumes, network namespaces), deepest first.
if [ -d "$STATE_DIR" ]; then
  for i in 1 2 3; do
    mounts=$(awk -v d="$STATE_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
    [ -n "$mounts" ] || break
    for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
fi

# 5. Network namespaces and interfaces.
ip netns del "$CLIENT_NETNS" 2>/dev/null
ip netns del "$CLIENT2_NETNS" 2>/dev/null
for veth in $(ip -o link show master "$POD_BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
  ip link del "$veth" 2>/dev/null
done
for ifname in "$CLIENT_VETH" "$CLIENT2_VETH" "$LAN_BRIDGE" "$POD_BRIDGE"; do
  ip link del "$ifname" 2>/dev/null
done

# 6. Machine settings back to what they were before `up`.
if [ -f "$STATE_DIR/sysctl.saved" ]; then
  while IFS= read -r line; do sysctl -qw "$line" >/dev/null 2>&1; done <"$STATE_DIR/sysctl.saved"
fi

# 7. Files: the fixed-path directories that did not exist before `up`, and the state.
if [ -f "$STATE_DIR/created-dirs" ]; then
  while IFS= read -r d; do
    case "$d" in /var/log/pods | /var/log/containers | /var/lib/kubelet | /var/lib/cni | /run/containerd) rm -rf "$d" ;; esac
  done <"$STATE_DIR/created-dirs"
fi
rm -rf "$STATE_DIR"

# Check: nothing of ours is left.
problems=()
[ -z "$(pids_of "")" ] || problems+=("processes: $(pids_of "" | tr '\n' ' ')")
for ns in "$CLIENT_NETNS" "$CLIENT2_NETNS"; do
  ip netns list 2>/dev/null | grep -q "^$ns\b" && problems+=("netns $ns")
done
for ifname in "$CLIENT_VETH" "$CLIENT2_VETH" "$LAN_BRIDGE" "$POD_BRIDGE"; do
  ip link show "$ifname" >/dev/null 2>&1 && problems+=("interface $ifname")
done
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for table in filter nat mangle raw; do
    $ipt -t $table -S 2>/dev/null | grep -qE -- '(KUBE-|CNI-|NC-)' && problems+=("$ipt -t $table chains")
  done
done
[ -z "$(our_ipsets)" ] || problems+=("ipsets: $(our_ipsets | tr '\n' ' ')")
grep -q " $STATE_DIR/" /proc/self/mounts && problems+=("mounts under $STATE_DIR")
[ -e "$STATE_DIR" ] && problems+=("$STATE_DIR")
if [ ${#problems[@]} -gt 0 ]; then
  die "cluster down left: ${problems[*]}"
fi
log "cluster down: nothing left ($((SECONDS - start))s)"
