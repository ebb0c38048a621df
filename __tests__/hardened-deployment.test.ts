import { ApiObject, JsonPatch, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { NumberCrunchChart } from '../lib';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { resourceRequirements, restrictedContainerContext } from '../lib/hardened-deployment';
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
    expect(allContainers(proxy).map((c) => c.name)).toEqual(['nginx', 'nginx-exporter', 'exporter']);
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
  })).toThrow(/^Deployment "number-crunch-proxy" breaks Pod Security "restricted": container "debug" is privileged: remove securityContext.privileged$/);
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
    expect(restrictedContainerContext({})).toEqual({
      runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
  test('keeps the user, the group and an added NET_BIND_SERVICE', () => {
    expect(restrictedContainerContext({ runAsUser: 7, runAsGroup: 8, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['NET_RAW'] } }))
      .toEqual({
        runAsUser: 7, runAsGroup: 8, runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      });
  });
  test('keeps what it is told, so a setting that breaks "restricted" is reported, not hidden', () => {
    expect(restrictedContainerContext({ privileged: true, runAsNonRoot: false, allowPrivilegeEscalation: true }))
      .toMatchObject({ privileged: true, runAsNonRoot: false, allowPrivilegeEscalation: true });
  });
});

describe('a sidecar whose securityContext breaks "restricted" fails synth, naming the Deployment, the container and the fix', () => {
  test.each<[string, ISecurityContext, RegExp]>([
    ['privileged', { privileged: true }, /container "c" is privileged: remove securityContext.privileged/],
    ['privilege escalation', { allowPrivilegeEscalation: true }, /container "c" does not set allowPrivilegeEscalation: false: set it in the container's securityContext/],
    ['root allowed', { runAsNonRoot: false }, /container "c" does not set runAsNonRoot: true: set it in the pod's or container's securityContext/],
    ['root user', { runAsUser: 0 }, /container "c" runs as user 0: set a non-zero numeric runAsUser/],
    ['added capability', { capabilities: { add: ['SYS_ADMIN'] } }, /container "c" adds capabilities SYS_ADMIN: add none but NET_BIND_SERVICE/],
    ['seccomp Unconfined', { seccompProfile: { type: 'Unconfined' } }, /container "c" has seccomp profile Unconfined: set seccompProfile.type RuntimeDefault/],
    ['procMount Unmasked', { procMount: 'Unmasked' }, /container "c" sets procMount: Unmasked: remove it \(only Default is allowed\)/],
    ['SELinux type', { seLinuxOptions: { type: 'spc_t' } }, /container "c" sets seLinuxOptions \{"type":"spc_t"\}: only type container_t, container_init_t, container_kvm_t is allowed, with no user or role/],
    ['SELinux user', { seLinuxOptions: { user: 'root' } }, /container "c" sets seLinuxOptions \{"user":"root"\}: only type container_t/],
    ['Windows host process', { windowsOptions: { hostProcess: true } }, /container "c" sets windowsOptions.hostProcess: remove it/],
  ])('%s', (_label, securityContext, message) => {
    const build = () => synthWith((chart) => addContainer(chart.app.deployment, { name: 'c', image: 'busybox:1.36', securityContext }));
    expect(build).toThrow(/^Deployment "number-crunch" breaks Pod Security "restricted": /);
    expect(build).toThrow(message);
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
    ['a host port', '/spec/template/spec/containers/0/ports/0/hostPort', 8080, /^Deployment "number-crunch" breaks Pod Security "restricted": container "number-crunch" uses a hostPort: remove it and reach the pod through a Service$/],
    ['the host network', '/spec/template/spec/hostNetwork', true, /^Deployment "number-crunch" breaks Pod Security "restricted": sets hostNetwork: true \(shares the node's namespace\): remove it or set it to false$/],
    ['a hostPath volume', '/spec/template/spec/volumes', [{ name: 'logs', hostPath: { path: '/var/log' } }], /^Deployment "number-crunch" breaks Pod Security "restricted": volume "logs" is of type hostPath, not allowed under "restricted": use one of configMap, /],
    ['an Unconfined pod seccomp profile', '/spec/template/spec/securityContext/seccompProfile', { type: 'Unconfined' }, /^Deployment "number-crunch" breaks Pod Security "restricted": container "number-crunch" has seccomp profile Unconfined: set seccompProfile.type RuntimeDefault/],
  ])('%s', (_label, path, value, message) => {
    expect(() => synthWith((chart) => chart.app.deployment.addJsonPatch(JsonPatch.add(path, value)))).toThrow(message);
  });
});
