// The project's cdk8s validation plugin, listed under `validations:` in cdk8s.yaml. cdk8s-cli loads it after
// `cdk8s synth` writes the manifests and calls validate(); it runs the same rules as the tests (validation/rules.ts)
// and reports each violation with the construct path.
//
// It always removes construct-metadata.json (cdk8s-cli records it for these reports and has read it before validate()
// runs; `kubectl apply -f dist/` would reject it). On failure it also removes the manifests, so a failed synth leaves
// no bad manifests in dist/. `properties` (cdk8s.yaml) are the rules' options: `clusterDomain` (default cluster.local).
//
// The rules are pure, so a pass is remembered (node_modules/.cache/number-crunch-synth/passed.json): the same
// manifests with the same rules, plugin, lock file and properties pass again without loading the schemas (~80 ms).
// `properties: { cache: false }` turns that off.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const SOURCES = ['validation', 'lib'].map((dir) => path.join(ROOT, dir));
// Bundled by the `app` command in cdk8s.yaml right before validation; rebuilt here when missing or stale.
const BUNDLE = path.join(ROOT, 'node_modules', '.cache', 'number-crunch-synth', 'validation', 'index.js');
const CONSTRUCT_METADATA = 'construct-metadata.json';
const PASSED = path.join(ROOT, 'node_modules', '.cache', 'number-crunch-synth', 'passed.json');

function newestSource() {
  return Math.max(...SOURCES.flatMap((dir) => fs.readdirSync(dir).filter((f) => /\.(ts|json)$/.test(f))
    .map((f) => fs.statSync(path.join(dir, f)).mtimeMs)));
}

function loadChecks() {
  const fresh = fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newestSource();
  if (!fresh) {
    require('esbuild').buildSync({
      entryPoints: [path.join(ROOT, 'validation', 'index.ts')], outfile: BUNDLE, bundle: true, platform: 'node',
      packages: 'external', logLevel: 'warning',
    });
  }
  return require(BUNDLE);
}

/** What a pass depends on: the manifests, the rules' bundle, this file, the locked packages, the properties. */
function fingerprint(texts, properties) {
  const hash = crypto.createHash('sha256');
  for (const file of [BUNDLE, __filename, path.join(ROOT, 'package-lock.json')]) hash.update(`${fs.statSync(file).mtimeMs}\0`);
  hash.update(`${JSON.stringify(properties)}\0`);
  for (const text of texts) hash.update(`${text.length}\0${text}`);
  return hash.digest('hex');
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

class NumberCrunchPolicies {
  constructor(properties = {}) {
    this.properties = properties;
  }

  async validate(context) {
    let passed = false;
    try {
      passed = this.check(context);
    } finally {
      // Also when a rule throws (e.g. a manifest is not valid YAML): synth fails then too.
      for (const dir of new Set(context.manifests.map((m) => path.dirname(m)))) {
        fs.rmSync(path.join(dir, CONSTRUCT_METADATA), { force: true });
      }
      if (!passed && !context.stdout) {
        for (const file of context.manifests) fs.rmSync(file, { force: true });
        context.logger.log(`Removed ${context.manifests.join(', ')}: synth failed validation (see below).`);
      }
    }
  }

  /** Runs the rules and fills the report; true when they all pass. */
  check(context) {
    const { RULES, parseManifests, objectRef } = loadChecks();
    const options = { clusterDomain: this.properties.clusterDomain };
    const cache = this.properties.cache !== false;
    const texts = context.manifests.map((file) => fs.readFileSync(file, 'utf8'));
    const key = fingerprint(texts, options);
    const passed = cache ? readJson(PASSED) : undefined;
    if (passed?.key === key) {
      context.report.submit('success', { rules: String(RULES.length), objects: String(passed.objects), cached: 'yes' });
      return true;
    }
    const objects = [];
    const fileOf = new Map();
    for (const [i, file] of context.manifests.entries()) {
      for (const o of parseManifests(texts[i], file)) {
        objects.push(o);
        fileOf.set(objectRef(o), file);
      }
    }
    let failed = false;
    for (const rule of RULES) {
      const violations = rule.check(objects, options);
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
    if (!failed && cache) fs.writeFileSync(PASSED, JSON.stringify({ key, objects: objects.length }));
    return !failed;
  }
}

module.exports = { NumberCrunchPolicies };
