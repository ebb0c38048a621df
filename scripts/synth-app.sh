#!/bin/sh
# The `app` command of cdk8s.yaml. Bundles main.ts (with lib/ and its packages) and the policy rules used by the
# validation plugin with esbuild, only when a source changed since the last bundle (like make), then runs the bundle.
# No type checking here: `npm run compile` and `npm test` run tsc. This keeps `cdk8s synth` under a second.
set -e
out=node_modules/.cache/number-crunch-synth
stale=yes
if [ -f "$out/main.js" ] && [ -f "$out/validation/index.js" ]; then
  changed=$(find main.ts lib validation imports package-lock.json cdk8s.yaml scripts/synth-app.sh -type f \
    -newer "$out/main.js" -print | head -n 1)
  [ -z "$changed" ] && stale=no
fi
if [ "$stale" = yes ]; then
  node_modules/.bin/esbuild main.ts validation/index.ts --bundle --platform=node --packages=external \
    --log-level=warning --outdir="$out"
fi
exec node "$out/main.js"
