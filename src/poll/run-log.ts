import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { pollLocks, pollRuns, type PollLockRow, type PollRunRow, type PollRunStatus } from '../db/schema-poll';

export interface RunFilter {
  source?: string;
  status?: PollRunStatus;
  /** Only runs with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

/** The poll run log, read side: what the ops API shows. Runs are written by lock-sql.ts. */
export function createPollRunLog({ db }: Database) {
  return {
    /** Newest first, filtered, one page. */
    async list(filter: RunFilter): Promise<PollRunRow[]> {
      const conditions: SQL[] = [];
      if (filter.source) conditions.push(eq(pollRuns.source, filter.source));
      if (filter.status) conditions.push(eq(pollRuns.status, filter.status));
      if (filter.beforeId !== undefined) conditions.push(lt(pollRuns.id, filter.beforeId));
      return db
        .select()
        .from(pollRuns)
        .where(and(...conditions))
        .orderBy(desc(pollRuns.id))
        .limit(filter.limit);
    },

    async get(id: number): Promise<PollRunRow | undefined> {
      const rows = await db.select().from(pollRuns).where(eq(pollRuns.id, id)).limit(1);
      return rows[0];
    },

    /** Every lock row (one per source that has run at least once). */
    async locks(): Promise<PollLockRow[]> {
      return db.select().from(pollLocks);
    },

    /** The latest run of a source. */
    async latest(source: string): Promise<PollRunRow | undefined> {
      const rows = await db
        .select()
        .from(pollRuns)
        .where(eq(pollRuns.source, source))
        .orderBy(desc(pollRuns.id))
        .limit(1);
      return rows[0];
    },
  };
}

export type PollRunLog = ReturnType<typeof createPollRunLog>;
