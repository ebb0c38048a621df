import {
  configChecksum, NginxConfOptions, PROXY_ERROR_PREFIX, PROXY_ERRORS, renderNginxConf, upstreamBlockName,
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

/** The `server {}` blocks of a config, each as its text (nested braces included). */
const serverBlocks = (conf: string): string[] => {
  const blocks: string[] = [];
  for (const m of conf.matchAll(/^\s*server\s*\{/gm)) {
    let depth = 0;
    for (let i = m.index! + m[0].length - 1; i < conf.length; i++) {
      if (conf[i] === '{') depth++;
      if (conf[i] === '}' && --depth === 0) {
        blocks.push(conf.slice(m.index!, i + 1));
        break;
      }
    }
  }
  return blocks;
};

describe('stub_status for the metrics exporter', () => {
  const conf = renderNginxConf(options({ stubStatusPort: 8081 }));

  test('a server of its own listens on the pod\'s loopback only, 127.0.0.1:8081', () => {
    expect(directive(conf, 'listen')).toEqual(['8080', '127.0.0.1:8081']);
  });

  test('stub_status is in that server, at /stub_status, and nowhere else', () => {
    const [client, status] = serverBlocks(conf);
    expect(serverBlocks(conf)).toHaveLength(2);
    expect(directive(status, 'listen')).toEqual(['127.0.0.1:8081']);
    expect(status).toMatch(/location = \/stub_status \{\s*stub_status;\s*\}/);
    expect(conf.match(/\bstub_status;/g)).toHaveLength(1);
    expect(client).not.toMatch(/stub_status/);
  });

  test('the status server answers 404 on any other path', () => {
    const [, status] = serverBlocks(conf);
    expect(status).toMatch(/location \/ \{\s*return 404;\s*\}/);
  });

  test('without a stubStatusPort there is no status server', () => {
    const plain = renderNginxConf(options());
    expect(serverBlocks(plain)).toHaveLength(1);
    expect(plain).not.toMatch(/stub_status/);
  });

  test('braces still balance', () => {
    expect((conf.match(/\{/g) ?? []).length).toBe((conf.match(/\}/g) ?? []).length);
  });
});
