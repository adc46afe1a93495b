import { forEachNumberLiteral } from '../json/read';

/** Two literals of the input print the same: a number printed so could be either, so it is left as printed. */
const AMBIGUOUS = Symbol('ambiguous');

/**
 * A transformation's result (JSON text) with the numbers it passed through written with the
 * digits they were sent with. Both sandboxes read their input with JSON.parse and print with
 * JSON.stringify, so `820982911946154508` comes out as `820982911946154500`, `1.10` as `1.1` and
 * `1E+2` as `100`. Each number literal of the result that is exactly how JavaScript prints one
 * number literal of the input (and of no other literal written differently) is replaced by that
 * literal: the same value, with its original digits. Zero is never replaced (a computed `0` is
 * not the sender's `-0` or `0.0`), nor is a number two literals of the input print as (
 * `12345678901234567890` and `12345678901234567891` both print `12345678901234567000`), nor one
 * JSON cannot print (`1e400` reads as Infinity, printed `null`).
 */
export function keepInputDigits(input: string, output: string): string {
  let literals: Map<string, string | typeof AMBIGUOUS> | undefined;
  let result = '';
  let from = 0;
  forEachNumberLiteral(output, (start, end) => {
    literals ??= printedLiterals(input);
    const literal = literals.get(output.slice(start, end));
    if (typeof literal !== 'string') return;
    result += output.slice(from, start) + literal;
    from = end;
  });
  return from === 0 ? output : result + output.slice(from);
}

/** Each number literal of the input by how JavaScript prints its value. */
function printedLiterals(input: string): Map<string, string | typeof AMBIGUOUS> {
  const literals = new Map<string, string | typeof AMBIGUOUS>();
  forEachNumberLiteral(input, (start, end) => {
    const literal = input.slice(start, end);
    const value = Number(literal);
    if (!Number.isFinite(value) || value === 0) return;
    const printed = String(value);
    const known = literals.get(printed);
    if (known === undefined) literals.set(printed, literal);
    else if (known !== literal) literals.set(printed, AMBIGUOUS);
  });
  return literals;
}
