import { sql, type SQL } from 'drizzle-orm';

/**
 * The bodies of a multi-row statement whose rows travel as one JSON array: sent beside it as one
 * base64 text parameter, decoded once by the statement, each row naming its slice (`body_at`,
 * 1-based as substring() counts, and `body_len`).
 *
 * Why not inside the JSON: PostgreSQL 15's JSON parser copies a string value one character at a
 * time, so base64 bodies in the array cost the ingest insert 48–63 µs of PostgreSQL CPU per 1.5 KB
 * event against 43–47 µs as slices (a micro-bench of that statement, 30,000 rows per round, three
 * alternating pairs, 2026-12-04; docs/performance.md, *Bodies out of the JSON rows*).
 *
 * Why base64 text and not a bytea parameter: the driver sends a Buffer as hex text, and Node 20's
 * hex encoder took 250 µs for a 75 KB batch (50 bodies of 1.5 KB) against 11 µs for base64, which
 * is also a third fewer bytes to write to the socket (docs/performance.md, *Bodies as base64*).
 */
export interface BodySlices {
  /** Every body, one after the other, base64-encoded. */
  all: string;
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
    all: Buffer.concat(bodies).toString('base64'),
    start: (i) => starts[i]!,
    length: (i) => bodies[i]!.length,
  };
}

/**
 * The body of the row `row` (a JSON row with body_at and body_len) out of `all`. The scalar
 * subquery is an InitPlan: the parameter is decoded once per statement, not once per row (checked
 * with EXPLAIN under a generic plan, which prepared statements use from their sixth run).
 */
export const bodyOf = (all: string, row: string): SQL =>
  sql`substring((select decode(${all}::text, 'base64')) from ${sql.raw(row)}.body_at for ${sql.raw(row)}.body_len)`;
