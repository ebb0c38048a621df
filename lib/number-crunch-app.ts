import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import {
  IMAGE_GROUP_ID, IMAGE_USER_ID, LIVENESS_PATH, READINESS_PATH, SERVICE_PORT, SHUTDOWN_DRAIN_TIMEOUT_MS,
} from '../number-crunch/src/contract';
import { DEFAULT_PART_OF, imageTag, recommendedLabels, selectorLabels } from './labels';
import { DEFAULT_PRE_STOP_SECONDS, GRACE_MARGIN_SECONDS, secureDeployment, selectPodsOf } from './secure-deployment';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_NAMESPACE, ServiceAddress, serviceAddress } from './service-address';
import {
  checkImage, checkName, checkPort, checkPositiveInteger, checkReplicas, checkSubdomain, invalid,
} from './validate';

/** Horizontal pod autoscaling of the app (needs metrics-server in the cluster). */
export interface NumberCrunchAutoscalingProps {
  /** Fewest replicas. @default - the app's `replicas` */
  readonly minReplicas?: number;
  /** Most replicas. */
  readonly maxReplicas: number;
  /** Average CPU utilization, in percent of the request, to aim for. @default 70 */
  readonly targetCpuUtilizationPercent?: number;
}

/** Props of `NumberCrunchApp`. */
export interface NumberCrunchAppProps {
  /** Name of the Deployment, and the `app.kubernetes.io/name` label. @default 'number-crunch' */
  readonly name?: string;
  /** Name of the ClusterIP Service in front of the pods. @default `${name}-service` */
  readonly serviceName?: string;
  /** Value of the `app.kubernetes.io/instance` label. @default - the name */
  readonly instance?: string;
  /** Value of the `app.kubernetes.io/part-of` label. @default 'number-crunch' */
  readonly partOf?: string;
  /** Container image. @default 'number-crunch:local' (built and imported into microk8s, see README) */
  readonly image?: string;
  /**
   * When the kubelet pulls the image. `IF_NOT_PRESENT` uses an image imported into the node (microk8s) without a
   * registry, and still pulls a registry image the first time. @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /** Pod count. @default 2 */
  readonly replicas?: number;
  /** Port of the container and of the Service. @default 8080 (the image's default) */
  readonly port?: number;
  /** Container resources. @default - requests 50m CPU / 96Mi, limits 500m CPU / 160Mi (see DEFAULT_APP_RESOURCES) */
  readonly resources?: kplus.ContainerResources;
  /** Cluster DNS domain used in the Service's FQDN. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Seconds a terminating pod keeps serving (preStop) so endpoints drop it before SIGTERM. @default 5 */
  readonly preStopSeconds?: number;
  /** Make a PodDisruptionBudget allowing one voluntary disruption at a time. @default true */
  readonly podDisruptionBudget?: boolean;
  /** Spread replicas across nodes (soft: a single node still runs them all). @default true */
  readonly spreadAcrossNodes?: boolean;
  /** Make a HorizontalPodAutoscaler. @default - none (it needs metrics-server) */
  readonly autoscaling?: NumberCrunchAutoscalingProps;
}

/** Default image of the app: built from `number-crunch/` and imported into the cluster. */
export const DEFAULT_APP_IMAGE = 'number-crunch:local';
/**
 * Resources of the service's container, from `npm run bench` (README, Performance): peak RSS under 64 connections at
 * about 50k req/s was 95 MiB, so the request covers that peak and the limit leaves 1.7x headroom. One core served
 * those 50k req/s; the 500m limit caps a pod near half that, and 50m is plenty at rest (scale with replicas or HPA).
 */
export const DEFAULT_APP_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(96), limit: Size.mebibytes(160) },
};

/** Default name of the app's Deployment. */
export const DEFAULT_APP_NAME = 'number-crunch';

/**
 * The number-crunch service: a Deployment of the image built from `number-crunch/` and a ClusterIP Service in front of
 * it, hardened (Pod Security Standard "restricted"), with probes, resources, a PodDisruptionBudget, soft spreading
 * across nodes and an optional HorizontalPodAutoscaler.
 */
