import { imageTag, MANAGED_BY, recommendedLabels, selectorLabels } from '../lib/labels';

test('selector labels are name and instance only', () => {
  expect(selectorLabels({ name: 'a', instance: 'b' })).toEqual({ 'app.kubernetes.io/name': 'a', 'app.kubernetes.io/instance': 'b' });
});

test('recommended labels carry all six keys', () => {
  expect(recommendedLabels({ name: 'a', instance: 'b', component: 'api', partOf: 'p', version: '1.0' })).toEqual({
    'app.kubernetes.io/name': 'a',
    'app.kubernetes.io/instance': 'b',
    'app.kubernetes.io/component': 'api',
    'app.kubernetes.io/part-of': 'p',
    'app.kubernetes.io/managed-by': MANAGED_BY,
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
