#!/usr/bin/env bash
# Proves the archives of cluster/images/build.sh (and any other given) with a real containerd, without touching the
# machine's own: starts a throwaway containerd (root, state, socket under a temporary directory; CRI plugin off),
# imports every archive with `ctr -n k8s.io images import` and checks that it lands under its exact name, then runs:
#   - number-crunch:local read-only: PID 1 is `node build/number-crunch/src/main.js` as 10001:10001, /square-root/4 answers
#     {"InputNumber":4,"SquareRoot":2}, a bad input answers 400, SIGTERM ends it;
#   - the nginx stand-in with the Deployment's command, securityContext user, read-only root, the ConfigMap's
#     nginx.conf mounted where dist/ mounts it and an emptyDir-like /tmp: `nginx -t` passes, nginx serves
#     /nginx-health, `sleep` (the preStop hook) runs;
#   - the pause stand-in: runs as 65535, ends on SIGTERM.
# Everything it started is stopped and every mount and file removed on exit, also on failure.
#
#   cluster/images/verify.sh [<archive>...]   (default: those listed in $NC_CACHE/images/archives.txt)
#
# All traffic stays inside the containers' own network namespaces (loopback only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || die "verify.sh needs root (it starts containerd and runc containers)"
need containerd=containerd ctr=containerd runc=runc ip=iproute2 nsenter=util-linux jq=jq
archives=("$@")
if [ ${#archives[@]} -eq 0 ]; then
  [ -s "$IMAGES_DIR/archives.txt" ] || die "no archives given and none listed in $IMAGES_DIR/archives.txt: run cluster/images/build.sh first"
  while read -r _ a; do archives+=("$a"); done <"$IMAGES_DIR/archives.txt"
fi
for a in "${archives[@]}"; do [ -f "$a" ] || die "archive '$a' does not exist"; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-images-verify.XXXXXX")
sock="$tmp/containerd.sock"
containerd_pid=""
c() { ctr --address "$sock" --namespace k8s.io "$@"; }
# containerd 1.6 puts its shims' sockets under /run/containerd/s whatever its state directory: removed again (when
# empty) if this run created them.
run_containerd_existed=$([ -d /run/containerd ] && echo yes || echo no)
cleanup() {
  local id m
  if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
    for id in $(c task ls -q 2>/dev/null); do c task kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    sleep 0.3
    for id in $(c task ls -q 2>/dev/null); do c task delete --force "$id" >/dev/null 2>&1 || true; done
    for id in $(c containers ls -q 2>/dev/null); do c containers delete "$id" >/dev/null 2>&1 || true; done
    kill "$containerd_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$containerd_pid" 2>/dev/null || true
  fi
  # Mounts left under the temporary root (snapshots, tmpfs), deepest first.
  awk -v t="$tmp" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while IFS= read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$tmp"
  [ "$run_containerd_existed" = yes ] || rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
}
trap cleanup EXIT

cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/opt"
EOF
start=$(now)
containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 1 100); do c version >/dev/null 2>&1 && break; sleep 0.1; done
c version >/dev/null 2>&1 || { tail -n 20 "$tmp/containerd.log" >&2; die "the throwaway containerd did not start"; }
log "verify: throwaway containerd $(containerd --version | awk '{print $3}') up in $(since "$start") s"

# --- imports ---
declare -A imported=()
for a in "${archives[@]}"; do
  expected=$(tar -xOf "$a" manifest.json | sed -nE 's/.*"RepoTags":\["([^"]+)".*/\1/p')
  [ -n "$expected" ] || die "$a has no RepoTags in its manifest.json: not a docker-archive of build.sh/from-binary.sh"
  # ctr (like the kubelet) names images fully: nginx:x -> docker.io/library/nginx:x, a/b:x -> docker.io/a/b:x.
  case "$expected" in
    */*/*) full="$expected" ;;
    */*) [[ "${expected%%/*}" == *.* || "${expected%%/*}" == *:* || "${expected%%/*}" == localhost ]] && full="$expected" || full="docker.io/$expected" ;;
    *) full="docker.io/library/$expected" ;;
  esac
  start=$(now)
  c images import "$a" >/dev/null 2>"$tmp/import.err" || { cat "$tmp/import.err" >&2; die "ctr images import $a failed"; }
  c images ls -q | grep -qxF "$full" || die "after importing $a, containerd has no image named $full (it has: $(c images ls -q | tr '\n' ' '))"
  imported[$full]=1
  log "verify: imported $full from $(basename "$a") ($(mb "$a")) in $(since "$start") s"
done

