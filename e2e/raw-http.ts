import { connect, Socket } from 'node:net';

/** One HTTP answer as read off the wire: status, lower-cased headers (the last of each name wins) and body. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The answer's bytes as they came. */
  readonly raw: string;
}

/** Parses the first answer in `raw` (a body up to the end of `raw`; enough for the short answers tested here). */
export function parseAnswer(raw: string): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP answer in ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(end + 4), raw };
}

/**
 * Sends `request` as it is (no client library normalising it) and resolves with everything read until the server
 * closes the connection or `timeoutMs` passes.
 */
export function rawExchange(host: string, port: number, request: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); resolve(data); }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => { data += c.toString('latin1'); });
    socket.on('close', () => { clearTimeout(timer); resolve(data); });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Opens a connection, sends `head` and keeps the connection open, unanswered, until the caller destroys it. */
export function holdOpen(host: string, port: number, head: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write(head, () => resolve(socket)));
    socket.on('error', reject);
  });
}
