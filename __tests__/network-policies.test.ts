import { IWorkload, ProxyNetworkPolicies, ProxyNetworkPoliciesProps } from '../lib';
import { errorOf, find, synth } from './util';

// The policies read only names, ports and labels of the two workloads.
const calc: IWorkload = {
  name: 'calc', port: 9090, selectorLabels: { 'app.kubernetes.io/name': 'calc' },
  labels: { 'app.kubernetes.io/name': 'calc', 'app.kubernetes.io/component': 'api', 'team': 'maths' },
};
const edge: IWorkload = {
  name: 'edge', port: 8443, selectorLabels: { 'app.kubernetes.io/name': 'edge' },
  labels: { 'app.kubernetes.io/name': 'edge', 'app.kubernetes.io/component': 'proxy' },
};
const props = { appSelector: calc.selectorLabels, proxySelector: edge.selectorLabels };
const objects = synth((chart) => { new ProxyNetworkPolicies(chart, 'policies', { app: calc, proxy: edge }); });
const tcp = (port: number) => ({ protocol: 'TCP', port });

test('each policy is named after its workload and labelled like the app, as a network-policy', () => {
  for (const name of ['calc-netpol', 'edge-netpol']) {
    expect(find(objects, 'NetworkPolicy', name).metadata.labels)
      .toEqual({ 'app.kubernetes.io/name': 'calc', 'app.kubernetes.io/component': 'network-policy', 'team': 'maths' });
  }
});

test('the app accepts only the proxy, only on the app\'s port, and opens no connection at all', () => {
  expect(find(objects, 'NetworkPolicy', 'calc-netpol').spec).toEqual({
    podSelector: { matchLabels: props.appSelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ podSelector: { matchLabels: props.proxySelector } }], ports: [tcp(9090)] }],
  });
});

test('the proxy accepts its port from anywhere and reaches only the app\'s port and the cluster DNS pods', () => {
  expect(find(objects, 'NetworkPolicy', 'edge-netpol').spec).toEqual({
    podSelector: { matchLabels: props.proxySelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ ports: [tcp(8443)] }],
    egress: [
      { to: [{ podSelector: { matchLabels: props.appSelector } }], ports: [tcp(9090)] },
      {
        to: [{
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        }],
        ports: [{ protocol: 'UDP', port: 53 }, tcp(53)],
      },
    ],
  });
});

describe('metricsScrapeNamespace', () => {
  const withMetrics = synth((chart) => {
    new ProxyNetworkPolicies(chart, 'policies', {
      app: { ...calc, metricsPort: 9464 }, proxy: { ...edge, metricsPort: 9113 }, metricsScrapeNamespace: 'monitoring',
    });
  });
  const fromMonitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];

  test('the app also accepts the named namespace\'s pods, on its metrics port only', () => {
    expect(find(withMetrics, 'NetworkPolicy', 'calc-netpol').spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: props.proxySelector } }], ports: [tcp(9090)] },
      { from: fromMonitoring, ports: [tcp(9464)] },
    ]);
    expect(find(withMetrics, 'NetworkPolicy', 'calc-netpol').spec.egress).toBeUndefined();
  });

  test('the proxy also accepts the named namespace\'s pods, on its metrics port only', () => {
    expect(find(withMetrics, 'NetworkPolicy', 'edge-netpol').spec.ingress).toEqual([
      { ports: [tcp(8443)] },
      { from: fromMonitoring, ports: [tcp(9113)] },
    ]);
  });

  test('without it, workloads with metrics ports get no scrape ingress', () => {
    const none = synth((chart) => {
      new ProxyNetworkPolicies(chart, 'policies', { app: { ...calc, metricsPort: 9464 }, proxy: { ...edge, metricsPort: 9113 } });
    });
    expect(find(none, 'NetworkPolicy', 'calc-netpol').spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: props.proxySelector } }], ports: [tcp(9090)] },
    ]);
    expect(find(none, 'NetworkPolicy', 'edge-netpol').spec.ingress).toEqual([{ ports: [tcp(8443)] }]);
  });

  test('a workload without a metrics port gets no scrape ingress', () => {
    const appOnly = synth((chart) => {
      new ProxyNetworkPolicies(chart, 'policies', { app: { ...calc, metricsPort: 9464 }, proxy: edge, metricsScrapeNamespace: 'monitoring' });
    });
    expect(find(appOnly, 'NetworkPolicy', 'edge-netpol').spec.ingress).toEqual([{ ports: [tcp(8443)] }]);
  });

  test('a namespace that is not a DNS label is refused, naming the prop', () => {
    expect(errorOf((scope) => new ProxyNetworkPolicies(scope, 'p', { app: calc, proxy: edge, metricsScrapeNamespace: 'Monitoring' })))
      .toMatch(/ProxyNetworkPolicies at 'test\/p': invalid metricsScrapeNamespace "Monitoring"/);
  });
});

test('exactly two policies', () => {
  expect(objects.map((o) => o.metadata.name)).toEqual(['calc-netpol', 'edge-netpol']);
});

test('a workload without a selector or a port is refused, naming the prop', () => {
  expect(errorOf((scope) => new ProxyNetworkPolicies(scope, 'p', { app: { ...calc, selectorLabels: {} }, proxy: edge })))
    .toMatch(/ProxyNetworkPolicies at 'test\/p': invalid app.selectorLabels \{\}: must have at least one label/);
  expect(errorOf((scope) => new ProxyNetworkPolicies(scope, 'p', { app: calc, proxy: { ...edge, port: 70000 } })))
    .toMatch(/invalid proxy.port 70000: a port must be an integer from 1 to 65535/);
  expect(errorOf((scope) => new ProxyNetworkPolicies(scope, 'p', { app: calc } as unknown as ProxyNetworkPoliciesProps)))
    .toMatch(/invalid proxy undefined: pass the workload/);
});

test('a proxy that serves HTTPS is reachable on both its ports', () => {
  const secured = synth((chart) => { new ProxyNetworkPolicies(chart, 'policies', { app: calc, proxy: { ...edge, port: 8080, tlsPort: 8443 } }); });
  expect(find(secured, 'NetworkPolicy', 'edge-netpol').spec.ingress).toEqual([{ ports: [tcp(8080), tcp(8443)] }]);
});
