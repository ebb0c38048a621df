// JavaScript consumer: examples/javascript, a plain Node project that `require`s the packed library (pkg/js),
// installed with `npm install` (cdk8s, cdk8s-plus-27 and constructs from the npm registry at the library's peer
// ranges); `npm run synth` must write the reference manifests byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifact, devVersion, exampleProject, expectNpmDependencies, expectOneCopyEach, expectSameManifests, referenceManifests,
  run,
} from './harness';

test('the packed library holds the compiled library only, with cdk8s, cdk8s-plus-27 and constructs as peers', () => {
  const tarball = artifact('js', '.tgz');
  const files = run('tar', ['tzf', tarball], '/').trim().split('\n').sort();
  const unexpected = files.filter((f) => !/^package\/(package\.json|README\.md|\.jsii|build\/(lib\/[a-z-]+\.(js|d\.ts)|imports\/(k8s|cert-manager\.io)\.js|contract\/index\.js))$/.test(f));
  expect(unexpected).toEqual([]);
  for (const f of ['package/build/lib/index.js', 'package/build/lib/index.d.ts', 'package/.jsii', 'package/README.md']) {
    expect(files).toContain(f);
  }
  const pkg = JSON.parse(run('tar', ['xzOf', tarball, 'package/package.json'], '/'));
  expect(pkg.dependencies).toBeUndefined();
  expect(pkg.bundledDependencies).toBeUndefined();
  expect(pkg.peerDependencies).toEqual({
    'cdk8s': `^${devVersion('cdk8s')}`, 'cdk8s-plus-27': `^${devVersion('cdk8s-plus-27')}`, 'constructs': `^${devVersion('constructs')}`,
  });
  expect(pkg.main).toBe('build/lib/index.js');
});

test('examples/javascript runs under plain node (require), and npm run synth writes the reference manifests', () => {
  const reference = referenceManifests();
  expectNpmDependencies('javascript', artifact('js', '.tgz'));
  const { dir, done } = exampleProject('javascript');
  run('npm', ['install', '--no-audit', '--no-fund'], dir);
  run('npm', ['run', 'synth', '--', '--no-check-upgrade'], dir); // cdk8s synth: node main.js
  expectSameManifests(join(dir, 'dist'), reference);
  expectOneCopyEach(dir);
  // What the library's entry point exports at runtime: its classes and enums (interfaces and structs have no value).
  const exported = run('node', ['-p', "Object.keys(require('number-crunch-cdk8s')).sort().join(' ')"], dir).trim();
  expect(exported).toBe('ExternalTrafficPolicy LoadBalancedService NumberCrunchApp NumberCrunchChart ' +
    'ProxyNetworkPolicies ReverseProxy ServiceAddresses');
  // Only the entry point is exported: internals cannot be reached by path.
  expect(() => run('node', ['-e', "require('number-crunch-cdk8s/build/lib/validate')"], dir)).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  expect(readFileSync(join(dir, 'dist', 'shop.k8s.yaml'), 'utf8')).toContain('namespace: shop');
  done();
});
