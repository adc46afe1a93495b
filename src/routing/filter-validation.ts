/**
 * Checks a destination filter when it is saved (API, config file, apply -f), so that matching it
 * against each event (src/routing/filter.ts) can trust its shape and never throw. The bounds make
 * a filter's walk of a payload at most the filter's own size.
 */

import { isFilterNumber, isLosslessNumber } from './exact-numbers';
import { isFilterObject, type Filter } from './filter';

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

const isPrimitive = (v: unknown) =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v) || isLosslessNumber(v);
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
    if (isFilterNumber(value) && !Number.isFinite(Number(String(value))))
      throw new FilterProblem(at, 'numbers must be finite');
    if (Array.isArray(value)) {
      if (scope !== 'operand')
        throw new FilterProblem(at, 'a list is only allowed as the operand of $in, $nin, $or, $and or $eq');
      value.forEach((item, i) => visit(item, `${at}[${i}]`, depth + 1, 'operand'));
      return;
    }
    if (!isFilterObject(value)) {
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
    if (!Array.isArray(operand) || operand.length === 0 || !operand.every(isFilterObject))
      fail('a non-empty list of filter objects');
  } else if (op === '$not') {
    if (!isFilterObject(operand)) fail('a filter object');
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
