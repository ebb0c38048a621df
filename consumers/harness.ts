// Shared by the consumer tests. Each test copies one of examples/<language> as it is into a fresh directory, installs
// the artifact `npm run package` wrote to pkg/ the way that example's README says, runs the example's own synth
// command, and compares the manifests byte for byte with the reference: examples/typescript/main.ts run against the
// sources in lib/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { runOk } from '../test-support/run';
import { K8sObject, parseManifests } from '../validation/manifests';

export const ROOT = resolve(__dirname, '..');
const PKG = join(ROOT, 'pkg');
const BIN = join(ROOT, 'node_modules', '.bin');

/** The cdk8s CLI of this repository (a pinned devDependency): `cdk8s synth` for the examples that do not install one. */
export const CDK8S = join(BIN, 'cdk8s');

/** Versions of the peer dependencies this library is built and tested against (the root devDependencies). */
export function devVersion(name: string): string {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies[name];
  if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) throw new Error(`devDependency ${name} must be pinned, found ${version}`);
  return version;
}

/** The one file in pkg/`dir` whose name ends with `suffix`: an artifact of `npm run package`. */
export function artifact(dir: string, suffix: string): string {
  const full = join(PKG, dir);
  const found = existsSync(full) ? readdirSync(full).filter((f) => f.endsWith(suffix)) : [];
  if (found.length !== 1) {
    throw new Error(`expected one *${suffix} in pkg/${dir}, found ${found.length}: run \`npm run package\` first`);
  }
  return join(full, found[0]);
}

function log(line: string): void {
  process.stdout.write(`[consumers] ${line}\n`);
}

/** The files of examples/`language` that git keeps (committed or not ignored): no node_modules, venv or dist/. */
function exampleFiles(language: string): string[] {
  const dir = join('examples', language);
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', dir], { cwd: ROOT, encoding: 'utf8' });
  const files = [...new Set(listed.split('\n').filter((f) => f !== '' && existsSync(join(ROOT, f))))].map((f) => relative(dir, f));
  if (files.length === 0) throw new Error(`no files in ${dir}`);
  return files;
}

/**
 * A fresh copy of examples/`language`, laid out as in the repository: the example in `<tmp>/examples/<language>`
 * and `<tmp>/pkg` a link to this repository's pkg/, so that its references to `../../pkg/...` find the artifacts.
 * `done` removes it unless KEEP_CONSUMERS is set.
 */
export function exampleProject(language: string): { dir: string; done: () => void } {
  const base = mkdtempSync(join(tmpdir(), `nc-consumer-${language}-`));
  const dir = join(base, 'examples', language);
  for (const file of exampleFiles(language)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, 'examples', language, file), join(dir, file));
  }
  symlinkSync(PKG, join(base, 'pkg'));
  log(`${language} consumer project: ${dir} (examples/${language} as it is)`);
  return { dir, done: () => (process.env.KEEP_CONSUMERS ? undefined : rmSync(base, { recursive: true, force: true })) };
}

/** A file of examples/`language` as committed to this repository. */
export function exampleFile(language: string, file: string): string {
  return readFileSync(join(ROOT, 'examples', language, file), 'utf8');
}

/** Runs a command (no shell), printing it, its directory and its duration; on failure the error carries its output. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const where = cwd.startsWith(ROOT) ? relative(ROOT, cwd) || '.' : cwd;
  log(`$ ${[cmd.startsWith(ROOT) ? relative(ROOT, cmd) : cmd, ...args].join(' ')}   (in ${where})`);
  const started = Date.now();
  const out = runOk(cmd, args, { cwd, env });
  log(`  ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

/** Every file of a synth output directory, by name. */
export function manifests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

/**
 * The reference: examples/typescript/main.ts run by tsx with `number-crunch-cdk8s` mapped to lib/index.ts (a
 * tsconfig `paths` entry), the way cdk8s.yaml runs this project's own main.ts: no bundle, no build of lib/. The copy
 * lives under .cache/ because tsx maps no paths for files inside node_modules. The manifests are checked against the
 * chart the example describes before any consumer is compared with them.
 */
export function referenceManifests(): Record<string, string> {
  const work = join(ROOT, '.cache', 'consumers');
  const outdir = join(work, 'dist');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'main.ts'), exampleFile('typescript', 'main.ts'));
  writeFileSync(join(work, 'tsconfig.json'), `${JSON.stringify({
    compilerOptions: { module: 'commonjs', paths: { 'number-crunch-cdk8s': [join(ROOT, 'lib', 'index.ts')] } },
  }, null, 2)}\n`);
  run(join(BIN, 'tsx'), ['--tsconfig', 'tsconfig.json', 'main.ts'], work, { CDK8S_OUTDIR: outdir });
  const files = manifests(outdir);
  checkShopChart(files);
  return files;
}

