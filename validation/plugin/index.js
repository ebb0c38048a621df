// The project's cdk8s validation plugin, listed under `validations:` in cdk8s.yaml. cdk8s-cli loads it after
// `cdk8s synth` writes the manifests and calls validate(); it runs the same rules as the tests (validation/rules.ts)
// and reports each violation with the construct path.
//
// It always removes construct-metadata.json (cdk8s-cli records it for these reports and has read it before validate()
// runs; `kubectl apply -f dist/` would reject it). On failure it also removes the manifests, so a failed synth leaves
// no bad manifests in dist/. `properties` (cdk8s.yaml) are the rules' options: `clusterDomain` (default cluster.local).
//
// The rules are TypeScript: tsx's CommonJS API compiles them, and what they import, as they are loaded, from the
// sources of this run. No bundle and no cache of results here, so a change to any imported file is always seen.
const fs = require('fs');
const path = require('path');
const tsx = require('tsx/cjs/api');

const CONSTRUCT_METADATA = 'construct-metadata.json';

/**
 * validation/index.ts (the rules, the manifest parser and objectRef), compiled on load by tsx. Its hook is on only
 * while the rules load (their lazy requires are of JavaScript packages); under jest, jest's own transform loads them.
 */
function loadChecks() {
  const unregister = tsx.register();
  try {
    return require('../index.ts');
  } finally {
    unregister();
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
    return !failed;
  }
}

module.exports = { NumberCrunchPolicies };
