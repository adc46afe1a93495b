import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from './client';

// Small helpers for statements the hot paths (ingest batches, worker claims and outcomes) run.

/**
 * Unpaired surrogates become U+FFFD, as the driver's UTF-8 encoding of a plain parameter would do;
 * in JSON they would be escapes PostgreSQL refuses. (U+0000 is left alone: text cannot hold it
 * either way, and that row is refused on its own.)
 */
export const wellFormed = (text: string): string => (text.isWellFormed() ? text : text.toWellFormed());

export type PreparedRows = <T>(query: SQL) => Promise<T[]>;

/**
 * Runs statements whose text never changes as prepared statements on PostgreSQL: parsed and
 * planned once per connection instead of on every call (the worker's claim/outcome cycle ran
 * 1.4× faster for it, see docs/performance.md), on the connections that keep generic plans
 * (src/db/client.ts, PLAN_ONCE). PGlite, in-process, runs them as they are.
 */
export function preparedRows(database: Database): PreparedRows {
  const dialect = new PgDialect();
  return async <T>(query: SQL): Promise<T[]> => {
    if (!database.plannedSql) return database.rows<T>(query);
    const { sql: text, params } = dialect.sqlToQuery(query);
    return (await database.plannedSql.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
  };
}

/**
 * True when the server refused the statement because of what a row holds (SQLSTATE class 22 data
 * exception, 23 constraint violation, 40 deadlock/serialization, 54 row too large), so writing the
 * rows one by one can succeed for the others. Connection and server-state errors are not.
 */
export function isRowError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return ['22', '23', '40', '54'].includes(code.slice(0, 2));
    }
  }
  return false;
}

/**
 * Runs `work` in one transaction; its statements go through `run` (prepared on PostgreSQL, as
 * preparedRows). For the few hot statements that must commit together with a second one (per-key
 * ordering: lock the lanes, then write; write, then promote the next head).
 */
export async function inTransaction<T>(database: Database, work: (run: PreparedRows) => Promise<T>): Promise<T> {
  if (database.plannedSql) {
    const dialect = new PgDialect();
    return (await database.plannedSql.begin((tx) =>
      work(async <R>(query: SQL): Promise<R[]> => {
        const { sql: text, params } = dialect.sqlToQuery(query);
        return (await tx.unsafe(text, params as never[], { prepare: true })) as unknown as R[];
      }),
    )) as T;
  }
  return database.db.transaction((tx) =>
    work(async <R>(query: SQL): Promise<R[]> => ((await tx.execute(query)) as unknown as { rows: R[] }).rows),
  );
}
