import { ApiObject, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import {
  IMAGE_GROUP_ID, IMAGE_USER_ID, LIVENESS_PATH, METRICS_PATH, METRICS_PORT, METRICS_PORT_ENV, PORT_ENV, READINESS_PATH,
  SERVICE_PORT, SHUTDOWN_DRAIN_TIMEOUT_MS,
} from '../contract';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_NAMESPACE, ServiceAddress, serviceAddress } from './service-address';
import { METRICS_PORT_NAME, scrapeAnnotations } from './prometheus';
import { checkName, checkPort, checkReplicas, checkSubdomain, invalid } from './validate';
import { disruptionBudget, hardenedDeployment } from './hardened-deployment';
import { HTTP_PORT_NAME, IWorkload, resolveWorkload, WorkloadProps } from './workload';

/** Horizontal pod autoscaling of the app on CPU (needs metrics-server in the cluster). */
export interface AutoscalingProps {
  /**
   * Fewest replicas.
   * @default - the app's `replicas`
   */
  readonly minReplicas?: number;
  /** Most replicas. */
  readonly maxReplicas: number;
  /**
   * Average CPU to aim for, in percent of the CPU request (above 100 is normal: the request is small). An integer
   * below limit / request x 100, since a pod never uses more than its limit. The project's docs/performance.md has
   * the measurements behind the default.
   * @default - 60% of the CPU limit: 600 with the default 50m request and 500m limit
   */
  readonly targetCpuUtilizationPercent?: number;
  /**
   * Seconds the autoscaler looks back before adding pods: it scales up only to the lowest replica count it
   * recommended in that window (`spec.behavior.scaleUp.stabilizationWindowSeconds`), from 0 to 3600.
   * @default - Kubernetes's default: 0, scale up at once
   * @see https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#stabilization-window
   */
  readonly scaleUpStabilizationSeconds?: number;
  /**
   * Seconds the autoscaler looks back before removing pods: it scales down only to the highest replica count it
   * recommended in that window (`spec.behavior.scaleDown.stabilizationWindowSeconds`), from 0 to 3600.
   * @default - Kubernetes's default: 300
   * @see https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#stabilization-window
   */
  readonly scaleDownStabilizationSeconds?: number;
}

/** Props of `NumberCrunchApp`. */
export interface NumberCrunchAppProps extends WorkloadProps {
  /**
   * Name of the ClusterIP Service in front of the pods.
   * @default `${name}-service`
   */
  readonly serviceName?: string;
  /**
   * Cluster DNS domain, used in the Service's FQDN.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Make a HorizontalPodAutoscaler (autoscaling/v2); the Deployment then leaves `replicas` to it.
   * @default - none (it needs metrics-server)
   */
  readonly autoscaling?: AutoscalingProps;
  /**
   * Port the service serves its Prometheus metrics on (`/metrics`), apart from `port`: the container port `metrics`,
   * named in the pod's `prometheus.io/*` scrape annotations. The ClusterIP Service does not expose it.
   * @default 9464
   * @see https://prometheus.io/docs/instrumenting/exposition_formats/
   */
  readonly metricsPort?: number;
}

/** Default image of the app: built from `number-crunch/` and imported into the cluster. */
export const DEFAULT_APP_IMAGE = 'number-crunch:local';
/** Default name of the app's Deployment. */
export const DEFAULT_APP_NAME = 'number-crunch';
/** Default pod count of the app: two, so one can restart while the other serves. */
export const DEFAULT_APP_REPLICAS = 2;
/** Default resources of the service's container, sized from `npm run bench` (docs/performance.md). */
export const DEFAULT_APP_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(96), limit: Size.mebibytes(160) },
};
/** Suffix of the headless Service's name after the ClusterIP Service's. */
export const HEADLESS_SERVICE_SUFFIX = '-pods';
/** Longest stabilization window the API server accepts (`HPAScalingRules.stabilizationWindowSeconds`), one hour. */
export const MAX_STABILIZATION_SECONDS = 3600;
/** Default autoscaler target as a share of the CPU limit, in percent (docs/performance.md). */
export const DEFAULT_TARGET_CPU_SHARE_OF_LIMIT = 60;
/**
 * What the service needs beside V8's old generation, in MiB: Node's own code and data (about 48 MiB resident), the
 * young generation (three semi-spaces) and buffers. The old generation gets the rest of the memory limit. Without a
 * cap Node 24 sizes the heap from the host (259 MiB in a 160 MiB cgroup) and lets garbage pile up past the limit: the
 * kernel kills the pod (docs/service.md).
 */
export const HEAP_RESERVE_MIB = 56;
/**
 * V8's semi-space cap in MiB: its young generation is three of them. Without it Node 24 sizes the young generation
 * from the host's memory (192 MiB on a 2-core, 8 GiB machine) even when the old generation is capped.
 */
export const HEAP_SEMI_SPACE_MIB = 2;
/**
 * Smallest memory limit the service runs in, in MiB: 40 MiB of old generation above HEAP_RESERVE_MIB (idle, before any
 * request, the service is 62 MiB resident).
 */
export const MIN_APP_MEMORY_LIMIT_MIB = 96;

