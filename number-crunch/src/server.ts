import { createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { LIVENESS_PATH, READINESS_PATH } from './contract';
import { Answer, errorBody, SQUARE_ROOT_PREFIX, squareRoot } from './square-root';

/** Options of `NumberCrunchServer`. */
export interface ServerOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Address to bind; undefined binds every interface (IPv6 and IPv4, or IPv4 alone where IPv6 is off). */
  readonly host?: string;
  /** Longest wait, after shutdown starts, for in-flight requests before the remaining connections are closed. */
  readonly drainTimeoutMs: number;
}

const ALLOWED_METHODS = 'GET, HEAD';
const SQUARE_ROOT_PATH = SQUARE_ROOT_PREFIX.slice(0, -1);
// Longer than nginx's upstream keepalive_timeout (60 s), so nginx, not this server, closes idle upstream
// connections: a connection closed by the server just as nginx reuses it would cost a 502.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const MAX_PATH_IN_ERROR = 100;

const HEALTHY: Answer = { status: 200, body: JSON.stringify({ status: 'ok' }) };
const READY: Answer = { status: 200, body: JSON.stringify({ status: 'ready' }) };
const DRAINING: Answer = { status: 503, body: JSON.stringify({ status: 'shutting down' }) };

function notFound(path: string): Answer {
  const shown = path.length > MAX_PATH_IN_ERROR ? `${path.slice(0, MAX_PATH_IN_ERROR)}...` : path;
  return { status: 404, body: errorBody(`no such path ${JSON.stringify(shown)}: use ${SQUARE_ROOT_PREFIX}<number>`) };
}

/**
 * The path of a request target, without URL parsing: the query string is dropped, and the absolute form
 * (`http://host/square-root/4`, which HTTP/1.1 servers must accept, as Go's did) is reduced to its path.
 */
export function requestPath(target: string): string {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    const authority = target.indexOf('://');
    if (authority < 0) return target; // e.g. `OPTIONS *`: no path to route, answered 404
    const slash = target.indexOf('/', authority + 3);
    if (slash < 0) return '/';
    start = slash;
  }
  const query = target.indexOf('?', start);
  return query < 0 ? (start === 0 ? target : target.slice(start)) : target.slice(start, query);
}

/**
 * The number-crunch HTTP server: `GET /square-root/<n>`, health endpoints, and a graceful shutdown that turns
 * readiness to 503, stops accepting, lets in-flight requests finish and closes keep-alive connections.
 */
export class NumberCrunchServer {
  private readonly server: Server;
  private draining = false;
  private closed?: Promise<void>;

  constructor(private readonly options: ServerOptions) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
  }

  /** True until shutdown starts. */
  get ready(): boolean {
    return !this.draining;
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
   * in-flight requests complete (their responses carry `Connection: close`), and whatever is still open after the
   * drain timeout is closed. Resolves when every connection is gone. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    if (!this.closed) {
      this.draining = true;
      this.closed = new Promise((resolve) => {
        const force = setTimeout(() => this.server.closeAllConnections(), this.options.drainTimeoutMs);
        force.unref();
        this.server.close(() => {
          clearTimeout(force);
          resolve();
        });
        this.server.closeIdleConnections();
      });
    }
    return this.closed;
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
    const path = requestPath(req.url ?? '/');
    let answer: Answer;
    if (path.startsWith(SQUARE_ROOT_PREFIX)) {
      const segment = path.slice(SQUARE_ROOT_PREFIX.length);
      answer = segment.includes('/') ? notFound(path) : this.allowed(req, res) ?? squareRoot(segment);
    } else if (path === SQUARE_ROOT_PATH) {
      answer = this.allowed(req, res) ?? squareRoot('');
    } else if (path === LIVENESS_PATH) {
      answer = this.allowed(req, res) ?? HEALTHY;
    } else if (path === READINESS_PATH) {
      answer = this.allowed(req, res) ?? (this.draining ? DRAINING : READY);
    } else {
      answer = notFound(path);
    }
    this.send(res, answer);
  }

  /** undefined for GET and HEAD, else a 405 answer (with its Allow header set). */
  private allowed(req: IncomingMessage, res: ServerResponse): Answer | undefined {
    if (req.method === 'GET' || req.method === 'HEAD') return undefined;
    res.setHeader('Allow', ALLOWED_METHODS);
    return { status: 405, body: errorBody(`method ${req.method} not allowed: use ${ALLOWED_METHODS}`) };
  }

  private send(res: ServerResponse, answer: Answer): void {
    // The raw header array skips Node's per-header object bookkeeping. While draining, every response closes its
    // connection, so nothing stays open once in-flight work is done.
    const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(answer.body))];
    if (this.draining) headers.push('Connection', 'close');
    res.writeHead(answer.status, headers);
    res.end(answer.body); // Node leaves the body out for HEAD.
  }

  /** A request Node could not parse: answer 400 (431 for oversized headers) and close, never crash. */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = errorBody(status === 431 ? 'request headers too large' : `malformed HTTP request (${err.code ?? 'parse error'})`);
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
}
