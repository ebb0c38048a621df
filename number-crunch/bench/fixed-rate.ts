import { execFile } from 'node:child_process';

/** A bounded fixed-rate run of bench/go-reference/fixedrate. */
export interface FixedRateOptions {
  /** The fixedrate binary (built by `buildGo('./fixedrate', ...)`). */
  readonly binary: string;
  readonly url: string;
  /** Requests per second. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly connections: number;
  /** Words to run it under, e.g. ['taskset', '-c', '1']. */
  readonly prefix?: readonly string[];
  /** For an https URL: the CA to verify the server against, the name to send (SNI) and verify. */
  readonly tls?: { readonly caFile: string; readonly serverName: string };
  /** A new connection per request (`Connection: close`); over TLS each one a full handshake. @default false */
  readonly newConnectionPerRequest?: boolean;
}

/** What the first TLS connection of a run negotiated. */
export interface NegotiatedTls {
  /** e.g. 'TLSv1.3' */
  readonly version: string;
  readonly cipher: string;
  /** Key exchange group, e.g. 'X25519MLKEM768'; '' when the generator's Go cannot tell (before Go 1.25). */
  readonly group: string;
  /** The server certificate's key, e.g. 'RSA 2048'. */
  readonly certificateKey: string;
}

/** What a fixed-rate run measured; latencies from the time each request was due (no coordinated omission). */
export interface FixedRateResult {
  readonly requests: number;
  readonly errors: number;
  readonly non200: number;
  readonly seconds: number;
  /** Requests per second achieved. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** The generator's own lateness in sending: the floor under the latencies above. */
  readonly sendLagP50Ms: number;
  readonly sendLagP99Ms: number;
  /** Latency from sending to the whole answer. */
  readonly wireP50Ms: number;
  readonly wireP99Ms: number;
  /** Connections opened; over TLS each a handshake. */
  readonly connectionsOpened: number;
  /** Handshakes that resumed a session (the generator keeps none: expected 0). */
  readonly resumed: number;
  /** Over TLS: what was negotiated. */
  readonly tls?: NegotiatedTls;
}

const FIELDS = ['requests', 'errors', 'non200', 'seconds', 'rate', 'p50Ms', 'p90Ms', 'p99Ms', 'p999Ms', 'maxMs',
  'sendLagP50Ms', 'sendLagP99Ms', 'wireP50Ms', 'wireP99Ms', 'connectionsOpened', 'resumed'] as const;
const TLS_FIELDS = ['version', 'cipher', 'group', 'certificateKey'] as const;

/** Reads fixedrate's JSON line; throws on anything missing rather than reading it as zero. */
export function parseFixedRateOutput(out: string): FixedRateResult {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`fixedrate: output is not JSON: ${out.slice(0, 300)}`);
  }
  for (const field of FIELDS) {
    if (typeof parsed[field] !== 'number') throw new Error(`fixedrate: no ${field} in its output: ${out.slice(0, 300)}`);
  }
  const tls = parsed.tls as Record<string, unknown> | undefined;
  for (const field of tls === undefined ? [] : TLS_FIELDS) {
    if (typeof tls![field] !== 'string') throw new Error(`fixedrate: no tls.${field} in its output: ${out.slice(0, 300)}`);
  }
  return parsed as unknown as FixedRateResult;
}

/** The one fixed rate for several targets: half the slowest one's capacity (req/s at saturation), in hundreds. */
export function fixedRateFor(requestsPerSecond: readonly number[]): number {
  return Math.max(100, Math.floor(Math.min(...requestsPerSecond) / 2 / 100) * 100);
}

/** Throws unless every request was sent, answered 200 and no error occurred: a run that fell behind is no figure. */
export function assertFixedRateClean(label: string, r: FixedRateResult, expected: number): void {
  if (r.errors > 0 || r.non200 > 0 || r.requests < expected) {
    throw new Error(`${label}: ${r.requests} of ${expected} requests answered, ${r.non200} non-200, ${r.errors} errors`);
  }
}

/**
 * Throws unless a run with a new connection per request opened one connection for each request and resumed no TLS
 * session: otherwise its CPU per request is not that of a full handshake each.
 */
export function assertNewConnectionPerRequest(label: string, r: FixedRateResult): void {
  if (r.connectionsOpened !== r.requests || r.resumed > 0) {
    throw new Error(`${label}: ${r.connectionsOpened} connections for ${r.requests} requests, ${r.resumed} TLS sessions resumed`);
  }
}

/**
 * Runs the generator; it stops itself after the duration (and by duration + 10 s at the latest). Over TLS it offers
 * the key exchanges of Go 1.24 and later by default (X25519MLKEM768 first, as current browsers do), whatever Go
 * version its module names.
 */
export function runFixedRate(o: FixedRateOptions): Promise<FixedRateResult> {
  const args = ['-url', o.url, '-rate', String(Math.round(o.rate)), '-duration', String(o.durationSeconds), '-connections', String(o.connections),
    ...(o.tls ? ['-ca', o.tls.caFile, '-servername', o.tls.serverName] : []), ...(o.newConnectionPerRequest ? ['-new-connection'] : [])];
  const [command, ...rest] = [...(o.prefix ?? []), o.binary, ...args];
  // The module says go 1.19, which keeps Go's post-quantum key exchange off by default (GODEBUG tlsmlkem=0).
  const env = o.tls ? { ...process.env, GODEBUG: [process.env.GODEBUG, 'tlsmlkem=1'].filter(Boolean).join(',') } : process.env;
  return new Promise((resolve, reject) => {
    execFile(command, rest, { timeout: (o.durationSeconds + 20) * 1000, maxBuffer: 1 << 20, env }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`fixedrate failed: ${error.message}\n${stderr}`));
        return;
      }
      try {
        resolve(parseFixedRateOutput(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}