/** The example's chart, written out literally: what every consumer must have synthesized. */
function checkShopChart(files: Record<string, string>): void {
  expect(Object.keys(files)).toEqual(['shop.k8s.yaml']);
  const objects = parseManifests(files['shop.k8s.yaml'], 'shop.k8s.yaml');
  const ref = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;
  expect(objects.map(ref).sort()).toEqual([
    'ConfigMap/calc-proxy-config',
    'Deployment/calc',
    'Deployment/calc-proxy',
    'HorizontalPodAutoscaler/calc-hpa',
    'PodDisruptionBudget/calc-pdb',
    'PodDisruptionBudget/calc-proxy-pdb',
    'Service/calc-public',
    'Service/calc-service',
    'Service/calc-service-pods',
  ]);
  for (const o of objects) expect(`${ref(o)} in ${o.metadata?.namespace}`).toBe(`${ref(o)} in shop`);
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name)!;
  const app = find('Deployment', 'calc').spec.template.spec.containers[0];
  expect([app.image, app.imagePullPolicy]).toEqual(['registry.example.com/calc:1.4.0', 'Always']);
  expect(find('HorizontalPodAutoscaler', 'calc-hpa').spec.maxReplicas).toBe(4);
  const conf = find('ConfigMap', 'calc-proxy-config').data?.['nginx.conf'];
  expect(conf).toContain('server calc-service.shop.svc.cluster.local:8080');
  expect(conf).toContain('worker_connections 2048;');
  const lb = find('Service', 'calc-public');
  expect([lb.spec.type, lb.spec.externalTrafficPolicy, lb.spec.loadBalancerSourceRanges]).toEqual(['LoadBalancer', 'Local', ['10.0.0.0/8']]);
  expect(lb.metadata?.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
  // `target: edge`: the load balancer forwards to the proxy's container port (by number or by name).
  const proxyPort = find('Deployment', 'calc-proxy').spec.template.spec.containers[0].ports[0];
  expect(lb.spec.ports).toHaveLength(1);
  expect([proxyPort.containerPort, proxyPort.name]).toContain(lb.spec.ports[0].targetPort);
}

/** Compares a consumer's synth output with the reference, file by file, byte for byte. */
export function expectSameManifests(outdir: string, reference: Record<string, string>): void {
  const actual = manifests(outdir);
  expect(Object.keys(actual)).toEqual(Object.keys(reference));
  for (const [file, text] of Object.entries(reference)) {
    expect({ file, text: actual[file] }).toEqual({ file, text });
  }
  log(`${relative(tmpdir(), outdir)}: ${Object.keys(actual).join(', ')} byte-identical to the reference`);
}

/** Directories of installed copies of npm package `name` anywhere under `dir`/node_modules. */
export function installedCopies(dir: string, name: string): string[] {
  const found: string[] = [];
  const visit = (nodeModules: string) => {
    if (!existsSync(nodeModules)) return;
    for (const entry of readdirSync(nodeModules)) {
      if (entry.startsWith('.')) continue;
      const entries = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((e) => join(entry, e)) : [entry];
      for (const e of entries) {
        const pkgDir = join(nodeModules, e);
        if (!statSync(pkgDir).isDirectory()) continue;
        const manifest = join(pkgDir, 'package.json');
        if (e === name && existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) found.push(pkgDir);
        visit(join(pkgDir, 'node_modules'));
      }
    }
  };
  visit(join(dir, 'node_modules'));
  return found;
}

/** The example's package.json depends on the packed library at its path in pkg/, and on the peers at `^<devVersion>`. */
export function expectNpmDependencies(language: 'typescript' | 'javascript', tarball: string): void {
  const deps = JSON.parse(exampleFile(language, 'package.json')).dependencies;
  expect(deps['number-crunch-cdk8s']).toBe(`file:../../${relative(ROOT, tarball)}`);
  for (const peer of ['cdk8s', 'cdk8s-plus-27', 'constructs']) expect({ peer, range: deps[peer] }).toEqual({ peer, range: `^${devVersion(peer)}` });
}

/** Exactly one installed copy of each construct library: the library uses the project's cdk8s, not one of its own. */
export function expectOneCopyEach(dir: string): void {
  for (const name of ['cdk8s', 'cdk8s-plus-27', 'constructs', 'number-crunch-cdk8s']) {
    expect({ name, copies: installedCopies(dir, name).length }).toEqual({ name, copies: 1 });
  }
}
