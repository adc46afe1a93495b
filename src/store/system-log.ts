import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { systemLog, type SystemLogRow } from '../db/schema';

export type NewSystemLogEntry = Omit<typeof systemLog.$inferInsert, 'id' | 'loggedAt'>;

export interface SystemLogFilter {
  category?: string;
  eventType?: string;
  username?: string;
  /** Occurred at or after. */
  since?: Date;
  /** Occurred before. */
  until?: Date;
  /** Keyset pagination, newest first: only entries with an id below this one. */
  beforeId?: number;
  limit: number;
}

function matching(f: SystemLogFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (f.category) conditions.push(eq(systemLog.category, f.category));
  if (f.eventType) conditions.push(eq(systemLog.eventType, f.eventType));
  if (f.username) conditions.push(eq(systemLog.username, f.username));
  if (f.since) conditions.push(gte(systemLog.occurredAt, f.since));
  if (f.until) conditions.push(lt(systemLog.occurredAt, f.until));
  if (f.beforeId !== undefined) conditions.push(lt(systemLog.id, f.beforeId));
  return conditions.length ? and(...conditions) : undefined;
}

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

    async list(filter: SystemLogFilter): Promise<SystemLogRow[]> {
      return db.select().from(systemLog).where(matching(filter)).orderBy(desc(systemLog.id)).limit(filter.limit);
    },
  };
}

export type SystemLog = ReturnType<typeof createSystemLog>;
