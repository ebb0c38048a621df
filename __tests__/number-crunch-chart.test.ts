import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  LoadBalancedService, NumberCrunchApp, NumberCrunchChart, NumberCrunchChartProps, ReverseProxy,
} from '../lib';
import { checkManifests } from '../validation/rules';
import { Manifest, find, selects } from './util';

const synthChart = (props?: NumberCrunchChartProps) => {
  const chart = new NumberCrunchChart(Testing.app(), 'number-crunch', props);
  return { chart, objects: Testing.synth(chart) as Manifest[] };
};
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** Checks that hold for any synthesized stack, whatever the props. */
function expectWiredCorrectly(objects: Manifest[], namespace: string) {
  const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
  // Every Service selects the pods of exactly one workload, in its namespace.
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const matching = workloads.filter((w) => w.metadata.namespace === service.metadata.namespace &&
      selects(service.spec.selector, w.spec.template.metadata.labels));
    expect({ service: service.metadata.name, matches: matching.length }).toEqual({ service: service.metadata.name, matches: 1 });
  }
  // No two objects of one kind share a name in a namespace.
  const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  expect(new Set(keys).size).toBe(keys.length);
  // The proxy forwards to the app Service's FQDN and port (listed once per try), with the headless Service of the same
  // pods as its backup, and nothing else.
  const appServices = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'ClusterIP');
  const appService = appServices.find((o) => o.spec.clusterIP !== 'None')!;
  const headless = appServices.find((o) => o.spec.clusterIP === 'None')!;
  expect(headless.spec.selector).toEqual(appService.spec.selector);
  const conf: string = find(objects, 'ConfigMap').data!['nginx.conf'];
  const servers = [...conf.matchAll(/^\s*server\s+([^\s;:]+):(\d+)([^;]*);/gm)]
    .map((m) => ({ host: m[1], port: Number(m[2]), backup: / backup\b/.test(m[3]) }));
  const primary = servers.filter((x) => !x.backup);
  expect(primary.length).toBeGreaterThan(0);
  expect(new Set(primary.map((x) => JSON.stringify(x)))).toEqual(new Set([JSON.stringify({
    host: `${appService.metadata.name}.${namespace}.svc.cluster.local`, port: appService.spec.ports[0].port, backup: false,
  })]));
  for (const backup of servers.filter((x) => x.backup)) {
    expect(backup).toEqual({ host: `${headless.metadata.name}.${namespace}.svc.cluster.local`, port: appService.spec.ports[0].port, backup: true });
  }
  // Namespaced objects sit in the namespace.
  for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace).toBe(namespace);
}

test('every object has a name of its own, across kinds too (cdk8s maps validation reports to constructs by name)', () => {
  const names = synthChart({ app: { autoscaling: { maxReplicas: 3 } }, namespace: 'maths' }).objects.map((o) => o.metadata.name);
  expect(new Set(names).size).toBe(names.length);
});

