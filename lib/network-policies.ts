import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';

/** Port of cluster DNS. */
export const DNS_PORT = 53;
/** Namespace of cluster DNS (CoreDNS in microk8s and most distributions). */
export const DNS_NAMESPACE = 'kube-system';

/** Inputs of `ProxyNetworkPolicies`. */
export interface ProxyNetworkPoliciesProps {
  /** Labels selecting the app's pods. */
  readonly appSelector: Record<string, string>;
  /** Port the app's pods listen on. */
  readonly appPort: number;
  /** Labels selecting the proxy's pods. */
  readonly proxySelector: Record<string, string>;
  /** Port the proxy's pods listen on. */
  readonly proxyPort: number;
  /** Names of the app's and the proxy's policies. */
  readonly appPolicyName: string;
  readonly proxyPolicyName: string;
  /** Labels of the policies. */
  readonly labels: Record<string, string>;
}

/**
 * NetworkPolicies for app behind proxy: the app accepts only the proxy, on its port; the proxy accepts its port from
 * anywhere and may reach only the app and cluster DNS. Needs a CNI that enforces NetworkPolicy (Calico in microk8s).
 */
export class ProxyNetworkPolicies extends Construct {
  /** Ingress policy of the app's pods. */
  public readonly app: k8s.KubeNetworkPolicy;
  /** Ingress and egress policy of the proxy's pods. */
  public readonly proxy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, p: ProxyNetworkPoliciesProps) {
    super(scope, id);
    const tcp = (port: number) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    this.app = new k8s.KubeNetworkPolicy(this, 'App', {
      metadata: { name: p.appPolicyName, labels: p.labels },
      spec: {
        podSelector: { matchLabels: p.appSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: p.proxySelector } }], ports: [tcp(p.appPort)] }],
      },
    });
    this.proxy = new k8s.KubeNetworkPolicy(this, 'Proxy', {
      metadata: { name: p.proxyPolicyName, labels: p.labels },
      spec: {
        podSelector: { matchLabels: p.proxySelector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [tcp(p.proxyPort)] }],
        egress: [
          { to: [{ podSelector: { matchLabels: p.appSelector } }], ports: [tcp(p.appPort)] },
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': DNS_NAMESPACE } } }],
            ports: [
              { protocol: 'UDP', port: k8s.IntOrString.fromNumber(DNS_PORT) },
              { protocol: 'TCP', port: k8s.IntOrString.fromNumber(DNS_PORT) },
            ],
          },
        ],
      },
    });
  }
}
