import { describe, expect, it } from 'vitest';
import {
  fromFilter,
  ruleProblems,
  sameJson,
  toFilter,
  type Json,
  type Rule,
} from '../src/ui/app/pages/destinations/rules/rule-model';
import { validateFilter } from '../src/routing/filter-validation';
import { parseApiJson, parseExactNumbers, stringifyExact } from '../src/ui/app/api/json';

// The rule builder's translation: every filter it shows in its rows is written back identically,
// and a filter it cannot express is left to the JSON tab instead of being rewritten.

describe('the rule builder model', () => {
  it.each<[string, Json]>([
    ['a topic glob only', { topic: 'orders/*' }],
    ['merged AND conditions', { topic: 'orders/*', body: { total: { $gt: 100 }, currency: { $in: ['EUR', 'GBP'] } } }],
    ['a plain value (the shorthand)', { body: { customer: { tags: 'vip' } } }],
    ['two operators on one field', { body: { total: { $gte: 10, $lt: 100 } } }],
    ['OR of single conditions', { $or: [{ body: { total: { $gte: 1000 } } }, { headers: { 'x-priority': 'high' } }] }],
    ['path and query', { path: { $startsWith: '/api/webhooks/' }, query: { region: 'eu' } }],
    ['a string that looks like a number', { body: { zip: '01234', code: { $eq: '100' } } }],
    ['strings with commas in a list', { body: { city: { $nin: ['Paris, TX', 'x'] } } }],
    ['$exists', { body: { refund: { $exists: false } } }],
    ['the same operator twice, as $and', { $and: [{ body: { a: { $gt: 1 } } }, { body: { a: { $gt: 2 } } }] }],
    ['a topic condition', { topic: { $in: ['a', 'b'] } }],
  ])('%s round-trips through the builder', (_, filter) => {
    expect(validateFilter(filter).ok).toBe(true);
    const rule = fromFilter(filter);
    expect(rule).toBeDefined();
    expect(sameJson(toFilter(rule!)!, filter)).toBe(true);
  });

  it.each<[string, Json]>([
    ['$not', { $not: { body: { test: true } } }],
    ['nested $or below a field', { body: { $or: [{ a: 1 }, { b: 2 }] } }],
    ['an OR branch with two conditions', { $or: [{ body: { a: 1, b: 2 } }, { topic: 'x' }] }],
    ['a key with a dot', { body: { 'a.b': 1 } }],
    ['a number against a header (never matches)', { headers: { 'x-n': 5 } }],
    ['an empty object', {}],
  ])('%s is left to the JSON tab', (_, filter) => {
    expect(fromFilter(filter)).toBeUndefined();
  });

  it('types body values, keeps header values text, and names missing fields', () => {
    const rule: Rule = {
      topic: '',
      join: 'and',
      conditions: [
        { scope: 'body', field: 'total', op: '$gt', value: '100' },
        { scope: 'headers', field: 'X-Priority', op: '=', value: '1' },
        { scope: 'body', field: 'tier', op: '$in', value: 'gold, "1", 2' },
      ],
    };
    expect(toFilter(rule)).toEqual({
      body: { total: { $gt: 100 }, tier: { $in: ['gold', '1', 2] } },
      headers: { 'X-Priority': '1' },
    });
    expect(toFilter({ topic: '', join: 'or', conditions: [] })).toBeNull();
    expect(ruleProblems({ ...rule, conditions: [{ scope: 'query', field: ' ', op: '=', value: 'x' }] })).toEqual([
      'Condition 1: name the parameter',
    ]);
  });

  it('an id beyond 2^53 in a saved filter is shown, edited and saved with its digits', () => {
    // As the API answers it (src/ui/app/api/json.ts): `filter` keeps 820982911946154508 exact, other numbers stay plain.
    const answer = parseApiJson(
      '{"version":3,"filter":{"body":{"customer_id":820982911946154508,"total":{"$gt":100}}}}',
    ) as { version: number; filter: Json };
    expect(answer.version).toBe(3);
    const rule = fromFilter(answer.filter)!;
    expect(rule.conditions.map((c) => c.value)).toEqual(['820982911946154508', '100']);
    // Saved from the builder: the body sent carries the digits, also of an id typed in a row.
    expect(stringifyExact(toFilter(rule))).toBe('{"body":{"customer_id":820982911946154508,"total":{"$gt":100}}}');
    const typed = { ...rule, conditions: [{ ...rule.conditions[0]!, value: '820982911946154510' }] };
    expect(stringifyExact(toFilter(typed))).toBe('{"body":{"customer_id":820982911946154510}}');
    // The JSON tab shows and reads it with its digits (rule-editing.ts: pretty, draftFilter).
    const shown = stringifyExact(answer.filter, 2);
    expect(shown).toContain('"customer_id": 820982911946154508');
    expect(stringifyExact(parseExactNumbers(shown))).toBe(
      '{"body":{"customer_id":820982911946154508,"total":{"$gt":100}}}',
    );
  });
});
