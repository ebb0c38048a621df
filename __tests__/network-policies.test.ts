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

test('the app accepts only the proxy, only on the app\'s port', () => {
  expect(find(objects, 'NetworkPolicy', 'calc-netpol')).toMatchObject({
    spec: {
      podSelector: { matchLabels: props.appSelector },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: props.proxySelector } }], ports: [tcp(9090)] }],
    },
  });
  expect(find(objects, 'NetworkPolicy', 'calc-netpol').spec.egress).toBeUndefined();
});

test('the proxy accepts its port from anywhere and reaches only the app\'s port and cluster DNS', () => {
  expect(find(objects, 'NetworkPolicy', 'edge-netpol').spec).toEqual({
    podSelector: { matchLabels: props.proxySelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ ports: [tcp(8443)] }],
    egress: [
      { to: [{ podSelector: { matchLabels: props.appSelector } }], ports: [tcp(9090)] },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
        ports: [{ protocol: 'UDP', port: 53 }, tcp(53)],
      },
    ],
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
