/**
 * NetworkPolicies enforced on the test cluster (kube-router's network policy controller, started by cluster/up.sh):
 * first that enforcement is on at all, then that the committed dist/'s policies let exactly the stack's traffic
 * through. Every check is a real connection attempt (busybox nc, 2 s time-out) from inside a pod, and every refusal
 * the tests expect is shown to turn into a connection once the policy is removed.
 *
 * kube-router runs once for the machine, as node nc-node, and enforces the policies of the pods on nc-node only (both
 * nodes share one network namespace; see docs/test-cluster.md): these tests cordon nc-node2 while they run and check
 * that every pod they use is on nc-node.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  CI, Cluster, describeCluster, KubeNode, List, Pod, readClusterEnv, REPO_DIR,
} from './cluster-env';

const { env, missing } = readClusterEnv();
if (!env && !CI) console.warn(`cluster policy tests skipped: ${missing}`);

// The harness's addresses (cluster/lib/net.sh) and the external contracts the checks use, written literally.
const NODE = 'nc-node';
const NODE2 = 'nc-node2';
const NODE_IP = '10.97.0.1';
const NODE2_IP = '10.97.0.2';
const API_CLUSTER_IP = '10.96.0.1';
const APP_PORT = 8080;
const APP_METRICS_PORT = 9464;
const PROXY_PORT = 8080;
const LB_PORT = 8080;
const PROBE_IMAGE = 'nginxinc/nginx-unprivileged:1.30.6-alpine'; // has busybox (nc, nslookup); serves HTTP on 8080
const NS = 'netpol';
const OTHER_NS = 'netpol-other';
const APP_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch';
const PROXY_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch-proxy';
const APP_POLICY = 'number-crunch-netpol';
const PROXY_POLICY = 'number-crunch-proxy-netpol';

/**
 * The committed dist/, byte for byte, with its namespace `default` renamed (objects and the DNS names in nginx.conf),
 * so that cordoning a node and removing policies here touches no other test's objects.
 */
function distInNamespace(): string {
  const text = fs.readdirSync(path.join(REPO_DIR, 'dist')).filter((f) => f.endsWith('.yaml')).sort()
    .map((f) => fs.readFileSync(path.join(REPO_DIR, 'dist', f), 'utf8')).join('\n---\n');
  const renamed = text.replace(/^(\s*namespace: )default$/gm, `$1${NS}`).replace(/\.default\.svc\.cluster\.local/g, `.${NS}.svc.cluster.local`);
  if (!renamed.includes(`namespace: ${NS}`)) throw new Error('dist/ has no object in namespace default: this test renames that one');
  return renamed;
}

/** What a connection attempt gave: a connection (any HTTP answer, error statuses included), a refusal, or neither. */
type Outcome = 'connected' | 'refused' | string;

/** A restricted-compliant probe pod on nc-node running the nginx stand-in (HTTP on 8080), with `labels`. */
function probePod(name: string, namespace: string, labels: Record<string, string>): object {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: {
      nodeName: NODE,
      securityContext: { runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe', image: PROBE_IMAGE, imagePullPolicy: 'Never',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
      }],
      terminationGracePeriodSeconds: 0,
    },
  };
}

