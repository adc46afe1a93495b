// Plain-data helpers shared by the X12 parser and its transaction-set mappings.

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

/** A numeric element (X12 types N and R) as a number; null when absent or not a number. */
export function numeric(segment: Segment | undefined, n: number): number | null {
  const value = element(segment, n);
  if (value === null || !/^-?(\d+\.?\d*|\.\d+)$/.test(value)) return null;
  return Number(value);
}

/** CCYYMMDD or YYMMDD → YYYY-MM-DD; anything else → null (the raw segment is still in the file). */
export function x12Date(value: string | undefined): string | null {
  if (!value) return null;
  const full = /^\d{6}$/.test(value) ? `20${value}` : value;
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(full);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : null;
}

/** HHMM, HHMMSS or HHMMSSd… → HH:MM[:SS]. */
export function x12Time(value: string | undefined): string | null {
  const match = /^(\d{2})(\d{2})(\d{2})?/.exec(value ?? '');
  if (!match) return null;
  return match[3] ? `${match[1]}:${match[2]}:${match[3]}` : `${match[1]}:${match[2]}`;
}
