import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { COMPONENT_LABEL } from './labels';
import { checkWorkload, IWorkload } from './workload';

/** Port of cluster DNS. */
export const DNS_PORT = 53;
/** Namespace of cluster DNS (CoreDNS in microk8s and most distributions). */
export const DNS_NAMESPACE = 'kube-system';

/** Props of `ProxyNetworkPolicies`. */
export interface ProxyNetworkPoliciesProps {
  /** The app: it accepts only the proxy, on its port. Its policy is `<app name>-netpol`, labelled like the app. */
  readonly app: IWorkload;
  /** The proxy in front of it: it accepts its port from anywhere, and reaches only the app and cluster DNS. */
  readonly proxy: IWorkload;
}

/**
 * NetworkPolicies (networking.k8s.io/v1) for an app behind a proxy. They need a CNI that enforces NetworkPolicy
 * (Calico in microk8s).
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
export class ProxyNetworkPolicies extends Construct {
  /** Ingress policy of the app's pods. */
  public readonly app: ApiObject;
  /** Ingress and egress policy of the proxy's pods. */
  public readonly proxy: ApiObject;

  constructor(scope: Construct, id: string, props: ProxyNetworkPoliciesProps) {
    super(scope, id);
    const app = checkWorkload(this, 'app', props.app);
    const proxy = checkWorkload(this, 'proxy', props.proxy);
    const tcp = (port: number) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    // Names distinct from every other object's: cdk8s maps validation reports to constructs by name alone.
    const metadata = (workload: IWorkload) => ({ name: `${workload.name}-netpol`, labels: { ...app.labels, [COMPONENT_LABEL]: 'network-policy' } });
    this.app = new k8s.KubeNetworkPolicy(this, 'App', {
      metadata: metadata(app),
      spec: {
        podSelector: { matchLabels: app.selectorLabels },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: proxy.selectorLabels } }], ports: [tcp(app.port)] }],
      },
    });
    this.proxy = new k8s.KubeNetworkPolicy(this, 'Proxy', {
      metadata: metadata(proxy),
      spec: {
        podSelector: { matchLabels: proxy.selectorLabels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [tcp(proxy.port), ...(proxy.tlsPort === undefined ? [] : [tcp(proxy.tlsPort)])] }],
        egress: [
          { to: [{ podSelector: { matchLabels: app.selectorLabels } }], ports: [tcp(app.port)] },
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
