import { cubeRoot, MAX_INPUT_LENGTH, parseNumber, squareRoot } from '../src/roots';

describe('parseNumber accepts what Go strconv.ParseFloat accepted, when finite', () => {
  test.each<[string, number]>([
    ['4', 4], ['0', 0], ['2.25', 2.25], ['+4', 4], ['.5', 0.5], ['5.', 5], ['1e2', 100], ['1E2', 100], ['1e+2', 100],
    ['2.5e-3', 0.0025], ['007', 7], ['1_000', 1000], ['0x_1p4', 16], ['1e1_0', 1e10], ['-0', 0], ['0x10p0', 16], ['0x1.8p1', 3], ['0X.8P1', 1], ['1e-400', 0],
    ['179769313486231570000000000000000000000000000000000000000000', 1.7976931348623158e59],
    ['-4', -4], ['-1e-300', -1e-300], ['-0x1p-1', -0.5], ['-8', -8],
  ])('%s -> %d', (text, value) => {
    expect(parseNumber(text)).toEqual({ ok: true, value });
  });

  // Cases from Go's own strconv tests (atof_test.go), with Go's result: parsing must agree with the original bit for bit.
  test.each<[string, string]>([
    ['100000000000000016777216', '1.0000000000000003e+23'], ['625e-3', '0.625'], ['0x1p-1', '0.5'],
    ['0x1ep-1', '15'], ['0x1_ep-1', '15'], ['0x1p-200', '6.223015277861142e-61'], ['0x1fFe2.P0', '131042'],
    ['0x0.fp4', '15'], ['0e+01234567890123456789', '0'], ['0x0p+01234567890123456789', '0'], ['-0x0p1026', '0'],
    ['-0.00e-01234567890123456789', '0'], ['1.7976931348623158e308', '1.7976931348623157e+308'],
    ['0x1.fffffffffffffp1023', '1.7976931348623157e+308'], ['0x1fffffffffffffp+971', '1.7976931348623157e+308'],
    ['0x.1fffffffffffffp1027', '1.7976931348623157e+308'], ['0x1.fffffffffffff7fffp1023', '1.7976931348623157e+308'],
    ['3e-324', '5e-324'], ['2e-324', '0'], ['1e-400000', '0'], ['0x1p-4294967296', '0'],
    ['0x1.fffffffffffff7p-1010', '1.8227805048890992e-304'], ['0x1.fffffffffffff8p-1010', '1.8227805048890994e-304'],
    ['0x0.ffffffffffffe7p-1022', '2.2250738585072004e-308'], ['0x1.ffffffffffffe8p-1023', '2.225073858507201e-308'],
    ['0x0.00000003456788p-1022', '1.694649e-317'], ['0x0.00000003456789p-1022', '1.6946496e-317'],
    ['0x0.00000000000058p-1022', '3e-323'], ['0x0.00000000000057p-1022', '2.5e-323'],
    ['0x0.000000000000081p-1022', '5e-324'], ['0x0.00000000000008p-1022', '0'], ['0x0.00000000000007fp-1022', '0'],
    ['0x1.00000000000008p0', '1'], ['0x1.00000000000007Fp0', '1'], ['0x1.000000000000081p0', '1.0000000000000002'],
    ['0x1.00000000000018p0', '1.0000000000000004'], ['0x1.1111111111111p222', '7.18931911124017e+66'],
    ['0x2.2222222222222p221', '7.18931911124017e+66'], ['1_23.50_0_0e+1_2', '1.235e+14'],
    ['0x_1_2.3_4_5p+1_2', '74565'], ['0x.1p-2', '0.015625'], ['2.2250738585072011e-308', '2.225073858507201e-308'],
  ])('Go: ParseFloat(%p) = %s', (text, go) => {
    expect(parseNumber(text)).toEqual({ ok: true, value: Number(go) });
  });

  test('-0 is answered as 0, not -0', () => {
    const parsed = parseNumber('-0');
    expect(parsed.ok && Object.is(parsed.value, 0)).toBe(true);
  });
});

