import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { K8sObject, loadManifests, parseManifests } from '../../validation/manifests';
import {
  checkManifests, imagesPinnedRule, nginxUpstreams, podSecurityRestrictedRule, probesSetRule, proxyUpstreamRule,
  referencesExistRule, resourcesSetRule, RULES, schemaRule, serviceSelectsPodsRule, uniqueNamesRule,
} from '../../validation/rules';

const dist = loadManifests(join(__dirname, '..', '..', 'dist'));
/** A deep copy of dist/ with one thing broken by `breakIt`. */
const broken = (breakIt: (objects: K8sObject[]) => void): K8sObject[] => {
  const copy = structuredClone(dist);
  breakIt(copy);
  return copy;
};
const get = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name)!;
const appDeployment = (objects: K8sObject[]) => get(objects, 'Deployment', 'number-crunch');
const proxyDeployment = (objects: K8sObject[]) => get(objects, 'Deployment', 'number-crunch-proxy');
const appContainer = (objects: K8sObject[]) => appDeployment(objects).spec.template.spec.containers[0];
const conf = (objects: K8sObject[]) => get(objects, 'ConfigMap', 'number-crunch-proxy-config').data!;
/** The proxy's pod spec as dist/ has it: pod and containers with a securityContext. */
type ProxyPod = IPodSpec & { securityContext: IPodSecurityContext; containers: Array<IContainer & { securityContext: ISecurityContext }> };

test('the committed dist/ passes every rule', () => {
  expect(dist.length).toBeGreaterThan(5);
  expect(checkManifests(dist)).toEqual([]);
});

test('every rule has a name and a description', () => {
  expect(RULES.map((r) => r.name)).toEqual([
    'schema', 'unique-names', 'service-selects-pods', 'references-exist', 'proxy-upstream', 'images-pinned',
    'resources-set', 'probes-set', 'pod-security-restricted',
  ]);
  for (const rule of RULES) expect(rule.description.length).toBeGreaterThan(20);
});

describe('schema', () => {
  test('a wrong field type', () => {
    const v = schemaRule.check(broken((o) => { appDeployment(o).spec.replicas = 'two'; }));
    expect(v).toEqual([expect.objectContaining({ rule: 'schema', object: 'Deployment/default/number-crunch', message: expect.stringMatching(/replicas must be integer/) })]);
  });
  test('an unknown field, however deep', () => {
    const v = schemaRule.check(broken((o) => {
      appContainer(o).imagePullPolicyy = 'Always';
      get(o, 'Service', 'number-crunch-lb').spec.externalTraficPolicy = 'Local';
    }));
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/Deployment\/default\/number-crunch: unknown field spec.template.spec.containers\[0\].imagePullPolicyy: Container has no such field/),
      expect.stringMatching(/Service\/default\/number-crunch-lb: unknown field spec.externalTraficPolicy: ServiceSpec has no such field/),
    ]);
  });
  test('an unknown kind', () => {
    const v = schemaRule.check([{ apiVersion: 'v1', kind: 'Servicee', metadata: { name: 'x' } }]);
    expect(v[0].message).toMatch(/Servicee\/default\/x: schema: unknown kind Servicee in v1: not a Kubernetes 1.27 API object/);
  });
  test('an invalid name', () => {
    const v = schemaRule.check(broken((o) => { get(o, 'Service', 'number-crunch-service').metadata!.name = 'Number_Crunch'; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/name "Number_Crunch" is not a valid DNS label/)]);
  });
  test('an invalid label value', () => {
    const v = schemaRule.check(broken((o) => { appDeployment(o).metadata!.labels!['app.kubernetes.io/version'] = 'sha256:abc'; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/label "app.kubernetes.io\/version": value "sha256:abc" is not a valid label value/)]);
  });
  test('a probe port and a NetworkPolicy port out of range', () => {
    const v = schemaRule.check(broken((o) => {
      appContainer(o).readinessProbe.httpGet.port = 0;
      get(o, 'NetworkPolicy', 'number-crunch-netpol').spec.ingress[0].ports[0].port = 65536;
    }));
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/^Deployment\/default\/number-crunch: containers\[0\].readinessProbe.port 0 is not a port from 1 to 65535/),
      expect.stringMatching(/^NetworkPolicy\/default\/number-crunch-netpol: spec.\*.ports.port 65536 is not a port from 1 to 65535/),
    ]);
  });
  test('a port out of range', () => {
    const v = schemaRule.check(broken((o) => { get(o, 'Service', 'number-crunch-lb').spec.ports[0].port = 70000; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/Service\/default\/number-crunch-lb: spec.ports.port 70000 is not a port from 1 to 65535/)]);
  });
});

