import { spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS, MetricsServer, REQUEST_DURATION_METRIC, RequestMetrics } from '../src/metrics';
import { NumberCrunchServer } from '../src/server';
import { httpRequest, rawExchange } from './http-client';
import { startService } from './service-process';

// The service's Prometheus metrics (src/metrics.ts), on both request paths. The contract is written literally: the
// metric and label names of OpenTelemetry's HTTP conventions as Prometheus spells them, the route templates, the
// Prometheus text format.
const ROOT = join(__dirname, '..', '..');

interface Stack {
  readonly server: NumberCrunchServer;
  readonly metricsServer: MetricsServer;
  readonly port: number;
  readonly metricsPort: number;
}

const stacks: Stack[] = [];
async function start(fastPath: boolean): Promise<Stack> {
  const metrics = new RequestMetrics();
  const server = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 2_000, fastPath, metrics });
  const metricsServer = new MetricsServer(metrics.registry);
  const stack = { server, metricsServer, port: (await server.listen()).port, metricsPort: (await metricsServer.listen(0, '127.0.0.1')).port };
  stacks.push(stack);
  return stack;
}
afterAll(async () => {
  await Promise.all(stacks.flatMap((s) => [s.server.shutdown(), s.metricsServer.close()]));
});

/** One sample line of the text format: name, labels, value. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (label values here have no escaped quotes). */
function samples(text: string): Sample[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    return { name: m[1], labels, value: Number(m[3]) };
  });
}

/** Request counts by "METHOD route status", from the histogram's `_count` series. */
function requestCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples(text).filter((x) => x.name === 'http_server_request_duration_seconds_count')) {
    expect(Object.keys(s.labels).sort()).toEqual(['http_request_method', 'http_response_status_code', 'http_route']);
    counts[`${s.labels.http_request_method} ${s.labels.http_route} ${s.labels.http_response_status_code}`] = s.value;
  }
  return counts;
}

async function scrape(stack: Stack): Promise<string> {
  const reply = await httpRequest(stack.metricsPort, '/metrics');
  expect(reply.status).toBe(200);
  return reply.body;
}

/** What the counts rose by while `send` ran. */
async function rise(stack: Stack, send: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = requestCounts(await scrape(stack));
  await send();
  const after = requestCounts(await scrape(stack));
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, d]) => d !== 0));
}

/**
 * Sends raw GET requests one after another on one keep-alive connection (each after the previous answer is complete;
 * no `Connection` header, so the fast path keeps the connection), or all in one write when `pipelined`. Resolves with
 * the statuses.
 */
function keepAlive(port: number, targets: string[], pipelined = false): Promise<number[]> {
  const request = (target: string) => `GET ${target} HTTP/1.1\r\nHost: number-crunch\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const statuses: number[] = [];
    let buffered = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(pipelined ? targets.map(request).join('') : request(targets[0])));
    socket.setTimeout(5_000, () => socket.destroy(new Error(`timeout after ${statuses.length} of ${targets.length} answers`)));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        statuses.push(Number(buffered.slice(9, 12)));
        buffered = buffered.slice(end + 4 + length);
        if (statuses.length === targets.length) socket.end();
        else if (!pipelined) socket.write(request(targets[statuses.length]));
      }
    });
    socket.on('close', () => resolve(statuses));
    socket.on('error', reject);
  });
}

// 5 + 3 answers of 200, 4 + 1 of 400 (bad input), 3 of 404, 1 probe: 17 requests.
const MIXED = [
  ...Array(5).fill('/square-root/4'), ...Array(3).fill('/cube-root/-8'),
  '/square-root/abc', '/square-root/-4', '/square-root/', '/square-root/1e999', '/cube-root/x',
  '/nope', '/square-root/4/5', '/metrics', '/healthz',
];
const MIXED_COUNTS = {
  'GET /square-root/{number} 200': 5,
  'GET /cube-root/{number} 200': 3,
  'GET /square-root/{number} 400': 4,
  'GET /cube-root/{number} 400': 1,
  'GET unmatched 404': 3,
  'GET /healthz 200': 1,
};

describe.each([['the fast path', true], ['node:http alone', false]])('%s', (_label, fastPath) => {
  test('each request on a keep-alive connection counts exactly once, by method, route template and status', async () => {
    const stack = await start(fastPath);
    let statuses: number[] = [];
    const counts = await rise(stack, async () => { statuses = await keepAlive(stack.port, MIXED); });
    expect(statuses).toHaveLength(17);
    expect(counts).toEqual(MIXED_COUNTS);
  });

  test('pipelined requests, answered in one write, count one each', async () => {
    const stack = await start(fastPath);
    const counts = await rise(stack, () => keepAlive(stack.port, MIXED, true));
    expect(counts).toEqual(MIXED_COUNTS);
  });

  test('GET and HEAD of the same route and status on one connection count under their own method', async () => {
    const stack = await start(fastPath);
    const request = (method: string, target: string, last = false) => `${method} ${target} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
    const requests = [
      request('GET', '/healthz'), request('HEAD', '/healthz'), request('HEAD', '/healthz'), request('GET', '/healthz'),
      request('GET', '/square-root/4'), request('HEAD', '/square-root/4'), request('GET', '/square-root/x'), request('GET', '/healthz', true),
    ];
    const counts = await rise(stack, () => rawExchange(stack.port, requests.join('')));
    expect(counts).toEqual({
      'GET /healthz 200': 3, 'HEAD /healthz 200': 2, 'GET /square-root/{number} 200': 1, 'HEAD /square-root/{number} 200': 1,
      'GET /square-root/{number} 400': 1,
    });
  });
});

