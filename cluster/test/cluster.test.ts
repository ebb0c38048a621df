/**
 * The committed dist/ and the chart on a real Kubernetes v1.27 cluster (API server, kubelet, containerd, kube-proxy,
 * CoreDNS, MetalLB v0.13) started by `npm run cluster:up`; `npm run test:cluster` starts it, runs this and stops it.
 * Without a running cluster these tests are skipped, except under CI=true where they fail.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../../lib';
import { K8sObject, loadManifests } from '../../validation/manifests';
import {
  ANSWER_4, archivedImages, CI, Cluster, DeploymentSpec, describeCluster, ipNumber, isLoadBalancer, KubeEvent, KubeNode, List,
  nameOf, normalizeImage, Pod, readClusterEnv, REPO_DIR, specOf, waitFor,
} from './cluster-env';

const { env, missing } = readClusterEnv();
if (!env && !CI) console.warn(`cluster tests skipped: ${missing}`);

// External contracts, written literally (not imported from the code under test).
const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';
// The harness's MetalLB pool (cluster/manifests/metallb-pool.yaml) and the address the shop chart asks for.
const POOL_FIRST = '10.97.0.200';
const POOL_LAST = '10.97.0.220';
const SHOP_LB_IP = '10.97.0.213';
const LB_PORT = 8080;

const DIST_DIR = path.join(REPO_DIR, 'dist');

/** The objects of the committed dist/, read as the policy checks read them. */
function distObjects(): K8sObject[] {
  return loadManifests(DIST_DIR).filter((o) => o.kind);
}

/** The body of a JSON answer: exactly `json`, with or without one trailing newline. */
function expectJsonBody(body: string, json: string): void {
  expect([json, `${json}\n`]).toContain(body);
}

