import { LosslessNumber, compareNumber, isLosslessNumber, parse } from 'lossless-json';
import { MAX_JSON_DEPTH, isJson, nestsDeeperThan, utf8Text } from '../json/read';

/**
 * The body a filter reads: JSON with every number that a JavaScript number holds exactly as that
 * number, and every other one (`9007199254740993`, `12345678901234567890.5`, `1e400`, `0.1e-999`)
 * as a LosslessNumber keeping the text sent, so `amount > 9007199254740992` is decided on the
 * digits. A body lossless-json does not read (nested beyond MAX_JSON_DEPTH, a key repeated with
 * different values) is read as JSON.parse reads it (`parsed`); one that is not JSON is undefined.
 */
export function filterBody(rawBody: Uint8Array, parsed: unknown): unknown {
  if (parsed === undefined) return undefined;
  const text = utf8Text(rawBody);
  if (text === undefined || nestsDeeperThan(text, MAX_JSON_DEPTH) || !isJson(text)) return parsed;
  try {
    return parse(text, null, numberOrExact);
  } catch {
    return parsed;
  }
}

/** The literal as a number when the number is exactly its value (`1.10`, `-0`, `1E+2` too), else its text. */
function numberOrExact(literal: string): number | LosslessNumber {
  const value = Number(literal);
  return Number.isFinite(value) && compareNumber(literal, String(value)) === 0 ? value : new LosslessNumber(literal);
}

/**
 * A body's number against a filter's: -1, 0 or 1 on their exact decimal values, or undefined when
 * either is not a number. The filter's number is the decimal JavaScript prints for it (what was
 * written in the filter, for any number up to 2^53 and any decimal of up to 15 digits).
 */
export function compareExact(value: unknown, operand: number): -1 | 0 | 1 | undefined {
  if (typeof value === 'number') return value > operand ? 1 : value < operand ? -1 : value === operand ? 0 : undefined;
  return isLosslessNumber(value) ? compareNumber(value.value, String(operand)) : undefined;
}

/**
 * Whether a body's value equals a filter's number. A filter's integer of 2^53 or more may be an id
 * rounded when the filter was saved (filters are read with JSON.parse: `820982911946154508` is
 * saved as 820982911946154500), so it equals every body number that rounds to it, as it always
 * did; any other number equals only the exact same value (`1.10` equals 1.1, `0.1000000000000000055`
 * does not).
 */
export function equalsNumber(value: unknown, operand: number): boolean {
  if (Math.abs(operand) >= 2 ** 53 && isLosslessNumber(value)) return Number(value.value) === operand;
  return compareExact(value, operand) === 0;
}

export { isLosslessNumber };
