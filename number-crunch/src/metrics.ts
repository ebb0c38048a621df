import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Aggregator, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { METRICS_PATH } from '../../contract';

/** Name of the request-duration histogram (OpenTelemetry's `http.server.request.duration`, as Prometheus names it). */
export const REQUEST_DURATION_METRIC = 'http_server_request_duration_seconds';
/**
 * Upper bounds of the histogram's buckets, in seconds: OpenTelemetry's advice for `http.server.request.duration`
 * (5 ms to 10 s) with four finer ones below it, since the service answers in tens of microseconds.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-metrics/#metric-httpserverrequestduration
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
/**
 * The methods OpenTelemetry's `http.request.method` names; any other is `_OTHER`, so the label stays bounded.
 * @see https://opentelemetry.io/docs/specs/semconv/registry/attributes/http/#http-request-method
 */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
/** `http_request_method` of a method outside KNOWN_METHODS, and of a request whose method could not be read. */
export const OTHER_METHOD = '_OTHER';

/** prom-client default metrics left out: gauges whose names end in `_total`, the suffix of counters. */
const REDUNDANT_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Records the duration of one answered request of a fixed method, route and status. */
export interface RequestObserver {
  /** Adds one request that took `seconds`. */
  observe(seconds: number): void;
}

/** The labels of the request-duration histogram. */
type DurationLabels = Readonly<Record<'http_request_method' | 'http_route' | 'http_response_status_code', string | number>>;

/** One sample of a metric as prom-client's registry reads it from `get()`: a series' labels and value. */
interface Sample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** One series of the request-duration histogram: the requests of one method, route and status. */
class DurationSeries implements RequestObserver {
  /** Requests per bucket, not cumulative; the last one holds those above every bound (`+Inf`). */
  readonly counts = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(readonly labels: DurationLabels) {}

  /** Adds one request: a comparison per bucket passed (one for the usual sub-100-us answer), no allocation. */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`request duration is not a finite number of seconds: ${seconds}`);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    this.counts[i] += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

/**
 * `http_server_request_duration_seconds`, kept here rather than in prom-client's Histogram, whose `observe` checks the
 * labels, rebuilds the series' key and allocates on every call, even on a child resolved once: that was most of what
 * the metrics cost per request. prom-client's registry shows it like its own metrics: it reads `name`, `help`, `type`,
 * `aggregator` and `get()`, whose samples here are those prom-client's Histogram gives, in its order (a test compares
 * the two texts).
 */
class DurationHistogram {
  readonly name = REQUEST_DURATION_METRIC;
  readonly help = 'Duration of HTTP server requests.';
  readonly type = 'histogram';
  readonly aggregator: Aggregator = 'sum';
  private readonly series: DurationSeries[] = [];

  /** A new series with `labels`; shown from its first request on, as prom-client does. */
  add(labels: DurationLabels): DurationSeries {
    const series = new DurationSeries(labels);
    this.series.push(series);
    return series;
  }

  /** Called by the registry's `resetMetrics()`: every series back to zero. */
  reset(): void {
    for (const series of this.series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** The samples: per series, the cumulative buckets, `+Inf`, `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: Aggregator; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.series) {
      if (count === 0) continue;
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: count },
        { metricName: `${this.name}_sum`, labels, value: sum },
        { metricName: `${this.name}_count`, labels, value: count },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * The service's Prometheus metrics: `http_server_request_duration_seconds` (labels `http_request_method`,
 * `http_route`, `http_response_status_code`; its `_count` is the number of requests) and prom-client's default
 * process and Node.js metrics, in a registry of their own.
 */
export class RequestMetrics {
  /** The registry `/metrics` shows. */
  readonly registry = new Registry();
  private readonly duration = new DurationHistogram();
  // One series per method, route and status, resolved once per request by three map lookups, without a key string.
  private readonly observers = new Map<string, Map<string, Map<number, RequestObserver>>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (`promtool check metrics` flags them); each is the sum of a gauge kept beside it,
    // by type (`nodejs_active_handles` ...), so nothing is lost.
    for (const name of REDUNDANT_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    // prom-client's types list only its own metric classes; the registry needs no more than DurationHistogram has.
    this.registry.registerMetric(this.duration as unknown as Histogram);
  }

  /** The observer of requests with `method`, answered on `route` (a route template) with `status`. */
  observer(method: string, route: string, status: number): RequestObserver {
    const known = KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
    let byRoute = this.observers.get(known);
    if (byRoute === undefined) this.observers.set(known, byRoute = new Map());
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, byStatus = new Map());
    let observer = byStatus.get(status);
    if (observer === undefined) {
      observer = this.duration.add({ http_request_method: known, http_route: route, http_response_status_code: status });
      byStatus.set(status, observer);
    }
    return observer;
  }
}

/**
 * The metrics listener: `GET /metrics` answers the registry in the Prometheus text format, on a port of its own (the
 * proxy forwards only the service's port, so metrics are never reachable through it).
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly registry: Registry) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Starts listening on `port` (0 picks a free one) and `host` (undefined: every interface); resolves with the address. */
  listen(port: number, host: string | undefined): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', 'Allow': 'GET, HEAD' }).end('method not allowed: use GET\n');
    } else {
      const text = await this.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text);
    }
  }
}
