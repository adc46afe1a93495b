import type { Logger } from 'pino';
import type { Database } from './client';
import { describeDatabaseError, sqlState } from './errors';
import { appliedMigrations, shippedMigrations } from './health';

/**
 * SQLSTATEs with which a statement of this release fails on a schema a newer release changed: a
 * column, table or function it names is gone or renamed (class 42), a type changed (42804), or a
 * column it does not write became required (23502: 0025's `event_queue.source NOT NULL`).
 */
const SCHEMA_CODES = new Set(['42703', '42P01', '42883', '42804', '23502']);

/** At most one look at the migrations table per this many ms, however many statements fail. */
const RECHECK_MS = 5000;

/** The part of the process whose statement failed: ingest's store, or one of the worker's queue statements. */
export type DriftPart = 'ingest' | 'worker';

/** What the operator is told, once per part. */
const TOLD: Record<DriftPart, string> = {
  ingest:
    'the database schema is newer than this release and storing fails on it: /readyz answers 503 from now on; stop this process and run the release that migrated the database',
  worker:
    "the database schema is newer than this release and the worker's statements fail on it: the worker claims nothing more and /readyz answers 503 from now on; what it holds returns to the queue when its lease expires; stop this process and run the release that migrated the database",
};

/**
 * Notices that this process is an old release on a schema a newer release migrated, and cannot
 * use it. During a rolling deploy the new release migrates first; a migration that only adds is
 * harmless to the old processes, one that changes what they read or write makes their statements
 * fail. For ingest every store fails (answered 503, nothing lost); /readyz then has to say so, or
 * a load balancer keeps sending them every sender's webhooks. For the worker a failing claim
 * failed on every tick and wake-up, and a failing outcome let the old worker claim event after
 * event, run each handler, and leave each claimed for a lease (its attempt spent, run again by
 * the new release): it has to stop claiming. A newer schema alone does not make a process unready
 * (after `npm run migrate` ahead of a deploy every old process would go unready at once, none left
 * to serve), nor stop its worker: a statement failing with a schema code on it does, for the part
 * it failed in, and stays so (the schema does not go back). One instance per process, shared by
 * both parts: its /readyz answers for both.
 */
export function createSchemaDrift(deps: { database: Database; logger: Logger }) {
  const failed = new Set<DriftPart>();
  /** The migration counts once the database was seen to hold migrations this release does not ship. */
  let newer: { applied: number; shipped: number } | undefined;
  let lastCheck = -Infinity;
  let checking = false;

  function fail(part: DriftPart, err: unknown, statement: string | undefined): void {
    failed.add(part);
    deps.logger
      .child({ component: part })
      .error({ ...newer, statement, cause: describeDatabaseError(err) }, TOLD[part]);
  }

  async function check(err: unknown, part: DriftPart, statement: string | undefined): Promise<void> {
    checking = true;
    lastCheck = Date.now();
    try {
      const applied = await appliedMigrations(deps.database);
      const shipped = shippedMigrations();
      if (applied <= shipped) return;
      newer = { applied, shipped };
      if (!failed.has(part)) fail(part, err, statement);
    } catch {
      // The database is unreachable: an outage, not drift; the next failure looks again.
    } finally {
      checking = false;
    }
  }

  return {
    /**
     * Called with every failed store (part 'ingest') and every failed queue statement of the worker
     * (part 'worker', `statement` naming it); cheap when the failure is not a schema one.
     */
    noteFailure(err: unknown, part: DriftPart, statement?: string): void {
      if (failed.has(part) || !SCHEMA_CODES.has(sqlState(err) ?? '')) return;
      // The schema does not go back: once seen newer, a schema failure of another part needs no look.
      if (newer) return fail(part, err, statement);
      if (checking || Date.now() - lastCheck < RECHECK_MS) return;
      void check(err, part, statement);
    },
    /** True once a statement of either part failed on a schema newer than this release's (/readyz). */
    incompatible: () => failed.size > 0,
    /** True once a statement of `part` failed on a schema newer than this release's. */
    failedIn: (part: DriftPart) => failed.has(part),
  };
}

export type SchemaDrift = ReturnType<typeof createSchemaDrift>;