describe('defaults: the tutorial setup on microk8s', () => {
  const { chart, objects } = synthChart();

  test('wired correctly in the default namespace', () => expectWiredCorrectly(objects, 'default'));

  test('the proxy falls back to the app pods\' headless Service while the ClusterIP Service\'s name has no address', () => {
    expect(chart.proxy.nginxConf).toContain('server number-crunch-service-pods.default.svc.cluster.local:8080 resolve backup max_fails=0;');
  });

  test('the ClusterIP and LoadBalancer Services have different names', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.map((s) => [s.metadata.name, s.spec.type])).toEqual([
      ['number-crunch-service', 'ClusterIP'], ['number-crunch-service-pods', 'ClusterIP'], ['number-crunch-lb', 'LoadBalancer'],
    ]);
  });

  test('the load balancer fronts the proxy, the proxy fronts the app', () => {
    const lb = find(objects, 'Service', 'number-crunch-lb');
    expect(selects(lb.spec.selector, find(objects, 'Deployment', 'number-crunch-proxy').spec.template.metadata.labels)).toBe(true);
    expect(selects(lb.spec.selector, find(objects, 'Deployment', 'number-crunch').spec.template.metadata.labels)).toBe(false);
    expect(lb.spec.ports[0].targetPort).toBe(8080);
  });

  test('no Namespace object for "default"', () => {
    expect(objects.filter((o) => o.kind === 'Namespace')).toEqual([]);
  });

  test('every object carries all six recommended labels, its name label its own name', () => {
    for (const o of objects) {
      expect(Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('app.kubernetes.io/')).sort()).toEqual(
        ['component', 'instance', 'managed-by', 'name', 'part-of', 'version'].map((k) => `app.kubernetes.io/${k}`));
    }
    expect(find(objects, 'Service', 'number-crunch-lb').metadata.labels!['app.kubernetes.io/name']).toBe('number-crunch-lb');
  });

  test('NetworkPolicies: the app accepts only the proxy; the proxy reaches only the app and DNS', () => {
    const app = find(objects, 'NetworkPolicy', 'number-crunch-netpol');
    const proxy = find(objects, 'NetworkPolicy', 'number-crunch-proxy-netpol');
    expect(app.spec.podSelector.matchLabels).toEqual(chart.app.selectorLabels);
    expect(app.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: chart.proxy.selectorLabels } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
    expect(proxy.spec.podSelector.matchLabels).toEqual(chart.proxy.selectorLabels);
    expect(proxy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(proxy.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
    expect(proxy.spec.egress[0]).toEqual({ to: [{ podSelector: { matchLabels: chart.app.selectorLabels } }], ports: [{ protocol: 'TCP', port: 8080 }] });
    expect(proxy.spec.egress[1].ports.map((p: { protocol: string; port: number }) => `${p.protocol}/${p.port}`)).toEqual(['UDP/53', 'TCP/53']);
  });

  test('children are exposed', () => {
    expect(chart.app).toBeInstanceOf(NumberCrunchApp);
    expect(chart.proxy).toBeInstanceOf(ReverseProxy);
    expect(chart.loadBalancer).toBeInstanceOf(LoadBalancedService);
    expect(chart.networkPolicies).toBeDefined();
    expect(chart.proxy.upstream).toBe(chart.app.address);
  });
});

describe('another namespace', () => {
  const { objects, chart } = synthChart({ namespace: 'maths' });
  test('wired correctly, the upstream FQDN follows the namespace', () => {
    expectWiredCorrectly(objects, 'maths');
    expect(chart.proxy.nginxConf).toContain('server number-crunch-service.maths.svc.cluster.local:8080 resolve max_fails=0;');
  });
  test('the Namespace object comes first and has no namespace itself', () => {
    expect(objects[0].kind).toBe('Namespace');
    expect(objects[0].metadata).toMatchObject({ name: 'maths' });
    expect(objects[0].metadata.namespace).toBeUndefined();
  });
  test('its Namespace object carries all six recommended labels too', () => {
    expect(objects[0].metadata.labels).toEqual(expect.objectContaining({
      'app.kubernetes.io/component': 'namespace', 'app.kubernetes.io/version': 'local',
    }));
  });
  test('the Namespace object makes the API server enforce Pod Security "restricted" (and warn on apply)', () => {
    expect(objects[0].metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });
  test('enforcePodSecurity: false leaves the Pod Security labels off', () => {
    const labels = synthChart({ namespace: 'maths', enforcePodSecurity: false }).objects[0].metadata.labels;
    expect(Object.keys(labels ?? {}).filter((k) => k.startsWith('pod-security.kubernetes.io/'))).toEqual([]);
  });
  test('createNamespace: true makes even "default" explicitly, first', () => {
    const made = synthChart({ createNamespace: true }).objects;
    expect(made[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'default' } });
    expect(made.filter((o) => o.kind === 'Namespace')).toHaveLength(1);
  });
  test('createNamespace: false leaves it to the user', () => {
    expect(synthChart({ namespace: 'maths', createNamespace: false }).objects.filter((o) => o.kind === 'Namespace')).toEqual([]);
  });
});

