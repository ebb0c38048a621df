import { ApiObject, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Certificate } from '../imports/cert-manager.io';
import * as k8s from '../imports/k8s';
import {
  configChecksum, HTTP2_DIRECTIVE_SINCE, NGINX_CONF_FILE, NGINX_PID_FILE, NginxClientLimits, nginxImageLacksHttp2Directive,
  renderNginxConf, STUB_STATUS_PATH,
} from './nginx-conf';
import { METRICS_PORT_NAME, scrapeAnnotations } from './prometheus';
import { ServiceAddress } from './service-address';
import {
  DEFAULT_RELOAD_CHECK_SECONDS, MAX_RELOAD_CHECK_SECONDS, TLS_RELOADER_NAME, tlsReloaderProbe, tlsReloaderScript,
} from './tls-reloader';
import { checkImage, checkName, checkPort, checkPositiveInteger, checkSubdomain, invalid, isDnsSubdomain } from './validate';
import { disruptionBudget, hardenedDeployment, resourceRequirements } from './hardened-deployment';
import { HTTPS_PORT_NAME, IWorkload, resolveWorkload, WorkloadProps } from './workload';

/** Tuning of the rendered `nginx.conf`; the defaults are measured in `npm run bench` (docs/performance.md). */
export interface NginxTuningProps {
  /**
   * nginx worker processes.
   * @default 1 (one worker fits the 500m CPU limit)
   * @see https://nginx.org/en/docs/ngx_core_module.html#worker_processes
   */
  readonly workerProcesses?: number;
  /**
   * Connections per worker, clients and upstream together (a proxied request holds one of each). Sized so that the
   * per-client connection limit times a handful of clients stays far below it (docs/public-internet.md).
   * @default 4096
   * @see https://nginx.org/en/docs/ngx_core_module.html#worker_connections
   */
  readonly workerConnections?: number;
  /**
   * Idle upstream keep-alive connections per worker.
   * @default 64
   * @see https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive
   */
  readonly upstreamKeepalive?: number;
  /**
   * Upstream connect timeout in seconds, per try (a down upstream answers 502 within `upstreamTries` times it, two
   * tries more with a `fallbackUpstream`). Sized
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
   * Connections nginx tries through the Service for one idempotent request (GET, HEAD) whose upstream connection
   * fails or times out, each a new pick of kube-proxy's, which may land on a pod that just died again (its endpoint
   * stays until the kubelet notices): with two pods, a request whose first try met the dead one has every try go
   * there one time in 2,048 with 12 tries (one in 16 with 5). With a `fallbackUpstream`, two more tries follow on its pods
   * by their own addresses, each a different pod; they save the request only while the pods' DNS answer is current
   * (after a rollout it can list the old pods for the cluster DNS's cache time). Either name's DNS answer changing
   * during a request's tries also answers 502. Other methods are never retried. 1: no retry through the Service.
   * @default 12
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
  /**
   * Seconds nginx waits for a client's whole request head, between two reads of a body and between two writes of an
   * answer; a client that is slower is dropped (`client_header_timeout`, `client_body_timeout`, `send_timeout`).
   * @default 10
   * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#client_header_timeout
   */
  readonly clientTimeoutSeconds?: number;
  /**
   * Seconds an idle keep-alive client connection stays open (`keepalive_timeout`). Idle connections do not count
   * against the per-client connection limit, so this bounds how long a client can park them.
   * @default 10
   * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_timeout
   */
  readonly keepaliveTimeoutSeconds?: number;
}

/**
 * Limits per client address, the connection's source address as nginx sees it.
 *
 * Behind the load balancer's default `externalTrafficPolicy: Local` that is the client's own; with `Cluster` it is a
 * node's, shared by every client coming through it. A request over a limit is answered 429 with a JSON error and
 * `Retry-After`. Sized so that one well-behaved heavy client never reaches them (docs/public-internet.md).
 */
export interface ClientLimitsProps {
  /**
   * Turn the limits on.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Requests one address may have in progress at once (`limit_conn`; a connection counts once its request head has
   * been read).
   * @default 64
   * @see https://nginx.org/en/docs/http/ngx_http_limit_conn_module.html
   */
  readonly connectionsPerClient?: number;
  /**
   * Sustained requests per second of one address (`limit_req_zone ... rate=`).
   * @default 500
   * @see https://nginx.org/en/docs/http/ngx_http_limit_req_module.html
   */
  readonly requestsPerSecond?: number;
  /**
   * Requests above the rate one address may send at once, answered without delay (`limit_req ... burst= nodelay`); 0
   * allows no burst.
   * @default 1000
   */
  readonly burst?: number;
}

