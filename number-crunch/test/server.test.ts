import { Agent } from 'node:http';
import { connect } from 'node:net';
import { NumberCrunchServer, requestPath } from '../src/server';
import { httpRequest, parseRawResponse, rawExchange, Reply } from './http-client';

let server: NumberCrunchServer;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  server = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 2_000 });
  port = (await server.listen()).port;
});
afterAll(async () => {
  agent.destroy();
  await server.shutdown();
});

const get = (path: string, method = 'GET') => httpRequest(port, path, method, agent);
const expectServing = async () => {
  const ok = await get('/square-root/9');
  expect([ok.status, ok.body]).toEqual([200, '{"InputNumber":9,"SquareRoot":3}\n']);
};
/** Sends raw bytes and checks that the answer is a `status` with a JSON error matching `message`, then a close. */
const expectJsonErrorAndClose = async (bytes: string, status: number, message: RegExp): Promise<Reply> => {
  const reply = parseRawResponse(await rawExchange(port, bytes));
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toBe('application/json');
  expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.body)));
  expect(reply.headers.connection).toBe('close');
  expect(JSON.parse(reply.body)).toEqual({ error: expect.stringMatching(message) });
  return reply;
};

test.each([
  ['/square-root/4', '/square-root/4'], ['/square-root/4?a=b', '/square-root/4'], ['/?', '/'],
  ['http://h/square-root/4?q', '/square-root/4'], ['https://h:8080/healthz', '/healthz'], ['http://h', '/'], ['*', '*'],
  ['http://x?/square-root/4', '/'], ['http://x#/square-root/4', '/'], ['http://x/healthz#/square-root/4', '/healthz'],
  ['http://x/a?b/c', '/a'],
])('requestPath(%p) is %p', (target, path) => {
  expect(requestPath(target)).toBe(path);
});

