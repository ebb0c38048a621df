// `npm run bench:service`'s metrics-cost section: the service's CPU time per request with its metrics on and off, like
// with like. Both variants are the same compiled server started the same way (metrics-cost-service.ts), on the same
// Node, pinned to the same core, loaded from the other core with the same connections; only the RequestMetrics differ.
// Each scenario starts with an uncounted warm-up run of each, then runs in rounds of one on and one off run back to back,
// the order swapped every round, so a change in the machine's load falls on both; a round's ratio is on / off, and the
// scenario's cost is the median of its rounds. Scenarios: the fast path at saturation on each path, the fast path at
// one fixed rate (half the slower variant's capacity), node:http alone at saturation.
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
const WARMUP_SECONDS = 2;

/** Settings of the section. */
export interface MetricsCostSettings {
  readonly connections: number;
  readonly threads: number;
  /** Length of each measured run, seconds. */
  readonly runSeconds: number;
  /** On/off pairs per scenario. */
  readonly rounds: number;
  /** Endpoint paths to load at saturation; the fixed-rate and node:http scenarios use the first. */
  readonly paths: readonly string[];
}

/**
 * The section's settings: BENCH_METRICS_ROUNDS on/off pairs per scenario (default 4, an even count, so each variant
 * goes first equally often), each run 0.3 of BENCH_SECONDS long (3 s by default, at least 1 s).
 */
export function metricsCostSettings(durationSeconds: number, env: NodeJS.ProcessEnv = process.env): Pick<MetricsCostSettings, 'rounds' | 'runSeconds'> {
  const text = env.BENCH_METRICS_ROUNDS ?? '4';
  const rounds = Number(text);
  if (!/^\d+$/.test(text) || rounds < 1 || rounds > 20) throw new Error(`BENCH_METRICS_ROUNDS is "${text}": set it to an integer from 1 to 20 (default 4)`);
  return { rounds, runSeconds: Math.max(1, Math.round(durationSeconds * 0.3)) };
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

/** Measures the section: the fast path at saturation on each path and at a fixed rate, then node:http at saturation. */
export async function measureMetricsCost(s: MetricsCostSettings, log: (line: string) => void = console.log): Promise<MetricsCost> {
  const serverCpu = '0';
  const load = ['taskset', '-c', cpus().length > 1 ? '1' : '0'];
  const { fixedRate: fixedRateBinary } = benchTools();
  const counted = { histogram: 0, answered: 0 };
  const scenarios: ScenarioCost[] = [];

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
  /**
   * A scenario: an uncounted warm-up run on each variant (the load changed, so the JIT and GC settle again), then the
   * rounds, logged as they end. Returns the median rate each variant answered at.
   */
  const scenario = async (label: string, pair: Pair, run: (durationSeconds: number) => Run) => {
    for (const variant of roundOrder(0)) await run(WARMUP_SECONDS)(pair[variant]);
    const rounds: Round[] = [];
    const rps = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < s.rounds; i++) {
      const us = { on: 0, off: 0 };
      for (const variant of roundOrder(i)) {
        const r = await run(s.runSeconds)(pair[variant]);
        us[variant] = r.us;
        rps[variant].push(r.rps);
      }
      rounds.push(us);
      log(`  metrics cost, ${label}, round ${i + 1}: on ${us.on.toFixed(2)}, off ${us.off.toFixed(2)} CPU-us/request (${(us.on / us.off).toFixed(3)})`);
    }
    scenarios.push({ label, rounds, cost: costOf(rounds) });
    return { on: median(rps.on), off: median(rps.off) };
  };
  /** Starts a pair, runs `body`, checks the variant with metrics counted every request it answered, stops both. */
  const withPair = async (fastPath: boolean, body: (pair: Pair) => Promise<void>) => {
    const started: Variant[] = [];
    try {
      for (const variant of ['on', 'off'] as const) started.push(await startVariant(variant, fastPath, serverCpu));
      const [on, off] = started;
      if (on.metricsPort === undefined || off.metricsPort !== undefined) {
        throw new Error(`metrics cost: the on variant must serve metrics and the off one none (metrics ports ${on.metricsPort}, ${off.metricsPort}): check metrics-cost-service.ts`);
      }
      await body({ on, off });
      counted.histogram += await histogramCount(on.metricsPort);
      counted.answered += on.answered;
    } finally {
      await Promise.all(started.map((v) => v.stop()));
    }
  };

  let fixedRate = 0;
  const [first, ...others] = s.paths;
  await withPair(true, async (pair) => {
    const capacity = await scenario(`fast path, saturation, ${first}`, pair, saturation(first));
    for (const path of others) await scenario(`fast path, saturation, ${path}`, pair, saturation(path));
    // One fixed rate for both: half the slower one's capacity on the first path.
    fixedRate = fixedRateFor([capacity.on, capacity.off]);
    await scenario(`fast path, ${fixedRate} req/s, ${first}`, pair, fixed(first, fixedRate));
  });
  await withPair(false, async (pair) => {
    await scenario(`node:http only, saturation, ${first}`, pair, saturation(first));
  });
  // Every answered request was counted; a run's last requests may be counted and not answered before it stopped.
  if (counted.histogram < counted.answered) {
    throw new Error(`metrics cost: the variants with metrics counted ${counted.histogram} of the ${counted.answered} requests they answered: the "on" figures miss the metrics' work; check metrics-cost-service.ts`);
  }
  return { scenarios, fixedRate, counted };
}
