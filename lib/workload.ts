import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
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
   * @default - 'number-crunch:local' (app), 'nginxinc/nginx-unprivileged:1.28.0-alpine' (proxy)
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
   * @default - app: requests 50m / 96Mi, limits 500m / 160Mi; proxy: requests 50m / 16Mi, limits 500m / 48Mi
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Seconds a terminating pod keeps serving (a preStop pause) so endpoints drop it before it gets SIGTERM.
   * @default 5
   */
  readonly preStopSeconds?: number;
  /**
   * Spread the replicas across nodes (soft: a single node still runs them all).
   * @default true
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
   */
  readonly spreadAcrossNodes?: boolean;
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
export interface ResolvedWorkload {
  readonly name: string;
  readonly instance: string;
  readonly image: string;
  readonly imagePullPolicy: kplus.ImagePullPolicy;
  readonly imageRevision?: string;
  readonly replicas: number;
  readonly port: number;
  readonly resources: kplus.ContainerResources;
  readonly preStopSeconds: number;
  readonly spreadAcrossNodes: boolean;
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  /** Undefined: decided by the replica count. */
  readonly podDisruptionBudget?: boolean;
  readonly selectorLabels: { [key: string]: string };
  readonly labels: { [key: string]: string };
}

/** Pod-template annotation carrying `imageRevision`. */
export const IMAGE_REVISION_ANNOTATION = 'number-crunch-cdk8s/image-revision';
/** Name of the container port and of the Service ports in front of it. */
export const HTTP_PORT_NAME = 'http';
/** Default pause before SIGTERM, in seconds: long enough for endpoints and kube-proxy to drop a terminating pod. */
export const DEFAULT_PRE_STOP_SECONDS = 5;
/** Seconds of margin in a termination grace period beyond the preStop pause and the process's own drain. */
export const GRACE_MARGIN_SECONDS = 5;
/** Well-known topology key of a node's hostname. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

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

/** The parts of the one container that differ between workloads; the rest comes from the resolved workload. */
export type ContainerOptions = Pick<k8s.Container, 'name' | 'command' | 'env' | 'readinessProbe' | 'livenessProbe' | 'volumeMounts'>;

/** Inputs of `hardenedDeployment`. */
export interface HardenedDeploymentOptions {
  /** Name, labels, selector, replicas, rollout, spreading, image, resources, port and preStop pause. */
  readonly workload: ResolvedWorkload;
  /** Namespace of the Deployment. @default - the chart's */
  readonly namespace?: string;
  /** Seconds the process may take after its stop signal; the grace period adds the preStop pause and a margin. */
  readonly drainSeconds: number;
  /** The rest of the one container. */
  readonly container: ContainerOptions;
  /** Numeric user id the pod runs as (Kubernetes can verify only a numeric user is not root). */
  readonly runAsUser: number;
  /** Numeric group id the pod runs as. */
  readonly runAsGroup: number;
  /** Volumes of the pod. @default - none */
  readonly volumes?: k8s.Volume[];
  /** Annotations of the pod template. @default - none */
  readonly podAnnotations?: { [key: string]: string };
  /** Leave `replicas` out, for a Deployment whose count an autoscaler owns. @default false */
  readonly autoscaled?: boolean;
}

/**
 * A Deployment that meets the Pod Security Standard "restricted" (non-root numeric user, no privilege escalation,
 * every capability dropped, seccomp RuntimeDefault), with a read-only root filesystem and no service account token.
 * Its pods are selected by the stable `selectorLabels`, so the immutable selector never changes.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function hardenedDeployment(scope: Construct, id: string, o: HardenedDeploymentOptions): ApiObject {
  const w = o.workload;
  const annotations = { ...o.podAnnotations, ...(w.imageRevision === undefined ? {} : { [IMAGE_REVISION_ANNOTATION]: w.imageRevision }) };
  const identity = { runAsUser: o.runAsUser, runAsGroup: o.runAsGroup, runAsNonRoot: true };
  return new HardenedDeployment(scope, id, {
    metadata: { name: w.name, namespace: o.namespace, labels: w.labels },
    spec: {
      replicas: o.autoscaled ? undefined : w.replicas,
      selector: { matchLabels: w.selectorLabels },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(w.maxSurge), maxUnavailable: k8s.IntOrString.fromNumber(w.maxUnavailable) },
      },
      template: {
        metadata: { labels: w.labels, annotations: Object.keys(annotations).length > 0 ? annotations : undefined },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: w.preStopSeconds + o.drainSeconds + GRACE_MARGIN_SECONDS,
          securityContext: { ...identity, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: w.spreadAcrossNodes ? [{
            maxSkew: 1,
            topologyKey: HOSTNAME_TOPOLOGY_KEY,
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: w.selectorLabels },
          }] : undefined,
          containers: [{
            ...o.container,
            image: w.image,
            imagePullPolicy: w.imagePullPolicy,
            ports: [{ containerPort: w.port, name: HTTP_PORT_NAME }],
            resources: resourceRequirements(w.resources),
            // Keep serving while endpoints and kube-proxy drop this pod, then get the stop signal.
            lifecycle: { preStop: { exec: { command: ['sleep', String(w.preStopSeconds)] } } },
            securityContext: { ...identity, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
          volumes: o.volumes,
        },
      },
    },
  });
}

/**
 * A KubeDeployment whose containers and init containers are completed to "restricted" when it is rendered, so one
 * added later with `addJsonPatch` is hardened like the first (or refused, naming it, if it asks for more).
 */
