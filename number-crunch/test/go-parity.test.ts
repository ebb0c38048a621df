import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goCbrt } from '../src/cbrt';
import { cubeRoot, squareRoot } from '../src/roots';
import { buildGo } from './go-reference';

// Byte parity with the original Go service, checked against Go itself: bench/go-reference, built here with the
// machine's Go, prints for each input the body the original sent (strconv.ParseFloat, math.Sqrt / math.Cbrt, an
// encoding/json Encoder) or that it sent none (ParseFloat failed, or the encoder refused NaN/Inf: a crash or an empty
// 200). Every body it sent must be ours byte for byte; where it sent none, ours is a 400 JSON error. One deliberate
// difference: a negative zero (`-0`, `-1e-400`) is answered as 0, where Go wrote "-0".

let dir: string;
let goreference: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nc-go-parity-'));
  goreference = buildGo('.', join(dir, 'goreference'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A seeded generator (xorshift128+), so every run checks the same inputs and a failure can be reproduced. */
function random(seed: bigint) {
  let s0 = seed | 1n;
  let s1 = (seed * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  const next64 = () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & 0xffffffffffffffffn;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (s1 + y) & 0xffffffffffffffffn;
  };
  const view = new DataView(new ArrayBuffer(8));
  return {
    bits: next64,
    int: (n: number) => Number(next64() % BigInt(n)),
    /** A double from 64 random bits: any sign and exponent, subnormals and huge ones included (NaN/Inf skipped). */
    double(): number {
      for (;;) {
        view.setBigUint64(0, next64());
        const x = view.getFloat64(0);
        if (Number.isFinite(x)) return x;
      }
    },
  };
}

/** Inputs: edge cases by hand, random doubles in several notations, integers, cubes, Go-only syntax, and fuzz. */
function inputs(): string[] {
  const r = random(0x5eed2026n);
  const out = new Set<string>([
    '0', '-0', '+0', '0.0', '-0.0', '1e-400', '-1e-400', '5e-324', '-5e-324', '4.9e-324', '2.2250738585072014e-308',
    '2.225073858507201e-308', '1.7976931348623157e308', '-1.7976931348623157e308', '1.7976931348623158e308', '1e308',
    '1e21', '1e20', '9.999999999999999e20', '1e-6', '9.99e-7', '1e-7', '0.000001', '1', '-1', '8', '-8', '27', '64',
    '2', '3', '0.001', '1000', '-1000', '0.1', '0.2', '0.3', '1e300', '-1e300', '1e-300', '123456789', '4.5', '2.25',
    'NaN', 'nan', '-NaN', 'Inf', '+Inf', '-Inf', 'inf', 'Infinity', '-infinity', '1e999', '-1e999', '0x1p-1074',
    '0x1p-1075', '0x1.fffffffffffffp1023', '0x1p1024', '0x10', '0x1p4', '-0x1p4', '1_000', '1__000', '_1', '0x_1p0',
    '', ' 1', '1 ', '1,5', 'abc', '1e', '.', '-.', '.5', '5.', '+.5e1', '00012', '1E+2', '1e+2_0', '9007199254740993',
    '18446744073709551616', '-9007199254740992', '3.4028234663852886e38', '1.401298464324817e-45',
  ]);
  for (let i = 0; i < 25_000; i++) {
    const x = r.double();
    out.add(String(x));
    out.add(x.toExponential(r.int(21)));
    out.add(x.toPrecision(1 + r.int(21)));
    if (Math.abs(x) < 1e21) out.add(x.toFixed(r.int(12)));
  }
  for (let i = 0; i < 10_000; i++) {
    out.add(String(r.int(2 ** 53) - 2 ** 52)); // integers of any size up to 2^53
    out.add(String(r.int(1_000_000) - 500_000)); // small integers
    const n = r.int(200_000) - 100_000;
    out.add(String(n * n * n)); // perfect cubes, exact below 2^53
    out.add(String(n * n));
    out.add(`${r.int(10)}.${r.int(1_000_000)}e${r.int(700) - 350}`);
    out.add(`${r.int(2) ? '-' : ''}0x${r.bits().toString(16)}p${r.int(2200) - 1100}`); // hex floats, correctly rounded
    out.add(`${r.int(2) ? '-' : ''}0x1.${r.bits().toString(16).slice(0, 1 + r.int(16))}p${r.int(2200) - 1100}`);
  }
  // Fuzz: short strings over number characters, for parser agreement on what is a number at all.
  const alphabet = '0123456789012345678901234567890123456789.eE+-_xXpPaAfFnNiItTyY';
  for (let i = 0; i < 40_000; i++) {
    let s = '';
    for (let n = 1 + r.int(10); n > 0; n--) s += alphabet[r.int(alphabet.length)];
    out.add(s);
  }
  return [...out].filter((s) => s.length <= 64);
}

type Endpoint = 'square-root' | 'cube-root';
const OURS: Record<Endpoint, (segment: string) => { status: number; body: string }> = { 'square-root': squareRoot, 'cube-root': cubeRoot };

/** The original's answers from Go: a body, or undefined where it sent none. */
function goAnswers(lines: Array<[Endpoint, string]>): Array<string | undefined> {
  const stdin = lines.map(([endpoint, text]) => `${endpoint}\t${text}\n`).join('');
  const out = execFileSync(goreference, ['-answer'], { input: stdin, maxBuffer: 256 * 1024 * 1024 }).toString();
  const answers = out.split('\n').slice(0, -1).map((line) => (line.startsWith('200\t') ? `${line.slice(4)}\n` : undefined));
  expect(answers).toHaveLength(lines.length);
  return answers;
}

const NEGATIVE_ZERO = /^\{"InputNumber":-0,"(SquareRoot|CubeRoot)":-0\}\n$/;

test('every body the original sent, ours sends byte for byte; where it sent none, ours is a 400 JSON error', () => {
  const texts = inputs();
  const lines: Array<[Endpoint, string]> = texts.flatMap((t) => [['square-root', t], ['cube-root', t]] as Array<[Endpoint, string]>);
  const go = goAnswers(lines);
  const mismatches: string[] = [];
  let answered = 0;
  let negativeZeros = 0;
  lines.forEach(([endpoint, text], i) => {
    const ours = OURS[endpoint](encodeURIComponent(text));
    let expected = go[i];
    if (expected !== undefined && NEGATIVE_ZERO.test(expected)) {
      negativeZeros += 1;
      expected = expected.replace(/-0/g, '0'); // the deliberate difference
    }
    if (expected === undefined) {
      const refused = ours.status === 400 && ours.body.endsWith('}\n') && typeof JSON.parse(ours.body).error === 'string';
      if (!refused) mismatches.push(`/${endpoint}/${text}: Go sent no body, ours ${ours.status} ${JSON.stringify(ours.body)}`);
    } else {
      answered += 1;
      if (ours.status !== 200 || ours.body !== expected) {
        mismatches.push(`/${endpoint}/${text}: Go ${JSON.stringify(expected)}, ours ${ours.status} ${JSON.stringify(ours.body)}`);
      }
    }
  });
  expect(mismatches.slice(0, 20)).toEqual([]);
  // The inputs reach every kind of answer: hundreds of thousands answered, many refused, negative zeros met.
  expect(lines.length).toBeGreaterThan(300_000);
  expect(answered).toBeGreaterThan(200_000);
  expect(lines.length - answered).toBeGreaterThan(50_000);
  expect(negativeZeros).toBeGreaterThan(2);
}, 120_000);

test("goCbrt is Go's math.Cbrt bit for bit, where Math.cbrt is not (so the check above can tell them apart)", () => {
  const r = random(0xcb127n);
  const xs = Array.from({ length: 100_000 }, () => r.double());
  xs.push(5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308, 1, 8, -27);
  const go = goAnswers(xs.map((x) => ['cube-root', String(x)]));
  const cube = (answer: string | undefined) => JSON.parse(answer!).CubeRoot as number;
  const goDiffers = xs.filter((x, i) => goCbrt(x) !== cube(go[i]));
  const mathDiffers = xs.filter((x, i) => Math.cbrt(x) !== cube(go[i]));
  expect(goDiffers).toEqual([]);
  expect(mathDiffers.length).toBeGreaterThan(1_000); // about 1 in 11 in the measurement
});

test('the Go reference service and ours send the same status and body over HTTP', async () => {
  const { startService } = await import('./service-process');
  const { spawn } = await import('node:child_process');
  const port = 20_000 + (process.pid % 20_000);
  const ref = spawn(goreference, ['-addr', `127.0.0.1:${port}`], { stdio: 'ignore', env: { ...process.env, GOMAXPROCS: '1' } });
  const ours = await startService();
  try {
    const fetchOne = (p: number, path: string) => new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port: p, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']} ${body}`));
      }).on('error', reject);
    });
    for (let i = 0; i < 50; i++) {
      try {
        await fetchOne(port, '/healthz');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const r = random(0x477en);
    const paths = ['/square-root/4', '/cube-root/-8', '/cube-root/1e-320', '/square-root/1e21', '/healthz'];
    for (let i = 0; i < 200; i++) {
      const x = r.double();
      paths.push(`/cube-root/${encodeURIComponent(String(x))}`, `/square-root/${encodeURIComponent(String(Math.abs(x)))}`);
    }
    for (const path of paths) expect(`${path} ${await fetchOne(ours.port, path)}`).toBe(`${path} ${await fetchOne(port, path)}`);
  } finally {
    ref.kill('SIGTERM');
    ours.child.kill('SIGTERM');
    await ours.exited;
  }
}, 60_000);
