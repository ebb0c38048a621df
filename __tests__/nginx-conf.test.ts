import {
  configChecksum, NginxConfOptions, nginxImageLacksHttp2Directive, PROXY_ERROR_PREFIX, PROXY_ERRORS, renderNginxConf,
  upstreamBlockName,
} from '../lib/nginx-conf';
import { DEFAULT_NGINX_TUNING } from '../lib/reverse-proxy';
import { serviceAddress } from '../lib/service-address';

const options = (over: Partial<NginxConfOptions> = {}): NginxConfOptions => ({
  upstream: serviceAddress('number-crunch-service', 'default', 8080),
  listenPort: 8080,
  healthPath: '/nginx-health',
  runtimeDir: '/tmp',
  resolver: 'kube-dns.kube-system.svc.cluster.local',
  ...DEFAULT_NGINX_TUNING,
  ...over,
});

/** The argument(s) of every occurrence of a directive, e.g. directive(conf, 'listen') -> ['8080']. */
const directive = (conf: string, name: string) =>
  [...conf.matchAll(new RegExp(`^\\s*${name}\\s+([^;{}]*);`, 'gm'))].map((m) => m[1]);

test('forwards to the upstream FQDN and port, never "service:namespace"', () => {
  const conf = renderNginxConf(options({ upstream: serviceAddress('api', 'shop', 9000, 'corp.internal'), upstreamTries: 1 }));
  expect(directive(conf, 'server')).toEqual(['api.shop.svc.corp.internal:9000 resolve max_fails=0']);
  expect(conf).not.toMatch(/api:shop/);
  expect(directive(conf, 'proxy_pass')).toEqual([`http://${upstreamBlockName(serviceAddress('api', 'shop', 9000))}`]);
});

test('with a fallback: every try through the Service, then two more on the fallback\'s pods', () => {
  const fallback = serviceAddress('number-crunch-service-pods', 'default', 8080);
  const conf = renderNginxConf(options({ upstreamTries: 4, fallback }));
  expect(directive(conf, 'server')).toEqual([
    ...Array(4).fill('number-crunch-service.default.svc.cluster.local:8080 resolve max_fails=0'),
    'number-crunch-service-pods.default.svc.cluster.local:8080 resolve backup max_fails=0',
  ]);
  expect(directive(conf, 'proxy_next_upstream_tries')).toEqual(['6']);
  expect(directive(renderNginxConf(options({ upstreamTries: 1, fallback })), 'proxy_next_upstream_tries')).toEqual(['3']);
});

test('re-resolves the upstream through the resolver, in a shared zone, at the given interval', () => {
  const conf = renderNginxConf(options({ resolver: '10.152.183.10', resolveIntervalSeconds: 7, connectTimeoutSeconds: 2 }));
  expect(directive(conf, 'resolver')).toEqual(['10.152.183.10 valid=7s ipv6=off']);
  expect(directive(conf, 'resolver_timeout')).toEqual(['2s']);
  expect(directive(conf, 'zone')).toEqual(['number_crunch_service_upstream 64k']);
  for (const server of directive(conf, 'server')) expect(server).toMatch(/ resolve max_fails=0$/);
});

test('retries idempotent requests on a new connection through the Service, bounded in tries and time', () => {
  const conf = renderNginxConf(options({ upstreamTries: 4, readTimeoutSeconds: 12 }));
  expect(directive(conf, 'server')).toEqual(Array(4).fill('number-crunch-service.default.svc.cluster.local:8080 resolve max_fails=0'));
  expect(directive(conf, 'proxy_next_upstream')).toEqual(['error timeout']);
  expect(directive(conf, 'proxy_next_upstream_tries')).toEqual(['4']);
  expect(directive(conf, 'proxy_next_upstream_timeout')).toEqual(['12s']);
  expect(conf).not.toMatch(/non_idempotent/);
});

test('speaks HTTP/1.1 with keep-alive to the upstream', () => {
  const conf = renderNginxConf(options({ upstreamKeepalive: 17 }));
  expect(directive(conf, 'proxy_http_version')).toEqual(['1.1']);
  expect(directive(conf, 'proxy_set_header Connection')).toEqual(['""']);
  expect(directive(conf, 'keepalive')).toEqual(['17']);
});