class HardenedDeployment extends k8s.KubeDeployment {
  public override toJson(): DeploymentJson {
    const json: DeploymentJson = super.toJson();
    const pod = json.spec?.template?.spec;
    if (pod === undefined) return json;
    const restrict = (c: ContainerJson) =>
      ({ ...c, securityContext: restrictedContainerContext(`container "${c.name}" of Deployment "${this.name}"`, c.securityContext) });
    pod.containers = pod.containers?.map(restrict);
    if (pod.initContainers !== undefined) pod.initContainers = pod.initContainers.map(restrict);
    return json;
  }
}

/** The parts of a rendered Deployment that HardenedDeployment completes. */
interface ContainerJson { readonly name: string; readonly securityContext?: ContainerSecurityContextJson }
interface DeploymentJson {
  readonly spec?: { readonly template?: { readonly spec?: { containers?: ContainerJson[]; initContainers?: ContainerJson[] } } };
  readonly [key: string]: unknown;
}

/** A container's securityContext as written in the manifest. */
export interface ContainerSecurityContextJson {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly privileged?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly capabilities?: { readonly add?: string[]; readonly drop?: string[] };
  readonly [key: string]: unknown;
}

/** The one capability Pod Security "restricted" lets a container add. */
const ALLOWED_ADDED_CAPABILITY = 'NET_BIND_SERVICE';

/**
 * A container's securityContext completed to Pod Security "restricted", plus a read-only root filesystem unless it
 * asks for a writable one. A setting that breaks "restricted" throws, naming `where` and the fix. Keys keep their
 * order; missing ones are appended.
 */
export function restrictedContainerContext(where: string, sc: ContainerSecurityContextJson = {}): ContainerSecurityContextJson {
  const refuse = (setting: string, fix = 'remove it') => {
    throw new Error(`${where} sets ${setting}, which Pod Security "restricted" forbids: ${fix}`);
  };
  if (sc.privileged === true) refuse('privileged: true');
  if (sc.allowPrivilegeEscalation === true) refuse('allowPrivilegeEscalation: true');
  if (sc.runAsNonRoot === false) refuse('runAsNonRoot: false');
  if (sc.runAsUser === 0) refuse('runAsUser: 0', 'set a non-zero user');
  const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== ALLOWED_ADDED_CAPABILITY);
  if (added.length > 0) {
    throw new Error(`${where} adds capabilities ${added.join(', ')}, which Pod Security "restricted" forbids: add none but ${ALLOWED_ADDED_CAPABILITY}`);
  }
  const add = sc.capabilities?.add;
  return {
    ...sc,
    runAsNonRoot: true,
    privileged: false,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem ?? true,
    allowPrivilegeEscalation: false,
    capabilities: { ...(add && add.length > 0 ? { add } : {}), drop: ['ALL'] },
  };
}

/** cdk8s-plus's `ContainerResources` as the API's ResourceRequirements, in the units cdk8s-plus writes (Mi, Gi). */
export function resourceRequirements(r: kplus.ContainerResources): k8s.ResourceRequirements | undefined {
  const q = (value: string | undefined) => (value === undefined ? undefined : k8s.Quantity.fromString(value));
  const side = (pick: 'request' | 'limit') => {
    const found = {
      'cpu': q(r.cpu?.[pick]?.amount),
      'memory': q(r.memory?.[pick] && `${r.memory[pick]!.toMebibytes()}Mi`),
      'ephemeral-storage': q(r.ephemeralStorage?.[pick] && `${r.ephemeralStorage[pick]!.toGibibytes()}Gi`),
    };
    const set = Object.entries(found).filter((e): e is [string, k8s.Quantity] => e[1] !== undefined);
    return set.length > 0 ? Object.fromEntries(set) : undefined;
  };
  const limits = side('limit');
  const requests = side('request');
  return limits === undefined && requests === undefined ? undefined : { limits, requests };
}

/**
 * The workload's PodDisruptionBudget (policy/v1, `<name>-pdb`, one voluntary disruption at a time), made when
 * `podDisruptionBudget` is true or, left unset, when at least two replicas run. Same rule for every workload.
 */
export function disruptionBudget(scope: Construct, w: ResolvedWorkload, fewestReplicas: number, namespace?: string): ApiObject | undefined {
  if (!(w.podDisruptionBudget ?? fewestReplicas > 1)) return undefined;
  return new k8s.KubePodDisruptionBudget(scope, 'PodDisruptionBudget', {
    metadata: { name: `${w.name}-pdb`, namespace, labels: w.labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: w.selectorLabels } },
  });
}