describe('parseNumber refuses, saying why', () => {
  test.each<[string, RegExp]>([
    ['', /missing number/],
    ['abc', /"abc" is not a number/],
    ['4a', /is not a number/],
    [' 4', /is not a number/],
    ['4 ', /is not a number/],
    ['1,5', /is not a number/],
    ['1__000', /is not a number/],
    ['_1', /is not a number/],
    ['1_', /is not a number/],
    ['1_.5', /is not a number/],
    ['1e_5', /is not a number/],
    ['-_1', /is not a number/],
    ['0_x1p0', /is not a number/],
    ['0x__1p0', /is not a number/],
    ['0x1_p0', /is not a number/],
    ['0x1e2', /is not a number/],
    ['1p2', /is not a number/],
    ['.e-1', /is not a number/],
    ['1\x002', /is not a number/],
    ['+nan', /is not/],
    ['INFINITY', /not a finite number/],
    ['--4', /is not a number/],
    ['0x10', /is not a number/],
    ['0xp1', /is not a number/],
    ['e5', /is not a number/],
    ['.', /is not a number/],
    ['NaN', /"NaN" is not a finite number/],
    ['inf', /not a finite number/],
    ['-Infinity', /not a finite number/],
    ['1e999', /out of range/],
    ['1.797693134862315808e308', /out of range/],
    ['0x1.fffffffffffff8p1023', /out of range/],
    ['0x.1p1028', /out of range/],
    ['0x1p+18446744073709551616', /out of range/],
    ['1'.repeat(MAX_INPUT_LENGTH + 1), /number too long: 65 characters, at most 64/],
  ])('%p', (text, message) => {
    const parsed = parseNumber(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('squareRoot answers with the original JSON shape or a JSON error', () => {
  test('4', () => expect(squareRoot('4')).toEqual({ status: 200, body: '{"InputNumber":4,"SquareRoot":2}\n' }));
  test('2.25', () => expect(JSON.parse(squareRoot('2.25').body)).toEqual({ InputNumber: 2.25, SquareRoot: 1.5 }));
  test('2', () => expect(JSON.parse(squareRoot('2').body).SquareRoot).toBeCloseTo(Math.SQRT2, 15));
  test('percent-encoded digits are decoded', () => expect(squareRoot('%34').body).toBe('{"InputNumber":4,"SquareRoot":2}\n'));
  test('malformed percent-encoding', () => {
    expect(squareRoot('%E0%A4%A')).toEqual({ status: 400, body: '{"error":"malformed percent-encoding in the path"}\n' });
  });
  test('overlong raw text is refused before decoding', () => {
    expect(squareRoot('%31'.repeat(1000)).status).toBe(400);
  });
  test('negative numbers are refused, naming the cube root, which takes them', () => {
    for (const [text, shown] of [['-4', '-4'], ['-1e-300', '-1e-300'], ['-0x1p-1', '-0.5'], ['%2D4', '-4']]) {
      const answer = squareRoot(text);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toBe(`"${shown}" is negative: the square root is defined here for numbers >= 0 only (the cube root takes any: /cube-root/${shown})`);
    }
  });
  test('a missing number names the endpoint', () => {
    expect(squareRoot('')).toEqual({ status: 400, body: '{"error":"missing number: use /square-root/<number>, e.g. /square-root/8"}\n' });
    expect(cubeRoot('')).toEqual({ status: 400, body: '{"error":"missing number: use /cube-root/<number>, e.g. /cube-root/8"}\n' });
  });
  test('errors are JSON with an error field', () => {
    const answer = squareRoot('-1');
    expect(answer.status).toBe(400);
    expect(Object.keys(JSON.parse(answer.body))).toEqual(['error']);
  });
});

describe('cubeRoot answers with the original JSON shape or a JSON error', () => {
  // Written out by hand: Go's encoding/json text of math.Cbrt's result, with the encoder's newline.
  test.each([
    ['8', '{"InputNumber":8,"CubeRoot":2}\n'],
    ['-8', '{"InputNumber":-8,"CubeRoot":-2}\n'],
    ['27', '{"InputNumber":27,"CubeRoot":3}\n'],
    ['0', '{"InputNumber":0,"CubeRoot":0}\n'],
    ['-0', '{"InputNumber":0,"CubeRoot":0}\n'],
    ['1e-9', '{"InputNumber":1e-9,"CubeRoot":0.001}\n'],
    ['1e300', '{"InputNumber":1e+300,"CubeRoot":1e+100}\n'],
    ['0.001', '{"InputNumber":0.001,"CubeRoot":0.1}\n'],
    ['2', '{"InputNumber":2,"CubeRoot":1.2599210498948732}\n'],
    ['-1_000', '{"InputNumber":-1000,"CubeRoot":-10}\n'],
    ['0x1p-1074', '{"InputNumber":5e-324,"CubeRoot":1.7031839360032603e-108}\n'],
    ['%2D27', '{"InputNumber":-27,"CubeRoot":-3}\n'],
  ])('/cube-root/%s', (text, body) => {
    expect(cubeRoot(text)).toEqual({ status: 200, body });
  });

  test.each<[string, RegExp]>([
    ['NaN', /"NaN" is not a finite number/], ['-Inf', /not a finite number/], ['1e999', /out of range/],
    ['-1e999', /out of range/], ['abc', /is not a number/], ['%ZZ', /malformed percent-encoding/],
    ['9'.repeat(65), /too long/],
  ])('/cube-root/%s is refused', (text, message) => {
    const answer = cubeRoot(text);
    expect(answer.status).toBe(400);
    expect(answer.body.endsWith('}\n')).toBe(true);
    expect(JSON.parse(answer.body).error).toMatch(message);
  });
});