test('unique-names: the tutorial\'s LoadBalancer named like the ClusterIP Service', () => {
  const v = uniqueNamesRule.check(broken((o) => { get(o, 'Service', 'number-crunch-lb').metadata!.name = 'number-crunch-service'; }));
  expect(v).toEqual([expect.objectContaining({
    rule: 'unique-names', object: 'Service/default/number-crunch-service',
    message: expect.stringMatching(/Service "number-crunch-service" in namespace "default" is defined twice/),
  })]);
});

describe('service-selects-pods', () => {
  test('a selector that matches no pods', () => {
    const v = serviceSelectsPodsRule.check(broken((o) => { get(o, 'Service', 'number-crunch-service').spec.selector['app.kubernetes.io/name'] = 'typo'; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/Service\/default\/number-crunch-service: selector .* matches no pods/)]);
  });
  test('a Service without a selector (hand-managed Endpoints) is not this rule\'s business', () => {
    expect(serviceSelectsPodsRule.check(broken((o) => { delete get(o, 'Service', 'number-crunch-lb').spec.selector; }))).toEqual([]);
  });
  test('a selector that matches two workloads', () => {
    const v = serviceSelectsPodsRule.check(broken((o) => { get(o, 'Service', 'number-crunch-lb').spec.selector = { 'app.kubernetes.io/instance': 'number-crunch' }; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/number-crunch-lb: selector .* matches the pods of 2 workloads/)]);
  });
});

describe('references-exist', () => {
  test('a missing ConfigMap', () => {
    const v = referencesExistRule.check(broken((o) => { get(o, 'ConfigMap', 'number-crunch-proxy-config').metadata!.name = 'renamed'; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/Deployment\/default\/number-crunch-proxy: volume "config" mounts ConfigMap "number-crunch-proxy-config", which is not in the manifests/)]);
  });
  test('a missing Secret in envFrom and env, and a missing key of a mounted ConfigMap', () => {
    const v = referencesExistRule.check(broken((o) => {
      appContainer(o).envFrom = [{ secretRef: { name: 'app-secrets' } }];
      appContainer(o).env.push({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'tokens', key: 'token' } } });
      const config: IVolume = proxyDeployment(o).spec.template.spec.volumes.find((x: IVolume) => x.configMap);
      config.configMap!.items = [{ key: 'nginx.cnf', path: 'nginx.conf' }];
    }));
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/^Deployment\/default\/number-crunch: container "number-crunch" takes env from Secret "app-secrets", which is not in the manifests/),
      expect.stringMatching(/^Deployment\/default\/number-crunch: container "number-crunch" takes env TOKEN from Secret "tokens", which is not in the manifests/),
      expect.stringMatching(/^Deployment\/default\/number-crunch-proxy: volume "config" mounts key "nginx.cnf" of ConfigMap "number-crunch-proxy-config", which has no such key/),
    ]);
  });
  test('a mount of an undefined volume', () => {
    const v = referencesExistRule.check(broken((o) => { proxyDeployment(o).spec.template.spec.volumes.pop(); }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/container "nginx" mounts volume "runtime", which the pod does not define/)]);
  });
  test('a Service targetPort no container declares', () => {
    const v = referencesExistRule.check(broken((o) => { get(o, 'Service', 'number-crunch-service').spec.ports[0].targetPort = 9999; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/Service\/default\/number-crunch-service: port 8080 targets 9999/)]);
  });
  test('a probe on an undeclared port', () => {
    const v = referencesExistRule.check(broken((o) => { appContainer(o).livenessProbe.httpGet.port = 9090; }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/container "number-crunch" livenessProbe uses port 9090, which no container declares/)]);
  });
});

