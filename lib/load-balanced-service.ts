import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { COMPONENT_LABEL, NAME_LABEL } from './labels';
import { checkCidr, checkIp, checkName, checkPort, invalid } from './validate';
import { checkWorkload, HTTP_PORT_NAME, HTTPS_PORT_NAME, IWorkload } from './workload';

/** How a LoadBalancer Service routes external traffic to nodes. */
export enum ExternalTrafficPolicy {
  /** Any node forwards to any ready pod, spread evenly. The pods see a node's address instead of the client's. */
  CLUSTER = 'Cluster',
  /** Only nodes with a ready pod take traffic, each to its own pods. The pods see the client's address. */
  LOCAL = 'Local',
}

/** Port the load balancer listens on by default (the tutorial's `curl http://<LB-IP>:8080/...`). */
export const DEFAULT_LOAD_BALANCER_PORT = 8080;
/** Port of plain HTTP when the target serves HTTPS too (it redirects to HTTPS there). */
export const DEFAULT_LOAD_BALANCER_HTTP_PORT = 80;
/** Port the load balancer serves the target's HTTPS on, when the target has a `tlsPort`. */
export const LOAD_BALANCER_HTTPS_PORT = 443;

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

/** Props of `LoadBalancedService`. */
export interface LoadBalancedServiceProps {
  /**
   * The workload whose pods receive the traffic, on its port. Required; `NumberCrunchChart` sets it to its proxy.
   */
  readonly target?: IWorkload;
  /**
   * Name of the Service; never the same as a ClusterIP Service's.
   * @default `${target.name}-lb`
   */
  readonly name?: string;
  /**
   * Port the load balancer listens on for plain HTTP. When the target serves HTTPS (`tlsPort`), the load balancer
   * also exposes that on 443.
   * @default - 8080; 80 when the target serves HTTPS
   */
  readonly port?: number;
  /**
   * Address to request from MetalLB (annotation `loadBalancerIPs`, under both MetalLB prefixes).
   * @default - the next free address of the pool
   * @see https://metallb.universe.tf/usage/#requesting-specific-ips
   */
  readonly loadBalancerIP?: string;
  /**
   * MetalLB address pool (annotation `address-pool`, under both MetalLB prefixes).
   * @default - MetalLB's default pool
   */
  readonly addressPool?: string;
  /**
   * How external traffic reaches the pods. `LOCAL` keeps the client's address, which the proxy's per-client limits
   * and logs need; with MetalLB in L2 mode all traffic then goes to the pods on the one node that announces the
   * address (MetalLB picks a node with a ready pod, and moves the address when that node has none left). `CLUSTER`
   * spreads over every pod, but the pods see a node's address, shared by every client.
   * @default ExternalTrafficPolicy.LOCAL
   * @see https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/#preserving-the-client-source-ip
   */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  /**
   * Client CIDR blocks allowed to connect. kube-proxy applies them on the load balancer's address only, so setting
   * them also turns node ports off (see `allocateNodePorts`).
   * @default - any client
   */
  readonly loadBalancerSourceRanges?: string[];
  /**
   * Allocate node ports (`spec.allocateLoadBalancerNodePorts`). MetalLB does not need them. `true` with
   * `loadBalancerSourceRanges` is for clouds whose load balancer forwards to node ports, but a client that reaches a
   * node's port then skips the ranges: firewall the nodes.
   * @default - false when `loadBalancerSourceRanges` is set, else the cluster's default (true)
   */
  readonly allocateNodePorts?: boolean;
  /**
   * Extra Service annotations, e.g. a cloud's load-balancer settings.
   * @default - none
   */
  readonly annotations?: { [key: string]: string };
}

/**
 * A Service of type LoadBalancer in front of a workload, with its own name, for MetalLB (requested IP, address pool)
 * and cloud load balancers (annotations, source ranges, external traffic policy).
 */
export class LoadBalancedService extends Construct {
  /** The LoadBalancer Service (v1). */
  public readonly service: ApiObject;
  /** Port the load balancer listens on for plain HTTP. */
  public readonly port: number;
  /** Port the load balancer serves HTTPS on (443), when its target serves HTTPS. */
  public readonly httpsPort?: number;

