import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CLOSE_LINGER_MS, FastConnection, FastPathOwner } from './fast-path';
import { headerList, headLines, Reply } from './reply';
import { Duplex } from 'node:stream';
import { LIVENESS_PATH, READINESS_PATH, SILENT_CONNECTION_GRACE_MS } from '../../contract';
import { CUBE_ROOT_PREFIX, cubeRoot, ENDPOINTS_HINT, errorBody, SQUARE_ROOT_PREFIX, squareRoot } from './roots';
import { RequestMetrics, RequestObserver } from './metrics';

/** Options of `NumberCrunchServer`. */
export interface ServerOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Address to bind; undefined binds every interface (IPv6 and IPv4, or IPv4 alone where IPv6 is off). */
  readonly host?: string;
  /** Longest wait, after shutdown starts, for in-flight requests before the remaining connections are closed. */
  readonly drainTimeoutMs: number;
  /**
   * Answer plain GET and HEAD requests without node:http (see fast-path.ts); anything else still goes to node:http.
   * @default true
   */
  readonly fastPath?: boolean;
  /**
   * Longest time a client may take to send a request's headers; then it gets a 408 and the connection closes. Checked
   * every 30 s, or every `headersTimeoutMs` when that is shorter.
   * @default 66 s (one second more than the keep-alive timeout)
   */
  readonly headersTimeoutMs?: number;
  /**
   * Where to count every answered request, on both paths (see metrics.ts).
   * @default - none: no metrics are kept
   */
  readonly metrics?: RequestMetrics;
}

const ALLOWED_METHODS = 'GET, HEAD';
const SQUARE_ROOT_PATH = SQUARE_ROOT_PREFIX.slice(0, -1);
const CUBE_ROOT_PATH = CUBE_ROOT_PREFIX.slice(0, -1);
// Longer than nginx's upstream keepalive_timeout (60 s), so nginx, not this server, closes idle upstream
// connections: a connection closed by the server just as nginx reuses it would cost a 502.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const MAX_TEXT_IN_ERROR = 100;
// How often node:http looks for connections past the headers timeout (its default).
const CONNECTIONS_CHECKING_INTERVAL_MS = 30_000;

/**
 * The metrics' `http_route` of each route: its template, as OpenTelemetry's `http.route` (never the raw path, so the
 * label stays bounded), and one value for every path no route matches.
 */
export const ROUTES = {
  squareRoot: `${SQUARE_ROOT_PREFIX}{number}`,
  cubeRoot: `${CUBE_ROOT_PREFIX}{number}`,
  squareRootBare: SQUARE_ROOT_PATH,
  cubeRootBare: CUBE_ROOT_PATH,
  liveness: LIVENESS_PATH,
  readiness: READINESS_PATH,
  unmatched: 'unmatched',
} as const;

// Every body ends with a newline, as the Go service's JSON encoder ended them.
const HEALTHY: Reply = { status: 200, body: '{"status":"ok"}\n', route: ROUTES.liveness };
const READY: Reply = { status: 200, body: '{"status":"ready"}\n', route: ROUTES.readiness };
const DRAINING: Reply = { status: 503, body: '{"status":"shutting down"}\n', route: ROUTES.readiness };
// Node would send this 400 itself, with an empty body; the server checks the Host header instead (see hostMissing).
const MISSING_HOST: Reply = {
  status: 400, body: errorBody('missing Host header: HTTP/1.1 requests must have one'), close: true,
};

/** `text` as a JSON string for an error message, cut to MAX_TEXT_IN_ERROR characters: input is not echoed whole. */
function quoted(text: string): string {
  return JSON.stringify(text.length > MAX_TEXT_IN_ERROR ? `${text.slice(0, MAX_TEXT_IN_ERROR)}...` : text);
}

function notFound(path: string): Reply {
  return {
    route: ROUTES.unmatched,
    status: 404,
    body: errorBody(`no such path ${quoted(path)}: use ${ENDPOINTS_HINT} (probes: ${LIVENESS_PATH}, ${READINESS_PATH})`),
  };
}

