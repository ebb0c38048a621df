/**
 * Access to the test cluster started by `npm run cluster:up` (its `.cluster/env`): kubectl, curl from the client
 * network namespace on the load balancer's LAN, and the image archives side-loaded into containerd.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { run as runCommand, Run, RunOptions } from '../../test-support/run';
import type { K8sObject } from '../../validation/manifests';

export const REPO_DIR = path.resolve(__dirname, '../..');
const ENV_FILE = path.join(process.env.NC_CLUSTER_STATE ?? path.join(REPO_DIR, '.cluster'), 'env');

/** Under CI=true a cluster test that cannot run fails instead of skipping. */
export const CI = process.env.CI === 'true';

// External contract, written literally (not imported from the code under test): the service's answer to /square-root/4.
export const ANSWER_4 = '{"InputNumber":4,"SquareRoot":2}';

export interface ClusterEnv {
  readonly KUBECONFIG: string;
  readonly CLIENT_NETNS: string;
  /** A second client's network namespace on the same LAN. */
  readonly CLIENT2_NETNS: string;
  readonly CLUSTER_BIN: string;
  readonly CONTAINERD_ADDRESS: string;
  /** The second node's containerd. */
  readonly CONTAINERD2_ADDRESS: string;
  readonly CONTAINERD_LOG: string;
  readonly CONTAINERD2_LOG: string;
  readonly IMAGES_LIST: string;
  /** The load generator (cluster/loadgen), built by cluster:up. */
  readonly LOADGEN: string;
  readonly NODE_IP: string;
  /** The version set (cluster/versions.sh) and its Kubernetes and MetalLB versions. */
  readonly CLUSTER_SET: string;
  readonly KUBERNETES_VERSION: string;
  readonly METALLB_VERSION: string;
}

/** The running cluster's environment, or why there is none (then the tests skip, or fail under CI=true). */
export function readClusterEnv(): { env?: ClusterEnv; missing?: string } {
  if (!fs.existsSync(ENV_FILE)) return { missing: `${path.relative(REPO_DIR, ENV_FILE)} not found: start the cluster with npm run cluster:up (or run npm run test:cluster)` };
  const entries = fs.readFileSync(ENV_FILE, 'utf8').split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
  const env = Object.fromEntries(entries) as unknown as ClusterEnv;
  for (const key of ['KUBECONFIG', 'CLIENT_NETNS', 'CLIENT2_NETNS', 'CLUSTER_BIN', 'CONTAINERD_ADDRESS', 'CONTAINERD2_ADDRESS', 'CONTAINERD_LOG', 'CONTAINERD2_LOG', 'IMAGES_LIST', 'LOADGEN',
    'NODE_IP', 'CLUSTER_SET', 'KUBERNETES_VERSION', 'METALLB_VERSION'] as const) {
    if (!env[key]) return { missing: `${ENV_FILE} has no ${key}: restart the cluster (npm run cluster:down && npm run cluster:up)` };
  }
  return { env };
}

export type { Run } from '../../test-support/run';

/** `describe` when the cluster tests can run (a cluster is up) or must (CI=true: they fail without one), else `describe.skip`. */
export const describeCluster: jest.Describe = readClusterEnv().env || CI ? describe : describe.skip;

// The parts of the API objects the tests read, as kubectl's JSON output (-o json) and the manifests hold them. Fields
// the tests rely on are required: a missing one fails the test that reads it.

/** What `kubectl get <kind>` lists. */
export interface List<T> {
  readonly items: T[];
}

export interface Metadata {
  readonly name: string;
  readonly namespace?: string;
  readonly generation: number;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly deletionTimestamp?: string;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly securityContext?: { readonly allowPrivilegeEscalation?: boolean; readonly capabilities?: { readonly drop?: string[] } };
}

export interface PodSpec {
  readonly nodeName?: string;
  containers: Container[];
}

/** Container restarts of a pod, all its containers together. */
export const restartsOf = (p: Pod): number => p.status.containerStatuses?.reduce((n, c) => n + (c.restartCount ?? 0), 0) ?? 0;

export interface Pod {
  readonly metadata: Metadata;
  readonly spec: PodSpec;
  readonly status: {
    readonly containerStatuses: Array<{ readonly name: string; readonly ready: boolean; readonly restartCount?: number; readonly containerID?: string }>;
    readonly conditions?: Array<{ readonly type: string; readonly status: string }>;
  };
}

