import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_GROUP_ID, IMAGE_USER_ID, SERVICE_PORT } from '../src/contract';

const dockerfile = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
const instructions = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const args = (keyword: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

test('EXPOSE is the contract port', () => {
  expect(args('EXPOSE')).toEqual([String(SERVICE_PORT)]);
});

test('USER is the numeric contract user and group (Kubernetes can verify runAsNonRoot only for a numeric user)', () => {
  expect(args('USER')).toEqual([`${IMAGE_USER_ID}:${IMAGE_GROUP_ID}`]);
  expect(IMAGE_USER_ID).toBeGreaterThan(0);
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

test('the runtime starts node directly (exec form) on the compiled entry point', () => {
  expect(args('CMD')).toEqual(['["node", "build/main.js"]']);
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  expect(pkg.main).toBe('build/main.js');
  expect(pkg.dependencies ?? {}).toEqual({});
});
