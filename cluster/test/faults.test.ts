/**
 * The failures nobody plans, on the real cluster (`npm run test:cluster`), each under the bounded load from the client
 * namespace through the load balancer: a killed app pod, a killed proxy pod (with one replica and with the default
 * two), the app's ClusterIP Service deleted and re-created, a crash of the second node; and the placement that makes
 * a node crash survivable (every revision spread over both nodes). Each test reports the requests, the failed ones by
 * kind, the longest run of seconds with a failure and the time until full capacity is back. Each load starts once the
 * node's conntrack holds no unanswered connection attempt of an earlier fault (see `unansweredAttempts`), so that a
 * test counts its own fault's failures, not the last one's.
 * Without a running cluster these tests are skipped, except under CI=true where they fail.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { ExternalTrafficPolicy, NumberCrunchChart, NumberCrunchChartProps } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import {
  Cluster, Deployment, describeCluster, describeLoad, KubeNode, List, LoadResult, Pod, podReady, readClusterEnv, REPO_DIR, restartsOf, run, Service, sleep,
  waitFor,
} from './cluster-env';

const { env, missing } = readClusterEnv();

// Harness facts and the issue's bounds, written literally (not imported from the code under test).
const NS = 'faults';
const LB_IP = '10.97.0.215';
const LB_PORT = 8080;
const RATE = 100;
const NODE1 = 'nc-node';
const NODE2 = 'nc-node2';
const APP = 'number-crunch';
const PROXY = 'number-crunch-proxy';
const APP_SERVICE = 'number-crunch-service';
const PROXY_KILLS = 3;
const SETTLE_MS = 10_000;
const NODE_CRASH_WINDOW_S = 120;
const NODE_CRASH_MAX_FAILED_SHARE = 0.05;
const NODE_CRASH_RECOVERY_BOUND_S = 90;


describeCluster('faults nobody plans, under load (chart in namespace faults)', () => {
  jest.setTimeout(900_000);
  let cluster: Cluster;
  let namespacesBefore: string[] = [];
  const figures: string[] = [];
  const url = `http://${LB_IP}:${LB_PORT}/square-root/4`;

  function apply(props: NumberCrunchChartProps): void {
    const chart = new NumberCrunchChart(Testing.app(), NS, { namespace: NS, ...props, loadBalancer: { loadBalancerIP: LB_IP, ...props.loadBalancer } });
    cluster.applyObjects(Testing.synth(chart) as K8sObject[]);
    cluster.rolledOut(NS, [APP, PROXY]);
  }

  /** The live (not terminating) pods of a Deployment of the namespace. */
  function podsOf(deployment: string): Pod[] {
    const d = cluster.kubectlJson<Deployment>(['get', 'deployment', deployment, '-n', NS]);
    const { matchLabels } = d.spec.selector as { matchLabels: Record<string, string> };
    const selector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    return cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', selector]).items.filter((p) => !p.metadata.deletionTimestamp);
  }

  const replicasOf = (deployment: string) => cluster.kubectlJson<Deployment>(['get', 'deployment', deployment, '-n', NS]).spec.replicas ?? 1;

  /** Whether every Deployment has all its replicas Ready (on `node`, when given) and nothing else. */
  function fullCapacity(node?: string): boolean {
    return [APP, PROXY].every((d) => {
      const pods = podsOf(d);
      return pods.length === replicasOf(d) && pods.every((p) => podReady(p) && (node === undefined || p.spec.nodeName === node));
    });
  }

  /** Kills a pod's container process with SIGKILL through its node's containerd (what an OOM kill or a crash does). */
  function killContainer(pod: Pod): void {
    const id = pod.status.containerStatuses[0].containerID?.replace(/^containerd:\/\//, '');
    expect(id).toBeTruthy();
    const address = pod.spec.nodeName === NODE2 ? env!.CONTAINERD2_ADDRESS : env!.CONTAINERD_ADDRESS;
    const r = run('ctr', ['--address', address, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', id!]);
    if (r.status !== 0) throw new Error(`ctr tasks kill ${id} failed: ${r.stderr}`);
  }

  const restarts = (deployment: string) => podsOf(deployment).reduce((n, p) => n + restartsOf(p), 0);

  /** Failed requests whose due second starts before `fromMs` or at/after `toMs` (Unix ms). */
  function failuresOutside(r: LoadResult, fromMs: number, toMs: number): number {
    return r.perSecond.reduce((n, [, failed], i) => {
      const at = r.startedAtMs + i * 1000;
      return n + (at < fromMs || at >= toMs ? failed : 0);
    }, 0);
  }

  /** The seconds of the load with a failure, as their start relative to `atMs` (e.g. "-0.4 s: 12, +0.6 s: 3"). */
  function failingSeconds(r: LoadResult, atMs: number): string {
    return r.perSecond.flatMap(([, failed], i) => {
      const at = (r.startedAtMs + i * 1000 - atMs) / 1000;
      return failed ? [`${at >= 0 ? '+' : ''}${at.toFixed(1)} s: ${failed}`] : [];
    }).join(', ');
  }

  /** Requests and failures whose due second starts in [fromMs, toMs). */
  function within(r: LoadResult, fromMs: number, toMs: number): { requests: number; failed: number } {
    return r.perSecond.reduce((acc, [ok, failed], i) => {
      const at = r.startedAtMs + i * 1000;
      return at >= fromMs && at < toMs ? { requests: acc.requests + ok + failed, failed: acc.failed + failed } : acc;
    }, { requests: 0, failed: 0 });
  }

  /**
   * Connection attempts from the client to the load balancer that the node's conntrack holds unanswered (SYN_SENT,
   * UNREPLIED): what an earlier fault can leave behind (an attempt made while the only proxy was down, or sent to a
   * pod that is gone). The kernel keeps such an entry `nf_conntrack_tcp_timeout_syn_sent` (120 s) after its last
   * packet, and a new connection from the same client port follows it, not kube-proxy's current rules: it fails even
   * with every proxy Ready (and restarts the timer). The client's ports come round again well within that (measured:
   * 267 of the 3,500 new connections of a 70 s load reused a port of the same load, a median 20 s later), so a load
   * started in that time can fail on an earlier fault's traces, which is not what the test measures.
   */
  function unansweredAttempts(): number {
    const r = run('conntrack', ['-L', '-p', 'tcp', '--orig-dst', LB_IP, '--dport', String(LB_PORT), '--state', 'SYN_SENT']);
    if (r.status !== 0) {
      throw new Error(`conntrack -L failed (exit ${r.status}): ${r.stderr.trim()}; the cluster tests need root and the conntrack tool (apt-get install conntrack)`);
    }
    return r.stdout.split('\n').filter((line) => line.includes('[UNREPLIED]')).length;
  }

  /** Waits until no earlier fault's unanswered attempt is left (at most the kernel's time-out and 10 s); says what it waited for. */
  async function earlierAttemptsExpired(): Promise<string> {
    const found = unansweredAttempts();
    if (found === 0) return 'no unanswered attempt of an earlier fault left';
    const timeoutFile = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_syn_sent';
    const timeoutSeconds = Number(readFileSync(timeoutFile, 'utf8').trim());
    if (!(timeoutSeconds > 0 && timeoutSeconds <= 600)) throw new Error(`${timeoutFile} reads '${timeoutSeconds}': a conntrack SYN_SENT time-out of 1 to 600 s is needed to wait it out`);
    const since = Date.now();
    await waitFor('the unanswered connection attempts of an earlier fault to expire from conntrack', timeoutSeconds + 10, 1000,
      () => (unansweredAttempts() === 0 ? true : undefined));
    return `${found} unanswered attempt(s) of an earlier fault, expired after waiting ${((Date.now() - since) / 1000).toFixed(0)} s`;
  }

  /**
   * Once no earlier fault's unanswered attempt is left, runs the load, 5 s of it before `fault`, then until `recovered`
   * holds (polled each second, at most `maxSeconds`) and `settleSeconds` longer. Returns the load's counts, when the
   * fault began and when its command returned (a kill has been delivered by then), how long recovery took and what
   * was waited for before the load.
   */
  async function underFault(fault: () => void | Promise<void>, recovered: () => boolean, maxSeconds: number, settleSeconds = 5) {
    const earlier = await earlierAttemptsExpired();
    const load = cluster.startLoad(url, { rate: RATE, maxSeconds: maxSeconds + settleSeconds + 30 });
    await sleep(5000);
    const faultAt = Date.now();
    let faultDoneAt = Number.NaN;
    let recoverySeconds = Number.NaN;
    let failure: unknown;
    try {
      await fault();
      faultDoneAt = Date.now();
      await waitFor('full capacity back', maxSeconds, 1000, () => (recovered() ? true : undefined));
      recoverySeconds = (Date.now() - faultAt) / 1000;
      await sleep(settleSeconds * 1000);
    } catch (e) {
      failure = e;
    }
    const result = await load.stop();
    if (failure) throw failure;
    return { load: result, faultAt, faultDoneAt, recoverySeconds, earlier };
  }

  /**
   * What the proxies' nginx error logs say of the failed upstream tries (each is logged) since `sinceMs`: how many
   * requests had one, the most tries through the Service one request lost, and how many went on to the pods' own
   * addresses (the fallback). A request is told by its proxy, worker and client connection (`pod pid#tid: *N`), so
   * failures of two requests on one keep-alive connection count as one.
   */
  function failedTries(sinceMs: number): string {
    const serviceIp = cluster.kubectlJson<Service & { spec: { clusterIP: string } }>(['get', 'service', APP_SERVICE, '-n', NS]).spec.clusterIP;
    const byRequest = new Map<string, { service: number; pods: number }>();
    for (const pod of podsOf(PROXY)) {
      const log = cluster.kubectlOk(['logs', '-n', NS, pod.metadata.name, '-c', 'nginx', `--since-time=${new Date(sinceMs).toISOString()}`]);
      for (const line of log.split('\n')) {
        const m = /(\d+#\d+: \*\d+) (?:connect\(\) failed|upstream timed out|upstream prematurely closed|recv\(\) failed).*upstream: "https?:\/\/([\d.]+):/.exec(line);
        if (!m) continue;
        const key = `${pod.metadata.name} ${m[1]}`;
        const tries = byRequest.get(key) ?? { service: 0, pods: 0 };
        if (m[2] === serviceIp) tries.service++; else tries.pods++;
        byRequest.set(key, tries);
      }
    }
    const counts = [...byRequest.values()];
    return `${counts.length} request(s) had a failed upstream try, at most ${Math.max(0, ...counts.map((c) => c.service))} `
      + `through the Service for one request, ${counts.filter((c) => c.pods > 0).length} went on to the pods' own addresses`;
  }

  function report(what: string, r: LoadResult, extra: string): void {
    const line = describeLoad(what, r, extra);
    figures.push(line);
    console.log(line);
    expect(r.requests).toBeGreaterThan(RATE); // the load really ran through the fault
  }

  beforeAll(() => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    namespacesBefore = cluster.namespaces();
    const nodes = cluster.kubectlJson<List<KubeNode>>(['get', 'nodes']).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual([NODE1, NODE2]);
  });

  afterAll(() => {
    cluster?.deleteNamespacesSince(namespacesBefore);
    if (figures.length) console.log(`fault figures (${env?.CLUSTER_SET}: Kubernetes ${env?.KUBERNETES_VERSION}, MetalLB ${env?.METALLB_VERSION}):\n${figures.map((f) => `  ${f}`).join('\n')}`);
  });

  test('five rollouts in a row: after each, the app\'s and the proxy\'s 2 replicas are on 2 nodes', () => {
    apply({});
    const spread: string[] = [];
    for (let i = 1; i <= 5; i++) {
      cluster.kubectlOk(['rollout', 'restart', `deployment/${APP}`, `deployment/${PROXY}`, '-n', NS]);
      cluster.rolledOut(NS, [APP, PROXY]);
      const nodesOf = (d: string) => [...new Set(podsOf(d).map((p) => p.spec.nodeName))].sort().join('+');
      spread.push(`rollout ${i}: ${APP} on ${nodesOf(APP)}, ${PROXY} on ${nodesOf(PROXY)}`);
    }
    console.log(spread.join('\n'));
    expect(spread.filter((line) => !new RegExp(`${APP} on ${NODE1}\\+${NODE2}, ${PROXY} on ${NODE1}\\+${NODE2}$`).test(line))).toEqual([]);
  });

  test('one app pod\'s process killed (SIGKILL): no failed request', async () => {
    const victim = podsOf(APP)[0];
    const before = restarts(APP);
    const { load, faultAt, recoverySeconds, earlier } = await underFault(() => killContainer(victim),
      () => restarts(APP) > before && fullCapacity(), 60);
    report(`app pod ${victim.metadata.name} killed`, load,
      `full capacity back after ${recoverySeconds.toFixed(1)} s; ${failedTries(faultAt - 1000)}; ${earlier}`);
    expect({ failed: load.failed, errors: load.errors, non2xx: load.non2xx }).toEqual({ failed: 0, errors: {}, non2xx: {} });
  });

  describe('one proxy pod\'s process killed (SIGKILL)', () => {
    // Three kills per replica count, each of a pod that never restarted (a second crash would wait out the
    // kubelet's restart back-off, which is not the figure asked for). One kill each compares two random delays:
    // both outages end when the kubelet's once-a-second relist sees the dead container, so a single pair of
    // kills breaks the bound by chance now and then. Their sums do not.
    const failed: Record<number, number[]> = {};

    /** Fresh proxy pods (restartCount 0, nothing terminating left), `replicas` of them, all Ready. */
    async function freshProxies(replicas: number): Promise<void> {
      cluster.kubectlOk(['rollout', 'restart', `deployment/${PROXY}`, '-n', NS]);
      cluster.rolledOut(NS, [PROXY]);
      await waitFor(`${replicas} fresh proxy pod(s) and nothing terminating`, 120, 1000, () => {
        const all = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS]).items
          .filter((p) => p.metadata.name.startsWith(`${PROXY}-`));
        return all.length === replicas && all.every((p) => !p.metadata.deletionTimestamp && restartsOf(p) === 0)
          && fullCapacity() ? true : undefined;
      });
      // Settle: the rollout's endpoint changes reach kube-proxy and MetalLB's speaker before the load starts.
      await sleep(SETTLE_MS);
      await cluster.firstOk(url);
    }

    // With the default `externalTrafficPolicy: Local` only node 1's proxy pod could take traffic here: the harness's
    // nodes share one network namespace, one kube-proxy (node 1's) and MetalLB's one speaker (docs/test-cluster.md).
    // A single proxy scheduled on node 2 would be unreachable, and killing node 1's would leave no other to announce
    // the address from. These kills measure what kube-proxy does when a proxy pod dies, so they run with `Cluster`.
    test.each([1, 2])('with %i proxy replica(s), externalTrafficPolicy Cluster: the failures of 3 kills, and when they happen', async (replicas) => {
      apply({ proxy: { replicas }, loadBalancer: { externalTrafficPolicy: ExternalTrafficPolicy.CLUSTER } });
      failed[replicas] = [];
      for (let kill = 1; kill <= PROXY_KILLS; kill++) {
        await freshProxies(replicas);
        const victim = podsOf(PROXY)[0];
        const before = restarts(PROXY);
        const { load, faultAt, faultDoneAt, recoverySeconds, earlier } = await underFault(() => killContainer(victim),
          () => restarts(PROXY) > before && fullCapacity(), 60);
        failed[replicas].push(load.failed);
        // The kill is delivered by the time `ctr tasks kill` returns: under load that once took 1.9 s.
        const late = failuresOutside(load, faultAt - 1000, faultDoneAt + 2000);
        report(`proxy pod killed (${kill} of ${PROXY_KILLS}), ${replicas} replica(s)`, load,
          `kill delivered within ${((faultDoneAt - faultAt) / 1000).toFixed(1)} s of the command; `
          + `${late} failed outside the first 2 s after the kill (failing seconds from the kill's delivery: ${failingSeconds(load, faultDoneAt)}); `
          + `full capacity back after ${recoverySeconds.toFixed(1)} s; ${earlier}`);
        // The floor: connections kube-proxy hands the dead pod before its endpoint goes are refused.
        if (replicas === 2) expect(late).toBe(0);
      }
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      console.log(`proxy kills, failed requests: 1 replica ${JSON.stringify(failed[1])} (sum ${sum(failed[1] ?? [])}), `
        + `2 replicas ${JSON.stringify(failed[2] ?? [])} (sum ${sum(failed[2] ?? [])})`);
      if (replicas === 2) {
        expect(failed[1]).toHaveLength(PROXY_KILLS);
        expect(sum(failed[2])).toBeLessThanOrEqual(sum(failed[1]) / 2);
      }
    });
  });

  test('the ClusterIP Service deleted and re-created (a new ClusterIP), then the app pods rolled: no failed request, no proxy restart', async () => {
    apply({});
    const fqdn = `${APP_SERVICE}.${NS}.svc.cluster.local`;
    const resolverSeconds = Number(/resolver \S+ valid=(\d+)s/.exec(cluster.kubectlOk(['get', 'configmap', `${PROXY}-config`, '-n', NS,
      '-o', 'jsonpath={.data.nginx\\.conf}']))?.[1]);
    expect(resolverSeconds).toBeGreaterThan(0);
    let dnsSeconds = Number.NaN;
    const oldIp = cluster.kubectlJson<Service & { spec: { clusterIP: string } }>(['get', 'service', APP_SERVICE, '-n', NS]).spec.clusterIP;
    const proxyRestarts = restarts(PROXY);
    const proxyPods = podsOf(PROXY).map((p) => p.metadata.name).sort();
    let newIp = '';
    const { load, recoverySeconds, earlier } = await underFault(async () => {
      const service = cluster.kubectlOk(['get', 'service', APP_SERVICE, '-n', NS, '-o', 'json']);
      cluster.kubectlOk(['delete', 'service', APP_SERVICE, '-n', NS]);
      const fresh = JSON.parse(service);
      delete fresh.spec.clusterIP;
      delete fresh.spec.clusterIPs;
      delete fresh.metadata.resourceVersion;
      delete fresh.metadata.uid;
      delete fresh.metadata.creationTimestamp;
      const createdAt = Date.now();
      const clusterIp = () => cluster.kubectlJson<Service & { spec: { clusterIP: string } }>(['get', 'service', APP_SERVICE, '-n', NS]).spec.clusterIP;
      // The allocator may hand the freed address out again (seen once on v1.37): then delete and create once more,
      // at most 3 times, since the point is a new address.
      for (let attempt = 1; attempt <= 3 && (newIp === '' || newIp === oldIp); attempt++) {
        if (attempt > 1) cluster.kubectlOk(['delete', 'service', APP_SERVICE, '-n', NS]);
        cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(fresh) });
        newIp = clusterIp();
      }
      // The cluster DNS answers from its cache (CoreDNS `cache 30`, `ttl 30` here, kubeadm's settings) until the old
      // answer expires: until then nginx, asking it every resolve interval, still gets the old ClusterIP, and a new
      // upstream connection to it fails (kube-proxy removed its rules). The app is rolled once the cluster DNS
      // answers the new address (as the proxy pod asks it) and nginx has asked again.
      const proxyPod = podsOf(PROXY)[0].metadata.name;
      await waitFor(`the cluster DNS answering ${newIp} for ${fqdn}`, 90, 1000, () =>
        cluster.kubectl(['exec', '-n', NS, proxyPod, '-c', 'nginx', '--', 'nslookup', fqdn]).stdout.includes(newIp) ? true : undefined);
      dnsSeconds = (Date.now() - createdAt) / 1000;
      await sleep((resolverSeconds + 1) * 1000);
      cluster.kubectlOk(['rollout', 'restart', `deployment/${APP}`, '-n', NS]);
      cluster.rolledOut(NS, [APP]);
    }, () => fullCapacity() && podsOf(APP).length === 2, 240, 10);
    report('ClusterIP Service deleted and re-created, app pods rolled', load,
      `ClusterIP ${oldIp} -> ${newIp}, answered by the cluster DNS ${dnsSeconds.toFixed(1)} s after the re-creation; full capacity back after ${recoverySeconds.toFixed(1)} s; proxy restarts ${restarts(PROXY) - proxyRestarts}; ${earlier}`);
    expect(newIp).not.toBe(oldIp);
    expect({ failed: load.failed, errors: load.errors, non2xx: load.non2xx }).toEqual({ failed: 0, errors: {}, non2xx: {} });
    expect(restarts(PROXY)).toBe(proxyRestarts);
    expect(podsOf(PROXY).map((p) => p.metadata.name).sort()).toEqual(proxyPods);
  });

  test(`a crash of ${NODE2} (every process of it killed at once): the service keeps answering, at most 5% of the requests of the 120 s after it fail, every Deployment is back to full Ready replicas on ${NODE1} within 90 s`, async () => {
    apply({});
    await waitFor('pods of the app and of the proxy on both nodes', 120, 1000, () =>
      [APP, PROXY].every((d) => new Set(podsOf(d).map((p) => p.spec.nodeName)).size === 2) && fullCapacity() ? true : undefined);
    const node2 = path.join(REPO_DIR, 'cluster', 'node2.sh');
    // What the cluster looked like every 15 s after the crash (printed with the figures).
    const timeline: string[] = [];
    const snapshot = () => {
      const node = cluster.kubectlJson<KubeNode & { spec: { taints?: Array<{ key: string; effect: string }> } }>(['get', 'node', NODE2]);
      const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS]).items.map((p) =>
        `${p.metadata.name.replace(/^number-crunch/, 'nc')}@${p.spec.nodeName}${podReady(p) ? '' : ' not-ready'}${p.metadata.deletionTimestamp ? ' deleting' : ''}`);
      return `${NODE2} taints [${(node.spec.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(' ')}]; pods ${pods.join(', ')}`;
    };
    const earlier = await earlierAttemptsExpired();
    const load = cluster.startLoad(url, { rate: RATE, maxSeconds: NODE_CRASH_WINDOW_S + 40 });
    let backSeconds = Number.NaN;
    let notReadySeconds = Number.NaN;
    let result: LoadResult | undefined;
    await sleep(5000);
    const crashAt = Date.now();
    try {
      const crash = run('bash', [node2, 'crash']);
      if (crash.status !== 0) throw new Error(`cluster/node2.sh crash failed: ${crash.stderr}`);
      console.log(crash.stdout.trim());
      for (let s = 0; s < NODE_CRASH_WINDOW_S + 5 && Date.now() < crashAt + (NODE_CRASH_WINDOW_S + 5) * 1000; s++) {
        const node = cluster.kubectlJson<KubeNode>(['get', 'node', NODE2]);
        if (Number.isNaN(notReadySeconds) && node.status.conditions.find((c) => c.type === 'Ready')?.status !== 'True') {
          notReadySeconds = (Date.now() - crashAt) / 1000;
        }
        if (Number.isNaN(backSeconds) && fullCapacity(NODE1)) backSeconds = (Date.now() - crashAt) / 1000;
        if (s % 15 === 0) timeline.push(`+${((Date.now() - crashAt) / 1000).toFixed(0)} s: ${snapshot()}`);
        await sleep(1000);
      }
    } finally {
      result = await load.stop();
      const start = run('bash', [node2, 'start']);
      if (start.status !== 0) console.error(`cluster/node2.sh start failed: ${start.stderr}`);
    }
    const window = within(result, crashAt - 1000, crashAt + NODE_CRASH_WINDOW_S * 1000);
    const share = window.failed / window.requests;
    report(`crash of ${NODE2}`, result, `in the ${NODE_CRASH_WINDOW_S} s after the crash ${window.failed} of ${window.requests} failed `
      + `(${(100 * share).toFixed(2)}%), ${result.secondsAllFailed} seconds with every request failed; node NotReady after `
      + `${notReadySeconds.toFixed(1)} s; every Deployment full on ${NODE1} after ${backSeconds.toFixed(1)} s; ${earlier}`);
    console.log(`after the crash of ${NODE2}:\n${timeline.map((l) => `  ${l}`).join('\n')}`);
    // The node back, for the tests after this one: Ready, and without the node controller's taints (until they go,
    // nothing is scheduled there).
    await waitFor(`${NODE2} Ready again and untainted`, 120, 1000, () => {
      const node = cluster.kubectlJson<KubeNode & { spec: { taints?: Array<{ key: string }> } }>(['get', 'node', NODE2]);
      const isReady = node.status.conditions.find((c) => c.type === 'Ready')?.status === 'True';
      return isReady && !(node.spec.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/')) ? true : undefined;
    });
    expect(result.secondsAllFailed).toBe(0);
    expect(share).toBeLessThanOrEqual(NODE_CRASH_MAX_FAILED_SHARE);
    expect(backSeconds).toBeLessThanOrEqual(NODE_CRASH_RECOVERY_BOUND_S);
  });
});
