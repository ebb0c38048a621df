// Shared by the consumer tests: the packed artifacts, the README's examples, the reference manifests, and running
// commands in fresh projects. A consumer test installs what `npm run package` wrote to pkg/ into a new project of its
// language and runs the README's example there; its manifests must be byte-identical to the reference, the same
// example synthesized by the TypeScript sources in lib/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(__dirname, '..');
const PKG = join(ROOT, 'pkg');
const BIN = join(ROOT, 'node_modules', '.bin');

/** Versions of the peer dependencies this library is built and tested against (the root devDependencies). */
export function devVersion(name: string): string {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies[name];
  if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) throw new Error(`devDependency ${name} must be pinned, found ${version}`);
  return version;
}

/** The one file in `dir` whose name ends with `suffix`: an artifact of `npm run package`. */
export function artifact(dir: string, suffix: string): string {
  const full = join(PKG, dir);
  const found = existsSync(full) ? readdirSync(full).filter((f) => f.endsWith(suffix)) : [];
  if (found.length !== 1) {
    throw new Error(`expected one *${suffix} in pkg/${dir}, found ${found.length}: run \`npm run package\` first`);
  }
  return join(full, found[0]);
}

/** The code block of `lang` in the README section "Use the constructs in your own chart". */
export function readmeExample(lang: 'ts' | 'js' | 'python' | 'go'): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use the constructs in your own chart\n');
  const end = readme.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README has no section "Use the constructs in your own chart"');
  const blocks = [...readme.slice(start, end).matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang);
  if (blocks.length !== 1) throw new Error(`expected one \`\`\`${lang} block in that README section, found ${blocks.length}`);
  return blocks[0][2];
}

/** A new empty directory for a consumer project, removed by `done` unless KEEP_CONSUMERS is set. */
export function freshProject(language: string): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nc-consumer-${language}-`));
  log(`${language} consumer project: ${dir}`);
  return { dir, done: () => (process.env.KEEP_CONSUMERS ? undefined : rmSync(dir, { recursive: true, force: true })) };
}

function log(line: string): void {
  process.stdout.write(`[consumers] ${line}\n`);
}

/** Runs a command (no shell), printing it, its directory and its duration; on failure the error carries its output. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const where = cwd.startsWith(ROOT) ? relative(ROOT, cwd) || '.' : cwd;
  log(`$ ${[cmd, ...args].join(' ')}   (in ${where})`);
  const started = Date.now();
  try {
    const out = execFileSync(cmd, args, {
      cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
    });
    log(`  ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return out;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${where}: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** Every file of a synth output directory, by name. */
export function manifests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

/**
 * The reference: the README's TypeScript example synthesized by the sources in lib/ (bundled by esbuild with
 * `number-crunch-cdk8s` aliased to lib/index.ts, run by node with CDK8S_OUTDIR). It is checked against the chart
 * the example describes before any consumer is compared with it.
 */
export function referenceManifests(): Record<string, string> {
  const cache = join(ROOT, 'node_modules', '.cache', 'number-crunch-consumers');
  const entry = join(cache, 'readme-example.ts');
  const bundle = join(cache, 'readme-example.js');
  const outdir = join(cache, 'reference');
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  writeFileSync(entry, readmeExample('ts'));
  run(join(BIN, 'esbuild'), [entry, '--bundle', '--platform=node', '--log-level=warning', `--outfile=${bundle}`,
    '--alias:number-crunch-cdk8s=./lib/index.ts', '--external:cdk8s', '--external:cdk8s-plus-27', '--external:constructs'], ROOT);
  run(process.execPath, [bundle], ROOT, { CDK8S_OUTDIR: outdir });
  const files = manifests(outdir);
  checkShopChart(files);
  return files;
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any; data?: any };

/** The README example's chart, written out literally: what every consumer must have synthesized. */
function checkShopChart(files: Record<string, string>): void {
  expect(Object.keys(files)).toEqual(['shop.k8s.yaml']);
  const docs = parseAllDocuments(files['shop.k8s.yaml']).map((d) => d.toJSON() as Doc);
  expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
    'ConfigMap/calc-proxy-config',
    'Deployment/calc',
    'Deployment/calc-proxy',
    'HorizontalPodAutoscaler/calc-hpa',
    'PodDisruptionBudget/calc-pdb',
    'Service/calc-public',
    'Service/calc-service',
  ]);
  for (const d of docs) expect(`${d.kind}/${d.metadata.name} in ${d.metadata.namespace}`).toBe(`${d.kind}/${d.metadata.name} in shop`);
  const byName = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
  const app = byName('Deployment', 'calc').spec.template.spec.containers[0];
  expect([app.image, app.imagePullPolicy]).toEqual(['registry.example.com/calc:1.4.0', 'Always']);
  expect(byName('HorizontalPodAutoscaler', 'calc-hpa').spec.maxReplicas).toBe(4);
  const conf: string = byName('ConfigMap', 'calc-proxy-config').data['nginx.conf'];
  expect(conf).toContain('server calc-service.shop.svc.cluster.local:8080;');
  expect(conf).toContain('worker_connections 2048;');
  const lb = byName('Service', 'calc-public');
  expect([lb.spec.type, lb.spec.externalTrafficPolicy, lb.spec.loadBalancerSourceRanges]).toEqual(['LoadBalancer', 'Local', ['10.0.0.0/8']]);
  expect(lb.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
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

/** Writes `files` (name -> text) into `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}
