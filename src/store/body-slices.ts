import { sql, type SQL } from 'drizzle-orm';

/**
 * The bodies of a multi-row statement whose rows travel as one JSON array: sent beside it as one
 * bytea parameter, each row naming its slice (`body_at`, 1-based as substring() counts, and
 * `body_len`). Why not inside the JSON: PostgreSQL 15's JSON parser copies a string value one
 * character at a time, so base64 bodies in the array cost the ingest insert 48–63 µs of PostgreSQL
 * CPU per 1.5 KB event against 43–47 µs as slices (a micro-bench of that statement, 30,000 rows per
 * round, three alternating pairs, 2026-12-04; docs/performance.md, *Bodies out of the JSON rows*).
 */
export interface BodySlices {
  /** Every body, one after the other. */
  all: Buffer;
  /**
   * Where row i's body starts in `all` (1-based) and its length, for its JSON object's `body_at`
   * and `body_len`. Two numbers rather than an object to spread: a literal that starts with a spread
   * is built property by property in V8's slow path, and building and serialising the insert's rows
   * measured 7.7 µs per row that way against 0.9 µs with plain properties (50-row batches, Node 20).
   */
  start(i: number): number;
  length(i: number): number;
}

export function bodySlices(bodies: readonly Buffer[]): BodySlices {
  const starts: number[] = [];
  let next = 1;
  for (const body of bodies) {
    starts.push(next);
    next += body.length;
  }
  return {
    all: Buffer.concat(bodies),
    start: (i) => starts[i]!,
    length: (i) => bodies[i]!.length,
  };
}

/** The body of the row `row` (a JSON row with body_at and body_len) out of `all`. */
export const bodyOf = (all: Buffer, row: string): SQL =>
  sql`substring(${all}::bytea from ${sql.raw(row)}.body_at for ${sql.raw(row)}.body_len)`;