describe('valid numbers', () => {
  test.each<[string, number]>([
    ['4', 4], ['0', 0], ['2.25', 2.25], ['1e2', 100], ['+16', 16], ['.25', 0.25], ['1e-4', 0.0001], ['%34', 4],
    ['1.7976931348623157e308', 1.7976931348623157e308], ['0x1p4', 16], ['1_000', 1000], ['-0', 0],
  ])('/square-root/%s', async (text, value) => {
    const reply = await get(`/square-root/${text}`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual({ InputNumber: value, SquareRoot: Math.sqrt(value) });
  });

  test('the exact original body for 4', async () => {
    expect((await get('/square-root/4')).body).toBe('{"InputNumber":4,"SquareRoot":2}\n');
  });

  // The exact text, not only the value: clients of the Go service got encoding/json's float64 text, the shortest that
  // reads back as the same float64, in exponent form below 1e-6 and from 1e21 up, with "e-7" (not Go's "e-07") and
  // "e+21". These bodies are the spec, written out by hand from that rule; they are not computed by the code under test.
  test.each([
    ['1e-7', '{"InputNumber":1e-7,"SquareRoot":0.00031622776601683794}\n'],
    ['9.99e-7', '{"InputNumber":9.99e-7,"SquareRoot":0.0009994998749374609}\n'],
    ['0.000001', '{"InputNumber":0.000001,"SquareRoot":0.001}\n'],
    ['0.1', '{"InputNumber":0.1,"SquareRoot":0.31622776601683794}\n'],
    ['2.25', '{"InputNumber":2.25,"SquareRoot":1.5}\n'],
    ['1e20', '{"InputNumber":100000000000000000000,"SquareRoot":10000000000}\n'],
    ['1e21', '{"InputNumber":1e+21,"SquareRoot":31622776601.683792}\n'],
    ['1e300', '{"InputNumber":1e+300,"SquareRoot":1e+150}\n'],
    ['5e-324', '{"InputNumber":5e-324,"SquareRoot":2.2227587494850775e-162}\n'],
  ])('/square-root/%s has the exact body of the Go service', async (text, body) => {
    expect((await get(`/square-root/${text}`)).body).toBe(body);
  });

  test.each([
    ['8', '{"InputNumber":8,"CubeRoot":2}\n'],
    ['-8', '{"InputNumber":-8,"CubeRoot":-2}\n'],
    ['%2D27', '{"InputNumber":-27,"CubeRoot":-3}\n'],
    ['2', '{"InputNumber":2,"CubeRoot":1.2599210498948732}\n'],
    ['1e-9?x=1', '{"InputNumber":1e-9,"CubeRoot":0.001}\n'],
  ])('/cube-root/%s has the exact body of the Go service', async (text, body) => {
    const reply = await get(`/cube-root/${text}`);
    expect([reply.status, reply.headers['content-type'], reply.body]).toEqual([200, 'application/json', body]);
  });

  test('HEAD /cube-root answers like GET without a body', async () => {
    const reply = await get('/cube-root/-8', 'HEAD');
    expect([reply.status, reply.body, reply.headers['content-length']]).toEqual([200, '', '33']);
  });

  test('a query string is ignored', async () => {
    expect((await get('/square-root/4?pretty=1')).body).toBe('{"InputNumber":4,"SquareRoot":2}\n');
  });
});

describe('bad inputs get a 400 JSON error and the server keeps serving', () => {
  test.each<[string, RegExp]>([
    ['abc', /not a number/],
    ['', /missing number/],
    ['-4', /negative/],
    ['-0.0001', /negative/],
    ['NaN', /not a finite number/],
    ['nan', /not a finite number/],
    ['Infinity', /not a finite number/],
    ['-inf', /not a finite number/],
    ['1e999', /out of range/],
    ['9'.repeat(65), /too long/],
    ['9'.repeat(5000), /too long/],
    ['4abc', /not a number/],
    ['1.2.3', /not a number/],
    ['1e', /not a number/],
    ['0x', /not a number/],
    ['%20', /not a number/],
    ['%2D4', /negative/],
    ['%', /malformed percent-encoding/],
    ['%ZZ', /malformed percent-encoding/],
    ['%C0%AF', /malformed percent-encoding/],
    ['%00', /not a number/],
    ['%F0%9F%98%80', /not a number/],
    ["'%20OR%201=1", /not a number/],
    ['1,000', /not a number/],
    ['4;rm', /not a number/],
  ])('/square-root/%s', async (text, message) => {
    const reply = await get(`/square-root/${text}`);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body).error).toMatch(message);
    await expectServing();
  });

  test('/square-root without a number', async () => {
    const reply = await get('/square-root');
    expect([reply.status, JSON.parse(reply.body).error]).toEqual([400, expect.stringMatching(/missing number/)]);
  });

  test.each<[string, RegExp]>([
    ['', /^missing number: use \/cube-root\/<number>/], ['NaN', /not a finite number/], ['-Infinity', /not a finite number/],
    ['1e999', /out of range/], ['-1e999', /out of range/], ['abc', /not a number/], ['%ZZ', /malformed percent-encoding/],
  ])('/cube-root/%s', async (text, message) => {
    const reply = await get(`/cube-root/${text}`);
    expect([reply.status, reply.headers['content-type']]).toEqual([400, 'application/json']);
    expect(reply.body.endsWith('}\n')).toBe(true);
    expect(JSON.parse(reply.body).error).toMatch(message);
    await expectServing();
  });

  test('/cube-root without a number', async () => {
    const reply = await get('/cube-root');
    expect([reply.status, JSON.parse(reply.body).error]).toEqual([400, expect.stringMatching(/^missing number: use \/cube-root\//)]);
  });
});

describe('paths and methods', () => {
  test.each(['/', '/square-root/4/extra', '/cube-root/8/extra', '/squareroot/4', '/SQUARE-ROOT/4', '/cube-root8', '/favicon.ico'])('%s is 404 JSON naming both endpoints', async (path) => {
    const reply = await get(path);
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body).error).toBe(`no such path ${JSON.stringify(path)}: use /square-root/<number> or /cube-root/<number> (probes: /healthz, /readyz)`);
    await expectServing();
  });

  test('a very long unknown path is not echoed whole', async () => {
    const reply = await get(`/${'x'.repeat(4000)}`);
    expect(reply.status).toBe(404);
    expect(reply.body.length).toBeLessThan(300);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s is 405 with Allow', async (method) => {
    for (const path of ['/square-root/4', '/cube-root/8', '/healthz', '/readyz']) {
      const reply = await get(path, method);
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(reply.body).error).toBe(`method ${method} not allowed: use GET, HEAD on /square-root/<number> or /cube-root/<number>, /healthz or /readyz`);
    }
    await expectServing();
  });

  test('CONNECT gets the same 405 JSON error, then the connection closes', async () => {
    const reply = await expectJsonErrorAndClose('CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n', 405, /^method CONNECT not allowed/);
    expect(reply.headers.allow).toBe('GET, HEAD');
    // Bytes sent after it, as a client expecting a tunnel would, are not taken for a request.
    await expectJsonErrorAndClose('CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n', 405, /CONNECT/);
    await expectServing();
  });

  test('HEAD answers like GET without a body', async () => {
    const reply = await get('/square-root/4', 'HEAD');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('');
    expect(reply.headers['content-length']).toBe(String('{"InputNumber":4,"SquareRoot":2}\n'.length));
  });

  test('health endpoints', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}\n' });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: '{"status":"ready"}\n' });
    expect(server.ready).toBe(true);
  });
});

