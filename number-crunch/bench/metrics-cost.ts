// `npm run bench:service`'s metrics-cost section: the service's CPU time per request with its metrics on and off, like
// with like. Both variants are the same compiled server started the same way (metrics-cost-service.ts), on the same
// Node, pinned to the same core, loaded from the other core with the same connections; only the RequestMetrics differ.
// Scenarios: the fast path at saturation on each path and at one fixed rate (half the slower variant's capacity), and
// node:http alone at saturation. Each round starts a fresh pair of processes (a process's JIT and heap settle their own
// way and move its figures for as long as it lives, so one pair is one sample), warms both up, then measures each
// scenario with one on and one off run back to back, the order swapped every round, so a change in the machine's load
// falls on both. A round's figure is on / off; a scenario's cost is the median of its rounds.
import { cpus } from 'node:os';
import { get } from 'node:http';
import { FAST_PATH_ENV } from '../../contract';
import { startService } from '../test/service-process';
import { assertFixedRateClean, fixedRateFor, runFixedRate } from './fixed-rate';
import { benchTools } from './go-comparison';
import { METRICS_COST_SERVICE, VARIANT_ENV } from './metrics-cost-service';
import { cpuUsPerRequest, withCpu } from './proc';
import { assertClean, runWrk } from './wrk';

/** The bound of issue "Enforced and observable": the metrics add at most 10% to the service's CPU per request. */
export const METRICS_COST_BOUND = 0.1;
// Per variant and path, after each start: enough requests (tens of thousands) for the JIT to settle.
const WARMUP_SECONDS = 1;

/** Settings of the section. */
export interface MetricsCostSettings {
  readonly connections: number;
  readonly threads: number;
  /** Length of each measured run, seconds. */
  readonly runSeconds: number;
  /** Rounds: fresh pairs of processes, one on/off pair of runs per scenario each. */
  readonly rounds: number;
  /** Endpoint paths to load at saturation; the fixed-rate and node:http scenarios use the first. */
  readonly paths: readonly string[];
}

/**
 * The section's settings: BENCH_METRICS_ROUNDS rounds (default 7), each a fresh pair of processes with one run per
 * variant and scenario, each run a tenth of BENCH_SECONDS long (1 s by default, at least 1 s). Many short rounds rather
 * than few long ones: a process's own speed, which only a new pair samples again, varies more than a run's.
 */
export function metricsCostSettings(durationSeconds: number, env: NodeJS.ProcessEnv = process.env): Pick<MetricsCostSettings, 'rounds' | 'runSeconds'> {
  const text = env.BENCH_METRICS_ROUNDS ?? '7';
  const rounds = Number(text);
  if (!/^\d+$/.test(text) || rounds < 1 || rounds > 30) throw new Error(`BENCH_METRICS_ROUNDS is "${text}": set it to an integer from 1 to 30 (default 7)`);
  return { rounds, runSeconds: Math.max(1, Math.round(durationSeconds / 10)) };
}

