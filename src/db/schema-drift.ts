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

/** At most one look at the migrations table per this many ms, however many stores fail. */
const RECHECK_MS = 5000;

/**
 * Notices that this process is an old release on a schema a newer release migrated, and cannot
 * store. During a rolling deploy the new release migrates first; a migration that only adds is
 * harmless to the old processes, one that changes what they write makes every store they try fail
 * (answered 503, nothing lost). Their /readyz then has to say so, or a load balancer keeps sending
 * them every sender's webhooks. A newer schema alone does not make a process unready (after
 * `npm run migrate` ahead of a deploy every old process would go unready at once, none left to
 * serve): a store failing with a schema code on it does, and stays so (the schema does not go back).
 */
export function createSchemaDrift(deps: { database: Database; logger: Logger }) {
  let incompatible = false;
  let lastCheck = -Infinity;
  let checking = false;

  async function check(err: unknown): Promise<void> {
    checking = true;
    lastCheck = Date.now();
    try {
      const applied = await appliedMigrations(deps.database);
      const shipped = shippedMigrations();
      if (applied <= shipped) return;
      incompatible = true;
      deps.logger.error(
        { applied, shipped, cause: describeDatabaseError(err) },
        'the database schema is newer than this release and storing fails on it: /readyz answers 503 from now on; stop this process and run the release that migrated the database',
      );
    } catch {
      // The database is unreachable: an outage, not drift; the next failure looks again.
    } finally {
      checking = false;
    }
  }

  return {
    /** Called with every failed store; cheap when the failure is not a schema one. */
    noteStoreFailure(err: unknown): void {
      if (incompatible || checking || !SCHEMA_CODES.has(sqlState(err) ?? '')) return;
      if (Date.now() - lastCheck < RECHECK_MS) return;
      void check(err);
    },
    /** True once a store failed on a schema newer than this release's. */
    incompatible: () => incompatible,
  };
}

export type SchemaDrift = ReturnType<typeof createSchemaDrift>;
