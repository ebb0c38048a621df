import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run as runCommand, runOk } from '../test-support/run';
import { ProxyStackSpec } from './stack-spec';
import { StubDns } from './stub-dns';

/**
 * The end-to-end harness: the synthesized stack on one machine, with network namespaces standing in for pods.
 *
 *   root namespace (tests, wrk) ──veth── proxy "pod" (nginx, the ConfigMap's nginx.conf, non-root,
 *         │                                   │          read-only root, tmpfs where the pod has emptyDirs;
 *         │                                   │          sidecars, if any, in one process namespace with it)
 *         └──────────────veth──── app "pod" ──┘veth      (the compiled service on its container port)
 *
 * nginx is Debian unstable's (scripts/fetch-nginx.sh), the line of the pinned image. A stub DNS server in the root
 * namespace stands in for the cluster DNS: it maps the Service's cluster DNS name to the app namespace's address, the
 * way cluster DNS maps it to the Service's ClusterIP, and the proxy namespace's /etc/hosts (from
 * /etc/netns/<ns>/hosts) maps the name of nginx.conf's `resolver` to it. Addresses come from 198.18.0.0/15,
 * the range reserved for benchmarking, and exist only inside namespaces the harness made.
 */

const live = new Set<NetnsStack>();
let nginxPath: string | undefined;

