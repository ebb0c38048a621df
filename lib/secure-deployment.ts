import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { DEFAULT_PART_OF, recommendedLabels, selectorLabels, versionLabel } from './labels';
import { checkImage, checkLabelValue, checkName, checkNonNegativeInteger, checkPort, checkPositiveInteger, checkReplicas, invalid } from './validate';

/**
 * Workload props that `NumberCrunchChart` passes through unchanged (its `app` prop): everything but the identity,
 * image and scale of the workload, which the chart sets itself.
 */
export interface WorkloadOptions {
  /** Value of the `app.kubernetes.io/part-of` label: any label value (1-63 letters, digits, '-', '_', '.'). @default 'number-crunch' */
  readonly partOf?: string;
  /** Port the container listens on. @default 8080 */
  readonly port?: number;
  /** Container resources. @default - sized from `npm run bench`: requests 50m / 96Mi, limits 500m / 160Mi (app); requests 50m / 16Mi, limits 500m / 48Mi (proxy) */
  readonly resources?: kplus.ContainerResources;
  /** Seconds a terminating pod keeps serving (preStop) so endpoints drop it before it gets SIGTERM. @default 5 */
  readonly preStopSeconds?: number;
  /** Spread replicas across nodes (soft: a single node still runs them all). @default true */
  readonly spreadAcrossNodes?: boolean;
  /** Rolling update: pods above `replicas` while updating. @default 1 */
  readonly maxSurge?: number;
  /** Rolling update: pods below `replicas` while updating (0 keeps full capacity). @default 0 */
  readonly maxUnavailable?: number;
}

