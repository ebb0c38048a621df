/**
 * A hostile client beside a well-behaved one on the real cluster (`npm run test:cluster`), both on the load balancer's
 * LAN, each in its own network namespace: the chart's defaults (`externalTrafficPolicy: Local`, the per-client limits)
 * with nginx's access log on. The hostile client holds 2,000 connections that each sent half a request head (slow
 * loris) and sends 1,000 requests/s; the other sends 50 requests/s. The well-behaved client must see no failure and a
 * p99 under 100 ms, the hostile one 429s, and nginx must log each client's own address.
 * Without a running cluster these tests are skipped, except under CI=true where they fail.
 */
import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import { Cluster, describeCluster, describeLoad, List, Load, Pod, podReady, readClusterEnv, sleep, waitFor } from './cluster-env';

const { env, missing } = readClusterEnv();

// External contracts, harness facts and the bounds, written literally (not imported from the code under test).
const NS = 'hostile';
const LB_IP = '10.97.0.211';
const LB_PORT = 8080;
const HOSTILE_IP = '10.97.0.100'; // the client network namespace (cluster/lib/net.sh)
const CLIENT_IP = '10.97.0.101'; // the second client network namespace
const NODE1 = 'nc-node';
const PROXY_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch-proxy';
const HALF_HEADS = 2000;
const HOSTILE_RATE = 1000;
const CLIENT_RATE = 50;
const SECONDS = 30;
const P99_BOUND_MS = 100;


describeCluster('a hostile client beside a well-behaved one (the chart\'s defaults, access log on, in namespace hostile)', () => {
  jest.setTimeout(300_000);
  let cluster: Cluster;
  let namespacesBefore: string[] = [];
  const url = `http://${LB_IP}:${LB_PORT}/square-root/4`;

  beforeAll(async () => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    namespacesBefore = cluster.namespaces();
    cluster.kubectlOk(['create', 'namespace', NS]);
    const chart = new NumberCrunchChart(Testing.app(), NS, {
      namespace: NS, loadBalancer: { loadBalancerIP: LB_IP }, proxy: { nginx: { accessLog: true } },
    });
    cluster.applyObjects(Testing.synth(chart) as K8sObject[]);
    cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
    // With `externalTrafficPolicy: Local` the load balancer's traffic goes to the proxy pods of the node that announces
    // the address; here that is always the first node (its kube-proxy and MetalLB's one speaker serve both nodes).
    await waitFor(`a Ready proxy pod on ${NODE1} (the harness can take Local traffic on ${NODE1} only: docs/test-cluster.md)`, 60, 1000, () =>
      cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', PROXY_SELECTOR]).items
        .some((p) => p.spec.nodeName === NODE1 && podReady(p) && !p.metadata.deletionTimestamp) ? true : undefined);
    await cluster.firstOk(url);
  });

  afterAll(() => {
    cluster?.deleteNamespacesSince(namespacesBefore);
  });

  test(`${HALF_HEADS} half-sent heads and ${HOSTILE_RATE} requests/s from ${HOSTILE_IP}: the client at ${CLIENT_IP} gets every answer, p99 under ${P99_BOUND_MS} ms; the hostile one gets 429s; nginx logs both addresses`, async () => {
    const since = new Date().toISOString();
    const hostile = new Load(env!, url, HOSTILE_RATE, SECONDS + 10, ['-workers', '64', '-half-heads', String(HALF_HEADS)]);
    // The half heads are all open within a second or two; then the well-behaved client starts.
    await sleep(3000);
    const client = new Load(env!, url, CLIENT_RATE, SECONDS, [], env!.CLIENT2_NETNS);
    await sleep(SECONDS * 1000 + 1000);
    const good = await client.stop();
    const bad = await hostile.stop();
    console.log(describeLoad(`well-behaved client ${CLIENT_IP}`, good));
    console.log(describeLoad(`hostile client ${HOSTILE_IP}`, bad, `half heads: ${JSON.stringify(bad.halfHeads)}`));

    // nginx's logs of the requests of this test: the access log (combined format: the client's address first) and the
    // error log (its time first, then `client: <address>` among the details), both on the container's output.
    const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', PROXY_SELECTOR]).items;
    const lines = pods.flatMap((p) => cluster.kubectlOk(['logs', '-n', NS, p.metadata.name, '-c', 'nginx', `--since-time=${since}`])
      .split('\n').filter((l) => l.includes('"GET /square-root/4 ')));
    const errorLines = lines.filter((l) => /^\d{4}\/\d\d\/\d\d /.test(l));
    const errorClients = [...new Set(errorLines.map((l) => /, client: ([^,]+),/.exec(l)?.[1] ?? '?'))].sort();
    console.log(`error log lines of these requests: ${errorLines.length}, clients ${JSON.stringify(errorClients)}; the first: ${JSON.stringify(errorLines.slice(0, 3))}`);
    const byAddress: Record<string, number> = {};
    const byHostileStatus: Record<string, number> = {};
    for (const l of lines.filter((line) => !errorLines.includes(line))) {
      const address = l.split(' ')[0];
      byAddress[address] = (byAddress[address] ?? 0) + 1;
      if (address === HOSTILE_IP) {
        const status = / HTTP\/1\.1" (\d{3}) /.exec(l)?.[1] ?? '?';
        byHostileStatus[status] = (byHostileStatus[status] ?? 0) + 1;
      }
    }
    console.log(`access log lines by client address: ${JSON.stringify(byAddress)}; the hostile client's by status: ${JSON.stringify(byHostileStatus)}`);

    expect(bad.halfHeads?.maxOpen).toBeGreaterThanOrEqual(HALF_HEADS * 0.95);
    // nginx dropped heads at its header time-out (10 s), and the client opened new ones.
    expect(bad.halfHeads?.closedByServer).toBeGreaterThan(0);
    expect(good.requests).toBeGreaterThanOrEqual(CLIENT_RATE * SECONDS * 0.95);
    expect({ failed: good.failed, errors: good.errors, non2xx: good.non2xx }).toEqual({ failed: 0, errors: {}, non2xx: {} });
    expect(good.p99Ms).toBeLessThan(P99_BOUND_MS);
    expect(bad.non2xx['429'] ?? 0).toBeGreaterThan(0);
    // Each client's own address, never a node's: every logged request came from one of the two.
    expect(Object.keys(byAddress).sort()).toEqual([HOSTILE_IP, CLIENT_IP].sort());
    for (const client of errorClients) expect([HOSTILE_IP, CLIENT_IP]).toContain(client);
    expect(byAddress[CLIENT_IP]).toBeGreaterThanOrEqual(good.ok);
    expect(byHostileStatus['429'] ?? 0).toBeGreaterThan(0);
  });
});
