// The cost of TLS at the proxy, from nginx's CPU time per request (`npm run bench`): the arithmetic and the report,
// apart from the runs that measure it (bench/bench.ts).

/** Target of the issue "Ready for the public Internet": HTTPS keep-alive costs nginx at most this times plain HTTP. */
export const HTTPS_KEEPALIVE_MAX_RATIO = 1.3;

/** nginx's CPU microseconds per request, measured at fixed rates through the chart's config. */
export interface NginxCpuPerRequest {
  /** Plain HTTP/1.1 over keep-alive connections, at the fixed rate. */
  readonly plainKeepAlive: number;
  /** HTTP/1.1 over TLS over keep-alive connections, at the same rate. */
  readonly httpsKeepAlive: number;
  /** Plain HTTP/1.1, a new connection per request, at the handshake rate. */
  readonly plainNewConnection: number;
  /** HTTPS, a new connection and full TLS handshake per request, at the handshake rate. */
  readonly httpsNewConnection: number;
}

/** What TLS costs nginx. */
export interface TlsCost {
  /** HTTPS keep-alive / plain HTTP keep-alive, CPU per request. */
  readonly keepAliveRatio: number;
  /** CPU-us a full handshake adds: a new HTTPS connection's request minus a new plain connection's. */
  readonly handshakeUs: number;
  /** New HTTPS connections (one request each) a second of nginx CPU serves: one worker's ceiling for such traffic. */
  readonly newHttpsConnectionsPerCpuSecond: number;
}

/** TLS's cost from the four figures; throws on a figure that is not a positive number (a run that measured nothing). */
export function tlsCost(us: NginxCpuPerRequest): TlsCost {
  for (const [name, value] of Object.entries(us)) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`nginx CPU per request, ${name}: ${value} is no measurement`);
  }
  return {
    keepAliveRatio: us.httpsKeepAlive / us.plainKeepAlive,
    handshakeUs: us.httpsNewConnection - us.plainNewConnection,
    newHttpsConnectionsPerCpuSecond: 1e6 / us.httpsNewConnection,
  };
}

/** The keep-alive target as a row of the benchmark's checks: what, the figure, and whether it passed. */
export function keepAliveCheck(cost: TlsCost, max = HTTPS_KEEPALIVE_MAX_RATIO): [string, string, boolean] {
  return ['nginx CPU per request, HTTPS / plain HTTP (keep-alive)', `${cost.keepAliveRatio.toFixed(2)}x (target <= ${max}x)`,
    cost.keepAliveRatio <= max];
}

/** One fixed-rate run of the TLS part. */
export interface TlsRun {
  readonly label: string;
  /** Requests per second achieved. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** nginx's CPU microseconds per request. */
  readonly nginxUs: number;
}

/** The TLS part's table (Markdown) and the handshake's cost in words. */
export function formatTlsReport(runs: readonly TlsRun[], cost: TlsCost, negotiated: string): string[] {
  return [
    `| nginx, the chart's config (${negotiated}) | req/s | p50 ms | p99 ms | nginx CPU-us per request |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...runs.map((r) => `| ${r.label} | ${r.rate.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.nginxUs.toFixed(1)} |`),
    '',
    `HTTPS keep-alive costs nginx ${cost.keepAliveRatio.toFixed(2)}x plain HTTP's CPU per request.`,
    `A full TLS handshake costs nginx ${cost.handshakeUs.toFixed(0)} CPU-us (a new HTTPS connection's request minus a new plain one's):`
      + ` one nginx worker, a whole core, serves about ${(Math.floor(cost.newHttpsConnectionsPerCpuSecond / 10) * 10).toFixed(0)} new HTTPS connections per second.`,
  ];
}
