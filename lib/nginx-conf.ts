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
  /** Seconds nginx waits for a client's request head, for each read of its body and for each write of an answer. */
  readonly clientTimeoutSeconds: number;
  /** Seconds an idle keep-alive client connection stays open. */
  readonly keepaliveTimeoutSeconds: number;
  /** Per-client-address limits, or undefined for none. */
  readonly clientLimits?: NginxClientLimits;
  /** HTTPS on its own port, or undefined for plain HTTP only. */
  readonly tls?: NginxTls;
}

/** Per-client-address limits, keyed on the connection's source address. */
export interface NginxClientLimits {
  /** Requests one address may have in progress at once (`limit_conn`). */
  readonly connections: number;
  /** Sustained requests per second of one address (`limit_req_zone ... rate=`). */
  readonly requestsPerSecond: number;
  /** Requests above the rate one address may send at once before it gets 429 (`limit_req ... burst=`). */
  readonly burst: number;
  /** Seconds the 429 answer's `Retry-After` asks the client to wait. */
  readonly retryAfterSeconds: number;
}

/** HTTPS at the proxy. */
export interface NginxTls {
  /** Port of the HTTPS server (the plain port then answers a redirect, its health path excepted). */
  readonly port: number;
  /** Directory holding `tls.crt` and `tls.key` (a `kubernetes.io/tls` Secret mounted read-only). */
  readonly certificateDir: string;
  /** `max-age` of the `Strict-Transport-Security` header on HTTPS answers; 0 sends `max-age=0` (HSTS cleared). */
  readonly hstsMaxAgeSeconds: number;
}

/**
 * Mozilla's "intermediate" TLS 1.2 cipher suites (TLS 1.3 suites are not configurable by `ssl_ciphers`): the ECDHE
 * ones, forward secret and AEAD only. Its DHE suites are left out: nginx uses them only with a `ssl_dhparam` file.
 * @see https://ssl-config.mozilla.org/#server=nginx&config=intermediate
 */
export const INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
];

/** The first nginx release with the `http2 on;` directive the TLS server uses. */
export const HTTP2_DIRECTIVE_SINCE = [1, 25, 1];

/**
 * True when `image` is an nginx image (its repository's last segment contains "nginx") whose tag names a release
 * older than HTTP2_DIRECTIVE_SINCE, e.g. `nginx:1.24.0` or `nginxinc/nginx-unprivileged:1.22-alpine`; false when the
 * tag names no version (`latest`, a digest, a custom tag) or a new enough one. A tag without a patch (`1.25`) counts
 * as that line's latest release.
 */
export function nginxImageLacksHttp2Directive(image: string): boolean {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= slash) return false;
  const repository = withoutDigest.slice(slash + 1, colon);
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:[-_.][A-Za-z0-9._-]*)?$/.exec(withoutDigest.slice(colon + 1));
  if (!repository.includes('nginx') || !m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const patch = m[3] === undefined ? Infinity : Number(m[3]);
  const [needMajor, needMinor, needPatch] = HTTP2_DIRECTIVE_SINCE;
  if (major !== needMajor) return major < needMajor;
  if (minor !== needMinor) return minor < needMinor;
  return patch < needPatch;
}

/** The key of the ConfigMap entry, and the file name nginx is started with. */
export const NGINX_CONF_FILE = 'nginx.conf';

/** The file in `runtimeDir` where nginx writes its master process's pid (what `nginx -s` and the tls-reloader signal). */
export const NGINX_PID_FILE = 'nginx.pid';

/**
 * Errors nginx answers itself (the upstream's own errors pass through untouched): JSON like the service's, not HTML.
 * Each entry: the statuses it catches, the status it answers and its message.
 */
export const PROXY_ERRORS: ReadonlyArray<{ readonly name: string; readonly codes: number[]; readonly status: number; readonly error: string }> = [
  { name: 'bad_request', codes: [400, 494], status: 400, error: 'malformed request' },
  { name: 'body_not_accepted', codes: [413], status: 413, error: 'request body not accepted' },
  { name: 'uri_too_long', codes: [414], status: 414, error: 'request URI too long' },
  { name: 'too_many_requests', codes: [429], status: 429, error: 'too many requests' },
  { name: 'upstream_unavailable', codes: [502, 503], status: 502, error: 'upstream unavailable' },
  { name: 'upstream_timeout', codes: [504], status: 504, error: 'upstream timed out' },
];

/** Path of nginx's `stub_status` on `stubStatusPort`. */
export const STUB_STATUS_PATH = '/stub_status';

/** Path prefix of the internal locations answering PROXY_ERRORS. */
export const PROXY_ERROR_PREFIX = '/nginx-error/';

/** Tries nginx adds on the fallback's pods, by their own addresses, after the tries through the Service. */
export const FALLBACK_TRIES = 2;

