import { ApiObject, JsonPatch, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { NumberCrunchChart } from '../lib';
import { ContainerSecurityContextJson, resourceRequirements, restrictedContainerContext } from '../lib/hardened-deployment';
import { podSecurityRestrictedRule } from '../validation/rules';
import { Manifest, find } from './util';

// What Pod Security "restricted" (and this project) demands of every container, written out literally.
const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

/** The chart, with `change` applied to it after construction, synthesized. */
const synthWith = (change: (chart: NumberCrunchChart) => void) => {
  const chart = new NumberCrunchChart(Testing.app(), 'number-crunch', { proxy: { replicas: 2 } });
  change(chart);
  return Testing.synth(chart) as Manifest[];
};
const allContainers = (d: Manifest): { name: string; securityContext?: object }[] => [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers];

/** cdk8s's escape hatch: a container appended to a Deployment's pod spec with a JSON patch. */
const addContainer = (deployment: ApiObject, container: object, list = 'containers') =>
  deployment.addJsonPatch(JsonPatch.add(`/spec/template/spec/${list}/-`, container));

describe('containers added with a JSON patch after construction get the restricted context', () => {
  const objects = synthWith((chart) => {
    addContainer(chart.app.deployment, { name: 'log-shipper', image: 'busybox:1.36', command: ['sleep', 'infinity'] });
    chart.app.deployment.addJsonPatch(JsonPatch.add('/spec/template/spec/initContainers', [{ name: 'wait', image: 'busybox:1.36', command: ['true'] }]));
    addContainer(chart.proxy.deployment, { name: 'exporter', image: 'nginx-exporter:1.4.0', ports: [{ containerPort: 9113 }] });
  });
  const app = find(objects, 'Deployment', 'number-crunch');
  const proxy = find(objects, 'Deployment', 'number-crunch-proxy');

  test('every container, init containers too, has the full restricted securityContext', () => {
    expect(allContainers(app).map((c) => c.name)).toEqual(['wait', 'number-crunch', 'log-shipper']);
    expect(allContainers(proxy).map((c) => c.name)).toEqual(['nginx', 'exporter']);
    for (const c of [...allContainers(app), ...allContainers(proxy)]) {
      expect({ container: c.name, securityContext: c.securityContext })
        .toEqual({ container: c.name, securityContext: expect.objectContaining(RESTRICTED_CONTAINER) });
    }
  });

  test('the pod gives them a non-root numeric user and seccomp RuntimeDefault', () => {
    expect(app.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(proxy.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, seccompProfile: { type: 'RuntimeDefault' } });
  });

  test('the pod-security-restricted policy rule passes on them', () => {
    expect(podSecurityRestrictedRule.check(objects)).toEqual([]);
  });
});

test('a sidecar that asks to be privileged fails synth, naming the container and the fix', () => {
  expect(() => synthWith((chart) => {
    addContainer(chart.proxy.deployment, { name: 'debug', image: 'busybox:1.36', securityContext: { privileged: true } });
  })).toThrow(/container "debug" of Deployment "number-crunch-proxy" sets privileged: true, which Pod Security "restricted" forbids: remove it/);
});

test('an explicit readOnlyRootFilesystem: false is honoured (not part of "restricted"); the rest is still enforced', () => {
  const objects = synthWith((chart) => {
    addContainer(chart.app.deployment, { name: 'writer', image: 'busybox:1.36', securityContext: { readOnlyRootFilesystem: false, runAsUser: 2000 } });
  });
  const writer = find(objects, 'Deployment', 'number-crunch').spec.template.spec.containers[1];
  expect(writer.securityContext).toEqual({
    readOnlyRootFilesystem: false, runAsUser: 2000, runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(podSecurityRestrictedRule.check(objects)).toEqual([]);
});

describe('restrictedContainerContext', () => {
  test('fills in every restricted setting and drops ALL capabilities', () => {
    expect(restrictedContainerContext('container "c"', {})).toEqual({
      runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
  test('keeps the user, the group and an added NET_BIND_SERVICE', () => {
    expect(restrictedContainerContext('container "c"', { runAsUser: 7, runAsGroup: 8, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['NET_RAW'] } }))
      .toEqual({
        runAsUser: 7, runAsGroup: 8, runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      });
  });
  test.each<[string, ContainerSecurityContextJson, RegExp]>([
    ['privileged', { privileged: true }, /container "c" sets privileged: true, which Pod Security "restricted" forbids: remove it/],
    ['privilege escalation', { allowPrivilegeEscalation: true }, /container "c" sets allowPrivilegeEscalation: true, which Pod Security "restricted" forbids: remove it/],
    ['root allowed', { runAsNonRoot: false }, /container "c" sets runAsNonRoot: false, which Pod Security "restricted" forbids: remove it/],
    ['root user', { runAsUser: 0 }, /container "c" sets runAsUser: 0, which Pod Security "restricted" forbids: set a non-zero user/],
    ['added capability', { capabilities: { add: ['SYS_ADMIN'] } }, /container "c" adds capabilities SYS_ADMIN, which Pod Security "restricted" forbids: add none but NET_BIND_SERVICE/],
    ['seccomp Unconfined', { seccompProfile: { type: 'Unconfined' } }, /container "c" sets seccompProfile Unconfined, which Pod Security "restricted" forbids: use RuntimeDefault or Localhost/],
    ['procMount Unmasked', { procMount: 'Unmasked' }, /container "c" sets procMount: Unmasked, which Pod Security "restricted" forbids: remove it/],
    ['SELinux type', { seLinuxOptions: { type: 'spc_t' } }, /container "c" sets seLinuxOptions.type spc_t, which Pod Security "restricted" forbids: use one of container_t/],
    ['SELinux user', { seLinuxOptions: { user: 'root' } }, /container "c" sets seLinuxOptions.user or .role, which Pod Security "restricted" forbids/],
    ['Windows host process', { windowsOptions: { hostProcess: true } }, /container "c" sets windowsOptions.hostProcess: true, which Pod Security "restricted" forbids/],
  ])('refuses %s', (_label, context, message) => {
    expect(() => restrictedContainerContext('container "c"', context)).toThrow(message);
  });
});

describe('resourceRequirements writes cdk8s-plus resources the way cdk8s-plus does', () => {
  test('cpu as given, memory in Mi, ephemeral storage in Gi', () => {
    const r = resourceRequirements({
      cpu: { request: Cpu.millis(50), limit: Cpu.units(1) },
      memory: { request: Size.mebibytes(96), limit: Size.gibibytes(1) },
      ephemeralStorage: { limit: Size.gibibytes(2) },
    });
    expect(JSON.parse(JSON.stringify({ limits: r?.limits, requests: r?.requests }, (_k, v) => (v && typeof v === 'object' && 'value' in v ? v.value : v))))
      .toEqual({ limits: { 'cpu': '1', 'memory': '1024Mi', 'ephemeral-storage': '2Gi' }, requests: { cpu: '50m', memory: '96Mi' } });
  });
  test('nothing set: no requirements at all', () => {
    expect(resourceRequirements({})).toBeUndefined();
  });
});

describe('pod settings added with a JSON patch that break "restricted" fail synth, naming the Deployment and the fix', () => {
  test.each<[string, string, unknown, RegExp]>([
    ['a host port', '/spec/template/spec/containers/0/ports/0/hostPort', 8080, /container "number-crunch" of Deployment "number-crunch" sets a hostPort, which Pod Security "restricted" forbids: remove it \(a Service exposes the port\)/],
    ['the host network', '/spec/template/spec/hostNetwork', true, /Deployment "number-crunch" sets hostNetwork: true, which Pod Security "restricted" forbids: remove it/],
    ['a hostPath volume', '/spec/template/spec/volumes', [{ name: 'logs', hostPath: { path: '/var/log' } }], /Deployment "number-crunch" sets the hostPath volume "logs", which Pod Security "restricted" forbids: use an emptyDir/],
    ['an Unconfined pod seccomp profile', '/spec/template/spec/securityContext/seccompProfile', { type: 'Unconfined' }, /Deployment "number-crunch" sets seccompProfile "Unconfined", which Pod Security "restricted" forbids: use RuntimeDefault or Localhost/],
  ])('%s', (_label, path, value, message) => {
    expect(() => synthWith((chart) => chart.app.deployment.addJsonPatch(JsonPatch.add(path, value)))).toThrow(message);
  });
});
