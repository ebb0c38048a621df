import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';

/** Port of cluster DNS. */
export const DNS_PORT = 53;
/** Namespace of cluster DNS (CoreDNS in microk8s and most distributions). */
export const DNS_NAMESPACE = 'kube-system';

/** Inputs of `ProxyNetworkPolicies`. */
export interface ProxyNetworkPoliciesProps {
  /** Labels selecting the app's pods. */
  readonly appSelector: { [key: string]: string };
  /** Port the app's pods listen on. */
  readonly appPort: number;
  /** Labels selecting the proxy's pods. */
  readonly proxySelector: { [key: string]: string };
  /** Port the proxy's pods listen on. */
  readonly proxyPort: number;
  /** Name of the app's policy. */
  readonly appPolicyName: string;
  /** Name of the proxy's policy. */
  readonly proxyPolicyName: string;
  /** Labels of the policies. */
  readonly labels: { [key: string]: string };
}

/**
 * NetworkPolicies for app behind proxy: the app accepts only the proxy, on its port; the proxy accepts its port from
 * anywhere and may reach only the app and cluster DNS. Needs a CNI that enforces NetworkPolicy (Calico in microk8s).
 */
export class ProxyNetworkPolicies extends Construct {
  /** Ingress policy of the app's pods (a networking.k8s.io/v1 NetworkPolicy). */
  public readonly app: ApiObject;
  /** Ingress and egress policy of the proxy's pods (a networking.k8s.io/v1 NetworkPolicy). */
  public readonly proxy: ApiObject;

  constructor(scope: Construct, id: string, props: ProxyNetworkPoliciesProps) {
    super(scope, id);
    const tcp = (port: number) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    this.app = new k8s.KubeNetworkPolicy(this, 'App', {
      metadata: { name: props.appPolicyName, labels: props.labels },
      spec: {
        podSelector: { matchLabels: props.appSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: props.proxySelector } }], ports: [tcp(props.appPort)] }],
      },
    });
    this.proxy = new k8s.KubeNetworkPolicy(this, 'Proxy', {
      metadata: { name: props.proxyPolicyName, labels: props.labels },
      spec: {
        podSelector: { matchLabels: props.proxySelector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [tcp(props.proxyPort)] }],
        egress: [
          { to: [{ podSelector: { matchLabels: props.appSelector } }], ports: [tcp(props.appPort)] },
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
