import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/** Inputs of `secureDeployment`. */
export interface SecureDeploymentOptions {
  /** Name of the Deployment. */
  readonly name: string;
  /** Labels of the Deployment and its pods. */
  readonly labels: Record<string, string>;
  /** The subset of `labels` that selects the pods. */
  readonly selector: Record<string, string>;
  /** Desired pod count. */
  readonly replicas: number;
  /** The one container; its security context is set here. */
  readonly container: Omit<kplus.ContainerProps, 'securityContext'>;
  /** Numeric user id the container runs as (Kubernetes can verify only a numeric user is not root). */
  readonly runAsUser: number;
  /** Numeric group id the container runs as. */
  readonly runAsGroup: number;
  /** Volumes of the pod. */
  readonly volumes?: kplus.Volume[];
  /** Annotations of the pod template. */
  readonly podAnnotations?: Record<string, string>;
  /** Rolling update: pods above `replicas` during an update. */
  readonly maxSurge: number;
  /** Rolling update: pods below `replicas` during an update. */
  readonly maxUnavailable: number;
  /** Time from SIGTERM (after preStop) to SIGKILL. */
  readonly terminationGracePeriod: Duration;
  /** Spread replicas over nodes, softly (a single node still schedules them all). */
  readonly spreadAcrossNodes: boolean;
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

/** Well-known topology key of a node's hostname. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/**
 * A cdk8s-plus Deployment that meets the Pod Security Standard "restricted": non-root numeric user, no privilege
 * escalation, all capabilities dropped, seccomp RuntimeDefault, read-only root filesystem, no service account token.
 * Pods are selected by the given stable labels (not cdk8s-plus's construct-path label, which changes when the
 * construct tree moves and would make the immutable selector change).
 */
export function secureDeployment(scope: Construct, id: string, o: SecureDeploymentOptions): kplus.Deployment {
  const deployment = new kplus.Deployment(scope, id, {
    metadata: { name: o.name, labels: o.labels },
    podMetadata: { labels: o.labels, annotations: o.podAnnotations },
    select: false,
    replicas: o.replicas,
    strategy: kplus.DeploymentStrategy.rollingUpdate({
      maxSurge: kplus.PercentOrAbsolute.absolute(o.maxSurge),
      maxUnavailable: kplus.PercentOrAbsolute.absolute(o.maxUnavailable),
    }),
    automountServiceAccountToken: false,
    terminationGracePeriod: o.terminationGracePeriod,
    securityContext: { ensureNonRoot: true, user: o.runAsUser, group: o.runAsGroup },
    volumes: o.volumes,
  });
  deployment.select(kplus.LabelSelector.of({ labels: o.selector }));
  deployment.addContainer({
    ...o.container,
    securityContext: {
      ensureNonRoot: true,
      user: o.runAsUser,
      group: o.runAsGroup,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
    },
  });
  // cdk8s-plus 27 has no seccomp or topologySpreadConstraints props, and its Capability enum has no "ALL":
  // patch the generated object.
  const api = ApiObject.of(deployment);
  // cdk8s-plus labels every pod with its construct path; we select by stable labels, so drop it: it would roll the
  // pods whenever the construct tree is reorganised.
  api.addJsonPatch(JsonPatch.remove(`/spec/template/metadata/labels/${CDK8S_ADDRESS_LABEL.replace('/', '~1')}`));
  api.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }));
  api.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
  if (o.spreadAcrossNodes) {
    api.addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [{
      maxSkew: 1,
      topologyKey: HOSTNAME_TOPOLOGY_KEY,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: o.selector },
    }]));
  }
  return deployment;
}
