import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { IMAGE_GROUP_ID, IMAGE_USER_ID, SERVICE_PORT } from '../../contract';

const dockerfile = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const args = (keyword: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

// The contract, written literally: the image listens on 8080 and runs as 10001:10001, on both sides.
test('EXPOSE is the contract port, 8080', () => {
  expect(args('EXPOSE')).toEqual(['8080']);
  expect(SERVICE_PORT).toBe(8080);
});

test('USER is the numeric contract user and group, 10001:10001 (Kubernetes can verify runAsNonRoot only for a numeric user)', () => {
  expect(args('USER')).toEqual(['10001:10001']);
  expect([IMAGE_USER_ID, IMAGE_GROUP_ID]).toEqual([10001, 10001]);
});

test('every stage uses one Node LTS base: a build argument whose default is pinned to an exact version', () => {
  const defaults = args('ARG').map((a) => /^NODE_IMAGE=(\S+)$/.exec(a)?.[1]).filter(Boolean);
  expect(defaults).toHaveLength(1);
  const [, major] = /^node:(\d+)\.\d+\.\d+-alpine\d+\.\d+$/.exec(defaults[0]!) ?? [];
  expect(major).toBeDefined();
  expect(Number(major) % 2).toBe(0); // even majors are the LTS lines
  // The ARG comes before the first FROM (so FROM can use it), and every stage starts from it.
  expect(instructions.findIndex((l) => l.startsWith('ARG NODE_IMAGE='))).toBeLessThan(instructions.findIndex((l) => l.startsWith('FROM ')));
  const bases = args('FROM').map((a) => a.split(/\s+/)[0]);
  expect(bases.length).toBeGreaterThanOrEqual(2);
  expect(new Set(bases)).toEqual(new Set(['${NODE_IMAGE}']));
});

test('the runtime starts node directly (exec form) on the compiled entry point, where tsconfig.json compiles it', () => {
  const main = 'build/number-crunch/src/main.js';
  expect(args('CMD')).toEqual([`["node", "${main}"]`]);
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  expect(pkg.main).toBe(main);
  // src/main.ts compiles to <outDir>/<its path under rootDir>; the runtime stage copies <outDir> to build/.
  const { compilerOptions } = JSON.parse(readFileSync(join(__dirname, '..', 'tsconfig.json'), 'utf8'));
  const service = join(__dirname, '..');
  expect(join(compilerOptions.outDir, relative(join(service, compilerOptions.rootDir), join(service, 'src', 'main.ts'))))
    .toBe(main.replace(/\.js$/, '.ts'));
  expect(args('COPY')).toContain(`--from=build /app/number-crunch/${compilerOptions.outDir} ./build`);
});

test('the one runtime dependency, prom-client, is pinned, and the tests run the version the image ships', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  expect(pkg.dependencies).toEqual({ 'prom-client': '15.1.3' });
  // The repository's npm ci installs it for the tests (the service's own node_modules is the image's alone).
  const root = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  expect(root.devDependencies['prom-client']).toBe(pkg.dependencies['prom-client']);
});

test('the runtime stage gets the production node_modules: pruned in the build stage, copied beside build/', () => {
  const build = instructions.indexOf('RUN npm run build');
  const prune = instructions.indexOf('RUN npm prune --omit=dev --no-audit --no-fund');
  expect(build).toBeGreaterThan(0);
  expect(prune).toBeGreaterThan(build);
  const runtimeStage = instructions.findIndex((l, i) => i > build && l.startsWith('FROM '));
  expect(prune).toBeLessThan(runtimeStage);
  expect(args('COPY')).toContain('--from=build /app/number-crunch/node_modules ./node_modules');
});

test('the build context is the repository root: the build copies contract/ beside number-crunch/, as in the repository', () => {
  const copies = args('COPY').filter((a) => !a.startsWith('--from='));
  expect(copies).toContain('contract ../contract');
  expect(copies).toContain('number-crunch/src ./src');
  expect(instructions).toContain('WORKDIR /app/number-crunch');
  // .dockerignore (at the context's root) admits exactly what those COPY lines read.
  const ignore = readFileSync(join(__dirname, '..', '..', '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  expect(ignore[0]).toBe('*');
  expect(ignore.slice(1).sort()).toEqual(copies.flatMap((a) => a.split(/\s+/).slice(0, -1)).map((p) => `!${p}`).sort());
});