/**
 * HTTPS at the proxy: nginx serves TLS 1.2 and 1.3 (Mozilla "intermediate") and HTTP/2 on its own port, with a
 * certificate from a `kubernetes.io/tls` Secret, and its plain port redirects to HTTPS (308), its health path excepted.
 */
export interface ProxyTlsProps {
  /**
   * Name of the `kubernetes.io/tls` Secret (keys `tls.crt` and `tls.key`) in the proxy's namespace; it is mounted
   * read-only into the proxy's pods and never written by this library. Required.
   * @see https://kubernetes.io/docs/concepts/configuration/secret/#tls-secrets
   */
  readonly secretName: string;
  /**
   * Container port nginx serves HTTPS on (a load balancer in front exposes it as 443).
   * @default 8443
   */
  readonly port?: number;
  /**
   * `max-age` of the `Strict-Transport-Security` header on HTTPS answers, in seconds; 0 tells browsers to forget it.
   * @default 31536000 (one year)
   * @see https://www.rfc-editor.org/rfc/rfc6797#section-6.1.1
   */
  readonly hstsMaxAgeSeconds?: number;
  /**
   * Also write a cert-manager `Certificate` (cert-manager.io/v1, `<name>-certificate`) that has cert-manager issue the
   * certificate into `secretName` and renew it. cert-manager must be installed in the cluster.
   * @default - none: you create and renew the Secret yourself
   * @see https://cert-manager.io/docs/usage/certificate/
   */
  readonly certificate?: ProxyCertificateProps;
  /**
   * Seconds between two looks of the `tls-reloader` sidecar at the mounted certificate and key, 1 to 3600. When they
   * changed (Kubernetes updates a mounted Secret within a minute or so of a change, e.g. a renewal), the sidecar sends
   * nginx's master process SIGHUP: nginx serves the new certificate without a restart, and its old workers finish
   * their requests. The sidecar runs the proxy's `image` (which must have `sh`, `sha256sum` and `sleep`), and the pod
   * gets `shareProcessNamespace: true` so that it can signal nginx.
   * @default 5
   * @see https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/
   */
  readonly reloadCheckSeconds?: number;
}

/** A cert-manager `Certificate` for the proxy's TLS Secret. */
export interface ProxyCertificateProps {
  /**
   * The issuer that signs the certificate (`spec.issuerRef`). Required.
   */
  readonly issuerRef: CertificateIssuerRef;
  /**
   * DNS names the certificate is for: the public names of the load balancer (`*.` wildcards allowed). Required, at
   * least one.
   */
  readonly dnsNames: string[];
}

/** The issuer a cert-manager `Certificate` names. */
export interface CertificateIssuerRef {
  /**
   * Name of the issuer. Required.
   */
  readonly name: string;
  /**
   * Kind of the issuer: `Issuer` (in the proxy's namespace), `ClusterIssuer`, or an external issuer's kind.
   * @default 'Issuer'
   */
  readonly kind?: string;
  /**
   * API group of the issuer.
   * @default 'cert-manager.io'
   */
  readonly group?: string;
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
   * The same pods by another name, e.g. `NumberCrunchApp.podsAddress` (a headless Service), for what the Service
   * alone cannot do: serve while `upstream`'s name has no address (its Service deleted and not yet re-created, which
   * would otherwise answer 502 until nginx resolves the name again), and two more tries of a request whose tries
   * through the Service all failed, each on a different pod. `NumberCrunchChart` sets it to its app's.
   * @default - none: while the upstream's name has no address, requests are answered 502; every retry goes through the Service
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
  /**
   * Per-client-address limits on connections and request rate.
   * @default - on: 64 requests in progress, 500 requests/s with a burst of 1000 per address
   */
  readonly clientLimits?: ClientLimitsProps;
  /**
   * Serve HTTPS with the certificate of a `kubernetes.io/tls` Secret, and redirect plain HTTP to it.
   * @default - off: plain HTTP on `port` only
   */
  readonly tls?: ProxyTlsProps;
}

/** Most tries through the Service a request may get (`nginx.upstreamTries`); a fallback adds its two. */
export const MAX_UPSTREAM_TRIES = 20;

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
/** User and group of the exporter when the pod shares its process namespace: `nobody`, as its official image runs. */
export const EXPORTER_UID = 65534;
/**
 * Resources of the tls-reloader's container: a shell that hashes two small files every few seconds. The CPU limit is
 * the exporter's, so that its exec probes (a process started in the container) never wait on the quota.
 */
