/**
 * The service's logic as pure functions: parse the number in the path, answer with its square root or with a
 * 4xx explaining what was wrong. No I/O here, so all of it is tested without a server.
 */

/** Longest number text accepted; longer input gets 400 instead of being parsed. */
export const MAX_INPUT_LENGTH = 64;

/** Path prefix of the square-root endpoint. */
export const SQUARE_ROOT_PREFIX = '/square-root/';

/** An HTTP answer: status code and JSON body text. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** The result of parsing: a number, or what was wrong with the text. */
export type Parsed = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: string };

// Go's strconv.ParseFloat syntax, which the original service used: decimal with optional sign, fraction and exponent,
// or a hexadecimal mantissa with a binary exponent ("0x1.8p1" = 3).
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

function parseHexFloat(m: RegExpExecArray): number {
  const [, sign, whole, fraction = '', exponent] = m;
  const digits = whole + fraction;
  const mantissa = parseInt(digits, 16) / 16 ** fraction.length;
  const value = mantissa * 2 ** Number(exponent);
  return sign === '-' ? -value : value;
}

function fail(error: string): Parsed {
  return { ok: false, error };
}

/**
 * Parses the number text of a request. Accepts what Go's `strconv.ParseFloat(s, 64)` accepts except that the
 * result must be a finite, non-negative number: "NaN", "Inf", negatives and values that overflow are refused.
 */
export function parseNumber(text: string): Parsed {
  if (text.length === 0) return fail('missing number: use /square-root/<number>, e.g. /square-root/4');
  if (text.length > MAX_INPUT_LENGTH) {
    return fail(`number too long: ${text.length} characters, at most ${MAX_INPUT_LENGTH} are accepted`);
  }
  if (/^[+-]?(inf|infinity|nan)$/i.test(text)) return fail(`"${text}" is not a finite number`);
  let value: number;
  if (DECIMAL.test(text)) {
    value = Number(text);
  } else {
    const hex = HEX.exec(text);
    if (!hex || (hex[2] === '' && (hex[3] ?? '') === '')) {
      return fail(`"${text}" is not a number: use digits with an optional sign, decimal point and exponent, e.g. 2.25 or 1e6`);
    }
    value = parseHexFloat(hex);
  }
  if (!Number.isFinite(value)) return fail(`"${text}" is out of range: the largest accepted number is about 1.8e308`);
  if (value < 0) return fail(`"${text}" is negative: the square root is defined here for numbers >= 0 only`);
  return { ok: true, value: value === 0 ? 0 : value }; // -0 counts as 0
}

/** JSON body of an error answer. */
export function errorBody(error: string): string {
  return JSON.stringify({ error });
}

/** The answer for the raw (still percent-encoded) path segment after `/square-root/`. */
export function squareRoot(rawSegment: string): Answer {
  // Decoding is bounded: text this long is refused before and after decoding.
  if (rawSegment.length > MAX_INPUT_LENGTH * 3) {
    return { status: 400, body: errorBody(`number too long: at most ${MAX_INPUT_LENGTH} characters are accepted`) };
  }
  let text: string;
  try {
    text = decodeURIComponent(rawSegment);
  } catch {
    return { status: 400, body: errorBody('malformed percent-encoding in the path') };
  }
  const parsed = parseNumber(text);
  if (!parsed.ok) return { status: 400, body: errorBody(parsed.error) };
  return { status: 200, body: JSON.stringify({ InputNumber: parsed.value, SquareRoot: Math.sqrt(parsed.value) }) };
}
