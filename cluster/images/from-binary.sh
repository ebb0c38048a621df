#!/usr/bin/env bash
# Packs static binaries into a FROM-scratch image and writes it as a docker-archive that
# `ctr -n k8s.io images import` loads under <image-name>:
#
#   cluster/images/from-binary.sh [--user <uid>[:<gid>]] [--label <key>=<value>]... \
#       <image-name> <out.tar> <binary>... [-- <entrypoint arg>...]
#
# Each binary lands at /<its file name>; the entrypoint is the first binary followed by the arguments after `--`
# (a Pod's `args` are appended to it, as with the published images). An empty /tmp (1777) is added. Every image is
# labelled as a stand-in: it is built here from the upstream sources, not the published image.
# Nothing is done when <out.tar> exists and was written from the same inputs (the binaries' contents, the name, the
# entrypoint, the user, the labels and this script): it prints "cached".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

usage() { die "usage: from-binary.sh [--user <uid>[:<gid>]] [--label k=v]... <image-name> <out.tar> <binary>... [-- <entrypoint arg>...]${1:+ ($1)}"; }

user=""
labels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || usage "--user needs a value"; user="$2"; shift 2 ;;
    --label) [[ $# -ge 2 && "$2" == *=* ]] || usage "--label needs key=value"; labels+=("$2"); shift 2 ;;
    --) usage "'--' before the binaries" ;;
    -*) usage "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || usage "too few arguments"
name="$1" out="$2"
shift 2
binaries=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do binaries+=("$1"); shift; done
[ $# -gt 0 ] && shift # the "--"
args=("$@")
[ ${#binaries[@]} -gt 0 ] || usage "no binary given"
[[ "$name" == */*:* || "$name" == *:* ]] || die "image name '$name' has no tag: give <repository>:<tag>, e.g. registry.k8s.io/coredns/coredns:v1.10.1"
[[ "$user" == "" || "$user" =~ ^[0-9]+(:[0-9]+)?$ ]] || die "--user '$user' is not numeric: give <uid> or <uid>:<gid> (Kubernetes verifies runAsNonRoot only for numeric users)"
[[ "$out" == *.tar ]] || die "output '$out' does not end in .tar"

# readelf tells static from dynamic binaries below: without it every binary would pass as static.
command -v readelf >/dev/null || need readelf=binutils
declare -A seen=()
for b in "${binaries[@]}"; do
  [[ -f "$b" && -x "$b" ]] || die "binary '$b' is not an executable file"
  base="$(basename "$b")"
  [ -z "${seen[$base]:-}" ] || die "two binaries named '$base': each lands at /$base"
  seen[$base]=1
  # A FROM-scratch image has no shared libraries and no loader: only static executables run in it.
  if LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "binary '$b' is dynamically linked; a FROM-scratch image can only run static binaries (Go: CGO_ENABLED=0)"
  fi
done

key=$({
  printf 'name=%s\nuser=%s\nentrypoint-args=' "$name" "$user"
  printf '%q ' "${args[@]}"
  printf '\nlabels='
  printf '%q ' "${labels[@]}"
  printf '\nbinaries='
  for b in "${binaries[@]}"; do printf '%s ' "$(basename "$b")"; done
  echo
} | inputs_hash "${binaries[@]}" "$here/from-binary.sh" "$here/lib.sh")
stamp="$out.inputs"
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
  log "$name (STAND-IN, from binaries): cached $out ($(mb "$out"))"
  exit 0
fi

start=$(now)
buildah_setup
mkdir -p "$(dirname "$out")"
rm -f "$stamp"
ctr=$(bah from --quiet --pull-never --signature-policy "$BUILDAH_DIR/policy.json" scratch)
cleanup() { bah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
mnt=$(bah mount "$ctr")
for b in "${binaries[@]}"; do
  install -m 0755 "$b" "$mnt/$(basename "$b")"
done
mkdir -m 1777 "$mnt/tmp"
bah umount "$ctr" >/dev/null
entry=$(json_str "/$(basename "${binaries[0]}")")
for a in "${args[@]}"; do entry+=",$(json_str "$a")"; done
config=(--entrypoint "[$entry]" --cmd '' --label "$STANDIN_LABEL=built here from upstream sources, not the published image")
config+=(--label "org.number-crunch-cdk8s.inputs=$key")
[ -z "$user" ] || config+=(--user "$user")
for l in "${labels[@]}"; do config+=(--label "$l"); done
bah config "${config[@]}" "$ctr"
image=$(bah commit --quiet --rm "$ctr" "localhost/from-binary-$key")
trap - EXIT
save_archive "$image" "$out" "$name"
bah rmi "$image" >/dev/null 2>&1 || true
echo "$key" >"$stamp"
log "$name (STAND-IN, from binaries): built in $(since "$start") s -> $out ($(mb "$out"))"
