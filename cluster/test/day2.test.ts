/**
 * Day 2 on the real cluster (`npm run test:cluster`): rollouts, restarts, scaling and an upgrade from the previous
 * release with a bounded load running from the client namespace through the load balancer the whole time (not one
 * request may fail), plus the contracts only a cluster checks: node ports under loadBalancerSourceRanges, the proxy's
 * PodDisruptionBudget, sidecars under Pod Security 'restricted', MetalLB's annotations on this MetalLB version.
 * Without a running cluster these tests are skipped, except under CI=true where they fail.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JsonPatch, Testing } from 'cdk8s';
import { ExternalTrafficPolicy, NumberCrunchChart, NumberCrunchChartProps } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import {
  ANSWER_4, Cluster, ConfigMap, Deployment, DeploymentSpec, describeCluster, describeLoad, HorizontalPodAutoscalerSpec, ipNumber,
  isLoadBalancer, KubeNode, List, Load, LoadResult, nameOf, Pod, PodDisruptionBudget, readClusterEnv, REPO_DIR, run, Service,
  specOf, waitFor,
} from './cluster-env';

const { env, missing } = readClusterEnv();

// External contracts and harness facts, written literally (not imported from the code under test).
const LB_PORT = 8080;
const CLIENT_IP = '10.97.0.100';
const DAY2_LB_IP = '10.97.0.210';
// The upgrade starts from the newest dist/ in git history that differs from the current one (so there is always
// something to roll), then applies the current one.
const DIST_FILE = 'dist/number-crunch.k8s.yaml';
const LOAD_RATE = 100;

function chartObjects(id: string, props: NumberCrunchChartProps, edit?: (chart: NumberCrunchChart) => void): K8sObject[] {
  const chart = new NumberCrunchChart(Testing.app(), id, props);
  edit?.(chart);
  return Testing.synth(chart) as K8sObject[];
}


describeCluster('day 2 on the real cluster', () => {
  jest.setTimeout(600_000);
  let cluster: Cluster;
  let namespacesBefore: string[] = [];
  const figures: string[] = [];

  beforeAll(() => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    namespacesBefore = cluster.namespaces();
    console.log(`cluster set ${env.CLUSTER_SET}: Kubernetes ${env.KUBERNETES_VERSION}, MetalLB ${env.METALLB_VERSION}`);
  });

  afterAll(() => {
    cluster?.deleteNamespacesSince(namespacesBefore);
    if (figures.length) console.log(`day-2 figures (${env?.CLUSTER_SET}: Kubernetes ${env?.KUBERNETES_VERSION}, MetalLB ${env?.METALLB_VERSION}):\n${figures.map((f) => `  ${f}`).join('\n')}`);
  });

  function apply(objects: K8sObject[]): void {
    cluster.applyObjects(objects);
  }

  async function answers(ip: string): Promise<void> {
    expect([ANSWER_4, `${ANSWER_4}\n`]).toContain((await cluster.firstOk(`http://${ip}:${LB_PORT}/square-root/4`)).body);
  }

  /** Runs `change` with the load running; the load keeps going until no pod of `namespace` is terminating, and `settleMs` longer. */
  async function underLoad(ip: string, namespace: string, change: () => Promise<void> | void, settleMs = 3000): Promise<{ load: LoadResult; seconds: number; goneSeconds: number }> {
    const load: Load = cluster.startLoad(`http://${ip}:${LB_PORT}/square-root/4`, { rate: LOAD_RATE, maxSeconds: 400 });
    await new Promise((r) => setTimeout(r, 2000));
    const start = Date.now();
    let seconds = 0;
    let goneSeconds = 0;
    let failure: unknown;
    try {
      await change();
      seconds = (Date.now() - start) / 1000;
      // The load goes on until every replaced pod is gone (its preStop and drain included), then a little longer.
      await waitFor('the replaced pods gone', 120, 1000, () => (terminating(namespace) === 0 ? true : undefined));
      goneSeconds = (Date.now() - start) / 1000;
      await new Promise((r) => setTimeout(r, settleMs));
    } catch (e) {
      failure = e;
    }
    // Stopped in every case (the generator is bounded anyway: 400 s at most).
    const result = await load.stop();
    if (failure) throw failure;
    return { load: result, seconds, goneSeconds };
  }

  function expectNoFailure(what: string, r: LoadResult, extra: string): void {
    const line = describeLoad(what, r, extra);
    figures.push(line);
    console.log(line);
    expect(r.requests).toBeGreaterThan(LOAD_RATE); // the load really ran through the change
    expect({ failed: r.failed, errors: r.errors, non2xx: r.non2xx }).toEqual({ failed: 0, errors: {}, non2xx: {} });
    expect(r.ok).toBe(r.requests);
  }

  function terminating(namespace: string): number {
    return cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', namespace]).items.filter((p) => p.metadata.deletionTimestamp).length;
  }

  function podNames(namespace: string, component: string): string[] {
    return cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/component=${component}`]).items
      .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name).sort();
  }

  describe('rollouts, restarts and scaling under load (chart in namespace day2)', () => {
    const NS = 'day2';
    const base: NumberCrunchChartProps = { namespace: NS, loadBalancer: { loadBalancerIP: DAY2_LB_IP } };
    let ip: string;

    beforeAll(async () => {
      const objects = chartObjects(NS, base);
      apply(objects);
      cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
      ip = await cluster.lbAddress('number-crunch-lb', NS);
      expect(ip).toBe(DAY2_LB_IP);
      await answers(ip);
    });

    test('scale the app to 3 replicas and back to 2: no failed request', async () => {
      const { load, seconds, goneSeconds } = await underLoad(ip, NS, async () => {
        apply(chartObjects(NS, { ...base, app: { replicas: 3 } }));
        cluster.rolledOut(NS, ['number-crunch']);
        expect(podNames(NS, 'api')).toHaveLength(3);
        apply(chartObjects(NS, { ...base, app: { replicas: 2 } }));
        cluster.rolledOut(NS, ['number-crunch']);
        await waitFor('2 app pods', 60, 1000, () => (podNames(NS, 'api').length === 2 ? true : undefined));
      }, 8000);
      expectNoFailure('scale 2 -> 3 -> 2', load, `scaled up and down in ${seconds.toFixed(1)} s, removed pod gone after ${goneSeconds.toFixed(1)} s`);
    });

    test('a proxy config change (nginx.workerConnections) rolls the nginx pods through the config checksum: no failed request', async () => {
      const before = podNames(NS, 'proxy');
      const changed = chartObjects(NS, { ...base, proxy: { nginx: { workerConnections: 2048 } } });
      const checksum = (objs: K8sObject[]) => specOf<DeploymentSpec>(objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'number-crunch-proxy')!)
        .template.metadata.annotations['checksum/config'];
      expect(checksum(changed)).not.toBe(checksum(chartObjects(NS, base)));
      const { load, seconds, goneSeconds } = await underLoad(ip, NS, () => {
        apply(changed);
        cluster.rolledOut(NS, ['number-crunch-proxy']);
      });
      const after = podNames(NS, 'proxy');
      expect(after.filter((p) => before.includes(p))).toEqual([]);
      const conf = cluster.kubectlJson<ConfigMap>(['get', 'configmap', 'number-crunch-proxy-config', '-n', NS]).data;
      expect(Object.values(conf).join('\n')).toMatch(/worker_connections\s+2048;/);
      expectNoFailure('proxy config change (nginx pods rolled)', load, `rollout ${seconds.toFixed(1)} s, old pods gone after ${goneSeconds.toFixed(1)} s`);
    });

    test('an image rebuilt under the same tag: kubectl apply changes nothing, re-import + kubectl rollout restart runs it, no failed request', async () => {
      const marker = `rebuilt-${Date.now()}`;
      const image = rebuildImage(cluster, 'docker.io/library/number-crunch:local', marker);
      const before = podNames(NS, 'api');
      // What docs/microk8s.md says does not work: apply alone leaves the pods (and their old image) as they are.
      const generation = () => cluster.kubectlJson<Deployment>(['get', 'deployment', 'number-crunch', '-n', NS]).metadata.generation;
      const generationBefore = generation();
      apply(chartObjects(NS, { ...base, proxy: { nginx: { workerConnections: 2048 } } }));
      expect(generation()).toBe(generationBefore);
      await new Promise((r) => setTimeout(r, 2000));
      expect(podNames(NS, 'api')).toEqual(before);
      expect(readMarker(NS, before[0])).toBe('');
      // What it documents: kubectl rollout restart.
      const { load, seconds, goneSeconds } = await underLoad(ip, NS, () => {
        cluster.kubectlOk(['rollout', 'restart', 'deployment/number-crunch', '-n', NS]);
        cluster.rolledOut(NS, ['number-crunch']);
      });
      const after = await waitFor('only new app pods', 60, 1000, () => {
        const names = podNames(NS, 'api');
        return names.length === 2 && names.every((n) => !before.includes(n)) ? names : undefined;
      });
      for (const pod of after) expect(readMarker(NS, pod)).toBe(marker);
      expectNoFailure(`rollout restart onto the re-imported image (${image})`, load, `rollout ${seconds.toFixed(1)} s, old pods gone after ${goneSeconds.toFixed(1)} s`);
    });

    test('an image rebuilt under the same tag with its ID as imageRevision: kubectl apply alone rolls the pods, no failed request', async () => {
      const marker = `revision-${Date.now()}`;
      const imageId = rebuildImage(cluster, 'docker.io/library/number-crunch:local', marker);
      const before = podNames(NS, 'api');
      const { load, seconds, goneSeconds } = await underLoad(ip, NS, () => {
        apply(chartObjects(NS, { ...base, app: { imageRevision: imageId }, proxy: { nginx: { workerConnections: 2048 } } }));
        cluster.rolledOut(NS, ['number-crunch']);
      });
      const after = podNames(NS, 'api');
      expect(after.filter((p) => before.includes(p))).toEqual([]);
      for (const pod of after) expect(readMarker(NS, pod)).toBe(marker);
      expectNoFailure('rebuilt image + imageRevision, kubectl apply', load, `rollout ${seconds.toFixed(1)} s, old pods gone after ${goneSeconds.toFixed(1)} s`);
    });

    test('a new image tag (number-crunch:local2, a second tag side-loaded) rolls the app: no failed request', async () => {
      const tagged = cluster.ctr(['images', 'tag', '--force', 'docker.io/library/number-crunch:local', 'docker.io/library/number-crunch:local2']);
      expect(tagged.stderr).toBe('');
      const before = podNames(NS, 'api');
      const { load, seconds, goneSeconds } = await underLoad(ip, NS, () => {
        apply(chartObjects(NS, { ...base, app: { image: 'number-crunch:local2' }, proxy: { nginx: { workerConnections: 2048 } } }));
        cluster.rolledOut(NS, ['number-crunch']);
      });
      const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=api']).items
        .filter((p) => !p.metadata.deletionTimestamp);
      expect(pods.map((p) => p.spec.containers[0].image)).toEqual(['number-crunch:local2', 'number-crunch:local2']);
      expect(pods.filter((p) => before.includes(p.metadata.name))).toEqual([]);
      expectNoFailure('image tag local -> local2', load, `rollout ${seconds.toFixed(1)} s, old pods gone after ${goneSeconds.toFixed(1)} s`);
    });

    /** The marker file of a rebuilt image ('' when the pod runs an image without it). */
    function readMarker(namespace: string, pod: string): string {
      const r = cluster.kubectl(['exec', '-n', namespace, pod, '-c', 'number-crunch', '--', 'cat', '/rebuild-marker']);
      return r.status === 0 ? r.stdout.trim() : '';
    }
  });

  test('upgrade path: the newest earlier dist/ that differs from the current one, then the current dist/, with load running', async () => {
    const NS = 'upgrade';
    // Both dist/s in their own namespace (they are written for 'default'), so this test stands alone.
    const inNamespace = (yaml: string) => yaml.replace(/^(\s+namespace: )default$/gm, `$1${NS}`)
      .replace(/\.default\.svc\.cluster\.local/g, `.${NS}.svc.cluster.local`);
    const current = fs.readFileSync(path.join(REPO_DIR, DIST_FILE), 'utf8');
    const history = run('git', ['-C', REPO_DIR, 'log', '--format=%h', '--', DIST_FILE]);
    expect(history.status).toBe(0);
    let release = '';
    let previous = '';
    for (const commit of history.stdout.split('\n').filter(Boolean)) {
      const shown = run('git', ['-C', REPO_DIR, 'show', `${commit}:${DIST_FILE}`]);
      expect(shown.status).toBe(0);
      if (shown.stdout !== current) {
        [release, previous] = [commit, shown.stdout];
        break;
      }
    }
    expect(release).not.toBe(''); // dist/ has changed since its first commit: there is an earlier release to start from
    // The cluster holds a stand-in of the current dist/'s nginx image only (built from Debian unstable's packages of
    // that line; no registry serves an older one here), so the earlier dist/ runs on it too: this test is about the
    // manifests (immutable fields, a rollout under load), not about nginx releases.
    const nginxImage = /nginxinc\/nginx-unprivileged:[^\s"']+/;
    const pinned = nginxImage.exec(current)?.[0];
    expect(pinned).toBeDefined();
    previous = previous.replace(new RegExp(nginxImage.source, 'g'), pinned!);
    console.log(`upgrade from dist/ of ${release} (its nginx image replaced by ${pinned})`);
    cluster.kubectlOk(['create', 'namespace', NS]);
    cluster.kubectlOk(['apply', '-f', '-'], { input: inNamespace(previous) });
    cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
    const ip = await cluster.lbAddress('number-crunch-lb', NS);
    await answers(ip);
    const generations = () => ['number-crunch', 'number-crunch-proxy']
      .map((d) => cluster.kubectlJson<Deployment>(['get', 'deployment', d, '-n', NS]).metadata.generation);
    const before = generations();
    const { load, seconds, goneSeconds } = await underLoad(ip, NS, () => {
      const r = cluster.kubectl(['apply', '-f', '-'], { input: inNamespace(current) });
      expect(r.stderr).not.toMatch(/field is immutable|Invalid value/);
      expect(r.status).toBe(0);
      cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
    }, 5000);
    const after = generations();
    expectNoFailure(`upgrade ${release} -> current dist/`, load, `apply + rollout ${seconds.toFixed(1)} s (old pods gone after ${goneSeconds.toFixed(1)} s); `
      + `Deployment generations ${before} -> ${after}`);
    const diff = cluster.kubectl(['diff', '-f', '-'], { input: inNamespace(current) });
    expect(diff.stdout + diff.stderr).toBe('');
    expect(diff.status).toBe(0);
  });

  describe('loadBalancerSourceRanges: no node port to go around them', () => {
    // A range without the client: the load balancer address refuses it; a node port (if there is one) would not.
    const RANGE = ['10.97.0.128/25'];
    const CLIENT_IN_RANGE = '10.97.0.150';

    test('the Service has no node port (allocateLoadBalancerNodePorts: false); the client is kept out', async () => {
      const objects = chartObjects('ranges', { namespace: 'ranges', loadBalancer: { loadBalancerSourceRanges: RANGE } });
      apply(objects);
      cluster.rolledOut('ranges', ['number-crunch', 'number-crunch-proxy']);
      const svc = cluster.kubectlJson<Service>(['get', 'service', 'number-crunch-lb', '-n', 'ranges']);
      expect(svc.spec.allocateLoadBalancerNodePorts).toBe(false);
      expect(svc.spec.ports.map((p) => p.nodePort)).toEqual([undefined]);
      const ip = await cluster.lbAddress('number-crunch-lb', 'ranges');
      // A second address of the client namespace, inside the range: the load balancer answers it, so the refusal
      // below is the source-range filter, not a broken path.
      run('ip', ['-n', env!.CLIENT_NETNS, 'addr', 'add', `${CLIENT_IN_RANGE}/24`, 'dev', 'eth0']);
      const inside = await waitFor('an answer to a client inside the range', 20, 1000, () => {
        const code = clientGet(`http://${ip}:${LB_PORT}/square-root/4`, CLIENT_IN_RANGE);
        return code === '200' ? code : undefined;
      });
      expect(inside).toBe('200');
      expect(clientGet(`http://${ip}:${LB_PORT}/square-root/4`)).toBe('000');
      console.log(`source ranges ${RANGE}: LB ${ip} answers ${CLIENT_IN_RANGE}, refuses the client ${CLIENT_IP}; the Service has no node port`);
    });

    test('the contrast (allocateNodePorts: true, the knowingly reopened bypass): the same client gets through the node port', async () => {
      const objects = chartObjects('ranges-open', { namespace: 'ranges-open', loadBalancer: { loadBalancerSourceRanges: RANGE, allocateNodePorts: true } });
      apply(objects);
      cluster.rolledOut('ranges-open', ['number-crunch', 'number-crunch-proxy']);
      const svc = cluster.kubectlJson<Service>(['get', 'service', 'number-crunch-lb', '-n', 'ranges-open']);
      const nodePort = svc.spec.ports[0].nodePort as number;
      expect(nodePort).toBeGreaterThanOrEqual(30000);
      const ip = await cluster.lbAddress('number-crunch-lb', 'ranges-open');
      expect(clientGet(`http://${ip}:${LB_PORT}/square-root/4`)).toBe('000');
      const through = await waitFor('the node port answering', 20, 1000, () => {
        const code = clientGet(`http://${env!.NODE_IP}:${nodePort}/square-root/4`);
        return code === '200' ? code : undefined;
      });
      expect(through).toBe('200');
      console.log(`with allocateNodePorts: true, ${env!.NODE_IP}:${nodePort} answers the client ${CLIENT_IP} outside ${RANGE}`);
    });

    /** The HTTP status a GET from the client namespace gets, '000' when it gets none (refused, dropped, timed out). */
    function clientGet(url: string, from = CLIENT_IP): string {
      return run('ip', ['netns', 'exec', env!.CLIENT_NETNS, 'curl', '-s', '-o', '/dev/null', '--max-time', '3', '--noproxy', '*',
        '--interface', from, '-w', '%{http_code}', url], { timeoutMs: 10_000 }).stdout.trim();
    }
  });

  test('the proxy with 2 replicas gets a PodDisruptionBudget that allows one disruption', async () => {
    const NS = 'ha';
    // `Cluster`: the drain below first moves every pod to the second node, whose proxy pods only node 1's kube-proxy
    // could reach here under `Local` (the nodes share one network namespace: docs/test-cluster.md).
    apply(chartObjects(NS, { namespace: NS, proxy: { replicas: 2 }, loadBalancer: { externalTrafficPolicy: ExternalTrafficPolicy.CLUSTER } }));
    cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
    const pdb = await waitFor('the proxy PDB status', 30, 1000, () => {
      const p = cluster.kubectlJson<PodDisruptionBudget>(['get', 'poddisruptionbudget', 'number-crunch-proxy-pdb', '-n', NS]);
      return p.status?.expectedPods === 2 && p.status?.currentHealthy === 2 ? p : undefined;
    });
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.status.disruptionsAllowed).toBe(1);
    // It selects exactly the proxy's pods (the Deployment's own selector).
    const proxy = cluster.kubectlJson<Deployment>(['get', 'deployment', 'number-crunch-proxy', '-n', NS]);
    expect(pdb.spec.selector).toEqual(proxy.spec.selector);
  });

  test('kubectl drain of the node running every pod: not blocked by the PodDisruptionBudgets, the pods leave gracefully under load; uncordon', async () => {
    const NS = 'ha';
    const NODE1 = 'nc-node';
    const NODE2 = 'nc-node2';
    const pods = () => cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS]).items.filter((p) => !p.metadata.deletionTimestamp);
    const on = (node: string) => pods().filter((p) => p.spec.nodeName === node);
    // Every pod of the namespace (2 app, 2 proxy: both with a budget of maxUnavailable 1) onto the second node.
    cluster.kubectlOk(['cordon', NODE1]);
    try {
      cluster.kubectlOk(['rollout', 'restart', 'deployment/number-crunch', 'deployment/number-crunch-proxy', '-n', NS]);
      cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
      await waitFor('the replaced pods gone', 120, 1000, () => (terminating(NS) === 0 ? true : undefined));
    } finally {
      cluster.kubectlOk(['uncordon', NODE1]);
    }
    expect(on(NODE2).map((p) => p.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['api', 'api', 'proxy', 'proxy']);
    const ip = await cluster.lbAddress('number-crunch-lb', NS);
    await answers(ip);
    // One app pod's log, followed to its end: the service logs its drain ('shutting down', then 'stopped').
    const appPod = on(NODE2).find((p) => p.metadata.labels['app.kubernetes.io/component'] === 'api')!.metadata.name;
    const follow = spawn(path.join(env!.CLUSTER_BIN, 'kubectl'), ['logs', '-f', '-n', NS, appPod, '-c', 'number-crunch'],
      { env: { ...process.env, KUBECONFIG: env!.KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] });
    let appLog = '';
    follow.stdout.on('data', (d) => { appLog += d; });
    const followed = new Promise((resolve) => follow.on('close', resolve));
    await new Promise((r) => setTimeout(r, 1000));
    let drain = { status: null as number | null, out: '' };
    try {
      const { load, seconds } = await underLoad(ip, NS, () => {
        const r = cluster.kubectl(['drain', NODE2, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=240s'], { timeoutMs: 260_000 });
        drain = { status: r.status, out: r.stdout + r.stderr };
      });
      const refused = (drain.out.match(/Cannot evict pod as it would violate the pod's disruption budget/g) ?? []).length;
      console.log(`kubectl drain ${NODE2} (exit ${drain.status}, ${seconds.toFixed(1)} s, ${refused} evictions refused by a budget and retried):\n${drain.out}`);
      expect(drain.status).toBe(0);
      await Promise.race([followed, new Promise((r) => setTimeout(r, 30_000))]);
      expect(appLog).toMatch(/shutting down/);
      expect(appLog).toMatch(/stopped/);
      expect(on(NODE2)).toEqual([]);
      expect(on(NODE1).map((p) => p.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['api', 'api', 'proxy', 'proxy']);
      expectNoFailure(`drain of ${NODE2} (2 app + 2 proxy pods, both budgets maxUnavailable 1)`, load,
        `drain ${seconds.toFixed(1)} s, ${refused} evictions refused by a budget and retried`);
    } finally {
      follow.kill();
      // Back whatever happened above: a node left cordoned would hold every later test's pods on the first node.
      cluster.kubectlOk(['uncordon', NODE2]);
    }
    // The node is schedulable and Ready, every pod Ready.
    const node = cluster.kubectlJson<KubeNode>(['get', 'node', NODE2]);
    expect(node.spec.unschedulable).toBeUndefined();
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod', '--all', '-n', NS, '--timeout=120s'], { timeoutMs: 130_000 });
  });

  test('the autoscaler with its default target (above 100% of the CPU request) is accepted by the API server', () => {
    const objects = chartObjects('hpa', { namespace: 'hpa', app: { autoscaling: { maxReplicas: 4 } } });
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    const target = specOf<HorizontalPodAutoscalerSpec>(hpa).metrics[0].resource.target.averageUtilization;
    expect(target).toBeGreaterThan(100);
    apply(objects);
    const live = cluster.kubectlJson<{ spec: HorizontalPodAutoscalerSpec }>(['get', 'horizontalpodautoscaler', nameOf(hpa), '-n', 'hpa']);
    expect(live.spec.metrics[0].resource.target.averageUtilization).toBe(target);
    expect(live.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'number-crunch' });
    console.log(`HorizontalPodAutoscaler ${nameOf(hpa)}: averageUtilization ${target}% of the CPU request, accepted`);
  });

  describe('MetalLB annotations on this MetalLB release', () => {
    // What each MetalLB generation reads, per annotation prefix (its source: controller/service.go), written literally.
    // v0.13.x (microk8s's add-on) reads only metallb.universe.tf/*; v0.14.9 and later read metallb.io/* and still
    // honour metallb.universe.tf/* (deprecated). The chart writes both, with the same value.
    const HONOURED: Record<string, Record<string, boolean>> = {
      'v0.13.12': { 'metallb.universe.tf': true, 'metallb.io': false },
      'v0.15.2': { 'metallb.universe.tf': true, 'metallb.io': true },
    };
    const EXTRA_FIRST = '10.97.0.230';
    const EXTRA_LAST = '10.97.0.239';
    const inExtra = (ip: string) => ipNumber(ip) >= ipNumber(EXTRA_FIRST) && ipNumber(ip) <= ipNumber(EXTRA_LAST);

    test('addressPool: the chart\'s Service gets an address of the pool it names (the second pool, "extra")', async () => {
      const NS = 'pool';
      const objects = chartObjects(NS, { namespace: NS, loadBalancer: { addressPool: 'extra' } });
      const svc = objects.find(isLoadBalancer)!;
      expect(svc.metadata?.annotations?.['metallb.universe.tf/address-pool']).toBe('extra');
      expect(svc.metadata?.annotations?.['metallb.io/address-pool']).toBe('extra');
      apply(objects);
      cluster.rolledOut(NS, ['number-crunch', 'number-crunch-proxy']);
      const ip = await cluster.lbAddress(nameOf(svc), NS);
      console.log(`MetalLB ${env!.METALLB_VERSION}: addressPool 'extra' -> ${ip}`);
      expect(inExtra(ip)).toBe(true);
      await answers(ip);
    });

    test('each prefix on its own: which one this release honours', async () => {
      const expected = HONOURED[env!.METALLB_VERSION];
      if (!expected) throw new Error(`no expectation written for MetalLB ${env!.METALLB_VERSION}: add it to HONOURED`);
      const NS = 'metallb-keys';
      cluster.kubectlOk(['create', 'namespace', NS]);
      const cases = [
        { name: 'ip-universe', prefix: 'metallb.universe.tf', key: 'loadBalancerIPs', value: '10.97.0.216' },
        { name: 'ip-io', prefix: 'metallb.io', key: 'loadBalancerIPs', value: '10.97.0.217' },
        { name: 'pool-universe', prefix: 'metallb.universe.tf', key: 'address-pool', value: 'extra' },
        { name: 'pool-io', prefix: 'metallb.io', key: 'address-pool', value: 'extra' },
      ];
      apply(cases.map((c) => ({
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: c.name, namespace: NS, annotations: { [`${c.prefix}/${c.key}`]: c.value } },
        spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, selector: { nothing: 'here' }, ports: [{ port: 80, targetPort: 8080 }] },
      })));
      const observed: Record<string, boolean> = {};
      for (const c of cases) {
        // A Service whose annotation is ignored gets an address of the default pool instead (or, where the
        // annotation is read but refused, none: then it counts as not honoured after the wait).
        const ip = await waitFor(`an address for ${c.name}`, 30, 1000, () =>
          cluster.kubectlJson<Service>(['get', 'service', c.name, '-n', NS]).status?.loadBalancer?.ingress?.[0]?.ip).catch(() => '');
        observed[c.name] = c.key === 'loadBalancerIPs' ? ip === c.value : inExtra(ip);
        console.log(`MetalLB ${env!.METALLB_VERSION}: only ${c.prefix}/${c.key}: ${c.value} -> ${ip || 'no address'}`);
      }
      expect(observed).toEqual({
        'ip-universe': expected['metallb.universe.tf'], 'ip-io': expected['metallb.io'],
        'pool-universe': expected['metallb.universe.tf'], 'pool-io': expected['metallb.io'],
      });
    });
  });

  describe('a sidecar added to the exposed Deployment after construction (a JSON patch, cdk8s\'s escape hatch)', () => {
    const NS = 'sidecar';
    const withSidecar = (chart: NumberCrunchChart) => chart.app.deployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', {
      name: 'sidecar', image: 'number-crunch:local', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'],
      resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '50m', memory: '32Mi' } },
    }));

    test('runs with the restricted security context, admitted by the API server in the restricted namespace', () => {
      const objects = chartObjects(NS, { namespace: NS }, withSidecar);
      apply(objects);
      cluster.rolledOut(NS, ['number-crunch']);
      const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=api']).items
        .filter((p) => !p.metadata.deletionTimestamp);
      expect(pods).toHaveLength(2);
      for (const pod of pods) {
        const sidecar = pod.spec.containers.find((c) => c.name === 'sidecar')!;
        expect(sidecar.securityContext!.capabilities!.drop).toEqual(['ALL']);
        expect(sidecar.securityContext!.allowPrivilegeEscalation).toBe(false);
        expect(pod.status.containerStatuses.find((c) => c.name === 'sidecar')!.ready).toBe(true);
      }
    });

    test('the contrast: the same pod with the sidecar\'s capabilities left as they were is rejected there', () => {
      const deployment = chartObjects(NS, { namespace: NS }, withSidecar)
        .find((o) => o.kind === 'Deployment' && o.metadata?.name === 'number-crunch')!;
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sidecar-without-drop', namespace: NS },
        spec: { ...specOf<DeploymentSpec>(deployment).template.spec },
      };
      pod.spec.containers = pod.spec.containers.map((c) => c.name === 'sidecar'
        ? { ...c, securityContext: { ...c.securityContext, capabilities: undefined } } : c);
      const r = cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest": unrestricted capabilities/);
    });
  });

  // Last: the new tag and the rebuilt image were side-loaded to every node, as docs/microk8s.md says to do.
  test('no image was pulled during the day-2 tests (every node had every image)', () => {
    expect(cluster.pullEvents()).toEqual([]);
  });
});

