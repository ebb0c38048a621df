#!/usr/bin/env bash
# Prints the Node.js version the service's image runs: the default of NODE_IMAGE in number-crunch/Dockerfile
# (node:<version>-alpine...). One source for every script that needs "the image's Node".
set -euo pipefail
dockerfile="$(dirname "$0")/../number-crunch/Dockerfile"
version=$(sed -nE 's/^ARG NODE_IMAGE=node:([0-9]+\.[0-9]+\.[0-9]+)-.*$/\1/p' "$dockerfile")
if [ -z "$version" ]; then
  echo "node-image-version: no 'ARG NODE_IMAGE=node:<x.y.z>-...' line in number-crunch/Dockerfile" >&2
  exit 1
fi
echo "$version"
