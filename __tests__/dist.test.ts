import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const manifests = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the committed dist/ equals a fresh `cdk8s synth`', () => {
  const out = mkdtempSync(join(tmpdir(), 'nc-synth-'));
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'cdk8s'), ['synth', '--no-check-upgrade', '--output', out], { cwd: root, stdio: 'pipe' });
    const fresh = manifests(out);
    expect(fresh.length).toBeGreaterThan(0);
    expect(readdirSync(out).sort()).toEqual(fresh); // the validation plugin leaves no construct-metadata.json
    expect(manifests(join(root, 'dist'))).toEqual(fresh);
    for (const file of fresh) {
      // On failure: run `npm run synth` and commit dist/.
      expect({ file, text: readFileSync(join(root, 'dist', file), 'utf8') })
        .toEqual({ file, text: readFileSync(join(out, file), 'utf8') });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);

test('dist/ holds manifests only (kubectl apply -f dist/ rejects anything without a kind)', () => {
  expect(readdirSync(join(root, 'dist')).filter((f) => !f.endsWith('.yaml'))).toEqual([]);
});
