import { formatTlsReport, HTTPS_KEEPALIVE_MAX_RATIO, keepAliveCheck, tlsCost } from '../bench/tls-cost';

const FIGURES = { plainKeepAlive: 20, httpsKeepAlive: 24, plainNewConnection: 80, httpsNewConnection: 1080 };

test('the target of the issue: HTTPS keep-alive at most 1.3 times plain HTTP', () => {
  expect(HTTPS_KEEPALIVE_MAX_RATIO).toBe(1.3);
});

test('keep-alive ratio, the handshake beyond a plain new connection, and new HTTPS connections per CPU-second', () => {
  expect(tlsCost(FIGURES)).toEqual({ keepAliveRatio: 1.2, handshakeUs: 1000, newHttpsConnectionsPerCpuSecond: 1e6 / 1080 });
});

test('a figure that is zero, negative or not a number is no measurement', () => {
  expect(() => tlsCost({ ...FIGURES, plainKeepAlive: 0 })).toThrow('nginx CPU per request, plainKeepAlive: 0 is no measurement');
  expect(() => tlsCost({ ...FIGURES, httpsNewConnection: -5 })).toThrow('httpsNewConnection: -5 is no measurement');
  expect(() => tlsCost({ ...FIGURES, httpsKeepAlive: NaN })).toThrow('httpsKeepAlive: NaN is no measurement');
});

test('keep-alive passes up to 1.3x and fails above', () => {
  expect(keepAliveCheck(tlsCost(FIGURES))).toEqual(['nginx CPU per request, HTTPS / plain HTTP (keep-alive)', '1.20x (target <= 1.3x)', true]);
  expect(keepAliveCheck(tlsCost({ ...FIGURES, httpsKeepAlive: 26 }))[2]).toBe(true);
  expect(keepAliveCheck(tlsCost({ ...FIGURES, httpsKeepAlive: 26.2 }))).toEqual(['nginx CPU per request, HTTPS / plain HTTP (keep-alive)', '1.31x (target <= 1.3x)', false]);
  expect(keepAliveCheck(tlsCost(FIGURES), 1.1)).toEqual(['nginx CPU per request, HTTPS / plain HTTP (keep-alive)', '1.20x (target <= 1.1x)', false]);
});

test('the report: a row a run, the ratio, and the handshake as a figure', () => {
  const runs = [
    { label: 'plain HTTP, keep-alive', rate: 16600.4, p50Ms: 0.314, p99Ms: 1.2, nginxUs: 20 },
    { label: 'HTTPS, new connection per request', rate: 500, p50Ms: 2.5, p99Ms: 4.256, nginxUs: 1080 },
  ];
  expect(formatTlsReport(runs, tlsCost(FIGURES), 'TLSv1.3, X25519MLKEM768, RSA 2048')).toEqual([
    "| nginx, the chart's config (TLSv1.3, X25519MLKEM768, RSA 2048) | req/s | p50 ms | p99 ms | nginx CPU-us per request |",
    '| --- | ---: | ---: | ---: | ---: |',
    '| plain HTTP, keep-alive | 16600 | 0.31 | 1.20 | 20.0 |',
    '| HTTPS, new connection per request | 500 | 2.50 | 4.26 | 1080.0 |',
    '',
    "HTTPS keep-alive costs nginx 1.20x plain HTTP's CPU per request.",
    "A full TLS handshake costs nginx 1000 CPU-us (a new HTTPS connection's request minus a new plain one's):"
      + ' one nginx worker, a whole core, serves about 920 new HTTPS connections per second.',
  ]);
});
