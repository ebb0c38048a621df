import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { SHUTDOWN_DRAIN_TIMEOUT_MS } from '../contract';
import { cpuMillis, NumberCrunchApp, NumberCrunchAppProps } from '../lib/number-crunch-app';
import { checkManifests } from '../validation/rules';
import { errorOf, find, Manifest, selects, synth } from './util';

const build = (props?: NumberCrunchAppProps, namespace?: string) => {
  let app!: NumberCrunchApp;
  const objects = synth((chart) => { app = new NumberCrunchApp(chart, 'app', props); }, namespace);
  const services = objects.filter((o) => o.kind === 'Service');
  const pick = (headless: boolean) => {
    const found = services.filter((s) => (s.spec.clusterIP === 'None') === headless);
    if (found.length !== 1) throw new Error(`expected one ${headless ? 'headless' : 'ClusterIP'} Service, found ${found.length}`);
    return found[0];
  };
  return { app, objects, deployment: find(objects, 'Deployment'), service: pick(false), headless: pick(true) };
};
const container = (deployment: Manifest) => deployment.spec.template.spec.containers[0];

describe('defaults', () => {
  const { app, objects, deployment, service } = build();

  test('a Deployment of 2 replicas of number-crunch:local, pulled only if not present', () => {
    expect(deployment.metadata.name).toBe('number-crunch');
    expect(deployment.spec.replicas).toBe(2);
    expect(container(deployment).image).toBe('number-crunch:local');
    expect(container(deployment).imagePullPolicy).toBe('IfNotPresent');
  });

  test('a ClusterIP Service number-crunch-service, 8080 -> 8080, selecting exactly the app pods', () => {
    expect(service.metadata.name).toBe('number-crunch-service');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  test('the container matches the image contract: port, probe paths, user', () => {
    const c = container(deployment);
    expect(c.ports).toEqual([{ containerPort: 8080, name: 'http' }, { containerPort: 9464, name: 'metrics' }]);
    expect(c.env).toEqual([
      { name: 'PORT', value: '8080' }, { name: 'METRICS_PORT', value: '9464' },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=104 --max-semi-space-size=2' },
    ]);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(c.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true });
  });

  test('resources small enough for a laptop node', () => {
    expect(container(deployment).resources).toEqual({
      requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '160Mi' },
    });
  });

  test('a headless Service <serviceName>-pods selects the same pods on the same port; its address is podsAddress', () => {
    const { headless, service } = build({ serviceName: 'calc-api' }, 'maths');
    expect(headless.metadata.name).toBe('calc-api-pods');
    expect(headless.spec).toEqual({ type: 'ClusterIP', clusterIP: 'None', selector: service.spec.selector, ports: service.spec.ports });
    expect(build({ serviceName: 'calc-api' }, 'maths').app.podsAddress)
      .toEqual({ serviceName: 'calc-api-pods', namespace: 'maths', clusterDomain: 'cluster.local', port: 8080, fqdn: 'calc-api-pods.maths.svc.cluster.local' });
  });

  test('exposes its address for the proxy', () => {
    expect(app.address).toEqual({
      serviceName: 'number-crunch-service', namespace: 'default', clusterDomain: 'cluster.local', port: 8080,
      fqdn: 'number-crunch-service.default.svc.cluster.local',
    });
    expect(app.deployment.name).toBe('number-crunch');
    expect(app.service.name).toBe('number-crunch-service');
  });

  test('restricted pod security', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(deployment).securityContext).toMatchObject({
      allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
    });
  });

  test('zero-downtime rollout: full capacity, preStop pause, grace period covering pause and drain', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const preStop = container(deployment).lifecycle.preStop.exec.command;
    expect(preStop).toEqual(['sleep', '5']);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds)
      .toBeGreaterThan(5 + SHUTDOWN_DRAIN_TIMEOUT_MS / 1000);
  });

  test('a PodDisruptionBudget allowing one disruption, selecting the app pods', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'number-crunch-pdb');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  test('spread across the nodes that take pods, each revision on its own (pod-template-hash)', () => {
    expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual([{
      maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor',
      labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
      matchLabelKeys: ['pod-template-hash'],
    }]);
  });

  test('pods on a node that stopped answering are replaced after 20 s, not the default 300 s', () => {
    expect(deployment.spec.template.spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 },
    ]);
  });

  test('no autoscaler by default', () => {
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(app.autoscaler).toBeUndefined();
  });

  test('recommended labels on every object, no construct-path label on pods', () => {
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'number-crunch', 'app.kubernetes.io/instance': 'number-crunch',
        'app.kubernetes.io/component': 'api', 'app.kubernetes.io/part-of': 'number-crunch',
        'app.kubernetes.io/managed-by': 'cdk8s', 'app.kubernetes.io/version': 'local',
      });
    }
    expect(Object.keys(deployment.spec.template.metadata.labels).filter((k) => k.startsWith('cdk8s.io'))).toEqual([]);
  });
});

