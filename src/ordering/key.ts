import { createHash } from 'node:crypto';
import { isLosslessNumber } from 'lossless-json';
import { parseNumbersAsText, readExactJson } from '../json/read';
import { parseJsonPath, type OrderingConfig, type PathStep } from './config';

/** An event's place in per-key ordering: the key as shown, and the lane (`<source>:<key>`) the queue orders by. */
export interface EventOrdering {
  key: string;
  lane: string;
}

/**
 * Longest key kept as sent (UTF-8 bytes); longer ones are stored as `sha256:<hex>`, which keeps
 * them distinct and bounds the queue's lane index entries.
 */
export const MAX_KEY_BYTES = 200;

/** Reads keys the way a source's ordering names them; the JSON path is parsed once. */
export function orderingReader(source: string, config: OrderingConfig) {
  const path = 'jsonPath' in config.key ? parseJsonPath(config.key.jsonPath) : undefined;
  const header = 'header' in config.key ? config.key.header : undefined;
  return (body: Buffer, headers: Readonly<Record<string, string>>): EventOrdering | undefined => {
    // PostgreSQL text cannot hold NUL: a key holding one keeps U+FFFD in its place (as a stored
    // request target does), or the whole event would be unstorable (a 400 the sender never retries).
    const found = (path ? keyAt(body, path) : headers[header!]?.trim())?.replaceAll('\u0000', '\uFFFD');
    if (found === undefined || found === '') {
      // own_lane: ordered with nothing, processed like any unordered event.
      return config.missingKey === 'no_key_lane' ? { key: '', lane: `${source}:` } : undefined;
    }
    const key =
      Buffer.byteLength(found) > MAX_KEY_BYTES ? `sha256:${createHash('sha256').update(found).digest('hex')}` : found;
    return { key, lane: `${source}:${key}` };
  };
}

/**
 * The key text at the path: a string as is, a number exactly as sent (lossless-json keeps
 * `12345678901234567890` whole; JSON.parse would round it), true/false. Anything else (absent,
 * null, an object or array, a body that is not JSON) is no key.
 */
function keyAt(body: Buffer, path: readonly PathStep[]): string | undefined {
  const json = readExactJson(body);
  // JSON lossless-json does not read (too deep, a repeated key) has its key too, numbers as text.
  let value: unknown = json.ok ? json.value : json.text !== undefined ? parseNumbersAsText(json.text) : undefined;
  for (const step of path) {
    if (typeof step === 'number') value = Array.isArray(value) ? value[step] : undefined;
    else {
      const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
      // Own members only: "__proto__" or "constructor" must not reach into the prototype.
      value = isObject && Object.hasOwn(value as object, step) ? (value as Record<string, unknown>)[step] : undefined;
    }
    if (value === undefined) return undefined;
  }
  if (typeof value === 'string') return value;
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'boolean') return String(value);
  return undefined;
}
