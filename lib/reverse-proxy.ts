import { ApiObject, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { configChecksum, NGINX_CONF_FILE, renderNginxConf, STUB_STATUS_PATH } from './nginx-conf';
import { METRICS_PORT_NAME, scrapeAnnotations } from './prometheus';
import { ServiceAddress } from './service-address';
import { checkImage, checkName, checkPort, checkPositiveInteger, checkSubdomain, invalid } from './validate';
import { disruptionBudget, hardenedDeployment, resourceRequirements } from './hardened-deployment';
import { IWorkload, resolveWorkload, WorkloadProps } from './workload';

/** Tuning of the rendered `nginx.conf`; the defaults are measured in `npm run bench` (docs/performance.md). */
export interface NginxTuningProps {
  /**
   * nginx worker processes.
   * @default 1 (one worker fits the 500m CPU limit)
   * @see https://nginx.org/en/docs/ngx_core_module.html#worker_processes
   */
  readonly workerProcesses?: number;
  /**
   * Connections per worker.
   * @default 1024
   */
  readonly workerConnections?: number;
  /**
   * Idle upstream keep-alive connections per worker.
   * @default 64
   * @see https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive
   */
  readonly upstreamKeepalive?: number;
  /**
   * Upstream connect timeout in seconds, per try (a down upstream answers 502 within `upstreamTries` times it). Sized
   * for a cluster network, where a connection is set up in a millisecond or two.
   * @default 1
   * @see https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_connect_timeout
   */
  readonly connectTimeoutSeconds?: number;
  /**
   * Upstream read timeout in seconds; also the most time all tries of one request may take together.
   * @default 30
   */
  readonly readTimeoutSeconds?: number;
  /**
   * Connections nginx tries for one idempotent request (GET, HEAD) whose upstream connection fails or times out,
   * each through the Service anew (kube-proxy picks the pod, so a try after the first misses a dead pod of two with
   * probability 1/2: 5 tries leave a request on a pod that just died a 1-in-16 chance to fail). Other methods are
   * never retried. 1: no retry.
   * @default 5
   * @see https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream
   */
  readonly upstreamTries?: number;
  /**
   * Seconds nginx uses the upstream's DNS answer before it asks the cluster DNS again, so a re-created Service (a new
   * ClusterIP) is followed without a restart.
   * @default 5 (CoreDNS's own TTL for Service records)
   * @see https://nginx.org/en/docs/http/ngx_http_upstream_module.html#resolve
   */
  readonly resolveIntervalSeconds?: number;
  /**
   * Write an access log line per request to stdout.
   * @default false
   */
  readonly accessLog?: boolean;
}

/** Props of `ReverseProxy`. */
export interface ReverseProxyProps extends WorkloadProps {
  /**
   * Where to forward requests: a Service's address, e.g. `NumberCrunchApp.address` or `ServiceAddresses.of(...)`.
   * Required; `NumberCrunchChart` sets it to its app's address.
   */
  readonly upstream?: ServiceAddress;
  /**
   * Name of the ConfigMap holding `nginx.conf`.
   * @default `${name}-config`
   */
  readonly configMapName?: string;
  /**
   * Where requests go while `upstream`'s name has no address (its Service deleted and not yet re-created, which
   * would otherwise answer 502 until nginx resolves the name again): the same pods by another name, e.g.
   * `NumberCrunchApp.podsAddress` (a headless Service). `NumberCrunchChart` sets it to its app's.
   * @default - none: while the upstream's name has no address, requests are answered 502
   */
  readonly fallbackUpstream?: ServiceAddress;
  /**
   * DNS server nginx asks for the upstream's address while it runs: a host name (resolved once when nginx starts,
   * through the pod's own DNS settings) or an IP address.
   * @default - the cluster DNS Service: `kube-dns.kube-system.svc.<the upstream's cluster domain>` (kubeadm, microk8s,
   *   most managed clusters)
   * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#resolver
   */
  readonly resolver?: string;
  /**
   * Path nginx answers itself, for its probes.
   * @default '/nginx-health'
   */
  readonly healthPath?: string;
  /**
   * Numeric user id nginx runs as.
   * @default 101 (the nginx-unprivileged image's user)
   */
  readonly runAsUser?: number;
  /**
   * Numeric group id nginx runs as.
   * @default 101
   */
  readonly runAsGroup?: number;
  /**
   * nginx tuning.
   * @default - see `NginxTuningProps`
   */
  readonly nginx?: NginxTuningProps;
  /**
   * Run the official nginx-prometheus-exporter beside nginx: it reads nginx's `stub_status` over the pod's loopback
   * and serves Prometheus metrics on port 9113 (container port `metrics`, named in the pod's `prometheus.io/*` scrape
   * annotations). Off: no exporter, no status server.
   * @default true
   * @see https://github.com/nginx/nginx-prometheus-exporter
   */
  readonly metricsExporter?: boolean;
  /**
   * Image of the metrics exporter, pinned to a tag or digest; pulled with the proxy's `imagePullPolicy`.
   * @default 'nginx/nginx-prometheus-exporter:1.5.1'
   */
  readonly metricsExporterImage?: string;
  /**
   * Port of nginx's `stub_status`, on 127.0.0.1 only (reachable from inside the pod alone), for the exporter.
   * @default 8081
   * @see https://nginx.org/en/docs/http/ngx_http_stub_status_module.html
   */
  readonly stubStatusPort?: number;
}

/** Most upstream tries a request may get. */
export const MAX_UPSTREAM_TRIES = 10;

/** The cluster DNS Service's name in a cluster with DNS domain `clusterDomain`. */
export function clusterDnsName(clusterDomain: string): string {
  return `kube-dns.kube-system.svc.${clusterDomain}`;
}

/** Default name of the proxy's Deployment. */
export const DEFAULT_PROXY_NAME = 'reverse-proxy';
/** Default pod count of the proxy. */
export const DEFAULT_PROXY_REPLICAS = 2;
/** Default nginx image: runs as a non-root user, pinned to a release. */
export const DEFAULT_NGINX_IMAGE = 'nginxinc/nginx-unprivileged:1.30.6-alpine';
/** User and group id of the nginx-unprivileged image. */
export const NGINX_UNPRIVILEGED_UID = 101;
/** Port the proxy listens on by default. */
export const DEFAULT_PROXY_PORT = 8080;
/** Default image of the metrics exporter: the official one, pinned to a release. */
export const DEFAULT_EXPORTER_IMAGE = 'nginx/nginx-prometheus-exporter:1.5.1';
/** Port the exporter serves its metrics on (its own default, `--web.listen-address=:9113`). */
export const EXPORTER_PORT = 9113;
/** Path of the exporter's metrics. */
export const EXPORTER_METRICS_PATH = '/metrics';
/** Default port of nginx's `stub_status` on the pod's loopback. */
export const DEFAULT_STUB_STATUS_PORT = 8081;
/** Resources of the exporter's container: a small Go process that reads one status page per scrape. */
export const EXPORTER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(48) },
};
/** Path nginx answers itself, for its probes, by default. */
export const DEFAULT_PROXY_HEALTH_PATH = '/nginx-health';
/** Directory the ConfigMap is mounted at. */
export const NGINX_CONFIG_DIR = '/etc/nginx/proxy';
/** Writable emptyDir for nginx's pid file and temp files (the root filesystem is read-only). */
export const NGINX_RUNTIME_DIR = '/tmp';
/** Annotation on the pod template carrying the config checksum, so a changed config rolls the pods. */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';
/** Default resources of the nginx container, sized from `npm run bench` (docs/performance.md). */
export const DEFAULT_PROXY_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(48) },
};
/** Default tuning of the rendered nginx.conf (docs/performance.md says why each value). */
export const DEFAULT_NGINX_TUNING: Required<NginxTuningProps> = {
  workerProcesses: 1,
  workerConnections: 1024,
  upstreamKeepalive: 64,
  connectTimeoutSeconds: 1,
  readTimeoutSeconds: 30,
  upstreamTries: 5,
  resolveIntervalSeconds: 5,
  accessLog: false,
};

