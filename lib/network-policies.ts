import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { COMPONENT_LABEL } from './labels';
import { checkName, checkPort } from './validate';
import { checkWorkload, IWorkload } from './workload';

/** Port of cluster DNS. */
export const DNS_PORT = 53;
/** Namespace of cluster DNS (CoreDNS in microk8s and most distributions). */
export const DNS_NAMESPACE = 'kube-system';
/** The label of cluster DNS's pods (CoreDNS keeps kube-dns's `k8s-app: kube-dns`, in kubeadm, microk8s and most others). */
export const DNS_POD_LABELS = { 'k8s-app': 'kube-dns' };
/** The label the API server puts on every Namespace, its name: selects a namespace by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Props of `ProxyNetworkPolicies`. */
export interface ProxyNetworkPoliciesProps {
  /**
   * The app: it accepts only the proxy, on its port (and the scraper on its `metricsPort`), and opens no connection.
   * Its policy is `<app name>-netpol`, labelled like the app.
   */
  readonly app: IWorkload;
  /** The proxy in front of it: it accepts its port from anywhere, and reaches only the app and cluster DNS. */
  readonly proxy: IWorkload;
  /**
   * Namespace whose pods may scrape the workloads' metrics ports (`metricsPort`), e.g. where Prometheus runs;
   * selected by its `kubernetes.io/metadata.name` label.
   * @default - none: nothing reaches the metrics ports
   */
  readonly metricsScrapeNamespace?: string;
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
    const scrapers = props.metricsScrapeNamespace === undefined
      ? undefined
      : checkName(this, 'metricsScrapeNamespace', props.metricsScrapeNamespace);
    const tcp = (port: number) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    // Only when a namespace is named and the workload has a metrics port: the scraper's pods, on that port alone.
    const scrape = (workload: IWorkload, prop: string): k8s.NetworkPolicyIngressRule[] =>
      (scrapers === undefined || workload.metricsPort === undefined ? [] : [{
        from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: scrapers } } }],
        ports: [tcp(checkPort(this, `${prop}.metricsPort`, workload.metricsPort))],
      }]);
    // Names distinct from every other object's: cdk8s maps validation reports to constructs by name alone.
    const metadata = (workload: IWorkload) => ({ name: `${workload.name}-netpol`, labels: { ...app.labels, [COMPONENT_LABEL]: 'network-policy' } });
    this.app = new k8s.KubeNetworkPolicy(this, 'App', {
      metadata: metadata(app),
      spec: {
        podSelector: { matchLabels: app.selectorLabels },
        // Egress listed with no rule: the app opens no connection at all (it needs none, not even DNS). No `egress`
        // field at all: the API server drops an empty list, and `kubectl diff` would then never come out clean.
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: proxy.selectorLabels } }], ports: [tcp(app.port)] },
          ...scrape(app, 'app'),
        ],
      },
    });
    this.proxy = new k8s.KubeNetworkPolicy(this, 'Proxy', {
      metadata: metadata(proxy),
      spec: {
        podSelector: { matchLabels: proxy.selectorLabels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [tcp(proxy.port), ...(proxy.tlsPort === undefined ? [] : [tcp(proxy.tlsPort)])] }, ...scrape(proxy, 'proxy')],
        egress: [
          { to: [{ podSelector: { matchLabels: app.selectorLabels } }], ports: [tcp(app.port)] },
          {
            // Both selectors in one peer: the DNS pods of kube-system, not every pod there.
            to: [{
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: DNS_NAMESPACE } },
              podSelector: { matchLabels: DNS_POD_LABELS },
            }],
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