describe('requests node:http answers on a fast-path server', () => {
  let stack: Stack;
  beforeAll(async () => { stack = await start(true); });

  test('requests with Connection: keep-alive (handed over to node:http) count once each', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const counts = await rise(stack, async () => {
      for (let i = 0; i < 3; i++) await httpRequest(stack.port, '/cube-root/27', 'GET', agent);
    });
    agent.destroy();
    expect(counts).toEqual({ 'GET /cube-root/{number} 200': 3 });
  });

  test('a POST counts as POST 405 on its route', async () => {
    const counts = await rise(stack, () => rawExchange(stack.port, 'POST /square-root/4 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    expect(counts).toEqual({ 'POST /square-root/{number} 405': 1 });
  });

  test('a method outside the OpenTelemetry list counts as _OTHER', async () => {
    const counts = await rise(stack, () => rawExchange(stack.port, 'PROPFIND /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(counts).toEqual({ '_OTHER /healthz 405': 1 });
  });

  test('a request that cannot be parsed counts as _OTHER, unmatched, 400', async () => {
    const counts = await rise(stack, () => rawExchange(stack.port, 'GET /square-root/4 HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n'));
    expect(counts).toEqual({ '_OTHER unmatched 400': 1 });
  });

  test('a request without Host counts as 400', async () => {
    const counts = await rise(stack, () => rawExchange(stack.port, 'GET /square-root/4 HTTP/1.1\r\n\r\n'));
    expect(counts).toEqual({ 'GET unmatched 400': 1 });
  });
});

describe('labels stay bounded', () => {
  test('paths no route matches share the one route label "unmatched"; raw paths never become labels', async () => {
    const stack = await start(true);
    const counts = await rise(stack, () => keepAlive(stack.port, ['/a', '/b/c', '/square-root/1/2', '/cube-rootx']));
    expect(counts).toEqual({ 'GET unmatched 404': 4 });
    const routes = new Set(samples(await scrape(stack)).map((s) => s.labels.http_route).filter((r) => r !== undefined));
    expect([...routes].sort()).toEqual(['unmatched']);
  });

  test('every number on an endpoint is one route template', async () => {
    const stack = await start(true);
    const counts = await rise(stack, () => keepAlive(stack.port, ['/square-root/1', '/square-root/2', '/square-root/3?x=1', '/cube-root/8']));
    expect(counts).toEqual({ 'GET /square-root/{number} 200': 3, 'GET /cube-root/{number} 200': 1 });
  });
});

describe('the request-duration histogram', () => {
  const NAME = REQUEST_DURATION_METRIC;
  const LABELS = 'http_request_method="GET",http_route="/healthz",http_response_status_code="200"';

  test('a series: cumulative buckets (a duration on a bound counts in it), +Inf, _sum, _count', async () => {
    const metrics = new RequestMetrics();
    const healthz = metrics.observer('GET', '/healthz', 200);
    for (const seconds of [2 ** -14, 0.25, 2, 12]) healthz.observe(seconds);
    const lines = (await metrics.registry.getSingleMetricAsString(NAME)).split('\n');
    expect(lines).toEqual([
      `# HELP ${NAME} Duration of HTTP server requests.`,
      `# TYPE ${NAME} histogram`,
      ...['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.075', '0.1'].map((le) => `${NAME}_bucket{le="${le}",${LABELS}} 1`),
      ...['0.25', '0.5', '0.75', '1'].map((le) => `${NAME}_bucket{le="${le}",${LABELS}} 2`),
      ...['2.5', '5', '7.5', '10'].map((le) => `${NAME}_bucket{le="${le}",${LABELS}} 3`),
      `${NAME}_bucket{le="+Inf",${LABELS}} 4`,
      `${NAME}_sum{${LABELS}} 14.25006103515625`,
      `${NAME}_count{${LABELS}} 4`,
    ]);
  });

  test('a series shows from its first request on; resetMetrics() zeroes it', async () => {
    const metrics = new RequestMetrics();
    const healthz = metrics.observer('GET', '/healthz', 200);
    expect(await metrics.registry.getSingleMetricAsString(NAME)).not.toContain('_count');
    healthz.observe(0.5);
    expect(await metrics.registry.getSingleMetricAsString(NAME)).toContain(`${NAME}_count{${LABELS}} 1`);
    metrics.registry.resetMetrics();
    expect(await metrics.registry.getSingleMetricAsString(NAME)).not.toContain('_count');
  });

  test('a duration that is not a finite number is refused, as prom-client refused it', () => {
    expect(() => new RequestMetrics().observer('GET', '/healthz', 200).observe(NaN)).toThrow(/request duration is not a finite number of seconds: NaN/);
  });

  test('text and JSON are prom-client Histogram\'s for the same requests', async () => {
    const metrics = new RequestMetrics();
    const registry = new Registry();
    const reference = new Histogram({
      name: NAME, help: 'Duration of HTTP server requests.', buckets: [...DURATION_BUCKETS], registers: [registry],
      labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
    });
    const requests: Array<[string, string, string, number, number]> = [
      ['GET', 'GET', '/square-root/{number}', 200, 0.00003],
      ['GET', 'GET', '/square-root/{number}', 200, 0.0001],
      ['HEAD', 'HEAD', '/cube-root/{number}', 200, 0.0004],
      ['GET', 'GET', '/square-root/{number}', 400, 0.07],
      ['POST', 'POST', 'unmatched', 404, 3],
      ['PROPFIND', '_OTHER', '/healthz', 405, 11],
      ['GET', 'GET', '/square-root/{number}', 200, 0.0000123],
    ];
    for (const [method, known, route, status, seconds] of requests) {
      metrics.observer(method, route, status).observe(seconds);
      reference.labels({ http_request_method: known, http_route: route, http_response_status_code: status }).observe(seconds);
    }
    expect(await metrics.registry.getSingleMetricAsString(NAME)).toBe(await registry.metrics().then((t) => t.trimEnd()));
    // prom-client's samples also carry `exemplar` (null here: exemplars are off), which its registry reads only for
    // OpenMetrics; everything else is the same.
    const { values, ...metric } = await reference.get();
    expect((await metrics.registry.getMetricsAsJSON()).find((m) => m.name === NAME))
      .toEqual({ ...metric, values: values.map(({ metricName, labels, value }) => ({ metricName, labels, value })) });
  });
});

describe('the metrics listener', () => {
  let stack: Stack;
  let text: string;
  beforeAll(async () => {
    stack = await start(true);
    await keepAlive(stack.port, MIXED);
    text = await scrape(stack);
  });

  test('answers GET /metrics in the Prometheus text format', async () => {
    const reply = await httpRequest(stack.metricsPort, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toContain('# TYPE http_server_request_duration_seconds histogram\n');
  });

  test('the histogram has the OpenTelemetry buckets (5 ms to 10 s) and four finer ones, down to 100 us', () => {
    const buckets = samples(text).filter((s) => s.name === 'http_server_request_duration_seconds_bucket'
      && s.labels.http_route === '/square-root/{number}' && s.labels.http_response_status_code === '200');
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.25', '0.5',
      '0.75', '1', '2.5', '5', '7.5', '10', '+Inf',
    ]);
    expect(buckets[buckets.length - 1].value).toBe(5);
  });

  test('process metrics are there', () => {
    const names = new Set(samples(text).map((s) => s.name));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(names).toContain(name);
    }
  });

  test('any other path is 404', async () => {
    for (const path of ['/', '/square-root/4', '/metrics/x']) expect((await httpRequest(stack.metricsPort, path)).status).toBe(404);
  });

  test('the service port does not serve /metrics: it is a 404 like any unknown path', async () => {
    const reply = await httpRequest(stack.port, '/metrics');
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body).error).toMatch(/^no such path "\/metrics": use \/square-root\/<number> or \/cube-root\/<number>/);
  });

  test('promtool check metrics passes on the output', () => {
    const script = join(ROOT, 'scripts', 'fetch-promtool.sh');
    const fetched = spawnSync(script, { encoding: 'utf8', timeout: 900_000 });
    if (fetched.status !== 0) {
      throw new Error(`scripts/fetch-promtool.sh could not provide promtool (it builds it with \`go install\` from the Go module proxy: needs Go on PATH and the proxy reachable): ${fetched.stderr.slice(-2000)}`);
    }
    const check = spawnSync(fetched.stdout.trim(), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, output: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, output: '' });
  }, 900_000);
});

describe('the service process', () => {
  test('serves metrics on METRICS_PORT, named in its "listening" line, apart from PORT', async () => {
    const service = await startService({ METRICS_PORT: '0' });
    try {
      const listening = await service.waitForLog('listening');
      expect(typeof listening.metricsPort).toBe('number');
      expect(listening.metricsPort).not.toBe(service.port);
      await httpRequest(service.port, '/square-root/9');
      const reply = await httpRequest(listening.metricsPort as number, '/metrics');
      expect(requestCounts(reply.body)).toEqual({ 'GET /square-root/{number} 200': 1 });
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  test('METRICS_PORT equal to PORT is refused at start, naming the variable', async () => {
    await expect(startService({ PORT: '18999', METRICS_PORT: '18999' })).rejects.toThrow(/invalid METRICS_PORT/);
  });
});
