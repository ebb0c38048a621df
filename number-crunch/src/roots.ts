/**
 * The service's logic as pure functions: parse the number in the path, answer with its square or cube root or with a
 * 4xx explaining what was wrong. No I/O here, so all of it is tested without a server.
 *
 * Bodies are byte for byte what the original Go service sent for every number it answered: Go's `encoding/json`
 * Encoder writes a float64 as the shortest text that reads back as the same double (exponent form below 1e-6 and from
 * 1e21 up, `1e-7` and `1e+21`), which is JavaScript's number-to-string, and ends the body with a newline.
 */
import { goCbrt } from './cbrt';

/** Longest number text accepted; longer input gets 400 instead of being parsed. */
export const MAX_INPUT_LENGTH = 64;

/** Path prefix of the square-root endpoint. */
export const SQUARE_ROOT_PREFIX = '/square-root/';

/** Path prefix of the cube-root endpoint. */
export const CUBE_ROOT_PREFIX = '/cube-root/';

/** The endpoints as error messages name them. */
export const ENDPOINTS_HINT = `${SQUARE_ROOT_PREFIX}<number> or ${CUBE_ROOT_PREFIX}<number>`;

/** An HTTP answer: status code and JSON body text. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** The result of parsing: a number, or what was wrong with the text. */
export type Parsed = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: string };

// Go's strconv.ParseFloat syntax, which the original service used: decimal with optional sign, fraction and exponent,
// or a hexadecimal mantissa with a mandatory binary exponent ("0x1.8p1" = 3). Underscores are checked and removed first.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;
const NON_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;

/** Number of significant bits of a float64, and the exponent of its smallest subnormal. */
const MANTISSA_BITS = 53;
const MIN_EXPONENT = -1074;

/**
 * Go's rule for digit-separating underscores (strconv's `underscoreOK`): each `_` must sit between two digits, or
 * between the `0x` prefix and a digit. "1_000" and "0x_1p0" pass; "_1", "1__0", "1_.5", "1e_5" and "1_" do not.
 */
export function underscoresAllowed(text: string): boolean {
  let s = text[0] === '+' || text[0] === '-' ? text.slice(1) : text;
  let saw: 'start' | 'digit' | 'underscore' | 'other' = 'start';
  const hex = /^0[xX]/.test(s);
  if (hex) {
    s = s.slice(2);
    saw = 'digit'; // the base prefix counts as a digit
  }
  for (const c of s) {
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = 'digit';
    } else if (c === '_') {
      if (saw !== 'digit') return false;
      saw = 'underscore';
    } else {
      if (saw === 'underscore') return false;
      saw = 'other';
    }
  }
  return saw !== 'underscore';
}

/**
 * The value of a hexadecimal float, rounded once to the nearest float64 (ties to even), as Go does:
 * exact integer arithmetic on the mantissa, so neither long mantissas nor extreme exponents lose precision.
 */
function parseHexFloat(m: RegExpExecArray): number {
  const [, sign, whole, fraction = '', exponentText] = m;
  let mantissa = BigInt(`0x${whole}${fraction}`);
  if (mantissa === 0n) return sign === '-' ? -0 : 0;
  // value = mantissa * 2^exponent. The mantissa has at most 256 bits, so exponents beyond +-1e5 are 0 or Infinity
  // either way: clamping keeps the arithmetic small however many exponent digits were sent.
  let exponent = Math.max(-1e5, Math.min(1e5, Number(exponentText))) - 4 * fraction.length;
  const bits = mantissa.toString(2).length;
  // Keep 53 significant bits, fewer for subnormals, so that the only rounding is this one.
  const keep = Math.min(MANTISSA_BITS, bits + exponent - MIN_EXPONENT);
  if (keep < bits) {
    const drop = BigInt(bits - Math.max(keep, 0));
    const half = 1n << (drop - 1n);
    const rest = mantissa & ((1n << drop) - 1n);
    mantissa >>= drop;
    exponent += Number(drop);
    if (rest > half || (rest === half && (mantissa & 1n) === 1n)) mantissa += 1n;
  }
  // mantissa <= 2^53 and 2^exponent is a float64 here, so the product is exact (or Infinity past the largest float64).
  const value = Number(mantissa) * 2 ** exponent;
  return sign === '-' ? -value : value;
}

function fail(error: string): Parsed {
  return { ok: false, error };
}

