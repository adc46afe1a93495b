// Plain-data helpers shared by the X12 parser and its transaction-set mappings. Every pattern here
// is linear (no nested or adjacent quantifiers over the same characters) and only ever sees an
// element the tokenizer already capped at MAX_ELEMENT_CHARS.

/** A segment as plain data: tag and element values (element 1 first). */
export interface Segment {
  tag: string;
  elements: string[];
}

/** Element `n` (1-based) of a segment, or null when absent or empty. */
export function element(segment: Segment | undefined, n: number): string | null {
  const value = segment?.elements[n - 1]?.trim();
  return value ? value : null;
}

/** X12 numbers (types N and R) are at most 18 digits; anything longer is not a number. */
const MAX_NUMBER_CHARS = 32;
/**
 * An optional sign, digits with an optional fraction, or a bare fraction. The old pattern
 * (`\d+\.?\d*`) let `\d+` and `\d*` share a run of digits, so a 150 KB run of digits ending in a
 * letter backtracked quadratically (9.7 s measured); here the fraction needs its dot, so each
 * digit can be matched one way only.
 */
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A numeric element (X12 types N and R) as a number; null when absent or not a number. */
export function numeric(segment: Segment | undefined, n: number): number | null {
  const value = element(segment, n);
  if (value === null || value.length > MAX_NUMBER_CHARS || !NUMBER.test(value)) return null;
  return Number(value);
}

/**
 * Reads X12 dates. CCYYMMDD is taken as is; YYMMDD (ISA09, and every date of versions before
 * 004010) gets the century that puts it within 50 years before or 49 after `referenceYear` — the
 * year of the interchange's own CCYYMMDD dates (see x12-dates.ts), not the clock alone.
 */
export function x12Date(value: string | null | undefined, referenceYear: number): string | null {
  if (!value || (value.length !== 6 && value.length !== 8) || !/^\d+$/.test(value)) return null;
  let year: number;
  if (value.length === 8) year = Number(value.slice(0, 4));
  else {
    const yy = Number(value.slice(0, 2));
    year = yy + 100 * Math.ceil((referenceYear - 50 - yy) / 100);
  }
  const rest = value.slice(-4);
  const month = Number(rest.slice(0, 2));
  const day = Number(rest.slice(2));
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return `${String(year).padStart(4, '0')}-${rest.slice(0, 2)}-${rest.slice(2)}`;
}

/** HHMM, HHMMSS or HHMMSSd… → HH:MM[:SS]. */
export function x12Time(value: string | null | undefined): string | null {
  const match = /^(\d{2})(\d{2})(\d{2})?/.exec(value ?? '');
  if (!match) return null;
  return match[3] ? `${match[1]}:${match[2]}:${match[3]}` : `${match[1]}:${match[2]}`;
}
