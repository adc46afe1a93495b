/**
 * The destination filter language: a JSON object matched against an event's
 * `{ topic, headers, path, query, body }`. Pure: no I/O, no clock.
 *
 * Semantics copied from the two filter languages webhook users already know:
 * - Convoy (docs.getconvoy.io/product-manual/filters): one scope per top-level key (`body`,
 *   `headers`, `query`, `path`); a plain value means equality, a nested object descends into the
 *   payload, a plain value matched against an array means "the array contains it"; `$neq`, `$in`,
 *   `$nin`, `$gt/$gte/$lt/$lte`, `$or`, `$and`, `$exist(s)`.
 * - Hookdeck (hookdeck.com/docs/filters): the same shape, plus `$contains` (substring or array
 *   element), `$startsWith` and `$not`, and several operators in one object must all hold.
 * Ours adds `topic` as a scope, where a plain string with `*` is a glob (`orders/*`, `*.created`):
 * `*` matches any run of characters except `/`.
 *
 * Choices where the two differ or say nothing: ordering operators compare two numbers or two
 * strings (ISO dates sort as strings), anything else is false; a missing field fails every
 * condition except `$exists: false`, `$neq` and `$nin` (MongoDB's rule, which both follow);
 * a body that is not JSON makes every `body` condition false. Evaluation never throws: the
 * filter was validated and bounded at save time (depth ≤ 16, ≤ 200 nodes, strings ≤ 1 KiB; see
 * src/routing/filter-validation.ts), so walking it touches at most its own size of the payload.
 */

import { compareExact, equalsNumber, isFilterNumber, isLosslessNumber, type FilterNumber } from './exact-numbers';

/**
 * A validated filter: JSON as the user wrote it, every number in it a number or, when no JavaScript
 * number holds it exactly (`820982911946154508`), a LosslessNumber with its digits
 * (src/json/exact-values.ts: read so wherever a filter enters, and written back so).
 */
export type Filter = { readonly [key: string]: unknown };

/**
 * What a filter is matched against. `body` is the parsed payload, undefined when not JSON; a
 * number in it may be a LosslessNumber (src/routing/exact-numbers.ts: filterBody).
 */
export interface FilterContext {
  topic: string;
  headers: Readonly<Record<string, string>>;
  path?: string;
  query?: Readonly<Record<string, string>>;
  body: unknown;
}

/** A filter object (or a payload object): not null, not a list, not an exact number. */
export const isFilterObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);

/**
 * Whether the event matches the filter. Never throws (a property test feeds it arbitrary JSON):
 * an odd payload simply does not match. No try/catch here, so that test can fail.
 */
export function matchesFilter(filter: Filter, context: FilterContext): boolean {
  // fromEntries defines own keys: a header named __proto__ is a header, not a prototype.
  const headers = Object.fromEntries(
    Object.entries(context.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const root = { topic: context.topic, headers, path: context.path, query: context.query, body: context.body };
  return matchObject(filter, root, true);
}

/** Every key of `filter` holds at `value` (operators on it, or fields below it). */
function matchObject(filter: Record<string, unknown>, value: unknown, atRoot = false): boolean {
  for (const [key, operand] of Object.entries(filter)) {
    if (key.startsWith('$')) {
      if (!matchOperator(key, operand, value, atRoot)) return false;
      continue;
    }
    const child = childOf(value, key);
    if (atRoot && key === 'body' && child === undefined) return false;
    if (atRoot && key === 'headers' && isFilterObject(operand)) {
      if (!matchObject(lowerKeys(operand), child)) return false;
      continue;
    }
    if (atRoot && key === 'topic' && typeof operand === 'string') {
      if (!(typeof child === 'string' && globMatch(operand, child))) return false;
      continue;
    }
    if (!matchValue(operand, child)) return false;
  }
  return true;
}

/** A filter value at a field: an object of operators/fields, or a plain value meaning equality. */
function matchValue(operand: unknown, value: unknown): boolean {
  if (isFilterObject(operand)) return matchObject(operand, value);
  return equalsOrContains(operand, value);
}

function matchOperator(op: string, operand: unknown, value: unknown, atRoot: boolean): boolean {
  switch (op) {
    case '$or':
      return (operand as Record<string, unknown>[]).some((f) => matchObject(f, value, atRoot));
    case '$and':
      return (operand as Record<string, unknown>[]).every((f) => matchObject(f, value, atRoot));
    case '$not':
      return !matchObject(operand as Record<string, unknown>, value, atRoot);
    case '$eq':
      return equalsOrContains(operand, value);
    case '$neq':
      return !equalsOrContains(operand, value);
    case '$in':
      return (operand as unknown[]).some((o) => equalsOrContains(o, value));
    case '$nin':
      return !(operand as unknown[]).some((o) => equalsOrContains(o, value));
    case '$exists':
      return (value !== undefined) === operand;
    case '$startsWith':
      return typeof value === 'string' && value.startsWith(operand as string);
    case '$contains':
      if (typeof value === 'string') return typeof operand === 'string' && value.includes(operand);
      return Array.isArray(value) && value.some((item) => deepEqual(operand, item));
    default:
      return compare(op, operand as FilterNumber | string, value);
  }
}

function compare(op: string, operand: FilterNumber | string, value: unknown): boolean {
  if (typeof operand !== 'string') {
    const order = compareExact(value, operand);
    if (order === undefined) return false;
    return op === '$gt' ? order > 0 : op === '$gte' ? order >= 0 : op === '$lt' ? order < 0 : order <= 0;
  }
  if (typeof value !== 'string') return false;
  if (op === '$gt') return value > operand;
  if (op === '$gte') return value >= operand;
  if (op === '$lt') return value < operand;
  return value <= operand;
}

/** Equality, or, against a list and for a value that is not a list, "the list contains it" (Convoy, Hookdeck). */
function equalsOrContains(operand: unknown, value: unknown): boolean {
  if (deepEqual(operand, value)) return true;
  return Array.isArray(value) && !Array.isArray(operand) && value.some((item) => deepEqual(operand, item));
}

/** Structural equality, walking only as deep as the (bounded) operand. */
function deepEqual(operand: unknown, value: unknown): boolean {
  if (operand === value) return true;
  if (isFilterNumber(operand)) return equalsNumber(value, operand);
  if (Array.isArray(operand))
    return Array.isArray(value) && value.length === operand.length && operand.every((o, i) => deepEqual(o, value[i]));
  if (isFilterObject(operand)) {
    if (!isFilterObject(value)) return false;
    const keys = Object.keys(operand);
    return (
      keys.length === Object.keys(value).length &&
      keys.every((k) => Object.hasOwn(value, k) && deepEqual(operand[k], value[k]))
    );
  }
  return false;
}

function childOf(value: unknown, key: string): unknown {
  if (Array.isArray(value) && /^\d+$/.test(key)) return value[Number(key)];
  return isFilterObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Header names are case-insensitive: the filter's are lower-cased like the event's. */
function lowerKeys(filter: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filter).map(([k, v]) => [k.startsWith('$') ? k : k.toLowerCase(), v]));
}

/**
 * `*` matches any run of characters except `/`; everything else is literal. Segment by segment
 * with indexOf (no regular expression: `*a*a*a…` must not backtrack on a long topic).
 */
export function globMatch(pattern: string, text: string): boolean {
  if (!pattern.includes('*')) return pattern === text;
  const patterns = pattern.split('/');
  const segments = text.split('/');
  return patterns.length === segments.length && patterns.every((p, i) => segmentMatch(p, segments[i]!));
}

function segmentMatch(pattern: string, text: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
