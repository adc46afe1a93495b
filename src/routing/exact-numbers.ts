import { compareNumber, isLosslessNumber, parse, type LosslessNumber } from 'lossless-json';
import { numberOrExact } from '../json/exact-values';
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

/** A filter's number: a number, or a LosslessNumber for one no JavaScript number holds (src/json/exact-values.ts). */
export type FilterNumber = number | LosslessNumber;

/** Whether a filter's value is a number (plain or exact). */
export const isFilterNumber = (v: unknown): v is FilterNumber => typeof v === 'number' || isLosslessNumber(v);

/** The exact decimal text of a number, plain or exact. */
const digitsOf = (n: FilterNumber) => (typeof n === 'number' ? String(n) : n.value);

/**
 * A body's number against a filter's: -1, 0 or 1 on their exact decimal values, or undefined when
 * the body's value is not a number. Both sides are compared on their digits: a filter's
 * `820982911946154508` (read exactly since filters are, src/json/exact-values.ts) is not
 * `820982911946154510`, though both are the same double.
 */
export function compareExact(value: unknown, operand: FilterNumber): -1 | 0 | 1 | undefined {
  if (typeof value === 'number' && typeof operand === 'number')
    return value > operand ? 1 : value < operand ? -1 : value === operand ? 0 : undefined;
  if (typeof value !== 'number' && !isLosslessNumber(value)) return undefined;
  return compareNumber(digitsOf(value), digitsOf(operand));
}

/**
 * Whether a body's value equals a filter's number, on their exact values (`1.10` equals 1.1,
 * `0.1000000000000000055` does not). One exception, for filters saved before filters were read
 * exactly: JSON.parse turned `820982911946154508` into 820982911946154500, which is what their
 * column still holds. An integer operand of 2^53 or more that is a plain number (its digits are
 * exactly the ones a double prints, as every such rounded id's are) keeps matching every body number
 * that rounds to it, as it always did; saving the filter again makes it exact
 * (docs/destinations.md#filters).
 */
export function equalsNumber(value: unknown, operand: FilterNumber): boolean {
  if (typeof operand === 'number' && Math.abs(operand) >= 2 ** 53 && isLosslessNumber(value))
    return Number(value.value) === operand;
  return compareExact(value, operand) === 0;
}

export { isLosslessNumber };
