import { imageTag, recommendedLabels, selectorLabels, versionLabel } from '../lib/labels';
import { isLabelValue } from '../lib/validate';

test('selector labels are name and instance only', () => {
  expect(selectorLabels({ name: 'a', instance: 'b' })).toEqual({ 'app.kubernetes.io/name': 'a', 'app.kubernetes.io/instance': 'b' });
});

test('recommended labels carry all six keys', () => {
  expect(recommendedLabels({ name: 'a', instance: 'b', component: 'api', partOf: 'p', version: '1.0' })).toEqual({
    'app.kubernetes.io/name': 'a',
    'app.kubernetes.io/instance': 'b',
    'app.kubernetes.io/component': 'api',
    'app.kubernetes.io/part-of': 'p',
    'app.kubernetes.io/managed-by': 'cdk8s',
    'app.kubernetes.io/version': '1.0',
  });
});

test('a missing version leaves the version label out', () => {
  expect(recommendedLabels({ name: 'a', instance: 'b', component: 'c', partOf: 'p' })).not.toHaveProperty(['app.kubernetes.io/version']);
});

test.each([
  ['number-crunch:local', 'local'],
  ['nginxinc/nginx-unprivileged:1.28.0-alpine', '1.28.0-alpine'],
  ['registry:5000/team/app', 'latest'],
  ['registry:5000/team/app:2.1', '2.1'],
  ['app', 'latest'],
  [`app@sha256:${'a'.repeat(64)}`, undefined],
  [`app:1.0@sha256:${'a'.repeat(64)}`, '1.0'],
])('imageTag(%s) = %s', (image, tag) => expect(imageTag(image)).toBe(tag));

// The version label's value from an image reference. Expected values are written out: a long tag keeps a 52-character
// prefix, '-' and the first 10 hex digits of the SHA-256 of the whole tag (computed with `sha256sum` of the tag).
const DIGEST = `sha256:${'a'.repeat(64)}`;
const LONG = `v${'1234567890'.repeat(7)}`; // 71 characters
test.each<[string, string | undefined]>([
  ['number-crunch:local', 'local'],
  ['nginxinc/nginx-unprivileged:1.28.0-alpine', '1.28.0-alpine'],
  ['registry:5000/team/app', 'latest'],
  ['registry:5000/team/app:2.1', '2.1'],
  [`registry:5000/team/app@${DIGEST}`, undefined],
  [`app:1.0@${DIGEST}`, '1.0'],
  [`app@${DIGEST}`, undefined],
  ['app:_build_', 'build'],
  ['app:1.0-', '1.0'],
  ['app:___', undefined],
  ['app:', undefined],
  ['app:v1+meta', undefined],
  [`app:${'a'.repeat(63)}`, 'a'.repeat(63)],
  [`app:${LONG}`, 'v123456789012345678901234567890123456789012345678901-8db29f6769'],
  [`app:${LONG.slice(0, -1)}x`, 'v123456789012345678901234567890123456789012345678901-d0495217b4'],
  [`app:release-2026.11.26-${'a'.repeat(50)}.`, 'release-2026.11.26-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-9aba2aecb6'],
  [`app:${'a'.repeat(51)}-${'b'.repeat(20)}`, `${'a'.repeat(51)}-c6901826cb`],
])('versionLabel(%s) = %s', (image, expected) => {
  const value = versionLabel(image);
  expect(value).toBe(expected);
  if (value !== undefined) expect(isLabelValue(value) && value.length > 0).toBe(true);
});

test('a version that is not a label value is refused, never written as is', () => {
  expect(() => recommendedLabels({ name: 'a', instance: 'b', component: 'c', partOf: 'p', version: '-x' }))
    .toThrow(/version "-x" is not a valid label value/);
});