export const TLS_RELOADER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(5), limit: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(8), limit: Size.mebibytes(16) },
};
/** Path nginx answers itself, for its probes, by default. */
export const DEFAULT_PROXY_HEALTH_PATH = '/nginx-health';
/** Directory the ConfigMap is mounted at. */
export const NGINX_CONFIG_DIR = '/etc/nginx/proxy';
/** Writable emptyDir for nginx's pid file and temp files (the root filesystem is read-only). */
export const NGINX_RUNTIME_DIR = '/tmp';
/** Annotation on the pod template carrying the config checksum, so a changed config rolls the pods. */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';
/**
 * Default resources of the nginx container, sized from `npm run bench` (docs/performance.md); the memory limit leaves
 * room for a worker whose every connection holds a half-sent request head (docs/public-internet.md).
 */
export const DEFAULT_PROXY_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
};
/** Default tuning of the rendered nginx.conf (docs/performance.md says why each value). */
export const DEFAULT_NGINX_TUNING: Required<NginxTuningProps> = {
  workerProcesses: 1,
  workerConnections: 4096,
  upstreamKeepalive: 64,
  connectTimeoutSeconds: 1,
  readTimeoutSeconds: 30,
  upstreamTries: 12,
  resolveIntervalSeconds: 5,
  accessLog: false,
  clientTimeoutSeconds: 10,
  keepaliveTimeoutSeconds: 10,
};
/** Default per-client limits (docs/public-internet.md says why each value). */
export const DEFAULT_CLIENT_LIMITS: Required<ClientLimitsProps> = {
  enabled: true,
  connectionsPerClient: 64,
  requestsPerSecond: 500,
  burst: 1000,
};
/** Seconds a 429 answer's `Retry-After` asks for: the rate refills within one. */
export const RETRY_AFTER_SECONDS = 1;
/** Container port of the HTTPS server by default. */
export const DEFAULT_PROXY_TLS_PORT = 8443;
/** HSTS max-age by default: one year, as ingress-nginx's. */
export const DEFAULT_HSTS_MAX_AGE_SECONDS = 31_536_000;
/** Kind of a Certificate's issuer by default (cert-manager's own default). */
export const DEFAULT_ISSUER_KIND = 'Issuer';
/** API group of a Certificate's issuer by default. */
export const DEFAULT_ISSUER_GROUP = 'cert-manager.io';
/** Directory the TLS Secret is mounted at. */
export const NGINX_TLS_DIR = '/etc/nginx/tls';

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
  /** Port nginx serves HTTPS on, when `tls` is set. */
  public readonly tlsPort?: number;
  /** Name of the TLS Secret it mounts, when `tls` is set. */
  public readonly tlsSecretName?: string;
  /** The cert-manager Certificate (cert-manager.io/v1) filling that Secret, when `tls.certificate` is set. */
  public readonly certificate?: ApiObject;

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
      clientTimeoutSeconds: checkPositiveInteger(this, 'nginx.clientTimeoutSeconds', given.clientTimeoutSeconds ?? DEFAULT_NGINX_TUNING.clientTimeoutSeconds),
      keepaliveTimeoutSeconds: checkPositiveInteger(this, 'nginx.keepaliveTimeoutSeconds', given.keepaliveTimeoutSeconds ?? DEFAULT_NGINX_TUNING.keepaliveTimeoutSeconds),
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
    const clientLimits = resolveClientLimits(this, props.clientLimits);
    const tls = props.tls === undefined ? undefined : resolveTls(this, props.tls, w.port);
    if (tls && nginxImageLacksHttp2Directive(w.image)) {
      invalid(this, 'image', w.image, `tls needs nginx ${HTTP2_DIRECTIVE_SINCE.join('.')} or later (its config uses "http2 on;"): use a newer image, e.g. "${DEFAULT_NGINX_IMAGE}"`);
    }
    this.tlsPort = tls?.port;
    this.tlsSecretName = tls?.secretName;
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
      clientLimits,
      tls: tls && { port: tls.port, certificateDir: NGINX_TLS_DIR, hstsMaxAgeSeconds: tls.hstsMaxAgeSeconds },
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
    const tlsMount: k8s.VolumeMount = { mountPath: NGINX_TLS_DIR, name: 'tls', readOnly: true };
    const pidFile = `${NGINX_RUNTIME_DIR}/${NGINX_PID_FILE}`;
    // Can it signal nginx? Readiness too: a pod whose reloader cannot would keep an old certificate unnoticed.
    const reloaderProbe: k8s.Probe = {
      exec: { command: ['sh', '-c', tlsReloaderProbe(pidFile)] }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1,
    };
    const sidecars: k8s.Container[] = [];
    if (exporter) {
      sidecars.push({
        name: 'nginx-exporter',
        image: exporterImage,
        imagePullPolicy: w.imagePullPolicy,
        args: [`--nginx.scrape-uri=http://127.0.0.1:${stubStatusPort}${STUB_STATUS_PATH}`, `--web.listen-address=:${EXPORTER_PORT}`],
        ports: [{ containerPort: EXPORTER_PORT, name: METRICS_PORT_NAME }],
        resources: resourceRequirements(EXPORTER_RESOURCES),
        // A TCP check of its port: an HTTP probe of /metrics would scrape nginx each time.
        readinessProbe: exporterProbe,
        livenessProbe: exporterProbe,
        // With the process namespace shared (tls), a user of its own: nginx's uid could read nginx's files, the
        // private key among them, through /proc/<pid>/root.
        securityContext: tls ? { runAsUser: EXPORTER_UID, runAsGroup: EXPORTER_UID } : undefined,
      });
    }
    if (tls) {
      // nginx's own image (nothing more to pin), as nginx's user: the only one allowed to signal it. It reads nginx's
      // pid file from nginx's emptyDir.
      sidecars.push({
        name: TLS_RELOADER_NAME,
        image: w.image,
        imagePullPolicy: w.imagePullPolicy,
        command: ['sh', '-c', tlsReloaderScript({ certificateDir: NGINX_TLS_DIR, checkSeconds: tls.reloadCheckSeconds, pidFile })],
        resources: resourceRequirements(TLS_RELOADER_RESOURCES),
        readinessProbe: reloaderProbe,
        livenessProbe: reloaderProbe,
        securityContext: { runAsUser, runAsGroup },
        volumeMounts: [tlsMount, { mountPath: NGINX_RUNTIME_DIR, name: 'runtime', readOnly: true }],
      });
    }
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
      sidecars: sidecars.length > 0 ? sidecars : undefined,
      // The tls-reloader signals nginx's master process.
      shareProcessNamespace: tls !== undefined,
      volumes: [
        { name: 'config', configMap: { name: configMapName } },
        { name: 'runtime', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
        ...(tls ? [{ name: 'tls', secret: { secretName: tls.secretName } }] : []),
      ],
      extraPorts: tls ? [{ containerPort: tls.port, name: HTTPS_PORT_NAME }] : undefined,
      container: {
        name: 'nginx',
        command: ['nginx', '-e', 'stderr', '-c', `${NGINX_CONFIG_DIR}/${NGINX_CONF_FILE}`, '-g', 'daemon off;'],
        readinessProbe: probe,
        livenessProbe: probe,
        volumeMounts: [
          { mountPath: NGINX_CONFIG_DIR, name: 'config', readOnly: true },
          { mountPath: NGINX_RUNTIME_DIR, name: 'runtime' },
          ...(tls ? [tlsMount] : []),
        ],
      },
    });
    this.podDisruptionBudget = disruptionBudget(this, w, w.replicas);
    if (tls?.certificate) {
      this.certificate = new Certificate(this, 'Certificate', {
        metadata: { name: `${w.name}-certificate`, labels: this.labels },
        spec: { secretName: tls.secretName, dnsNames: tls.certificate.dnsNames, issuerRef: tls.certificate.issuerRef },
      });
    }
  }
}

