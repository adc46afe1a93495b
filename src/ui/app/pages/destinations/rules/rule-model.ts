/**
 * The rule builder's model and its exact translation to and from a destination filter
 * (src/routing/filter.ts). The builder edits rows — where (scope + field), operator, value — joined
 * by AND or OR, plus a topic glob. A filter read from the API is shown in the builder only if the
 * builder writes it back identically (`fromFilter` checks the round trip); anything else ($not,
 * nested $or, a key with a dot…) is left to the JSON tab untouched, never rewritten.
 */

import { isLosslessNumber, type LosslessNumber } from 'lossless-json';
import { parseExactNumbers, stringifyExact } from '../../../api/json';

export type Scope = 'body' | 'headers' | 'query' | 'path' | 'topic';
export const SCOPES: readonly Scope[] = ['body', 'headers', 'query', 'path', 'topic'];

/** `=` is a plain value (`currency: "EUR"`, the usual shorthand); the rest are operators. */
export const OPERATORS = [
  ['=', 'equals'],
  ['$eq', '$eq (equals)'],
  ['$neq', 'does not equal'],
  ['$in', 'is one of'],
  ['$nin', 'is none of'],
  ['$gt', '>'],
  ['$gte', '≥'],
  ['$lt', '<'],
  ['$lte', '≤'],
  ['$contains', 'contains'],
  ['$startsWith', 'starts with'],
  ['$exists', 'exists'],
] as const;
export type Operator = (typeof OPERATORS)[number][0];

export interface Condition {
  scope: Scope;
  /** Dotted JSON path for body (`customer.tier`), a name for headers and query, '' for path and topic. */
  field: string;
  op: Operator;
  /** As typed: `100` is a number, `"100"` a string, `a, b` a list for $in/$nin, true/false for $exists. */
  value: string;
}

export interface Rule {
  /** A glob on the topic (`orders/*`); '' for any topic. */
  topic: string;
  join: 'and' | 'or';
  conditions: Condition[];
}

/** A filter's JSON; a number no JavaScript number holds (820982911946154508) is a LosslessNumber with its digits. */
export type Json = null | boolean | number | LosslessNumber | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
const hasField = (scope: Scope) => scope === 'body' || scope === 'headers' || scope === 'query';

/**
 * A value as typed. In the body (`typed`) it is JSON when it reads as a number, true, false, null or
 * a "quoted string", else the text; headers, query, path and topic are always text ("quoted" too).
 */
export function parseValue(text: string, typed = true): Json {
  const t = text.trim();
  if (t === '') return '';
  try {
    const value = parseExactNumbers(t) as Json;
    if (
      typeof value === 'string' ||
      (typed && (typeof value !== 'object' || value === null || isLosslessNumber(value)))
    )
      return value;
  } catch {
    // plain text
  }
  return t;
}

/** The text that parseValue reads back as `value` (for a value it can produce). */
export function showValue(value: Json, typed = true): string {
  if (typeof value === 'string') {
    const plain = value.trim() === value && value !== '' && parseValue(value, typed) === value && !value.includes(',');
    return plain ? value : JSON.stringify(value);
  }
  return stringifyExact(value);
}

function operand(c: Condition): Json {
  const typed = c.scope === 'body';
  if (c.op === '$exists') return c.value.trim() !== 'false';
  if (c.op === '$in' || c.op === '$nin') {
    const t = c.value.trim();
    if (t.startsWith('[')) {
      try {
        const list = parseExactNumbers(t) as Json;
        if (Array.isArray(list)) return list;
      } catch {
        // not JSON: a comma-separated list
      }
    }
    return t === '' ? [] : t.split(',').map((item) => parseValue(item, typed));
  }
  return parseValue(c.value, typed);
}

function showOperand(op: Operator, value: Json, typed: boolean): string {
  if (op === '$exists') return String(value);
  if ((op === '$in' || op === '$nin') && Array.isArray(value)) {
    const parts = value.map((v) => showValue(v, typed));
    return parts.every((p) => !p.includes(',')) ? parts.join(', ') : stringifyExact(value);
  }
  return showValue(value, typed);
}

/** The filter path of a condition: ['body', 'customer', 'tier'], ['headers', 'x-priority'], ['path']. */
function pathOf(c: Condition): string[] {
  if (!hasField(c.scope)) return [c.scope];
  if (c.scope === 'body') return ['body', ...c.field.split('.').map((s) => s.trim())];
  return [c.scope, c.field.trim()];
}

/** One condition as a filter object: `{body: {total: {$gt: 100}}}`. */
function single(c: Condition): JsonObject {
  const path = pathOf(c);
  let node: Json = c.op === '=' ? operand(c) : { [c.op]: operand(c) };
  for (let i = path.length - 1; i >= 0; i -= 1) node = { [path[i]!]: node };
  return node as JsonObject;
}

