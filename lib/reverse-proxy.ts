import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { configChecksum, NGINX_CONF_FILE, NginxConfOptions, renderNginxConf } from './nginx-conf';
import { resolveWorkload, secureDeployment, workloadDisruptionBudget, WorkloadProps } from './secure-deployment';
import { ServiceAddress } from './service-address';
import { checkName, checkPort, checkPositiveInteger, invalid } from './validate';

/** Tuning of the rendered `nginx.conf`. Each value has a default measured in `npm run bench` (README, Performance). */
export interface NginxTuningProps {
  /** nginx worker processes. @default 1 (one worker fits the 500m CPU limit; see DEFAULT_NGINX_TUNING) */
  readonly workerProcesses?: number;
  /** Connections per worker. @default 1024 */
  readonly workerConnections?: number;
  /** Idle upstream keep-alive connections per worker. @default 64 */
  readonly upstreamKeepalive?: number;
  /** Upstream connect timeout in seconds (a down upstream answers 502 within it). @default 2 */
  readonly connectTimeoutSeconds?: number;
  /** Upstream read timeout in seconds. @default 30 */
  readonly readTimeoutSeconds?: number;
  /** Write an access log line per request to stdout. @default false */
  readonly accessLog?: boolean;
}

/** Options of `ReverseProxy` other than its upstream (`NumberCrunchChart`'s `proxy` prop). */
export interface ReverseProxyOptions extends WorkloadProps {
  /** Name of the ConfigMap holding `nginx.conf`. @default `${name}-config` */
  readonly configMapName?: string;
  /** Path nginx answers itself, for its probes. @default '/nginx-health' */
  readonly healthPath?: string;
  /** Numeric user id nginx runs as. @default 101 (the nginx-unprivileged image's user) */
  readonly runAsUser?: number;
  /** Numeric group id nginx runs as. @default 101 */
  readonly runAsGroup?: number;
  /** nginx tuning. @default - see `NginxTuningProps` */
  readonly nginx?: NginxTuningProps;
}

/** Props of `ReverseProxy`; the shared workload props are documented on `WorkloadProps` and `WorkloadOptions`. */
export interface ReverseProxyProps extends ReverseProxyOptions {
  /** Where to forward requests: a Service's address, e.g. `NumberCrunchApp.address` or `ServiceAddresses.of(...)`. */
  readonly upstream: ServiceAddress;
}

/** Default name of the proxy's Deployment. */
export const DEFAULT_PROXY_NAME = 'reverse-proxy';
/** Default pod count of the proxy. */
export const DEFAULT_PROXY_REPLICAS = 1;
/** Default nginx image: runs as a non-root user, pinned to a release. */
export const DEFAULT_NGINX_IMAGE = 'nginxinc/nginx-unprivileged:1.28.0-alpine';
/** User and group id of the nginx-unprivileged image. */
export const NGINX_UNPRIVILEGED_UID = 101;
/** Port the proxy listens on by default. */
export const DEFAULT_PROXY_PORT = 8080;
/** Path nginx answers itself, for its probes, by default. */
export const DEFAULT_PROXY_HEALTH_PATH = '/nginx-health';
/** Directory the ConfigMap is mounted at. */
export const NGINX_CONFIG_DIR = '/etc/nginx/proxy';
/** Writable emptyDir for nginx's pid file and temp files (the root filesystem is read-only). */
export const NGINX_RUNTIME_DIR = '/tmp';
/** Annotation on the pod template carrying the config checksum, so a changed config rolls the pods. */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';
/**
 * Resources of the nginx container, from `npm run bench` (README, Performance): master and worker together peaked at
 * 10 MiB RSS under 64 connections at about 50k req/s; the request covers that, the limit leaves room for many more
 * connections (each costs a few KiB) and a config reload's second set of workers.
 */
export const DEFAULT_PROXY_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(48) },
};

/** Default tuning of the rendered nginx.conf (figures in README, Performance). */
export const DEFAULT_NGINX_TUNING: Required<NginxTuningProps> = {
  // One worker: the pod is limited to half a CPU, and on a 2-core node shared with the service and the load, a
  // second worker only adds contention (32.3k req/s with 2 workers vs 48.5k with 1, p99 7.0 vs 3.5 ms).
  workerProcesses: 1,
  workerConnections: 1024,
  upstreamKeepalive: 64,
  connectTimeoutSeconds: 2,
  readTimeoutSeconds: 30,
  accessLog: false,
};

/**
 * nginx in front of one Service: a Deployment of an unprivileged nginx whose `nginx.conf` is rendered from typed
 * props by `NginxConf.render` and mounted from a ConfigMap. The pod runs read-only and non-root; nginx writes only to
 * an emptyDir. A checksum of the config in the pod template rolls the pods when the config changes.
 */
