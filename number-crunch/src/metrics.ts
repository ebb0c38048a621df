import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { METRICS_PATH } from '../../contract';

/** Name of the request-duration histogram (OpenTelemetry's `http.server.request.duration`, as Prometheus names it). */
export const REQUEST_DURATION_METRIC = 'http_server_request_duration_seconds';
/**
 * Upper bounds of the histogram's buckets, in seconds: OpenTelemetry's advice for `http.server.request.duration`
 * (5 ms to 10 s) with four finer ones below it, since the service answers in tens of microseconds.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-metrics/#metric-httpserverrequestduration
 */
export const DURATION_BUCKETS = [
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

/**
 * The service's Prometheus metrics: `http_server_request_duration_seconds` (labels `http_request_method`,
 * `http_route`, `http_response_status_code`; its `_count` is the number of requests) and prom-client's default
 * process and Node.js metrics, in a registry of their own.
 */
export class RequestMetrics {
  /** The registry `/metrics` shows. */
  readonly registry = new Registry();
  private readonly duration: Histogram<'http_request_method' | 'http_route' | 'http_response_status_code'>;
  // One prom-client child per method, route and status, resolved once: labels() validates and builds its key each call.
  private readonly observers = new Map<string, Map<string, Map<number, RequestObserver>>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (`promtool check metrics` flags them); each is the sum of a gauge kept beside it,
    // by type (`nodejs_active_handles` ...), so nothing is lost.
    for (const name of REDUNDANT_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    this.duration = new Histogram({
      name: REQUEST_DURATION_METRIC,
      help: 'Duration of HTTP server requests.',
      labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
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
      observer = this.duration.labels({ http_request_method: known, http_route: route, http_response_status_code: status });
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