# Host view of a task's PID 1: "<uid> <gid> <cmdline>".
task_identity() {
  local pid
  pid=$(c task ls | awk -v id="$1" '$1 == id {print $2}')
  [ -n "$pid" ] || die "task $1 is not running"
  printf '%s %s %s' "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")" \
    "$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed 's/ $//')"
}
# Loopback up in the task's own network namespace (runc leaves it down), from the host.
lo_up() {
  local pid
  pid=$(c task ls | awk -v id="$1" '$1 == id {print $2}')
  nsenter -t "$pid" -n ip link set lo up
}
# Sends SIGTERM and waits (at most $2 s) until the task stopped; prints the seconds it took.
stop_task() {
  local id="$1" limit="$2" t0 i
  t0=$(now)
  c task kill -s SIGTERM "$id" >/dev/null
  for i in $(seq 1 $((limit * 10))); do
    c task ls | awk -v id="$id" '$1 == id {print $3}' | grep -q STOPPED && { since "$t0"; c task delete "$id" >/dev/null 2>&1 || true; return 0; }
    sleep 0.1
  done
  die "task $id still running ${limit} s after SIGTERM"
}
run_flags=(--read-only --seccomp --runc-root "$tmp/runc" --fifo-dir "$tmp/fifo" -d)

# --- number-crunch:local ---
nc=docker.io/library/number-crunch:local
if [ -n "${imported[$nc]:-}" ]; then
  c run "${run_flags[@]}" --log-uri "file://$tmp/nc.log" "$nc" nc-verify >/dev/null
  lo_up nc-verify
  ident=$(task_identity nc-verify)
  [ "$ident" = "10001 10001 node build/number-crunch/src/main.js" ] || die "number-crunch:local runs as '$ident', expected '10001 10001 node build/number-crunch/src/main.js'"
  probe='
    const get = async (path) => { const r = await fetch("http://127.0.0.1:8080" + path); return r.status + " " + (await r.text()).trim(); };
    (async () => {
      for (let i = 0; i < 50; i++) { try { await get("/square-root/4"); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
      console.log(await get("/square-root/4")); console.log(await get("/square-root/abc"));
    })().catch((e) => { console.error(String(e)); process.exit(1); });'
  out=$(c task exec --fifo-dir "$tmp/fifo" --exec-id probe nc-verify node -e "$probe" 2>&1) || die "probing number-crunch:local failed: $out"
  first=$(sed -n 1p <<<"$out") second=$(sed -n 2p <<<"$out")
  [ "$first" = '200 {"InputNumber":4,"SquareRoot":2}' ] || die "number-crunch:local GET /square-root/4 answered '$first'"
  [[ "$second" == '400 {'* ]] || die "number-crunch:local GET /square-root/abc answered '$second', expected a 400 JSON"
  took=$(stop_task nc-verify 10)
  log "verify: number-crunch:local runs read-only as 10001:10001 'node build/number-crunch/src/main.js'; /square-root/4 -> $first; /square-root/abc -> $second; SIGTERM -> stopped in $took s"
fi

# --- nginx stand-in, as the Deployment in dist/ runs it ---
nginx_name=$(sed -nE 's#^ *image: *"?((docker\.io/)?nginxinc/nginx-unprivileged:[^" ]+)"? *$#\1#p' "$repo"/dist/*.yaml 2>/dev/null | sort -u | head -1)
[[ -z "$nginx_name" || "$nginx_name" == docker.io/* ]] || nginx_name="docker.io/$nginx_name"
if [ -n "$nginx_name" ] && [ -n "${imported[$nginx_name]:-}" ]; then
  [ -f "$repo/node_modules/yaml/package.json" ] || die "the 'yaml' package is missing from node_modules: run npm ci in the repository root"
  mkdir -p "$tmp/proxy" "$tmp/nginx-tmp"
  # The proxy Deployment's container (command, user, mounts) and the ConfigMap it mounts, from dist/.
  # shellcheck disable=SC2016 # the ${...} are JavaScript template literals of node's script, not the shell's
  spec=$(cd "$repo" && node -e '
    const fs = require("fs"); const YAML = require("yaml");
    const docs = fs.readdirSync("dist").filter((f) => f.endsWith(".yaml")).flatMap((f) => YAML.parseAllDocuments(fs.readFileSync("dist/" + f, "utf8")).map((d) => d.toJS()));
    const dep = docs.find((d) => d && d.kind === "Deployment" && d.spec.template.spec.containers.some((c) => c.image.includes("nginx-unprivileged")));
    const pod = dep.spec.template.spec; const ctr = pod.containers.find((c) => c.image.includes("nginx-unprivileged"));
    const vols = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
    const out = { command: ctr.command, user: `${ctr.securityContext?.runAsUser ?? pod.securityContext.runAsUser}:${ctr.securityContext?.runAsGroup ?? pod.securityContext.runAsGroup}`,
      readOnly: ctr.securityContext?.readOnlyRootFilesystem === true, preStop: ctr.lifecycle?.preStop?.exec?.command, mounts: [] };
    for (const m of ctr.volumeMounts) {
      const v = vols[m.name];
      if (v.configMap) {
        const cm = docs.find((d) => d && d.kind === "ConfigMap" && d.metadata.name === v.configMap.name);
        for (const [k, text] of Object.entries(cm.data)) fs.writeFileSync(process.argv[1] + "/proxy/" + k, text);
        out.mounts.push({ kind: "config", path: m.mountPath });
      } else if (v.emptyDir) out.mounts.push({ kind: "emptyDir", path: m.mountPath });
    }
    console.log(JSON.stringify(out));' "$tmp")
  command=() mounts=()
  while IFS= read -r arg; do command+=("$arg"); done < <(jq -r '.command[]' <<<"$spec")
  user=$(jq -r .user <<<"$spec")
  [ "$(jq -r .readOnly <<<"$spec")" = true ] || die "the proxy container in dist/ has no readOnlyRootFilesystem: true (verify.sh mirrors it)"
  while IFS=' ' read -r kind path; do
    case "$kind" in
      config) mounts+=(--mount "type=bind,src=$tmp/proxy,dst=$path,options=rbind:ro") ;;
      emptyDir) mounts+=(--mount "type=tmpfs,src=tmpfs,dst=$path,options=nosuid:nodev:mode=1777") ;;
    esac
  done < <(jq -r '.mounts[] | "\(.kind) \(.path)"' <<<"$spec")
  # The upstream names resolve as cluster DNS would, here to a documentation address (192.0.2.1) that has no route in
  # the container's loopback-only network namespace: connecting fails at once and nginx answers its JSON 502.
  { echo "127.0.0.1 localhost"; sed -nE 's/^ *server +([a-z0-9.-]+):[0-9]+;.*/192.0.2.1 \1/p' "$tmp"/proxy/*.conf; } >"$tmp/hosts"
  mounts+=(--mount "type=bind,src=$tmp/hosts,dst=/etc/hosts,options=rbind:ro")
  uid=${user%:*} gid=${user#*:}
  c run "${run_flags[@]}" --log-uri "file://$tmp/nginx.log" "${mounts[@]}" "$nginx_name" nginx-verify "${command[@]}" >/dev/null
  lo_up nginx-verify
  sleep 0.5
  ident=$(task_identity nginx-verify)
  # (nginx renames its master process "nginx: master process <its command line>")
  [ "$ident" = "$uid $gid nginx: master process ${command[*]}" ] || die "the nginx stand-in runs as '$ident', expected '$uid $gid nginx: master process ${command[*]}' (dist/)"
  # nginx -t with the same flags as the container's command (minus -g).
  t_args=()
  for ((i = 1; i < ${#command[@]}; i++)); do
    if [ "${command[$i]}" = -g ]; then i=$((i + 1)); else t_args+=("${command[$i]}"); fi
  done
  out=$(c task exec --fifo-dir "$tmp/fifo" --exec-id t nginx-verify nginx "${t_args[@]}" -t 2>&1) || die "nginx -t with dist/'s nginx.conf failed: $out"
  health=""
  for _ in $(seq 1 30); do
    health=$(c task exec --fifo-dir "$tmp/fifo" --exec-id h nginx-verify wget -q -O - http://127.0.0.1:8080/nginx-health 2>/dev/null) && break
    sleep 0.1
  done
  [ "$health" = ok ] || die "the nginx stand-in did not answer /nginx-health with ok (got '$health'); log: $(tail -n 5 "$tmp/nginx.log")"
  upstream=$(c task exec --fifo-dir "$tmp/fifo" --exec-id u nginx-verify sh -c 'wget -S -q -O - http://127.0.0.1:8080/square-root/4 2>&1; true' | sed -nE 's#^ *(HTTP/1.1 [0-9]+).*#\1#p' | head -1)
  [ "$upstream" = "HTTP/1.1 502" ] || die "the nginx stand-in answered /square-root/4 without an upstream with '$upstream', expected HTTP/1.1 502 (the chart's JSON error page); log: $(tail -n 5 "$tmp/nginx.log")"
  pre=$(jq -r '.preStop // [] | join(" ")' <<<"$spec")
  if [ -n "$pre" ]; then
    # shellcheck disable=SC2086
    c task exec --fifo-dir "$tmp/fifo" --exec-id p nginx-verify $pre || die "the preStop command '$pre' fails in the nginx stand-in"
  fi
  took=$(stop_task nginx-verify 10)
  log "verify: nginx stand-in runs '${command[*]}' as $uid:$gid on a read-only root; nginx -t: $(tail -n1 <<<"$out" | sed 's/.*: //'); /nginx-health -> $health; /square-root/4 without upstream -> $upstream; preStop '$pre' ok; stopped in $took s"
fi

# --- pause stand-in ---
pause=registry.k8s.io/pause:3.9
if [ -n "${imported[$pause]:-}" ]; then
  c run "${run_flags[@]}" --log-uri "file://$tmp/pause.log" "$pause" pause-verify >/dev/null
  sleep 0.2
  ident=$(task_identity pause-verify)
  [ "$ident" = "65535 65535 /pause" ] || die "the pause stand-in runs as '$ident', expected '65535 65535 /pause'"
  took=$(stop_task pause-verify 5)
  log "verify: pause stand-in runs '/pause' as 65535:65535; SIGTERM -> stopped in $took s"
fi
log "verify: all ${#archives[@]} archives import into containerd under their names"