/**
 * The number-crunch service: a hardened Deployment of the image built from `number-crunch/`, a ClusterIP Service in
 * front of it, a PodDisruptionBudget, and optionally a HorizontalPodAutoscaler.
 */
export class NumberCrunchApp extends Construct implements IWorkload {
  /** The Deployment (apps/v1). */
  public readonly deployment: ApiObject;
  /** The ClusterIP Service (v1) in front of it. */
  public readonly service: ApiObject;
  /** Where the Service answers in the cluster (FQDN and port), for a proxy or any other client. */
  public readonly address: ServiceAddress;
  /**
   * A headless Service (v1, `clusterIP: None`, `<serviceName>-pods`) selecting the same pods: its DNS name answers
   * the ready pods' own addresses.
   */
  public readonly headlessService: ApiObject;
  /**
   * Where the pods answer without the ClusterIP (the headless Service's FQDN and port): a proxy's fallback for the
   * moments the ClusterIP Service does not exist (deleted and re-created).
   */
  public readonly podsAddress: ServiceAddress;
  /** Name of the Deployment. */
  public readonly name: string;
  /** Port the app's container listens on. */
  public readonly port: number;
  /** Port the app's container serves its Prometheus metrics on (always set; optional as in `IWorkload`). */
  public readonly metricsPort?: number;
  /** Labels that select the app's pods. */
  public readonly selectorLabels: { [key: string]: string };
  /** Labels on every object of the app. */
  public readonly labels: { [key: string]: string };
  /** The PodDisruptionBudget (policy/v1), when made. */
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
    const serviceName = checkName(this, 'serviceName', props.serviceName ?? `${w.name}-service`);
    const clusterDomain = checkSubdomain(this, 'clusterDomain', props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    const metricsPort = checkPort(this, 'metricsPort', props.metricsPort ?? METRICS_PORT);
    if (metricsPort === w.port) {
      invalid(this, 'metricsPort', metricsPort, `must differ from port (${w.port}): metrics have a listener of their own; pick another port for one of them`);
    }
    const autoscaling = props.autoscaling && this.checkAutoscaling(props.autoscaling, w.replicas, w.resources);
    const memoryLimitMib = w.resources.memory?.limit?.toMebibytes();
    if (memoryLimitMib !== undefined && !(memoryLimitMib >= MIN_APP_MEMORY_LIMIT_MIB)) {
      invalid(this, 'resources.memory.limit', `${memoryLimitMib}Mi`,
        `the service is 62 MiB resident when idle and needs room for its heap: set at least Size.mebibytes(${MIN_APP_MEMORY_LIMIT_MIB}), or no limit`);
    }
    const nodeOptions = memoryLimitMib === undefined ? undefined : heapNodeOptions(memoryLimitMib);
    // The FQDN handed to the proxy must name a namespace: in a chart without one, pin the app's objects to it.
    const chartNamespace = Chart.of(this).namespace;
    const namespace = chartNamespace ?? DEFAULT_NAMESPACE;
    const pinnedNamespace = chartNamespace === undefined ? namespace : undefined;

    this.name = w.name;
    this.port = w.port;
    this.metricsPort = metricsPort;
    this.selectorLabels = w.selectorLabels;
    this.labels = w.labels;

    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(w.port) }, periodSeconds, failureThreshold, timeoutSeconds: 1,
    });
    this.deployment = hardenedDeployment(this, 'Deployment', {
      workload: w,
      namespace: pinnedNamespace,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_GROUP_ID,
      drainSeconds: Math.ceil(SHUTDOWN_DRAIN_TIMEOUT_MS / 1000),
      autoscaled: autoscaling !== undefined,
      podAnnotations: scrapeAnnotations(metricsPort, METRICS_PATH),
      extraPorts: [{ containerPort: metricsPort, name: METRICS_PORT_NAME }],
      container: {
        name: w.name,
        env: [
          { name: PORT_ENV, value: String(w.port) }, { name: METRICS_PORT_ENV, value: String(metricsPort) },
          ...(nodeOptions === undefined ? [] : [{ name: 'NODE_OPTIONS', value: nodeOptions }]),
        ],
        readinessProbe: probe(READINESS_PATH, 5, 2),
        livenessProbe: probe(LIVENESS_PATH, 10, 3),
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: serviceName, namespace: pinnedNamespace, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [{ name: HTTP_PORT_NAME, port: w.port, targetPort: k8s.IntOrString.fromNumber(w.port) }],
      },
    });
    this.address = serviceAddress(serviceName, namespace, w.port, clusterDomain);
    const headlessName = checkName(this, 'serviceName', `${serviceName}${HEADLESS_SERVICE_SUFFIX}`);
    this.headlessService = new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: headlessName, namespace: pinnedNamespace, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        clusterIp: 'None',
        selector: this.selectorLabels,
        ports: [{ name: HTTP_PORT_NAME, port: w.port, targetPort: k8s.IntOrString.fromNumber(w.port) }],
      },
    });
    this.podsAddress = serviceAddress(headlessName, namespace, w.port, clusterDomain);
    this.podDisruptionBudget = disruptionBudget(this, w, autoscaling?.minReplicas ?? w.replicas, pinnedNamespace);

    if (autoscaling) {
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name: `${w.name}-hpa`, namespace: pinnedNamespace, labels: this.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: w.name },
          minReplicas: autoscaling.minReplicas,
          maxReplicas: autoscaling.maxReplicas,
          metrics: [{
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscaling.target } },
          }],
          behavior: autoscaling.behavior,
        },
      });
    }
  }

  private checkAutoscaling(a: AutoscalingProps, replicas: number, resources: kplus.ContainerResources) {
    const minReplicas = checkReplicas(this, 'autoscaling.minReplicas', a.minReplicas ?? replicas);
    const maxReplicas = checkReplicas(this, 'autoscaling.maxReplicas', a.maxReplicas);
    if (maxReplicas < minReplicas) {
      invalid(this, 'autoscaling.maxReplicas', maxReplicas,
        `must be at least autoscaling.minReplicas (${minReplicas}${a.minReplicas === undefined ? ', which defaults to replicas' : ''}); raise maxReplicas or lower minReplicas`);
    }
    const target = autoscalingTarget(a.targetCpuUtilizationPercent, cpuMillis(resources.cpu?.request), cpuMillis(resources.cpu?.limit));
    if (typeof target !== 'number') invalid(this, target.prop, target.value, target.allowed);
    const window = (side: 'Up' | 'Down', value: number | undefined) => {
      if (value === undefined) return undefined;
      const prop = `autoscaling.scale${side}StabilizationSeconds`;
      if (!Number.isInteger(value) || value < 0 || value > MAX_STABILIZATION_SECONDS) {
        invalid(this, prop, value, `must be a whole number of seconds from 0 to ${MAX_STABILIZATION_SECONDS} (the API server's limit); 0 acts on each recommendation at once`);
      }
      return { stabilizationWindowSeconds: value };
    };
    const scaleUp = window('Up', a.scaleUpStabilizationSeconds);
    const scaleDown = window('Down', a.scaleDownStabilizationSeconds);
    const behavior = scaleUp === undefined && scaleDown === undefined ? undefined : { scaleUp, scaleDown };
    return { minReplicas, maxReplicas, target, behavior };
  }
}