export interface DeploymentSpec {
  readonly replicas?: number;
  readonly selector: unknown;
  readonly template: { readonly metadata: { readonly annotations: Record<string, string> }; readonly spec: PodSpec };
}

export interface Deployment {
  readonly metadata: Metadata;
  readonly spec: DeploymentSpec;
}

export interface ServiceSpec {
  readonly type?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly ports: Array<{ readonly port: number; readonly nodePort?: number }>;
}

export interface Service {
  readonly metadata: Metadata;
  readonly spec: ServiceSpec;
  readonly status?: { readonly loadBalancer?: { readonly ingress?: Array<{ readonly ip?: string }> } };
}

export interface ConfigMap {
  readonly data: Record<string, string>;
}

export interface PodDisruptionBudget {
  readonly spec: { readonly maxUnavailable?: number | string; readonly selector: unknown };
  readonly status: { readonly expectedPods?: number; readonly currentHealthy?: number; readonly disruptionsAllowed?: number };
}

export interface HorizontalPodAutoscalerSpec {
  readonly scaleTargetRef: { readonly apiVersion: string; readonly kind: string; readonly name: string };
  readonly metrics: Array<{ readonly resource: { readonly target: { readonly averageUtilization: number } } }>;
}

export interface KubeEvent {
  readonly reason: string;
  readonly message?: string;
  readonly involvedObject: { readonly namespace?: string; readonly name: string };
}

export interface KubeNode {
  readonly metadata: Metadata;
  readonly spec: { readonly unschedulable?: boolean };
  readonly status: { readonly conditions: Array<{ readonly type: string; readonly status: string }> };
}

/** The spec of an object of a manifest or a chart (plain JSON), as the test reads it: `specOf<DeploymentSpec>(d)`. */
export function specOf<T>(o: K8sObject): T {
  return o.spec as T;
}

/** metadata.name of an object of a manifest or a chart (every object the tests use has one). */
export function nameOf(o: K8sObject): string {
  const name = o.metadata?.name;
  if (!name) throw new Error(`${o.kind} without metadata.name`);
  return name;
}

/** Whether an object of a manifest or a chart is a Service of type LoadBalancer. */
export function isLoadBalancer(o: K8sObject): boolean {
  return o.kind === 'Service' && (o.spec as ServiceSpec | undefined)?.type === 'LoadBalancer';
}

