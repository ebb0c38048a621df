import { assertFixedRateClean, assertNewConnectionPerRequest, fixedRateFor, parseFixedRateOutput } from '../bench/fixed-rate';
import { costOf, formatMetricsCost, median, metricsCostSettings, roundOrder, withinBound } from '../bench/metrics-cost';
import { METRICS_COST_SERVICE, VARIANT_ENV } from '../bench/metrics-cost-service';
import { cpuUsPerRequest, parseCpuTicks } from '../bench/proc';
import { httpRequest } from './http-client';
import { startService } from './service-process';

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

test('median: the middle value, or the mean of the two middle ones; none is an error', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([7])).toBe(7);
  expect(() => median([])).toThrow(/median of no values: .*BENCH_METRICS_ROUNDS/);
});

test('the metrics\' cost: medians of the on and off runs, and the median of the rounds\' on / off ratios', () => {
  // The machine slows down in the third round: both variants with it, so its ratio stays near the others.
  const rounds = [{ on: 11, off: 10 }, { on: 10.5, off: 10 }, { on: 24, off: 20 }];
  expect(costOf(rounds)).toEqual({ onUs: 11, offUs: 10, ratio: 1.1 });
  expect(costOf([{ on: 12, off: 10 }, { on: 9, off: 10 }])).toEqual({ onUs: 10.5, offUs: 10, ratio: 1.05 });
});

test('the bound: at most 10% added, exactly 10% included', () => {
  expect(withinBound(1.1)).toBe(true);
  expect(withinBound(1.1001)).toBe(false);
  expect(withinBound(0.97)).toBe(true);
  expect(withinBound(1.06, 0.05)).toBe(false);
});

test('rounds swap which variant goes first', () => {
  expect([0, 1, 2, 3].map(roundOrder)).toEqual([['on', 'off'], ['off', 'on'], ['on', 'off'], ['off', 'on']]);
});

test('the metrics-cost settings: 7 rounds, runs a tenth of BENCH_SECONDS and at least 1 s; bad rounds named', () => {
  expect(metricsCostSettings(10, {})).toEqual({ rounds: 7, runSeconds: 1 });
  expect(metricsCostSettings(30, { BENCH_METRICS_ROUNDS: '12' })).toEqual({ rounds: 12, runSeconds: 3 });
  expect(metricsCostSettings(2, {})).toEqual({ rounds: 7, runSeconds: 1 });
  for (const bad of ['x', '0', '31', '2.5', '']) {
    expect(() => metricsCostSettings(10, { BENCH_METRICS_ROUNDS: bad })).toThrow(`BENCH_METRICS_ROUNDS is "${bad}": set it to an integer from 1 to 30 (default 7)`);
  }
});

test('the metrics-cost table: medians, the ratio as added percent, every round, PASS or FAIL per scenario', () => {
  const scenario = (label: string, rounds: Array<{ on: number; off: number }>) => ({ label, rounds, cost: costOf(rounds) });
  const lines = formatMetricsCost({
    scenarios: [scenario('fast path', [{ on: 12.5, off: 12 }, { on: 13, off: 12 }]), scenario('node:http', [{ on: 23, off: 20 }])],
    fixedRate: 20000,
    counted: { histogram: 10, answered: 10 },
  });
  expect(lines).toEqual([
    '| metrics on vs off, CPU-us per request | on (median) | off (median) | on / off (median of rounds) | rounds, on/off | at most +10% |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    '| fast path | 12.75 | 12.00 | 1.063 (+6.3%) | 12.50/12.00, 13.00/12.00 | PASS |',
    '| node:http | 23.00 | 20.00 | 1.150 (+15.0%) | 23.00/20.00 | FAIL |',
  ]);
});

describe('the metrics-cost bench\'s service', () => {
  const start = (env: Record<string, string>) => startService(env, [process.execPath, '--import', 'tsx'], METRICS_COST_SERVICE);

  test.each([['on', true], ['off', false]])('%s: the compiled server, with metrics only when on, on both request paths', async (variant, kept) => {
    for (const fastPath of ['1', '0']) {
      const service = await start({ [VARIANT_ENV]: variant, HTTP_FAST_PATH: fastPath });
      try {
        const listening = await service.waitForLog('listening');
        expect(listening).toMatchObject({ variant, fastPath: fastPath === '1' });
        expect(await httpRequest(service.port, '/square-root/4')).toMatchObject({ status: 200, body: '{"InputNumber":4,"SquareRoot":2}\n' });
        if (kept) {
          const scraped = await httpRequest(listening.metricsPort as number, '/metrics');
          expect(scraped.body).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_route="/square-root/{number}",http_response_status_code="200"} 1\n');
        } else {
          expect(listening.metricsPort).toBeUndefined();
        }
      } finally {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
  });

  test('any other variant is refused, naming the variable and its values', async () => {
    await expect(start({ [VARIANT_ENV]: 'yes' })).rejects.toThrow(/METRICS_COST_VARIANT is \\"yes\\": set it to on \(metrics kept\) or off \(no RequestMetrics\)/);
  });
});
