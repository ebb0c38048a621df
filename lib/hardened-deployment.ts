import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { restrictedPodProblems } from './pod-security';
import { HTTP_PORT_NAME, ResolvedWorkload } from './workload';

/** Pod-template annotation carrying `imageRevision`. */
export const IMAGE_REVISION_ANNOTATION = 'number-crunch-cdk8s/image-revision';
/** Seconds of margin in a termination grace period beyond the preStop pause and the process's own drain. */
export const GRACE_MARGIN_SECONDS = 5;
/** Well-known topology key of a node's hostname. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';
/** The label the Deployment controller puts on each revision's pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Taints the node controller puts on a node that stopped answering; pods tolerate them for a bounded time. */
export const NODE_FAILURE_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

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
  /** Ports of the container besides the workload's `http` port. @default - none */
  readonly extraPorts?: k8s.ContainerPort[];
  /** Containers beside the main one (hardened like it when rendered). @default - none */
  readonly sidecars?: k8s.Container[];
  /**
   * One process namespace for the pod's containers (`shareProcessNamespace`), so that a sidecar can signal the main
   * process; the pause container is then PID 1. @default false
   * @see https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/
   */
  readonly shareProcessNamespace?: boolean;
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
  const identity = { runAsUser: o.runAsUser, runAsGroup: o.runAsGroup };
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
          shareProcessNamespace: o.shareProcessNamespace ? true : undefined,
          terminationGracePeriodSeconds: w.preStopSeconds + o.drainSeconds + GRACE_MARGIN_SECONDS,
          securityContext: { ...identity, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: w.spreadAcrossNodes ? [{
            maxSkew: 1,
            topologyKey: HOSTNAME_TOPOLOGY_KEY,
            // A rule, not a preference: as a preference (ScheduleAnyway) the scheduler's other scores put both pods
            // of a revision on one node in one of five rollouts on the test cluster. Nodes with a taint the pod does
            // not tolerate (cordoned, not ready, unreachable) are no domain (nodeTaintsPolicy Honor), so a single
            // node, or the one node left, still takes every pod.
            whenUnsatisfiable: 'DoNotSchedule',
            nodeTaintsPolicy: 'Honor',
            labelSelector: { matchLabels: w.selectorLabels },
            // Each revision spreads on its own: without it, the pods of the old ReplicaSet that are about to go count
            // in the skew, and a rolling update can put the whole new ReplicaSet on one node.
            matchLabelKeys: [POD_TEMPLATE_HASH_LABEL],
          }] : undefined,
          tolerations: NODE_FAILURE_TAINTS.map((key) => ({
            key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: w.nodeFailureTolerationSeconds,
          })),
          containers: [{
            ...o.container,
            image: w.image,
            imagePullPolicy: w.imagePullPolicy,
            ports: [{ containerPort: w.port, name: HTTP_PORT_NAME }, ...(o.extraPorts ?? [])],
            resources: resourceRequirements(w.resources),
            // Keep serving while endpoints and kube-proxy drop this pod, then get the stop signal.
            lifecycle: { preStop: { exec: { command: ['sleep', String(w.preStopSeconds)] } } },
            securityContext: restrictedContainerContext(identity),
          }, ...(o.sidecars ?? [])],
          volumes: o.volumes,
        },
      },
    },
  });
}

/**
 * A KubeDeployment whose containers and init containers are completed to "restricted" when it is rendered, so one
 * added later with `addJsonPatch` is hardened like the first; a pod that still breaks "restricted" (a setting that
 * asks for more) fails synth, naming the Deployment, the container and the fix.
 */
class HardenedDeployment extends k8s.KubeDeployment {
  public override toJson(): DeploymentJson {
    const json: DeploymentJson = super.toJson();
    const template = json.spec?.template;
    const pod = template?.spec;
    if (pod === undefined) return json;
    const complete = (c: IContainer): IContainer => ({ ...c, securityContext: restrictedContainerContext(c.securityContext) });
    pod.containers = pod.containers?.map(complete);
    if (pod.initContainers !== undefined) pod.initContainers = pod.initContainers.map(complete);
    const problems = restrictedPodProblems(pod, template?.metadata?.annotations);
    if (problems.length > 0) throw new Error(`Deployment "${this.name}" breaks Pod Security "restricted": ${problems.join('; ')}`);
    return json;
  }
}

/** The parts of a rendered Deployment that HardenedDeployment completes and checks. */
interface DeploymentJson {
  readonly spec?: {
    readonly template?: {
      readonly metadata?: { readonly annotations?: Record<string, string> };
      readonly spec?: Omit<Partial<IPodSpec>, 'containers' | 'initContainers'> & { containers?: IContainer[]; initContainers?: IContainer[] };
    };
  };
  readonly [key: string]: unknown;
}

/**
 * A container's securityContext completed to Pod Security "restricted": what it leaves out is filled in (non-root, not
 * privileged, no privilege escalation, a read-only root filesystem), and every capability is dropped. What it sets
 * itself stays, so a setting that breaks "restricted" is reported by restrictedPodProblems, not hidden. Keys keep
 * their order; missing ones are appended.
 */
export function restrictedContainerContext(sc: ISecurityContext = {}): ISecurityContext {
  return {
    ...sc,
    runAsNonRoot: sc.runAsNonRoot ?? true,
    privileged: sc.privileged ?? false,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem ?? true,
    allowPrivilegeEscalation: sc.allowPrivilegeEscalation ?? false,
    capabilities: { ...sc.capabilities, drop: ['ALL'] },
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
