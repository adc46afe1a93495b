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
 * filter was validated and bounded at save time (depth ≤ 16, ≤ 200 nodes, strings ≤ 1 KiB), so
 * walking it touches at most its own size of the payload.
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

export type FilterCheck = { ok: true; filter: Filter } | { ok: false; path: string; message: string };

export const FILTER_LIMITS = { depth: 16, nodes: 200, stringBytes: 1024 } as const;

const SCOPES = new Set(['topic', 'headers', 'path', 'query', 'body']);
const LOGICAL = new Set(['$or', '$and', '$not']);
const COMPARE = new Set(['$gt', '$gte', '$lt', '$lte']);
const OPERATORS = new Set([
  ...LOGICAL,
  ...COMPARE,
  '$eq',
  '$neq',
  '$in',
  '$nin',
  '$exists',
  '$contains',
  '$startsWith',
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
const isPrimitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v) || isLosslessNumber(v);
const pathKey = (key: string) => (/^[A-Za-z0-9_$-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

class FilterProblem extends Error {
  constructor(
    readonly at: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a filter as saved (API, config file, apply -f). The first problem comes with its JSON
 * path, e.g. `filter.body.total.$gtx: unknown operator`.
 */
export function validateFilter(input: unknown, root = 'filter'): FilterCheck {
  let nodes = 0;
  const visit = (value: unknown, at: string, depth: number, scope: 'root' | 'field' | 'operand') => {
    nodes += 1;
    if (nodes > FILTER_LIMITS.nodes)
      throw new FilterProblem(at, `too large: at most ${FILTER_LIMITS.nodes} values in a filter`);
    if (depth > FILTER_LIMITS.depth) throw new FilterProblem(at, `too deep: at most ${FILTER_LIMITS.depth} levels`);
    if (typeof value === 'string' && Buffer.byteLength(value) > FILTER_LIMITS.stringBytes)
      throw new FilterProblem(at, `string longer than ${FILTER_LIMITS.stringBytes} bytes`);
    if (isFilterNumber(value) && !Number.isFinite(Number(String(value)))) throw new FilterProblem(at, 'numbers must be finite');
    if (Array.isArray(value)) {
      if (scope !== 'operand')
        throw new FilterProblem(at, 'a list is only allowed as the operand of $in, $nin, $or, $and or $eq');
      value.forEach((item, i) => visit(item, `${at}[${i}]`, depth + 1, 'operand'));
      return;
    }
    if (!isObject(value)) {
      if (scope === 'root') throw new FilterProblem(at, 'must be an object, e.g. {"body": {"total": {"$gt": 100}}}');
      return;
    }
    for (const [key, operand] of Object.entries(value)) {
      const here = `${at}${pathKey(key)}`;
      if (scope === 'operand') {
        visit(operand, here, depth + 1, 'operand');
        continue;
      }
      if (Buffer.byteLength(key) > FILTER_LIMITS.stringBytes) throw new FilterProblem(here, 'key too long');
      if (key.startsWith('$')) {
        if (!OPERATORS.has(key))
          throw new FilterProblem(here, `unknown operator; use one of ${[...OPERATORS].join(', ')}`);
        if (scope === 'root' && !LOGICAL.has(key))
          throw new FilterProblem(here, `${key} needs a field: put it below topic, headers, path, query or body`);
        checkOperand(key, operand, here);
        if (key === '$or' || key === '$and')
          (operand as unknown[]).forEach((f, i) =>
            visit(f, `${here}[${i}]`, depth + 1, scope === 'root' ? 'root' : 'field'),
          );
        else if (key === '$not') visit(operand, here, depth + 1, scope === 'root' ? 'root' : 'field');
        else visit(operand, here, depth + 1, 'operand');
        continue;
      }
      if (scope === 'root' && !SCOPES.has(key))
        throw new FilterProblem(
          here,
          `unknown field; the top level names one of ${[...SCOPES].join(', ')} (or $or, $and, $not)`,
        );
      visit(operand, here, depth + 1, 'field');
    }
  };
  try {
    visit(input, root, 1, 'root');
    return { ok: true, filter: input as Filter };
  } catch (err) {
    if (err instanceof FilterProblem) return { ok: false, path: err.at, message: err.message };
    throw err;
  }
}

function checkOperand(op: string, operand: unknown, at: string): void {
  const fail = (what: string) => {
    throw new FilterProblem(at, `${op} takes ${what}`);
  };
  if (op === '$or' || op === '$and') {
    if (!Array.isArray(operand) || operand.length === 0 || !operand.every(isObject))
      fail('a non-empty list of filter objects');
  } else if (op === '$not') {
    if (!isObject(operand)) fail('a filter object');
  } else if (op === '$in' || op === '$nin') {
    if (!Array.isArray(operand) || !operand.every(isPrimitive)) fail('a list of strings, numbers, booleans or null');
  } else if (COMPARE.has(op)) {
    if (!isFilterNumber(operand) && typeof operand !== 'string') fail('a number or a string');
  } else if (op === '$exists') {
    if (typeof operand !== 'boolean') fail('true or false');
  } else if (op === '$startsWith') {
    if (typeof operand !== 'string') fail('a string');
  } else if (op === '$contains') {
    if (!isPrimitive(operand)) fail('a string, number, boolean or null');
  }
}

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
    if (atRoot && key === 'headers' && isObject(operand)) {
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
  if (isObject(operand)) return matchObject(operand, value);
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
  if (isObject(operand)) {
    if (!isObject(value)) return false;
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
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
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