describe('malformed HTTP does not crash the server', () => {
  test.each([
    ['garbage request line', 'THIS IS NOT HTTP\r\n\r\n'],
    ['bad header', 'GET /square-root/4 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['bad version', 'GET /square-root/4 HTTP/9.9\r\n\r\n'],
  ])('%s gets 400 and a closed connection', async (_label, bytes) => {
    await expectJsonErrorAndClose(bytes, 400, /^malformed HTTP request/);
    await expectServing();
  });

  test.each(['identity', 'gzip', 'chunked, identity'])('Transfer-Encoding: %s gets one 400 (no 200 first) and a closed connection', async (codings) => {
    const raw = await rawExchange(port, `GET /square-root/4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${codings}\r\n\r\n`);
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/json\r\nContent-Length: 67\r\nConnection: close\r\n/);
    expect(raw.endsWith('\r\n\r\n{"error":"malformed HTTP request (HPE_INVALID_TRANSFER_ENCODING)"}\n')).toBe(true);
    await expectServing();
  });

  test('a malformed chunk after the request was answered only closes the connection: one request, one answer', async () => {
    const raw = await rawExchange(port, 'GET /square-root/4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.endsWith('\r\n\r\n{"InputNumber":4,"SquareRoot":2}\n')).toBe(true);
    await expectServing();
  });

  test('a request after one with Connection: close is not answered (RFC 9112, section 9.6): no 400 after the 200', async () => {
    const raw = await rawExchange(port, 'GET /square-root/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /cube-root/8 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.endsWith('\r\nConnection: close\r\n\r\n{"InputNumber":4,"SquareRoot":2}\n')).toBe(true);
  });

  test('an HTTP/1.1 request without a Host header gets 400 JSON and a closed connection', async () => {
    await expectJsonErrorAndClose('GET /square-root/4 HTTP/1.1\r\n\r\n', 400, /^missing Host header/);
    // Checked before the Expect header, as Go did.
    await expectJsonErrorAndClose('GET /square-root/4 HTTP/1.1\r\nExpect: foo\r\n\r\n', 400, /^missing Host header/);
    await expectServing();
  });

  test('HTTP/1.0 needs no Host header', async () => {
    const reply = parseRawResponse(await rawExchange(port, 'GET /square-root/4 HTTP/1.0\r\n\r\n'));
    expect([reply.status, reply.body]).toEqual([200, '{"InputNumber":4,"SquareRoot":2}\n']);
  });

  test('an Expect header other than 100-continue gets 417 JSON naming it, and a closed connection', async () => {
    await expectJsonErrorAndClose('GET /square-root/4 HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n', 417,
      /^unsupported Expect header "foo": only 100-continue/);
    await expectServing();
  });

  test('Expect: 100-continue still gets 100 Continue and the answer', async () => {
    const reply = await rawExchange(port,
      'GET /square-root/4 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(reply.endsWith('\r\n\r\n{"InputNumber":4,"SquareRoot":2}\n')).toBe(true);
  });

  test('absolute-form request targets are routed by their path', async () => {
    const reply = await rawExchange(port, 'GET http://number-crunch/square-root/4?x=1 HTTP/1.1\r\nHost: number-crunch\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply.endsWith('\r\n\r\n{"InputNumber":4,"SquareRoot":2}\n')).toBe(true);
  });

  test('an absolute-form target with a / in its query is routed by its empty path: 404, not the query', async () => {
    const reply = parseRawResponse(await rawExchange(port, 'GET http://x?/square-root/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect([reply.status, reply.body]).toEqual([404, '{"error":"no such path \\"/\\": use /square-root/<number> or /cube-root/<number> (probes: /healthz, /readyz)"}\n']);
  });

  test('OPTIONS * is answered, not crashed on', async () => {
    const reply = await rawExchange(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    await expectServing();
  });

  test('a URL longer than the header limit gets 431', async () => {
    await expectJsonErrorAndClose(`GET /square-root/${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, /too large/);
    await expectServing();
  });

  test('oversized headers get 431', async () => {
    await expectJsonErrorAndClose(`GET /square-root/4 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /too large/);
    await expectServing();
  });

  test('after an error answer, a client that keeps its side open is disconnected soon, so shutdown is not held up', async () => {
    const other = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 5_000 });
    const otherPort = (await other.listen()).port;
    const clients = ['CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n', 'THIS IS NOT HTTP\r\n\r\n'].map(async (bytes) => {
      const socket = connect({ port: otherPort, host: '127.0.0.1', allowHalfOpen: true }); // never ends its side
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.on('end', () => resolve()).resume().write(bytes)); // answer read
      return socket;
    });
    const sockets = await Promise.all(clients);
    const started = Date.now();
    await other.shutdown();
    expect(Date.now() - started).toBeLessThan(2_000);
    sockets.forEach((socket) => socket.destroy());
  });

  test('request headers that do not arrive in time get 408 JSON and a closed connection', async () => {
    const slow = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 1_000, headersTimeoutMs: 300 });
    try {
      const slowPort = (await slow.listen()).port;
      const raw = await rawExchange(slowPort, 'GET /square-root/4 HTTP/1.1\r\nHost: x\r\n'); // never finished
      expect(raw).toBe('HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: 64\r\nConnection: close\r\n\r\n{"error":"request timeout: the request did not arrive in time"}\n');
    } finally {
      await slow.shutdown();
    }
  });

  test('a client that disconnects mid-request does no harm', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.write('GET /square-root/4 HTTP/1.1\r\nHo', () => resolve()));
    socket.destroy();
    await expectServing();
  });
});

describe('bind address', () => {
  test('without a host it binds every interface (IPv6 and IPv4, or IPv4 alone) and answers on IPv4 loopback', async () => {
    const everywhere = new NumberCrunchServer({ port: 0, drainTimeoutMs: 1_000 });
    try {
      const address = await everywhere.listen();
      expect(['::', '0.0.0.0']).toContain(address.address);
      const reply = await httpRequest(address.port, '/square-root/4');
      expect([reply.status, reply.body]).toEqual([200, '{"InputNumber":4,"SquareRoot":2}\n']);
    } finally {
      await everywhere.shutdown();
    }
  });

  test('a port in use is an error, not a hang', async () => {
    const second = new NumberCrunchServer({ port, host: '127.0.0.1', drainTimeoutMs: 1_000 });
    await expect(second.listen()).rejects.toThrow(/EADDRINUSE/);
    await second.shutdown();
  });
});
