import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_PART_OF, imageTag, recommendedLabels, selectorLabels } from './labels';
import { configChecksum, NGINX_CONF_FILE, NginxConfOptions, renderNginxConf } from './nginx-conf';
import { DEFAULT_PRE_STOP_SECONDS, GRACE_MARGIN_SECONDS, secureDeployment } from './secure-deployment';
import { ServiceAddress } from './service-address';
import { checkImage, checkName, checkPort, checkPositiveInteger, checkReplicas, invalid } from './validate';

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

/** Props of `ReverseProxy`. */
export interface ReverseProxyProps {
  /** Where to forward requests: a Service's address, e.g. `NumberCrunchApp.address`. */
  readonly upstream: ServiceAddress;
  /** Name of the Deployment and the `app.kubernetes.io/name` label. @default 'reverse-proxy' */
  readonly name?: string;
  /** Name of the ConfigMap holding `nginx.conf`. @default `${name}-config` */
  readonly configMapName?: string;
  /** Value of the `app.kubernetes.io/instance` label. @default - the name */
  readonly instance?: string;
  /** Value of the `app.kubernetes.io/part-of` label. @default 'number-crunch' */
  readonly partOf?: string;
  /** An unprivileged nginx image, pinned to a version. @default 'nginxinc/nginx-unprivileged:1.28.0-alpine' */
  readonly image?: string;
  /** When the kubelet pulls the image. @default kplus.ImagePullPolicy.IF_NOT_PRESENT */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /** Pod count. @default 1 */
  readonly replicas?: number;
  /** Port nginx listens on. @default 8080 */
  readonly port?: number;
  /** Path nginx answers itself, for its probes. @default '/nginx-health' */
  readonly healthPath?: string;
  /** Numeric user id nginx runs as. @default 101 (the nginx-unprivileged image's user) */
  readonly runAsUser?: number;
  /** Numeric group id nginx runs as. @default 101 */
  readonly runAsGroup?: number;
  /** Container resources. @default - requests 50m CPU / 16Mi, limits 500m CPU / 48Mi (see DEFAULT_PROXY_RESOURCES) */
  readonly resources?: kplus.ContainerResources;
  /** Seconds a terminating pod keeps serving (preStop) so endpoints drop it before nginx stops. @default 5 */
  readonly preStopSeconds?: number;
  /** nginx tuning. @default - see `NginxTuningProps` */
  readonly nginx?: NginxTuningProps;
}

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
 * props by `renderNginxConf` and mounted from a ConfigMap. The pod runs read-only and non-root; nginx writes only to
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
  public readonly selectorLabels: Record<string, string>;
  /** Labels on every object of the proxy. */
  public readonly labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: ReverseProxyProps) {
    super(scope, id);
    if (!props || !props.upstream) {
      invalid(this, 'upstream', props?.upstream, 'pass the address of the Service to forward to, e.g. app.address');
    }
    const name = checkName(this, 'name', props.name ?? 'reverse-proxy');
    const configMapName = checkName(this, 'configMapName', props.configMapName ?? `${name}-config`);
    const instance = checkName(this, 'instance', props.instance ?? name);
    const partOf = checkName(this, 'partOf', props.partOf ?? DEFAULT_PART_OF);
    const image = checkImage(this, 'image', props.image ?? DEFAULT_NGINX_IMAGE);
    const replicas = checkReplicas(this, 'replicas', props.replicas ?? 1);
    this.port = checkPort(this, 'port', props.port ?? DEFAULT_PROXY_PORT);
    checkPort(this, 'upstream.port', props.upstream.port);
    this.healthPath = props.healthPath ?? DEFAULT_PROXY_HEALTH_PATH;
    if (!/^\/[A-Za-z0-9._~\/-]*$/.test(this.healthPath)) {
      invalid(this, 'healthPath', this.healthPath, "must start with '/' and use only letters, digits and . _ ~ / -");
    }
    const runAsUser = checkPositiveInteger(this, 'runAsUser', props.runAsUser ?? NGINX_UNPRIVILEGED_UID);
    const runAsGroup = checkPositiveInteger(this, 'runAsGroup', props.runAsGroup ?? NGINX_UNPRIVILEGED_UID);
    const preStopSeconds = checkPositiveInteger(this, 'preStopSeconds', props.preStopSeconds ?? DEFAULT_PRE_STOP_SECONDS);
    const tuning = { ...DEFAULT_NGINX_TUNING, ...props.nginx };
    for (const key of ['workerProcesses', 'workerConnections', 'upstreamKeepalive', 'connectTimeoutSeconds', 'readTimeoutSeconds'] as const) {
      checkPositiveInteger(this, `nginx.${key}`, tuning[key]);
    }
    this.upstream = props.upstream;

    this.selectorLabels = selectorLabels({ name, instance });
    this.labels = recommendedLabels({ name, instance, component: 'proxy', partOf, version: imageTag(image) });

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
      name,
      labels: this.labels,
      selector: this.selectorLabels,
      replicas,
      runAsUser,
      runAsGroup,
      maxSurge: 1,
      maxUnavailable: 0,
      // nginx-unprivileged stops on SIGQUIT (graceful): in-flight requests get up to the read timeout.
      terminationGracePeriod: Duration.seconds(preStopSeconds + tuning.readTimeoutSeconds + GRACE_MARGIN_SECONDS),
      spreadAcrossNodes: true,
      podAnnotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(this.nginxConf) },
      container: {
        name: 'nginx',
        image,
        imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['nginx', '-e', 'stderr', '-c', `${NGINX_CONFIG_DIR}/${NGINX_CONF_FILE}`, '-g', 'daemon off;'],
        ports: [{ number: this.port, name: 'http' }],
        resources: props.resources ?? DEFAULT_PROXY_RESOURCES,
        readiness: probe(),
        liveness: probe(),
        lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', String(preStopSeconds)]) },
        volumeMounts: [
          { path: NGINX_CONFIG_DIR, volume: config, readOnly: true },
          { path: NGINX_RUNTIME_DIR, volume: runtime },
        ],
      },
    });
  }
}