test('listens on the given port and answers its health path itself', () => {
  const conf = renderNginxConf(options({ listenPort: 9090, healthPath: '/hz' }));
  expect(directive(conf, 'listen')).toEqual(['9090']);
  expect(conf).toMatch(/location = \/hz \{[^}]*return 200/);
});

test('writes only under the runtime dir', () => {
  const conf = renderNginxConf(options({ runtimeDir: '/run/nginx/' }));
  const paths = [...directive(conf, 'pid'), ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .flatMap((t) => directive(conf, `${t}_temp_path`))];
  expect(paths).toHaveLength(6);
  for (const path of paths) expect(path.startsWith('/run/nginx/')).toBe(true);
  expect(directive(conf, 'error_log')).toEqual(['stderr warn']);
});

test('tuning values reach the config', () => {
  const conf = renderNginxConf(options({
    workerProcesses: 3, workerConnections: 77, connectTimeoutSeconds: 4, readTimeoutSeconds: 9,
  }));
  expect(directive(conf, 'worker_processes')).toEqual(['3']);
  expect(directive(conf, 'worker_connections')).toEqual(['77']);
  expect(directive(conf, 'proxy_connect_timeout')).toEqual(['4s']);
  expect(directive(conf, 'proxy_read_timeout')).toEqual(['9s']);
});

test('access log on or off', () => {
  expect(directive(renderNginxConf(options({ accessLog: true })), 'access_log')).toContain('/dev/stdout combined');
  expect(directive(renderNginxConf(options({ accessLog: false })), 'access_log')).toContain('off');
});

test('rendering is pure and the checksum follows the text', () => {
  expect(renderNginxConf(options())).toBe(renderNginxConf(options()));
  const a = configChecksum(renderNginxConf(options()));
  expect(a).toMatch(/^[0-9a-f]{64}$/);
  expect(configChecksum(renderNginxConf(options()))).toBe(a);
  expect(configChecksum(renderNginxConf(options({ upstreamKeepalive: 5 })))).not.toBe(a);
});

test('braces balance', () => {
  const conf = renderNginxConf(options());
  expect((conf.match(/\{/g) ?? []).length).toBe((conf.match(/\}/g) ?? []).length);
});

test('errors nginx makes itself answer JSON through internal locations', () => {
  const conf = renderNginxConf(options());
  for (const e of PROXY_ERRORS) {
    expect(directive(conf, 'error_page')).toContain(`${e.codes.join(' ')} ${PROXY_ERROR_PREFIX}${e.name}`);
    const location = new RegExp(`location = ${PROXY_ERROR_PREFIX}${e.name} \\{\\s*internal;\\s*default_type application/json;\\s*return ${e.status} '(.*)';`);
    expect(JSON.parse(location.exec(conf)![1])).toEqual({ error: e.error });
  }
  expect(PROXY_ERRORS.flatMap((e) => e.codes)).toEqual(expect.arrayContaining([400, 502, 503, 504]));
});

