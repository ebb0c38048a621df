// The project's cdk8s validation plugin, listed under `validations:` in cdk8s.yaml. cdk8s-cli loads it after
// `cdk8s synth` writes the manifests and calls validate(); it runs the same rules as the tests (validation/rules.ts)
// and reports each violation with the construct path.
//
// It always removes construct-metadata.json (cdk8s-cli records it for these reports; `kubectl apply -f dist/` would
// reject it). On failure it also removes the manifests, so a failed synth leaves no bad manifests in dist/.
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const SOURCES = ['validation', 'lib'].map((dir) => path.join(ROOT, dir));
// Bundled by the `app` command in cdk8s.yaml right before validation; rebuilt here when missing or stale.
const BUNDLE = path.join(ROOT, 'node_modules', '.cache', 'number-crunch-synth', 'validation', 'index.js');
const CONSTRUCT_METADATA = 'construct-metadata.json';

function newestSource() {
  return Math.max(...SOURCES.flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))
    .map((f) => fs.statSync(path.join(dir, f)).mtimeMs)));
}

function loadChecks() {
  const fresh = fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newestSource();
  if (!fresh) {
    require('esbuild').buildSync({
      entryPoints: [path.join(ROOT, 'validation', 'index.ts')], outfile: BUNDLE, bundle: true, platform: 'node',
      external: ['kubernetes-models', 'yaml'], logLevel: 'warning',
    });
  }
  return require(BUNDLE);
}

class NumberCrunchPolicies {
  constructor(properties = {}) {
    this.properties = properties;
  }

  async validate(context) {
    const { RULES, parseManifests, objectRef } = loadChecks();
    const objects = [];
    const fileOf = new Map();
    for (const file of context.manifests) {
      for (const o of parseManifests(fs.readFileSync(file, 'utf8'), file)) {
        objects.push(o);
        fileOf.set(objectRef(o), file);
      }
    }
    let failed = false;
    for (const rule of RULES) {
      const violations = rule.check(objects);
      if (violations.length === 0) continue;
      failed = true;
      context.report.addViolation({
        ruleName: rule.name,
        recommendation: rule.description,
        fix: 'change the props of the construct at the path above (see the locations for what is wrong)',
        violatingResources: violations.map((v) => ({
          resourceName: v.name,
          locations: [v.message],
          manifestPath: fileOf.get(v.object) ?? context.manifests[0],
        })),
      });
    }
    context.report.submit(failed ? 'failure' : 'success', { rules: String(RULES.length), objects: String(objects.length) });

    for (const dir of new Set(context.manifests.map((m) => path.dirname(m)))) {
      fs.rmSync(path.join(dir, CONSTRUCT_METADATA), { force: true });
    }
    if (failed && !context.stdout) {
      for (const file of context.manifests) fs.rmSync(file, { force: true });
      context.logger.log(`Removed ${context.manifests.join(', ')}: the synthesized manifests break the rules reported below.`);
    }
  }
}

module.exports = { NumberCrunchPolicies };