/** `clientLimits` validated with defaults applied; undefined when turned off. */
function resolveClientLimits(scope: Construct, given: ClientLimitsProps = {}): NginxClientLimits | undefined {
  const enabled = given.enabled ?? DEFAULT_CLIENT_LIMITS.enabled;
  if (typeof enabled !== 'boolean') invalid(scope, 'clientLimits.enabled', enabled, 'must be true or false');
  if (!enabled) return undefined;
  const off = 'to turn the limits off, set clientLimits.enabled to false';
  const positive = (prop: 'connectionsPerClient' | 'requestsPerSecond', what: string): number => {
    const value = given[prop] ?? DEFAULT_CLIENT_LIMITS[prop];
    if (!Number.isInteger(value) || value < 1) invalid(scope, `clientLimits.${prop}`, value, `must be a positive integer (${what}); ${off}`);
    return value;
  };
  const connections = positive('connectionsPerClient', '0 would refuse every request');
  const requestsPerSecond = positive('requestsPerSecond', 'a rate of 0 would refuse every request');
  const burst = given.burst ?? DEFAULT_CLIENT_LIMITS.burst;
  if (!Number.isInteger(burst) || burst < 0) {
    invalid(scope, 'clientLimits.burst', burst, 'must be a whole number, 0 or more (0: no request above the rate is allowed)');
  }
  return { connections, requestsPerSecond, burst, retryAfterSeconds: RETRY_AFTER_SECONDS };
}