/** The `nginx` command the harness runs (Debian unstable's, from scripts/fetch-nginx.sh, fetched once). */
export function nginxCommand(): string {
  nginxPath ??= execFileSync(join(__dirname, '..', 'scripts', 'fetch-nginx.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return nginxPath;
}
process.once('exit', () => live.forEach((s) => s.destroySync()));

/** Version of an nginx command (the harness's, `nginxCommand()`, by default), e.g. [1, 30, 6]; undefined when there is none. */
export function nginxVersion(command?: string): number[] | undefined {
  let cmd = command;
  try {
    cmd ??= nginxCommand();
  } catch {
    return undefined;
  }
  // `nginx -v` writes its version to standard error.
  const { stdout, stderr } = runCommand(cmd, ['-v']);
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${stderr}${stdout}`);
  return m ? m.slice(1).map(Number) : undefined;
}

/** Why the end-to-end tests cannot run here, or undefined when they can. */
export function e2eUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, as CI does)';
  for (const tool of ['ip', 'unshare', 'setpriv', 'mount', 'iptables']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install -y iproute2 util-linux mount iptables)`;
    }
  }
  try {
    nginxCommand();
  } catch (e) {
    return `no nginx of the pinned image's line: ${(e as Error).message.trim().split('\n').slice(-3).join(' ')}`;
  }
  const probe = `nc-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (e) {
    return `cannot create a network namespace: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/**
 * Removes the namespaces of harness runs whose process is gone (killed before it could clean up): their names carry
 * the pid of the process that made them.
 */
export function reapStaleNamespaces(): string[] {
  const reaped: string[] = [];
  for (const line of run(['ip', 'netns', 'list']).split('\n')) {
    const m = /^(nc-(?:app|proxy)-(\d+)-[0-9a-f]+)\b/.exec(line);
    if (!m || existsSync(`/proc/${m[2]}`)) continue;
    try {
      run(['ip', 'netns', 'del', m[1]]);
    } catch {
      // removed meanwhile
    }
    rmSync(`/etc/netns/${m[1]}`, { recursive: true, force: true });
    reaped.push(m[1]);
  }
  return reaped;
}

function run(args: string[]): string {
  return runOk(args[0], args.slice(1));
}

/** GET a URL; resolves with status and body, rejects on a network error or after `timeoutMs`. */
export function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until `url` answers 200, or throws after `timeoutMs` with `diagnostics()` in the message. */
export async function waitFor200(url: string, timeoutMs: number, diagnostics: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await httpGet(url, 1_000);
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})\n${diagnostics()}`);
}

interface Proc {
  child: ChildProcess;
  output: string[];
}

function startProc(args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(args[0], args.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  const keep = (c: Buffer) => { output.push(c.toString()); if (output.length > 200) output.shift(); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output };
}

function killGroup(p: Proc | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (p?.child.pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs a command to its end; returns its exit code and output. */
async function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = startProc(args);
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
  await new Promise((r) => setImmediate(r));
  return { code, output: proc.output.join('') };
}

function exited(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.child.once('exit', () => resolve()));
}

/** A directory of this machine mounted read-only into the proxy "pod", as a Secret volume is. */
export interface ReadOnlyMount {
  /** The directory here. */
  readonly source: string;
  /** Its path in the pod; its parent must be writable there (the tmpfs made for the config mount). */
  readonly target: string;
}

/** A container beside nginx in the proxy "pod", as its pod spec has it (e.g. the tls-reloader). */
export interface SidecarContainer {
  readonly name: string;
  /** Its command and arguments. */
  readonly command: string[];
  /** Numeric user and group it runs as. */
  readonly runAsUser: number;
  readonly runAsGroup: number;
  /** Its read-only volumes. */
  readonly mounts: ReadOnlyMount[];
  /** Paths of nginx's emptyDirs it mounts too, read-only, at the same paths (e.g. to read nginx's pid file). @default - none */
  readonly emptyDirPaths?: string[];
  /** A directory put first on its PATH, standing in for its image's commands (e.g. busybox's). @default - none */
  readonly pathDir?: string;
}

/** Options of `NetnsStack.start`. */
export interface NetnsStackOptions {
  /** The proxy pod, read from dist/. */
  readonly spec: ProxyStackSpec;
  /** The compiled service's entry point. */
  readonly serviceMain: string;
  /** Read-only volumes of the proxy pod besides its config (e.g. the TLS Secret). @default - none */
  readonly mounts?: ReadOnlyMount[];
  /**
   * Containers beside nginx, started after it. With any, the proxy pod's containers share one process namespace, as
   * with the pod's `shareProcessNamespace: true`: a process of the harness is its PID 1 (the pause container's place)
   * and the containers' /proc lists the pod's processes only; and each emptyDir is one tmpfs of the pod, which the
   * containers that mount it share. @default - none: nginx alone, in the machine's process namespace
   */
  readonly sidecars?: SidecarContainer[];
}

/** How the harness runs one container of the proxy pod. */
interface ContainerRun {
  readonly command: string[];
  readonly runAsUser: number;
  readonly runAsGroup: number;
  /** Read-only volumes, the config's first. */
  readonly mounts: ReadOnlyMount[];
  /** The pod's emptyDirs it mounts, at these paths. */
  readonly emptyDirPaths: string[];
  /** Whether they are read-only for it. @default false */
  readonly emptyDirsReadOnly?: boolean;
  /** Put first on PATH. @default - none */
  readonly pathDir?: string;
}

/** Pids of the children of process `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One running copy of the stack. Always `stop()` it (tests: in afterAll); a process exit hook cleans up too. */
export class NetnsStack {
  readonly id = randomBytes(3).toString('hex');
  readonly appNs = `nc-app-${process.pid}-${this.id}`;
  readonly proxyNs = `nc-proxy-${process.pid}-${this.id}`;
  readonly subnet = `198.18.${randomBytes(1)[0]}`;
  /** Address of the proxy pod, reachable from the tests. */
  readonly proxyIp = `${this.subnet}.2`;
  /** Address of the app pod, reachable from the tests. */
  readonly appIp = `${this.subnet}.6`;
  /** Address of the app pod as the proxy pod sees it (what the Service name resolves to). */
  readonly appIpFromProxy = `${this.subnet}.10`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'nc-e2e-'));
  /** Address of the stub cluster DNS, in the root namespace, as the proxy pod reaches it. */
  readonly dnsIp = `${this.subnet}.1`;
  private service?: Proc;
  private dns?: StubDns;
  private readonly nginxes: Proc[] = [];
  /** The `unshare` that made the pod's shared process namespace, when its containers share one. */
  private pod?: Proc;
  /** PID 1 of that namespace, as the machine numbers it: a `sleep` in the pause container's place. */
  private podInit?: number;
  /** In a pod with a PID 1 of its own: each emptyDir's tmpfs in the pod's mount namespace, by nginx's mount path. */
  private readonly podEmptyDirs = new Map<string, string>();
  private readonly sidecars = new Map<string, Proc>();

  private constructor(private readonly options: NetnsStackOptions) {}

  /** Builds the namespaces, starts the service, then nginx with the config from dist/, and waits for both. */
  static async start(options: NetnsStackOptions): Promise<NetnsStack> {
    reapStaleNamespaces();
    const stack = new NetnsStack(options);
    live.add(stack);
    try {
      stack.createNetwork();
      stack.dns = await StubDns.start(stack.dnsIp);
      stack.dns.set(options.spec.upstreamHost, stack.appIpFromProxy);
      if (options.spec.fallbackHost) stack.dns.set(options.spec.fallbackHost, stack.appIpFromProxy);
      await stack.startService();
      if (options.sidecars?.length) await stack.startPodInit();
      await stack.startNginx(options.spec.nginxConf, options.spec.proxyPort, [], options.mounts);
      for (const sidecar of options.sidecars ?? []) stack.startSidecar(sidecar);
      return stack;
    } catch (e) {
      stack.destroySync();
      throw e;
    }
  }

  /** URL of `path` through the proxy. */
  proxyUrl(path: string, port = this.options.spec.proxyPort): string {
    return `http://${this.proxyIp}:${port}${path}`;
  }

  /** URL of `path` on the service directly. */
  directUrl(path: string): string {
    return `http://${this.appIp}:${this.options.spec.appTargetPort}${path}`;
  }

  /** pid of the service process. */
  get servicePid(): number | undefined {
    return this.service?.child.pid;
  }

  /** pids of one nginx instance (0: the one from dist/), master and workers, as the machine numbers them. */
  nginxPids(instance = 0): number[] {
    const master = this.nginxMasterPid(instance);
    return master === undefined ? [] : [master, ...childrenOf(master)];
  }

  /** Everything a sidecar wrote to its standard output and error so far (the last 200 chunks). */
  sidecarOutput(name: string): string {
    return this.sidecars.get(name)?.output.join('') ?? '';
  }

  /** The master of one nginx instance: the process started, or in a shared process namespace nsenter's one child. */
  private nginxMasterPid(instance: number): number | undefined {
    const pid = this.nginxes[instance]?.child.pid;
    return pid === undefined || this.pod === undefined ? pid : childrenOf(pid)[0];
  }

  /**
   * Starts PID 1 of the proxy pod's shared process namespace, with /proc of that namespace mounted, and makes each of
   * nginx's emptyDirs a tmpfs in the pod's mount namespace (gone with the pod), for its containers to mount.
   */
  private async startPodInit(): Promise<void> {
    this.pod = startProc(['ip', 'netns', 'exec', this.proxyNs, 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child', '--',
      'sleep', 'infinity']);
    const deadline = Date.now() + 5_000;
    while ((this.podInit = childrenOf(this.pod.child.pid!)[0]) === undefined) {
      if (Date.now() > deadline) throw new Error(`the pod's process namespace did not start: ${this.pod.output.join('')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.options.spec.emptyDirPaths.forEach((path, i) => {
      const source = join(this.dir, `pod-emptydir-${i}`);
      mkdirSync(source);
      run(['nsenter', `--target=${this.podInit}`, '--mount', '--', 'mount', '-t', 'tmpfs', '-o', 'size=64m,mode=0777', 'tmpfs', source]);
      this.podEmptyDirs.set(path, source);
    });
  }

  /** Starts a container beside nginx (in the pod's shared process namespace); its output is `sidecarOutput(name)`. */
  private startSidecar(c: SidecarContainer): void {
    this.sidecars.set(c.name, startProc(this.containerCommand({ ...c, emptyDirPaths: c.emptyDirPaths ?? [], emptyDirsReadOnly: true })));
  }

  /** Starts the service in the app namespace on its container port. */
  async startService(): Promise<void> {
    const { spec, serviceMain } = this.options;
    this.service = startProc(['ip', 'netns', 'exec', this.appNs, process.execPath, serviceMain],
      { ...process.env, PORT: String(spec.appTargetPort), HOST: '0.0.0.0' });
    await waitFor200(this.directUrl('/readyz'), 10_000, () => this.service!.output.join(''));
  }

  /**
   * Makes the stub cluster DNS answer the upstream's name with `ip` (as after a re-created Service), or NXDOMAIN
   * (undefined: as while the Service is deleted).
   */
  setUpstreamAddress(ip: string | undefined): void {
    this.dns!.set(this.options.spec.upstreamHost, ip);
  }

  /** Makes the stub cluster DNS answer the fallback's name (the headless Service's) with each of `ips`. */
  setFallbackAddresses(ips: readonly string[]): void {
    const host = this.options.spec.fallbackHost;
    if (!host) throw new Error('setFallbackAddresses: the config under test has no fallback upstream');
    this.dns!.set(host, ips);
  }

  /**
   * Gives the app pod `ip` too, where every connection is reset: a pod whose process just died (its network
   * namespace stays, nothing listens).
   */
  addDeadPodAddress(ip: string): void {
    this.addAppAddress(ip);
    run(['ip', 'netns', 'exec', this.appNs, 'iptables', '-A', 'INPUT', '-d', `${ip}/32`, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
  }

  /** DNS queries the stub cluster DNS answered so far. */
  get dnsQueries(): number {
    return this.dns?.queries ?? 0;
  }

  /**
   * Gives the app pod `ip` as well, on its link to the proxy, as a re-created Service gets a new ClusterIP: the proxy
   * pod routes it to the app.
   */
  addAppAddress(ip: string): void {
    run(['ip', '-n', this.appNs, 'addr', 'add', `${ip}/32`, 'dev', `nc${this.id}a2`]);
    run(['ip', '-n', this.proxyNs, 'route', 'add', `${ip}/32`, 'dev', `nc${this.id}p2`]);
    // The way back to the proxy pod's end of the link stays when the old address (and its /30) goes.
    run(['ip', '-n', this.appNs, 'route', 'replace', `${this.subnet}.9/32`, 'dev', `nc${this.id}a2`]);
  }

  /** Takes the app pod's address the proxy reached it at away (the old ClusterIP of a deleted Service), or gives it back. */
  setOldAppAddress(present: boolean): void {
    run(['ip', '-n', this.appNs, 'addr', present ? 'add' : 'del', `${this.appIpFromProxy}/30`, 'dev', `nc${this.id}a2`]);
  }

  /** Stops the service (SIGTERM, as the kubelet does) and waits for it to exit. */
  async stopService(): Promise<void> {
    if (!this.service) return;
    killGroup(this.service, 'SIGTERM');
    await exited(this.service);
    this.service = undefined;
  }

  /**
   * Starts nginx in the proxy namespace the way the pod runs it: the container's command, as its user, the config
   * at the pod's mount path, read-only root, tmpfs at the pod's emptyDir paths. Another config (a baseline) can run
   * beside it on another port.
   */
  async startNginx(conf: string, port: number, extraArgs: string[] = [], mounts: ReadOnlyMount[] = []): Promise<number> {
    const instance = this.nginxes.length;
    if (this.pod !== undefined && instance > 0) throw new Error('a pod with sidecars runs one nginx: a second would share its emptyDirs');
    const proc = startProc(this.podCommand(conf, `nginx-${instance}`, extraArgs, mounts));
    this.nginxes.push(proc);
    await waitFor200(this.proxyUrl(this.options.spec.proxyHealthPath, port), 10_000, () => proc.output.join(''))
      .catch(async (e) => {
        // A baseline config may have no health path: any answer from nginx itself then means it is up.
        if (port === this.options.spec.proxyPort) throw e;
        await waitFor200(this.proxyUrl('/square-root/4', port), 10_000, () => proc.output.join(''));
      });
    return instance;
  }

  /** Runs `nginx -t` on the dist/ config as mounted in the pod; returns its exit code and output. */
  async nginxTest(): Promise<{ code: number | null; output: string }> {
    return runToExit(this.podCommand(this.options.spec.nginxConf, 'nginx-test', ['-t'], this.options.mounts));
  }

  /** Runs `command` in a sidecar's container, as an exec probe or `kubectl exec` would; returns its exit code and output. */
  async execInSidecar(name: string, command: string[]): Promise<{ code: number | null; output: string }> {
    const c = this.options.sidecars?.find((s) => s.name === name);
    if (!c) throw new Error(`no sidecar "${name}" in this stack`);
    return runToExit(this.containerCommand({ ...c, command, emptyDirPaths: c.emptyDirPaths ?? [], emptyDirsReadOnly: true }));
  }

  /** Stops everything and removes every namespace, file and process the stack made. */
  async stop(): Promise<void> {
    await this.stopService();
    this.sidecars.forEach((s) => killGroup(s, 'SIGTERM'));
    this.nginxes.forEach((n, i) => {
      // In a shared process namespace the group leader is nsenter, which must not get nginx's SIGQUIT.
      const master = this.pod === undefined ? undefined : this.nginxMasterPid(i);
      if (master === undefined) {
        killGroup(n, 'SIGQUIT');
      } else {
        try {
          process.kill(master, 'SIGQUIT');
        } catch {
          // already gone
        }
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.nginxes.map(exited)), new Promise((r) => { timer = setTimeout(r, 2_000); })]);
    clearTimeout(timer);
    this.destroySync();
  }

  /** Synchronous cleanup, safe to call more than once (also run on process exit). */
  destroySync(): void {
    killGroup(this.service);
    this.dns?.stop().catch(() => undefined);
    this.dns = undefined;
    this.nginxes.forEach((n) => killGroup(n));
    this.sidecars.forEach((s) => killGroup(s));
    // unshare --kill-child: the pod's PID 1 goes too, and with it every process left in its namespace.
    killGroup(this.pod);
    for (const ns of [this.appNs, this.proxyNs]) {
      try {
        run(['ip', 'netns', 'del', ns]);
      } catch {
        // not created, or already removed
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  private createNetwork(): void {
    const { upstreamHost, resolver } = this.options.spec;
    const links: Array<[string, string | undefined, string, string, string]> = [
      // [root-side or proxy-side name, its namespace (undefined = root), peer name, peer namespace, /30 base]
      [`nc${this.id}r1`, undefined, `nc${this.id}p1`, this.proxyNs, '0'],
      [`nc${this.id}r2`, undefined, `nc${this.id}a1`, this.appNs, '4'],
      [`nc${this.id}p2`, this.proxyNs, `nc${this.id}a2`, this.appNs, '8'],
    ];
    run(['ip', 'netns', 'add', this.proxyNs]);
    run(['ip', 'netns', 'add', this.appNs]);
    for (const ns of [this.proxyNs, this.appNs]) run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    for (const [a, aNs, b, bNs, base] of links) {
      run(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      if (aNs) run(['ip', 'link', 'set', a, 'netns', aNs]);
      run(['ip', 'link', 'set', b, 'netns', bNs]);
      const inNs = (ns: string | undefined) => (ns ? ['ip', '-n', ns] : ['ip']);
      run([...inNs(aNs), 'addr', 'add', `${this.subnet}.${Number(base) + 1}/30`, 'dev', a]);
      run([...inNs(bNs), 'addr', 'add', `${this.subnet}.${Number(base) + 2}/30`, 'dev', b]);
      run([...inNs(aNs), 'link', 'set', a, 'up']);
      run([...inNs(bNs), 'link', 'set', b, 'up']);
    }
    // A proxy without upstream keep-alive (the tutorial's baseline) opens a connection per request: let it reuse
    // TIME_WAIT ports and use the whole port range, as busy proxies are tuned, so the baseline is not starved of
    // ports in a long run. These settings exist only inside the test namespace.
    run(['ip', 'netns', 'exec', this.proxyNs, 'sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000']);
    mkdirSync(`/etc/netns/${this.proxyNs}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.proxyNs}/hosts`,
      `127.0.0.1 localhost\n${this.appIpFromProxy} ${upstreamHost}\n${resolver ? `${this.dnsIp} ${resolver}\n` : ''}`);
  }

  /** The command line that runs `nginx` (the container's command plus `extraArgs`) as the pod would. */
  private podCommand(conf: string, name: string, extraArgs: string[], mounts: ReadOnlyMount[] = []): string[] {
    const { spec } = this.options;
    const confDir = join(this.dir, name);
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, spec.configFile), conf);
    return this.containerCommand({
      command: [...spec.command, ...extraArgs], runAsUser: spec.runAsUser, runAsGroup: spec.runAsGroup,
      // The ConfigMap first, then other read-only volumes (a Secret).
      mounts: [{ source: confDir, target: spec.configMountPath }, ...mounts],
      emptyDirPaths: spec.emptyDirPaths, pathDir: dirname(nginxCommand()),
    });
  }

  /**
   * The command line that runs a container of the proxy pod: its command, as its user, in the pod's network namespace
   * (and process namespace, when shared), with a read-only root, its volumes read-only at their mount paths and tmpfs
   * at its emptyDir paths.
   */
  private containerCommand(c: ContainerRun): string[] {
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    for (const { target } of c.mounts) {
      const parent = dirname(target);
      if (existsSync(target) === false && ['/', '/etc', '/usr', '/var'].includes(parent)) {
        throw new Error(`cannot model the mount ${target}: its parent ${parent} would have to be hidden`);
      }
    }
    const script = [
      'set -e',
      // The pod's root filesystem is read-only.
      'mount -o remount,bind,ro /',
      // Each volume, read-only, at its mount path; one that does not exist gets a tmpfs over its parent (once: a
      // second volume beside it is made in that tmpfs).
      ...c.mounts.flatMap((m) => [
        `if [ ! -d ${q(m.target)} ] && ! mkdir -p ${q(m.target)} 2>/dev/null; then mount -t tmpfs -o size=1m,mode=0755 tmpfs ${q(dirname(m.target))}; mkdir -p ${q(m.target)}; fi`,
        `mount --bind ${q(m.source)} ${q(m.target)}`,
        `mount -o remount,bind,ro ${q(m.target)}`,
      ]),
      // emptyDirs: the only writable places. The pod's own when it has them, else one tmpfs for this container.
      ...c.emptyDirPaths.flatMap((p) => {
        const shared = this.podEmptyDirs.get(p);
        if (shared === undefined) {
          if (c.emptyDirsReadOnly) throw new Error(`emptyDir ${p} is not one of nginx's: ${[...this.podEmptyDirs.keys()].join(', ')}`);
          return [`mount -t tmpfs -o size=64m,mode=0777 tmpfs ${q(p)}`];
        }
        return [`mount --bind ${q(shared)} ${q(p)}`, ...(c.emptyDirsReadOnly ? [`mount -o remount,bind,ro ${q(p)}`] : [])];
      }),
      // The machine's setpriv, whatever PATH then finds (busybox has one of its own).
      'setpriv=$(command -v setpriv)',
      ...(c.pathDir ? [`export PATH=${q(c.pathDir)}:"$PATH"`] : []),
      `exec "$setpriv" --reuid=${c.runAsUser} --regid=${c.runAsGroup} --clear-groups -- "$@"`,
    ].join('\n');
    // Into the pod: its network namespace, or, when its containers share one, its process namespace too (nsenter
    // forks: its child is the container's process).
    const into = this.podInit === undefined
      ? ['ip', 'netns', 'exec', this.proxyNs]
      : ['nsenter', `--target=${this.podInit}`, '--net', '--pid', '--mount', '--'];
    return [...into, 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...c.command];
  }
}
