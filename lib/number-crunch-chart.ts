import { ApiObject, Chart, ChartProps, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { DEFAULT_PART_OF, recommendedLabels, VERSION_LABEL } from './labels';
import { LoadBalancedService, LoadBalancerOptions } from './load-balanced-service';
import { findNameCollisions } from './name-collisions';
import { ProxyNetworkPolicies } from './network-policies';
import { DEFAULT_APP_NAME, NumberCrunchApp, NumberCrunchAppOptions, NumberCrunchAutoscalingProps } from './number-crunch-app';
import { ReverseProxy, ReverseProxyOptions } from './reverse-proxy';
import { DEFAULT_NAMESPACE } from './service-address';
import { checkName, describe } from './validate';

/**
 * Props of `NumberCrunchChart`, and cdk8s's `ChartProps`: `labels` are added to every object, and `namespace` (the
 * namespace of every object) defaults to 'default' here.
 */
export interface NumberCrunchChartProps extends ChartProps {
  /** Emit the Namespace object itself. @default - true unless the namespace is 'default' */
  readonly createNamespace?: boolean;
  /**
   * Label the Namespace object the chart writes so that the API server enforces the Pod Security "restricted" standard
   * in it (`pod-security.kubernetes.io/enforce` and `warn`). Turn off only if other, less hardened workloads share it.
   * @default true
   */
  readonly enforcePodSecurity?: boolean;
  /** Base name: the app's Deployment; other names derive from it. @default 'number-crunch' */
  readonly name?: string;
  /** Image of the service. @default 'number-crunch:local' */
  readonly image?: string;
  /** Pull policy of the service's image. @default kplus.ImagePullPolicy.IF_NOT_PRESENT */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /** Revision of the service's image (e.g. its image ID), so `kubectl apply` rolls the pods onto a rebuilt image under the same tag; see `WorkloadProps.imageRevision`. @default - none */
  readonly imageRevision?: string;
  /** Pods of the service. @default 2 */
  readonly replicas?: number;
  /** Cluster DNS domain. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Autoscale the service. @default - no autoscaler */
  readonly autoscaling?: NumberCrunchAutoscalingProps;
  /** Further options of the service (rollout, PodDisruptionBudget, spreading, resources, ...). @default - see `NumberCrunchAppProps` */
  readonly app?: NumberCrunchAppOptions;
  /** Options of the reverse proxy. @default - see `ReverseProxyProps`; name `${name}-proxy` */
  readonly proxy?: ReverseProxyOptions;
  /** Options of the load balancer. @default - name `${name}-lb`, port 8080, MetalLB's default pool */
  readonly loadBalancer?: LoadBalancerOptions;
  /** Make NetworkPolicies (turn off where the CNI ignores them). @default true */
  readonly networkPolicy?: boolean;
}

/**
 * The whole number-crunch stack: the service behind its ClusterIP Service, nginx forwarding to that Service's FQDN,
 * and a LoadBalancer Service (its own name) in front of nginx.
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

    if (props.createNamespace ?? namespace !== DEFAULT_NAMESPACE) {
      // Made first, so it comes first in the manifests (kubectl applies in order); labelled below.
      // The API server's Pod Security admission enforces the "restricted" standard in it (and warns on apply), so a
      // pod that is not hardened the way these constructs harden theirs is refused, not just reported by the checks.
      const podSecurity = (props.enforcePodSecurity ?? true)
        ? { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' }
        : undefined;
      this.namespaceObject = new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: namespace, labels: podSecurity } });
      // A Namespace is not itself namespaced: drop the chart's namespace from its metadata.
      this.namespaceObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }
    this.app = new NumberCrunchApp(this, 'App', {
      ...props.app,
      name,
      instance: name,
      image: props.image,
      imagePullPolicy: props.imagePullPolicy,
      imageRevision: props.imageRevision,
      replicas: props.replicas,
      clusterDomain: props.clusterDomain,
      autoscaling: props.autoscaling,
    });
    // Objects of the whole stack (namespace, load balancer, policies) carry the app's version.
    const version = this.app.labels[VERSION_LABEL];
    const stackLabels = (objectName: string, component: string) =>
      recommendedLabels({ name: objectName, instance: name, component, partOf: DEFAULT_PART_OF, version });
    for (const [key, value] of Object.entries(stackLabels(name, 'namespace'))) this.namespaceObject?.metadata.addLabel(key, value);
    this.proxy = new ReverseProxy(this, 'Proxy', { name: `${name}-proxy`, instance: name, ...props.proxy, upstream: this.app.address });
    const loadBalancerName = props.loadBalancer?.name ?? `${name}-lb`;
    this.loadBalancer = new LoadBalancedService(this, 'LoadBalancer', {
      ...props.loadBalancer,
      name: loadBalancerName,
      target: this.proxy.deployment,
      targetPort: this.proxy.port,
      labels: stackLabels(loadBalancerName, 'load-balancer'),
    });
    if (props.networkPolicy ?? true) {
      // Names distinct from every other object's: cdk8s maps validation reports to constructs by name alone.
      this.networkPolicies = new ProxyNetworkPolicies(this, 'NetworkPolicies', {
        appPolicyName: `${this.app.deployment.name}-netpol`,
        proxyPolicyName: `${this.proxy.deployment.name}-netpol`,
        labels: stackLabels(name, 'network-policy'),
        appSelector: this.app.selectorLabels,
        appPort: this.app.containerPort,
        proxySelector: this.proxy.selectorLabels,
        proxyPort: this.proxy.port,
      });
    }

    // The tutorial's bug, caught at synth: two objects of one kind with one name overwrite each other.
    this.node.addValidation({
      validate: () => findNameCollisions(
        this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson()),
        namespace,
      ).map((problem) => `${describe(this)}: ${problem}`),
    });
  }
}
