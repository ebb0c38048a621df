import { createHash } from 'node:crypto';
import { ServiceAddress } from './service-address';

/** Typed inputs of `renderNginxConf`. */
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
  /**
   * Where requests go when `upstream` has no address (its Service deleted, not yet re-created): the pods' own
   * addresses, e.g. a headless Service's name.
   */
  readonly fallback?: ServiceAddress;
  /** DNS server nginx asks for the upstream's address while it runs (a name resolved once at start, or an IP). */
  readonly resolver: string;
  /** Seconds an answer of `resolver` is used before nginx asks again. */
  readonly resolveIntervalSeconds: number;
  /** Connections nginx tries for one idempotent request (GET, HEAD) before it answers an error. */
  readonly upstreamTries: number;
  /** Seconds nginx waits to connect to the upstream before it tries again or answers 502. */
  readonly connectTimeoutSeconds: number;
  /** Seconds nginx waits for the upstream's response. */
  readonly readTimeoutSeconds: number;
  /** Whether nginx writes an access log line per request to stdout. */
  readonly accessLog: boolean;
  /**
   * Port on 127.0.0.1 (the pod's own loopback) where nginx answers STUB_STATUS_PATH for a metrics exporter in the pod;
   * no other server has it. Undefined: no status server.
   */
  readonly stubStatusPort?: number;
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

/** Path of nginx's `stub_status` on `stubStatusPort`. */
export const STUB_STATUS_PATH = '/stub_status';

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
  const errorPages = PROXY_ERRORS.map((e) => `        error_page ${e.codes.join(' ')} ${PROXY_ERROR_PREFIX}${e.name};`).join('\n');
  const errorLocations = PROXY_ERRORS.map((e) => `        location = ${PROXY_ERROR_PREFIX}${e.name} {
            internal;
            default_type application/json;
            return ${e.status} '${JSON.stringify({ error: e.error })}';
        }`).join('\n');
  // What each setting is for (the measurements behind the defaults are in docs/performance.md):
  // - everything nginx writes goes to runtimeDir, the pod's emptyDir: the root filesystem is read-only;
  // - keepalive_requests 10000 on both sides: busy clients and the upstream pool are not re-opened every ~1000 requests;
  // - the upstream is the Service's DNS name, re-resolved every resolveIntervalSeconds through the cluster DNS
  //   (`resolve` in a shared-memory `zone`, nginx >= 1.27.3), so a re-created Service's new ClusterIP is followed
  //   while the keep-alive pool stays; kube-proxy spreads the connections over ready pods;
  // - the Service is listed once per try: nginx retries only on another `server`, and each new connection through
  //   the ClusterIP is given a pod anew by kube-proxy. max_fails=0: a failed connection says one pod is gone, not the
  //   Service, which must never be marked down. Only idempotent requests are retried (nginx's default), and within
  //   the read timeout in all;
  // - the fallback is a `backup` server: used only while the upstream's name has no address (a deleted Service
  //   answers NXDOMAIN, which empties the upstream until the next resolution), never besides it;
  // - errors nginx makes itself answer in JSON, like the service, from internal locations (a request whose URI nginx
  //   failed to parse cannot go to a named location).
  return `# Rendered by number-crunch-cdk8s from the ReverseProxy props: change those, not this file.
worker_processes ${o.workerProcesses};
pid ${dir}/nginx.pid;
error_log stderr warn;

events {
    worker_connections ${o.workerConnections};
}

http {
    server_tokens off;
    ${o.accessLog ? 'access_log /dev/stdout combined;' : 'access_log off;'}

    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    keepalive_timeout 65s;
    keepalive_requests 10000;

    resolver ${o.resolver} valid=${o.resolveIntervalSeconds}s ipv6=off;
    resolver_timeout ${o.connectTimeoutSeconds}s;

    upstream ${upstream} {
        zone ${upstream} 64k;
${Array.from({ length: o.upstreamTries }, () => `        server ${o.upstream.fqdn}:${o.upstream.port} resolve max_fails=0;`).join('\n')}
${o.fallback ? `        server ${o.fallback.fqdn}:${o.fallback.port} resolve backup;\n` : ''}        keepalive ${o.upstreamKeepalive};
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }

    server {
        listen ${o.listenPort};

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
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries ${o.upstreamTries};
            proxy_next_upstream_timeout ${o.readTimeoutSeconds}s;
        }
    }
${o.stubStatusPort === undefined ? '' : stubStatusServer(o.stubStatusPort)}}
`;
}

/** The status server: `stub_status` on the pod's loopback only, for the exporter beside nginx; nothing else there. */
function stubStatusServer(port: number): string {
  return `
    server {
        listen 127.0.0.1:${port};
        access_log off;

        location = ${STUB_STATUS_PATH} {
            stub_status;
        }

        location / {
            return 404;
        }
    }
`;
}

/** SHA-256 of a config text, hex: put in the pod template so a changed config rolls the pods. */
export function configChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