/**
 * nginx in front of one Service: a hardened Deployment of an unprivileged nginx whose `nginx.conf` is rendered from
 * typed props and mounted from a ConfigMap. nginx writes only to an emptyDir. A checksum of the config in the pod
 * template rolls the pods when the config changes.
 */
export class ReverseProxy extends Construct implements IWorkload {
  /** The nginx Deployment (apps/v1). */
  public readonly deployment: ApiObject;
  /** The ConfigMap (v1) holding `nginx.conf`. */
  public readonly configMap: ApiObject;
  /** The rendered `nginx.conf`. */
  public readonly nginxConf: string;
  /** Name of the Deployment. */
  public readonly name: string;
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
  /** The PodDisruptionBudget (policy/v1), when made. */
  public readonly podDisruptionBudget?: ApiObject;
  /** Port the metrics exporter serves on, when it runs. */
  public readonly metricsPort?: number;

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
    const configMapName = checkName(this, 'configMapName', props.configMapName ?? `${w.name}-config`);
    checkPort(this, 'upstream.port', props.upstream.port);
    checkSubdomain(this, 'upstream.fqdn', props.upstream.fqdn);
    if (props.fallbackUpstream !== undefined) {
      checkPort(this, 'fallbackUpstream.port', props.fallbackUpstream.port);
      checkSubdomain(this, 'fallbackUpstream.fqdn', props.fallbackUpstream.fqdn);
      if (props.fallbackUpstream.fqdn === props.upstream.fqdn) {
        invalid(this, 'fallbackUpstream', props.fallbackUpstream.fqdn,
          'must be another name than upstream (it is used while the upstream\'s name has no address), e.g. app.podsAddress');
      }
    }
    this.healthPath = props.healthPath ?? DEFAULT_PROXY_HEALTH_PATH;
    if (!/^\/[A-Za-z0-9._~/-]*$/.test(this.healthPath)) {
      invalid(this, 'healthPath', this.healthPath, "must start with '/' and use only letters, digits and . _ ~ / -");
    }
    const runAsUser = checkPositiveInteger(this, 'runAsUser', props.runAsUser ?? NGINX_UNPRIVILEGED_UID);
    const runAsGroup = checkPositiveInteger(this, 'runAsGroup', props.runAsGroup ?? NGINX_UNPRIVILEGED_UID);
    const given = props.nginx ?? {};
    const tuning: Required<NginxTuningProps> = {
      workerProcesses: checkPositiveInteger(this, 'nginx.workerProcesses', given.workerProcesses ?? DEFAULT_NGINX_TUNING.workerProcesses),
      workerConnections: checkPositiveInteger(this, 'nginx.workerConnections', given.workerConnections ?? DEFAULT_NGINX_TUNING.workerConnections),
      upstreamKeepalive: checkPositiveInteger(this, 'nginx.upstreamKeepalive', given.upstreamKeepalive ?? DEFAULT_NGINX_TUNING.upstreamKeepalive),
      connectTimeoutSeconds: checkPositiveInteger(this, 'nginx.connectTimeoutSeconds', given.connectTimeoutSeconds ?? DEFAULT_NGINX_TUNING.connectTimeoutSeconds),
      readTimeoutSeconds: checkPositiveInteger(this, 'nginx.readTimeoutSeconds', given.readTimeoutSeconds ?? DEFAULT_NGINX_TUNING.readTimeoutSeconds),
      upstreamTries: checkPositiveInteger(this, 'nginx.upstreamTries', given.upstreamTries ?? DEFAULT_NGINX_TUNING.upstreamTries),
      resolveIntervalSeconds: checkPositiveInteger(this, 'nginx.resolveIntervalSeconds',
        given.resolveIntervalSeconds ?? DEFAULT_NGINX_TUNING.resolveIntervalSeconds),
      accessLog: given.accessLog ?? DEFAULT_NGINX_TUNING.accessLog,
    };
    if (tuning.upstreamTries > MAX_UPSTREAM_TRIES) {
      invalid(this, 'nginx.upstreamTries', tuning.upstreamTries,
        `must be at most ${MAX_UPSTREAM_TRIES}: each try is one more connection for a request that already failed`);
    }
    const resolver = checkSubdomain(this, 'resolver', props.resolver ?? clusterDnsName(props.upstream.clusterDomain));
    const exporter = props.metricsExporter ?? true;
    const exporterImage = checkImage(this, 'metricsExporterImage', props.metricsExporterImage ?? DEFAULT_EXPORTER_IMAGE);
    const stubStatusPort = checkPort(this, 'stubStatusPort', props.stubStatusPort ?? DEFAULT_STUB_STATUS_PORT);
    if (exporter) {
      // Each listener in the pod needs a port of its own.
      const exporterPort = `the metrics exporter's port, ${EXPORTER_PORT}`;
      if (w.port === EXPORTER_PORT) invalid(this, 'port', w.port, `must differ from ${exporterPort}: pick another`);
      if (stubStatusPort === EXPORTER_PORT) invalid(this, 'stubStatusPort', stubStatusPort, `must differ from ${exporterPort}: pick another`);
      if (stubStatusPort === w.port) invalid(this, 'stubStatusPort', stubStatusPort, `must differ from port (${w.port}): pick another`);
    }
    this.upstream = props.upstream;
    this.metricsPort = exporter ? EXPORTER_PORT : undefined;
    this.name = w.name;
    this.port = w.port;
    this.selectorLabels = w.selectorLabels;
    this.labels = w.labels;

