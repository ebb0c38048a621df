import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { HTTP_PORT_NAME, selectPodsOf } from './secure-deployment';
import { checkCidr, checkIp, checkName, checkPort, invalid } from './validate';

/** How a LoadBalancer Service routes external traffic to nodes. */
export enum ExternalTrafficPolicy {
  /** Any node forwards to any ready pod (even spread; client source IP is lost). */
  CLUSTER = 'Cluster',
  /** Only nodes with a ready pod take traffic (client source IP kept). */
  LOCAL = 'Local',
}

/** Port the load balancer listens on by default (the tutorial's `curl http://<LB-IP>:8080/...`). */
export const DEFAULT_LOAD_BALANCER_PORT = 8080;

/**
 * MetalLB's annotations for the props that become annotations, under both prefixes MetalLB has used, with the same
 * value. MetalLB up to v0.14.8 (microk8s's `metallb` add-on ships v0.13.x) reads only `metallb.universe.tf/*`;
 * v0.14.9 and later read `metallb.io/*` first and still honour `metallb.universe.tf/*` as deprecated (with a warning
 * event). Writing both works on every release and keeps working once the old prefix is removed.
 */
const METALLB_ANNOTATIONS = {
  loadBalancerIP: ['metallb.universe.tf/loadBalancerIPs', 'metallb.io/loadBalancerIPs'],
  addressPool: ['metallb.universe.tf/address-pool', 'metallb.io/address-pool'],
} as const;

/** Options of a LoadBalancer Service that do not depend on what it fronts (also the chart's `loadBalancer` prop). */
export interface LoadBalancerOptions {
  /** Name of the Service; never the same as a ClusterIP Service's. @default `${workload name}-lb` */
  readonly name?: string;
  /** Port the load balancer listens on. @default 8080 */
  readonly port?: number;
  /** Address to request from MetalLB (annotation `loadBalancerIPs`, under both MetalLB prefixes). @default - the next free address of the pool */
  readonly loadBalancerIP?: string;
  /** MetalLB address pool (annotation `address-pool`, under both MetalLB prefixes). @default - MetalLB's default pool */
  readonly addressPool?: string;
  /** How external traffic reaches the pods. @default ExternalTrafficPolicy.CLUSTER */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  /**
   * Client CIDR blocks allowed to connect. kube-proxy applies them on the load balancer's address only, so setting
   * them also turns node ports off (see `allocateNodePorts`): a node port would let any client around them.
   * @default - any client
   */
  readonly loadBalancerSourceRanges?: string[];
  /**
   * Allocate node ports for the load balancer (`spec.allocateLoadBalancerNodePorts`, Kubernetes 1.24+). MetalLB (L2
   * and BGP) does not need them. `true` with `loadBalancerSourceRanges` is allowed for clouds whose load balancer
   * forwards to node ports, but it reopens the bypass: any client that reaches a node's port skips the ranges, so
   * firewall the nodes. Turning it off on an existing Service does not free node ports already allocated: delete and
   * re-create the Service (or remove its `nodePort` fields).
   * @default - false when `loadBalancerSourceRanges` is set, else the cluster's default (true)
   */
  readonly allocateNodePorts?: boolean;
  /** Extra Service annotations, e.g. a cloud's load-balancer settings. @default - none */
  readonly annotations?: Record<string, string>;
}

/** Props of `LoadBalancedService`. */
export interface LoadBalancedServiceProps extends LoadBalancerOptions {
  /** The workload whose pods receive the traffic. */
  readonly target: kplus.Deployment;
  /** The pods' port. */
  readonly targetPort: number;
  /** Labels of the Service. @default - the target Deployment's labels */
  readonly labels?: Record<string, string>;
}

/**
 * A Service of type LoadBalancer in front of a workload, with its own name, for MetalLB (requested IP, address pool)
 * and cloud load balancers (annotations, source ranges, external traffic policy).
 */
export class LoadBalancedService extends Construct {
  /** The LoadBalancer Service. */
  public readonly service: kplus.Service;
  /** Port the load balancer listens on. */
  public readonly port: number;

  constructor(scope: Construct, id: string, props: LoadBalancedServiceProps) {
    super(scope, id);
    if (!props || !props.target) {
      invalid(this, 'target', props?.target, 'pass the Deployment to put behind the load balancer');
    }
    const name = checkName(this, 'name', props.name ?? `${props.target.name}-lb`);
    this.port = checkPort(this, 'port', props.port ?? DEFAULT_LOAD_BALANCER_PORT);
    const targetPort = checkPort(this, 'targetPort', props.targetPort);
    const extra = props.annotations ?? {};
    const annotations: Record<string, string> = { ...extra };
    // Props that become MetalLB annotations: each may be set one way only.
    const metallb = [
      { prop: 'loadBalancerIP', value: props.loadBalancerIP, what: 'address', check: checkIp },
      { prop: 'addressPool', value: props.addressPool, what: 'pool', check: checkName },
    ] as const;
    for (const { prop, value, what, check } of metallb) {
      if (value === undefined) continue;
      check(this, prop, value);
      const keys = METALLB_ANNOTATIONS[prop];
      const clash = keys.find((key) => key in extra);
      if (clash !== undefined) {
        invalid(this, 'annotations', extra, `set the ${what} either with ${prop} or with the ${clash} annotation, not both`);
      }
      for (const key of keys) annotations[key] = value;
    }
    for (const [key, value] of Object.entries(extra)) {
      if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key) || typeof value !== 'string') {
        invalid(this, `annotations["${key}"]`, value,
          'annotation keys are an optional DNS prefix and "/", then a name of letters, digits, - _ .; values are strings');
      }
    }
    const ranges = props.loadBalancerSourceRanges;
    ranges?.forEach((range, i) => checkCidr(this, `loadBalancerSourceRanges[${i}]`, range));
    if (props.allocateNodePorts !== undefined && typeof props.allocateNodePorts !== 'boolean') {
      invalid(this, 'allocateNodePorts', props.allocateNodePorts, 'must be true or false');
    }
    // kube-proxy filters source ranges on the load balancer's address only: with ranges, no node port by default.
    const allocateNodePorts = props.allocateNodePorts ?? (ranges !== undefined && ranges.length > 0 ? false : undefined);
    const policy = props.externalTrafficPolicy ?? ExternalTrafficPolicy.CLUSTER;
    if (!Object.values(ExternalTrafficPolicy).includes(policy)) {
      invalid(this, 'externalTrafficPolicy', policy, `must be one of ${Object.values(ExternalTrafficPolicy).join(', ')}`);
    }

    this.service = new kplus.Service(this, 'Service', {
      metadata: {
        name,
        labels: props.labels ?? props.target.metadata.toJson().labels,
        annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
      },
      type: kplus.ServiceType.LOAD_BALANCER,
      ports: [{ name: HTTP_PORT_NAME, port: this.port, targetPort }],
      loadBalancerSourceRanges: ranges,
    });
    selectPodsOf(this.service, props.target);
    // cdk8s-plus 27 has no externalTrafficPolicy or allocateLoadBalancerNodePorts prop.
    ApiObject.of(this.service).addJsonPatch(JsonPatch.add('/spec/externalTrafficPolicy', policy));
    if (allocateNodePorts !== undefined) {
      ApiObject.of(this.service).addJsonPatch(JsonPatch.add('/spec/allocateLoadBalancerNodePorts', allocateNodePorts));
    }
  }
}