function methodNotAllowed(method: string | undefined): Reply {
  const body = errorBody(`method ${method} not allowed: use ${ALLOWED_METHODS} on ${ENDPOINTS_HINT}, ${LIVENESS_PATH} or ${READINESS_PATH}`);
  return { status: 405, body, headers: ['Allow', ALLOWED_METHODS] };
}

/** undefined for GET and HEAD, else a 405 answer. */
function allowed(method: string | undefined): Reply | undefined {
  return method === 'GET' || method === 'HEAD' ? undefined : methodNotAllowed(method);
}

/**
 * The answer to an `Expect` header other than `100-continue`. It closes the connection: the client may be holding
 * back a request body until it hears from the server, so where the next request would start is unknown (Go closes too).
 */
function expectationFailed(expect: string): Reply {
  const body = errorBody(`unsupported Expect header ${quoted(expect)}: only 100-continue is supported`);
  return { status: 417, body, close: true };
}

/** The answer to a request Node could not parse: 431 for oversized headers, 408 when it took too long, else 400. */
function malformed(code: string | undefined): Reply {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, body: errorBody('request headers too large'), close: true };
  // Node's headersTimeout and requestTimeout raise ERR_HTTP_REQUEST_TIMEOUT; older parsers had HPE_HEADER_TIMEOUT.
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADER_TIMEOUT') {
    return { status: 408, body: errorBody('request timeout: the request did not arrive in time'), close: true };
  }
  return { status: 400, body: errorBody(`malformed HTTP request (${code ?? 'parse error'})`), close: true };
}

/**
 * The answer to a request whose body length cannot be known: a `Transfer-Encoding` whose final coding is not `chunked`
 * (`identity`, `gzip`, ...). RFC 9112, section 6.3: the server MUST answer 400 and close the connection. Node's parser
 * passes such a request on and only then fails; answering it normally would send a 200 and then the parser's 400.
 */
function unreadableBody(req: IncomingMessage): Reply | undefined {
  const codings = req.headers['transfer-encoding'];
  if (codings === undefined) return undefined;
  const last = codings.slice(codings.lastIndexOf(',') + 1).trim().toLowerCase();
  return last === 'chunked' ? undefined : malformed('HPE_INVALID_TRANSFER_ENCODING');
}

/**
 * True for an HTTP/1.1 request without a Host header, which must get a 400 (RFC 9112, section 3.2). The server checks
 * it itself (Node's check is turned off) so that the 400 has a JSON body; HTTP/1.0 requests need no Host header.
 */
function hostMissing(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined;
}

/**
 * Answers on a connection that Node no longer reads HTTP from (a malformed request, CONNECT), so that no
 * `ServerResponse` exists for it, and closes it: half-close after the answer, then drop it after CLOSE_LINGER_MS
 * (the fast path closes its connections the same way). Not at once: closing a connection with client bytes still unread
 * makes the kernel send a reset, which can discard the answer before the client reads it. Not never: nothing else would
 * ever close it, and an open connection holds up the shutdown.
 */
function endWith(socket: Duplex, answer: Reply): void {
  socket.on('error', () => socket.destroy()); // e.g. a reset by the client: nothing left to answer
  const linger = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.resume(); // whatever else the client sends is read and dropped
  socket.end(`${headLines(answer, true)}\r\n${answer.body}`);
}

/**
 * Closes a connection Node no longer reads HTTP from without answering: once `res` (its last answer) is out, half-close,
 * then drop it after CLOSE_LINGER_MS, as `endWith` does.
 */
function endAfter(socket: Duplex, res: ServerResponse): void {
  socket.on('error', () => socket.destroy());
  socket.resume();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const linger = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    socket.end();
  };
  if (res.writableFinished) end();
  else res.once('finish', end).once('close', end);
}

/**
 * The path of a request target, without URL parsing: the query string is dropped, and the absolute form
 * (`http://host/square-root/4`, which HTTP/1.1 servers must accept, as Go's did) is reduced to its path. In the
 * absolute form the authority ends at the first `/`, `?` or `#` and the path at the first `?` or `#` (RFC 3986,
 * section 3): a `/` in the query (`http://host?/square-root/4`) is not the path, which is empty there, that is `/`.
 */