/** Runs a command, killed after 120 s unless told otherwise; never throws. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Run {
  return runCommand(cmd, args, { timeoutMs: 120_000, ...opts });
}

export class Cluster {
  constructor(public readonly env: ClusterEnv) {}

  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Run {
    return run(path.join(this.env.CLUSTER_BIN, 'kubectl'), args, { ...opts, env: { KUBECONFIG: this.env.KUBECONFIG } });
  }

  /** kubectl that must succeed; its stdout. */
  kubectlOk(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = this.kubectl(args, opts);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** `kubectl apply` of the objects (a chart's, as `Testing.synth` gives them), as one YAML stream. */
  applyObjects(objects: K8sObject[]): void {
    this.kubectlOk(['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
  }

  /** `kubectl ... -o json`, parsed; T is what the caller reads of it (e.g. `List<Pod>`). */
  kubectlJson<T>(args: string[]): T {
    return JSON.parse(this.kubectlOk([...args, '-o', 'json']));
  }

  /**
   * A request from the client network namespace (a machine on the load balancer's LAN) with curl and `extraArgs`
   * (e.g. `--cacert`, `--resolve`): the answer's HTTP version, status, content type, headers (names in lower case) and
   * body.
   */
  curlFromClient(url: string, extraArgs: string[] = []): { version: string; status: number; contentType: string; headers: Record<string, string>; body: string } {
    const marker = '\n--nc-curl--';
    const r = run('ip', ['netns', 'exec', this.env.CLIENT_NETNS, 'curl', '-sS', '--max-time', '5', '--noproxy', '*',
      '-D', '-', '-w', `${marker}%{http_version} %{http_code} %{content_type}`, ...extraArgs, url], { timeoutMs: 10_000 });
    if (r.status !== 0) throw new Error(`curl ${url} from netns ${this.env.CLIENT_NETNS} failed (${r.status}): ${r.stderr}`);
    const at = r.stdout.lastIndexOf(marker);
    const [version, code, ...type] = r.stdout.slice(at + marker.length).split(' ');
    const text = r.stdout.slice(0, at);
    const headEnd = text.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of text.slice(0, headEnd).split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { version, status: Number(code), contentType: type.join(' '), headers, body: text.slice(headEnd + 4) };
  }

  /** ctr on every node's containerd (as a side-load goes to every node); the first failure, else the last result. */
  ctr(args: string[]): Run {
    const results = [this.env.CONTAINERD_ADDRESS, this.env.CONTAINERD2_ADDRESS]
      .map((address) => run('ctr', ['--address', address, '-n', 'k8s.io', ...args]));
    return results.find((r) => r.status !== 0) ?? results[results.length - 1];
  }

  /** Waits until each of `deployments` in `namespace` has rolled out (kubectl rollout status, 240 s each). */
  rolledOut(namespace: string, deployments: string[]): void {
    for (const d of deployments) {
      this.kubectlOk(['rollout', 'status', `deployment/${d}`, '-n', namespace, '--timeout=240s'], { timeoutMs: 250_000 });
    }
  }

  /** The names of the cluster's namespaces. */
  namespaces(): string[] {
    return this.kubectlJson<List<{ metadata: Metadata }>>(['get', 'namespaces']).items.map((n) => n.metadata.name);
  }

  /**
   * Deletes the namespaces not in `keep` (a list from namespaces() taken before a test file made its own) and waits
   * until they are gone: the two test nodes share this machine's cores, so the CPU a file's stacks request is free
   * again for the next file (after a node crash every pod sits on the first node, which then cannot take more).
   */
  deleteNamespacesSince(keep: readonly string[]): void {
    const made = this.namespaces().filter((n) => !keep.includes(n));
    if (made.length) this.kubectlOk(['delete', 'namespace', ...made, '--wait=true', '--timeout=180s'], { timeoutMs: 190_000 });
  }

  /** The address MetalLB gives Service `service` in `namespace` (waits up to 60 s for one). */
  lbAddress(service: string, namespace: string): Promise<string> {
    return waitFor(`an address for ${namespace}/${service}`, 60, 1000, () =>
      this.kubectlJson<Service>(['get', 'service', service, '-n', namespace]).status?.loadBalancer?.ingress?.[0]?.ip);
  }

  /** The first 200 answer to `url` from the client network namespace (waits up to 30 s for one). */
  firstOk(url: string): Promise<{ status: number; body: string; contentType: string }> {
    return waitFor(`an answer from ${url}`, 30, 1000, () => {
      const r = this.curlFromClient(url);
      return r.status === 200 ? r : undefined;
    });
  }

  /** Every event of the cluster that shows an image pull (attempted, failed or refused), as "namespace/name: reason message". */
  pullEvents(): string[] {
    return this.kubectlJson<List<KubeEvent>>(['get', 'events', '--all-namespaces']).items
      .filter((e) => ['Pulling', 'ErrImagePull', 'ErrImageNeverPull'].includes(e.reason)
        || ((e.reason === 'BackOff' || e.reason === 'Failed') && /pull/i.test(e.message ?? '')))
      .map((e) => `${e.involvedObject.namespace}/${e.involvedObject.name}: ${e.reason} ${e.message}`);
  }

  /**
   * Starts the bounded load generator in the client network namespace against `url` (stop it with `stop()`). For an
   * https URL, `cacert` is the file of the only CA it trusts; `connectTo` (host:port) is where every connection goes,
   * the URL's host staying the TLS server name and Host.
   */
  startLoad(url: string, opts: { rate?: number; maxSeconds?: number; cacert?: string; connectTo?: string } = {}): Load {
    const extra = [...(opts.cacert ? ['-cacert', opts.cacert] : []), ...(opts.connectTo ? ['-connect-to', opts.connectTo] : [])];
    return new Load(this.env, url, opts.rate ?? 100, opts.maxSeconds ?? 300, extra);
  }
}

/** An IPv4 address as a number, to compare addresses with a pool's range. */
export function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** What cluster/loadgen counted (its JSON output). */
export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly non2xx: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly errorSamples: string[] | null;
  readonly keepAliveRequests: number;
  readonly newConnectionRequests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly stoppedBy: string;
  /** When the first request was due (Unix ms): second i of `perSecond` starts i s later. */
  readonly startedAtMs: number;
  /** Requests by the second they were due in: [ok, failed]. */
  readonly perSecond: Array<[number, number]>;
  /** The longest run of consecutive seconds with a failed request. */
  readonly longestFailingRunSeconds: number;
  /** Seconds in which requests were due and every one failed. */
  readonly secondsAllFailed: number;
  /** The connections held with half a request head (`-half-heads`), when asked for. */
  readonly halfHeads?: {
    /** How many were asked for. */
    readonly held: number;
    /** Opened and sent half a head; of those, closed by the server. */
    readonly opened: number;
    readonly closedByServer: number;
    /** The most held at once. */
    readonly maxOpen: number;
    /** Failed connects and writes, by kind. */
    readonly errors: Record<string, number>;
  };
}

/**
 * A running cluster/loadgen: GETs at a fixed rate from a client namespace (`netns`, the first client's by default),
 * bounded in time and count.
 */
export class Load {
  private readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  private readonly pid: number;

  constructor(env: ClusterEnv, public readonly url: string, rate: number, maxSeconds: number, extraArgs: string[] = [],
    netns = env.CLIENT_NETNS) {
    // `ip netns exec` execs the program: the pid is the generator's own.
    const child = spawn('ip', ['netns', 'exec', netns, env.LOADGEN, '-url', url, '-rate', String(rate),
      '-max-seconds', String(maxSeconds), ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = child.pid!;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    this.done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  /** Stops the generator (requests under way finish and are counted) and returns its counts. */
  async stop(): Promise<LoadResult> {
    try { process.kill(this.pid, 'SIGINT'); } catch { /* ended already (max-seconds) */ }
    const r = await this.done;
    if (r.code !== 0) throw new Error(`loadgen exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as LoadResult;
  }
}

/** One line for the test output: requests, failures by kind, latencies. */
export function describeLoad(what: string, r: LoadResult, extra = ''): string {
  const kinds = { ...r.errors, ...Object.fromEntries(Object.entries(r.non2xx).map(([k, v]) => [`HTTP ${k}`, v])) };
  return `${what}: ${r.requests} requests in ${r.seconds.toFixed(1)} s at ${r.rate}/s (${r.keepAliveRequests} keep-alive, `
    + `${r.newConnectionRequests} on new connections), ${r.failed} failed${r.failed ? ` ${JSON.stringify(kinds)} ${JSON.stringify(r.errorSamples)}` : ''}, `
    + `longest failing run ${r.longestFailingRunSeconds} s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, `
    + `max ${r.maxMs.toFixed(1)} ms${extra ? `; ${extra}` : ''}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the pod's Ready condition is true. */
export const podReady = (p: Pod) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** waitFor: polls `probe` every `intervalMs` until it returns a value, at most `tries` times; the last error if none. */
export async function waitFor<T>(what: string, tries: number, intervalMs: number, probe: () => T | undefined): Promise<T> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what} (${tries} tries, ${intervalMs} ms apart)${last ? `; last error: ${last}` : ''}`);
}

export interface ArchivedImage {
  readonly file: string;
  readonly names: string[];
  readonly labels: Record<string, string>;
}

/** The side-loaded images (list file: "<image name> <archive>" per line): names and config labels of each archive. */
export function archivedImages(listFile: string): ArchivedImage[] {
  return fs.readFileSync(listFile, 'utf8').split('\n').filter((l) => l.trim()).map((line) => {
    const file = line.slice(line.indexOf(' ') + 1);
    const manifest = JSON.parse(run('tar', ['-xOf', file, 'manifest.json']).stdout) as { Config: string; RepoTags?: string[] }[];
    const config = JSON.parse(run('tar', ['-xOf', file, manifest[0].Config]).stdout);
    return { file: path.basename(file), names: manifest.flatMap((m) => m.RepoTags ?? []), labels: config.config?.Labels ?? {} };
  });
}

/** Docker's normalisation of an image reference (`nginx:1` is `docker.io/library/nginx:1`). */
export function normalizeImage(ref: string): string {
  const first = ref.split('/')[0];
  const hasRegistry = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}
