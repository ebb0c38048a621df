import { request } from 'node:http';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { Testing } from 'cdk8s';
import { e2eUnavailableReason, NetnsStack } from '../../e2e/netns-stack';
import { holdOpen, parseAnswer, rawExchange } from '../../e2e/raw-http';
import { loadProxyStackSpec } from '../../e2e/stack-spec';
import { NumberCrunchChart, ReverseProxyProps } from '../../lib';
import { SERVICE_MAIN } from '../../number-crunch/test/service-process';

// The public-Internet hardening of the nginx.conf in dist/ (headers, time-outs, body, Host, per-client limits), in
// Debian's real nginx: the end-to-end harness of proxy-stack.test.ts. The limits themselves are tested on extra nginx
// instances in the same proxy "pod", rendered with small limits, so that they do not throttle the other tests.
// Every behaviour here works on nginx 1.22 (Debian bookworm) and later.
const unavailable = e2eUnavailableReason();
const spec = loadProxyStackSpec(join(__dirname, '..', '..', 'dist'));

/** GET through node:http, with the answer's headers. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** nginx.conf of the default chart with other proxy props (the same upstream as dist/'s). */
function confWith(proxy: ReverseProxyProps): string {
  // No metrics exporter: its status server's loopback port is the first nginx's in the same namespace.
  return new NumberCrunchChart(Testing.app(), 'number-crunch', { proxy: { metricsExporter: false, ...proxy } }).proxy.nginxConf;
}

if (unavailable) {
  if (process.env.CI === 'true') {
    test('end-to-end tests can run in CI', () => {
      throw new Error(`end-to-end tests cannot run: ${unavailable}`);
    });
  } else {
    console.warn(`SKIPPING end-to-end hardening tests: ${unavailable}`);
    test.skip(`end-to-end hardening tests (skipped: ${unavailable})`, () => undefined);
  }
} else {
  let stack: NetnsStack;
  const RATE_PORT = spec.proxyPort + 10;
  const CONN_PORT = spec.proxyPort + 11;
  beforeAll(async () => {
    stack = await NetnsStack.start({ spec, serviceMain: SERVICE_MAIN });
    await stack.startNginx(confWith({ port: RATE_PORT, clientLimits: { requestsPerSecond: 1, burst: 2 } }), RATE_PORT);
    await stack.startNginx(confWith({ port: CONN_PORT, clientLimits: { connectionsPerClient: 2 } }), CONN_PORT);
  }, 40_000);
  afterAll(async () => {
    await stack?.stop();
  }, 15_000);

  test('X-Content-Type-Options: nosniff on a proxied answer, the health answer and nginx\'s own error', async () => {
    const answers = await Promise.all([
      get(stack.proxyUrl('/square-root/4')), get(stack.proxyUrl(spec.proxyHealthPath)), get(stack.proxyUrl('/square-root/%zz')),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400]);
    for (const a of answers) expect(a.headers['x-content-type-options']).toBe('nosniff');
  });

  test('the Server header names no version', async () => {
    for (const path of ['/square-root/4', '/square-root/%zz']) {
      expect((await get(stack.proxyUrl(path))).headers.server).toBe('nginx');
    }
  });

  test('an HTTP/1.0 request without Host is forwarded with a Host the service accepts', async () => {
    const a = parseAnswer(await rawExchange(stack.proxyIp, spec.proxyPort, 'GET /square-root/4 HTTP/1.0\r\n\r\n'));
    expect({ status: a.status, body: a.body }).toEqual({ status: 200, body: '{"InputNumber":4,"SquareRoot":2}\n' });
  });

  test('a request body is refused with 413 and a JSON error', async () => {
    const a = parseAnswer(await rawExchange(stack.proxyIp, spec.proxyPort,
      'POST /square-root/4 HTTP/1.1\r\nHost: calc\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789'));
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body)).toEqual({ error: 'request body not accepted' });
    expect(a.headers['x-content-type-options']).toBe('nosniff');
  });

  test('a header line longer than the header buffers is refused with 400 and a JSON error', async () => {
    const a = await get(stack.proxyUrl('/square-root/4'), { 'X-Big': 'a'.repeat(5_000) });
    expect(a.status).toBe(400);
    expect(JSON.parse(a.body)).toEqual({ error: 'malformed request' });
  });

  test('a half-sent request head is dropped after the header time-out (10 s)', async () => {
    const socket = await holdOpen(stack.proxyIp, spec.proxyPort, 'GET /square-root/4 HTTP/1.1\r\nHost: calc\r\n');
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThan(8);
    expect(seconds).toBeLessThan(12);
  }, 20_000);

  test('a well-behaved heavy client (200 req/s over 16 keep-alive connections, then a burst of 60) gets no 429', async () => {
    const statuses: number[] = [];
    const agentUrl = stack.proxyUrl('/square-root/4');
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const once = () => new Promise<number>((resolve, reject) => {
      request(agentUrl, { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject).end();
    });
    try {
      for (let tick = 0; tick < 30; tick++) {
        const started = Date.now();
        statuses.push(...await Promise.all(Array.from({ length: 20 }, once)));
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
      }
      statuses.push(...await Promise.all(Array.from({ length: 60 }, () => get(agentUrl).then((a) => a.status))));
    } finally {
      agent.destroy();
    }
    expect(statuses).toHaveLength(660);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 30_000);

  test('over the request rate: 429, the JSON error and Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(stack.proxyUrl('/square-root/4', RATE_PORT))));
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const a of refused) {
      expect(JSON.parse(a.body)).toEqual({ error: 'too many requests' });
      expect(a.headers['retry-after']).toBe('1');
      expect(a.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  test('the health path is never limited', async () => {
    const statuses = await Promise.all(Array.from({ length: 10 }, () => get(stack.proxyUrl(spec.proxyHealthPath, RATE_PORT)).then((a) => a.status)));
    expect(statuses).toEqual(Array(10).fill(200));
  });

  test('over the connection limit: 429 while the client has that many requests in progress', async () => {
    // A request announcing a body it never sends stays in progress (counted by limit_conn) until the body time-out.
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        held.push(await holdOpen(stack.proxyIp, CONN_PORT, 'GET /square-root/4 HTTP/1.1\r\nHost: calc\r\nContent-Length: 1\r\n\r\n'));
      }
      await new Promise((r) => setTimeout(r, 200));
      const a = await get(stack.proxyUrl('/square-root/4', CONN_PORT));
      expect(a.status).toBe(429);
      expect(JSON.parse(a.body)).toEqual({ error: 'too many requests' });
      expect(a.headers['retry-after']).toBe('1');
    } finally {
      held.forEach((s) => s.destroy());
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await get(stack.proxyUrl('/square-root/4', CONN_PORT))).status).toBe(200);
  });

  test('answers other than 429 carry no Retry-After', async () => {
    for (const path of ['/square-root/4', '/square-root/%zz', '/nope']) {
      expect((await get(stack.proxyUrl(path))).headers['retry-after']).toBeUndefined();
    }
  });
}
