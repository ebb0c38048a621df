import { findNameCollisions } from '../lib/name-collisions';

const svc = (name: string, namespace?: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace } });

test('distinct names, kinds or namespaces do not collide', () => {
  expect(findNameCollisions([
    svc('a'), svc('b'), svc('a', 'other'),
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' } },
  ])).toEqual([]);
});

test("the tutorial's two Services with one name collide", () => {
  const problems = findNameCollisions([svc('number-crunch-service'), svc('number-crunch-service')]);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/Service "number-crunch-service" in namespace "default" is defined twice \(objects #1 and #2\)/);
});

test('an omitted namespace counts as the default namespace', () => {
  expect(findNameCollisions([svc('a'), svc('a', 'default')])).toHaveLength(1);
  expect(findNameCollisions([svc('a'), svc('a', 'ns')], 'ns')).toHaveLength(1);
});