/** The CPU microseconds per request of one round: one run with metrics, one without. */
export interface Round {
  readonly on: number;
  readonly off: number;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values: a scenario needs at least one round (BENCH_METRICS_ROUNDS)');
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A scenario's figures: the medians of the on and off runs, and the median of the rounds' on / off ratios. */
export interface Cost {
  readonly onUs: number;
  readonly offUs: number;
  readonly ratio: number;
}

/** The cost of the metrics from a scenario's rounds. */
export function costOf(rounds: readonly Round[]): Cost {
  return {
    onUs: median(rounds.map((r) => r.on)),
    offUs: median(rounds.map((r) => r.off)),
    ratio: median(rounds.map((r) => r.on / r.off)),
  };
}

/** True when the metrics add at most `bound` (0.1: 10%) to the CPU per request. */
export function withinBound(ratio: number, bound: number = METRICS_COST_BOUND): boolean {
  return ratio <= 1 + bound;
}

/** The order of the variants in round `i`: on first in even rounds, off first in odd ones. */
export function roundOrder(i: number): ReadonlyArray<'on' | 'off'> {
  return i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
}

/** One scenario's rounds and what they cost. */
export interface ScenarioCost {
  readonly label: string;
  readonly rounds: readonly Round[];
  readonly cost: Cost;
}

/** The whole section. */
export interface MetricsCost {
  readonly scenarios: readonly ScenarioCost[];
  readonly fixedRate: number;
  /** Requests the variants with metrics counted in their histogram, and those they answered in the runs. */
  readonly counted: { readonly histogram: number; readonly answered: number };
}

/** The section as a Markdown table, one row per scenario, with PASS/FAIL against the bound. */
export function formatMetricsCost(m: MetricsCost, bound: number = METRICS_COST_BOUND): string[] {
  const rows = m.scenarios.map(({ label, rounds, cost }) => {
    const runs = rounds.map((r) => `${r.on.toFixed(2)}/${r.off.toFixed(2)}`).join(', ');
    const added = `${cost.ratio >= 1 ? '+' : ''}${((cost.ratio - 1) * 100).toFixed(1)}%`;
    return `| ${label} | ${cost.onUs.toFixed(2)} | ${cost.offUs.toFixed(2)} | ${cost.ratio.toFixed(3)} (${added}) | ${runs} | ${withinBound(cost.ratio, bound) ? 'PASS' : 'FAIL'} |`;
  });
  return [
    `| metrics on vs off, CPU-us per request | on (median) | off (median) | on / off (median of rounds) | rounds, on/off | at most +${(bound * 100).toFixed(0)}% |`,
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...rows,
  ];
}

/** A variant of the service, running. */
interface Variant {
  readonly pid: number;
  readonly port: number;
  readonly metricsPort?: number;
  /** Requests it answered so far in the runs (warm-ups included). */
  answered: number;
  stop(): Promise<void>;
}

/** A pair of variants: the same server with metrics and without. */
type Pair = Readonly<Record<'on' | 'off', Variant>>;

/** One run against a variant: its CPU microseconds per request and the rate it answered at. */
type Run = (v: Variant) => Promise<{ readonly us: number; readonly rps: number }>;

async function startVariant(variant: 'on' | 'off', fastPath: boolean, cpu: string): Promise<Variant> {
  const env = { [VARIANT_ENV]: variant, [FAST_PATH_ENV]: fastPath ? '1' : '0' };
  const service = await startService(env, ['taskset', '-c', cpu, process.execPath, '--import', 'tsx'], METRICS_COST_SERVICE);
  const { metricsPort } = service.lines.find((l) => l.msg === 'listening')!;
  return {
    pid: service.child.pid!, port: service.port, metricsPort: metricsPort as number | undefined, answered: 0,
    stop: async () => { service.child.kill('SIGTERM'); await service.exited; },
  };
}

/** The `_count` of the request-duration histogram, summed over its series, from a variant's metrics listener. */
function histogramCount(metricsPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: metricsPort, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        const counts = [...text.matchAll(/^http_server_request_duration_seconds_count\{.*\} (\S+)$/gm)];
        resolve(counts.reduce((sum, m) => sum + Number(m[1]), 0));
      });
    }).on('error', reject);
  });
}

