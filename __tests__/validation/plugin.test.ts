import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Runs the real `cdk8s synth` (with the project's validation plugin from cdk8s.yaml) on an app made of `source`. */
function synth(source: string): { status: number; output: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nc-plugin-'));
  try {
    const text = source.replace(/LIB/g, JSON.stringify(join(root, 'lib')))
      .replace(/CDK8S/g, JSON.stringify(join(root, 'node_modules', 'cdk8s')));
    writeFileSync(join(dir, 'app.ts'), text);
    const app = `${bin('esbuild')} ${join(dir, 'app.ts')} --bundle --platform=node --log-level=warning --outfile=${join(dir, 'app.js')} && node ${join(dir, 'app.js')}`;
    const out = join(dir, 'dist');
    let status = 0;
    let output: string;
    try {
      output = execFileSync(bin('cdk8s'), ['synth', '--no-check-upgrade', '--app', app, '--output', out], { cwd: root, stdio: 'pipe' }).toString();
    } catch (e) {
      const err = e as { status: number; stdout: Buffer; stderr: Buffer };
      status = err.status;
      output = `${err.stdout}${err.stderr}`;
    }
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
  const { status, output, files } = synth(chartApp("{ image: 'number-crunch:latest' }"));
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
