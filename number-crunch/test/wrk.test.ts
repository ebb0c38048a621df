import { assertClean, loadSettings, parseWrkOutput } from '../bench/wrk';

const SAMPLE = `Running 5s test @ http://127.0.0.1:8080/square-root/4
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.31ms  320.00us   9.87ms   90.00%
    Req/Sec    24.51k     1.20k   27.00k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.40ms
     90%    1.70ms
     99%    2.50ms
  243900 requests in 5.00s, 40.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  48780.12
Transfer/sec:      8.00MB
`;

test('parses wrk --latency output, units included', () => {
  expect(parseWrkOutput(SAMPLE)).toEqual({
    requests: 243900, requestsPerSecond: 48780.12, p50Ms: 0.85, p99Ms: 2.5, non2xx: 7, socketErrors: 3,
  });
});

test('a report it cannot read is an error, not a zero', () => {
  expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/wrk: no request count/);
});

test('a run with errors fails loudly', () => {
  expect(() => assertClean('x', parseWrkOutput(SAMPLE))).toThrow(/x: 7 non-2xx responses, 3 socket errors/);
  expect(() => assertClean('y', { ...parseWrkOutput(SAMPLE), non2xx: 0, socketErrors: 0 })).not.toThrow();
});

test('settings are bounded', () => {
  expect(loadSettings({})).toEqual({ durationSeconds: 10, connections: 64, threads: 2 });
  expect(() => loadSettings({ BENCH_SECONDS: '100000' })).toThrow(/BENCH_SECONDS must be an integer from 1 to 120/);
});
