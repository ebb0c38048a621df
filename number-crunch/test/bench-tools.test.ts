import { assertFixedRateClean, assertNewConnectionPerRequest, fixedRateFor, parseFixedRateOutput } from '../bench/fixed-rate';
import { cpuUsPerRequest, parseCpuTicks } from '../bench/proc';

test('CPU ticks are utime + stime (fields 14 and 15 of /proc/<pid>/stat), counted after the command name', () => {
  // A command name with spaces and parentheses must not shift the fields.
  const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 12345 0 0 0 1500 250 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
  expect(parseCpuTicks(stat)).toBe(1750);
  expect(() => parseCpuTicks('4242 (x) S 1')).toThrow(/cannot read CPU times/);
});

const SAMPLE = '{"requests":100000,"errors":0,"non200":0,"seconds":10.0001,"rate":9999.9,"p50Ms":0.31,"p90Ms":0.5,"p99Ms":1.2,'
  + '"p999Ms":3.4,"maxMs":7.5,"sendLagP50Ms":0.1,"sendLagP99Ms":0.4,"wireP50Ms":0.2,"wireP99Ms":0.9,"connections":64,'
  + '"connectionsOpened":64,"resumed":0}\n';
const TLS_SAMPLE = SAMPLE.replace('"connectionsOpened":64,"resumed":0}', '"connectionsOpened":5000,"resumed":0,'
  + '"tls":{"version":"TLSv1.3","cipher":"TLS_AES_128_GCM_SHA256","group":"X25519MLKEM768","certificateKey":"RSA 2048"}}').replace('"requests":100000', '"requests":5000');

test('reads the fixed-rate generator\'s JSON line', () => {
  expect(parseFixedRateOutput(SAMPLE)).toMatchObject({ requests: 100000, p50Ms: 0.31, p99Ms: 1.2, sendLagP99Ms: 0.4, wireP99Ms: 0.9 });
});

test('reads what a TLS run negotiated; a plain run has none', () => {
  expect(parseFixedRateOutput(TLS_SAMPLE)).toMatchObject({ requests: 5000, connectionsOpened: 5000, resumed: 0,
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'X25519MLKEM768', certificateKey: 'RSA 2048' } });
  expect(parseFixedRateOutput(SAMPLE).tls).toBeUndefined();
  expect(() => parseFixedRateOutput(TLS_SAMPLE.replace('"group":"X25519MLKEM768",', ''))).toThrow(/no tls.group in its output/);
});

test('a run with a new connection per request must have opened one for each and resumed no TLS session', () => {
  const r = parseFixedRateOutput(TLS_SAMPLE);
  expect(() => assertNewConnectionPerRequest('x', r)).not.toThrow();
  expect(() => assertNewConnectionPerRequest('x', parseFixedRateOutput(SAMPLE))).toThrow(/x: 64 connections for 100000 requests, 0 TLS sessions resumed/);
  expect(() => assertNewConnectionPerRequest('y', { ...r, resumed: 1 })).toThrow(/y: 5000 connections for 5000 requests, 1 TLS sessions resumed/);
});

test('output it cannot read is an error, not a zero', () => {
  expect(() => parseFixedRateOutput('fixedrate: -url must be http://host:port/path')).toThrow(/not JSON/);
  expect(() => parseFixedRateOutput('{"requests":5}')).toThrow(/no errors in its output/);
});

test('a fixed-rate run that fell behind or saw errors fails loudly', () => {
  const r = parseFixedRateOutput(SAMPLE);
  expect(() => assertFixedRateClean('x', r, 100000)).not.toThrow();
  expect(() => assertFixedRateClean('x', r, 100001)).toThrow(/x: 100000 of 100001 requests answered/);
  expect(() => assertFixedRateClean('y', { ...r, non200: 3 }, 100000)).toThrow(/y: .* 3 non-200, 0 errors/);
});

test('one fixed rate for several targets: half the slowest capacity, in hundreds, at least 100', () => {
  expect(fixedRateFor([40989, 33313])).toBe(16600);
  expect(fixedRateFor([150])).toBe(100);
});

test('CPU microseconds per request', () => {
  expect(cpuUsPerRequest(1.5, 100_000)).toBe(15);
});
