// Python consumer: a venv (like `cdk8s init python-app`'s, made with venv and pip instead of uv) with the wheel from
// pkg/python and cdk8s, cdk8s-plus-27 and constructs from PyPI at the versions the library is built against;
// main.py is the README's Python example.
import { copyFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { artifact, devVersion, expectSameManifests, freshProject, readmeExample, referenceManifests, run, writeFiles } from './harness';

test('the README example runs in a venv with the wheel and synthesizes the reference manifests', () => {
  const reference = referenceManifests();
  const wheel = artifact('python', '.whl');
  const { dir, done } = freshProject('python');
  copyFileSync(wheel, join(dir, basename(wheel)));
  writeFiles(dir, { 'main.py': readmeExample('python') });
  run('python3', ['-m', 'venv', '.venv'], dir);
  const python = join(dir, '.venv', 'bin', 'python');
  run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', `./${basename(wheel)}`,
    `cdk8s==${devVersion('cdk8s')}`, `cdk8s-plus-27==${devVersion('cdk8s-plus-27')}`, `constructs==${devVersion('constructs')}`], dir);
  process.stdout.write(run(python, ['-m', 'pip', 'list', '--disable-pip-version-check'], dir));
  run(python, ['main.py'], dir);
  expectSameManifests(join(dir, 'dist'), reference);
  done();
});
