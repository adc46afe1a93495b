import { LosslessNumber, compareNumber, isLosslessNumber, parse, stringify } from 'lossless-json';

// JSON with numbers kept exactly as sent. JSON.parse turns 820982911946154508 into
// 820982911946154500 (doubles hold 53 bits), so every API answer is read with lossless-json: numbers
// under a `payload` key stay LosslessNumber (their original text), numbers in a destination's
// `filter` that no JavaScript number holds (a Shopify id, 820982911946154508) stay LosslessNumber
// so the rule page shows and saves them with their digits, and every other number (ids, counts,
// durations) becomes an ordinary number.

/** Keys whose subtree is a sender's data: its numbers are kept as their original text. */
const EXACT_KEYS = new Set(['payload']);

/** The literal as a number when the number is exactly its value (`1.10`, `1E+2` too), else a LosslessNumber. */
export function numberOrExact(literal: string): number | LosslessNumber {
  const value = Number(literal);
  return Number.isFinite(value) && compareNumber(literal, String(value)) === 0 ? value : new LosslessNumber(literal);
}

/** JSON text read with numberOrExact (a filter typed or pasted in the UI); throws as JSON.parse does. */
export const parseExactNumbers = (text: string): unknown => parse(text, null, numberOrExact);

/** JSON text with exact numbers written as their digits (what the UI sends). */
export const stringifyExact = (value: unknown, indent?: number): string => stringify(value, null, indent) ?? 'null';

/** A subtree parsed with every number LosslessNumber, as numberOrExact would have read it. */
function exactWhereNeeded(value: unknown): unknown {
  if (isLosslessNumber(value)) return numberOrExact(value.value);
  if (Array.isArray(value)) return value.map(exactWhereNeeded);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactWhereNeeded(v)]));
  return value;
}

/** Parses an ops API answer: exact numbers in payloads, plain numbers elsewhere. */
export function parseApiJson(text: string): unknown {
  return plain(parse(text));
}

function plain(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value))
      out[key] = EXACT_KEYS.has(key) ? child : key === 'filter' ? exactWhereNeeded(child) : plain(child);
    return out;
  }
  return value;
}

/**
 * A stored body's text parsed with every number exact, or undefined when it is not JSON (or nests
 * too deeply for the parser's recursion: then the body is shown as text).
 */
export function parseExact(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/** Pretty-printed JSON in which every number is written exactly as it was received. */
export function prettyJson(value: unknown): string {
  return stringify(value, null, 2) ?? '';
}