/** The text of each top-level `server { ... }` block of the http block. */
const servers = (conf: string): string[] => {
  const found: string[] = [];
  for (const m of conf.matchAll(/^ {4}server \{$/gm)) {
    let depth = 0;
    for (let i = m.index!; i < conf.length; i++) {
      if (conf[i] === '{') depth++;
      if (conf[i] === '}' && --depth === 0) {
        found.push(conf.slice(m.index!, i + 1));
        break;
      }
    }
  }
  return found;
};
/** The text of `location <spec> { ... }` in a block (no nested braces inside locations but `if`). */
const location = (block: string, spec: string): string => {
  const start = block.indexOf(`location ${spec} {`);
  if (start < 0) throw new Error(`no location ${spec}`);
  let depth = 0;
  for (let i = start; i < block.length; i++) {
    if (block[i] === '{') depth++;
    if (block[i] === '}' && --depth === 0) return block.slice(start, i + 1);
  }
  throw new Error(`unbalanced location ${spec}`);
};
const limits = { connections: 64, requestsPerSecond: 500, burst: 1000, retryAfterSeconds: 1 };
const tls = { port: 8443, certificateDir: '/etc/nginx/tls', hstsMaxAgeSeconds: 31536000 };

describe('stub_status for the metrics exporter', () => {
  const conf = renderNginxConf(options({ stubStatusPort: 8081 }));

  test('a server of its own listens on the pod\'s loopback only, 127.0.0.1:8081', () => {
    expect(directive(conf, 'listen')).toEqual(['8080', '127.0.0.1:8081']);
  });

  test('stub_status is in that server, at /stub_status, and nowhere else', () => {
    const [client, status] = servers(conf);
    expect(servers(conf)).toHaveLength(2);
    expect(directive(status, 'listen')).toEqual(['127.0.0.1:8081']);
    expect(status).toMatch(/location = \/stub_status \{\s*stub_status;\s*\}/);
    expect(conf.match(/\bstub_status;/g)).toHaveLength(1);
    expect(client).not.toMatch(/stub_status/);
  });

  test('the status server answers 404 on any other path', () => {
    const [, status] = servers(conf);
    expect(status).toMatch(/location \/ \{\s*return 404;\s*\}/);
  });

  test('without a stubStatusPort there is no status server', () => {
    const plain = renderNginxConf(options());
    expect(servers(plain)).toHaveLength(1);
    expect(plain).not.toMatch(/stub_status/);
  });

  test('braces still balance', () => {
    expect((conf.match(/\{/g) ?? []).length).toBe((conf.match(/\}/g) ?? []).length);
  });
});

describe('public-Internet hardening', () => {
  test('no server version', () => {
    expect(directive(renderNginxConf(options()), 'server_tokens')).toEqual(['off']);
  });

  test('X-Content-Type-Options: nosniff on every answer of every server, nginx\'s own errors included', () => {
    for (const conf of [renderNginxConf(options()), renderNginxConf(options({ tls, clientLimits: limits }))]) {
      for (const server of servers(conf)) expect(directive(server, 'add_header')).toContain('X-Content-Type-Options nosniff always');
      // A location with its own add_header would drop the server's: none has one.
      expect(conf).not.toMatch(/location[^{]*\{[^}]*add_header/);
    }
  });

  test('client time-outs for the head, the body, writes and idle keep-alive', () => {
    const conf = renderNginxConf(options({ clientTimeoutSeconds: 7, keepaliveTimeoutSeconds: 9 }));
    expect(directive(conf, 'client_header_timeout')).toEqual(['7s']);
    expect(directive(conf, 'client_body_timeout')).toEqual(['7s']);
    expect(directive(conf, 'send_timeout')).toEqual(['7s']);
    expect(directive(conf, 'keepalive_timeout')).toContain('9s');
    expect(directive(conf, 'reset_timedout_connection')).toEqual(['on']);
  });

  test('small header buffers and no request body (1 byte: 0 would mean no limit)', () => {
    const conf = renderNginxConf(options());
    expect(directive(conf, 'client_header_buffer_size')).toEqual(['1k']);
    expect(directive(conf, 'large_client_header_buffers')).toEqual(['4 4k']);
    expect(directive(conf, 'client_max_body_size')).toEqual(['1']);
  });

  test('a request without Host is forwarded with the upstream\'s name, any other with its own', () => {
    const conf = renderNginxConf(options({ upstream: serviceAddress('api', 'shop', 9000) }));
    expect(conf).toMatch(/map \$host \$proxied_host \{\s*"" api\.shop\.svc\.cluster\.local;\s*default \$host;\s*\}/);
    expect(directive(conf, 'proxy_set_header Host')).toEqual(['$proxied_host']);
  });

  test('worker file limit follows the connections', () => {
    expect(directive(renderNginxConf(options({ workerConnections: 300 })), 'worker_rlimit_nofile')).toEqual(['600']);
  });
});

describe('per-client limits', () => {
  const conf = renderNginxConf(options({ clientLimits: { connections: 12, requestsPerSecond: 34, burst: 56, retryAfterSeconds: 2 } }));

  test('zones keyed on the client address, with the rate', () => {
    expect(directive(conf, 'limit_conn_zone')).toEqual(['$binary_remote_addr zone=per_client_connections:2m']);
    expect(directive(conf, 'limit_req_zone')).toEqual(['$binary_remote_addr zone=per_client_requests:4m rate=34r/s']);
  });

  test('applied to proxied requests with the connection limit and the burst, never to the health path', () => {
    const [server] = servers(conf);
    expect(directive(location(server, '/'), 'limit_conn')).toEqual(['per_client_connections 12']);
    expect(directive(location(server, '/'), 'limit_req')).toEqual(['zone=per_client_requests burst=56 nodelay']);
    expect(location(server, '= /nginx-health')).not.toMatch(/limit_/);
  });

  test('answered 429 with the JSON error and Retry-After on 429 answers only', () => {
    expect(directive(conf, 'limit_conn_status')).toEqual(['429']);
    expect(directive(conf, 'limit_req_status')).toEqual(['429']);
    expect(directive(conf, 'error_page')).toContain('429 /nginx-error/too_many_requests');
    expect(conf).toMatch(/location = \/nginx-error\/too_many_requests \{[^}]*return 429 '\{"error":"too many requests"\}';/);
    expect(conf).toMatch(/map \$status \$retry_after \{\s*429 2;\s*default "";\s*\}/);
    expect(directive(servers(conf)[0], 'add_header')).toContain('Retry-After $retry_after always');
  });

  test('off: no limit and no Retry-After', () => {
    const off = renderNginxConf(options({ clientLimits: undefined }));
    expect(off).not.toMatch(/limit_(conn|req)/);
    expect(off).not.toMatch(/Retry-After|retry_after/);
  });
});

describe('TLS', () => {
  const conf = renderNginxConf(options({ listenPort: 8080, tls, clientLimits: limits }));
  const [plain, https] = servers(conf);

  test('off by default: one plain server, no TLS, no HSTS, no redirect', () => {
    const off = renderNginxConf(options());
    expect(servers(off)).toHaveLength(1);
    expect(off).not.toMatch(/ssl|http2|Strict-Transport-Security|return 308/);
  });

  test('HTTPS on its own port with HTTP/2 the nginx >= 1.25.1 way, from the mounted Secret\'s files', () => {
    expect(directive(https, 'listen')).toEqual(['8443 ssl']);
    expect(directive(https, 'http2')).toEqual(['on']);
    expect(conf).not.toMatch(/listen[^;]*http2/);
    expect(directive(https, 'ssl_certificate')).toEqual(['/etc/nginx/tls/tls.crt']);
    expect(directive(https, 'ssl_certificate_key')).toEqual(['/etc/nginx/tls/tls.key']);
  });

  test('TLS 1.2 and 1.3 only, Mozilla intermediate ciphers', () => {
    expect(directive(https, 'ssl_protocols')).toEqual(['TLSv1.2 TLSv1.3']);
    expect(directive(https, 'ssl_ciphers')).toEqual([
      'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:' +
      'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
    ]);
    expect(directive(https, 'ssl_prefer_server_ciphers')).toEqual(['off']);
  });

  test('HSTS with the given max-age on HTTPS answers only', () => {
    expect(directive(https, 'add_header')).toContain('Strict-Transport-Security "max-age=31536000" always');
    expect(plain).not.toMatch(/Strict-Transport-Security/);
    const short = servers(renderNginxConf(options({ tls: { ...tls, hstsMaxAgeSeconds: 600 } })))[1];
    expect(directive(short, 'add_header')).toContain('Strict-Transport-Security "max-age=600" always');
  });

  test('the plain port redirects to HTTPS with 308, its health path excepted; it forwards nothing', () => {
    expect(directive(plain, 'listen')).toEqual(['8080']);
    expect(directive(location(plain, '/'), 'return')).toContain('308 https://$host$request_uri');
    expect(location(plain, '= /nginx-health')).toMatch(/return 200/);
    expect(plain).not.toMatch(/proxy_pass/);
  });

  test('the HTTPS server forwards and answers the health path too', () => {
    expect(directive(location(https, '/'), 'proxy_pass')).toHaveLength(1);
    expect(location(https, '= /nginx-health')).toMatch(/return 200/);
  });
});

test.each<[string, boolean]>([
  ['nginxinc/nginx-unprivileged:1.28.0-alpine', false],
  ['nginx:1.30.0', false],
  ['nginx:1.25.1', false],
  ['nginx:1.25', false],
  ['nginx:1.25.0', true],
  ['nginx:1.24.0', true],
  ['nginxinc/nginx-unprivileged:1.22-alpine', true],
  ['registry.example.com:5000/edge/nginx:1.20.2@sha256:abc', true],
  ['nginx:latest', false],
  ['nginx', false],
  ['registry.example.com:5000/nginx', false],
  ['haproxy:1.8.0', false],
  ['nginx:0.9.0', true],
  ['nginx:2.0.0', false],
])('an image that predates "http2 on;" (nginx 1.25.1): %s -> %s', (image, lacks) => {
  expect(nginxImageLacksHttp2Directive(image)).toBe(lacks);
});