export function requestPath(target: string): string {
  if (target.charCodeAt(0) !== 47 /* '/' */) return absolutePath(target);
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/** The path of an absolute-form target (`/` when empty), or the target itself when it has no scheme (`*`). */
function absolutePath(target: string): string {
  const scheme = target.indexOf('://');
  if (scheme < 0) return target; // e.g. `OPTIONS *`: no path to route, answered 404
  const afterScheme = target.slice(scheme + 3);
  const start = afterScheme.search(/[/?#]/);
  if (start < 0 || afterScheme[start] !== '/') return '/';
  const path = afterScheme.slice(start);
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

/**
 * The number-crunch HTTP server: `GET /square-root/<n>` and `GET /cube-root/<n>`, health endpoints, and a graceful shutdown that turns
 * readiness to 503, stops accepting, lets in-flight requests finish and closes keep-alive connections. Every 4xx,
 * including those Node would send itself (no Host header, an unknown Expect, CONNECT, unparsable requests), has a JSON
 * `{"error": ...}` body.
 */
export class NumberCrunchServer implements FastPathOwner {
  private readonly server: Server;
  // Every open connection, for shutdown: Node's own list leaves out connections taken over by a 'connect' handler and
  // those the fast path serves.
  private readonly sockets = new Set<Socket>();
  private readonly fastConnections = new Set<FastConnection>();
  // Per connection, node:http's last answer: a parse error after it may belong to the request it answered.
  private readonly lastAnswers = new WeakMap<Socket, ServerResponse>();
  // node:http's own handler of new connections: the fast path gives it the connections it does not serve.
  private readonly httpConnection: (socket: Socket) => void;
  private isDraining = false;
  private closed?: Promise<void>;

  constructor(private readonly options: ServerOptions) {
    const headersTimeoutMs = options.headersTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS + 1_000;
    this.server = createServer({
      requireHostHeader: false,
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, headersTimeoutMs),
    }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    const [httpConnection] = this.server.listeners('connection') as Array<(socket: Socket) => void>;
    this.httpConnection = httpConnection;
    const fastPath = options.fastPath ?? true;
    if (fastPath) this.server.off('connection', httpConnection);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (fastPath) {
        const connection = new FastConnection(socket, this, KEEP_ALIVE_TIMEOUT_MS);
        this.fastConnections.add(connection);
        socket.once('close', () => this.fastConnections.delete(connection));
      }
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
    // Without a 'connect' listener Node drops a CONNECT request's connection without an answer.
    this.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      const started = performance.now();
      const answer = methodNotAllowed(req.method);
      endWith(socket, answer);
      this.observe(req.method ?? '', answer, started);
    });
    // Any Expect but 100-continue (which Node answers itself); without a listener Node sends an empty 417.
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
      this.send(res, hostMissing(req) ? MISSING_HOST : expectationFailed(req.headers.expect ?? ''), performance.now()));
  }

  /** True until shutdown starts. */
  get ready(): boolean {
    return !this.isDraining;
  }


  /** Gives a connection the fast path does not serve to node:http, with the bytes read but not yet answered. */
  handOver(socket: Socket, rest: Buffer): void {
    this.httpConnection.call(this.server, socket);
    if (rest.length > 0) socket.emit('data', rest);
  }

  /**
   * Starts listening; resolves with the bound address. Without a host, Node binds `::` (IPv6 and IPv4 together) and,
   * where IPv6 cannot be bound for any reason (kernel without IPv6, address family disabled), `0.0.0.0` instead.
   */
  async listen(): Promise<AddressInfo> {
    await this.bind(this.options.port, this.options.host);
    return this.server.address() as AddressInfo;
  }

  /**
   * Graceful shutdown: readiness answers 503, no new connections are accepted, idle keep-alive connections close,
   * connections that have not sent a byte close after SILENT_CONNECTION_GRACE_MS, in-flight requests complete (their
   * responses carry `Connection: close`), and whatever is still open after the drain timeout is closed. Resolves when
   * every connection is gone. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    if (!this.closed) {
      this.isDraining = true;
      this.closed = new Promise((resolve) => {
        const { drainTimeoutMs } = this.options;
        const timers = [
          setTimeout(() => this.closeConnections('silent'), Math.min(SILENT_CONNECTION_GRACE_MS, drainTimeoutMs)),
          setTimeout(() => this.closeConnections('all'), drainTimeoutMs),
        ];
        timers.forEach((t) => t.unref());
        this.server.close(() => {
          timers.forEach(clearTimeout);
          resolve();
        });
        this.server.closeIdleConnections();
        for (const connection of this.fastConnections) if (connection.idle) connection.close();
      });
    }
    return this.closed;
  }

  /** Closes the open connections: all of them, or those that have not sent a single byte. */
  private closeConnections(which: 'silent' | 'all'): void {
    for (const socket of this.sockets) {
      if (which === 'all' || socket.bytesRead === 0) socket.destroy();
    }
  }

  private bind(port: number, host: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.listen(port, host, onListening); // host undefined: Node's `::`-then-`0.0.0.0` default
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    this.send(res, hostMissing(req) ? MISSING_HOST : unreadableBody(req) ?? this.answer(req.method ?? '', req.url ?? '/'), started);
  }

  /**
   * A request Node could not parse: answer 400 (431 for oversized headers) and close, never crash. One request gets
   * one answer: when the error is in the body of a request already answered (a malformed chunk), or in bytes after an
   * answer that closed the connection (HPE_CLOSED_CONNECTION), a second answer would be read by the client as the
   * answer to its next request, so the connection is only closed, after the answer that went out.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const last = this.lastAnswers.get(socket);
    if (last !== undefined && (!last.req.complete || err.code === 'HPE_CLOSED_CONNECTION')) {
      endAfter(socket, last);
      return;
    }
    const started = performance.now();
    const answer = malformed(err.code);
    endWith(socket, answer);
    this.observe('', answer, started); // the method of a request that could not be read is unknown: `_OTHER`
  }

  /**
   * The answer to `method` on the request target `target`: one routing for node:http and the fast path. The answer
   * names its route (`ROUTES`).
   */
  answer(method: string, target: string): Reply {
    const path = requestPath(target);
    let route: string;
    let answer: Reply;
    if (path.startsWith(SQUARE_ROOT_PREFIX)) {
      const segment = path.slice(SQUARE_ROOT_PREFIX.length);
      if (segment.includes('/')) return notFound(path);
      route = ROUTES.squareRoot;
      answer = allowed(method) ?? squareRoot(segment);
    } else if (path.startsWith(CUBE_ROOT_PREFIX)) {
      const segment = path.slice(CUBE_ROOT_PREFIX.length);
      if (segment.includes('/')) return notFound(path);
      route = ROUTES.cubeRoot;
      answer = allowed(method) ?? cubeRoot(segment);
    } else if (path === SQUARE_ROOT_PATH) {
      route = ROUTES.squareRootBare;
      answer = allowed(method) ?? squareRoot('');
    } else if (path === CUBE_ROOT_PATH) {
      route = ROUTES.cubeRootBare;
      answer = allowed(method) ?? cubeRoot('');
    } else if (path === LIVENESS_PATH) {
      route = ROUTES.liveness;
      answer = allowed(method) ?? HEALTHY;
    } else if (path === READINESS_PATH) {
      route = ROUTES.readiness;
      answer = allowed(method) ?? (this.isDraining ? DRAINING : READY);
    } else {
      return notFound(path);
    }
    return answer.route === route ? answer : { ...answer, route };
  }

  /** Where to count a request with `method` answered with `reply`; undefined when the server keeps no metrics. */
  observer(method: string, reply: Reply): RequestObserver | undefined {
    return this.options.metrics?.observer(method, reply.route ?? ROUTES.unmatched, reply.status);
  }

  /** Counts one answered request that started at `started` (performance.now()). */
  private observe(method: string, reply: Reply, started: number): void {
    this.observer(method, reply)?.observe((performance.now() - started) / 1000);
  }

  /** Sends `answer` to a request that arrived at `started` (performance.now()), and counts it. */
  private send(res: ServerResponse, answer: Reply, started: number): void {
    this.lastAnswers.set(res.req.socket, res);
    // While draining, every response closes its connection, so nothing stays open once in-flight work is done.
    res.writeHead(answer.status, headerList(answer, answer.close === true || this.isDraining));
    res.end(answer.body); // Node leaves the body out for HEAD.
    this.observe(res.req.method ?? '', answer, started);
  }
}
