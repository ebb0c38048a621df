/**
 * The cube root exactly as Go's `math.Cbrt` computes it, so that answers match the original service bit for bit.
 *
 * JavaScript's `Math.cbrt` is accurate to within an ulp but rounds differently from Go in about 1 input in 11. Go uses
 * the fdlibm method (Sun's `s_cbrt.c`): an estimate made by dividing the float's bit pattern by 3, a rational
 * polynomial step to about 23 bits, rounding that away from zero to 22 bits, and one Newton step to full precision.
 * Every operation below is an IEEE double operation in the same order as Go's (which does not fuse multiply-adds on
 * amd64), so the result is the same double.
 */

// The float64 being worked on, seen as two 32-bit words (little-endian: [low, high]).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LO = 0;
const HI = 1;

/** High-word offsets that turn "bits / 3" into a cube-root estimate: (682 - 0.033...) * 2^20 and (664 - 0.033...) * 2^20. */
const BIAS_NORMAL = 715094163;
const BIAS_SUBNORMAL = 696219795;
/** Coefficients of the 23-bit step: 19/35, -864/1225, 99/70, 45/28 and 5/14, as Go writes them. */
const P0 = 5.42857142857142815906e-01;
const P1 = -7.05306122448979611050e-01;
const P2 = 1.41428571428571436819e+00;
const P3 = 1.60714285714285720630e+00;
const P4 = 3.57142857142857150787e-01;
/** 2^-1022, the smallest normal double; 2^54 scales a subnormal into the normal range. */
const SMALLEST_NORMAL = 2.2250738585072014e-308;
const TWO_POW_54 = 18014398509481984;
const TWO_POW_32 = 4294967296;

/**
 * The float whose bit pattern is (bits of `x`) / 3 (integer division of the 64-bit pattern) with `bias` added to the
 * high word. `x` is positive, so the high word is below 2^31 and every intermediate below is an exact integer.
 */
function thirdOfBits(x: number, bias: number): number {
  f64[0] = x;
  const hi = u32[HI];
  const lo = u32[LO];
  const hiThird = Math.floor(hi / 3);
  const carried = (hi - hiThird * 3) * TWO_POW_32 + lo; // < 3 * 2^32, exact
  u32[LO] = Math.floor(carried / 3); // < 2^32: no carry into the high word
  u32[HI] = hiThird + bias;
  return f64[0];
}

/** Go's `math.Cbrt(x)`: ±0, ±Infinity and NaN are returned as they are. */
export function goCbrt(x: number): number {
  if (x === 0 || x !== x || x === Infinity || x === -Infinity) return x;
  const negative = x < 0;
  if (negative) x = -x;

  // An estimate good to about 5 bits.
  let t = x < SMALLEST_NORMAL ? thirdOfBits(TWO_POW_54 * x, BIAS_SUBNORMAL) : thirdOfBits(x, BIAS_NORMAL);

  // About 23 bits.
  let r = (t * t) / x;
  let s = P0 + r * t;
  t *= P4 + P3 / (s + P2 + P1 / s);

  // Keep the top 22 bits of the mantissa and add one unit of the next bit: a little above the cube root.
  f64[0] = t;
  const low = ((u32[LO] & 0xc0000000) >>> 0) + 0x40000000; // at most 2^32 (>>> 0: & gives a signed 32-bit result)
  u32[HI] += low >= TWO_POW_32 ? 1 : 0;
  u32[LO] = low; // Uint32Array stores it modulo 2^32
  t = f64[0];

  // One Newton step to 53 bits (error below 0.667 ulp).
  s = t * t; // exact
  r = x / s;
  const w = t + t;
  r = (r - t) / (w + r);
  t = t + t * r;

  return negative ? -t : t;
}
