import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseExact } from '../src/json/exact-values';
import { matchesFilter, type Filter, type FilterContext } from '../src/routing/filter';
import { validateFilter } from '../src/routing/filter-validation';
import { filterBody } from '../src/routing/exact-numbers';

// A filter's own numbers beyond what a double holds (src/routing/exact-numbers.ts): read exactly
// (parseExact, as the API, the config file and the database column are), they are compared on
// their digits. 820982911946154508 and 820982911946154510 are both the double 820982911946154496.

const on = (body: string): FilterContext => ({
  topic: 'orders/create',
  headers: {},
  body: filterBody(Buffer.from(body), JSON.parse(body)),
});
const filter = (text: string) => parseExact(text) as Filter;

describe('exact filter operands', () => {
  it.each([
    ['equality', '{"body": {"customer_id": 820982911946154508}}', true, false],
    ['$eq', '{"body": {"customer_id": {"$eq": 820982911946154508}}}', true, false],
    ['$neq', '{"body": {"customer_id": {"$neq": 820982911946154508}}}', false, true],
    ['$in', '{"body": {"customer_id": {"$in": [1, 820982911946154508]}}}', true, false],
    ['$nin', '{"body": {"customer_id": {"$nin": [820982911946154508]}}}', false, true],
    ['$gt', '{"body": {"customer_id": {"$gt": 820982911946154508}}}', false, true],
    ['$gte', '{"body": {"customer_id": {"$gte": 820982911946154510}}}', false, true],
    ['$lt', '{"body": {"customer_id": {"$lt": 820982911946154510}}}', true, false],
    ['$contains on a list', '{"body": {"ids": {"$contains": 820982911946154508}}}', true, false],
    ['a long decimal', '{"body": {"total": 12345678901234567890.5}}', false, false],
  ])('%s decides on the digits', (_, text, mine, neighbour) => {
    expect(validateFilter(filter(text)).ok).toBe(true);
    const body = (id: string) => `{"customer_id": ${id}, "ids": [${id}], "total": 12345678901234567890.25}`;
    expect(matchesFilter(filter(text), on(body('820982911946154508')))).toBe(mine);
    expect(matchesFilter(filter(text), on(body('820982911946154510')))).toBe(neighbour);
  });

  it('an exact operand against a plain body number compares their values', () => {
    expect(matchesFilter(filter('{"body": {"n": {"$gt": 9007199254740993}}}'), on('{"n": 9007199254740994}'))).toBe(
      true,
    );
    expect(matchesFilter(filter('{"body": {"n": {"$gt": 9007199254740993}}}'), on('{"n": 9007199254740992}'))).toBe(
      false,
    );
    expect(matchesFilter(filter('{"body": {"n": 0.1000000000000000055}}'), on('{"n": 0.1}'))).toBe(false);
  });

  it('a filter saved before operands were exact holds the rounded digits: it matches every id that rounds to them', () => {
    const legacy = filter('{"body": {"customer_id": 820982911946154500}}');
    expect(legacy).toEqual({ body: { customer_id: 820982911946154500 } });
    expect(matchesFilter(legacy, on('{"customer_id": 820982911946154508}'))).toBe(true);
    expect(matchesFilter(legacy, on('{"customer_id": 820982911946154510}'))).toBe(true);
    expect(matchesFilter(legacy, on('{"customer_id": 820982911946154700}'))).toBe(false);
  });

  it('a number beyond what a double reaches is still refused, exact or not', () => {
    const check = validateFilter({ body: { n: new LosslessNumber('1e400') } });
    expect(check).toMatchObject({ ok: false, path: 'filter.body.n', message: 'numbers must be finite' });
    expect(validateFilter({ body: { n: { $gt: new LosslessNumber('1e-400') } } }).ok).toBe(true);
  });
});
