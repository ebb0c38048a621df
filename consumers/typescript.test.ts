// TypeScript consumer: examples/typescript, a project as `cdk8s init typescript-app` makes one, installed with
// `npm install` (the packed library from pkg/js, cdk8s, cdk8s-plus-27 and constructs from the npm registry). It must
// compile with the template's strict tsconfig; both tsc's output under node and `npm run synth` must write the
// reference manifests byte for byte; and exactly one copy of each construct library may be installed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifact, exampleFile, exampleProject, expectNpmDependencies, expectOneCopyEach, expectSameManifests, referenceManifests,
  ROOT, run,
} from './harness';

const TEMPLATE = join(ROOT, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');

test('examples/typescript keeps the typescript-app template\'s strict tsconfig and app command', () => {
  expect(exampleFile('typescript', 'tsconfig.json')).toBe(readFileSync(join(TEMPLATE, 'tsconfig.json'), 'utf8'));
  const app = (yaml: string) => /^app: (.*)$/m.exec(yaml)?.[1];
  expect(app(exampleFile('typescript', 'cdk8s.yaml'))).toBe(app(readFileSync(join(TEMPLATE, 'cdk8s.yaml'), 'utf8')));
  expect(app(exampleFile('typescript', 'cdk8s.yaml'))).toBe('npx ts-node main.ts');
});

test('examples/typescript compiles with its strict tsconfig, and npm run synth writes the reference manifests', () => {
  const reference = referenceManifests();
  expectNpmDependencies('typescript', artifact('js', '.tgz'));
  const { dir, done } = exampleProject('typescript');
  run('npm', ['install', '--no-audit', '--no-fund'], dir);
  run('npm', ['run', 'compile'], dir); // tsc --build with the strict tsconfig: writes main.js
  run('node', ['main.js'], dir, { CDK8S_OUTDIR: 'dist-tsc' }); // what tsc wrote runs under plain node
  expectSameManifests(join(dir, 'dist-tsc'), reference);
  run('npm', ['run', 'synth', '--', '--no-check-upgrade'], dir); // cdk8s synth: npx ts-node main.ts
  expectSameManifests(join(dir, 'dist'), reference);
  expectOneCopyEach(dir);
  process.stdout.write(run('npm', ['ls', 'cdk8s', 'constructs', 'cdk8s-plus-27'], dir));
  done();
});
