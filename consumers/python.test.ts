// Python consumer: examples/python in a venv, installed with `pip install -r requirements.txt` (the wheel from
// pkg/python, cdk8s, cdk8s-plus-27 and constructs from PyPI at the versions the library is built against); `cdk8s
// synth` (its app: `.venv/bin/python main.py`) must write the reference manifests byte for byte.
import { basename, join } from 'node:path';
import { artifact, CDK8S, devVersion, exampleFile, exampleProject, expectSameManifests, referenceManifests, run } from './harness';

test('examples/python installs the wheel with pip, and cdk8s synth writes the reference manifests', () => {
  const reference = referenceManifests();
  const requirements = exampleFile('python', 'requirements.txt').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  expect(requirements).toEqual([
    `../../pkg/python/${basename(artifact('python', '.whl'))}`,
    `cdk8s==${devVersion('cdk8s')}`,
    `cdk8s-plus-27==${devVersion('cdk8s-plus-27')}`,
    `constructs==${devVersion('constructs')}`,
  ]);
  const { dir, done } = exampleProject('python');
  run('python3', ['-m', 'venv', '.venv'], dir);
  run(join('.venv', 'bin', 'pip'), ['install', '--disable-pip-version-check', '--no-input', '-r', 'requirements.txt'], dir);
  process.stdout.write(run(join('.venv', 'bin', 'pip'), ['list', '--disable-pip-version-check'], dir));
  run(CDK8S, ['synth', '--no-check-upgrade'], dir);
  expectSameManifests(join(dir, 'dist'), reference);
  done();
});
