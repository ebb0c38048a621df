import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RequestObserver } from './metrics';
import { headLines, Reply } from './reply';

/** What the fast path needs from the server it works for. */
export interface FastPathOwner {
  /** The answer to `method` on `target` (the request target, starting with `/`). */
  answer(method: string, target: string): Reply;
  /** False once shutdown has started: every answer then closes its connection. */
  readonly ready: boolean;
  /** Gives the connection to node:http, with `rest` (bytes already read but not answered) as its first input. */
  handOver(socket: Socket, rest: Buffer): void;
  /**
   * Where to count a request with `method` answered with `reply`; undefined when no metrics are kept. The same for the
   * same method, route and status: a connection reuses the last one.
   */
  observer(method: string, reply: Reply): RequestObserver | undefined;
}

// The pieces of the only request head the fast path answers itself (REQUEST_HEAD), and of its start (mayBeUnfinishedHead).
/** An origin-form request target of printable ASCII. */
const TARGET = String.raw`\/[\x21-\x7e]*`;
/** A header name: a token. */
const FIELD_NAME = '[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+';
/** A header value: printable ASCII or tab. */
const FIELD_VALUE = String.raw`[\t\x20-\x7e]*`;

/**
 * One complete request head of the only shape the fast path answers itself: GET or HEAD, an origin-form target of
 * printable ASCII, HTTP/1.1, header lines of a token name, a colon and printable ASCII or tab, CRLF line ends.
 * Everything node:http's parser (llhttp) would refuse falls outside this shape (checked on Node 20 and 24), so anything
 * unusual goes to node:http and gets exactly the answer it got before. The pattern is linear: no line can end early.
 */
const REQUEST_HEAD = new RegExp(`(GET|HEAD) (${TARGET}) HTTP\\/1\\.1\\r\\n((?:${FIELD_NAME}:${FIELD_VALUE}\\r\\n)*)\\r\\n`, 'y');
/**
 * Headers that change how a request is read or answered (a body, `Expect`, `Upgrade`, `Connection`): node:http's job.
 * `Proxy-Connection` too: node:http's parser takes it for `Connection` (and, after `Proxy-Connection: close`, refuses
 * any further request on the connection), so only node:http can answer it the same way on both paths.
 */
const SPECIAL_HEADER = /(?:^|\n)(?:content-length|transfer-encoding|expect|upgrade|(?:proxy-)?connection|te|trailer):/i;
/** HTTP/1.1 requires a Host header; node:http path answers its absence with the JSON 400. */
const HOST_HEADER = /(?:^|\n)host:/i;
/**
 * After the last answer on a connection is out, how long the client has to close its side before the server drops the
 * connection (Go waits 500 ms too).
 */
export const CLOSE_LINGER_MS = 500;
/** Longest request head answered here; node:http's limit is 16 KiB, and longer heads get its 431. */
const MAX_HEAD_BYTES = 8192;

// node:http's Date header, computed at most once a second.
let dateText = '';
let dateExpiresMs = 0;
function httpDate(): string {
  const now = Date.now();
  if (now >= dateExpiresMs) {
    dateText = new Date(now).toUTCString();
    dateExpiresMs = now - (now % 1000) + 1000;
  }
  return dateText;
}

/**
 * The response head node:http writes for an answer sent with `writeHead(status, headerList(...))`, byte for byte:
 * the same header lines, `Date`, then keep-alive or close. A test compares both on every kind of answer.
 */
function responseHead(reply: Reply, close: boolean, keepAliveSeconds: number): string {
  return close
    ? `${headLines(reply, true)}Date: ${httpDate()}\r\n\r\n`
    : `${headLines(reply, false)}Date: ${httpDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`;
}

/** A whole request line of the shape REQUEST_HEAD takes, and the start of one: the method, then a target and ` HTTP/1.1`. */
const REQUEST_LINE = new RegExp(`^(GET|HEAD) ${TARGET} HTTP\\/1\\.1\\r\\n$`);
const REQUEST_LINE_START = new RegExp(`^(G|GE|GET|H|HE|HEA|HEAD)$|^(GET|HEAD) (${TARGET}( (H(T(T(P(\\/(1(\\.(1\\r?)?)?)?)?)?)?)?)?)?)?$`);
/** A whole header line of the shape REQUEST_HEAD takes, and the start of one or of the blank line (or nothing yet). */
const HEADER_LINE = new RegExp(`^${FIELD_NAME}:${FIELD_VALUE}\\r\\n$`);
const HEADER_LINE_START = new RegExp(`^(\\r|${FIELD_NAME}(:${FIELD_VALUE}\\r?)?)?$`);

/**
 * Whether `text` from `pos` on can be the start of a request head of the shape the fast path answers whose rest has
 * not been read yet: a request line and header lines of that shape so far, no blank line (which would end the head),
 * and no longer than a head the fast path answers. Anything else goes to node:http at once, as before.
 */
export function mayBeUnfinishedHead(text: string, pos: number): boolean {
  if (text.length - pos > MAX_HEAD_BYTES) return false;
  let start = pos;
  for (let first = true; ; first = false) {
    const end = text.indexOf('\r\n', start);
    if (end < 0) return (first ? REQUEST_LINE_START : HEADER_LINE_START).test(text.slice(start));
    if (end === start) return false; // the blank line: a whole head, which the fast path did not take
    if (!(first ? REQUEST_LINE : HEADER_LINE).test(text.slice(start, end + 2))) return false;
    start = end + 2;
  }
}

