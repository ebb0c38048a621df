import { MAX_INPUT_LENGTH, parseNumber, squareRoot } from '../src/square-root';

describe('parseNumber accepts what Go strconv.ParseFloat accepted, when finite and non-negative', () => {
  test.each<[string, number]>([
    ['4', 4], ['0', 0], ['2.25', 2.25], ['+4', 4], ['.5', 0.5], ['5.', 5], ['1e2', 100], ['1E2', 100], ['1e+2', 100],
    ['2.5e-3', 0.0025], ['007', 7], ['-0', 0], ['0x10p0', 16], ['0x1.8p1', 3], ['0X.8P1', 1], ['1e-400', 0],
    ['179769313486231570000000000000000000000000000000000000000000', 1.7976931348623157e59],
  ])('%s -> %d', (text, value) => {
    expect(parseNumber(text)).toEqual({ ok: true, value });
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
    ['1_000', /is not a number/],
    ['--4', /is not a number/],
    ['0x10', /is not a number/],
    ['0xp1', /is not a number/],
    ['e5', /is not a number/],
    ['.', /is not a number/],
    ['-4', /"-4" is negative/],
    ['-1e-300', /is negative/],
    ['NaN', /"NaN" is not a finite number/],
    ['inf', /not a finite number/],
    ['-Infinity', /not a finite number/],
    ['1e999', /out of range/],
    ['1'.repeat(MAX_INPUT_LENGTH + 1), /number too long: 65 characters, at most 64/],
  ])('%p', (text, message) => {
    const parsed = parseNumber(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('squareRoot answers with the original JSON shape or a JSON error', () => {
  test('4', () => expect(squareRoot('4')).toEqual({ status: 200, body: '{"InputNumber":4,"SquareRoot":2}' }));
  test('2.25', () => expect(JSON.parse(squareRoot('2.25').body)).toEqual({ InputNumber: 2.25, SquareRoot: 1.5 }));
  test('2', () => expect(JSON.parse(squareRoot('2').body).SquareRoot).toBeCloseTo(Math.SQRT2, 15));
  test('percent-encoded digits are decoded', () => expect(squareRoot('%34').body).toBe('{"InputNumber":4,"SquareRoot":2}'));
  test('malformed percent-encoding', () => {
    expect(squareRoot('%E0%A4%A')).toEqual({ status: 400, body: '{"error":"malformed percent-encoding in the path"}' });
  });
  test('overlong raw text is refused before decoding', () => {
    expect(squareRoot('%31'.repeat(1000)).status).toBe(400);
  });
  test('errors are JSON with an error field', () => {
    const answer = squareRoot('-1');
    expect(answer.status).toBe(400);
    expect(Object.keys(JSON.parse(answer.body))).toEqual(['error']);
  });
});
