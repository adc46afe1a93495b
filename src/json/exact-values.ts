import { LosslessNumber, compareNumber, parse, splitNumber, stringify } from 'lossless-json';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './read';

// JSON read and written without changing a number: what a JavaScript number holds exactly stays a
// number (so zod's z.number(), `===` and arithmetic work as before), every other literal
// (`820982911946154508`, `12345678901234567890.5`, `1e400`) becomes a LosslessNumber keeping its
// digits, and stringifyExact writes those digits back. JSON.parse would round the first to
// 820982911946154500: a filter on a Shopify id then matched ~128 customers' ids.

/** The literal as a number when the number is exactly its value (`1.10`, `-0`, `1E+2` too), else its text. */
export function numberOrExact(literal: string): number | LosslessNumber {
  const value = Number(literal);
  return Number.isFinite(value) && compareNumber(literal, String(value)) === 0 ? value : new LosslessNumber(literal);
}

/** Why a JSON text has no exact reading (it is still valid JSON). */
export class InexactJsonError extends Error {
  override name = 'InexactJsonError';
}

/**
 * JSON text read with numberOrExact. Throws SyntaxError for text that is not JSON, and
 * InexactJsonError for nesting deeper than MAX_JSON_DEPTH (lossless-json recurses) or an object
 * repeating a key with different values (JSON.parse keeps the last; there is no single reading).
 */
export function parseExact(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH))
    throw new InexactJsonError(`nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);
  JSON.parse(text); // a SyntaxError for what is not JSON, before lossless-json's own messages
  try {
    return parse(text, null, numberOrExact);
  } catch (err) {
    throw new InexactJsonError(
      `repeats a key with different values (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/**
 * parseExact, or JSON.parse for JSON that has no exact reading (a key repeated with different
 * values, nesting beyond MAX_JSON_DEPTH): what was read before exact reading existed. Throws
 * SyntaxError for text that is not JSON.
 */
export function parseExactOrPlain(text: string): unknown {
  try {
    return parseExact(text);
  } catch (err) {
    if (err instanceof InexactJsonError) return JSON.parse(text) as unknown;
    throw err;
  }
}

/**
 * A number literal in one spelling per value, without rounding: `1e21`, `10E20` and
 * `1000000000000000000000` give the same key, `1.10` and `1.1` too, 820982911946154508 and
 * ...509 do not. PostgreSQL's jsonb writes a stored number back in its own spelling
 * (`8.20982911946154508e17` as `820982911946154508`), so digits alone cannot say "unchanged".
 */
export function numberValueKey(literal: string): string {
  // lossless-json's own normal form: sign, significant digits, exponent (zero without a sign).
  try {
    const { sign, digits, exponent } = splitNumber(literal);
    return `${sign}${digits}e${exponent}`;
  } catch {
    return literal; // not a JSON number literal: compared as written
  }
}

/** JSON text of a value that may hold LosslessNumbers (written as their digits); undefined is left out as JSON.stringify does. */
export function stringifyExact(value: unknown, indent?: number): string {
  return stringify(value, null, indent) ?? 'null';
}
