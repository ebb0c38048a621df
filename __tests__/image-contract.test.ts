import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../lib';
import { SHUTDOWN_DRAIN_TIMEOUT_MS } from '../contract';
import { find, Manifest } from './util';

// The image's side of the contract, written literally (the service listens on 8080, answers /readyz and /healthz,
// runs as 10001:10001); number-crunch/test/dockerfile.test.ts ties the Dockerfile to the same values.
test('the chart runs the image as the image expects: port, probes, user, drain time', () => {
  const objects = Testing.synth(new NumberCrunchChart(Testing.app(), 'nc')) as Manifest[];
  const pod = find(objects, 'Deployment', 'number-crunch').spec.template.spec;
  const container = pod.containers[0];
  expect(container.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8080, 9464]);
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
  expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
  expect(container.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001 });
  const preStop = Number(container.lifecycle.preStop.exec.command[1]);
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStop * 1000 + SHUTDOWN_DRAIN_TIMEOUT_MS);
  expect(find(objects, 'Service', 'number-crunch-service').spec.ports[0].targetPort).toBe(8080);
});

// The metrics listener (number-crunch/src/metrics.ts): the image reads METRICS_PORT, default 9464, path /metrics.
test('the chart tells the image its metrics port and scrapers where to find it', () => {
  const objects = Testing.synth(new NumberCrunchChart(Testing.app(), 'nc')) as Manifest[];
  const template = find(objects, 'Deployment', 'number-crunch').spec.template;
  expect(template.spec.containers[0].env).toContainEqual({ name: 'METRICS_PORT', value: '9464' });
  expect(template.metadata.annotations).toMatchObject({ 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
});
