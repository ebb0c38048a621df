# Shared helpers of cluster/images/*.sh (sourced, not run). Builds go through buildah with a private storage under the
# cache, so nothing is written to the machine's global container storage and nothing is ever pulled.
# shellcheck shell=bash

NC_CACHE="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}"
IMAGES_DIR="$NC_CACHE/images"
BUILDAH_DIR="$NC_CACHE/buildah"
# The run root holds mount state: on tmpfs (/run) so that it never outlives a reboot, unlike the layers; one per cache
# root (a storage and its run root belong together).
BUILDAH_RUNROOT="/run/number-crunch-cdk8s-buildah-$(printf '%s' "$NC_CACHE" | sha256sum | cut -c1-12)"
# Labels on every image this project assembles itself (stand-ins of published images and the images built on them).
# shellcheck disable=SC2034 # read by build.sh and from-binary.sh, which source this file
STANDIN_LABEL=org.number-crunch-cdk8s.stand-in

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
# Seconds since $1 (a `now` value), one decimal.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# Size of a file in MB, one decimal.
mb() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", s / 1000000 }'; }

# Installs Debian packages that provide missing commands: need <command>=<package>...
need() {
  local missing=() spec
  for spec in "$@"; do
    command -v "${spec%%=*}" >/dev/null 2>&1 || missing+=("${spec#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]} (Debian packages); run as root so that they can be installed, or install them"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them with"
  log "installing ${missing[*]} (apt-get)"
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "apt-get install ${missing[*]} failed"
  for spec in "$@"; do
    command -v "${spec%%=*}" >/dev/null 2>&1 || die "'${spec%%=*}' still missing after installing ${spec#*=}"
  done
}

buildah_setup() {
  [ "$(id -u)" -eq 0 ] || die "buildah needs root here (overlay storage, chroot isolation); run as root"
  need buildah=buildah
  mkdir -p "$BUILDAH_DIR" "$IMAGES_DIR"
  # Fully qualified names only, no registry to search: a FROM that is not in the local storage fails instead of
  # pulling. Every pull policy below is "never" as well.
  printf 'unqualified-search-registries = []\n' >"$BUILDAH_DIR/registries.conf"
  printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$BUILDAH_DIR/policy.json"
  export CONTAINERS_REGISTRIES_CONF="$BUILDAH_DIR/registries.conf"
  export BUILDAH_ISOLATION=chroot
}

# buildah with the project's private storage.
bah() {
  buildah --root "$BUILDAH_DIR/storage" --runroot "$BUILDAH_RUNROOT" --storage-driver overlay "$@"
}

# Hash of the text on stdin plus the contents of the files named as arguments (in order; their names do not count).
inputs_hash() {
  { cat; local f; for f in "$@"; do sha256sum <"$f"; done; } | sha256sum | cut -c1-16
}

# Writes image <ref> (in the private storage) to <archive> as a docker-archive tagged <name>: what
# `ctr -n k8s.io images import` reads, under that exact name. Written next to the target and renamed, so a killed run
# leaves no half archive behind.
save_archive() {
  local ref="$1" archive="$2" name="$3"
  rm -f "$archive.part"
  bah push --quiet --signature-policy "$BUILDAH_DIR/policy.json" "$ref" "docker-archive:$archive.part:$name" >/dev/null
  mv "$archive.part" "$archive"
}

# Candidate versions of Debian packages, asked from apt once per run (apt-cache takes a second or more per call).
declare -A DEB_VERSIONS=()
# Packages whose versions are looked up together on the first deb_version call (set by the caller).
DEB_PACKAGES=()
deb_versions_load() {
  local pkg version line
  while IFS= read -r line; do
    case "$line" in
      Package:\ *) pkg="${line#Package: }" ;;
      Version:\ *) version="${line#Version: }"; [ -n "${DEB_VERSIONS[$pkg]:-}" ] || DEB_VERSIONS[$pkg]="$version" ;;
    esac
  done < <(apt-cache show --no-all-versions "$@" 2>/dev/null)
}

# Version of a Debian package as apt would fetch it now (for cache keys), without downloading.
deb_version() {
  local pkg="$1"
  if [ -z "${DEB_VERSIONS[$pkg]:-}" ]; then
    deb_versions_load "$pkg" "${DEB_PACKAGES[@]}"
    if [ -z "${DEB_VERSIONS[$pkg]:-}" ]; then
      log "apt knows no $pkg yet: apt-get update"
      apt-get -o DPkg::Lock::Timeout=600 update >/dev/null || true
      deb_versions_load "$pkg" "${DEB_PACKAGES[@]}"
    fi
  fi
  [ -n "${DEB_VERSIONS[$pkg]:-}" ] || die "Debian package $pkg is not known to apt (apt-get update failed?)"
  echo "${DEB_VERSIONS[$pkg]}"
}

# Prints the cached .deb of Debian package <name> at <version> ($NC_CACHE/debs), if there is one.
deb_cached() {
  local f
  for f in "$NC_CACHE/debs/${1}_${2//:/%3a}_"*.deb; do
    if [ -f "$f" ]; then echo "$f"; return 0; fi
  done
}

# Extracts the Debian package <name> (the candidate version of this machine's apt) into <dir>; the .deb is kept in the
# cache ($NC_CACHE/debs).
deb_extract() {
  local pkg="$1" dir="$2" version file
  version=$(deb_version "$pkg")
  mkdir -p "$NC_CACHE/debs"
  file=$(deb_cached "$pkg" "$version")
  if [ -z "$file" ]; then
    (cd "$NC_CACHE/debs" && apt-get download "$pkg=$version" >/dev/null 2>&1) || die "apt-get download $pkg=$version failed"
    file=$(deb_cached "$pkg" "$version")
    [ -n "$file" ] || die "apt-get download $pkg=$version left no .deb in $NC_CACHE/debs"
  fi
  dpkg-deb -x "$file" "$dir"
}

# Busybox (static, from Debian) as /bin/busybox with a link for each applet: sh, sleep, env, wget, id, ...
install_busybox() {
  local root="$1" tmp applet
  tmp=$(mktemp -d)
  deb_extract busybox-static "$tmp" >/dev/null
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
  install -m 0755 "$tmp/bin/busybox" "$root/bin/busybox"
  rm -rf "$tmp"
  for applet in $("$root/bin/busybox" --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
}

# Drops documentation and other files no program in the image reads.
prune_rootfs() {
  rm -rf "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/lintian" "$1/usr/share/locale" "$1/usr/share/info" \
    "$1/usr/lib/x86_64-linux-gnu/gconv" "$1/usr/lib/x86_64-linux-gnu/audit" "$1/usr/share/bug"
}

# A JSON string of $1 (for exec-form entrypoints); control characters are refused.
json_str() {
  local s="$1"
  [[ "$s" != *[[:cntrl:]]* ]] || die "argument '$s' contains a control character"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}
