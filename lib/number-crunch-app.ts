import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import {
  IMAGE_GROUP_ID, IMAGE_USER_ID, LIVENESS_PATH, PORT_ENV, READINESS_PATH, SERVICE_PORT, SHUTDOWN_DRAIN_TIMEOUT_MS,
} from '../number-crunch/src/contract';
import {
  HTTP_PORT_NAME, resolveWorkload, secureDeployment, selectPodsOf, workloadDisruptionBudget, WorkloadOptions, WorkloadProps,
} from './secure-deployment';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_NAMESPACE, ServiceAddress, serviceAddress } from './service-address';
import { checkName, checkReplicas, checkSubdomain, invalid } from './validate';

/** Horizontal pod autoscaling of the app (needs metrics-server in the cluster). */
export interface NumberCrunchAutoscalingProps {
  /** Fewest replicas. @default - the app's `replicas` */
  readonly minReplicas?: number;
  /** Most replicas. */
  readonly maxReplicas: number;
  /**
   * Average CPU utilization to aim for, in percent of the CPU request (above 100 is normal: the request is small).
   * An integer from 1 to just below limit / request x 100 (999 with 50m / 500m): a pod never uses more than its limit.
   * @default - 60% of the CPU limit in percent of the request: 600 with the default 50m request and 500m limit (300m per pod, about 12,000-23,000 req/s at the measured 13-25 CPU-us per request)
   */
  readonly targetCpuUtilizationPercent?: number;
}

/** Options of `NumberCrunchApp` that `NumberCrunchChart` passes through (its `app` prop). */
export interface NumberCrunchAppOptions extends WorkloadOptions {
  /** Name of the ClusterIP Service in front of the pods. @default `${name}-service` */
  readonly serviceName?: string;
  /** Make a PodDisruptionBudget allowing one voluntary disruption at a time. @default true */
  readonly podDisruptionBudget?: boolean;
}

/** Props of `NumberCrunchApp`; the shared workload props are documented on `WorkloadProps` and `WorkloadOptions`. */
export interface NumberCrunchAppProps extends WorkloadProps, NumberCrunchAppOptions {
  /** Cluster DNS domain used in the Service's FQDN. @default 'cluster.local' */
  readonly clusterDomain?: string;
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
/** Default pod count of the app: two, so one can restart while the other serves. */
export const DEFAULT_APP_REPLICAS = 2;
/**
 * Default CPU the autoscaler aims for, in percent of the CPU limit; the HPA's target is this share of the limit
 * expressed in percent of the request: 60% of 500m = 300m = 600% of the 50m request with the default resources.
 * Figures from `npm run bench` (README, Performance): the service costs 13-21 CPU-us per request on one core (21-25 at
 * a fixed rate, 25 through the pod network path), so 300m is about 12,000-23,000 req/s per pod. A target of 70% of the
 * request (35m) would be 1,400-2,700 req/s per pod: real traffic would read as many times the target and the
 * autoscaler would go straight to maxReplicas (one proxy replica passes at most ~17,000 req/s, 500m at 29 CPU-us per
 * request; two app pods at 8,500 req/s each and 21 us are at ~360% of their request, and 70% would ask for 11 pods,
 * 600% for 2). 60% of the limit leaves 1.67x headroom before a pod is throttled, for the time a new pod takes.
 */
export const DEFAULT_TARGET_CPU_SHARE_OF_LIMIT = 60;

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
  public readonly selectorLabels: { [key: string]: string };
  /** Labels on every object of the app. */
  public readonly labels: { [key: string]: string };
  /** Port the app's container listens on (what NetworkPolicies and probes use). */
  public readonly containerPort: number;
  /** The PodDisruptionBudget (policy/v1), unless turned off. */
  public readonly podDisruptionBudget?: ApiObject;
  /** The HorizontalPodAutoscaler (autoscaling/v2), if `autoscaling` was given. */
  public readonly autoscaler?: ApiObject;