/** Measures the section: in each round a fresh pair with the fast path, then a fresh pair with node:http alone. */
export async function measureMetricsCost(s: MetricsCostSettings, log: (line: string) => void = console.log): Promise<MetricsCost> {
  const serverCpu = '0';
  const load = ['taskset', '-c', cpus().length > 1 ? '1' : '0'];
  const { fixedRate: fixedRateBinary } = benchTools();
  const counted = { histogram: 0, answered: 0 };
  // Each scenario's rounds, by label, in the order they are first measured.
  const byScenario = new Map<string, Round[]>();

  /** A run of `durationSeconds` at saturation (wrk) on `path`. */
  const saturation = (path: string) => (durationSeconds: number): Run => async (v) => {
    const { result, cpuSeconds } = await withCpu([v.pid], () => runWrk({
      url: `http://127.0.0.1:${v.port}${path}`, connections: s.connections, threads: s.threads, durationSeconds, prefix: load,
    }));
    assertClean(`metrics cost, port ${v.port} ${path}`, result);
    v.answered += result.requests;
    return { us: cpuUsPerRequest(cpuSeconds, result.requests), rps: result.requestsPerSecond };
  };
  /** A run of `durationSeconds` at `rate` requests per second on `path`. */
  const fixed = (path: string, rate: number) => (durationSeconds: number): Run => async (v) => {
    const { result, cpuSeconds } = await withCpu([v.pid], () => runFixedRate({
      binary: fixedRateBinary, url: `http://127.0.0.1:${v.port}${path}`, rate, durationSeconds, connections: s.connections, prefix: load,
    }));
    assertFixedRateClean(`metrics cost, port ${v.port} at ${rate} req/s`, result, rate * durationSeconds);
    v.answered += result.requests;
    return { us: cpuUsPerRequest(cpuSeconds, result.requests), rps: result.rate };
  };
  /** Round `i` of scenario `label`: one run on each variant, in the round's order; logged. Returns both rates. */
  const measure = async (i: number, label: string, pair: Pair, run: (durationSeconds: number) => Run) => {
    const us = { on: 0, off: 0 };
    const rps = { on: 0, off: 0 };
    for (const variant of roundOrder(i)) {
      const r = await run(s.runSeconds)(pair[variant]);
      us[variant] = r.us;
      rps[variant] = r.rps;
    }
    if (!byScenario.has(label)) byScenario.set(label, []);
    byScenario.get(label)!.push(us);
    log(`  metrics cost, round ${i + 1}, ${label}: on ${us.on.toFixed(2)}, off ${us.off.toFixed(2)} CPU-us/request (${(us.on / us.off).toFixed(3)})`);
    return rps;
  };
  /**
   * Starts a fresh pair, warms both up with each of `warmUp`, runs `body`, checks the variant with metrics counted every
   * request it answered, and stops both.
   */
  const withPair = async (i: number, fastPath: boolean, warmUp: ReadonlyArray<(durationSeconds: number) => Run>, body: (pair: Pair) => Promise<void>) => {
    const started: Variant[] = [];
    try {
      for (const variant of roundOrder(i)) started.push(await startVariant(variant, fastPath, serverCpu));
      const on = started.find((v) => v.metricsPort !== undefined);
      const off = started.find((v) => v.metricsPort === undefined);
      if (on === undefined || off === undefined) {
        throw new Error(`metrics cost: one variant must serve metrics and the other none (metrics ports ${started.map((v) => v.metricsPort).join(', ')}): check metrics-cost-service.ts`);
      }
      for (const run of warmUp) for (const v of started) await run(WARMUP_SECONDS)(v);
      await body({ on, off });
      counted.histogram += await histogramCount(on.metricsPort!);
      counted.answered += on.answered;
    } finally {
      await Promise.all(started.map((v) => v.stop()));
    }
  };

  let fixedRate = 0;
  const [first] = s.paths;
  for (let i = 0; i < s.rounds; i++) {
    await withPair(i, true, s.paths.map(saturation), async (pair) => {
      for (const path of s.paths) {
        const rps = await measure(i, `fast path, saturation, ${path}`, pair, saturation(path));
        // One fixed rate for every round: half the slower variant's capacity on the first path in the first round.
        if (i === 0 && path === first) fixedRate = fixedRateFor([rps.on, rps.off]);
      }
      await measure(i, `fast path, ${fixedRate} req/s, ${first}`, pair, fixed(first, fixedRate));
    });
    await withPair(i, false, [saturation(first)], async (pair) => {
      await measure(i, `node:http only, saturation, ${first}`, pair, saturation(first));
    });
  }
  // Every answered request was counted; a run's last requests may be counted and not answered before it stopped.
  if (counted.histogram < counted.answered) {
    throw new Error(`metrics cost: the variants with metrics counted ${counted.histogram} of the ${counted.answered} requests they answered: the "on" figures miss the metrics' work; check metrics-cost-service.ts`);
  }
  const scenarios = [...byScenario].map(([label, rounds]) => ({ label, rounds, cost: costOf(rounds) }));
  return { scenarios, fixedRate, counted };
}