/** Connections nginx may try for one idempotent request: every try through the Service, then the fallback's. */
export function totalTries(o: Pick<NginxConfOptions, 'upstreamTries' | 'fallback'>): number {
  return o.upstreamTries + (o.fallback ? FALLBACK_TRIES : 0);
}

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
  const limits = o.clientLimits;
  const tls = o.tls;
  // Headers on every answer, nginx's own errors included (`always`). A server's add_header replaces the http block's
  // and no location has its own, so each server lists them all. Retry-After is empty (not sent) unless the answer is a
  // 429; HSTS only on HTTPS answers.
  const headers = (https: boolean) => [
    'add_header X-Content-Type-Options nosniff always;',
    ...(limits ? ['add_header Retry-After $retry_after always;'] : []),
    ...(https && tls ? [`add_header Strict-Transport-Security "max-age=${tls.hstsMaxAgeSeconds}" always;`] : []),
  ].map((line) => `        ${line}`).join('\n');
  const limitLines = limits ? `
            limit_conn per_client_connections ${limits.connections};
            limit_req zone=per_client_requests burst=${limits.burst} nodelay;` : '';
  const healthLocation = `        location = ${o.healthPath} {
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }`;
  const listen = tls ? `listen ${tls.port} ssl;
        http2 on;
        ssl_certificate ${tls.certificateDir}/tls.crt;
        ssl_certificate_key ${tls.certificateDir}/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ${INTERMEDIATE_CIPHERS.join(':')};
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:tls_sessions:4m;
        ssl_session_timeout 1d;
        ssl_session_tickets off;` : `listen ${o.listenPort};`;
  // With TLS, the plain port answers its health path and redirects everything else to the same URL over HTTPS (a
  // request without Host, HTTP/1.0, names no URL to redirect to: 400).
  const redirectServer = tls ? `
    server {
        listen ${o.listenPort};
${headers(false)}

${errorPages}
${errorLocations}

${healthLocation}

        location / {${limitLines}
            if ($host = "") {
                return 400;
            }
            return 308 https://$host$request_uri;
        }
    }
` : '';
  // What each setting is for (the measurements behind the defaults are in docs/performance.md, the limits and
  // time-outs in docs/public-internet.md):
  // - everything nginx writes goes to runtimeDir, the pod's emptyDir: the root filesystem is read-only;
  // - keepalive_requests 10000 on both sides: busy clients and the upstream pool are not re-opened every ~1000 requests;
  // - the upstream is the Service's DNS name, re-resolved every resolveIntervalSeconds through the cluster DNS
  //   (`resolve` in a shared-memory `zone`, nginx >= 1.27.3), so a re-created Service's new ClusterIP is followed
  //   while the keep-alive pool stays; kube-proxy spreads the connections over ready pods;
  // - nginx retries only on another `server`, so the Service is listed once per try through it: each new connection
  //   through the ClusterIP is given a pod anew by kube-proxy. max_fails=0: a failed connection says one pod is gone,
  //   not the Service, which must never be marked down. Only idempotent requests are retried (nginx's default), and
  //   within the read timeout in all;
  // - the fallback is a `backup` server, the same pods by their own addresses. nginx turns to it once every primary
  //   server failed this request or has no address (a deleted Service answers NXDOMAIN until the next resolution),
  //   with FALLBACK_TRIES tries of its own, each to a different pod. A pod that just died is still an endpoint until
  //   the kubelet notices, and kube-proxy may hand it every try through the Service (with two pods, 1 in 2^(tries-1)
  //   of the requests that met it); the pods' own addresses then reach the live one, if their DNS answer is current.
  //   The Service's tries come first, and many: in a rollout or a drain kube-proxy follows the endpoints within a
  //   second, while the pods' DNS answer may be older (nginx's interval plus the cluster DNS's cache, 30 s on kubeadm).
  //   max_fails=0 here too: a pod that failed one request is not held down for the next ones (after a moment with no
  //   pod up, it would answer 502 for fail_timeout while its Service's name has no address);
  // - errors nginx makes itself answer in JSON, like the service, from internal locations (a request whose URI nginx
  //   failed to parse cannot go to a named location);
  // - a client gets a few seconds for its head, each body read and each write; a half-sent head then frees its
  //   connection, and a timed-out one is reset at once rather than lingering; the service takes no body: the smallest
  //   limit nginx has (0 would mean none) refuses any body of more than one byte with 413;
  // - a request without Host (HTTP/1.0) is forwarded with the upstream's name, not an empty Host the service refuses.
  return `# Rendered by number-crunch-cdk8s from the ReverseProxy props: change those, not this file.
worker_processes ${o.workerProcesses};
worker_rlimit_nofile ${2 * o.workerConnections};
pid ${dir}/${NGINX_PID_FILE};
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

    keepalive_timeout ${o.keepaliveTimeoutSeconds}s;
    keepalive_requests 10000;

    resolver ${o.resolver} valid=${o.resolveIntervalSeconds}s ipv6=off;
    resolver_timeout ${o.connectTimeoutSeconds}s;

    client_header_timeout ${o.clientTimeoutSeconds}s;
    client_body_timeout ${o.clientTimeoutSeconds}s;
    send_timeout ${o.clientTimeoutSeconds}s;
    reset_timedout_connection on;
    client_header_buffer_size 1k;
    large_client_header_buffers 4 4k;
    client_max_body_size 1;
    client_body_buffer_size 1k;

    map $host $proxied_host {
        "" ${o.upstream.fqdn};
        default $host;
    }
${limits ? `
    limit_conn_zone $binary_remote_addr zone=per_client_connections:2m;
    limit_req_zone $binary_remote_addr zone=per_client_requests:4m rate=${limits.requestsPerSecond}r/s;
    limit_conn_status 429;
    limit_req_status 429;
    limit_conn_log_level info;
    limit_req_log_level info;
    map $status $retry_after {
        429 ${limits.retryAfterSeconds};
        default "";
    }
` : ''}
    upstream ${upstream} {
        zone ${upstream} 64k;
${Array.from({ length: o.upstreamTries }, () => `        server ${o.upstream.fqdn}:${o.upstream.port} resolve max_fails=0;`).join('\n')}
${o.fallback ? `        server ${o.fallback.fqdn}:${o.fallback.port} resolve backup max_fails=0;\n` : ''}        keepalive ${o.upstreamKeepalive};
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }
${redirectServer}
    server {
        ${listen}
${headers(true)}

${errorPages}
${errorLocations}

${healthLocation}

        location / {${limitLines}
            proxy_pass http://${upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $proxied_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout ${o.connectTimeoutSeconds}s;
            proxy_read_timeout ${o.readTimeoutSeconds}s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries ${totalTries(o)};
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