  constructor(scope: Construct, id: string, props: NumberCrunchAppProps = {}) {
    super(scope, id);
    const w = resolveWorkload(this, props, {
      name: DEFAULT_APP_NAME,
      image: DEFAULT_APP_IMAGE,
      replicas: DEFAULT_APP_REPLICAS,
      port: SERVICE_PORT,
      resources: DEFAULT_APP_RESOURCES,
      component: 'api',
    });
    const { name, port } = w;
    const serviceName = checkName(this, 'serviceName', props.serviceName ?? `${name}-service`);
    const clusterDomain = checkSubdomain(this, 'clusterDomain', props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    const autoscaling = props.autoscaling && this.checkAutoscaling(props.autoscaling, w.replicas, w.resources);
    // In a chart without a namespace the objects would land wherever `kubectl apply` points, while the FQDN handed
    // to the proxy must name one: pin the app's objects to that namespace (a mismatched `-n` then fails loudly).
    const chartNamespace = Chart.of(this).namespace;
    const namespace = chartNamespace ?? DEFAULT_NAMESPACE;
    const pinnedNamespace = chartNamespace === undefined ? namespace : undefined;

    this.selectorLabels = w.selectorLabels;
    this.labels = w.labels;
    this.containerPort = port;

    this.deployment = secureDeployment(this, 'Deployment', {
      workload: w,
      namespace: pinnedNamespace,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_GROUP_ID,
      drainSeconds: Math.ceil(SHUTDOWN_DRAIN_TIMEOUT_MS / 1000),
      container: {
        name,
        envVariables: { [PORT_ENV]: kplus.EnvValue.fromValue(String(port)) },
        readiness: kplus.Probe.fromHttpGet(READINESS_PATH, {
          port, periodSeconds: Duration.seconds(5), failureThreshold: 2, timeoutSeconds: Duration.seconds(1),
        }),
        liveness: kplus.Probe.fromHttpGet(LIVENESS_PATH, {
          port, periodSeconds: Duration.seconds(10), failureThreshold: 3, timeoutSeconds: Duration.seconds(1),
        }),
      },
    });

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: serviceName, namespace: pinnedNamespace, labels: this.labels },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: HTTP_PORT_NAME, port, targetPort: port }],
    });
    selectPodsOf(this.service, this.deployment);
    this.address = serviceAddress(serviceName, namespace, port, clusterDomain);

    if (props.podDisruptionBudget ?? true) {
      this.podDisruptionBudget = workloadDisruptionBudget(this, w, pinnedNamespace);
    }

    if (autoscaling) {
      // The autoscaler owns the replica count: a replicas field would be reset by every `kubectl apply`.
      ApiObject.of(this.deployment).addJsonPatch(JsonPatch.remove('/spec/replicas'));
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name: `${name}-hpa`, namespace: pinnedNamespace, labels: this.labels },
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

  private checkAutoscaling(a: NumberCrunchAutoscalingProps, replicas: number, resources: kplus.ContainerResources) {
    const minReplicas = checkReplicas(this, 'autoscaling.minReplicas', a.minReplicas ?? replicas);
    const maxReplicas = checkReplicas(this, 'autoscaling.maxReplicas', a.maxReplicas);
    if (maxReplicas < minReplicas) {
      invalid(this, 'autoscaling.maxReplicas', maxReplicas,
        `must be at least autoscaling.minReplicas (${minReplicas}); raise maxReplicas or lower minReplicas`);
    }
    const request = cpuMillis(resources.cpu?.request);
    const limit = cpuMillis(resources.cpu?.limit);
    if (request === undefined || request <= 0) {
      invalid(this, 'resources.cpu.request', resources.cpu?.request?.amount,
        "the autoscaler's CPU utilization is a share of the CPU request: set resources.cpu.request (e.g. Cpu.millis(50))");
    }
    // A pod never uses more CPU than its limit: utilization stays below limit / request, so a target at or above it
    // would never add a pod.
    const ceiling = limit === undefined ? undefined : Math.ceil((100 * limit) / request);
    if (a.targetCpuUtilizationPercent === undefined && limit === undefined) {
      invalid(this, 'autoscaling.targetCpuUtilizationPercent', undefined,
        `its default is ${DEFAULT_TARGET_CPU_SHARE_OF_LIMIT}% of the CPU limit and resources.cpu.limit is not set: set targetCpuUtilizationPercent (percent of the CPU request) or a CPU limit`);
    }
    const target = a.targetCpuUtilizationPercent ?? Math.floor((DEFAULT_TARGET_CPU_SHARE_OF_LIMIT * limit!) / request);
    if (!Number.isInteger(target) || target < 1 || (ceiling !== undefined && target >= ceiling)) {
      invalid(this, 'autoscaling.targetCpuUtilizationPercent', target, ceiling === undefined
        ? 'must be a positive integer (percent of the CPU request)'
        : `must be an integer from 1 to ${ceiling - 1}: a pod cannot use more CPU than its limit (${limit}m = ${ceiling}% of its ${request}m request), so at ${ceiling}% or more the autoscaler would never add a pod; lower it or raise resources.cpu.limit`);
    }
    return { minReplicas, maxReplicas, target };
  }
}

/** Millicores of a CPU quantity as cdk8s-plus writes it ("50m", "1", "0.5"); undefined when unset or unreadable. */
export function cpuMillis(cpu: kplus.Cpu | undefined): number | undefined {
  const m = cpu === undefined ? null : /^(\d+(?:\.\d+)?)(m?)$/.exec(cpu.amount);
  if (!m) return undefined;
  return m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
}
