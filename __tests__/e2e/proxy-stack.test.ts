import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { e2eUnavailableReason, httpGet, NetnsStack, nginxVersion, reapStaleNamespaces } from '../../e2e/netns-stack';
import { loadManifests } from '../../validation/manifests';
import { loadProxyStackSpec } from '../../e2e/stack-spec';
import { SERVICE_MAIN } from '../../number-crunch/test/service-process';

// The real service and Debian's real nginx running the nginx.conf from dist/, in network namespaces standing in for
// pods. Skipped, with the reason printed, where nginx or network namespaces are unavailable; under CI=true a skip
// is a failure.
const unavailable = e2eUnavailableReason();
const spec = loadProxyStackSpec(join(__dirname, '..', '..', 'dist'));
/** The nginx image dist/ pins for the proxy. */
const pinnedNginxImage = (): string => JSON.stringify(loadManifests(join(__dirname, '..', '..', 'dist'))
  .filter((o) => o.kind === 'Deployment')).match(/nginxinc\/nginx-unprivileged:[^"]+/)?.[0] ?? '';

if (unavailable) {
  if (process.env.CI === 'true') {
    test('end-to-end tests can run in CI', () => {
      throw new Error(`end-to-end tests cannot run: ${unavailable}`);
    });
  } else {
    console.warn(`SKIPPING end-to-end tests: ${unavailable}`);
    test.skip(`end-to-end tests (skipped: ${unavailable})`, () => undefined);
  }
} else {
  let stack: NetnsStack;
  beforeAll(async () => {
    stack = await NetnsStack.start({ spec, serviceMain: SERVICE_MAIN });
  }, 30_000);
  afterAll(async () => {
    await stack?.stop();
  }, 15_000);

  test('nginx -t passes on the config as the pod mounts it', async () => {
    const { code, output } = await stack.nginxTest();
    expect(output).toContain('test is successful');
    expect(code).toBe(0);
  });

  test('/square-root/4 through the proxy', async () => {
    expect(await httpGet(stack.proxyUrl('/square-root/4'))).toMatchObject({ status: 200, body: '{"InputNumber":4,"SquareRoot":2}\n' });
  });

  test.each([
    '/square-root/4', '/square-root/2.25', '/square-root/0', '/square-root/1e6', '/square-root/%34', '/square-root/2',
    '/square-root/1.7976931348623157e308', '/square-root/-4', '/square-root/abc', '/square-root/', '/square-root/NaN',
    '/square-root/Infinity', '/square-root/1e999', `/square-root/${'9'.repeat(100)}`, '/square-root/%2D4',
    '/square-root/4/extra', '/nope', '/healthz', '/readyz', '/square-root/4?x=1', '/cube-root/-8', '/cube-root/2',
    '/cube-root/NaN', '/cube-root/',
  ])('%s: the proxy answers exactly what the service answers', async (path) => {
    const direct = await httpGet(stack.directUrl(path));
    const proxied = await httpGet(stack.proxyUrl(path));
    expect({ status: proxied.status, body: proxied.body }).toEqual({ status: direct.status, body: direct.body });
  });

  test('requests nginx refuses itself get a JSON error, like the service\'s', async () => {
    for (const [path, status] of [['/square-root/%zz', 400], [`/square-root/${'9'.repeat(9000)}`, 414]] as const) {
      const r = await httpGet(stack.proxyUrl(path));
      expect(r.status).toBe(status);
      expect(Object.keys(JSON.parse(r.body))).toEqual(['error']);
    }
    expect((await httpGet(stack.directUrl('/square-root/%zz'))).status).toBe(400);
  });

  test('/stub_status and /metrics through the proxy reach the service\'s port, which answers 404 like any unknown path', async () => {
    for (const path of ['/stub_status', '/metrics']) {
      const proxied = await httpGet(stack.proxyUrl(path));
      expect(proxied.status).toBe(404);
      expect(proxied.body).toBe((await httpGet(stack.directUrl(path))).body);
    }
  });

  test('nginx answers stub_status on the proxy pod\'s loopback, 127.0.0.1:8081, and not on its address', async () => {
    const script = "require('http').get('http://127.0.0.1:8081/stub_status', (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => console.log(r.statusCode, b)); })";
    const inPod = execFileSync('ip', ['netns', 'exec', stack.proxyNs, process.execPath, '-e', script], { timeout: 10_000 }).toString();
    expect(inPod).toMatch(/^200 Active connections: \d+ \nserver accepts handled requests\n/);
    await expect(httpGet(stack.proxyUrl('/stub_status', 8081), 3_000)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('while the service is down: the proxy stays healthy, requests fail fast with 502/503, then recover', async () => {
    await stack.stopService();
    try {
      expect((await httpGet(stack.proxyUrl(spec.proxyHealthPath))).status).toBe(200);
      for (let i = 0; i < 5; i++) {
        const r = await httpGet(stack.proxyUrl('/square-root/4'), 3_000);
        expect([502, 503]).toContain(r.status);
        expect(JSON.parse(r.body)).toEqual({ error: 'upstream unavailable' });
        expect(r.ms).toBeLessThan(1_000);
      }
    } finally {
      await stack.startService();
    }
    expect(await httpGet(stack.proxyUrl('/square-root/9'))).toMatchObject({ status: 200, body: '{"InputNumber":9,"SquareRoot":3}\n' });
  }, 30_000);

  test('nginx is the pinned image\'s nginx line (Debian unstable\'s build of it)', () => {
    const image = /nginx-unprivileged:(\d+\.\d+)\./.exec(pinnedNginxImage())?.[1];
    const harness = nginxVersion()?.slice(0, 2).join('.');
    expect(image).toMatch(/^\d+\.\d+$/);
    expect(harness).toBe(image);
  });

  test('the upstream\'s name answered NXDOMAIN (its Service deleted) for longer than the resolve interval: the backup serves, no request fails', async () => {
    const interval = Number(/^\s*resolver\s+\S+\s+valid=(\d+)s/m.exec(spec.nginxConf)?.[1]);
    expect(spec.fallbackHost).toBeDefined();
    stack.setUpstreamAddress(undefined);
    const statuses: number[] = [];
    try {
      const deadline = Date.now() + (2 * interval + 1) * 1_000;
      for (let i = 0; i < 600 && Date.now() < deadline; i++) {
        statuses.push((await httpGet(stack.proxyUrl('/square-root/4'), 2_000)).status);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      stack.setUpstreamAddress(stack.appIpFromProxy);
    }
    console.log(`upstream name NXDOMAIN for ${2 * interval + 1} s: ${statuses.length} requests, ${statuses.filter((s) => s !== 200).length} failed`);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 60_000);

  test('the Service keeps sending connections to a pod that just died: the retries reach the live pod by its own address, no request fails', async () => {
    const interval = Number(/^\s*resolver\s+\S+\s+valid=(\d+)s/m.exec(spec.nginxConf)?.[1]);
    expect(interval).toBeGreaterThan(0);
    const dead = `${stack.subnet}.203`;
    stack.addDeadPodAddress(dead);
    const resets = (): number => Number(/^\s*(\d+)\s+\d+\s+REJECT\b.*tcp-reset/m.exec(execFileSync('ip',
      ['netns', 'exec', stack.appNs, 'iptables', '-nvxL', 'INPUT']).toString())?.[1] ?? NaN);
    const run = async (count: number): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) statuses.push((await httpGet(stack.proxyUrl('/square-root/4'), 3_000)).status);
      return statuses;
    };
    // nginx asks again about a second after `valid` runs out, each server's name on its own clock: 2 s of margin.
    const settle = () => new Promise((r) => setTimeout(r, (interval + 2) * 1_000));
    try {
      // The worst case of a kill: every connection through the ClusterIP goes to the dead pod, which the headless
      // name still lists beside the live one.
      stack.setUpstreamAddress(dead);
      stack.setFallbackAddresses([dead, stack.appIpFromProxy]);
      await settle();
      const before = resets();
      const statuses = await run(200);
      const refused = resets() - before;
      console.log(`ClusterIP on a dead pod, headless name lists it and a live one: ${statuses.length} requests, `
        + `${statuses.filter((x) => x !== 200).length} failed, ${refused} connections refused by the dead pod`);
      expect(refused).toBeGreaterThanOrEqual(2 * statuses.length);
      expect(statuses.filter((x) => x !== 200)).toEqual([]);
      // And it is the live pod in the fallback that saves them: with only the dead one listed, they fail.
      stack.setFallbackAddresses([dead]);
      await settle();
      const without = await run(20);
      console.log(`the same with only the dead pod listed: ${without.filter((x) => x !== 200).length} of 20 failed`);
      expect(without.filter((x) => x === 502)).toHaveLength(20);
    } finally {
      stack.setUpstreamAddress(stack.appIpFromProxy);
      stack.setFallbackAddresses([stack.appIpFromProxy]);
    }
    await settle();
    expect(await run(5)).toEqual([200, 200, 200, 200, 200]);
  }, 60_000);

  // Last: it moves the upstream. The Service deleted and re-created gets a new ClusterIP; the old one stops answering.
  test('the upstream\'s name answered with a new address: nginx follows within its resolve interval, no request fails', async () => {
    const interval = Number(/^\s*resolver\s+\S+\s+valid=(\d+)s/m.exec(spec.nginxConf)?.[1]);
    expect(interval).toBeGreaterThan(0);
    const newIp = `${stack.subnet}.201`;
    stack.addAppAddress(newIp);
    const queriesBefore = stack.dnsQueries;
    stack.setUpstreamAddress(newIp);
    const statuses: number[] = [];
    const deadline = Date.now() + (interval + 2) * 1_000;
    for (let i = 0; i < 400 && Date.now() < deadline; i++) {
      statuses.push((await httpGet(stack.proxyUrl('/square-root/4'), 2_000)).status);
      await new Promise((r) => setTimeout(r, 50));
    }
    stack.setOldAppAddress(false);
    try {
      const after: Array<{ status: number; ms: number }> = [];
      for (let i = 0; i < 40; i++) after.push(await httpGet(stack.proxyUrl('/square-root/4'), 3_000));
      console.log(`upstream moved: ${statuses.length} requests while nginx re-resolved, ${after.length} after the old ` +
        `address went; DNS queries ${stack.dnsQueries - queriesBefore}; slowest after ${Math.max(...after.map((r) => r.ms)).toFixed(0)} ms`);
      expect(stack.dnsQueries).toBeGreaterThan(queriesBefore);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(after.filter((r) => r.status !== 200 || r.ms > 1_000)).toEqual([]);
    } finally {
      stack.setOldAppAddress(true);
      stack.setUpstreamAddress(stack.appIpFromProxy);
    }
  }, 60_000);
}

if (!unavailable) {
  test('namespaces left by a killed run are removed by the next one', () => {
    const dead = 'nc-app-999999999-abcdef';
    execFileSync('ip', ['netns', 'add', dead]);
    expect(reapStaleNamespaces()).toContain(dead);
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(dead);
  });
}