/** Props every workload construct of this project takes (`NumberCrunchApp`, `ReverseProxy`). */
export interface WorkloadProps extends WorkloadOptions {
  /** Name of the Deployment, and the `app.kubernetes.io/name` label. @default - 'number-crunch' (app), 'reverse-proxy' (proxy) */
  readonly name?: string;
  /** Value of the `app.kubernetes.io/instance` label (also selects the pods): any label value, e.g. 'My_App.v2'. @default - the name */
  readonly instance?: string;
  /** Container image, pinned to a tag or digest. @default - 'number-crunch:local' (app), an unprivileged nginx (proxy) */
  readonly image?: string;
  /**
   * When the kubelet pulls the image. `IF_NOT_PRESENT` uses an image imported into the node (microk8s) without a
   * registry, and still pulls a registry image the first time. @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /**
   * A string that changes whenever the image's content does under the same tag (e.g. its image ID, from `docker image
   * inspect -f '{{.Id}}' number-crunch:local`), written as the pod-template annotation
   * `number-crunch-cdk8s/image-revision`: a new value makes `kubectl apply` roll the pods, which then start from the
   * image the node now has under that tag (with `IF_NOT_PRESENT` an unchanged manifest never picks up a re-imported
   * image). @default - none: after re-importing an image under the same tag, run `kubectl rollout restart deployment/<name>`
   */
  readonly imageRevision?: string;
  /** Pod count. @default - 2 (app), 1 (proxy) */
  readonly replicas?: number;
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
export interface ResolvedWorkload extends Required<Omit<WorkloadProps, 'resources' | 'imageRevision'>> {
  readonly resources: kplus.ContainerResources;
  /** See `WorkloadProps.imageRevision`. */
  readonly imageRevision?: string;
  /** Labels that select the pods. */
  readonly selectorLabels: { [key: string]: string };
  /** The recommended labels of every object of the workload. */
  readonly labels: { [key: string]: string };
}

/** Default pods above `replicas` during a rolling update: a new pod starts before an old one stops. */
export const DEFAULT_MAX_SURGE = 1;
/** Default pods below `replicas` during a rolling update: none, so capacity never drops. */
export const DEFAULT_MAX_UNAVAILABLE = 0;
/** Pod-template annotation carrying `imageRevision`, so a rebuilt image under the same tag rolls the pods on apply. */
export const IMAGE_REVISION_ANNOTATION = 'number-crunch-cdk8s/image-revision';
/** Name of the container port and of the Service ports in front of it. */
export const HTTP_PORT_NAME = 'http';

/** Applies the defaults to `props` once and validates every value; throws naming the construct and the prop. */
export function resolveWorkload(scope: Construct, props: WorkloadProps, d: WorkloadDefaults): ResolvedWorkload {
  const name = checkName(scope, 'name', props.name ?? d.name);
  const instance = checkLabelValue(scope, 'instance', props.instance ?? name);
  const partOf = checkLabelValue(scope, 'partOf', props.partOf ?? DEFAULT_PART_OF);
  const image = checkImage(scope, 'image', props.image ?? d.image);
  const maxSurge = checkNonNegativeInteger(scope, 'maxSurge', props.maxSurge ?? DEFAULT_MAX_SURGE);
  const maxUnavailable = checkNonNegativeInteger(scope, 'maxUnavailable', props.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE);
  if (maxSurge === 0 && maxUnavailable === 0) {
    invalid(scope, 'maxUnavailable', maxUnavailable, 'maxSurge and maxUnavailable cannot both be 0 (no rollout could progress): raise one of them');
  }
  return {
    name,
    instance,
    partOf,
    image,
    imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
    imageRevision: props.imageRevision === undefined ? undefined : checkImageRevision(scope, props.imageRevision),
    replicas: checkReplicas(scope, 'replicas', props.replicas ?? d.replicas),
    port: checkPort(scope, 'port', props.port ?? d.port),
    resources: props.resources ?? d.resources,
    preStopSeconds: checkPositiveInteger(scope, 'preStopSeconds', props.preStopSeconds ?? DEFAULT_PRE_STOP_SECONDS),
    spreadAcrossNodes: props.spreadAcrossNodes ?? true,
    maxSurge,
    maxUnavailable,
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

/** Inputs of `secureDeployment`. */
export interface SecureDeploymentOptions {
  /**
   * The workload's resolved props: they give the Deployment's name, labels, selector, replicas, rollout and spreading,
   * and the container's image, pull policy, resources, port (named HTTP_PORT_NAME) and preStop pause.
   */
  readonly workload: ResolvedWorkload;
  /** Namespace of the Deployment. @default - the chart's */
  readonly namespace?: string;
  /** Seconds the process may take after its stop signal to finish in-flight work; the grace period adds the preStop pause and GRACE_MARGIN_SECONDS. */
  readonly drainSeconds: number;
  /** The rest of the one container; its security context is set here. */
  readonly container: Omit<kplus.ContainerProps, 'securityContext' | 'image' | 'imagePullPolicy' | 'resources' | 'ports' | 'lifecycle'>;
  /** Numeric user id the container runs as (Kubernetes can verify only a numeric user is not root). */
  readonly runAsUser: number;
  /** Numeric group id the container runs as. */
  readonly runAsGroup: number;
  /** Volumes of the pod. */
  readonly volumes?: kplus.Volume[];
  /** Annotations of the pod template. */
  readonly podAnnotations?: Record<string, string>;
}

/** Default pause before SIGTERM, in seconds: long enough for endpoints and kube-proxy to drop a terminating pod. */
export const DEFAULT_PRE_STOP_SECONDS = 5;

/** Seconds of margin in a termination grace period beyond the preStop pause and the process's own drain. */
export const GRACE_MARGIN_SECONDS = 5;

/** The label cdk8s-plus puts on pods to select them by construct path. */
const CDK8S_ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

/**
 * Makes `service` select the pods of `deployment` by the deployment's own selector labels. (cdk8s-plus's
 * `selector: deployment` would select by its construct-path label instead.)
 */
export function selectPodsOf(service: kplus.Service, deployment: kplus.Deployment): void {
  for (const [key, value] of Object.entries(deployment.matchLabels)) {
    service.selectLabel(key, value);
  }
}

/**
 * The PodDisruptionBudget (policy/v1) of a workload, `<name>-pdb`: one voluntary disruption at a time, selecting the
 * workload's pods by its selector labels. maxUnavailable (not minAvailable) so a single replica never blocks a drain.
 */
export function workloadDisruptionBudget(scope: Construct, w: ResolvedWorkload, namespace?: string): ApiObject {
  return new k8s.KubePodDisruptionBudget(scope, 'PodDisruptionBudget', {
    metadata: { name: `${w.name}-pdb`, namespace, labels: w.labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: w.selectorLabels } },
  });
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
 * A container's securityContext completed to Pod Security "restricted": non-root, not privileged, no privilege
 * escalation, every capability dropped, and a read-only root filesystem unless it explicitly asks for a writable one
 * (not part of "restricted"). A setting that explicitly breaks "restricted" throws, naming `where` and the fix.
 * Keys keep their order; missing ones are appended.
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

/**
 * A Deployment whose pod spec is made restricted when it is synthesized, so containers and init containers added
 * after construction (`addContainer`, `addInitContainer`, `attachContainer` on the exposed Deployment) get the same
 * securityContext as the first, and the pod seccomp RuntimeDefault. (cdk8s-plus 27 has no seccomp prop and its
 * Capability enum has no "ALL", so this cannot be done through its props.)
 */
class RestrictedDeployment extends kplus.Deployment {
  /** @internal */
  public _toKube(): ReturnType<kplus.Deployment['_toKube']> {
    const spec = super._toKube();
    const pod = spec.template.spec;
    if (pod === undefined) return spec;
    const where = (c: { name: string }) => `container "${c.name}" of Deployment "${this.name}"`;
    const restrict = <C extends { name: string; securityContext?: object }>(c: C): C =>
      ({ ...c, securityContext: restrictedContainerContext(where(c), c.securityContext as ContainerSecurityContextJson) });
    return {
      ...spec,
      template: {
        ...spec.template,
        spec: {
          ...pod,
          securityContext: { ...pod.securityContext, seccompProfile: { type: 'RuntimeDefault' } },
          containers: pod.containers.map(restrict),
          initContainers: pod.initContainers?.map(restrict),
        },
      },
    };
  }
}

/** Well-known topology key of a node's hostname. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/**
 * A cdk8s-plus Deployment that meets the Pod Security Standard "restricted": non-root numeric user, no privilege
 * escalation, all capabilities dropped, seccomp RuntimeDefault, read-only root filesystem, no service account token.
 * Pods are selected by the given stable labels (not cdk8s-plus's construct-path label, which changes when the
 * construct tree moves and would make the immutable selector change).
 */
export function secureDeployment(scope: Construct, id: string, o: SecureDeploymentOptions): kplus.Deployment {
  const w = o.workload;
  const podAnnotations = w.imageRevision === undefined
    ? o.podAnnotations : { ...o.podAnnotations, [IMAGE_REVISION_ANNOTATION]: w.imageRevision };
  const deployment = new RestrictedDeployment(scope, id, {
    metadata: { name: w.name, namespace: o.namespace, labels: w.labels },
    podMetadata: { labels: w.labels, annotations: podAnnotations },
    select: false,
    replicas: w.replicas,
    strategy: kplus.DeploymentStrategy.rollingUpdate({
      maxSurge: kplus.PercentOrAbsolute.absolute(w.maxSurge),
      maxUnavailable: kplus.PercentOrAbsolute.absolute(w.maxUnavailable),
    }),
    automountServiceAccountToken: false,
    terminationGracePeriod: Duration.seconds(w.preStopSeconds + o.drainSeconds + GRACE_MARGIN_SECONDS),
    securityContext: { ensureNonRoot: true, user: o.runAsUser, group: o.runAsGroup },
    volumes: o.volumes,
  });
  deployment.select(kplus.LabelSelector.of({ labels: w.selectorLabels }));
  deployment.addContainer({
    ...o.container,
    image: w.image,
    imagePullPolicy: w.imagePullPolicy,
    ports: [{ number: w.port, name: HTTP_PORT_NAME }],
    resources: w.resources,
    // Keep serving while the endpoint controller and kube-proxy drop this pod, then get the stop signal.
    lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', String(w.preStopSeconds)]) },
    securityContext: {
      ensureNonRoot: true,
      user: o.runAsUser,
      group: o.runAsGroup,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
    },
  });
  // cdk8s-plus 27 has no topologySpreadConstraints prop: patch the generated object. (Security context: see
  // RestrictedDeployment.)
  const api = ApiObject.of(deployment);
  // cdk8s-plus labels every pod with its construct path; we select by stable labels, so drop it: it would roll the
  // pods whenever the construct tree is reorganised.
  api.addJsonPatch(JsonPatch.remove(`/spec/template/metadata/labels/${CDK8S_ADDRESS_LABEL.replace('/', '~1')}`));
  if (w.spreadAcrossNodes) {
    api.addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [{
      maxSkew: 1,
      topologyKey: HOSTNAME_TOPOLOGY_KEY,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: w.selectorLabels },
    }]));
  }
  return deployment;
}
