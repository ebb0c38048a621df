#!/bin/sh
# `npm run package`: compiles lib/ with jsii (build/, .jsii), then jsii-pacmak writes the artifacts a consumer installs:
# pkg/js/*.tgz (npm), pkg/python/*.whl (pip) and pkg/go/numbercrunchcdk8s (a Go module). pacmak builds each one
# (pip wheel, `go build`), which needs python3 with venv and pip, Go, and the registries.
#
# The Go module requires the cdk8s Go modules (cdk8s-core-go, cdk8s-plus-go) at the versions of the npm packages it
# was built against. When the Go module proxy does not serve them, they are generated here from those npm packages
# (the way cdk8s publishes them: jsii-pacmak over the same assemblies) into pkg/go/cdk8s and pkg/go/cdk8splus27,
# where pacmak's build, and a consumer's `replace` directives, find them.
set -e
bin=node_modules/.bin
# build:lib is jsii (its reserved-word warnings are silenced: `namespace` is reserved in C#, not a target here).
# From a clean build/: a module deleted from lib/ must not linger in the package.
rm -rf build .jsii
npm run --silent build:lib
rm -rf pkg
"$bin/jsii-pacmak" --no-npmignore --targets js python

version() { node -p "require('./node_modules/$1/package.json').version"; }
core=github.com/cdk8s-team/cdk8s-core-go/cdk8s/v2@v$(version cdk8s)
plus=github.com/cdk8s-team/cdk8s-plus-go/cdk8splus27/v2@v$(version cdk8s-plus-27)
if (cd "${TMPDIR:-/tmp}" && go mod download "$core" "$plus") >/dev/null 2>&1; then
  echo "package: $core and $plus from the Go module proxy"
else
  echo "package: the Go module proxy does not serve $core / $plus: generating them from the npm packages into pkg/go"
  "$bin/jsii-pacmak" --no-npmignore --targets go --code-only --outdir pkg node_modules/cdk8s node_modules/cdk8s-plus-27
fi
"$bin/jsii-pacmak" --no-npmignore --targets go
ls pkg/js/*.tgz pkg/python/*.whl pkg/go/numbercrunchcdk8s/go.mod
