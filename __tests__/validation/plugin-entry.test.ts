// The plugin entry (validation/plugin/index.js) called the way cdk8s-cli 2.207 calls it (lib/util.js validateApp and
// lib/plugins/validation.js): loaded by path, constructed with the `properties` of cdk8s.yaml, given cdk8s-cli's own
// ValidationContext over the synthesized files and the construct metadata, then asked for report.success.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ValidationContext as Context } from 'cdk8s-cli/lib/plugins/validation';

const root = resolve(__dirname, '..', '..');
// The package's "exports" only list ./plugins, which the project's moduleResolution (node10) cannot see: load by path.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationContext } = require(join(root, 'node_modules', 'cdk8s-cli', 'lib', 'plugins', 'validation.js')) as {
  ValidationContext: typeof Context;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NumberCrunchPolicies } = require(join(root, 'validation', 'plugin')) as {
  NumberCrunchPolicies: new (properties?: Record<string, unknown>) => { validate(context: Context): Promise<void> };
};

const MANIFEST = 'number-crunch.k8s.yaml';
let dir: string;
beforeEach(() => {
  // A synth output directory as cdk8s-cli leaves it before validation: the committed manifests and the metadata.
  dir = mkdtempSync(join(tmpdir(), 'nc-plugin-entry-'));
  cpSync(join(root, 'dist', MANIFEST), join(dir, MANIFEST));
  writeFileSync(join(dir, 'construct-metadata.json'), JSON.stringify({
    version: '1.0.0',
    resources: { 'number-crunch': { path: 'number-crunch/App/Deployment/Resource' } },
  }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the plugin as cdk8s-cli does and returns the report's JSON. */
async function runPlugin(properties: Record<string, unknown> = {}) {
  const manifests = [join(dir, MANIFEST)];
  const metadata = {
    'number-crunch': JSON.parse(readFileSync(join(dir, 'construct-metadata.json'), 'utf8')).resources['number-crunch'],
  };
  const context = new ValidationContext(manifests, './validation/plugin', '1.0.0', metadata, false);
  context.logger.log = () => undefined;
  await new NumberCrunchPolicies(properties).validate(context);
  return { success: context.report.success, json: context.report.toJson() };
}

test('on the committed dist/ the plugin succeeds, keeps the manifests and removes construct-metadata.json', async () => {
  const { success, json } = await runPlugin();
  expect(success).toBe(true);
  expect(json.violations).toEqual([]);
  expect(readdirSync(dir)).toEqual([MANIFEST]);
});

test('on a bad manifest it reports the rule and the construct path, and removes the manifests', async () => {
  const path = join(dir, MANIFEST);
  writeFileSync(path, readFileSync(path, 'utf8').replace('image: number-crunch:local', 'image: number-crunch:latest'));
  const { success, json } = await runPlugin();
  expect(success).toBe(false);
  expect(json.violations).toEqual([{
    ruleName: 'images-pinned',
    recommendation: expect.stringMatching(/explicit tag/),
    fix: expect.any(String),
    violatingConstructs: [expect.objectContaining({
      resourceName: 'number-crunch',
      constructPath: 'number-crunch/App/Deployment/Resource',
      manifestPath: path,
      locations: [expect.stringMatching(/^Deployment\/default\/number-crunch: container "number-crunch" image "number-crunch:latest" is not pinned/)],
    })],
  }]);
  expect(existsSync(path)).toBe(false);
  expect(readdirSync(dir)).toEqual([]);
});

test('the clusterDomain property reaches the proxy-upstream rule', async () => {
  const { success, json } = await runPlugin({ clusterDomain: 'corp.example' });
  expect(success).toBe(false);
  expect(json.violations.map((v) => v.ruleName)).toEqual(['proxy-upstream']);
  expect(json.violations[0].violatingConstructs[0].locations?.[0])
    .toMatch(/uses cluster domain "cluster.local", not the cluster's "corp.example"/);
});

test('a manifest that is not YAML fails the plugin and still leaves neither metadata nor manifests', async () => {
  writeFileSync(join(dir, MANIFEST), 'kind: [Deployment\n');
  await expect(runPlugin()).rejects.toThrow(/number-crunch.k8s.yaml: document 1/);
  expect(readdirSync(dir)).toEqual([]);
});

test('every run checks the manifests: a second run on a changed manifest reports what the first did not', async () => {
  const path = join(dir, MANIFEST);
  const first = await runPlugin();
  expect(first.success).toBe(true);
  expect(first.json.summary.metadata).toEqual({ rules: '9', objects: '10' });
  writeFileSync(path, readFileSync(path, 'utf8').replace('image: number-crunch:local', 'image: number-crunch:latest'));
  writeFileSync(join(dir, 'construct-metadata.json'), '{"version":"1.0.0","resources":{}}');
  const second = await runPlugin();
  expect(second.success).toBe(false);
  expect(second.json.violations.map((v) => v.ruleName)).toEqual(['images-pinned']);
});
