/**
 * The metrics on the real cluster: the chart with `metricsScrapeNamespace` set; a pod of that namespace scrapes the
 * service's (9464) and the proxy exporter's (9113) `/metrics` from inside the cluster, through the NetworkPolicies;
 * `promtool check metrics` passes the service's and finds only the exporter's two upstream counter names in the
 * other; the request counters rise by the number of requests sent; the metrics ports are not reachable through the
 * load balancer.
 */
import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import { Cluster, describeCluster, describeLoad, List, Pod, readClusterEnv, REPO_DIR, run } from './cluster-env';

const { env, missing } = readClusterEnv();

// External contracts and harness facts, written literally (not imported from the code under test).
const NS = 'metrics';
const SCRAPER_NS = 'metrics-scraper';
const LB_IP = '10.97.0.218';
const LB_PORT = 8080;
const APP_METRICS_PORT = 9464;
const PROXY_METRICS_PORT = 9113;
const APP_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch';
const PROXY_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch-proxy';
const PROBE_IMAGE = 'nginxinc/nginx-unprivileged:1.30.6-alpine'; // busybox nc
const BAD_REQUESTS = 50;

/** The sum of the samples of `metric` whose labels match every regular expression of `labels`. */
function sumSamples(text: string, metric: string, labels: RegExp[] = []): number {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .filter((l) => labels.every((re) => re.test(l)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describeCluster(`metrics on Kubernetes ${env?.KUBERNETES_VERSION}`, () => {
  jest.setTimeout(300_000);
  let cluster: Cluster;
  let promtool = '';
  let url = '';

  const podIps = (selector: string) => cluster.kubectlJson<List<Pod & { status: { podIP: string } }>>(['get', 'pods', '-n', NS, '-l', selector]).items
    .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.status.podIP);
  /** `/metrics` of ip:port, fetched by the scraper pod. */
  const scrape = (ip: string, port: number): string => {
    // busybox nc (its wget crashes in these images; it stops reading when its input ends, so the input lasts 2 s):
    // the answer's body, after its status line and headers.
    const answer = cluster.kubectlOk(['exec', '-n', SCRAPER_NS, 'scraper', '--', 'sh', '-c',
      `{ printf 'GET /metrics HTTP/1.0\\r\\nHost: ${ip}\\r\\n\\r\\n'; sleep 2; } | nc -w 3 ${ip} ${port}`], { timeoutMs: 20_000 });
    const end = answer.indexOf('\r\n\r\n');
    if (!/^HTTP\/1\.[01] 200 /.test(answer) || end < 0) throw new Error(`GET http://${ip}:${port}/metrics from ${SCRAPER_NS}: ${answer.slice(0, 300)}`);
    return answer.slice(end + 4);
  };
  const appTotal = (labels: RegExp[]) => podIps(APP_SELECTOR).reduce((n, ip) => n + sumSamples(scrape(ip, APP_METRICS_PORT), 'http_server_request_duration_seconds_count', labels), 0);
  const proxyTotal = () => podIps(PROXY_SELECTOR).reduce((n, ip) => n + sumSamples(scrape(ip, PROXY_METRICS_PORT), 'nginx_http_requests_total'), 0);

  beforeAll(async () => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    const p = run('bash', [`${REPO_DIR}/scripts/fetch-promtool.sh`], { timeoutMs: 600_000 });
    if (p.status !== 0) throw new Error(`scripts/fetch-promtool.sh failed (it builds promtool from the Go module proxy): ${p.stderr}`);
    promtool = p.stdout.trim();
    const chart = new NumberCrunchChart(Testing.app(), NS, { namespace: NS, loadBalancer: { loadBalancerIP: LB_IP }, metricsScrapeNamespace: SCRAPER_NS });
    const objects = Testing.synth(chart) as K8sObject[];
    cluster.applyObjects(objects);
    cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: SCRAPER_NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }) });
    cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'scraper', namespace: SCRAPER_NS },
      spec: {
        nodeName: 'nc-node',
        securityContext: { runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'scraper', image: PROBE_IMAGE, imagePullPolicy: 'Never', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        terminationGracePeriodSeconds: 0,
      },
    }) });
    cluster.rolledOut(NS, objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata!.name!));
    cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod/scraper', '-n', SCRAPER_NS, '--timeout=120s'], { timeoutMs: 130_000 });
    url = `http://${await cluster.lbAddress('number-crunch-lb', NS)}:${LB_PORT}`;
    await cluster.firstOk(`${url}/square-root/4`);
  });
  afterAll(() => { cluster?.kubectl(['delete', 'namespace', NS, SCRAPER_NS, '--wait=false']); });

  test('the service\'s endpoint passes promtool check metrics, scraped from the scraper\'s namespace', () => {
    for (const ip of podIps(APP_SELECTOR)) {
      const r = run(promtool, ['check', 'metrics'], { input: scrape(ip, APP_METRICS_PORT) });
      expect({ endpoint: `${ip}:${APP_METRICS_PORT}`, status: r.status, problems: `${r.stdout}${r.stderr}`.trim() })
        .toEqual({ endpoint: `${ip}:${APP_METRICS_PORT}`, status: 0, problems: '' });
    }
  });

  test('the proxy exporter\'s endpoint parses; promtool\'s lint finds only the exporter\'s own two counter names', () => {
    // nginx-prometheus-exporter (upstream, 1.5.1) names two counters without `_total`: promtool exits 3 (lint
    // findings), not 1 (a format error). Any other finding fails here.
    for (const ip of podIps(PROXY_SELECTOR)) {
      const r = run(promtool, ['check', 'metrics'], { input: scrape(ip, PROXY_METRICS_PORT) });
      expect({ endpoint: `${ip}:${PROXY_METRICS_PORT}`, status: r.status, problems: `${r.stdout}${r.stderr}`.trim().split('\n').sort() })
        .toEqual({ endpoint: `${ip}:${PROXY_METRICS_PORT}`, status: 3, problems: [
          'nginx_connections_accepted counter metrics should have "_total" suffix',
          'nginx_connections_handled counter metrics should have "_total" suffix',
        ] });
    }
  });

  test('under a bounded load the counters rise by the requests sent (within 1%); the 400s show up as such', async () => {
    const ok = [/http_route="[^"]*square-root[^"]*"/, /http_response_status_code="200"/];
    const bad = [/http_route="[^"]*square-root[^"]*"/, /http_response_status_code="400"/];
    // nginx also counts the kubelet's probes and the exporter's reads of stub_status: their rate, measured over a
    // quiet window with the same scrapes, is taken off.
    const quietStart = Date.now();
    const quiet0 = proxyTotal();
    await new Promise((r) => setTimeout(r, 20_000));
    const background = (proxyTotal() - quiet0) / ((Date.now() - quietStart) / 1000);
    const start = Date.now();
    const before = { ok: appTotal(ok), bad: appTotal(bad), proxy: proxyTotal() };
    const load = cluster.startLoad(`${url}/square-root/4`, { rate: 100, maxSeconds: 20 });
    await new Promise((r) => setTimeout(r, 20_000));
    const result = await load.stop();
    for (let i = 0; i < BAD_REQUESTS; i++) expect(cluster.curlFromClient(`${url}/square-root/-4`).status).toBe(400);
    const after = { ok: appTotal(ok), bad: appTotal(bad), proxy: proxyTotal() };
    const sent = result.requests + BAD_REQUESTS;
    const expectedProxy = sent + background * ((Date.now() - start) / 1000);
    console.log(`metrics: ${describeLoad('load', result)}; app 200s +${after.ok - before.ok}, app 400s +${after.bad - before.bad}, `
      + `nginx requests +${after.proxy - before.proxy} (sent ${sent}; probes and scrapes ${background.toFixed(2)}/s)`);
    expect(result.failed).toBe(0);
    expect(Math.abs(after.ok - before.ok - result.requests)).toBeLessThanOrEqual(result.requests * 0.01);
    expect(after.bad - before.bad).toBe(BAD_REQUESTS);
    expect(Math.abs(after.proxy - before.proxy - expectedProxy)).toBeLessThanOrEqual(sent * 0.01);
  });

  test('the metrics ports are not reachable through the load balancer', () => {
    for (const port of [APP_METRICS_PORT, PROXY_METRICS_PORT]) {
      const r = run('ip', ['netns', 'exec', env!.CLIENT_NETNS, 'curl', '-sS', '--max-time', '3', '--noproxy', '*', `${url.replace(/:\d+$/, '')}:${port}/metrics`], { timeoutMs: 10_000 });
      expect({ port, status: r.status === 0 ? 'answered' : 'no answer' }).toEqual({ port, status: 'no answer' });
    }
    expect(cluster.curlFromClient(`${url}/metrics`).status).not.toBe(200);
  });
});