describe('chart props', () => {
  test('name renames everything consistently', () => {
    const { objects } = synthChart({ name: 'calc' });
    expectWiredCorrectly(objects, 'default');
    expect(objects.filter((o) => o.kind === 'Service').map((s) => s.metadata.name)).toEqual(['calc-service', 'calc-service-pods', 'calc-lb']);
    expect(objects.filter((o) => o.kind === 'Deployment').map((s) => s.metadata.name)).toEqual(['calc', 'calc-proxy']);
  });
  test('image, pull policy and replicas reach the app', () => {
    const { objects } = synthChart({ app: { image: 'registry.example/nc:2.0', imagePullPolicy: kplus.ImagePullPolicy.ALWAYS, replicas: 4 } });
    const app = find(objects, 'Deployment', 'number-crunch');
    expect(app.spec.replicas).toBe(4);
    expect(app.spec.template.spec.containers[0]).toMatchObject({ image: 'registry.example/nc:2.0', imagePullPolicy: 'Always' });
  });
  test('clusterDomain reaches the proxy: its upstream and its resolver', () => {
    const conf = synthChart({ app: { clusterDomain: 'corp.internal' } }).chart.proxy.nginxConf;
    expect(conf).toContain('server number-crunch-service.default.svc.corp.internal:8080 resolve max_fails=0;');
    expect(conf).toContain('resolver kube-dns.kube-system.svc.corp.internal valid=5s ipv6=off;');
  });
  test('loadBalancer options reach the LoadBalancer Service, its name label follows its name', () => {
    const { objects } = synthChart({ loadBalancer: { name: 'edge', port: 80, loadBalancerIP: '192.168.1.240' } });
    const lb = find(objects, 'Service', 'edge');
    expect(lb.metadata.labels!['app.kubernetes.io/name']).toBe('edge');
    expect(lb.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080 });
    expect(lb.metadata.annotations).toEqual({
      'metallb.universe.tf/loadBalancerIPs': '192.168.1.240',
      'metallb.io/loadBalancerIPs': '192.168.1.240',
    });
  });
  test('source ranges on the load balancer turn its node ports off; the manifests pass every policy rule', () => {
    const { objects } = synthChart({ loadBalancer: { loadBalancerSourceRanges: ['192.168.1.0/24'] } });
    const lb = find(objects, 'Service', 'number-crunch-lb');
    expect(lb.spec).toMatchObject({ loadBalancerSourceRanges: ['192.168.1.0/24'], allocateLoadBalancerNodePorts: false });
    expect(checkManifests(objects)).toEqual([]);
  });
  test('label-value instance and partOf (not DNS names) pass every policy rule', () => {
    const { objects } = synthChart({ app: { partOf: 'Maths_Suite' }, proxy: { partOf: 'Maths_Suite.v2' } });
    expect(find(objects, 'Deployment', 'number-crunch-proxy').metadata.labels!['app.kubernetes.io/part-of']).toBe('Maths_Suite.v2');
    expect(checkManifests(objects)).toEqual([]);
  });
  test('two proxy replicas get their own PodDisruptionBudget next to the app\'s; every policy rule passes', () => {
    const { objects, chart } = synthChart({ proxy: { replicas: 2 }, namespace: 'maths' });
    const proxyPdb = find(objects, 'PodDisruptionBudget', 'number-crunch-proxy-pdb');
    const appPdb = find(objects, 'PodDisruptionBudget', 'number-crunch-pdb');
    const proxyPods = find(objects, 'Deployment', 'number-crunch-proxy').spec.template.metadata.labels;
    const appPods = find(objects, 'Deployment', 'number-crunch').spec.template.metadata.labels;
    expect([selects(proxyPdb.spec.selector.matchLabels, proxyPods), selects(proxyPdb.spec.selector.matchLabels, appPods)]).toEqual([true, false]);
    expect([selects(appPdb.spec.selector.matchLabels, appPods), selects(appPdb.spec.selector.matchLabels, proxyPods)]).toEqual([true, false]);
    expect(proxyPdb.spec.maxUnavailable).toBe(1);
    expect(proxyPdb.metadata.namespace).toBe('maths');
    expect(chart.proxy.podDisruptionBudget).toBeDefined();
    const names = objects.map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    expect(checkManifests(objects)).toEqual([]);
  });
  test('imageRevision reaches the app\'s pod template only; the manifests pass every policy rule', () => {
    const { objects } = synthChart({ app: { imageRevision: `sha256:${'d'.repeat(64)}` } });
    expect(find(objects, 'Deployment', 'number-crunch').spec.template.metadata.annotations)
      .toMatchObject({ 'number-crunch-cdk8s/image-revision': `sha256:${'d'.repeat(64)}` });
    expect(find(objects, 'Deployment', 'number-crunch-proxy').spec.template.metadata.annotations)
      .not.toHaveProperty(['number-crunch-cdk8s/image-revision']);
    expect(checkManifests(objects)).toEqual([]);
  });
  test('proxy options reach the proxy', () => {
    const { objects } = synthChart({ proxy: { replicas: 2, port: 9000 } });
    expectWiredCorrectly(objects, 'default');
    expect(find(objects, 'Deployment', 'number-crunch-proxy').spec.replicas).toBe(2);
    expect(find(objects, 'Service', 'number-crunch-lb').spec.ports[0].targetPort).toBe(9000);
  });
  test('networkPolicy: false', () => {
    const { objects, chart } = synthChart({ networkPolicy: false });
    expect(objects.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    expect(chart.networkPolicies).toBeUndefined();
  });
  test('app options reach the app', () => {
    const { objects, chart } = synthChart({
      app: { serviceName: 'calc-api', maxSurge: 2, podDisruptionBudget: false, spreadAcrossNodes: false, preStopSeconds: 8 },
    });
    expectWiredCorrectly(objects, 'default');
    const app = find(objects, 'Deployment', 'number-crunch');
    expect(chart.app.service.name).toBe('calc-api');
    expect(app.spec.strategy.rollingUpdate.maxSurge).toBe(2);
    expect(app.spec.template.spec.topologySpreadConstraints).toBeUndefined();
    expect(app.spec.template.spec.containers[0].lifecycle.preStop.exec.command).toEqual(['sleep', '8']);
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name)).toEqual(['number-crunch-proxy-pdb']);
  });
  test('the app\'s port flows to its Service, the upstream and the NetworkPolicies', () => {
    const { objects } = synthChart({ app: { port: 9090 } });
    expectWiredCorrectly(objects, 'default');
    const ports = (policy: string, rule: 'ingress' | 'egress') =>
      find(objects, 'NetworkPolicy', policy).spec[rule][0].ports.map((p: { port: number }) => p.port);
    expect(ports('number-crunch-netpol', 'ingress')).toEqual([9090]);
    expect(ports('number-crunch-proxy-netpol', 'egress')).toEqual([9090]);
  });
  test('a name given as undefined keeps the default (as when left out)', () => {
    const { objects } = synthChart({ proxy: { name: undefined }, loadBalancer: { name: undefined } });
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['number-crunch', 'number-crunch-proxy']);
    expect(find(objects, 'Service', 'number-crunch-lb').spec.type).toBe('LoadBalancer');
  });
  test('cdk8s ChartProps labels are added to every object', () => {
    for (const o of synthChart({ labels: { team: 'maths' } }).objects) expect(o.metadata.labels).toMatchObject({ team: 'maths' });
  });
  test('autoscaling reaches the app', () => {
    expect(find(synthChart({ app: { autoscaling: { maxReplicas: 5 } } }).objects, 'HorizontalPodAutoscaler').spec.maxReplicas).toBe(5);
  });
});

