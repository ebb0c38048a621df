import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadManifests } from '../../validation/manifests';

const root = resolve(__dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Runs the real `cdk8s synth` in `cwd` (validation plugin from cdk8s.yaml); `args` are added to its command line. */
function cdk8sSynth(cwd: string, args: string[] = []): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync(bin('cdk8s'), ['synth', '--no-check-upgrade', ...args], { cwd, stdio: 'pipe' }).toString() };
  } catch (e) {
    const err = e as { status: number; stdout: Buffer; stderr: Buffer };
    return { status: err.status, output: `${err.stdout}${err.stderr}` };
  }
}

/** Runs `cdk8s synth` of the project (its cdk8s.yaml) on an app made of `source`, run the standard way: tsx app.ts. */
function synth(source: string): { status: number; output: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nc-plugin-'));
  try {
    const text = source.replace(/LIB/g, JSON.stringify(join(root, 'lib')))
      .replace(/CDK8S/g, JSON.stringify(join(root, 'node_modules', 'cdk8s')));
    writeFileSync(join(dir, 'app.ts'), text);
    const out = join(dir, 'dist');
    const { status, output } = cdk8sSynth(root, ['--app', `${bin('tsx')} ${join(dir, 'app.ts')}`, '--output', out]);
    let files: string[] = [];
    try {
      files = readdirSync(out);
    } catch {
      files = [];
    }
    return { status, output, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An app with one NumberCrunchChart named "shop" with `props` (TypeScript object literal text). */
const chartApp = (props: string) => `
  import { App } from CDK8S;
  import { NumberCrunchChart } from LIB;
  const app = new App();
  new NumberCrunchChart(app, 'shop', ${props});
  app.synth();
`;

test('synth of a chart that breaks a rule reports it with the construct path, fails, and leaves no manifests', () => {
  const { status, output, files } = synth(chartApp("{ app: { image: 'number-crunch:latest' } }"));
  expect(output).toMatch(/images-pinned \(1 occurrences\)/);
  expect(output).toMatch(/Construct Path: shop\/App\/Deployment/);
  expect(output).toMatch(/container "number-crunch" image "number-crunch:latest" is not pinned/);
  expect(output).toMatch(/Validation failed/);
  expect(status).not.toBe(0);
  expect(files).toEqual([]);
}, 60_000);

test('synth of a good chart passes the plugin and leaves manifests only (no construct-metadata.json)', () => {
  const { status, output, files } = synth(chartApp("{ namespace: 'shop' }"));
  expect(output).toMatch(/Validations ended succesfully/);
  expect(status).toBe(0);
  expect(files).toEqual(['shop.k8s.yaml']);
}, 60_000);

// The stale-output bug: an app command that reused a build unless a file it watched changed (contract/ was not
// among them) synthesized the old port after a change to the contract, and the plugin checked the old rules.
test('synth with the app command of cdk8s.yaml sees a change to any file the app or the rules import', () => {
  const project = mkdtempSync(join(tmpdir(), 'nc-project-'));
  try {
    for (const entry of ['cdk8s.yaml', 'main.ts', 'package.json', 'tsconfig.json', 'lib', 'imports', 'contract', 'validation']) {
      cpSync(join(root, entry), join(project, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    const containerPorts = () => loadManifests(join(project, 'dist')).filter((o) => o.kind === 'Deployment')
      .flatMap((o) => o.spec.template.spec.containers as Array<{ ports?: Array<{ containerPort: number }> }>)
      .flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
    /** Replaces `from` (which must occur) with `to` in a file of the copy. */
    const edit = (file: string, from: string, to: string) => {
      const text = readFileSync(join(project, file), 'utf8');
      expect(text).toContain(from);
      writeFileSync(join(project, file), text.replace(from, to));
    };

    const first = cdk8sSynth(project);
    expect(first.output).toMatch(/Validations ended succesfully/);
    const rules = (output: string) => Number(/rules\s+│ (\d+) /.exec(output)?.[1]);
    expect(rules(first.output)).toBeGreaterThan(0);
    expect(containerPorts()).toContain(8080);
    expect(containerPorts()).not.toContain(8081);

    // Each change on its own: one synth after each.
    edit('contract/index.ts', 'export const SERVICE_PORT = 8080;', 'export const SERVICE_PORT = 8081;');
    const second = cdk8sSynth(project);
    expect(second.output).toMatch(/Validations ended succesfully/);
    expect(containerPorts()).toContain(8081);

    edit('validation/rules.ts', 'export const RULES: readonly Rule[] = [', 'export const RULES: readonly Rule[] = [imagesPinnedRule, ');
    const third = cdk8sSynth(project);
    expect(third.output).toMatch(/Validations ended succesfully/);
    expect(rules(third.output)).toBe(rules(first.output) + 1);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}, 120_000);
