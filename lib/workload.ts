import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_PART_OF, recommendedLabels, selectorLabels, versionLabel } from './labels';
import {
  checkImage, checkLabelValue, checkName, checkNonNegativeInteger, checkPort, checkPositiveInteger, checkReplicas, invalid,
} from './validate';

/**
 * What other constructs read of a workload: a load balancer or a NetworkPolicy in front of it needs its name, port and
 * labels, nothing else. `NumberCrunchApp` and `ReverseProxy` implement it; so can a workload of your own.
 */
export interface IWorkload {
  /** Name of the workload's Deployment (and its `app.kubernetes.io/name` label). */
  readonly name: string;
  /** Port its pods listen on. */
  readonly port: number;
  /**
   * Port its pods serve Prometheus metrics on, if any (a NetworkPolicy lets the scraper reach it).
   * @default - none
   */
  readonly metricsPort?: number;
  /**
   * Port its pods serve HTTPS on, when they do: a load balancer in front then exposes it as 443, and `port` as 80.
   * @default - no HTTPS
   */
  readonly tlsPort?: number;
  /** Labels that select its pods. */
  readonly selectorLabels: { [key: string]: string };
  /** The recommended labels of its objects. */
  readonly labels: { [key: string]: string };
}

/** Props every workload construct of this project takes (`NumberCrunchApp`, `ReverseProxy`). */
export interface WorkloadProps {
  /**
   * Name of the Deployment, and its `app.kubernetes.io/name` label.
   * @default - 'number-crunch' (app), 'reverse-proxy' (proxy)
   */
  readonly name?: string;
  /**
   * Value of the `app.kubernetes.io/instance` label (it also selects the pods): any label value.
   * @default - the name
   */
  readonly instance?: string;
  /**
   * Value of the `app.kubernetes.io/part-of` label: any label value.
   * @default 'number-crunch'
   */
  readonly partOf?: string;
  /**
   * Container image, pinned to a tag or digest.
   * @default - 'number-crunch:local' (app), 'nginxinc/nginx-unprivileged:1.30.6-alpine' (proxy)
   */
  readonly image?: string;
  /**
   * When the kubelet pulls the image. `IF_NOT_PRESENT` runs an image imported into the node (microk8s).
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /**
   * A value that changes whenever the image's content changes under the same tag (e.g. its image ID). It is written
   * as the pod-template annotation `number-crunch-cdk8s/image-revision`, so `kubectl apply` rolls the pods.
   * @default - none: after re-importing an image under the same tag, run `kubectl rollout restart`
   * @see https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy
   */
  readonly imageRevision?: string;
  /**
   * Pod count.
   * @default - 2 (app), 1 (proxy)
   */
  readonly replicas?: number;
  /**
   * Port the container listens on.
   * @default 8080
   */
  readonly port?: number;
  /**
   * Container resources.
   * @default - app: requests 50m / 96Mi, limits 500m / 160Mi; proxy: requests 50m / 16Mi, limits 500m / 64Mi
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Seconds a terminating pod keeps serving (a preStop pause) so endpoints drop it before it gets SIGTERM.
   * @default 5
   */
  readonly preStopSeconds?: number;
  /**
   * Spread each revision's replicas across the nodes that can take them (never more than one apart; a single node, or
   * the one node left when others are cordoned or down, still runs them all).
   * @default true
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
   */
  readonly spreadAcrossNodes?: boolean;
  /**
   * Seconds the pods stay bound to a node that stopped answering (`node.kubernetes.io/not-ready` and
   * `node.kubernetes.io/unreachable` tolerations) before they are replaced on another node. The node controller first
   * waits its own grace period (kube-controller-manager `--node-monitor-grace-period`: 40 s up to Kubernetes 1.31, 50 s
   * since) before it taints the node; these seconds come on top.
   * @default 20 (Kubernetes' own default is 300: five minutes of lost capacity after a node crash)
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
   */
  readonly nodeFailureTolerationSeconds?: number;
  /**
   * Rolling update: pods above `replicas` while updating.
   * @default 1
   */
  readonly maxSurge?: number;
  /**
   * Rolling update: pods below `replicas` while updating (0 keeps full capacity).
   * @default 0
   */
  readonly maxUnavailable?: number;
  /**
   * Make a PodDisruptionBudget (`<name>-pdb`) that allows one voluntary disruption at a time.
   * @default - true when the workload runs more than one replica (with autoscaling: `minReplicas`)
   * @see https://kubernetes.io/docs/tasks/run-application/configure-pdb/
   */
  readonly podDisruptionBudget?: boolean;
}

/** What each workload construct defaults differently. */
export interface WorkloadDefaults {
  readonly name: string;
  readonly image: string;
  readonly replicas: number;
  readonly port: number;
  readonly resources: kplus.ContainerResources;
  /** `app.kubernetes.io/component` of its objects. */
  readonly component: string;
}

