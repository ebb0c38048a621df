import { ApiObject, Chart, ChartProps, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { COMPONENT_LABEL } from './labels';
import { LoadBalancedService, LoadBalancedServiceProps } from './load-balanced-service';
import { findNameCollisions } from './name-collisions';
import { ProxyNetworkPolicies } from './network-policies';
import { DEFAULT_APP_NAME, NumberCrunchApp, NumberCrunchAppProps } from './number-crunch-app';
import { ReverseProxy, ReverseProxyProps } from './reverse-proxy';
import { DEFAULT_NAMESPACE } from './service-address';
import { checkName, describe, invalid } from './validate';

/** Props of `NumberCrunchChart`, and cdk8s's `ChartProps` (`labels` on every object; `namespace` of every object). */
export interface NumberCrunchChartProps extends ChartProps {
  /**
   * Name of the stack: the app's name, the `app.kubernetes.io/instance` of every object, and the base of the other
   * names (`<name>-proxy`, `<name>-lb`, `<name>-service`).
   * @default 'number-crunch'
   */
  readonly name?: string;
  /**
   * Emit the Namespace object itself.
   * @default - true unless the namespace is 'default'
   */
  readonly createNamespace?: boolean;
  /**
   * Label the Namespace the chart writes so that the API server enforces the Pod Security "restricted" standard in it.
   * Turn off only if other, less hardened workloads share it.
   * @default true
   * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/
   */
  readonly enforcePodSecurity?: boolean;
  /**
   * The service (image, replicas, autoscaling, ...); its name and instance are the chart's `name`.
   * @default - see `NumberCrunchAppProps`
   */
  readonly app?: NumberCrunchAppProps;
  /**
   * The reverse proxy; it forwards to the app.
   * @default - see `ReverseProxyProps`; name `<name>-proxy`
   */
  readonly proxy?: ReverseProxyProps;
  /**
   * The LoadBalancer Service; it fronts the proxy.
   * @default - see `LoadBalancedServiceProps`; name `<name>-lb`, port 8080 (with `proxy.tls`: 443 for HTTPS and 80)
   */
  readonly loadBalancer?: LoadBalancedServiceProps;
  /**
   * Make NetworkPolicies (turn off where the CNI ignores them).
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Namespace whose pods may scrape the app's and the proxy's metrics ports through the NetworkPolicies (where
   * Prometheus runs).
   * @default - none: the policies let nothing reach the metrics ports
   */
  readonly metricsScrapeNamespace?: string;
}

/** Props the chart sets itself, and where to set them instead. */
const SET_BY_CHART: ReadonlyArray<[keyof NumberCrunchChartProps, string, string]> = [
  ['app', 'name', "the chart's name"],
  ['app', 'instance', "the chart's name"],
  ['proxy', 'instance', "the chart's name"],
  ['proxy', 'upstream', 'nothing: the proxy forwards to the chart\'s app'],
  ['proxy', 'fallbackUpstream', 'nothing: the proxy falls back to the chart\'s app pods'],
  ['loadBalancer', 'target', 'nothing: the load balancer fronts the chart\'s proxy'],
];

/**
 * The whole number-crunch stack: the service behind its ClusterIP Service, nginx forwarding to that Service's FQDN,
 * a LoadBalancer Service in front of nginx, and NetworkPolicies between them.
 */
export class NumberCrunchChart extends Chart {
  /** The service and its ClusterIP Service. */
  public readonly app: NumberCrunchApp;
  /** nginx in front of the app. */
  public readonly proxy: ReverseProxy;
  /** The LoadBalancer Service in front of nginx. */
  public readonly loadBalancer: LoadBalancedService;
  /** The NetworkPolicies, unless turned off. */
  public readonly networkPolicies?: ProxyNetworkPolicies;
  /** The Namespace object, when the chart makes it. */
  public readonly namespaceObject?: ApiObject;

  constructor(scope: Construct, id: string, props: NumberCrunchChartProps = {}) {
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    super(scope, id, { ...props, namespace });
    checkName(this, 'namespace', namespace);
    const name = checkName(this, 'name', props.name ?? DEFAULT_APP_NAME);
    for (const [group, prop, instead] of SET_BY_CHART) {
      const value = (props[group] as Record<string, unknown> | undefined)?.[prop];
      if (value !== undefined) invalid(this, `${group}.${prop}`, value, `the chart sets it: leave it out and set ${instead}`);
    }

    if (props.createNamespace ?? namespace !== DEFAULT_NAMESPACE) {
      // First, so kubectl applies it first; labelled below, once the app's labels are known.
      this.namespaceObject = new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: namespace } });
      // A Namespace is not namespaced, but cdk8s gives every object of a chart the chart's namespace, and its
      // metadata props cannot unset it.
      this.namespaceObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }
    this.app = new NumberCrunchApp(this, 'App', { ...props.app, name, instance: name });
    this.proxy = new ReverseProxy(this, 'Proxy', {
      ...props.proxy, name: props.proxy?.name ?? `${name}-proxy`, instance: name, upstream: this.app.address,
      fallbackUpstream: this.app.podsAddress,
    });
    this.loadBalancer = new LoadBalancedService(this, 'LoadBalancer', {
      ...props.loadBalancer, name: props.loadBalancer?.name ?? `${name}-lb`, target: this.proxy,
    });
    if (props.networkPolicy === false && props.metricsScrapeNamespace !== undefined) {
      invalid(this, 'metricsScrapeNamespace', props.metricsScrapeNamespace,
        'it opens the metrics ports in the NetworkPolicies, and networkPolicy is false: leave it out, or turn networkPolicy on');
    }
    if (props.networkPolicy ?? true) {
      this.networkPolicies = new ProxyNetworkPolicies(this, 'NetworkPolicies', {
        app: this.app, proxy: this.proxy, metricsScrapeNamespace: props.metricsScrapeNamespace,
      });
    }
    const namespaceLabels = {
      ...this.app.labels,
      [COMPONENT_LABEL]: 'namespace',
      // The API server's Pod Security admission refuses pods that are not hardened the way these constructs harden theirs.
      ...((props.enforcePodSecurity ?? true)
        ? { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' }
        : {}),
    };
    for (const [key, value] of Object.entries(namespaceLabels)) this.namespaceObject?.metadata.addLabel(key, value);

    // Two objects of one kind with one name overwrite each other on apply (the tutorial's bug): caught at synth.
    this.node.addValidation({
      validate: () => findNameCollisions(
        this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson()),
        namespace,
      ).map((problem) => `${describe(this)}: ${problem}`),
    });
  }
}