describe('errors', () => {
  test('invalid namespace', () => {
    expect(() => synthChart({ namespace: 'Maths' })).toThrow(/NumberCrunchChart at 'number-crunch': invalid namespace "Maths"/);
  });
  test('invalid name', () => {
    expect(() => synthChart({ name: 'calc_1' })).toThrow(/NumberCrunchChart at 'number-crunch': invalid name "calc_1"/);
  });
  test.each<[string, NumberCrunchChartProps, RegExp]>([
    ['app.name', { app: { name: 'calc' } }, /invalid app.name "calc": the chart sets it: leave it out and set the chart's name/],
    ['app.instance', { app: { instance: 'x' } }, /invalid app.instance "x": the chart sets it: leave it out and set the chart's name/],
    ['proxy.instance', { proxy: { instance: 'x' } }, /invalid proxy.instance "x": the chart sets it: leave it out and set the chart's name/],
    ['proxy.upstream', { proxy: { upstream: { serviceName: 's', namespace: 'n', clusterDomain: 'c', fqdn: 's.n.svc.c', port: 1 } } }, /invalid proxy.upstream .*the proxy forwards to the chart's app/],
    ['loadBalancer.target', { loadBalancer: { target: { name: 'w', port: 1, selectorLabels: {}, labels: {} } } }, /invalid loadBalancer.target .*the load balancer fronts the chart's proxy/],
  ])('%s is the chart\'s to set: refused with the fix', (_label, props, message) => {
    expect(() => synthChart(props)).toThrow(message);
  });
  test("the tutorial's bug: a LoadBalancer named like the ClusterIP Service fails synth", () => {
    expect(() => synthChart({ loadBalancer: { name: 'number-crunch-service' } })).toThrow(
      /Service "number-crunch-service" in namespace "default" is defined twice .*give them different names/s);
  });
});

test('the constructs compose inside another project\'s chart, in its namespace', () => {
  const chart = new Chart(new App({ outdir: '/nonexistent' }), 'theirs', { namespace: 'shop' });
  const app = new NumberCrunchApp(chart, 'Calc', { name: 'calc' });
  const proxy = new ReverseProxy(chart, 'Edge', { name: 'edge', upstream: app.address });
  new LoadBalancedService(chart, 'Public', { target: proxy });
  const objects = Testing.synth(chart) as Manifest[];
  expectWiredCorrectly(objects, 'shop');
  expect(proxy.nginxConf).toContain('server calc-service.shop.svc.cluster.local:8080 resolve max_fails=0;');
  expect(find(objects, 'Service', 'edge-lb').spec.type).toBe('LoadBalancer');
});

describe('metricsScrapeNamespace', () => {
  test('opens the app\'s 9464 and the proxy\'s 9113 to that namespace\'s pods; the manifests pass every policy rule', () => {
    const { objects } = synthChart({ metricsScrapeNamespace: 'monitoring' });
    const fromMonitoring = { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] };
    expect(find(objects, 'NetworkPolicy', 'number-crunch-netpol').spec.ingress)
      .toContainEqual({ ...fromMonitoring, ports: [{ protocol: 'TCP', port: 9464 }] });
    expect(find(objects, 'NetworkPolicy', 'number-crunch-proxy-netpol').spec.ingress)
      .toContainEqual({ ...fromMonitoring, ports: [{ protocol: 'TCP', port: 9113 }] });
    expect(checkManifests(objects)).toEqual([]);
  });

  test('with the proxy\'s exporter off, only the app\'s metrics port is opened', () => {
    const { objects } = synthChart({ metricsScrapeNamespace: 'monitoring', proxy: { metricsExporter: false } });
    expect(find(objects, 'NetworkPolicy', 'number-crunch-proxy-netpol').spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
  });

  test('without NetworkPolicies it is refused: it would do nothing', () => {
    expect(() => synthChart({ networkPolicy: false, metricsScrapeNamespace: 'monitoring' })).toThrow(
      /NumberCrunchChart at 'number-crunch': invalid metricsScrapeNamespace "monitoring": it opens the metrics ports in the NetworkPolicies, and networkPolicy is false/);
  });
});

describe('on the public Internet', () => {
  test('default props: the tutorial\'s plain http://<LB>:8080 only, no TLS', () => {
    const { objects } = synthChart();
    expect(find(objects, 'Service', 'number-crunch-lb').spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(find(objects, 'ConfigMap').data!['nginx.conf']).not.toMatch(/ssl|return 308/);
  });
  test('proxy.tls: the load balancer exposes 443 (HTTPS) and 80 (redirect), the proxy\'s policy admits both ports', () => {
    const { objects, chart } = synthChart({ proxy: { tls: { secretName: 'calc-tls' } } });
    expectWiredCorrectly(objects, 'default');
    expect(find(objects, 'Service', 'number-crunch-lb').spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 8443 }, { name: 'http', port: 80, targetPort: 8080 },
    ]);
    expect(chart.loadBalancer.httpsPort).toBe(443);
    expect(find(objects, 'NetworkPolicy', 'number-crunch-proxy-netpol').spec.ingress)
      .toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }, { protocol: 'TCP', port: 8443 }] }]);
  });
  test('proxy.tls: the only policy finding is the Secret the operator provides', () => {
    const { objects } = synthChart({ proxy: { tls: { secretName: 'calc-tls' } } });
    expect(checkManifests(objects).map((v) => `${v.rule}: ${v.message}`)).toEqual([
      'references-exist: Deployment/default/number-crunch-proxy: volume "tls" mounts Secret "calc-tls", which is not in the manifests: add it or fix the name',
    ]);
  });
});