    this.nginxConf = renderNginxConf({
      upstream: props.upstream,
      listenPort: this.port,
      healthPath: this.healthPath,
      runtimeDir: NGINX_RUNTIME_DIR,
      resolver,
      fallback: props.fallbackUpstream,
      ...tuning,
      stubStatusPort: exporter ? stubStatusPort : undefined,
    });
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMapName, labels: this.labels },
      data: { [NGINX_CONF_FILE]: this.nginxConf },
    });

    const probe: k8s.Probe = {
      httpGet: { path: this.healthPath, port: k8s.IntOrString.fromNumber(this.port) },
      periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 1,
    };
    const exporterProbe: k8s.Probe = {
      tcpSocket: { port: k8s.IntOrString.fromNumber(EXPORTER_PORT) }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1,
    };
    this.deployment = hardenedDeployment(this, 'Deployment', {
      workload: w,
      runAsUser,
      runAsGroup,
      // nginx-unprivileged stops on SIGQUIT (graceful): in-flight requests get up to the read timeout.
      drainSeconds: tuning.readTimeoutSeconds,
      podAnnotations: {
        [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(this.nginxConf),
        ...(exporter ? scrapeAnnotations(EXPORTER_PORT, EXPORTER_METRICS_PATH) : {}),
      },
      sidecars: exporter ? [{
        name: 'nginx-exporter',
        image: exporterImage,
        imagePullPolicy: w.imagePullPolicy,
        args: [`--nginx.scrape-uri=http://127.0.0.1:${stubStatusPort}${STUB_STATUS_PATH}`, `--web.listen-address=:${EXPORTER_PORT}`],
        ports: [{ containerPort: EXPORTER_PORT, name: METRICS_PORT_NAME }],
        resources: resourceRequirements(EXPORTER_RESOURCES),
        // A TCP check of its port: an HTTP probe of /metrics would scrape nginx each time.
        readinessProbe: exporterProbe,
        livenessProbe: exporterProbe,
      }] : undefined,
      volumes: [
        { name: 'config', configMap: { name: configMapName } },
        { name: 'runtime', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
      ],
      container: {
        name: 'nginx',
        command: ['nginx', '-e', 'stderr', '-c', `${NGINX_CONFIG_DIR}/${NGINX_CONF_FILE}`, '-g', 'daemon off;'],
        readinessProbe: probe,
        livenessProbe: probe,
        volumeMounts: [
          { mountPath: NGINX_CONFIG_DIR, name: 'config', readOnly: true },
          { mountPath: NGINX_RUNTIME_DIR, name: 'runtime' },
        ],
      },
    });
    this.podDisruptionBudget = disruptionBudget(this, w, w.replicas);
  }
}
