import { DNS_NAMESPACE, DNS_PORT, ProxyNetworkPolicies, ProxyNetworkPoliciesProps } from '../lib/network-policies';
import { find, synth } from './util';

const props: ProxyNetworkPoliciesProps = {
  appSelector: { 'app.kubernetes.io/name': 'calc' },
  appPort: 9090,
  proxySelector: { 'app.kubernetes.io/name': 'edge' },
  proxyPort: 8443,
  appPolicyName: 'calc-netpol',
  proxyPolicyName: 'edge-netpol',
  labels: { team: 'maths' },
};
const objects = synth((chart) => { new ProxyNetworkPolicies(chart, 'policies', props); });
const tcp = (port: number) => ({ protocol: 'TCP', port });

test('the app accepts only the proxy, only on the app\'s port', () => {
  expect(find(objects, 'NetworkPolicy', 'calc-netpol')).toMatchObject({
    metadata: { labels: props.labels },
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
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': DNS_NAMESPACE } } }],
        ports: [{ protocol: 'UDP', port: DNS_PORT }, tcp(DNS_PORT)],
      },
    ],
  });
});

test('exactly two policies', () => {
  expect(objects.map((o) => o.metadata.name)).toEqual(['calc-netpol', 'edge-netpol']);
});