/**
 * Parses the number text of a request (already percent-decoded).
 *
 * Accepts exactly what Go's `strconv.ParseFloat(s, 64)` accepts (the original service's parser), provided the result
 * is a finite number (the square root refuses negative ones itself):
 * - decimal: optional sign, digits with an optional point (`4`, `+4`, `2.25`, `.5`, `5.`, `007`), optional exponent
 *   (`1e2`, `2.5E-3`);
 * - hexadecimal: `0x` mantissa with a mandatory binary exponent (`0x1.8p1` = 3, `0x10p0` = 16; `0x10` is refused);
 * - underscores between digits, as in Go literals (`1_000`, `0x_1p4`);
 * - results below the smallest float64 become 0, as in Go; `-0` (and any negative zero) is answered as 0.
 * Refused, with the reason: empty text, more than MAX_INPUT_LENGTH characters, NaN and Inf/Infinity (any case or
 * sign), values that overflow float64 (`1e999`), and everything else Go rejects (spaces, commas, `1e`, `0x`, ...).
 * `prefix` is the endpoint's path prefix, for the message about a missing number.
 */
export function parseNumber(text: string, prefix = SQUARE_ROOT_PREFIX): Parsed {
  if (text.length === 0) return fail(`missing number: use ${prefix}<number>, e.g. ${prefix}8`);
  if (text.length > MAX_INPUT_LENGTH) {
    return fail(`number too long: ${text.length} characters, at most ${MAX_INPUT_LENGTH} are accepted`);
  }
  if (NON_FINITE.test(text)) return fail(`"${text}" is not a finite number`);
  const notANumber = () =>
    fail(`"${text}" is not a number: use digits with an optional sign, decimal point and exponent, e.g. 2.25 or 1e6`);
  let digits = text;
  if (text.includes('_')) {
    if (!underscoresAllowed(text)) return notANumber();
    digits = text.replace(/_/g, '');
  }
  let value: number;
  if (DECIMAL.test(digits)) {
    value = Number(digits);
  } else {
    const hex = HEX.exec(digits);
    if (!hex || (hex[2] === '' && (hex[3] ?? '') === '')) return notANumber();
    value = parseHexFloat(hex);
  }
  if (!Number.isFinite(value)) return fail(`"${text}" is out of range: the largest accepted number is about 1.8e308`);
  return { ok: true, value: value === 0 ? 0 : value }; // -0 counts as 0
}

/** JSON body of an error answer, with the newline Go's JSON encoder ends every body with. */
export function errorBody(error: string): string {
  return `${JSON.stringify({ error })}\n`;
}

/**
 * The JSON text of a finite number as Go's encoding/json writes a float64: JavaScript's shortest round-trip text
 * (ECMAScript Number::toString) is the same digits with the same switch to exponent form (below 1e-6, from 1e21 up).
 */
function goJsonNumber(value: number): string {
  return `${value}`;
}

/** The number in a raw (still percent-encoded) path segment, or the 400 answer saying what was wrong with it. */
function readSegment(rawSegment: string, prefix: string): Parsed {
  // Decoding is bounded: text this long is refused before and after decoding.
  if (rawSegment.length > MAX_INPUT_LENGTH * 3) {
    return fail(`number too long: at most ${MAX_INPUT_LENGTH} characters are accepted`);
  }
  let text = rawSegment;
  if (rawSegment.includes('%')) {
    try {
      text = decodeURIComponent(rawSegment);
    } catch {
      return fail('malformed percent-encoding in the path');
    }
  }
  return parseNumber(text, prefix);
}

/** The answer for the raw (still percent-encoded) path segment after `/square-root/`. */
export function squareRoot(rawSegment: string): Answer {
  const parsed = readSegment(rawSegment, SQUARE_ROOT_PREFIX);
  if (!parsed.ok) return { status: 400, body: errorBody(parsed.error) };
  const { value } = parsed;
  if (value < 0) {
    return { status: 400, body: errorBody(`"${value}" is negative: the square root is defined here for numbers >= 0 only (the cube root takes any: ${CUBE_ROOT_PREFIX}${value})`) };
  }
  return { status: 200, body: `{"InputNumber":${goJsonNumber(value)},"SquareRoot":${goJsonNumber(Math.sqrt(value))}}\n` };
}

/** The answer for the raw (still percent-encoded) path segment after `/cube-root/`: Go's `math.Cbrt`, any sign. */
export function cubeRoot(rawSegment: string): Answer {
  const parsed = readSegment(rawSegment, CUBE_ROOT_PREFIX);
  if (!parsed.ok) return { status: 400, body: errorBody(parsed.error) };
  const { value } = parsed;
  return { status: 200, body: `{"InputNumber":${goJsonNumber(value)},"CubeRoot":${goJsonNumber(goCbrt(value))}}\n` };
}
