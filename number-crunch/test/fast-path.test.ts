import { connect } from 'node:net';
import { mayBeUnfinishedHead } from '../src/fast-path';
import { NumberCrunchServer } from '../src/server';
import { rawExchange } from './http-client';

// The fast path (src/fast-path.ts) must answer every request byte for byte as node:http does: two servers, one with
// it and one without, get the same raw requests and must send the same raw bytes back (the Date header aside).
let fast: NumberCrunchServer;
let plain: NumberCrunchServer;
const ports: Record<'fast' | 'plain', number> = { fast: 0, plain: 0 };

beforeAll(async () => {
  fast = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 2_000 });
  plain = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 2_000, fastPath: false });
  ports.fast = (await fast.listen()).port;
  ports.plain = (await plain.listen()).port;
});
afterAll(async () => {
  await Promise.all([fast.shutdown(), plain.shutdown()]);
});

const withoutDate = (raw: string) => raw.replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: <date>\r\n');
const closing = 'Connection: close\r\n';
const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: number-crunch\r\n${extra}`;

/** Requests the fast path answers itself. */
const PLAIN_REQUESTS: Array<[string, string]> = [
  ['square root', `${get('/square-root/4')}\r\n`],
  ['cube root', `${get('/cube-root/-8')}\r\n`],
  ['HEAD', 'HEAD /cube-root/27 HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['400', `${get('/square-root/-4')}\r\n`],
  ['400 with an echoed non-ASCII input', `${get('/cube-root/%F0%9F%98%80')}\r\n`],
  ['404', `${get('/nope?x=1')}\r\n`],
  ['probes', `${get('/healthz')}\r\n${get('/readyz')}\r\n`],
  ['pipelined', `${get('/square-root/9')}\r\n${get('/cube-root/1e300')}\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n`],
  ['headers as browsers and proxies send them', `${get('/square-root/2')}User-Agent: curl/8.0\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nX-Empty:\r\nhOsT: again\r\n\r\n`],
];

/** Requests the fast path hands to node:http (the whole connection, from that request on). */
const OTHER_REQUESTS: Array<[string, string]> = [
  ['Connection: close', `${get('/square-root/4', closing)}\r\n`],
  ['pipelined, then Connection: close', `${get('/square-root/4')}\r\n${get('/cube-root/8', closing)}\r\n`],
  ['POST', `POST /square-root/4 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n${closing}\r\nab`],
  ['POST without a body', `POST /square-root/4 HTTP/1.1\r\nHost: x\r\n${closing}\r\n`],
  ['GET with a body', `${get('/cube-root/8', closing)}Content-Length: 3\r\n\r\nabc`],
  ['chunked GET', `${get('/cube-root/8', closing)}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['HTTP/1.0', 'GET /cube-root/8 HTTP/1.0\r\n\r\n'],
  ['HTTP/1.0 keep-alive', 'GET /cube-root/8 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope HTTP/1.0\r\n\r\n'],
  ['no Host', 'GET /cube-root/8 HTTP/1.1\r\n\r\n'],
  ['Expect', `${get('/cube-root/8')}Expect: foo\r\n\r\n`],
  ['Expect: 100-continue', `${get('/cube-root/8', closing)}Expect: 100-continue\r\n\r\n`],
  ['Upgrade', `${get('/cube-root/8', closing)}Upgrade: websocket\r\n\r\n`],
  ['Proxy-Connection: close', `${get('/square-root/4')}Proxy-Connection: close\r\n\r\n${get('/cube-root/8')}\r\n`],
  ['Proxy-Connection: keep-alive', `${get('/square-root/4')}Proxy-Connection: keep-alive\r\n\r\n${get('/cube-root/8')}\r\n`],
  ['absolute form', `GET http://x/cube-root/8 HTTP/1.1\r\nHost: x\r\n${closing}\r\n`],
  ['OPTIONS *', `OPTIONS * HTTP/1.1\r\nHost: x\r\n${closing}\r\n`],
  ['CONNECT', 'CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n'],
  ['a valid request, then garbage', `${get('/square-root/4')}\r\nTHIS IS NOT HTTP\r\n\r\n`],
  ['bare LF', 'GET /square-root/4 HTTP/1.1\nHost: x\n\n'],
  ['space before the colon', `${get('/square-root/4')}X-A : b\r\n\r\n`],
  ['control character in a value', `${get('/square-root/4')}X-A: a\x01b\r\n\r\n`],
  ['non-ASCII in the target', `GET /cube-root/\xe9 HTTP/1.1\r\nHost: x\r\n${closing}\r\n`],
  ['obs-text in a value', `${get('/square-root/4', closing)}X-A: caf\xe9\r\n\r\n`],
  ['double space', `GET  /square-root/4 HTTP/1.1\r\nHost: x\r\n${closing}\r\n`],
  ['oversized head', `${get('/square-root/4')}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['a 9 KiB head (under the 16 KiB limit)', `${get('/square-root/4', closing)}X-Big: ${'a'.repeat(9_000)}\r\n\r\n`],
];

/** Sends the bytes (latin1) and, when `endAfterMs` is given, half-closes after that long; returns what came back. */
function exchange(port: number, bytes: string, parts = 1): Promise<string> {
  if (parts === 1 && bytes.includes('\r\nConnection: close\r\n')) return rawExchange(port, bytes);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(5_000, () => socket.destroy(new Error('timeout')));
    // Split into `parts` writes 20 ms apart, so that the server reads each part on its own.
    const data = Buffer.from(bytes, 'latin1');
    const size = Math.ceil(data.length / parts);
    let i = 0;
    const next = () => {
      if (i * size >= data.length) {
        setTimeout(() => socket.end(), 100); // answers written by then; the server then closes its side
        return;
      }
      socket.write(data.subarray(i * size, (i + 1) * size));
      i += 1;
      setTimeout(next, 20);
    };
    socket.once('connect', next);
  });
}

async function compare(bytes: string, parts = 1): Promise<string> {
  const [a, b] = await Promise.all([exchange(ports.fast, bytes, parts), exchange(ports.plain, bytes, parts)]);
  expect(withoutDate(a)).toBe(withoutDate(b));
  expect(a).toMatch(/^HTTP\/1\.1 /);
  return a;
}

describe('answers exactly as node:http does', () => {
  test.each(PLAIN_REQUESTS)('%s (served by the fast path)', async (_label, bytes) => {
    const handOver = jest.spyOn(fast, 'handOver');
    try {
      await compare(bytes);
      expect(handOver).not.toHaveBeenCalled();
    } finally {
      handOver.mockRestore();
    }
  });

  test.each(OTHER_REQUESTS)('%s (handed to node:http)', async (_label, bytes) => {
    const handOver = jest.spyOn(fast, 'handOver');
    try {
      await compare(bytes);
      expect(handOver).toHaveBeenCalledTimes(1);
    } finally {
      handOver.mockRestore();
    }
  });

  test('a request split over several reads is handed to node:http and answered whole', async () => {
    const answer = await compare(`${get('/square-root/16')}X-A: b\r\n\r\n${get('/cube-root/64')}\r\n`, 5);
    expect(answer).toContain('{"InputNumber":16,"SquareRoot":4}\n');
    expect(answer).toContain('{"InputNumber":64,"CubeRoot":4}\n');
  });

  test('Proxy-Connection: close is honoured on both paths: one answer with Connection: close, the next request unread', async () => {
    const answer = await compare(`${get('/square-root/4')}Proxy-Connection: close\r\n\r\n${get('/cube-root/8')}\r\n`);
    expect(withoutDate(answer)).toBe('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\nDate: <date>\r\nConnection: close\r\n\r\n{"InputNumber":4,"SquareRoot":2}\n');
  });

  test('keep-alive: after answers from the fast path, node:http carries on on the same connection', async () => {
    const answer = await compare(`${get('/square-root/4')}\r\n${get('/square-root/9')}\r\nPOST /x HTTP/1.1\r\nHost: x\r\n\r\n${get('/cube-root/8')}\r\n`);
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(4);
  });
});

describe('a read that ends inside a request head', () => {
  test('may be an unfinished head: no blank line yet, at most 8 KiB', () => {
    const text = `${get('/square-root/4')}\r\n${get('/cube-root/8')}`;
    const next = text.indexOf('GET /cube-root');
    expect(mayBeUnfinishedHead(text, next)).toBe(true);
    expect(mayBeUnfinishedHead(`${text}X-A: b`, next)).toBe(true);
    expect(mayBeUnfinishedHead(`${text}\r`, next)).toBe(true);
    expect(mayBeUnfinishedHead(`${text}\r\n`, next)).toBe(false); // a whole head, which the fast path did not take
    expect(mayBeUnfinishedHead(`${text}X-Big: ${'a'.repeat(8200)}`, next)).toBe(false);
    for (const start of ['G', 'HEA', 'GET ', 'GET /cube-root/8', 'GET /x HTTP/1.', 'HEAD /x HTTP/1.1\r', 'GET /x HTTP/1.1\r\nHost', 'GET /x HTTP/1.1\r\nX-A:\tb\r']) {
      expect([start, mayBeUnfinishedHead(start, 0)]).toEqual([start, true]);
    }
  });

  test('is never anything the fast path would not answer once whole: that goes to node:http at once', () => {
    for (const start of ['XYZ\r\n', 'POST /x', 'GET  /x', 'GET x', 'GET /x HTTP/1.0\r\n', 'GET /x HTTP/1.1\nHost: x\n', 'GET /\xe9',
      'GET /x HTTP/1.1\r\nX-A : b\r\n', 'GET /x HTTP/1.1\r\nX-A: a\x01b']) {
      expect([start, mayBeUnfinishedHead(start, 0)]).toEqual([start, false]);
    }
  });

  test('an input that ends inside a kept head is answered as node:http answers it (400)', async () => {
    const answer = await compare(`${get('/square-root/4')}\r\n${get('/cube-root/8')}`);
    expect(answer).toContain('{"InputNumber":4,"SquareRoot":2}\n');
    expect(answer.match(/HTTP\/1\.1 400 /g)).toHaveLength(1);
  });

  test('after answers, the rest of the head is awaited: pipelined requests split anywhere stay on the fast path, answered as node:http answers them', async () => {
    const handOver = jest.spyOn(fast, 'handOver');
    try {
      // 30 requests in 4 writes: each write holds whole requests and ends inside the next one.
      const requests = Array.from({ length: 30 }, (_, i) => `${get(`/square-root/${i * i}`)}X-Request: ${i}\r\n\r\n`).join('');
      const answer = await compare(requests, 4);
      expect(answer.match(/HTTP\/1\.1 200 /g)).toHaveLength(30);
      expect(answer).toContain('{"InputNumber":841,"SquareRoot":29}\n');
      expect(handOver).not.toHaveBeenCalled();
    } finally {
      handOver.mockRestore();
    }
  });

  test('when the next read still does not finish the head, the connection goes to node:http, which answers it', async () => {
    const handOver = jest.spyOn(fast, 'handOver');
    try {
      // A whole request, then a head in three more writes: the second of them answers nothing.
      const bytes = `${get('/square-root/4')}\r\n${get('/cube-root/8')}X-A: ${'a'.repeat(200)}\r\nX-B: b\r\n\r\n`;
      const answer = await compare(bytes, 4);
      expect(answer).toContain('{"InputNumber":4,"SquareRoot":2}\n');
      expect(answer).toContain('{"InputNumber":8,"CubeRoot":2}\n');
      expect(handOver).toHaveBeenCalledTimes(1);
    } finally {
      handOver.mockRestore();
    }
  });
});

test('a client that sends many requests without reading is answered in order, every one (back-pressure)', async () => {
  const count = 20_000;
  const requests = Array.from({ length: count }, (_, i) => `${get(`/cube-root/${i}`)}\r\n`).join('');
  const socket = connect(ports.fast, '127.0.0.1');
  socket.pause(); // read nothing until everything is sent
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await new Promise<void>((resolve) => socket.write(requests, () => resolve()));
  await new Promise((r) => setTimeout(r, 200));
  let received = '';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      received += c.toString();
      if (received.includes(`{"InputNumber":${count - 1},`)) resolve();
    });
  });
  socket.resume();
  await done;
  socket.destroy();
  const inputs = [...received.matchAll(/\{"InputNumber":(\d+),/g)].map((m) => Number(m[1]));
  expect(inputs).toEqual(Array.from({ length: count }, (_, i) => i));
}, 20_000);