export class NumberCrunchApp extends Construct {
  /** The Deployment of the service. */
  public readonly deployment: kplus.Deployment;
  /** The ClusterIP Service in front of it. */
  public readonly service: kplus.Service;
  /** Where the Service answers in the cluster (FQDN and port), for a proxy or any other client. */
  public readonly address: ServiceAddress;
  /** Labels that select the app's pods. */
  public readonly selectorLabels: Record<string, string>;
  /** Labels on every object of the app. */
  public readonly labels: Record<string, string>;
  /** The PodDisruptionBudget, unless turned off. */
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  /** The HorizontalPodAutoscaler, if `autoscaling` was given. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;

  constructor(scope: Construct, id: string, props: NumberCrunchAppProps = {}) {
    super(scope, id);
    const name = checkName(this, 'name', props.name ?? DEFAULT_APP_NAME);
    const serviceName = checkName(this, 'serviceName', props.serviceName ?? `${name}-service`);
    const instance = checkName(this, 'instance', props.instance ?? name);
    const partOf = checkName(this, 'partOf', props.partOf ?? DEFAULT_PART_OF);
    const image = checkImage(this, 'image', props.image ?? DEFAULT_APP_IMAGE);
    const replicas = checkReplicas(this, 'replicas', props.replicas ?? 2);
    const port = checkPort(this, 'port', props.port ?? SERVICE_PORT);
    const clusterDomain = checkSubdomain(this, 'clusterDomain', props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    const preStopSeconds = checkPositiveInteger(this, 'preStopSeconds', props.preStopSeconds ?? DEFAULT_PRE_STOP_SECONDS);
    const autoscaling = props.autoscaling && this.checkAutoscaling(props.autoscaling, replicas);
    const namespace = Chart.of(this).namespace ?? DEFAULT_NAMESPACE;

    this.selectorLabels = selectorLabels({ name, instance });
    this.labels = recommendedLabels({ name, instance, component: 'api', partOf, version: imageTag(image) });

    this.deployment = secureDeployment(this, 'Deployment', {
      name,
      labels: this.labels,
      selector: this.selectorLabels,
      replicas,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_GROUP_ID,
      // Keep full capacity during a rollout: start a new pod before stopping an old one.
      maxSurge: 1,
      maxUnavailable: 0,
      terminationGracePeriod: Duration.seconds(
        preStopSeconds + Math.ceil(SHUTDOWN_DRAIN_TIMEOUT_MS / 1000) + GRACE_MARGIN_SECONDS),
      spreadAcrossNodes: props.spreadAcrossNodes ?? true,
      container: {
        name,
        image,
        imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
        ports: [{ number: port, name: 'http' }],
        envVariables: { PORT: kplus.EnvValue.fromValue(String(port)) },
        resources: props.resources ?? DEFAULT_APP_RESOURCES,
        readiness: kplus.Probe.fromHttpGet(READINESS_PATH, {
          port, periodSeconds: Duration.seconds(5), failureThreshold: 2, timeoutSeconds: Duration.seconds(1),
        }),
        liveness: kplus.Probe.fromHttpGet(LIVENESS_PATH, {
          port, periodSeconds: Duration.seconds(10), failureThreshold: 3, timeoutSeconds: Duration.seconds(1),
        }),
        // Keep serving while the endpoint controller and kube-proxy drop this pod, then get SIGTERM.
        lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', String(preStopSeconds)]) },
      },
    });

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: serviceName, labels: this.labels },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: 'http', port, targetPort: port }],
    });
    selectPodsOf(this.service, this.deployment);
    this.address = serviceAddress(serviceName, namespace, port, clusterDomain);

    if (props.podDisruptionBudget ?? true) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: { name: `${name}-pdb`, labels: this.labels },
        // maxUnavailable (not minAvailable) so a single replica never blocks a node drain.
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.selectorLabels } },
      });
    }

    if (autoscaling) {
      // The autoscaler owns the replica count: a replicas field would be reset by every `kubectl apply`.
      ApiObject.of(this.deployment).addJsonPatch(JsonPatch.remove('/spec/replicas'));
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name: `${name}-hpa`, labels: this.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: autoscaling.minReplicas,
          maxReplicas: autoscaling.maxReplicas,
          metrics: [{
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscaling.target } },
          }],
        },
      });
    }
  }

  private checkAutoscaling(a: NumberCrunchAutoscalingProps, replicas: number) {
    const minReplicas = checkReplicas(this, 'autoscaling.minReplicas', a.minReplicas ?? replicas);
    const maxReplicas = checkReplicas(this, 'autoscaling.maxReplicas', a.maxReplicas);
    if (maxReplicas < minReplicas) {
      invalid(this, 'autoscaling.maxReplicas', maxReplicas,
        `must be at least autoscaling.minReplicas (${minReplicas}); raise maxReplicas or lower minReplicas`);
    }
    const target = a.targetCpuUtilizationPercent ?? 70;
    if (!Number.isInteger(target) || target < 1 || target > 100) {
      invalid(this, 'autoscaling.targetCpuUtilizationPercent', target, 'must be an integer percentage from 1 to 100');
    }
    return { minReplicas, maxReplicas, target };
  }
}
