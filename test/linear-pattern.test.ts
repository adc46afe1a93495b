import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLinearPattern } from '../src/config/linear-pattern';

// The linear-time matcher must answer as JavaScript does with the `u` flag JSON Schema 2020-12 asks
// for (core §6.4), for the patterns people write: checked against V8 on random strings.
const PATTERNS = [
  '^[A-Z]{3}-\\d{4}$',
  'colou?r',
  '^(?:[a-z0-9-]+\\.)+[a-z]{2,}$',
  '\\.(?:jpg|png)$',
  '^\\+?[0-9]{7,15}$',
  '^[^@]+@[^@]+$',
  '(?<=x-)[a-z]+',
  '^\\p{Lu}\\p{Ll}*$',
  '^.{2,4}$',
  '\\bcat\\b',
  '[\\u00e9-\\u00ff]',
  '^(?<word>[a-z]+)-\\d*$',
  '^(a+)+$',
  '^$',
  'a|^c|x$',
];
const CHARS = [
  'a',
  'c',
  't',
  'x',
  'r',
  'o',
  'u',
  'l',
  'A',
  'Z',
  '0',
  '9',
  '-',
  '.',
  '@',
  '+',
  ' ',
  '\n',
  'é',
  'É',
  '😀',
];

describe('linear-time patterns', () => {
  it.each(PATTERNS)('%s matches the strings V8 matches (u flag), as an unanchored search', (source) => {
    const linear = compileLinearPattern(source);
    const native = new RegExp(source, 'u');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 24 }), (text) => {
        expect(linear.test(text)).toBe(native.test(text));
      }),
      { numRuns: 300 },
    );
  });

  it('answers a catastrophic pattern over a long hostile string in linear time', () => {
    const started = performance.now();
    expect(compileLinearPattern('^(a+)+$').test(`${'a'.repeat(100_000)}!`)).toBe(false);
    // V8 would need 2^100000 steps; RE2 needs one pass (milliseconds).
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('documented deviation: \\s and \\S know only ASCII white space, as in RE2', () => {
    expect(compileLinearPattern('^\\s$').test('\u00a0')).toBe(false);
    expect(new RegExp('^\\s$', 'u').test('\u00a0')).toBe(true);
  });
});
