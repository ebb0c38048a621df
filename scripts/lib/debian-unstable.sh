# Debian's unstable suite through a private apt configuration under the cache (sourced, not run): its package lists,
# its downloads and an empty dpkg status live in $NC_CACHE/apt-unstable; the machine's own apt sources and state are
# never read or changed. Used for what bookworm is too old for: nginx >= 1.27.3 (`server ... resolve`), and the lines
# the pinned images run.
# shellcheck shell=bash

NC_CACHE="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}"
UNSTABLE_DIR="$NC_CACHE/apt-unstable"
# Lists older than this are fetched again (unstable moves; an old list names .debs the mirror no longer has).
UNSTABLE_LISTS_MAX_AGE_MINUTES=720

unstable_opts() {
  printf '%s\n' -o "Dir::Etc::SourceList=$UNSTABLE_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$UNSTABLE_DIR/lists" -o "Dir::State::Status=$UNSTABLE_DIR/status" \
    -o "Dir::Cache=$UNSTABLE_DIR/cache" -o APT::Architecture=amd64 -o APT::Architectures=amd64 \
    -o Debug::NoLocking=1
}

# unstable_update: fetches unstable's package lists when they are missing or older than the limit.
unstable_update() {
  mkdir -p "$UNSTABLE_DIR/lists/partial" "$UNSTABLE_DIR/cache/archives/partial" "$UNSTABLE_DIR/debs"
  [ -e "$UNSTABLE_DIR/status" ] || : >"$UNSTABLE_DIR/status"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main\n' \
    >"$UNSTABLE_DIR/sources.list"
  if [ -n "$(find "$UNSTABLE_DIR/lists" -maxdepth 1 -name '*unstable_main_binary-amd64_Packages*' -mmin "-$UNSTABLE_LISTS_MAX_AGE_MINUTES" 2>/dev/null)" ]; then
    return 0
  fi
  local opts
  mapfile -t opts < <(unstable_opts)
  apt-get "${opts[@]}" update >"$UNSTABLE_DIR/update.log" 2>&1 || {
    printf 'apt-get update of Debian unstable (private lists in %s) failed:\n' "$UNSTABLE_DIR" >&2
    tail -n 5 "$UNSTABLE_DIR/update.log" >&2
    return 1
  }
}

# unstable_version PACKAGE: the version unstable has now.
unstable_version() {
  local opts
  mapfile -t opts < <(unstable_opts)
  apt-cache "${opts[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# unstable_deb PACKAGE VERSION: the cached .deb of it, if there is one.
unstable_deb() {
  local f
  for f in "$UNSTABLE_DIR/debs/${1}_${2//:/%3a}_"*.deb; do
    if [ -f "$f" ]; then echo "$f"; return 0; fi
  done
  return 0
}

# unstable_extract PACKAGE DIR: unpacks unstable's current PACKAGE into DIR (the .deb is kept in the cache).
unstable_extract() {
  local pkg="$1" dir="$2" version file opts
  version=$(unstable_version "$pkg")
  [ -n "$version" ] || { printf 'Debian unstable has no package %s\n' "$pkg" >&2; return 1; }
  file=$(unstable_deb "$pkg" "$version")
  if [ -z "$file" ]; then
    mapfile -t opts < <(unstable_opts)
    (cd "$UNSTABLE_DIR/debs" && apt-get "${opts[@]}" download "$pkg=$version" >/dev/null 2>&1) || {
      printf 'apt-get download %s=%s from Debian unstable failed\n' "$pkg" "$version" >&2
      return 1
    }
    file=$(unstable_deb "$pkg" "$version")
  fi
  dpkg-deb -x "$file" "$dir"
}

# The packages nginx runs from (its binary, its libraries and the dynamic loader; mime.types from nginx-common).
# shellcheck disable=SC2034 # read by the scripts that source this file
UNSTABLE_NGINX_PACKAGES=(nginx nginx-common libc6 libcrypt1 libpcre2-8-0 libssl3t64 libzstd1 zlib1g)