describeCluster(`on a real cluster: Kubernetes ${env?.KUBERNETES_VERSION}, containerd, kube-proxy, CoreDNS, MetalLB ${env?.METALLB_VERSION}`, () => {
  jest.setTimeout(300_000);
  let cluster: Cluster;

  /** MetalLB's speaker announces the address by ARP on the LAN (its event on the Service). */
  async function expectAnnouncedByMetalLB(service: string, namespace: string): Promise<void> {
    const message = await waitFor('MetalLB announcing the address', 30, 1000, () =>
      cluster.kubectlJson<List<KubeEvent>>(['get', 'events', '-n', namespace, '--field-selector', `involvedObject.kind=Service,involvedObject.name=${service}`])
        .items.find((e) => e.reason === 'nodeAssigned')?.message);
    expect(message).toBe('announcing from node "nc-node" with protocol "layer2"');
  }

  beforeAll(() => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
  });

  test('the API server and kubectl are the version set\'s Kubernetes release and both nodes are Ready', () => {
    const version = cluster.kubectlJson<{ clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } }>(['version']);
    console.log(`cluster set ${env!.CLUSTER_SET}: client ${version.clientVersion.gitVersion}, server ${version.serverVersion.gitVersion}, MetalLB ${env!.METALLB_VERSION}`);
    expect(version.serverVersion.gitVersion).toBe(env!.KUBERNETES_VERSION);
    expect(version.clientVersion.gitVersion).toBe(env!.KUBERNETES_VERSION);
    // Two nodes (the second one is there for the drain test), both Ready.
    const nodes = cluster.kubectlJson<List<KubeNode>>(['get', 'nodes']).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['nc-node', 'nc-node2']);
    for (const node of nodes) expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  test('every image is side-loaded; the stand-ins are named', () => {
    const images = archivedImages(env!.IMAGES_LIST);
    const lines = images.flatMap((i) => i.names.map((n) => {
      const standIn = i.labels['org.number-crunch-cdk8s.stand-in'];
      return `  ${normalizeImage(n)}  ${standIn ? `STAND-IN: ${standIn}` : 'built from this project'}`;
    }));
    console.log(`images side-loaded into containerd (${images.length} archives):\n${lines.join('\n')}`);
    const archived = new Set(images.flatMap((i) => i.names.map(normalizeImage)));
    const wanted = distObjects().filter((o) => o.kind === 'Deployment')
      .flatMap((d) => specOf<DeploymentSpec>(d).template.spec.containers.map((c) => normalizeImage(c.image)));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.filter((w) => !archived.has(w))).toEqual([]);
  });

  describe('the committed dist/, unchanged, in the default namespace', () => {
    const objects = distObjects();
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const lb = objects.find(isLoadBalancer);

    test('kubectl apply --dry-run=server -f dist/ passes', () => {
      const r = cluster.kubectl(['apply', '--dry-run=server', '-f', DIST_DIR]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    test('kubectl apply -f dist/; both Deployments roll out; every pod is Ready', () => {
      cluster.kubectlOk(['apply', '-f', DIST_DIR]);
      expect(deployments).toHaveLength(2);
      cluster.rolledOut('default', deployments.map(nameOf));
      cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod', '--all', '-n', 'default', '--timeout=120s'], { timeoutMs: 130_000 });
      const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', 'default']).items;
      const replicas = deployments.reduce((n, d) => n + (specOf<DeploymentSpec>(d).replicas ?? 1), 0);
      expect(pods.filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(replicas);
    });

    test('MetalLB gives the LoadBalancer Service an address of its pool; the client on the LAN gets the answer', async () => {
      expect(lb).toBeDefined();
      const ip = await cluster.lbAddress(nameOf(lb!), 'default');
      console.log(`dist/'s LoadBalancer Service ${nameOf(lb!)}: ${ip}`);
      await expectAnnouncedByMetalLB(nameOf(lb!), 'default');
      expect(ipNumber(ip)).toBeGreaterThanOrEqual(ipNumber(POOL_FIRST));
      expect(ipNumber(ip)).toBeLessThanOrEqual(ipNumber(POOL_LAST));
      // MetalLB's address -> kube-proxy -> nginx -> number-crunch-service (CoreDNS name) -> a pod.
      const ok = await cluster.firstOk(`http://${ip}:${LB_PORT}/square-root/4`);
      expect(ok.contentType).toBe('application/json');
      expectJsonBody(ok.body, ANSWER_4);
      const bad = cluster.curlFromClient(`http://${ip}:${LB_PORT}/square-root/-4`);
      expect(bad.status).toBe(400);
      expect(bad.contentType).toBe('application/json');
      expect(Object.keys(JSON.parse(bad.body))).toEqual(['error']);
      expect(JSON.parse(bad.body).error).toMatch(/negative/);
    });

    test('the proxy pods run the pinned image\'s nginx line; their replicas are on both nodes', () => {
      const proxy = deployments.find((d) => JSON.stringify(d).includes('nginx-unprivileged'))!;
      const image = specOf<DeploymentSpec>(proxy).template.spec.containers[0].image;
      const line = /nginx-unprivileged:(\d+\.\d+)\./.exec(image)?.[1];
      const v = cluster.kubectl(['exec', '-n', 'default', `deployment/${nameOf(proxy)}`, '--', 'nginx', '-v']);
      expect(v.status).toBe(0);
      expect(/nginx\/(\d+\.\d+)\./.exec(v.stderr + v.stdout)?.[1]).toBe(line);
      for (const d of deployments) {
        const { matchLabels } = specOf<DeploymentSpec>(d).selector as { matchLabels: Record<string, string> };
        const selector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
        const pods = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', 'default', '-l', selector]).items.filter((p) => !p.metadata.deletionTimestamp);
        expect({ deployment: nameOf(d), nodes: new Set(pods.map((p) => p.spec.nodeName)).size }).toEqual({ deployment: nameOf(d), nodes: 2 });
      }
    });

    test('re-applying the same dist/ changes nothing (kubectl diff exits 0)', () => {
      const r = cluster.kubectl(['diff', '-f', DIST_DIR]);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(0);
    });
  });

  describe("the chart in namespace 'shop' with loadBalancerIP set", () => {
    let objects: K8sObject[];

    beforeAll(() => {
      const chart = new NumberCrunchChart(Testing.app(), 'shop', { namespace: 'shop', loadBalancer: { loadBalancerIP: SHOP_LB_IP } });
      objects = Testing.synth(chart) as K8sObject[];
    });

    test('applies; the Namespace enforces the restricted Pod Security standard; the pods are admitted under it', () => {
      cluster.applyObjects(objects);
      const ns = cluster.kubectlJson<{ metadata: { labels?: Record<string, string> } }>(['get', 'namespace', 'shop']);
      expect(ns.metadata.labels?.[POD_SECURITY_ENFORCE]).toBe('restricted');
      cluster.rolledOut('shop', objects.filter((o) => o.kind === 'Deployment').map(nameOf));
      cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod', '--all', '-n', 'shop', '--timeout=120s'], { timeoutMs: 130_000 });
      const events = cluster.kubectlJson<List<KubeEvent>>(['get', 'events', '-n', 'shop']).items;
      expect(events.filter((e) => /violates PodSecurity/.test(e.message ?? '')).map((e) => e.message)).toEqual([]);
    });

    test('the enforcement is real: a privileged pod is rejected in that namespace', () => {
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-restricted', namespace: 'shop' },
        spec: { containers: [{ name: 'c', image: 'number-crunch:local', imagePullPolicy: 'Never', securityContext: { privileged: true } }] },
      };
      // A server-side dry run goes through admission (Pod Security included) and creates nothing either way.
      const r = cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    });

    test(`MetalLB ${env?.METALLB_VERSION} assigns exactly the requested address ${SHOP_LB_IP}; the client gets the answer from it`, async () => {
      const lb = objects.find(isLoadBalancer);
      expect(lb).toBeDefined();
      const ip = await cluster.lbAddress(nameOf(lb!), 'shop');
      expect(ip).toBe('10.97.0.213');
      await expectAnnouncedByMetalLB(nameOf(lb!), 'shop');
      expectJsonBody((await cluster.firstOk(`http://${ip}:${LB_PORT}/square-root/4`)).body, ANSWER_4);
      expect(cluster.curlFromClient(`http://${ip}:${LB_PORT}/square-root/-4`).status).toBe(400);
    });
  });

  // Last, after every pod of the tests above has started.
  describe('after all of the above', () => test('no image was ever pulled (events and containerd log)', () => {
    expect(cluster.pullEvents()).toEqual([]);
    const log = fs.readFileSync(env!.CONTAINERD_LOG, 'utf8') + fs.readFileSync(env!.CONTAINERD2_LOG, 'utf8');
    expect(log.split('\n').filter((l) => /PullImage|fetch failed|failed to resolve reference/.test(l))).toEqual([]);
    // The kubelet did look at every image: "already present on machine" for each container.
    const events = cluster.kubectlJson<List<KubeEvent>>(['get', 'events', '--all-namespaces']).items;
    expect(events.filter((e) => e.reason === 'Pulled' && /already present on machine/.test(e.message ?? '')).length).toBeGreaterThan(0);
  }));
});
