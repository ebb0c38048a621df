#!/usr/bin/env bash
# Prints the path of a directory of busybox commands (busybox, and a link named after each of its applets: sh,
# sha256sum, sleep, ...): Debian's busybox-static, the busybox cluster/images/build.sh puts into the nginx stand-in, for
# the tests that run the tls-reloader sidecar's script the way the proxy's image runs it (busybox ash). The .deb is
# the image builds' ($NC_CACHE/debs), fetched with `apt-get download` when it is not there yet; the directory is
# root-owned and world-readable, as the tests run the script as nginx's uid 101 too.
#   NC_BUSYBOX_DIR   where the directory goes (default /var/tmp/number-crunch-cdk8s)
set -euo pipefail

fail() { printf 'fetch-busybox: %s\n' "$*" >&2; exit 1; }
{ command -v apt-cache >/dev/null && command -v dpkg-deb >/dev/null; } || fail "needs apt-get and dpkg-deb (Debian)"
version=$(apt-cache show --no-all-versions busybox-static 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || fail "apt knows no busybox-static (apt-get update?)"
base="${NC_BUSYBOX_DIR:-/var/tmp/number-crunch-cdk8s}"
dir="$base/busybox-${version//[^A-Za-z0-9.+-]/_}"
if [ ! -x "$dir/busybox" ]; then
  debs="${NC_CACHE:-$HOME/.cache/number-crunch-cdk8s}/debs"
  mkdir -p "$debs" "$base"
  # Only a directory of our own: refuse one someone else could have prepared in a shared temp directory.
  [ "$(stat -c %u "$base")" = "$(id -u)" ] || fail "$base is not owned by $(id -un); set NC_BUSYBOX_DIR"
  chmod 755 "$base"
  deb=$(find "$debs" -maxdepth 1 -name "busybox-static_${version//:/%3a}_*.deb" | head -n 1)
  if [ -z "$deb" ]; then
    (cd "$debs" && apt-get download "busybox-static=$version" >/dev/null 2>&1) || fail "apt-get download busybox-static=$version failed"
    deb=$(find "$debs" -maxdepth 1 -name "busybox-static_${version//:/%3a}_*.deb" | head -n 1)
  fi
  [ -n "$deb" ] || fail "no busybox-static .deb in $debs after apt-get download"
  tmp=$(mktemp -d "$base/.busybox.XXXXXX")
  dpkg-deb -x "$deb" "$tmp/root"
  install -m 0755 "$tmp/root/bin/busybox" "$tmp/busybox"
  rm -rf "$tmp/root"
  for applet in $("$tmp/busybox" --list); do
    [ -e "$tmp/$applet" ] || ln -s busybox "$tmp/$applet"
  done
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
"$dir/sh" -c 'sleep 0' || fail "$dir/sh does not run"
echo "$dir"
