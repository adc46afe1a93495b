import { desc } from 'drizzle-orm';
import type { Database } from '../db/client';
import { systemLog, type SystemLogRow } from '../db/schema';

export type NewSystemLogEntry = Omit<typeof systemLog.$inferInsert, 'id' | 'loggedAt'>;

/** The security audit trail. */
export function createSystemLog({ db }: Database) {
  return {
    /** Idempotent per source event: a replayed or retried event does not log twice. */
    async record(entry: NewSystemLogEntry): Promise<void> {
      await db.insert(systemLog).values(entry).onConflictDoNothing({ target: systemLog.sourceEventId });
    },

    async recent(limit: number): Promise<SystemLogRow[]> {
      return db.select().from(systemLog).orderBy(desc(systemLog.id)).limit(limit);
    },
  };
}

export type SystemLog = ReturnType<typeof createSystemLog>;