  constructor(scope: Construct, id: string, props: LoadBalancedServiceProps) {
    super(scope, id);
    const target = props?.target;
    if (!target) {
      invalid(this, 'target', target, 'pass the workload to put behind the load balancer, e.g. a ReverseProxy');
    }
    checkWorkload(this, 'target', target);
    const name = checkName(this, 'name', props.name ?? `${target.name}-lb`);
    const https = target.tlsPort !== undefined;
    this.port = checkPort(this, 'port', props.port ?? (https ? DEFAULT_LOAD_BALANCER_HTTP_PORT : DEFAULT_LOAD_BALANCER_PORT));
    if (https && this.port === LOAD_BALANCER_HTTPS_PORT) {
      invalid(this, 'port', this.port, `the target serves HTTPS, which the load balancer exposes on ${LOAD_BALANCER_HTTPS_PORT}: pick another port for plain HTTP, e.g. ${DEFAULT_LOAD_BALANCER_HTTP_PORT}`);
    }
    this.httpsPort = https ? LOAD_BALANCER_HTTPS_PORT : undefined;
    const annotations = metallbAnnotations(this, props);
    const ranges = props.loadBalancerSourceRanges;
    ranges?.forEach((range, i) => checkCidr(this, `loadBalancerSourceRanges[${i}]`, range));
    if (props.allocateNodePorts !== undefined && typeof props.allocateNodePorts !== 'boolean') {
      invalid(this, 'allocateNodePorts', props.allocateNodePorts, 'must be true or false');
    }
    const policy = props.externalTrafficPolicy ?? ExternalTrafficPolicy.LOCAL;
    if (!Object.values(ExternalTrafficPolicy).includes(policy)) {
      invalid(this, 'externalTrafficPolicy', policy, `must be one of ${Object.values(ExternalTrafficPolicy).join(', ')}`);
    }

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: {
        name,
        labels: { ...target.labels, [NAME_LABEL]: name, [COMPONENT_LABEL]: 'load-balancer' },
        annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
      },
      spec: {
        type: 'LoadBalancer',
        selector: target.selectorLabels,
        ports: [
          ...(https ? [{ name: HTTPS_PORT_NAME, port: LOAD_BALANCER_HTTPS_PORT, targetPort: k8s.IntOrString.fromNumber(target.tlsPort!) }] : []),
          { name: HTTP_PORT_NAME, port: this.port, targetPort: k8s.IntOrString.fromNumber(target.port) },
        ],
        externalTrafficPolicy: policy,
        loadBalancerSourceRanges: ranges,
        // kube-proxy filters source ranges on the load balancer's address only: with ranges, no node port by default.
        allocateLoadBalancerNodePorts: props.allocateNodePorts ?? (ranges !== undefined && ranges.length > 0 ? false : undefined),
      },
    });
  }
}

/** The Service's annotations: `annotations`, plus the MetalLB ones of `loadBalancerIP` and `addressPool`. */
function metallbAnnotations(scope: Construct, props: LoadBalancedServiceProps): Record<string, string> {
  const extra = props.annotations ?? {};
  for (const [key, value] of Object.entries(extra)) {
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key) || typeof value !== 'string') {
      invalid(scope, `annotations["${key}"]`, value,
        'annotation keys are an optional DNS prefix and "/", then a name of letters, digits, - _ .; values are strings');
    }
  }
  const annotations: Record<string, string> = { ...extra };
  // Each may be set one way only: by its prop or by its annotation.
  const metallb = [
    { prop: 'loadBalancerIP', value: props.loadBalancerIP, what: 'address', check: checkIp },
    { prop: 'addressPool', value: props.addressPool, what: 'pool', check: checkName },
  ] as const;
  for (const { prop, value, what, check } of metallb) {
    if (value === undefined) continue;
    check(scope, prop, value);
    const keys = METALLB_ANNOTATIONS[prop];
    const clash = keys.find((key) => key in extra);
    if (clash !== undefined) {
      invalid(scope, 'annotations', extra, `set the ${what} either with ${prop} or with the ${clash} annotation, not both`);
    }
    for (const key of keys) annotations[key] = value;
  }
  return annotations;
}
