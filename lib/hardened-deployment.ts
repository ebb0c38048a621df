import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { HTTP_PORT_NAME, ResolvedWorkload } from './workload';

/** Pod-template annotation carrying `imageRevision`. */
export const IMAGE_REVISION_ANNOTATION = 'number-crunch-cdk8s/image-revision';
/** Seconds of margin in a termination grace period beyond the preStop pause and the process's own drain. */
export const GRACE_MARGIN_SECONDS = 5;
/** Well-known topology key of a node's hostname. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

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
          terminationGracePeriodSeconds: w.preStopSeconds + o.drainSeconds + GRACE_MARGIN_SECONDS,
          securityContext: { ...identity, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
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
            securityContext: restrictedContainerContext(`container "${o.container.name}"`, identity),
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
    checkRestrictedPod(`Deployment "${this.name}"`, pod);
    const restrict = (c: ContainerJson) => {
      const where = `container "${c.name}" of Deployment "${this.name}"`;
      if (c.ports?.some((p) => (p.hostPort ?? 0) !== 0)) refuse(where, 'a hostPort', 'remove it (a Service exposes the port)');
      return { ...c, securityContext: restrictedContainerContext(where, c.securityContext) };
    };
    pod.containers = pod.containers?.map(restrict);
    if (pod.initContainers !== undefined) pod.initContainers = pod.initContainers.map(restrict);
    return json;
  }
}

/** The parts of a rendered Deployment that HardenedDeployment checks and completes. */
interface ContainerJson {
  readonly name: string;
  readonly ports?: { readonly hostPort?: number }[];
  readonly securityContext?: ContainerSecurityContextJson;
}
interface PodJson {
  readonly hostNetwork?: boolean;
  readonly volumes?: { readonly name: string; readonly hostPath?: object }[];
  readonly securityContext?: { readonly seccompProfile?: { readonly type?: string } };
  containers?: ContainerJson[];
  initContainers?: ContainerJson[];
}
interface DeploymentJson {
  readonly spec?: { readonly template?: { readonly spec?: PodJson } };
  readonly [key: string]: unknown;
}

function refuse(where: string, setting: string, fix = 'remove it'): never {
  throw new Error(`${where} sets ${setting}, which Pod Security "restricted" forbids: ${fix}`);
}

/** Throws, naming `where` and the fix, for a pod-level setting (added with a JSON patch) that breaks "restricted". */
function checkRestrictedPod(where: string, pod: PodJson): void {
  // (hostPID and hostIPC cannot be patched in: the generated KubeDeployment drops those keys when it renders.)
  if (pod.hostNetwork === true) refuse(where, 'hostNetwork: true');
  const hostPath = pod.volumes?.find((v) => v.hostPath !== undefined);
  if (hostPath) refuse(where, `the hostPath volume "${hostPath.name}"`, 'use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim');
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault' && pod.securityContext?.seccompProfile?.type !== 'Localhost') {
    refuse(where, `seccompProfile ${JSON.stringify(pod.securityContext?.seccompProfile?.type)}`, 'use RuntimeDefault or Localhost');
  }
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
  readonly seccompProfile?: { readonly type: string; readonly localhostProfile?: string };
  readonly procMount?: string;
  readonly seLinuxOptions?: { readonly type?: string; readonly user?: string; readonly role?: string };
  readonly windowsOptions?: { readonly hostProcess?: boolean };
  readonly [key: string]: unknown;
}

/** SELinux types a "restricted" (and "baseline") container may set. */
const ALLOWED_SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];

/** The one capability Pod Security "restricted" lets a container add. */
const ALLOWED_ADDED_CAPABILITY = 'NET_BIND_SERVICE';

/**
 * A container's securityContext completed to Pod Security "restricted", plus a read-only root filesystem unless it
 * asks for a writable one. A setting that breaks "restricted" throws, naming `where` and the fix. Keys keep their
 * order; missing ones are appended.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export function restrictedContainerContext(where: string, sc: ContainerSecurityContextJson = {}): ContainerSecurityContextJson {
  if (sc.privileged === true) refuse(where, 'privileged: true');
  if (sc.allowPrivilegeEscalation === true) refuse(where, 'allowPrivilegeEscalation: true');
  if (sc.runAsNonRoot === false) refuse(where, 'runAsNonRoot: false');
  if (sc.runAsUser === 0) refuse(where, 'runAsUser: 0', 'set a non-zero user');
  if (sc.windowsOptions?.hostProcess === true) refuse(where, 'windowsOptions.hostProcess: true');
  if (sc.procMount !== undefined && sc.procMount !== 'Default') refuse(where, `procMount: ${sc.procMount}`);
  const seccomp = sc.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
    refuse(where, `seccompProfile ${seccomp}`, 'use RuntimeDefault or Localhost, or leave it to the pod\'s RuntimeDefault');
  }
  const selinux = sc.seLinuxOptions;
  if (selinux?.user !== undefined || selinux?.role !== undefined) refuse(where, 'seLinuxOptions.user or .role');
  if (selinux?.type !== undefined && !ALLOWED_SELINUX_TYPES.includes(selinux.type)) {
    refuse(where, `seLinuxOptions.type ${selinux.type}`, `use one of ${ALLOWED_SELINUX_TYPES.filter(Boolean).join(', ')}`);
  }
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