/** Adds a condition to a merged AND filter; false when it would collide with one already there. */
function merge(into: JsonObject, c: Condition): boolean {
  const path = pathOf(c);
  let node = into;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (!isObject(next) || Object.keys(next).some((k) => k.startsWith('$'))) return false;
    node = node[key] as JsonObject;
  }
  const last = path[path.length - 1]!;
  const here = node[last];
  if (c.op === '=') {
    if (here !== undefined) return false;
    node[last] = operand(c);
    return true;
  }
  if (here === undefined) node[last] = {};
  else if (!isObject(here) || !Object.keys(here).every((k) => k.startsWith('$')) || c.op in here) return false;
  (node[last] as JsonObject)[c.op] = operand(c);
  return true;
}

/** Problems the builder can name before the API does (an empty field name, say). */
export function ruleProblems(rule: Rule): string[] {
  return rule.conditions.flatMap((c, i) => {
    const row = `Condition ${i + 1}`;
    if (hasField(c.scope) && !c.field.trim())
      return [`${row}: name the ${c.scope === 'body' ? 'JSON path' : c.scope === 'headers' ? 'header' : 'parameter'}`];
    if (c.scope === 'body' && c.field.split('.').some((s) => !s.trim()))
      return [`${row}: a JSON path like customer.tier`];
    if (c.op === '$exists' && !['true', 'false'].includes(c.value.trim()))
      return [`${row}: exists takes true or false`];
    return [];
  });
}

/** The filter the rule means, or null when it matches everything. */
export function toFilter(rule: Rule): JsonObject | null {
  const filter: JsonObject = {};
  if (rule.topic.trim()) filter.topic = rule.topic.trim();
  const conditions = rule.conditions;
  if (rule.join === 'or' && conditions.length > 1) filter.$or = conditions.map(single);
  else {
    const merged: JsonObject = { ...filter };
    if (conditions.every((c) => merge(merged, c))) return Object.keys(merged).length ? merged : null;
    filter.$and = conditions.map(single);
  }
  return Object.keys(filter).length ? filter : null;
}

/** Flattens a filter object into conditions; undefined when it holds something the rows cannot say. */
function flatten(filter: JsonObject): Condition[] | undefined {
  const out: Condition[] = [];
  const walk = (node: Json, path: string[]): boolean => {
    const scope = path[0] as Scope;
    const field = scope === 'body' ? path.slice(1).join('.') : (path[1] ?? '');
    const typed = scope === 'body';
    if (!isObject(node)) {
      out.push({ scope, field, op: '=', value: showOperand('=', node, typed) });
      return true;
    }
    const keys = Object.keys(node);
    if (keys.length === 0) return false;
    if (keys.every((k) => k.startsWith('$'))) {
      for (const k of keys) {
        if (!OPERATORS.some(([op]) => op === k) || k === '=') return false;
        out.push({ scope, field, op: k as Operator, value: showOperand(k as Operator, node[k]!, typed) });
      }
      return true;
    }
    if (keys.some((k) => k.startsWith('$'))) return false;
    return keys.every((k) => walk(node[k]!, [...path, k]));
  };
  for (const [key, value] of Object.entries(filter))
    if (!SCOPES.includes(key as Scope) || !walk(value, [key])) return undefined;
  return out;
}

const canonical = (v: Json): string =>
  isObject(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
        .join(',')}}`
    : Array.isArray(v)
      ? `[${v.map(canonical).join(',')}]`
      : stringifyExact(v);

/** Equal as JSON, whatever the key order (the database's jsonb reorders keys). */
export const sameJson = (a: Json, b: Json) => canonical(a) === canonical(b);

/** The rule the builder shows for a saved filter, or undefined when only the JSON tab can edit it. */
export function fromFilter(filter: Json | null | undefined): Rule | undefined {
  if (filter === null || filter === undefined) return { topic: '', join: 'and', conditions: [] };
  if (!isObject(filter)) return undefined;
  const { topic, $or, $and, ...rest } = filter;
  let rule: Rule | undefined;
  const topicGlob = typeof topic === 'string' ? topic : '';
  if (topic !== undefined && typeof topic !== 'string') rest.topic = topic;
  if ($or !== undefined) {
    if ($and !== undefined || Object.keys(rest).length || !Array.isArray($or)) return undefined;
    const rows = $or.map((f) => (isObject(f) ? flatten(f) : undefined));
    if (rows.some((r) => r?.length !== 1)) return undefined;
    rule = { topic: topicGlob, join: 'or', conditions: rows.map((r) => r![0]!) };
  } else {
    const parts = Array.isArray($and) ? $and.map((f) => (isObject(f) ? flatten(f) : undefined)) : [];
    if ($and !== undefined && (!Array.isArray($and) || parts.some((p) => p === undefined))) return undefined;
    const top = flatten(rest);
    if (!top) return undefined;
    rule = { topic: topicGlob, join: 'and', conditions: [...top, ...parts.flatMap((p) => p!)] };
  }
  // Shown in the builder only if saving it unchanged would write back the same filter.
  const again = toFilter(rule);
  return again !== null && sameJson(again, filter) ? rule : undefined;
}
