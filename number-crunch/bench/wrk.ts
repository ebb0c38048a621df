import { execFile } from 'node:child_process';

/** A bounded wrk run. */
export interface WrkOptions {
  /** URL to load. */
  readonly url: string;
  /** Open connections. */
  readonly connections: number;
  /** wrk threads. */
  readonly threads: number;
  /** Length of the run, seconds. */
  readonly durationSeconds: number;
  /** Words to run wrk under, e.g. ['ip', 'netns', 'exec', 'ns1'] to load from inside a network namespace. */
  readonly prefix?: readonly string[];
}

/** What a wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`wrk: cannot read the duration "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Reads wrk's `--latency` report. Throws on a report it cannot read, rather than guessing. */
export function parseWrkOutput(out: string): WrkResult {
  const need = (re: RegExp, what: string) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk: no ${what} in its output:\n${out}`);
    return m;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(need(/(\d+) requests in/, 'request count')[1]),
    requestsPerSecond: Number(need(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')[1]),
    p50Ms: durationMs(need(/^\s+50%\s+(\S+)/m, '50% latency')[1]),
    p99Ms: durationMs(need(/^\s+99%\s+(\S+)/m, '99% latency')[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** Runs wrk for a bounded time and returns its figures (wrk itself stops after `durationSeconds`). */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.durationSeconds}s`, '--latency', o.url];
  const [command, ...rest] = [...(o.prefix ?? []), 'wrk', ...args];
  return new Promise((resolve, reject) => {
    execFile(command, rest, { timeout: (o.durationSeconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new Error(missing ? 'wrk is not installed: apt-get install -y wrk' : `wrk failed: ${error.message}\n${stderr}`));
        return;
      }
      try {
        resolve(parseWrkOutput(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Throws when a run saw any non-2xx response or socket error: a benchmark of failures is no benchmark. */
export function assertClean(label: string, r: WrkResult): void {
  if (r.non2xx > 0 || r.socketErrors > 0 || r.requests === 0) {
    throw new Error(`${label}: ${r.non2xx} non-2xx responses, ${r.socketErrors} socket errors, ${r.requests} requests`);
  }
}

/** Settings shared by the benchmarks, from the environment (bounded defaults). */
export function loadSettings(env: NodeJS.ProcessEnv = process.env) {
  const int = (name: string, fallback: number, max: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
    return value;
  };
  return {
    durationSeconds: int('BENCH_SECONDS', 10, 120),
    connections: int('BENCH_CONNECTIONS', 64, 1024),
    threads: int('BENCH_THREADS', 2, 16),
  };
}
