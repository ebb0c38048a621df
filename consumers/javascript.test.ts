// JavaScript consumer: a plain Node project that `require`s the packed library (pkg/js), with cdk8s, cdk8s-plus-27 and
// constructs from the npm registry at the library's peer ranges; main.js is the README's JavaScript example.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifact, devVersion, expectSameManifests, freshProject, installedCopies, readmeExample, referenceManifests, run,
  writeFiles,
} from './harness';

test('the packed library holds the compiled library only, with cdk8s, cdk8s-plus-27 and constructs as peers', () => {
  const tarball = artifact('js', '.tgz');
  const files = run('tar', ['tzf', tarball], '/').trim().split('\n').sort();
  const unexpected = files.filter((f) => !/^package\/(package\.json|README\.md|\.jsii|build\/(lib\/[a-z-]+\.(js|d\.ts)|imports\/k8s\.js|number-crunch\/src\/contract\.js))$/.test(f));
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

test('the README example runs under plain node (require) and synthesizes the reference manifests', () => {
  const reference = referenceManifests();
  const { dir, done } = freshProject('javascript');
  copyFileSync(artifact('js', '.tgz'), join(dir, 'number-crunch-cdk8s.tgz'));
  writeFiles(dir, {
    'package.json': `${JSON.stringify({
      name: 'shop',
      version: '1.0.0',
      private: true,
      dependencies: {
        'cdk8s': `^${devVersion('cdk8s')}`,
        'cdk8s-plus-27': `^${devVersion('cdk8s-plus-27')}`,
        'constructs': `^${devVersion('constructs')}`,
        'number-crunch-cdk8s': 'file:number-crunch-cdk8s.tgz',
      },
    }, null, 2)}\n`,
    'main.js': readmeExample('js'),
  });
  run('npm', ['install', '--no-audit', '--no-fund'], dir);
  run('node', ['main.js'], dir);
  expectSameManifests(join(dir, 'dist'), reference);
  for (const name of ['cdk8s', 'cdk8s-plus-27', 'constructs', 'number-crunch-cdk8s']) {
    expect({ name, copies: installedCopies(dir, name).length }).toEqual({ name, copies: 1 });
  }
  // What the library's entry point exports at runtime: its classes and enums (interfaces have no runtime value).
  const exported = run('node', ['-p', "Object.keys(require('number-crunch-cdk8s')).sort().join(' ')"], dir).trim();
  expect(exported).toBe('ExternalTrafficPolicy LoadBalancedService NginxConf NumberCrunchApp NumberCrunchChart ' +
    'ProxyNetworkPolicies ReverseProxy ServiceAddresses');
  // Only the entry point is exported: internals cannot be reached by path.
  expect(() => run('node', ['-e', "require('number-crunch-cdk8s/build/lib/validate')"], dir)).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  expect(readFileSync(join(dir, 'dist', 'shop.k8s.yaml'), 'utf8')).toContain('namespace: shop');
  done();
});