export class ReverseProxy extends Construct {
  /** The nginx Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The ConfigMap holding `nginx.conf`. */
  public readonly configMap: kplus.ConfigMap;
  /** The rendered `nginx.conf`. */
  public readonly nginxConf: string;
  /** Port nginx listens on. */
  public readonly port: number;
  /** Path of nginx's own health endpoint. */
  public readonly healthPath: string;
  /** The upstream it forwards to. */
  public readonly upstream: ServiceAddress;
  /** Labels that select the proxy's pods. */
  public readonly selectorLabels: { [key: string]: string };
  /** Labels on every object of the proxy. */
  public readonly labels: { [key: string]: string };
  /** The PodDisruptionBudget (policy/v1, `<name>-pdb`, one disruption at a time), made when there is more than one replica. */
  public readonly podDisruptionBudget?: ApiObject;

  constructor(scope: Construct, id: string, props: ReverseProxyProps) {
    super(scope, id);
    if (!props || !props.upstream) {
      invalid(this, 'upstream', props?.upstream, 'pass the address of the Service to forward to, e.g. app.address');
    }
    const w = resolveWorkload(this, props, {
      name: DEFAULT_PROXY_NAME,
      image: DEFAULT_NGINX_IMAGE,
      replicas: DEFAULT_PROXY_REPLICAS,
      port: DEFAULT_PROXY_PORT,
      resources: DEFAULT_PROXY_RESOURCES,
      component: 'proxy',
    });
    const { name } = w;
    const configMapName = checkName(this, 'configMapName', props.configMapName ?? `${name}-config`);
    this.port = w.port;
    checkPort(this, 'upstream.port', props.upstream.port);
    this.healthPath = props.healthPath ?? DEFAULT_PROXY_HEALTH_PATH;
    if (!/^\/[A-Za-z0-9._~\/-]*$/.test(this.healthPath)) {
      invalid(this, 'healthPath', this.healthPath, "must start with '/' and use only letters, digits and . _ ~ / -");
    }
    const runAsUser = checkPositiveInteger(this, 'runAsUser', props.runAsUser ?? NGINX_UNPRIVILEGED_UID);
    const runAsGroup = checkPositiveInteger(this, 'runAsGroup', props.runAsGroup ?? NGINX_UNPRIVILEGED_UID);
    const tuning = { ...DEFAULT_NGINX_TUNING, ...props.nginx };
    for (const key of ['workerProcesses', 'workerConnections', 'upstreamKeepalive', 'connectTimeoutSeconds', 'readTimeoutSeconds'] as const) {
      checkPositiveInteger(this, `nginx.${key}`, tuning[key]);
    }
    this.upstream = props.upstream;

    this.selectorLabels = w.selectorLabels;
    this.labels = w.labels;

    const confOptions: NginxConfOptions = {
      upstream: props.upstream,
      listenPort: this.port,
      healthPath: this.healthPath,
      runtimeDir: NGINX_RUNTIME_DIR,
      ...tuning,
    };
    this.nginxConf = renderNginxConf(confOptions);
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: configMapName, labels: this.labels },
      data: { [NGINX_CONF_FILE]: this.nginxConf },
    });

    const config = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' });
    const runtime = kplus.Volume.fromEmptyDir(this, 'RuntimeVolume', 'runtime', { sizeLimit: Size.mebibytes(64) });
    const probe = () => kplus.Probe.fromHttpGet(this.healthPath, {
      port: this.port, periodSeconds: Duration.seconds(5), failureThreshold: 3, timeoutSeconds: Duration.seconds(1),
    });
    this.deployment = secureDeployment(this, 'Deployment', {
      workload: w,
      runAsUser,
      runAsGroup,
      // nginx-unprivileged stops on SIGQUIT (graceful): in-flight requests get up to the read timeout.
      drainSeconds: tuning.readTimeoutSeconds,
      podAnnotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(this.nginxConf) },
      container: {
        name: 'nginx',
        command: ['nginx', '-e', 'stderr', '-c', `${NGINX_CONFIG_DIR}/${NGINX_CONF_FILE}`, '-g', 'daemon off;'],
        readiness: probe(),
        liveness: probe(),
        volumeMounts: [
          { path: NGINX_CONFIG_DIR, volume: config, readOnly: true },
          { path: NGINX_RUNTIME_DIR, volume: runtime },
        ],
      },
    });
    // Same budget as the app's; with one replica it would protect nothing.
    if (w.replicas > 1) this.podDisruptionBudget = workloadDisruptionBudget(this, w);
  }
}