/**
 * The Node options (`NODE_OPTIONS`) that size V8's heap for a container memory limit of `memoryLimitMib` MiB: the old
 * generation the limit less HEAP_RESERVE_MIB, the semi-spaces HEAP_SEMI_SPACE_MIB.
 */
export function heapNodeOptions(memoryLimitMib: number): string {
  const oldSpaceMib = Math.floor(memoryLimitMib - HEAP_RESERVE_MIB);
  return `--max-old-space-size=${oldSpaceMib} --max-semi-space-size=${HEAP_SEMI_SPACE_MIB}`;
}

/** A prop that makes no valid autoscaler target, and what would. */
export interface TargetProblem {
  readonly prop: string;
  readonly value: unknown;
  readonly allowed: string;
}

/**
 * The autoscaler's CPU target in percent of the request: `given`, or DEFAULT_TARGET_CPU_SHARE_OF_LIMIT of the limit.
 * A pod never uses more than its limit, so a target at or above limit / request, which would never add a pod, is a
 * problem, as is a missing request.
 */
export function autoscalingTarget(given: number | undefined, request: number | undefined, limit: number | undefined): number | TargetProblem {
  const prop = 'autoscaling.targetCpuUtilizationPercent';
  if (request === undefined || request <= 0) {
    return { prop: 'resources.cpu.request', value: request,
      allowed: "the autoscaler's CPU utilization is a share of the CPU request: set resources.cpu.request (e.g. Cpu.millis(50))" };
  }
  if (given === undefined && limit === undefined) {
    return { prop, value: given,
      allowed: `its default is ${DEFAULT_TARGET_CPU_SHARE_OF_LIMIT}% of the CPU limit and resources.cpu.limit is not set: set targetCpuUtilizationPercent (percent of the CPU request) or a CPU limit` };
  }
  const target = given ?? Math.floor((DEFAULT_TARGET_CPU_SHARE_OF_LIMIT * limit!) / request);
  const ceiling = limit === undefined ? undefined : Math.ceil((100 * limit) / request);
  if (!Number.isInteger(target) || target < 1 || (ceiling !== undefined && target >= ceiling)) {
    return { prop, value: target, allowed: ceiling === undefined
      ? 'must be a positive integer (percent of the CPU request)'
      : `must be an integer from 1 to ${ceiling - 1}: a pod cannot use more CPU than its limit (${limit}m = ${ceiling}% of its ${request}m request), so at ${ceiling}% or more the autoscaler would never add a pod; lower it or raise resources.cpu.limit` };
  }
  return target;
}

/** Millicores of a CPU quantity as cdk8s-plus writes it ("50m", "1", "0.5"); undefined when unset or unreadable. */
export function cpuMillis(cpu: kplus.Cpu | undefined): number | undefined {
  const m = cpu === undefined ? null : /^(\d+(?:\.\d+)?)(m?)$/.exec(cpu.amount);
  if (!m) return undefined;
  return m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
}