describe('proxy-upstream', () => {
  const withUpstream = (server: string) => broken((o) => {
    conf(o)['nginx.conf'] = conf(o)['nginx.conf'].replace(/(?:^\s*server number-crunch-service\.[^;]*;\n)+/m, `        server ${server};\n`);
  });
  test('the tutorial\'s "service-name:namespace"', () => {
    const v = proxyUpstreamRule.check(withUpstream('number-crunch-service:default'));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/reads like "<service>:<namespace>".*use number-crunch-service.default.svc.cluster.local:<port>/)]);
  });
  test('a Service that does not exist', () => {
    const v = proxyUpstreamRule.check(withUpstream('other.default.svc.cluster.local:8080'));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/names Service default\/other, which is not in the manifests/)]);
  });
  test('another cluster domain than the cluster\'s (default cluster.local, or the clusterDomain option)', () => {
    const objects = withUpstream('number-crunch-service.default.svc.cluster.locl:8080');
    expect(proxyUpstreamRule.check(objects).map((x) => x.message))
      .toEqual([expect.stringMatching(/uses cluster domain "cluster.locl", not the cluster's "cluster.local"/)]);
    // With the option, only the backup line (still cluster.local) is reported.
    expect(proxyUpstreamRule.check(objects, { clusterDomain: 'cluster.locl' }).map((x) => x.message))
      .toEqual([expect.stringMatching(/number-crunch-service-pods\.default\.svc\.cluster\.local:8080 resolve backup max_fails=0;" uses cluster domain "cluster.local", not the cluster's "cluster.locl"/)]);
  });
  test('a wrong port', () => {
    const v = proxyUpstreamRule.check(withUpstream('number-crunch-service.default.svc.cluster.local:80'));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/uses port 80, but Service default\/number-crunch-service listens on 8080/)]);
  });
  test('another namespace than the Service\'s', () => {
    const v = proxyUpstreamRule.check(withUpstream('number-crunch-service.prod.svc.cluster.local:8080'));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/names Service prod\/number-crunch-service, which is not in the manifests/)]);
  });
  test('forwarding to the LoadBalancer (the proxy would call itself)', () => {
    const v = proxyUpstreamRule.check(withUpstream('number-crunch-lb.default.svc.cluster.local:8080'));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/forwards to a LoadBalancer Service/)]);
  });
  test('a bare proxy_pass host is read too', () => {
    expect(nginxUpstreams('location / { proxy_pass http://number-crunch-service:default; }'))
      .toEqual([{ host: 'number-crunch-service', port: 'default', directive: 'proxy_pass http://number-crunch-service:default;' }]);
  });
});

test('images-pinned: latest and untagged images', () => {
  const v = imagesPinnedRule.check(broken((o) => {
    appContainer(o).image = 'number-crunch:latest';
    proxyDeployment(o).spec.template.spec.containers[0].image = 'nginx';
  }));
  expect(v.map((x) => x.message)).toEqual([
    expect.stringMatching(/container "number-crunch" image "number-crunch:latest" is not pinned/),
    expect.stringMatching(/container "nginx" image "nginx" is not pinned/),
  ]);
});

test('resources-set: missing limits', () => {
  const v = resourcesSetRule.check(broken((o) => { delete appContainer(o).resources.limits; }));
  expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/container "number-crunch" has no limits.cpu, limits.memory/)]);
});

test('probes-set: missing readiness probe', () => {
  const v = probesSetRule.check(broken((o) => { delete appContainer(o).readinessProbe; }));
  expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/Deployment\/default\/number-crunch: container "number-crunch" has no readinessProbe/)]);
});