/** `tls.certificate` validated with defaults applied. */
function resolveCertificate(scope: Construct, given: ProxyCertificateProps): { issuerRef: Required<CertificateIssuerRef>; dnsNames: string[] } {
  const ref = given?.issuerRef;
  if (typeof ref?.name !== 'string' || !isDnsSubdomain(ref.name)) {
    invalid(scope, 'tls.certificate.issuerRef.name', ref?.name, 'name the Issuer or ClusterIssuer that signs the certificate: a DNS-1123 subdomain (e.g. "letsencrypt")');
  }
  const kind = ref.kind ?? DEFAULT_ISSUER_KIND;
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    invalid(scope, 'tls.certificate.issuerRef.kind', kind, 'must be a Kubernetes kind such as "Issuer" or "ClusterIssuer"');
  }
  const group = ref.group ?? DEFAULT_ISSUER_GROUP;
  if (typeof group !== 'string' || !isDnsSubdomain(group)) {
    invalid(scope, 'tls.certificate.issuerRef.group', group, 'must be an API group, a DNS subdomain (e.g. "cert-manager.io")');
  }
  const dnsNames = given.dnsNames;
  if (!Array.isArray(dnsNames) || dnsNames.length === 0) {
    invalid(scope, 'tls.certificate.dnsNames', dnsNames, 'list the public DNS names of the load balancer, at least one (e.g. ["calc.example.com"])');
  }
  dnsNames.forEach((name, i) => {
    if (typeof name !== 'string' || !isDnsSubdomain(name.startsWith('*.') ? name.slice(2) : name)) {
      invalid(scope, `tls.certificate.dnsNames[${i}]`, name, 'must be a lower-case DNS name, optionally starting with "*." (e.g. "calc.example.com")');
    }
  });
  return { issuerRef: { name: ref.name, kind, group }, dnsNames };
}

/** `tls` validated with defaults applied. */
function resolveTls(scope: Construct, given: ProxyTlsProps, plainPort: number): Omit<Required<ProxyTlsProps>, 'certificate'> & { certificate?: ReturnType<typeof resolveCertificate> } {
  const secretName = given?.secretName;
  if (typeof secretName !== 'string' || !isDnsSubdomain(secretName)) {
    invalid(scope, 'tls.secretName', secretName,
      'name the kubernetes.io/tls Secret holding the certificate: a DNS-1123 subdomain of at most 253 lower-case letters, digits, \'-\' or \'.\', starting and ending with a letter or digit (e.g. "calc-tls")');
  }
  const port = checkPort(scope, 'tls.port', given.port ?? DEFAULT_PROXY_TLS_PORT);
  if (port === plainPort) {
    invalid(scope, 'tls.port', port, `is also the plain HTTP port (port): give HTTPS its own port, e.g. ${plainPort === DEFAULT_PROXY_TLS_PORT ? DEFAULT_PROXY_PORT : DEFAULT_PROXY_TLS_PORT}`);
  }
  const hstsMaxAgeSeconds = given.hstsMaxAgeSeconds ?? DEFAULT_HSTS_MAX_AGE_SECONDS;
  if (!Number.isInteger(hstsMaxAgeSeconds) || hstsMaxAgeSeconds < 0) {
    invalid(scope, 'tls.hstsMaxAgeSeconds', hstsMaxAgeSeconds, 'must be a whole number of seconds, 0 or more (0 tells browsers to forget HSTS; one year is 31536000)');
  }
  const certificate = given.certificate === undefined ? undefined : resolveCertificate(scope, given.certificate);
  const reloadCheckSeconds = given.reloadCheckSeconds ?? DEFAULT_RELOAD_CHECK_SECONDS;
  if (!Number.isInteger(reloadCheckSeconds) || reloadCheckSeconds < 1 || reloadCheckSeconds > MAX_RELOAD_CHECK_SECONDS) {
    invalid(scope, 'tls.reloadCheckSeconds', reloadCheckSeconds,
      `must be a whole number of seconds from 1 to ${MAX_RELOAD_CHECK_SECONDS} (how often the ${TLS_RELOADER_NAME} sidecar looks at the certificate): leave it out for ${DEFAULT_RELOAD_CHECK_SECONDS}`);
  }
  return { secretName, port, hstsMaxAgeSeconds, certificate, reloadCheckSeconds };
}
