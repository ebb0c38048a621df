import { createHash } from 'node:crypto';
import { ServiceAddress } from './service-address';

/** Typed inputs of `NginxConf.render`. */
export interface NginxConfOptions {
  /** Where requests are forwarded: an in-cluster Service address, never a hand-typed host string. */
  readonly upstream: ServiceAddress;
  /** Port nginx listens on. */
  readonly listenPort: number;
  /** Path nginx answers itself (200), for probes, whether or not the upstream is up. */
  readonly healthPath: string;
  /** Writable directory (an emptyDir in the pod) for the pid file and every temp path. */
  readonly runtimeDir: string;
  /** nginx worker processes. */
  readonly workerProcesses: number;
  /** Connections each worker may hold (clients and upstream together). */
  readonly workerConnections: number;
  /** Idle keep-alive connections to the upstream each worker keeps open. */
  readonly upstreamKeepalive: number;
  /** Seconds nginx waits to connect to the upstream before answering 502. */
  readonly connectTimeoutSeconds: number;
  /** Seconds nginx waits for the upstream's response. */
  readonly readTimeoutSeconds: number;
  /** Whether nginx writes an access log line per request to stdout. */
  readonly accessLog: boolean;
}

/** The key of the ConfigMap entry, and the file name nginx is started with. */
export const NGINX_CONF_FILE = 'nginx.conf';

/**
 * Errors nginx answers itself (the upstream's own errors pass through untouched): JSON like the service's, not HTML.
 * Each entry: the statuses it catches, the status it answers and its message.
 */
export const PROXY_ERRORS: ReadonlyArray<{ readonly name: string; readonly codes: number[]; readonly status: number; readonly error: string }> = [
  { name: 'bad_request', codes: [400], status: 400, error: 'malformed request' },
  { name: 'uri_too_long', codes: [414], status: 414, error: 'request URI too long' },
  { name: 'upstream_unavailable', codes: [502, 503], status: 502, error: 'upstream unavailable' },
  { name: 'upstream_timeout', codes: [504], status: 504, error: 'upstream timed out' },
];

/** Path prefix of the internal locations answering PROXY_ERRORS. */
export const PROXY_ERROR_PREFIX = '/nginx-error/';

/** Name of the `upstream {}` block: the Service name made a valid nginx identifier. */
export function upstreamBlockName(upstream: ServiceAddress): string {
  return `${upstream.serviceName.replace(/[^a-zA-Z0-9]/g, '_')}_upstream`;
}

/**
 * Renders a complete, self-contained `nginx.conf` (no `include`) for a reverse proxy in front of one Service.
 * Pure: the same options always give the same text, so its checksum can roll the pods when, and only when, it changes.
 */
export function renderNginxConf(o: NginxConfOptions): string {
  const upstream = upstreamBlockName(o.upstream);
  const dir = o.runtimeDir.replace(/\/+$/, '');
  // Internal locations by URI, not named ones: nginx cannot hand a request whose URI it failed to parse to a named
  // location (it answers 500 instead).
  const errorPages = PROXY_ERRORS.map((e) => `        error_page ${e.codes.join(' ')} ${PROXY_ERROR_PREFIX}${e.name};`).join('\n');
  const errorLocations = PROXY_ERRORS.map((e) => `        location = ${PROXY_ERROR_PREFIX}${e.name} {
            internal;
            default_type application/json;
            return ${e.status} '${JSON.stringify({ error: e.error })}';
        }`).join('\n');
  return `# Rendered by number-crunch-cdk8s (lib/nginx-conf.ts). Change the ReverseProxy props, not this file.
# Upstream: Service ${o.upstream.serviceName} in namespace ${o.upstream.namespace}, port ${o.upstream.port}.
# Workers: one by default (DEFAULT_NGINX_TUNING): 48.5k req/s with 1 against 32.3k with 2 on a 2-core node (npm run bench).
worker_processes ${o.workerProcesses};
pid ${dir}/nginx.pid;
error_log stderr warn;

events {
    worker_connections ${o.workerConnections};
}

http {
    server_tokens off;
    ${o.accessLog ? 'access_log /dev/stdout combined;' : 'access_log off;'}

    # The root filesystem is read-only: everything nginx writes goes to the pod's emptyDir.
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    keepalive_timeout 65s;
    # Client keep-alive connections serve up to 10000 requests (nginx's default, 1000, makes busy clients reconnect
    # every second or so): with one worker, 38.6k -> 48.5k req/s through the proxy, p99 6.0 -> 3.5 ms (npm run bench).
    keepalive_requests 10000;

    upstream ${upstream} {
        # The Service's cluster DNS name resolves (once, at start) to its stable ClusterIP;
        # kube-proxy spreads connections over the ready pods.
        server ${o.upstream.fqdn}:${o.upstream.port};
        # HTTP/1.1 keep-alive to the upstream: no TCP handshake per request. The tutorial's config (HTTP/1.0, a new
        # upstream connection per request) did 13.9k req/s; with keep-alive 35k and more (npm run bench).
        keepalive ${o.upstreamKeepalive};
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }

    server {
        listen ${o.listenPort};

        # Errors nginx makes itself (malformed requests, upstream down) answer in JSON, like the service.
${errorPages}
${errorLocations}

        location = ${o.healthPath} {
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }

        location / {
            proxy_pass http://${upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout ${o.connectTimeoutSeconds}s;
            proxy_read_timeout ${o.readTimeoutSeconds}s;
        }
    }
}
`;
}

/** SHA-256 of a config text, hex: put in the pod template so a changed config rolls the pods. */
export function configChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The nginx.conf renderer `ReverseProxy` uses, for a proxy of your own (the config text and its checksum). */
export class NginxConf {
  /**
   * A complete, self-contained `nginx.conf` (no `include`) for a reverse proxy in front of one Service. Pure: the same
   * options always give the same text.
   */
  public static render(options: NginxConfOptions): string {
    return renderNginxConf(options);
  }

  /** SHA-256 of a config text, in hex: put it in the pod template so a changed config rolls the pods. */
  public static checksum(text: string): string {
    return configChecksum(text);
  }

  private constructor() {}
}
