#!/usr/bin/env bash
# Prints the path of an `nginx` command that runs Debian unstable's nginx (the line of the pinned image,
# nginxinc/nginx-unprivileged 1.30: bookworm's 1.22 cannot re-resolve an upstream), for the end-to-end tests and the
# benchmark. The packages come from unstable through a private apt configuration (scripts/lib/debian-unstable.sh) and
# are unpacked, libraries and dynamic loader included, into a root-owned, world-readable directory: the tests run
# nginx as the image's uid 101, which cannot read a cache under root's home. The command is a wrapper that starts the
# unpacked dynamic loader on the unpacked binary, so nothing of the machine's own libraries is used or changed.
#   NC_NGINX_DIR   where the unpacked nginx goes (default /var/tmp/number-crunch-cdk8s)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib/debian-unstable.sh
. "$here/lib/debian-unstable.sh"

fail() { printf 'fetch-nginx: %s\n' "$*" >&2; exit 1; }
{ command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; } || fail "needs apt-get and dpkg-deb (Debian)"
unstable_update || fail "could not reach Debian unstable (deb.debian.org) for nginx"
version=$(unstable_version nginx)
[ -n "$version" ] || fail "Debian unstable lists no nginx"
key=$(for p in "${UNSTABLE_NGINX_PACKAGES[@]}"; do printf '%s=%s\n' "$p" "$(unstable_version "$p")"; done | sha256sum | cut -c1-12)
base="${NC_NGINX_DIR:-/var/tmp/number-crunch-cdk8s}"
dir="$base/nginx-${version//[^A-Za-z0-9.+-]/_}-$key"
wrapper="$dir/bin/nginx"
if [ ! -x "$wrapper" ]; then
  mkdir -p "$base"
  # Only a directory of our own: refuse one someone else could have prepared in a shared temp directory.
  [ "$(stat -c %u "$base")" = "$(id -u)" ] || fail "$base is not owned by $(id -un); set NC_NGINX_DIR"
  chmod 755 "$base"
  tmp=$(mktemp -d "$base/.nginx.XXXXXX")
  for p in "${UNSTABLE_NGINX_PACKAGES[@]}"; do unstable_extract "$p" "$tmp/root" || fail "could not unpack $p"; done
  loader="$dir/root/usr/lib64/ld-linux-x86-64.so.2"
  libs="$dir/root/usr/lib/x86_64-linux-gnu"
  mkdir -p "$tmp/bin"
  printf '#!/bin/sh\n# Debian unstable nginx %s, with its own libraries (written by scripts/fetch-nginx.sh)\nexec %s --library-path %s %s "$@"\n' \
    "$version" "$loader" "$libs" "$dir/root/usr/sbin/nginx" >"$tmp/bin/nginx"
  chmod -R a+rX "$tmp"
  chmod 755 "$tmp" "$tmp/bin/nginx"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
"$wrapper" -v >/dev/null 2>&1 || fail "$wrapper does not run"
echo "$wrapper"