/**
 * Rebuilds `image` with different content under the same name: one more layer holding /rebuild-marker, written as a
 * docker archive and imported into the cluster's containerd (as `docker save | microk8s images import` does). Returns
 * the new image's ID.
 */
function rebuildImage(cluster: Cluster, image: string, marker: string): string {
  const list = fs.readFileSync(cluster.env.IMAGES_LIST, 'utf8').split('\n').find((l) => l.startsWith(`${image} `));
  if (!list) throw new Error(`no archive of ${image} in ${cluster.env.IMAGES_LIST}`);
  const archive = list.slice(list.indexOf(' ') + 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nc-rebuild-'));
  try {
    const sh = (cmd: string, args: string[]) => {
      const r = run(cmd, args, { timeoutMs: 120_000 });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    sh('tar', ['-xf', archive, '-C', dir]);
    fs.mkdirSync(path.join(dir, 'layer'));
    fs.writeFileSync(path.join(dir, 'layer', 'rebuild-marker'), `${marker}\n`);
    sh('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', path.join(dir, 'layer.tar'), '-C', path.join(dir, 'layer'), 'rebuild-marker']);
    const sha = (file: string) => sh('sha256sum', [file]).split(' ')[0];
    const layerSha = sha(path.join(dir, 'layer.tar'));
    fs.renameSync(path.join(dir, 'layer.tar'), path.join(dir, `${layerSha}.tar`));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(dir, manifest[0].Config), 'utf8'));
    config.rootfs.diff_ids.push(`sha256:${layerSha}`);
    config.history = [...(config.history ?? []), { created: new Date().toISOString(), created_by: `cluster test: ADD rebuild-marker (${marker})` }];
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const configSha = sha(configFile);
    fs.renameSync(configFile, path.join(dir, `${configSha}.json`));
    manifest[0] = { ...manifest[0], Config: `${configSha}.json`, Layers: [...manifest[0].Layers, `${layerSha}.tar`] };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const entries = fs.readdirSync(dir).filter((f) => f !== 'layer' && f !== 'rebuilt.tar');
    sh('tar', ['-cf', path.join(dir, 'rebuilt.tar'), '-C', dir, ...entries]);
    const imported = cluster.ctr(['images', 'import', path.join(dir, 'rebuilt.tar')]);
    if (imported.status !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
    return `sha256:${configSha}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
