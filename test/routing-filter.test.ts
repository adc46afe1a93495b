import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch, matchesFilter, type FilterContext } from '../src/routing/filter';
import { FILTER_LIMITS, validateFilter } from '../src/routing/filter-validation';

// The destination filter language (src/routing/filter.ts): pure, so tested as a table.

const event: FilterContext = {
  topic: 'orders/create',
  headers: { 'X-Shopify-Shop-Domain': 'acme.myshopify.com' },
  body: {
    total: 150,
    currency: 'EUR',
    created_at: '2026-11-23T10:15:00Z',
    customer: { tier: 'gold', email: 'a@example.com', tags: ['vip', 'b2b'] },
    items: [{ sku: 'A-1', qty: 2 }],
    note: null,
  },
};

describe('matching', () => {
  it.each([
    ['plain value means equality', { body: { currency: 'EUR' } }, true],
    ['plain value that differs', { body: { currency: 'USD' } }, false],
    ['nested objects descend', { body: { customer: { tier: 'gold' } } }, true],
    ['a plain value against a list means "contains"', { body: { customer: { tags: 'vip' } } }, true],
    ['a list index is a key', { body: { items: { 0: { sku: 'A-1' } } } }, true],
    ['$eq', { body: { total: { $eq: 150 } } }, true],
    ['$neq', { body: { total: { $neq: 150 } } }, false],
    ['$neq on a missing field holds', { body: { missing: { $neq: 1 } } }, true],
    ['$in', { body: { currency: { $in: ['EUR', 'GBP'] } } }, true],
    ['$nin', { body: { currency: { $nin: ['EUR', 'GBP'] } } }, false],
    ['$gt', { body: { total: { $gt: 100 } } }, true],
    ['$gt at the bound', { body: { total: { $gt: 150 } } }, false],
    ['$gte at the bound', { body: { total: { $gte: 150 } } }, true],
    ['$lt / $lte together (all must hold)', { body: { total: { $gt: 100, $lte: 150 } } }, true],
    ['$lt between a number and a string is false', { body: { currency: { $lt: 5 } } }, false],
    ['ISO dates compare as strings', { body: { created_at: { $gte: '2026-11-01' } } }, true],
    ['$exists true', { body: { note: { $exists: true } } }, true],
    ['$exists false on a missing field', { body: { gone: { $exists: false } } }, true],
    ['$contains on a string', { body: { customer: { email: { $contains: '@example' } } } }, true],
    ['$contains on a list', { body: { customer: { tags: { $contains: 'b2b' } } } }, true],
    ['$startsWith', { body: { customer: { email: { $startsWith: 'a@' } } } }, true],
    ['$startsWith on a number is false', { body: { total: { $startsWith: '1' } } }, false],
    ['$or across scopes', { $or: [{ topic: 'refunds/create' }, { body: { total: { $gt: 100 } } }] }, true],
    ['$and', { $and: [{ topic: 'orders/create' }, { body: { total: { $lt: 100 } } }] }, false],
    ['$not', { $not: { body: { currency: 'USD' } } }, true],
    ['$not below a field', { body: { total: { $not: { $gt: 100 } } } }, false],
    ['topic glob', { topic: 'orders/*' }, true],
    ['topic glob does not cross /', { topic: '*' }, false],
    ['topic with $in', { topic: { $in: ['orders/create', 'orders/paid'] } }, true],
    ['header names are case-insensitive', { headers: { 'x-shopify-shop-domain': 'acme.myshopify.com' } }, true],
    ['header name written in capitals', { headers: { 'X-SHOPIFY-SHOP-DOMAIN': { $startsWith: 'acme.' } } }, true],
    ['path is not stored: only $exists false holds', { path: { $exists: false } }, true],
    ['an empty filter matches everything', {}, true],
  ])('%s', (_, filter, expected) => {
    expect(validateFilter(filter)).toMatchObject({ ok: true });
    expect(matchesFilter(filter, event)).toBe(expected);
  });

  it('a body that is not JSON makes every body condition false, also $exists: false and $not', () => {
    const raw = { ...event, body: undefined };
    expect(matchesFilter({ body: { total: { $exists: false } } }, raw)).toBe(false);
    expect(matchesFilter({ body: { $not: { total: 1 } } }, raw)).toBe(false);
    expect(matchesFilter({ topic: 'orders/create' }, raw)).toBe(true);
  });

  it('a field named __proto__ or constructor is an ordinary key, never the prototype', () => {
    expect(matchesFilter(JSON.parse('{"body":{"__proto__":{"$exists":true}}}'), event)).toBe(false);
    expect(matchesFilter({ body: { constructor: { $exists: true } } }, event)).toBe(false);
  });
});

