// TypeScript consumer: a project made like `cdk8s init typescript-app` (its package.json, its strict tsconfig.json,
// its app command `npx ts-node main.ts`) with cdk8s, cdk8s-plus-27 and constructs from the npm registry and the packed
// library from pkg/js; main.ts is the README's TypeScript example. It must compile with the template's tsconfig; both
// tsc's output under node and `cdk8s synth` must write the reference manifests byte for byte; and exactly one copy of
// each construct library may be installed.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifact, devVersion, expectSameManifests, freshProject, installedCopies, readmeExample, referenceManifests, ROOT, run,
  writeFiles,
} from './harness';

const TEMPLATE = join(ROOT, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');

/** The template's package.json with its placeholders filled in, cdk8s-plus-27 for its cdk8s-plus, and the library. */
function packageJson(tarball: string): string {
  const text = readFileSync(join(TEMPLATE, 'package.json'), 'utf8')
    .replace(/\{\{ \$base \}\}/g, 'shop')
    .replace('{{ cdk8s_core_version }}', devVersion('cdk8s'))
    .replace('{{ cdk8s_plus_version }}', devVersion('cdk8s-plus-27'))
    .replace('{{ constructs_version }}', devVersion('constructs'))
    .replace('{{ cdk8s_cli_spec }}', devVersion('cdk8s-cli'));
  const pkg = JSON.parse(text);
  const plus = pkg.dependencies['cdk8s-plus-33'];
  expect(plus).toBe(`^${devVersion('cdk8s-plus-27')}`); // the template's shape, read above, is what we think it is
  delete pkg.dependencies['cdk8s-plus-33'];
  pkg.dependencies['cdk8s-plus-27'] = plus;
  pkg.dependencies['number-crunch-cdk8s'] = `file:${tarball}`;
  // The template's own snapshot test (jest, ts-jest) is not part of this check: leave its packages out.
  for (const dep of ['jest', 'ts-jest', '@types/jest']) delete pkg.devDependencies[dep];
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

test('the README example compiles with the typescript-app template and synthesizes the reference manifests', () => {
  const reference = referenceManifests();
  const tarball = artifact('js', '.tgz');
  const { dir, done } = freshProject('typescript');
  copyFileSync(tarball, join(dir, 'number-crunch-cdk8s.tgz'));
  const cdk8sYaml = readFileSync(join(TEMPLATE, 'cdk8s.yaml'), 'utf8');
  expect(cdk8sYaml).toContain('app: npx ts-node main.ts');
  writeFiles(dir, {
    'package.json': packageJson('number-crunch-cdk8s.tgz'),
    'tsconfig.json': readFileSync(join(TEMPLATE, 'tsconfig.json'), 'utf8'),
    // Without the template's `imports: [k8s]`: the library needs no generated API, and `cdk8s import` fetches it from GitHub.
    'cdk8s.yaml': cdk8sYaml.replace(/^imports:\n(  - .*\n?)*/m, ''),
    'main.ts': readmeExample('ts'),
  });
  run('npm', ['install', '--no-audit', '--no-fund'], dir);
  run('npm', ['run', 'compile'], dir); // tsc --build with the template's strict tsconfig: writes main.js
  run('node', ['main.js'], dir, { CDK8S_OUTDIR: 'dist-tsc' }); // what tsc wrote runs under plain node
  expectSameManifests(join(dir, 'dist-tsc'), reference);
  run('npm', ['run', 'synth', '--', '--no-check-upgrade'], dir); // cdk8s synth: npx ts-node main.ts
  expectSameManifests(join(dir, 'dist'), reference);
  for (const name of ['cdk8s', 'cdk8s-plus-27', 'constructs', 'number-crunch-cdk8s']) {
    expect({ name, copies: installedCopies(dir, name).length }).toEqual({ name, copies: 1 });
  }
  process.stdout.write(run('npm', ['ls', 'cdk8s', 'constructs', 'cdk8s-plus-27'], dir));
  done();
});