describe('props', () => {
  test('name and serviceName', () => {
    const { deployment, service, app } = build({ name: 'calc', serviceName: 'calc-api' });
    expect(deployment.metadata.name).toBe('calc');
    expect(service.metadata.name).toBe('calc-api');
    expect(app.address.fqdn).toBe('calc-api.default.svc.cluster.local');
  });

  test('serviceName defaults from name', () => {
    expect(build({ name: 'calc' }).service.metadata.name).toBe('calc-service');
  });

  test('instance and partOf take any valid label value, not only DNS names', () => {
    const { deployment, service } = build({ instance: 'My_App.v2', partOf: 'Maths_Suite' });
    expect(deployment.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'My_App.v2', 'app.kubernetes.io/part-of': 'Maths_Suite' });
    expect(service.spec.selector['app.kubernetes.io/instance']).toBe('My_App.v2');
    expect(build({ instance: 'a'.repeat(63) }).deployment.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('a'.repeat(63));
  });

  test('instance and partOf labels', () => {
    const { deployment } = build({ instance: 'blue', partOf: 'maths' });
    expect(deployment.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'blue', 'app.kubernetes.io/part-of': 'maths' });
    expect(deployment.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('blue');
  });

  test('image and imagePullPolicy', () => {
    const { deployment } = build({ image: 'registry.example/nc:1.2.3', imagePullPolicy: kplus.ImagePullPolicy.ALWAYS });
    expect(container(deployment).image).toBe('registry.example/nc:1.2.3');
    expect(container(deployment).imagePullPolicy).toBe('Always');
    expect(deployment.metadata.labels!['app.kubernetes.io/version']).toBe('1.2.3');
  });

  test('a tag that is not a label value is shortened for the version label on every object, never written as is', () => {
    const tag = `v${'1234567890'.repeat(7)}`; // 71 characters: too long for a label value
    const { objects, deployment } = build({ image: `registry:5000/nc:${tag}` });
    expect(container(deployment).image).toBe(`registry:5000/nc:${tag}`);
    for (const o of objects) {
      expect(o.metadata.labels!['app.kubernetes.io/version']).toBe('v123456789012345678901234567890123456789012345678901-8db29f6769');
    }
    expect(deployment.spec.template.metadata.labels['app.kubernetes.io/version']).toBe('v123456789012345678901234567890123456789012345678901-8db29f6769');
  });

  test('a digest-only image leaves the version label out', () => {
    const { objects } = build({ image: `registry:5000/nc@sha256:${'b'.repeat(64)}` });
    for (const o of objects) expect(o.metadata.labels).not.toHaveProperty(['app.kubernetes.io/version']);
  });

  test('imageRevision becomes a pod-template annotation, so a rebuilt image under the same tag rolls the pods on apply', () => {
    const id = `sha256:${'c'.repeat(64)}`;
    const { deployment } = build({ imageRevision: id });
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'number-crunch-cdk8s/image-revision': id });
    expect(build({ imageRevision: 'build-43' }).deployment.spec.template.metadata.annotations)
      .toMatchObject({ 'number-crunch-cdk8s/image-revision': 'build-43' });
    expect(container(deployment).image).toBe('number-crunch:local');
  });

  test('without imageRevision the pod template has no image-revision annotation', () => {
    expect(build().deployment.spec.template.metadata.annotations).not.toHaveProperty(['number-crunch-cdk8s/image-revision']);
  });

  test('replicas', () => {
    expect(build({ replicas: 5 }).deployment.spec.replicas).toBe(5);
  });

  test('port flows to container, env, probes and Service', () => {
    const { deployment, service, app } = build({ port: 9000 });
    const c = container(deployment);
    expect(c.ports[0].containerPort).toBe(9000);
    expect(c.env.slice(0, 2)).toEqual([{ name: 'PORT', value: '9000' }, { name: 'METRICS_PORT', value: '9464' }]);
    expect(c.readinessProbe.httpGet.port).toBe(9000);
    expect(c.livenessProbe.httpGet.port).toBe(9000);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 9000, targetPort: 9000 }]);
    expect(app.address.port).toBe(9000);
  });

  test('resources', () => {
    const { deployment } = build({ resources: { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) } } });
    expect(container(deployment).resources).toEqual({ requests: { cpu: '100m' }, limits: { cpu: '1' } });
  });

  test('V8\'s heap is sized from the memory limit: the limit less 56 MiB for the old generation, 2 MiB semi-spaces', () => {
    const nodeOptions = (resources: kplus.ContainerResources) =>
      container(build({ resources }).deployment).env.filter((e: { name: string }) => e.name === 'NODE_OPTIONS');
    expect(nodeOptions({ memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) } }))
      .toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=968 --max-semi-space-size=2' }]);
    expect(nodeOptions({ memory: { limit: Size.mebibytes(96) } }))
      .toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=40 --max-semi-space-size=2' }]);
    // No memory limit: Node sizes its heap itself, as before.
    expect(nodeOptions({ cpu: { request: kplus.Cpu.millis(50) }, memory: { request: Size.mebibytes(96) } })).toEqual([]);
    expect(nodeOptions({})).toEqual([]);
  });

  test('clusterDomain', () => {
    expect(build({ clusterDomain: 'corp.internal' }).app.address.fqdn).toBe('number-crunch-service.default.svc.corp.internal');
  });

  test('in a chart without a namespace its objects are pinned to the namespace its FQDN names', () => {
    const { app, objects } = build({ autoscaling: { maxReplicas: 3 } });
    expect(app.address.namespace).toBe('default');
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}`)).toEqual([
      'Deployment/default', 'Service/default', 'Service/default', 'PodDisruptionBudget/default', 'HorizontalPodAutoscaler/default',
    ]);
  });

  test('maxSurge and maxUnavailable', () => {
    expect(build({ maxSurge: 0, maxUnavailable: 1 }).deployment.spec.strategy)
      .toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
  });

  test('port is the container\'s port', () => {
    const { app, deployment } = build({ port: 9000 });
    expect(app.port).toBe(container(deployment).ports[0].containerPort);
  });

  test('namespace comes from the chart', () => {
    const { app, deployment, service } = build({}, 'maths');
    expect(app.address.fqdn).toBe('number-crunch-service.maths.svc.cluster.local');
    expect(deployment.metadata.namespace).toBe('maths');
    expect(service.metadata.namespace).toBe('maths');
  });

  test('preStopSeconds lengthens the grace period with it', () => {
    const { deployment } = build({ preStopSeconds: 12 });
    expect(container(deployment).lifecycle.preStop.exec.command).toEqual(['sleep', '12']);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(12 + SHUTDOWN_DRAIN_TIMEOUT_MS / 1000);
  });

  test('podDisruptionBudget: false', () => {
    const { objects, app } = build({ podDisruptionBudget: false });
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(app.podDisruptionBudget).toBeUndefined();
  });

  test('the budget follows the replica count, as the proxy\'s does: none for one replica unless asked for', () => {
    const budgets = (props: NumberCrunchAppProps) => build(props).objects.filter((o) => o.kind === 'PodDisruptionBudget').length;
    expect(budgets({ replicas: 1 })).toBe(0);
    expect(budgets({ replicas: 1, podDisruptionBudget: true })).toBe(1);
    expect(budgets({ replicas: 3 })).toBe(1);
  });

  test('with autoscaling the budget follows minReplicas', () => {
    const budgets = (props: NumberCrunchAppProps) => build(props).objects.filter((o) => o.kind === 'PodDisruptionBudget').length;
    expect(budgets({ replicas: 1, autoscaling: { minReplicas: 2, maxReplicas: 4 } })).toBe(1);
    expect(budgets({ replicas: 3, autoscaling: { minReplicas: 1, maxReplicas: 4 } })).toBe(0);
  });

  test('spreadAcrossNodes: false', () => {
    expect(build({ spreadAcrossNodes: false }).deployment.spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });
  test('nodeFailureTolerationSeconds sets both tolerations; 0 replaces at once; a negative or fractional value is refused', () => {
    const seconds = (n: number) => build({ nodeFailureTolerationSeconds: n }).deployment.spec.template.spec.tolerations
      .map((t: { tolerationSeconds: number }) => t.tolerationSeconds);
    expect(seconds(45)).toEqual([45, 45]);
    expect(seconds(0)).toEqual([0, 0]);
    expect(() => build({ nodeFailureTolerationSeconds: -1 })).toThrow(/nodeFailureTolerationSeconds/);
    expect(() => build({ nodeFailureTolerationSeconds: 1.5 })).toThrow(/nodeFailureTolerationSeconds/);
  });

  test('autoscaling makes an HPA on CPU and hands it the replica count', () => {
    const { objects, deployment } = build({ replicas: 3, autoscaling: { maxReplicas: 6 } });
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'number-crunch-hpa');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'number-crunch' },
      minReplicas: 3, maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 600 } } }],
    });
    expect(deployment.spec.replicas).toBeUndefined();
  });

  test('the autoscaler targets 60% of the CPU limit, in percent of the request: 600 at 50m/500m, 300 at 100m/500m', () => {
    const target = (props: NumberCrunchAppProps) =>
      find(build({ ...props, autoscaling: { maxReplicas: 4 } }).objects, 'HorizontalPodAutoscaler').spec.metrics[0].resource.target;
    expect(target({})).toEqual({ type: 'Utilization', averageUtilization: 600 });
    expect(target({ resources: { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) } } }).averageUtilization).toBe(300);
    expect(target({ resources: { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.units(1) } } }).averageUtilization).toBe(240);
  });

  test('targets above 100% of the request are accepted, up to just below limit / request', () => {
    const target = (t: number) => find(build({ autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: t } }).objects,
      'HorizontalPodAutoscaler').spec.metrics[0].resource.target.averageUtilization;
    expect(target(150)).toBe(150);
    expect(target(999)).toBe(999);
    expect(target(1)).toBe(1);
  });

  test('without a CPU limit any positive integer target is accepted', () => {
    const hpa = find(build({ resources: { cpu: { request: kplus.Cpu.millis(50) } }, autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 2500 } }).objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(2500);
  });

  test('autoscaling minReplicas and target', () => {
    const hpa = find(build({ autoscaling: { minReplicas: 1, maxReplicas: 2, targetCpuUtilizationPercent: 50 } }).objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.minReplicas).toBe(1);
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(50);
  });
});

describe('metrics', () => {
  test('the pod template carries the Prometheus scrape annotations for port 9464, path /metrics', () => {
    expect(build().deployment.spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics',
    });
  });

  test('the ClusterIP Service forwards only the http port, never the metrics port', () => {
    expect(build().service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
  });

  test('metricsPort flows to the container port named metrics, the env and the annotation', () => {
    const { deployment, app } = build({ metricsPort: 9100 });
    expect(container(deployment).ports).toContainEqual({ containerPort: 9100, name: 'metrics' });
    expect(container(deployment).env).toContainEqual({ name: 'METRICS_PORT', value: '9100' });
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe('9100');
    expect(app.metricsPort).toBe(9100);
  });
});

describe('autoscaler behaviour', () => {
  const hpa = (autoscaling: NumberCrunchAppProps['autoscaling']) => find(build({ autoscaling }).objects, 'HorizontalPodAutoscaler');

  test('both stabilization windows go to spec.behavior', () => {
    expect(hpa({ maxReplicas: 4, scaleUpStabilizationSeconds: 15, scaleDownStabilizationSeconds: 30 }).spec.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 15 }, scaleDown: { stabilizationWindowSeconds: 30 },
    });
  });

  test('one window alone leaves the other to Kubernetes', () => {
    expect(hpa({ maxReplicas: 4, scaleDownStabilizationSeconds: 0 }).spec.behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 0 } });
  });

  test('the HPA with both windows passes the schema and every policy rule', () => {
    const { objects } = build({ autoscaling: { maxReplicas: 4, scaleUpStabilizationSeconds: 0, scaleDownStabilizationSeconds: 3600 } });
    expect(checkManifests(objects)).toEqual([]);
  });

  test('no window: no behavior, Kubernetes\'s defaults apply', () => {
    expect(hpa({ maxReplicas: 4 }).spec).not.toHaveProperty('behavior');
  });
});

describe('validation errors name the construct, prop, value and what is allowed', () => {
  test.each<[string, NumberCrunchAppProps, RegExp]>([
    ['replicas 0', { replicas: 0 }, /NumberCrunchApp at 'test\/app': invalid replicas 0: replicas must be a positive integer/],
    ['replicas -1', { replicas: -1 }, /invalid replicas -1/],
    ['replicas 1.5', { replicas: 1.5 }, /invalid replicas 1.5/],
    ['port 0', { port: 0 }, /NumberCrunchApp at 'test\/app': invalid port 0: a port must be an integer from 1 to 65535/],
    ['port 70000', { port: 70000 }, /invalid port 70000/],
    ['name', { name: 'Number_Crunch' }, /invalid name "Number_Crunch": a Kubernetes name must be/],
    ['serviceName', { serviceName: 'svc.with.dots' }, /invalid serviceName "svc.with.dots"/],
    ['derived serviceName too long', { name: 'a'.repeat(60) }, /invalid serviceName "a{60}-service"/],
    ['instance', { instance: 'Blue!' }, /NumberCrunchApp at 'test\/app': invalid instance "Blue!": a label value must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit \(e.g. "My_App.v2"\)/],
    ['instance empty', { instance: '' }, /invalid instance "": a label value must be 1-63/],
    ['instance too long', { instance: 'a'.repeat(64) }, /invalid instance "a{64}": a label value must be 1-63/],
    ['partOf', { partOf: '-x' }, /invalid partOf "-x": a label value must be 1-63 letters/],
    ['image empty', { image: '' }, /NumberCrunchApp at 'test\/app': invalid image "": an image must be a non-empty reference/],
    ['image blank', { image: '  ' }, /invalid image " {2}"/],
    ['imageRevision empty', { imageRevision: '' }, /NumberCrunchApp at 'test\/app': invalid imageRevision "": must be a non-empty string without spaces, e.g. the image ID from `docker image inspect -f '{{.Id}}' <image>`/],
    ['imageRevision with a space', { imageRevision: 'build 4' }, /invalid imageRevision "build 4": must be a non-empty string without spaces/],
    ['clusterDomain', { clusterDomain: 'Cluster..local' }, /invalid clusterDomain "Cluster..local"/],
    ['preStopSeconds', { preStopSeconds: 0 }, /invalid preStopSeconds 0: must be a positive integer/],
    ['maxSurge', { maxSurge: -1 }, /NumberCrunchApp at 'test\/app': invalid maxSurge -1: must be a whole number, 0 or more/],
    ['maxUnavailable', { maxUnavailable: 0.5 }, /invalid maxUnavailable 0.5: must be a whole number, 0 or more/],
    ['maxSurge and maxUnavailable both 0', { maxSurge: 0, maxUnavailable: 0 }, /invalid maxUnavailable 0: maxSurge and maxUnavailable cannot both be 0/],
    ['autoscaling.maxReplicas 0', { autoscaling: { maxReplicas: 0 } }, /invalid autoscaling.maxReplicas 0/],
    ['autoscaling max < min', { autoscaling: { minReplicas: 3, maxReplicas: 2 } }, /invalid autoscaling.maxReplicas 2: must be at least autoscaling.minReplicas \(3\)/],
    ['autoscaling.minReplicas', { autoscaling: { minReplicas: 0, maxReplicas: 2 } }, /invalid autoscaling.minReplicas 0/],
    ['autoscaling target at the limit', { autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 1000 } }, /NumberCrunchApp at 'test\/app': invalid autoscaling.targetCpuUtilizationPercent 1000: must be an integer from 1 to 999: a pod cannot use more CPU than its limit \(500m = 1000% of its 50m request\), so at 1000% or more the autoscaler would never add a pod; lower it or raise resources.cpu.limit/],
    ['autoscaling target above the limit', { autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 1500 } }, /invalid autoscaling.targetCpuUtilizationPercent 1500: must be an integer from 1 to 999/],
    ['autoscaling target with another limit', { resources: { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) } }, autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 1000 } }, /from 1 to 999: a pod cannot use more CPU than its limit \(1000m = 1000% of its 100m request\)/],
    ['autoscaling target 0', { autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 0 } }, /invalid autoscaling.targetCpuUtilizationPercent 0: must be an integer from 1 to 999/],
    ['autoscaling target 70.5', { autoscaling: { maxReplicas: 4, targetCpuUtilizationPercent: 70.5 } }, /invalid autoscaling.targetCpuUtilizationPercent 70.5/],
    ['autoscaling without a CPU request', { resources: { memory: { request: Size.mebibytes(96) } }, autoscaling: { maxReplicas: 4 } }, /NumberCrunchApp at 'test\/app': invalid resources.cpu.request undefined: the autoscaler's CPU utilization is a share of the CPU request: set resources.cpu.request/],
    ['autoscaling default without a CPU limit', { resources: { cpu: { request: kplus.Cpu.millis(50) } }, autoscaling: { maxReplicas: 4 } }, /invalid autoscaling.targetCpuUtilizationPercent undefined: its default is 60% of the CPU limit and resources.cpu.limit is not set: set targetCpuUtilizationPercent/],
    ['metricsPort equal to port', { port: 9000, metricsPort: 9000 }, /NumberCrunchApp at 'test\/app': invalid metricsPort 9000: must differ from port \(9000\)/],
    ['a memory limit too small for the service', { resources: { memory: { limit: Size.mebibytes(64) } } }, /NumberCrunchApp at 'test\/app': invalid resources.memory.limit "64Mi": the service is 62 MiB resident when idle and needs room for its heap: set at least Size.mebibytes\(96\), or no limit/],
    ['metricsPort 0', { metricsPort: 0 }, /invalid metricsPort 0: a port must be an integer from 1 to 65535/],
    ['a negative scale-down window', { autoscaling: { maxReplicas: 4, scaleDownStabilizationSeconds: -30 } }, /NumberCrunchApp at 'test\/app': invalid autoscaling.scaleDownStabilizationSeconds -30: must be a whole number of seconds from 0 to 3600/],
    ['a scale-up window over an hour', { autoscaling: { maxReplicas: 4, scaleUpStabilizationSeconds: 3601 } }, /invalid autoscaling.scaleUpStabilizationSeconds 3601: must be a whole number of seconds from 0 to 3600 \(the API server's limit\)/],
    ['a fractional scale-down window', { autoscaling: { maxReplicas: 4, scaleDownStabilizationSeconds: 1.5 } }, /invalid autoscaling.scaleDownStabilizationSeconds 1.5/],
  ])('%s', (_label, props, message) => {
    expect(errorOf((scope) => new NumberCrunchApp(scope, 'app', props))).toMatch(message);
  });
});

test.each<[kplus.Cpu | undefined, number | undefined]>([
  [kplus.Cpu.millis(50), 50], [kplus.Cpu.millis(500), 500], [kplus.Cpu.units(1), 1000], [kplus.Cpu.units(0.5), 500],
  [undefined, undefined],
])('cpuMillis(%p) = %p', (cpu, millis) => expect(cpuMillis(cpu)).toBe(millis));