describe('validation names the path of the first problem', () => {
  it.each([
    [{ body: { total: { $gtx: 100 } } }, 'filter.body.total.$gtx', /unknown operator/],
    [{ bodyy: { total: 1 } }, 'filter.bodyy', /unknown field/],
    [{ $gt: 1 }, 'filter.$gt', /needs a field/],
    [{ body: { total: { $gt: true } } }, 'filter.body.total.$gt', /a number or a string/],
    [{ body: { tags: { $in: 'vip' } } }, 'filter.body.tags.$in', /a list/],
    [{ $or: [] }, 'filter.$or', /non-empty list/],
    [{ $or: [{ topic: 'a' }, { nope: 1 }] }, 'filter.$or[1].nope', /unknown field/],
    [{ body: { a: { $exists: 'yes' } } }, 'filter.body.a.$exists', /true or false/],
    [{ body: { 'odd key': { $bad: 1 } } }, 'filter.body["odd key"].$bad', /unknown operator/],
    [{ body: { list: [1, 2] } }, 'filter.body.list', /a list is only allowed/],
    ['orders/*', 'filter', /must be an object/],
    [{ body: { s: 'x'.repeat(FILTER_LIMITS.stringBytes + 1) } }, 'filter.body.s', /longer than 1024 bytes/],
  ])('%j → %s', (filter, path, message) => {
    const check = validateFilter(filter);
    expect(check).toMatchObject({ ok: false, path });
    expect(check.ok ? '' : check.message).toMatch(message);
  });

  it('refuses a filter deeper than the limit', () => {
    let deep: Record<string, unknown> = { $eq: 1 };
    for (let i = 0; i < FILTER_LIMITS.depth + 2; i++) deep = { a: deep };
    expect(validateFilter({ body: deep })).toMatchObject({ ok: false, message: expect.stringMatching(/too deep/) });
  });

  it('refuses a filter with more than 200 values', () => {
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, i]));
    expect(validateFilter({ body: many })).toMatchObject({ ok: false, message: expect.stringMatching(/too large/) });
  });
});

describe('topic globs', () => {
  it.each([
    ['orders/*', 'orders/create', true],
    ['orders/*', 'orders/create/extra', false],
    ['*.created', 'tracker.created', true],
    ['*/create', 'orders/create', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'acb', false],
    ['orders/create', 'orders/create', true],
  ])('%s ~ %s → %s', (pattern, topic, expected) => expect(globMatch(pattern, topic)).toBe(expected));

  it('a pathological pattern on a long topic answers at once (no backtracking)', () => {
    const started = performance.now();
    expect(globMatch(`${'*a'.repeat(400)}b`, 'a'.repeat(100_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('evaluation never throws', () => {
  const valid = fc.constantFrom(
    { body: { total: { $gt: 100 } } },
    { body: { a: { b: { $in: [1, 'x', null] } } } },
    { $or: [{ topic: 'orders/*' }, { body: { $not: { x: { $exists: true } } } }] },
    { headers: { 'x-a': { $startsWith: 'p' } }, body: { list: { $contains: 3 } } },
    { body: { 0: { 1: 'deep' } } },
  );
  it('on any payload, topic and headers', () => {
    fc.assert(
      fc.property(
        valid,
        fc.jsonValue(),
        fc.string(),
        fc.dictionary(fc.string(), fc.string()),
        (filter, body, topic, headers) => {
          expect(typeof matchesFilter(filter, { topic, headers, body })).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
  it('on any filter validation accepts', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (filter, body) => {
        const check = validateFilter(filter);
        if (check.ok) expect(typeof matchesFilter(check.filter, { topic: 't', headers: {}, body })).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
