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
 *         │                                   │          read-only root, tmpfs where the pod has emptyDirs)
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
  for (const tool of ['ip', 'unshare', 'setpriv', 'mount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install -y iproute2 util-linux mount)`;
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

/** Options of `NetnsStack.start`. */
export interface NetnsStackOptions {
  /** The proxy pod, read from dist/. */
  readonly spec: ProxyStackSpec;
  /** The compiled service's entry point. */
  readonly serviceMain: string;
  /** Read-only volumes of the proxy pod besides its config (e.g. the TLS Secret). @default - none */
  readonly mounts?: ReadOnlyMount[];
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
      await stack.startNginx(options.spec.nginxConf, options.spec.proxyPort, [], options.mounts);
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

  /** pids of one nginx instance (0: the one from dist/), master and workers. */
  nginxPids(instance = 0): number[] {
    const masters = [this.nginxes[instance]?.child.pid].filter((p): p is number => p !== undefined);
    const children = masters.flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
    return [...masters, ...children];
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
    const proc = startProc(this.podCommand(this.options.spec.nginxConf, 'nginx-test', ['-t'], this.options.mounts));
    const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
    await new Promise((r) => setImmediate(r));
    return { code, output: proc.output.join('') };
  }

  /** Stops everything and removes every namespace, file and process the stack made. */
  async stop(): Promise<void> {
    await this.stopService();
    this.nginxes.forEach((n) => killGroup(n, 'SIGQUIT'));
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
    const mountPath = spec.configMountPath;
    const parent = dirname(mountPath);
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    if (existsSync(mountPath) === false && ['/', '/etc', '/usr', '/var'].includes(parent)) {
      throw new Error(`cannot model the config mount ${mountPath}: its parent ${parent} would have to be hidden`);
    }
    const script = [
      'set -e',
      // The pod's root filesystem is read-only.
      'mount -o remount,bind,ro /',
      // The ConfigMap, read-only, at the pod's mount path (a tmpfs over the parent when the path does not exist).
      `if [ ! -d ${q(mountPath)} ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs ${q(parent)}; mkdir -p ${q(mountPath)}; fi`,
      `mount --bind ${q(confDir)} ${q(mountPath)}`,
      `mount -o remount,bind,ro ${q(mountPath)}`,
      // Other read-only volumes (a Secret): beside the config, under the tmpfs made for it when that was needed.
      ...mounts.flatMap((m) => [`mkdir -p ${q(m.target)}`, `mount --bind ${q(m.source)} ${q(m.target)}`, `mount -o remount,bind,ro ${q(m.target)}`]),
      // emptyDirs: the only writable places.
      ...spec.emptyDirPaths.map((p) => `mount -t tmpfs -o size=64m,mode=0777 tmpfs ${q(p)}`),
      `export PATH=${q(dirname(nginxCommand()))}:"$PATH"`,
      `exec setpriv --reuid=${spec.runAsUser} --regid=${spec.runAsGroup} --clear-groups -- "$@"`,
    ].join('\n');
    return ['ip', 'netns', 'exec', this.proxyNs, 'unshare', '--mount', '--propagation', 'private', '--',
      'sh', '-c', script, 'sh', ...spec.command, ...extraArgs];
  }
}
