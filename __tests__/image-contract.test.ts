import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../lib';
import {
  IMAGE_GROUP_ID, IMAGE_USER_ID, LIVENESS_PATH, READINESS_PATH, SERVICE_PORT, SHUTDOWN_DRAIN_TIMEOUT_MS,
} from '../contract';
import { find, Manifest } from './util';

// The Dockerfile is tied to the same contract by number-crunch/test/dockerfile.test.ts.
test('the chart runs the image as the image expects: port, probes, user, drain time', () => {
  const objects = Testing.synth(new NumberCrunchChart(Testing.app(), 'nc')) as Manifest[];
  const pod = find(objects, 'Deployment', 'number-crunch').spec.template.spec;
  const container = pod.containers[0];
  expect(container.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([SERVICE_PORT]);
  expect(container.readinessProbe.httpGet).toMatchObject({ path: READINESS_PATH, port: SERVICE_PORT });
  expect(container.livenessProbe.httpGet).toMatchObject({ path: LIVENESS_PATH, port: SERVICE_PORT });
  expect(container.securityContext).toMatchObject({ runAsUser: IMAGE_USER_ID, runAsGroup: IMAGE_GROUP_ID });
  const preStop = Number(container.lifecycle.preStop.exec.command[1]);
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStop * 1000 + SHUTDOWN_DRAIN_TIMEOUT_MS);
  expect(find(objects, 'Service', 'number-crunch-service').spec.ports[0].targetPort).toBe(SERVICE_PORT);
});
