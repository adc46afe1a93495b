import { isLosslessNumber, parse, stringify } from 'lossless-json';

// JSON with numbers kept exactly as sent. JSON.parse turns 820982911946154508 into
// 820982911946154500 (doubles hold 53 bits), so every API answer is read with lossless-json: numbers
// under a `payload` key stay LosslessNumber (their original text), every other number (ids,
// counts, durations) becomes an ordinary number.

/** Keys whose subtree is a sender's data: its numbers are kept as their original text. */
const EXACT_KEYS = new Set(['payload']);

/** Parses an ops API answer: exact numbers in payloads, plain numbers elsewhere. */
export function parseApiJson(text: string): unknown {
  return plain(parse(text));
}

function plain(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = EXACT_KEYS.has(key) ? child : plain(child);
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