describeCluster(`NetworkPolicies enforced (kube-router) on Kubernetes ${env?.KUBERNETES_VERSION}`, () => {
  jest.setTimeout(300_000);
  let cluster: Cluster;
  let listener: ChildProcess | undefined;
  let listenerPort = 0;
  let appPod: Pod;
  let proxyPod: Pod;
  let lbIp = '';
  const podIp: Record<string, string> = {};

  /**
   * One connection attempt from `container` of pod `ns/pod` to ip:port: busybox nc (2 s connect time-out) sends an
   * HTTP request and waits a second for the answer (it stops reading when its input ends); any HTTP answer (a TLS
   * server's 400 to plain HTTP included) is a connection. (Busybox wget crashes in these images.)
   */
  function connect(ns: string, pod: string, container: string, ip: string, port: number): Outcome {
    const r = cluster.kubectl(['exec', '-n', ns, pod, '-c', container, '--', 'sh', '-c',
      `{ printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1; } | nc -w 2 ${ip} ${port}`], { timeoutMs: 20_000 });
    const out = `${r.stdout}${r.stderr}`;
    if (/^HTTP\/1\.[01] \d{3}/m.test(out)) return 'connected';
    if (/can't connect to remote host/.test(out)) return 'refused';
    return `neither (exit ${r.status}): ${out.trim().slice(0, 200)}`;
  }

  /** A DNS lookup of the kubernetes Service's name from `container` of pod `ns/pod` (busybox nslookup, 4 s). */
  function resolve(ns: string, pod: string, container: string): Outcome {
    const r = cluster.kubectl(['exec', '-n', ns, pod, '-c', container, '--', 'timeout', '4', 'nslookup',
      'kubernetes.default.svc.cluster.local'], { timeoutMs: 20_000 });
    if (r.status === 0 && r.stdout.includes(API_CLUSTER_IP)) return 'connected';
    if (/timed out|no servers could be reached|Terminated/i.test(`${r.stdout}${r.stderr}`) || r.status === 143 || r.status === 124) return 'refused';
    return `neither (exit ${r.status}): ${r.stdout}${r.stderr}`.trim();
  }

  type Check = readonly [label: string, attempt: () => Outcome];

  /**
   * Runs every check until each gives `expected` (a policy change reaches kube-router's rules within a few seconds),
   * at most 30 rounds; then asserts them all, so a failure shows every check's last outcome.
   */
  async function expectAll(checks: Check[], expected: Outcome): Promise<void> {
    let last: Record<string, Outcome> = {};
    for (let round = 0; round < 30; round++) {
      last = Object.fromEntries(checks.map(([label, attempt]) => [label, attempt()]));
      if (Object.values(last).every((o) => o === expected)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(last).toEqual(Object.fromEntries(checks.map(([label]) => [label, expected])));
  }

  /**
   * Each check refused with dist/ applied, connected once `policy` is deleted (so the policy is what refuses it), and
   * refused again when dist/ is applied back.
   */
  async function expectRefusedBy(policy: string, checks: Check[]): Promise<void> {
    await expectAll(checks, 'refused');
    cluster.kubectlOk(['delete', 'networkpolicy', policy, '-n', NS]);
    try {
      await expectAll(checks, 'connected');
    } finally {
      applyDist();
    }
    await expectAll(checks, 'refused');
  }

  function applyDist(): void {
    cluster.kubectlOk(['apply', '-f', '-'], { input: distInNamespace() });
  }

  function firstPod(selector: string): Pod {
    const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', selector]).items.filter((p) => !p.metadata.deletionTimestamp);
    if (!pods.length) throw new Error(`no pod ${selector} in ${NS}`);
    return pods[0];
  }

  function ipOf(ns: string, pod: string): string {
    return cluster.kubectlOk(['get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.status.podIP}']).trim();
  }

  beforeAll(async () => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    // kube-router enforces on nc-node only: nothing of these tests may land on nc-node2.
    cluster.kubectlOk(['cordon', NODE2]);
    for (const ns of [NS, OTHER_NS]) {
      cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({
        apiVersion: 'v1', kind: 'Namespace',
        metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      }) });
    }
    applyDist();
    cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
    for (const [name, ns, labels] of [['probe-same', NS, { probe: 'same-namespace' }], ['probe-other', OTHER_NS, { probe: 'other-namespace' }]] as const) {
      cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(probePod(name, ns, labels)) });
    }
    for (const [name, ns] of [['probe-same', NS], ['probe-other', OTHER_NS]]) {
      cluster.kubectlOk(['wait', '--for=condition=Ready', `pod/${name}`, '-n', ns, '--timeout=120s'], { timeoutMs: 130_000 });
      podIp[name] = ipOf(ns, name);
    }
    appPod = firstPod(APP_SELECTOR);
    proxyPod = firstPod(PROXY_SELECTOR);
    podIp.app = ipOf(NS, appPod.metadata.name);
    podIp.proxy = ipOf(NS, proxyPod.metadata.name);
    lbIp = await cluster.lbAddress('number-crunch-lb', NS);
    // A host on the LAN that answers HTTP: a listener of this test on the node's LAN address, in a process of its own
    // (this one blocks while kubectl runs).
    listener = spawn(process.execPath, ['-e',
      `const s=require('http').createServer((q,r)=>r.end('lan')).listen(0,'${NODE_IP}',()=>console.log(s.address().port))`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    listenerPort = await new Promise<number>((resolvePort, reject) => {
      listener!.stdout!.once('data', (d) => resolvePort(Number(String(d).trim())));
      listener!.once('exit', (code) => reject(new Error(`the LAN listener exited ${code}`)));
    });
    console.log(`policy test: app ${appPod.metadata.name} ${podIp.app}, proxy ${proxyPod.metadata.name} ${podIp.proxy}, `
      + `probes ${podIp['probe-same']} ${podIp['probe-other']}, LB ${lbIp}, LAN listener ${NODE_IP}:${listenerPort}`);
  });

  afterAll(() => {
    listener?.kill();
    if (!cluster) return;
    cluster.kubectl(['uncordon', NODE2]);
    cluster.kubectl(['delete', 'namespace', NS, OTHER_NS, '--wait=false']);
  });

  test('the pods of these tests all run on nc-node, where kube-router enforces; nc-node2 is cordoned', () => {
    const pods = [NS, OTHER_NS].flatMap((ns) => cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', ns]).items)
      .filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.length).toBe(2 + 2 + 2);
    expect(pods.filter((p) => p.spec.nodeName !== NODE).map((p) => `${p.metadata.name} on ${p.spec.nodeName}`)).toEqual([]);
    expect(cluster.kubectlJson<KubeNode>(['get', 'node', NODE2]).spec.unschedulable).toBe(true);
  });

  test('enforcement is on: a deny-all policy blocks a connection that succeeds without it', async () => {
    const check: Check = ['probe-other -> probe-same:8080', () => connect(OTHER_NS, 'probe-other', 'probe', podIp['probe-same'], 8080)];
    await expectAll([check], 'connected');
    const denyAll = {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: OTHER_NS },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    };
    cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(denyAll) });
    await expectAll([check], 'refused');
    cluster.kubectlOk(['delete', 'networkpolicy', 'deny-all', '-n', OTHER_NS]);
    await expectAll([check], 'connected');
  });

  test('with dist/\'s policies the client on the LAN gets the answer through the load balancer', async () => {
    const ok = await cluster.firstOk(`http://${lbIp}:${LB_PORT}/square-root/4`);
    expect(ok.body.trim()).toBe('{"InputNumber":4,"SquareRoot":2}');
  });

  test('the proxy reaches the app (its pod and through the Service name) and cluster DNS', async () => {
    await expectAll([
      ['proxy -> app pod:8080', () => connect(NS, proxyPod.metadata.name, 'nginx', podIp.app, APP_PORT)],
      ['proxy -> DNS', () => resolve(NS, proxyPod.metadata.name, 'nginx')],
    ], 'connected');
  });

  test('the app refuses a pod of another namespace and a pod of its namespace without the proxy\'s labels; not without its policy', async () => {
    const checks: Check[] = [
      ['probe-other -> app:8080', () => connect(OTHER_NS, 'probe-other', 'probe', podIp.app, APP_PORT)],
      ['probe-same -> app:8080', () => connect(NS, 'probe-same', 'probe', podIp.app, APP_PORT)],
      ['probe-same -> app:9464 (metrics)', () => connect(NS, 'probe-same', 'probe', podIp.app, APP_METRICS_PORT)],
    ];
    await expectRefusedBy(APP_POLICY, checks);
  });

  test('the app opens no connection: not to the API server, other pods, the LAN or DNS; all of them without its policy', async () => {
    const from = (ip: string, port: number) => () => connect(NS, appPod.metadata.name, 'number-crunch', ip, port);
    const checks: Check[] = [
      ['app -> API server (Service 10.96.0.1:443)', from(API_CLUSTER_IP, 443)],
      ['app -> API server (10.97.0.1:6443)', from(NODE_IP, 6443)],
      ['app -> proxy pod:8080', from(podIp.proxy, PROXY_PORT)],
      ['app -> probe pod:8080', from(podIp['probe-same'], 8080)],
      ['app -> LAN listener on 10.97.0.1', from(NODE_IP, listenerPort)],
      ['app -> LAN: nc-node2 kubelet 10.97.0.2:10250', from(NODE2_IP, 10250)],
      ['app -> LAN: the load balancer', from(lbIp, LB_PORT)],
      ['app -> DNS', () => resolve(NS, appPod.metadata.name, 'number-crunch')],
    ];
    await expectRefusedBy(APP_POLICY, checks);
  });

  test('the proxy reaches nothing but the app and DNS: not the API server, other pods, the LAN; all of them without its policy', async () => {
    const from = (ip: string, port: number) => () => connect(NS, proxyPod.metadata.name, 'nginx', ip, port);
    const checks: Check[] = [
      ['proxy -> API server (Service 10.96.0.1:443)', from(API_CLUSTER_IP, 443)],
      ['proxy -> API server (10.97.0.1:6443)', from(NODE_IP, 6443)],
      ['proxy -> probe pod:8080', from(podIp['probe-same'], 8080)],
      ['proxy -> probe pod of another namespace:8080', from(podIp['probe-other'], 8080)],
      ['proxy -> LAN listener on 10.97.0.1', from(NODE_IP, listenerPort)],
      ['proxy -> LAN: nc-node2 kubelet 10.97.0.2:10250', from(NODE2_IP, 10250)],
    ];
    await expectRefusedBy(PROXY_POLICY, checks);
    // and the app is still reachable
    expect(connect(NS, proxyPod.metadata.name, 'nginx', podIp.app, APP_PORT)).toBe('connected');
  });
});