/**
 * Serves one connection without node:http for as long as its requests are plain GETs and HEADs: the request heads are
 * matched in the bytes as read, the answers of one read are written in one write. A read that answered requests and
 * ends in the first part of the next head keeps that part for the next read (a pipelining client's writes do not end
 * where its requests do); if the next read answers nothing, the bytes go to node:http. The first time a read holds
 * anything else (another method, a body, `Expect`, `Connection`, a malformed request, HTTP/1.0, a head that arrives
 * slowly), the connection and the unanswered bytes go to node:http for good, which answers exactly as it did before.
 * Keep-alive, pipelining, back-pressure, the idle timeout and shutdown behave as with node:http.
 */
export class FastConnection {
  private handedOver = false;
  private closing = false;
  private waitingForDrain = false;
  // The first part of a request head, read after answered requests, waiting for its rest (a copy: the read's buffer
  // is not kept).
  private pending?: Buffer;
  private readonly keepAliveSeconds: number;
  // The requests answered in the current read, counted once their answers are written (reused: no garbage per read).
  private readonly answered: RequestObserver[] = [];
  // The observer of the last request and what it was for: a connection's requests mostly repeat the route, status and
  // method, and the owner's lookup (a Set and three Maps) measured about 2% of a fast-path request's CPU time.
  private lastRoute?: string;
  private lastStatus = 0;
  private lastHead = false;
  private lastObserver?: RequestObserver;

  constructor(private readonly socket: Socket, private readonly owner: FastPathOwner, keepAliveMs: number) {
    this.keepAliveSeconds = Math.floor(keepAliveMs / 1000);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(keepAliveMs);
  }

  /** True while this connection has sent at least one byte and no request is waiting to be read or answered. */
  get idle(): boolean {
    return !this.handedOver && !this.waitingForDrain && this.pending === undefined && this.socket.bytesRead > 0;
  }

  /**
   * Closes an idle connection gracefully: pending answers are flushed first, then the connection is closed whether or
   * not the client closes its side (as node:http's closeIdleConnections does).
   */
  close(): void {
    this.closing = true;
    this.endSoon();
  }

  /**
   * Half-closes after the pending answers, reads and drops whatever else the client sends, and destroys the connection
   * CLOSE_LINGER_MS after the answers are out unless the client closed its side first: a client that keeps its side
   * open holds nothing up. Not at once: closing with client bytes unread makes the kernel send a reset, which can
   * discard answers the client has not read yet.
   */
  private endSoon(): void {
    const { socket } = this;
    socket.resume();
    socket.end(() => {
      const linger = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
      linger.unref();
      socket.once('close', () => clearTimeout(linger));
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return; // answered with Connection: close; what follows is not read
    const started = performance.now();
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    const text = data.toString('latin1'); // one character per byte: string offsets are byte offsets
    let pos = 0;
    let out = '';
    while (pos < text.length) {
      REQUEST_HEAD.lastIndex = pos;
      const m = REQUEST_HEAD.exec(text);
      if (m === null || m[0].length > MAX_HEAD_BYTES || SPECIAL_HEADER.test(m[3]) || !HOST_HEADER.test(m[3])) break;
      pos += m[0].length;
      const method = m[1];
      const head = method === 'HEAD';
      const reply = this.owner.answer(method, m[2]);
      const close = reply.close === true || !this.owner.ready;
      out += responseHead(reply, close, this.keepAliveSeconds);
      if (!head) out += reply.body;
      const observer = reply.route === this.lastRoute && reply.status === this.lastStatus && head === this.lastHead
        ? this.lastObserver
        : this.observerOf(method, reply, head);
      if (observer !== undefined) this.answered.push(observer);
      if (close) {
        this.closing = true;
        break;
      }
    }
    const flushed = out === '' || this.socket.write(out);
    if (this.answered.length > 0) {
      // Each request of the read, from the read to its answer's write.
      const seconds = (performance.now() - started) / 1000;
      for (const observer of this.answered) observer.observe(seconds);
      this.answered.length = 0;
    }
    if (this.closing) {
      this.endSoon();
      return;
    }
    if (pos < text.length) {
      // Only after an answer: a head that does not arrive whole in one read otherwise meets node:http's time-outs.
      if (pos === 0 || !mayBeUnfinishedHead(text, pos)) {
        this.handOver(data.subarray(pos));
        return;
      }
      this.pending = Buffer.from(data.subarray(pos));
    }
    if (!flushed) {
      // The client is not reading its answers: stop reading its requests until it does, as node:http does.
      this.waitingForDrain = true;
      this.socket.pause();
      this.socket.once('drain', () => {
        this.waitingForDrain = false;
        // Shutdown started while the client was not reading: its answers are out, so the connection is done.
        if (this.owner.ready) this.socket.resume();
        else this.close();
      });
    }
  };

  /** The owner's observer of `method` (`head`: HEAD, else GET) answered with `reply`, kept as the last one. */
  private observerOf(method: string, reply: Reply, head: boolean): RequestObserver | undefined {
    this.lastRoute = reply.route;
    this.lastStatus = reply.status;
    this.lastHead = head;
    return this.lastObserver = this.owner.observer(method, reply);
  }

  private handOver(rest: Buffer): void {
    this.handedOver = true;
    const { socket } = this;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
    this.owner.handOver(socket, rest);
  }

  private readonly onEnd = (): void => {
    if (this.pending !== undefined) {
      // The input ends inside a head: node:http answers that (400). It gets the head, then the end it follows.
      const rest = this.pending;
      this.pending = undefined;
      this.handOver(rest);
      this.socket.emit('end');
      return;
    }
    this.socket.end(); // the client is done; answers already written are flushed first
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onTimeout = (): void => {
    this.socket.destroy(); // idle for the keep-alive timeout
  };
}