describe('pod-security-restricted', () => {
  test('a privileged root pod with no seccomp fails on every count', () => {
    const v = podSecurityRestrictedRule.check(broken((o) => {
      const pod = appDeployment(o).spec.template.spec;
      pod.securityContext = {};
      pod.hostNetwork = true;
      pod.automountServiceAccountToken = true;
      pod.volumes = [{ name: 'host', hostPath: { path: '/' } }];
      pod.containers[0].securityContext = { privileged: true, runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } };
    }));
    const messages = v.map((x) => x.message).join('\n');
    for (const problem of [/sets hostNetwork: true/, /service account token/, /volume "host" is of type hostPath/, /is privileged/,
      /allowPrivilegeEscalation/, /runAsNonRoot/, /runs as user 0/, /seccomp profile \(none\)/, /does not drop capability ALL/,
      /adds capabilities SYS_ADMIN/]) {
      expect(messages).toMatch(problem);
    }
    expect(new Set(v.map((x) => x.object))).toEqual(new Set(['Deployment/default/number-crunch']));
  });
  test.each<[string, (pod: ProxyPod) => void, RegExp]>([
    ['pod-level runAsUser 0 under a container user', (pod) => { pod.securityContext.runAsUser = 0; }, /the pod's securityContext sets runAsUser: 0/],
    ['an SELinux user', (pod) => { pod.securityContext.seLinuxOptions = { user: 'system_u' }; }, /the pod's securityContext sets seLinuxOptions .*no user or role/],
    ['an SELinux type not for containers', (pod) => { pod.containers[0].securityContext.seLinuxOptions = { type: 'spc_t' }; }, /container "nginx" sets seLinuxOptions/],
    ['an unmasked /proc', (pod) => { pod.containers[0].securityContext.procMount = 'Unmasked'; }, /container "nginx" sets procMount: Unmasked/],
    ['an unsafe sysctl', (pod) => { pod.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]; }, /sets sysctl kernel.msgmax, which is not in the safe set/],
    ['a Windows host process', (pod) => { pod.containers[0].securityContext.windowsOptions = { hostProcess: true }; }, /container "nginx" sets windowsOptions.hostProcess/],
    ['an ephemeral container without a security context', (pod) => { pod.ephemeralContainers = [{ name: 'debug', image: 'busybox:1.36' }]; }, /container "debug" does not set allowPrivilegeEscalation/],
  ])('%s is caught', (_label, breakIt, message) => {
    const v = podSecurityRestrictedRule.check(broken((o) => breakIt(proxyDeployment(o).spec.template.spec)));
    expect(v.map((x) => x.message)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    expect(new Set(v.map((x) => x.object))).toEqual(new Set(['Deployment/default/number-crunch-proxy']));
  });
  test('an AppArmor annotation that turns AppArmor off is caught; runtime/default passes', () => {
    const withAppArmor = (profile: string) => broken((o) => {
      proxyDeployment(o).spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/nginx'] = profile;
    });
    expect(podSecurityRestrictedRule.check(withAppArmor('unconfined')).map((x) => x.message))
      .toEqual([expect.stringMatching(/annotation container.apparmor.security.beta.kubernetes.io\/nginx: unconfined loosens AppArmor/)]);
    expect(podSecurityRestrictedRule.check(withAppArmor('runtime/default'))).toEqual([]);
  });
  test('missing seccomp alone is caught', () => {
    const v = podSecurityRestrictedRule.check(broken((o) => { delete proxyDeployment(o).spec.template.spec.securityContext.seccompProfile; }));
    // Every container of the pod: nginx and the metrics exporter beside it.
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/number-crunch-proxy: container "nginx" has seccomp profile \(none\)/),
      expect.stringMatching(/number-crunch-proxy: container "nginx-exporter" has seccomp profile \(none\)/),
    ]);
  });
});

test('manifests that are not YAML are reported with their source', () => {
  expect(() => parseManifests('a: [1', 'bad.yaml')).toThrow(/bad.yaml: document 1/);
});