/** `WorkloadProps` validated, with defaults applied, plus the labels that follow from them. */
export interface ResolvedWorkload extends Required<Omit<WorkloadProps, 'partOf' | 'resources' | 'imageRevision' | 'podDisruptionBudget'>> {
  readonly resources: kplus.ContainerResources;
  readonly imageRevision?: string;
  /** Undefined: decided by the replica count. */
  readonly podDisruptionBudget?: boolean;
  /** Labels that select the pods. */
  readonly selectorLabels: { [key: string]: string };
  /** The recommended labels of every object of the workload. */
  readonly labels: { [key: string]: string };
}

/** Name of the container port and of the Service ports in front of it. */
export const HTTP_PORT_NAME = 'http';
/** Default seconds pods wait on a failed node before they are replaced elsewhere. */
export const DEFAULT_NODE_FAILURE_TOLERATION_SECONDS = 20;
/** Name of the HTTPS container port and of the Service ports in front of it. */
export const HTTPS_PORT_NAME = 'https';
/** Default pause before SIGTERM, in seconds: long enough for endpoints and kube-proxy to drop a terminating pod. */
export const DEFAULT_PRE_STOP_SECONDS = 5;

/** Applies the defaults to `props` once and validates every value; throws naming the construct and the prop. */
export function resolveWorkload(scope: Construct, props: WorkloadProps, d: WorkloadDefaults): ResolvedWorkload {
  const name = checkName(scope, 'name', props.name ?? d.name);
  const instance = checkLabelValue(scope, 'instance', props.instance ?? name);
  const partOf = checkLabelValue(scope, 'partOf', props.partOf ?? DEFAULT_PART_OF);
  const image = checkImage(scope, 'image', props.image ?? d.image);
  const maxSurge = checkNonNegativeInteger(scope, 'maxSurge', props.maxSurge ?? 1);
  const maxUnavailable = checkNonNegativeInteger(scope, 'maxUnavailable', props.maxUnavailable ?? 0);
  if (maxSurge === 0 && maxUnavailable === 0) {
    invalid(scope, 'maxUnavailable', maxUnavailable, 'maxSurge and maxUnavailable cannot both be 0 (no rollout could progress): raise one of them');
  }
  const pullPolicy = props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT;
  if (!Object.values(kplus.ImagePullPolicy).includes(pullPolicy)) {
    invalid(scope, 'imagePullPolicy', pullPolicy, `must be one of ${Object.values(kplus.ImagePullPolicy).join(', ')}`);
  }
  return {
    name,
    instance,
    image,
    imagePullPolicy: pullPolicy,
    imageRevision: props.imageRevision === undefined ? undefined : checkImageRevision(scope, props.imageRevision),
    replicas: checkReplicas(scope, 'replicas', props.replicas ?? d.replicas),
    port: checkPort(scope, 'port', props.port ?? d.port),
    resources: props.resources ?? d.resources,
    preStopSeconds: checkPositiveInteger(scope, 'preStopSeconds', props.preStopSeconds ?? DEFAULT_PRE_STOP_SECONDS),
    spreadAcrossNodes: props.spreadAcrossNodes ?? true,
    nodeFailureTolerationSeconds: checkNonNegativeInteger(scope, 'nodeFailureTolerationSeconds',
      props.nodeFailureTolerationSeconds ?? DEFAULT_NODE_FAILURE_TOLERATION_SECONDS),
    maxSurge,
    maxUnavailable,
    podDisruptionBudget: props.podDisruptionBudget,
    selectorLabels: selectorLabels({ name, instance }),
    labels: recommendedLabels({ name, instance, component: d.component, partOf, version: versionLabel(image) }),
  };
}

function checkImageRevision(scope: Construct, value: string): string {
  if (typeof value !== 'string' || !/^\S+$/.test(value)) {
    invalid(scope, 'imageRevision', value,
      "must be a non-empty string without spaces, e.g. the image ID from `docker image inspect -f '{{.Id}}' <image>`");
  }
  return value;
}

/** Checks what another construct reads of a workload (it may be the caller's own object): a name, a port, a selector. */
export function checkWorkload(scope: Construct, prop: string, w: IWorkload): IWorkload {
  if (!w) invalid(scope, prop, w, 'pass the workload, e.g. a NumberCrunchApp or a ReverseProxy');
  checkName(scope, `${prop}.name`, w.name);
  checkPort(scope, `${prop}.port`, w.port);
  if (w.tlsPort !== undefined) checkPort(scope, `${prop}.tlsPort`, w.tlsPort);
  if (typeof w.selectorLabels !== 'object' || w.selectorLabels === null || Object.keys(w.selectorLabels).length === 0) {
    invalid(scope, `${prop}.selectorLabels`, w.selectorLabels, 'must have at least one label: an empty selector selects no pods in a Service');
  }
  return w;
}
